//! Central-difference gradient checks of every op, in f64 on the CPU backend, with odd
//! shapes, strides and paddings. Each check reduces the op's output to a scalar with fixed
//! random weights r (loss = sum(f(x) * r)) so every output element matters.

use engine::{DType, Device, Tensor};

const EPS: f64 = 1e-6;
const TOL: f64 = 1e-6;

fn rand(shape: &[usize], seed: u64) -> Tensor {
    Tensor::randn(shape, seed, 0.0, 1.0, DType::F64, &Device::cpu())
}

fn param(shape: &[usize], seed: u64) -> Tensor {
    let t = rand(shape, seed);
    t.set_requires_grad(true);
    t
}

/// Weighted sum of the outputs, so the check sees every element of a non-scalar output.
fn reduce(y: &Tensor, seed: u64) -> Tensor {
    if y.numel() == 1 && y.shape().is_empty() {
        return y.clone();
    }
    y.mul(&rand(y.shape(), seed)).sum()
}

/// Compares backward() with central differences for every element of every input.
fn check(name: &str, inputs: &[Tensor], f: impl Fn(&[Tensor]) -> Tensor) {
    let loss = reduce(&f(inputs), 999);
    let grads = loss.backward();
    for (k, x) in inputs.iter().enumerate() {
        let analytic =
            grads.get(x).unwrap_or_else(|| panic!("{name}: no gradient for input {k}")).to_vec_f64();
        let base = x.to_vec_f64();
        let mut worst = 0.0f64;
        for i in 0..base.len() {
            let mut v = base.clone();
            v[i] = base[i] + EPS;
            x.assign_f64(&v);
            let plus = reduce(&f(inputs), 999).item();
            v[i] = base[i] - EPS;
            x.assign_f64(&v);
            let minus = reduce(&f(inputs), 999).item();
            x.assign_f64(&base);
            let numeric = (plus - minus) / (2.0 * EPS);
            let err = (numeric - analytic[i]).abs() / (1.0 + numeric.abs());
            worst = worst.max(err);
            assert!(err < TOL, "{name}: input {k} element {i}: analytic {} numeric {numeric}", analytic[i]);
        }
        eprintln!("{name}: input {k} ({} elements) worst relative error {worst:.2e}", base.len());
    }
}

#[test]
fn conv2d_odd_shapes() {
    let x = param(&[2, 3, 7, 5], 1);
    let w = param(&[4, 3, 3, 2], 2);
    let b = param(&[4], 3);
    check("conv2d k3x2 s2 p1", &[x, w, b], |t| t[0].conv2d(&t[1], Some(&t[2]), 2, 1));
    let x = param(&[1, 2, 6, 6], 4);
    let w = param(&[3, 2, 4, 4], 5);
    check("conv2d k4 s2 p1", &[x, w], |t| t[0].conv2d(&t[1], None, 2, 1));
    let x = param(&[2, 3, 3, 4], 6);
    let w = param(&[2, 3, 1, 1], 7);
    check("conv2d 1x1", &[x, w], |t| t[0].conv2d(&t[1], None, 1, 0));
}

#[test]
fn conv_transpose2d_odd_shapes() {
    let x = param(&[2, 3, 3, 4], 11);
    let w = param(&[3, 2, 4, 4], 12);
    let b = param(&[2], 13);
    check("conv_transpose2d k4 s2 p1", &[x, w, b], |t| t[0].conv_transpose2d(&t[1], Some(&t[2]), 2, 1, 0));
    let x = param(&[1, 2, 3, 2], 14);
    let w = param(&[2, 3, 3, 2], 15);
    check("conv_transpose2d k3x2 s2 p1 op1", &[x, w], |t| t[0].conv_transpose2d(&t[1], None, 2, 1, 1));
}

#[test]
fn batch_norm_train_and_eval() {
    let x = param(&[3, 2, 3, 5], 21);
    let g = param(&[2], 22);
    let b = param(&[2], 23);
    check("batch_norm train affine", &[x.clone(), g.clone(), b.clone()], |t| {
        t[0].batch_norm_train(Some(&t[1]), Some(&t[2]), None, 0.1, 1e-5)
    });
    check("batch_norm train plain", std::slice::from_ref(&x), |t| {
        t[0].batch_norm_train(None, None, None, 0.1, 1e-5)
    });
    let rm = rand(&[2], 24);
    let rv = rand(&[2], 25).sqr().affine(1.0, 0.5);
    check("batch_norm eval affine", &[x, g, b], |t| {
        t[0].batch_norm_eval(Some(&t[1]), Some(&t[2]), &rm, &rv, 1e-5)
    });
}

#[test]
fn instance_norm() {
    let x = param(&[2, 3, 4, 3], 31);
    let g = param(&[3], 32);
    let b = param(&[3], 33);
    check("instance_norm affine", &[x.clone(), g, b], |t| t[0].instance_norm(Some(&t[1]), Some(&t[2]), 1e-5));
    check("instance_norm plain", &[x], |t| t[0].instance_norm(None, None, 1e-5));
}

#[test]
fn activations() {
    let x = param(&[2, 3, 5], 41);
    check("relu", std::slice::from_ref(&x), |t| t[0].relu());
    check("leaky_relu", std::slice::from_ref(&x), |t| t[0].leaky_relu(0.2));
    check("tanh", std::slice::from_ref(&x), |t| t[0].tanh());
    check("sigmoid", std::slice::from_ref(&x), |t| t[0].sigmoid());
    check("abs", std::slice::from_ref(&x), |t| t[0].abs());
    check("sqr", std::slice::from_ref(&x), |t| t[0].sqr());
    check("dropout", &[x], |t| t[0].dropout(0.5, 7));
}

#[test]
fn elementwise_and_reductions() {
    let a = param(&[3, 4], 51);
    let b = param(&[3, 4], 52);
    check("add", &[a.clone(), b.clone()], |t| t[0].add(&t[1]));
    check("sub", &[a.clone(), b.clone()], |t| t[0].sub(&t[1]));
    check("mul", &[a.clone(), b.clone()], |t| t[0].mul(&t[1]));
    check("affine", std::slice::from_ref(&a), |t| t[0].affine(-1.7, 0.3));
    check("sum", std::slice::from_ref(&a), |t| t[0].sum());
    check("mean", std::slice::from_ref(&a), |t| t[0].mean());
    check("reshape", std::slice::from_ref(&a), |t| t[0].reshape(&[2, 6]));
    // A tensor used twice accumulates both gradients.
    check("reuse", &[a], |t| t[0].mul(&t[0]).add(&t[0].tanh()));
}

#[test]
fn layout_ops() {
    let a = param(&[2, 3, 2, 3], 61);
    let b = param(&[2, 2, 2, 3], 62);
    check("cat_channels", &[a.clone(), b], |t| Tensor::cat_channels(&[&t[0], &t[1]]));
    check("narrow_channels", &[a], |t| t[0].narrow_channels(1, 2));
}

#[test]
fn pooling_odd_sizes() {
    let x = param(&[2, 2, 5, 7], 71);
    check("max_pool2", std::slice::from_ref(&x), |t| t[0].max_pool2());
    check("avg_pool2", &[x], |t| t[0].avg_pool2());
}

#[test]
fn reflection_pad_odd_shapes_and_largest_pads() {
    let x = param(&[2, 3, 5, 4], 75);
    check("reflection_pad2d 1", std::slice::from_ref(&x), |t| t[0].reflection_pad2d(1));
    check("reflection_pad2d 3 (size - 1)", std::slice::from_ref(&x), |t| t[0].reflection_pad2d(3));
    check("reflection_pad2d sides 3,1,4,2", std::slice::from_ref(&x), |t| {
        t[0].reflection_pad2d_sides(3, 1, 4, 2)
    });
    let x = param(&[1, 2, 3, 7], 76);
    check("reflection_pad2d sides 6,0,0,2", &[x], |t| t[0].reflection_pad2d_sides(6, 0, 0, 2));
}

#[test]
fn gram_matrix() {
    let x = param(&[2, 3, 4, 5], 81);
    check("gram", &[x], |t| t[0].gram());
}

#[test]
fn losses() {
    let a = param(&[2, 3, 3], 91);
    let b = param(&[2, 3, 3], 92);
    check("l1", &[a.clone(), b.clone()], |t| t[0].l1_loss(&t[1]));
    check("mse", &[a.clone(), b.clone()], |t| t[0].mse_loss(&t[1]));
    let target = Tensor::rand_uniform(&[2, 3, 3], 93, 0.0, 1.0, DType::F64, &Device::cpu());
    check("bce_with_logits", std::slice::from_ref(&a), |t| t[0].affine(3.0, 0.0).bce_with_logits(&target));
    let x = param(&[2, 3, 4, 5], 94);
    check("tv", &[x], |t| t[0].tv_loss());
}

#[test]
fn detach_and_no_grad_stop_gradients() {
    let a = param(&[4], 101);
    let y = a.detach().mul(&a).sum();
    let g = y.backward();
    // d/da (stop(a) * a) = stop(a)
    let expect = a.to_vec_f64();
    assert_eq!(g.get(&a).unwrap().to_vec_f64(), expect);
    let _guard = engine::no_grad();
    let z = a.mul(&a).sum();
    assert!(!z.requires_grad());
    assert!(z.backward().is_empty());
}
