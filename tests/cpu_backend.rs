//! The CPU reference backend against naive loops, finite differences and hand
//! computations, in f64; plus agreement of its f32 path with the f64 one.

use engine::backend::cpu::CpuBackend;
use engine::backend::{
    philox, AdamStep, Backend, Binary, ConvGeom, DType, Loss, NormGeom, PadGeom, Pool, Storage, Unary,
};

const BE: CpuBackend = CpuBackend;

/// Standard normal test data from Philox (never zeros).
fn rnd(len: usize, seed: u64) -> Vec<f64> {
    (0..len as u64).map(|i| philox::normal(seed, i)).collect()
}

fn st(v: &[f64]) -> Storage {
    Storage::F64(v.to_vec())
}

fn get(s: &Storage) -> Vec<f64> {
    BE.to_f64(s)
}

fn dot(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Asserts |a - b| <= tol * max(1, |b|) elementwise.
#[track_caller]
fn close(a: &[f64], b: &[f64], tol: f64, what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: lengths differ");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!((x - y).abs() <= tol * y.abs().max(1.0), "{what}[{i}]: got {x}, expected {y}");
    }
}

/// Central finite differences of a scalar function.
fn fd(f: impl Fn(&[f64]) -> f64, x: &[f64]) -> Vec<f64> {
    let h = 1e-5;
    (0..x.len())
        .map(|i| {
            let mut p = x.to_vec();
            p[i] += h;
            let up = f(&p);
            p[i] -= 2.0 * h;
            (up - f(&p)) / (2.0 * h)
        })
        .collect()
}

// ---- convolution oracle: direct loops ----------------------------------------------

/// Calls f(n, co, oy, ox, ci, ki, kj, x index, w index, y index) for every in-bounds tap.
fn taps(g: &ConvGeom, mut f: impl FnMut(usize, usize, usize)) {
    for n in 0..g.n {
        for co in 0..g.c_out {
            for oy in 0..g.oh {
                for ox in 0..g.ow {
                    for ci in 0..g.c_in {
                        for ki in 0..g.kh {
                            for kj in 0..g.kw {
                                let iy = (oy * g.stride + ki) as isize - g.pad as isize;
                                let ix = (ox * g.stride + kj) as isize - g.pad as isize;
                                if iy < 0 || ix < 0 || iy >= g.h as isize || ix >= g.w as isize {
                                    continue;
                                }
                                let xi = ((n * g.c_in + ci) * g.h + iy as usize) * g.w + ix as usize;
                                let wi = ((co * g.c_in + ci) * g.kh + ki) * g.kw + kj;
                                let yi = ((n * g.c_out + co) * g.oh + oy) * g.ow + ox;
                                f(xi, wi, yi);
                            }
                        }
                    }
                }
            }
        }
    }
}

fn conv_naive(x: &[f64], w: &[f64], g: &ConvGeom) -> Vec<f64> {
    let mut y = vec![0.0; g.y_len()];
    taps(g, |xi, wi, yi| y[yi] += x[xi] * w[wi]);
    y
}

fn conv_bwd_input_naive(gy: &[f64], w: &[f64], g: &ConvGeom) -> Vec<f64> {
    let mut gx = vec![0.0; g.x_len()];
    taps(g, |xi, wi, yi| gx[xi] += gy[yi] * w[wi]);
    gx
}

fn conv_bwd_weight_naive(x: &[f64], gy: &[f64], g: &ConvGeom) -> Vec<f64> {
    let mut gw = vec![0.0; g.w_len()];
    taps(g, |xi, wi, yi| gw[wi] += gy[yi] * x[xi]);
    gw
}

fn conv_shapes() -> Vec<ConvGeom> {
    vec![
        ConvGeom::forward(2, 3, 7, 5, 4, (3, 2), 2, 1),
        ConvGeom::forward(2, 3, 8, 6, 5, (4, 4), 2, 1),
        ConvGeom::forward(2, 3, 7, 9, 5, (4, 4), 2, 1),
        ConvGeom::forward(2, 3, 5, 4, 6, (1, 1), 1, 0),
        ConvGeom::forward(1, 4, 6, 7, 3, (3, 3), 1, 1),
        ConvGeom::forward(1, 2, 9, 8, 3, (3, 3), 3, 2),
        ConvGeom::forward(2, 2, 5, 5, 3, (2, 3), 1, 0),
        // Large enough for the parallel unfold and a threaded GEMM.
        ConvGeom::forward(1, 16, 32, 32, 32, (4, 4), 2, 1),
    ]
}

#[test]
fn conv2d_matches_direct_loops() {
    for (i, g) in conv_shapes().iter().enumerate() {
        let x = rnd(g.x_len(), 1 + i as u64);
        let w = rnd(g.w_len(), 100 + i as u64);
        let y = get(&BE.conv2d(&st(&x), &st(&w), g));
        close(&y, &conv_naive(&x, &w, g), 1e-12, &format!("conv2d {g:?}"));
    }
}

#[test]
fn conv2d_backward_input_matches_direct_loops() {
    for (i, g) in conv_shapes().iter().enumerate() {
        let gy = rnd(g.y_len(), 200 + i as u64);
        let w = rnd(g.w_len(), 300 + i as u64);
        let gx = get(&BE.conv2d_backward_input(&st(&gy), &st(&w), g));
        close(&gx, &conv_bwd_input_naive(&gy, &w, g), 1e-12, &format!("conv2d_backward_input {g:?}"));
    }
}

#[test]
fn conv2d_backward_weight_matches_direct_loops() {
    for (i, g) in conv_shapes().iter().enumerate() {
        let x = rnd(g.x_len(), 400 + i as u64);
        let gy = rnd(g.y_len(), 500 + i as u64);
        let gw = get(&BE.conv2d_backward_weight(&st(&x), &st(&gy), g));
        close(&gw, &conv_bwd_weight_naive(&x, &gy, g), 1e-12, &format!("conv2d_backward_weight {g:?}"));
    }
}

#[test]
fn conv2d_adjoint_identities() {
    // <conv(x, w), gy> = <x, bwd_input(gy, w)> = <w, bwd_weight(x, gy)>.
    for (i, g) in conv_shapes().iter().enumerate() {
        let x = rnd(g.x_len(), 600 + i as u64);
        let w = rnd(g.w_len(), 700 + i as u64);
        let gy = rnd(g.y_len(), 800 + i as u64);
        let lhs = dot(&get(&BE.conv2d(&st(&x), &st(&w), g)), &gy);
        let via_input = dot(&x, &get(&BE.conv2d_backward_input(&st(&gy), &st(&w), g)));
        let via_weight = dot(&w, &get(&BE.conv2d_backward_weight(&st(&x), &st(&gy), g)));
        let tol = 1e-10 * lhs.abs().max(1.0);
        assert!((lhs - via_input).abs() < tol, "{g:?}: {lhs} vs {via_input}");
        assert!((lhs - via_weight).abs() < tol, "{g:?}: {lhs} vs {via_weight}");
    }
}

// ---- normalisation -------------------------------------------------------------------

fn geoms() -> [NormGeom; 2] {
    [NormGeom { n: 2, c: 3, hw: 5, instance: false }, NormGeom { n: 2, c: 3, hw: 5, instance: true }]
}

/// Expected mean and biased variance per statistic, by direct loops.
fn stats_naive(x: &[f64], g: &NormGeom) -> (Vec<f64>, Vec<f64>) {
    let mut groups = vec![Vec::new(); g.stats_len()];
    for n in 0..g.n {
        for c in 0..g.c {
            let s = if g.instance { n * g.c + c } else { c };
            groups[s].extend_from_slice(&x[(n * g.c + c) * g.hw..(n * g.c + c + 1) * g.hw]);
        }
    }
    let mean: Vec<f64> = groups.iter().map(|v| v.iter().sum::<f64>() / v.len() as f64).collect();
    let var = groups
        .iter()
        .zip(&mean)
        .map(|(v, m)| v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / v.len() as f64)
        .collect();
    (mean, var)
}

/// y = (x - mean) / sqrt(var + eps) * gamma + beta; `stat_per_channel` for running statistics.
fn norm_naive(
    x: &[f64],
    affine: (Option<&[f64]>, Option<&[f64]>),
    (mean, var): (&[f64], &[f64]),
    g: &NormGeom,
    eps: f64,
    stat_per_channel: bool,
) -> Vec<f64> {
    let (gamma, beta) = affine;
    let mut y = vec![0.0; x.len()];
    for n in 0..g.n {
        for c in 0..g.c {
            let s = if g.instance && !stat_per_channel { n * g.c + c } else { c };
            for k in 0..g.hw {
                let i = (n * g.c + c) * g.hw + k;
                let xh = (x[i] - mean[s]) / (var[s] + eps).sqrt();
                y[i] = xh * gamma.map_or(1.0, |v| v[c]) + beta.map_or(0.0, |v| v[c]);
            }
        }
    }
    y
}

#[test]
fn norm_forward_statistics_and_output() {
    let eps = 1e-5;
    for g in geoms() {
        let x: Vec<f64> = rnd(g.len(), 11).iter().map(|v| 3.0 * v + 0.5).collect();
        let gamma = rnd(g.c, 12);
        let beta = rnd(g.c, 13);
        let (mean, var) = stats_naive(&x, &g);
        let invstd: Vec<f64> = var.iter().map(|v| 1.0 / (v + eps).sqrt()).collect();
        let (y, m, is) = BE.norm_forward(&st(&x), Some(&st(&gamma)), Some(&st(&beta)), &g, eps);
        close(&get(&m), &mean, 1e-12, "mean");
        close(&get(&is), &invstd, 1e-12, "invstd");
        close(
            &get(&y),
            &norm_naive(&x, (Some(&gamma), Some(&beta)), (&mean, &var), &g, eps, false),
            1e-12,
            "y",
        );
        // Without affine parameters each group has mean 0 and (nearly) unit variance.
        let (y, _, _) = BE.norm_forward(&st(&x), None, None, &g, eps);
        let (m0, v0) = stats_naive(&get(&y), &g);
        close(&m0, &vec![0.0; m0.len()], 1e-12, "normalised mean");
        close(&v0, &var.iter().map(|v| v / (v + eps)).collect::<Vec<_>>(), 1e-12, "normalised variance");
    }
}

#[test]
fn norm_backward_matches_finite_differences() {
    let eps = 1e-5;
    for g in geoms() {
        for affine in [true, false] {
            let x = rnd(g.len(), 21);
            let gy = rnd(g.len(), 22);
            let gamma = rnd(g.c, 23);
            let beta = rnd(g.c, 24);
            let (gam, bet) = if affine { (Some(st(&gamma)), Some(st(&beta))) } else { (None, None) };
            // L(x, gamma, beta) = sum(gy * y).
            let loss = |x: &[f64], gamma: &[f64], beta: &[f64]| {
                let (gs, bs) = (st(gamma), st(beta));
                let (gs, bs) = if affine { (Some(&gs), Some(&bs)) } else { (None, None) };
                dot(&get(&BE.norm_forward(&st(x), gs, bs, &g, eps).0), &gy)
            };
            let (_, mean, invstd) = BE.norm_forward(&st(&x), gam.as_ref(), bet.as_ref(), &g, eps);
            let (gx, gg, gb) = BE.norm_backward(&st(&x), &st(&gy), &mean, &invstd, gam.as_ref(), &g);
            let what = format!("norm_backward instance={} affine={affine}", g.instance);
            close(&get(&gx), &fd(|v| loss(v, &gamma, &beta), &x), 1e-6, &format!("{what} gx"));
            if affine {
                close(
                    &get(&gg.unwrap()),
                    &fd(|v| loss(&x, v, &beta), &gamma),
                    1e-6,
                    &format!("{what} ggamma"),
                );
                close(
                    &get(&gb.unwrap()),
                    &fd(|v| loss(&x, &gamma, v), &beta),
                    1e-6,
                    &format!("{what} gbeta"),
                );
            } else {
                assert!(gg.is_none() && gb.is_none(), "{what}: no affine gradients without gamma");
            }
        }
    }
}

#[test]
fn norm_forward_eval_uses_running_statistics() {
    let eps = 1e-5;
    for g in geoms() {
        let x = rnd(g.len(), 31);
        let mean = rnd(g.c, 32);
        let var: Vec<f64> = rnd(g.c, 33).iter().map(|v| v.abs() + 0.1).collect();
        let gamma = rnd(g.c, 34);
        let beta = rnd(g.c, 35);
        let y = BE.norm_forward_eval(
            &st(&x),
            &st(&mean),
            &st(&var),
            Some(&st(&gamma)),
            Some(&st(&beta)),
            &g,
            eps,
        );
        close(
            &get(&y),
            &norm_naive(&x, (Some(&gamma), Some(&beta)), (&mean, &var), &g, eps, true),
            1e-12,
            "norm_forward_eval",
        );
    }
}

#[test]
fn norm_running_update_values() {
    let (eps, momentum) = (1e-5, 0.1);
    let g = NormGeom { n: 2, c: 3, hw: 5, instance: false };
    let x = rnd(g.len(), 41);
    let (mean, var) = stats_naive(&x, &g);
    let (_, m, is) = BE.norm_forward(&st(&x), None, None, &g, eps);
    let rm0 = rnd(g.c, 42);
    let rv0: Vec<f64> = rnd(g.c, 43).iter().map(|v| v.abs() + 0.5).collect();
    let (mut rm, mut rv) = (st(&rm0), st(&rv0));
    BE.norm_running_update(&mut rm, &mut rv, &m, &is, g.count(), momentum, eps);
    let count = g.count() as f64;
    let want_m: Vec<f64> = rm0.iter().zip(&mean).map(|(r, m)| 0.9 * r + 0.1 * m).collect();
    let want_v: Vec<f64> =
        rv0.iter().zip(&var).map(|(r, v)| 0.9 * r + 0.1 * v * count / (count - 1.0)).collect();
    close(&get(&rm), &want_m, 1e-10, "running mean");
    close(&get(&rv), &want_v, 1e-10, "running var (unbiased)");
}

// ---- pooling -------------------------------------------------------------------------

fn pool_naive(op: Pool, x: &[f64], n: usize, c: usize, h: usize, w: usize) -> Vec<f64> {
    let (oh, ow) = (h / 2, w / 2);
    let mut y = Vec::new();
    for p in 0..n * c {
        for oy in 0..oh {
            for ox in 0..ow {
                let win: Vec<f64> = [(0, 0), (0, 1), (1, 0), (1, 1)]
                    .iter()
                    .map(|(a, b)| x[p * h * w + (2 * oy + a) * w + 2 * ox + b])
                    .collect();
                y.push(match op {
                    Pool::Max => win.iter().cloned().fold(f64::MIN, f64::max),
                    Pool::Avg => win.iter().sum::<f64>() / 4.0,
                });
            }
        }
    }
    y
}

#[test]
fn pool2_forward_and_backward() {
    let (n, c, h, w) = (2, 3, 5, 7);
    let x = rnd(n * c * h * w, 51);
    let gy = rnd(n * c * (h / 2) * (w / 2), 52);
    for op in [Pool::Max, Pool::Avg] {
        let y = get(&BE.pool2(op, &st(&x), n, c, h, w));
        close(&y, &pool_naive(op, &x, n, c, h, w), 1e-14, &format!("{op:?} forward"));
        let gx = get(&BE.pool2_backward(op, &st(&x), &st(&gy), n, c, h, w));
        let want = fd(|v| dot(&pool_naive(op, v, n, c, h, w), &gy), &x);
        close(&gx, &want, 1e-8, &format!("{op:?} backward"));
    }
}

#[test]
fn max_pool_backward_routes_ties_to_the_first_maximum() {
    // One 2x2 window, all equal: the top-left element gets the gradient.
    let x = st(&[1.5, 1.5, 1.5, 1.5]);
    let gx = get(&BE.pool2_backward(Pool::Max, &x, &st(&[2.0]), 1, 1, 2, 2));
    assert_eq!(gx, vec![2.0, 0.0, 0.0, 0.0]);
    let x = st(&[0.0, 3.0, 3.0, 1.0]);
    let gx = get(&BE.pool2_backward(Pool::Max, &x, &st(&[2.0]), 1, 1, 2, 2));
    assert_eq!(gx, vec![0.0, 2.0, 0.0, 0.0]);
}

// ---- gram, losses, total variation ----------------------------------------------------

fn gram_naive(x: &[f64], n: usize, c: usize, hw: usize) -> Vec<f64> {
    let mut g = vec![0.0; n * c * c];
    for b in 0..n {
        for i in 0..c {
            for j in 0..c {
                let s: f64 = (0..hw).map(|k| x[(b * c + i) * hw + k] * x[(b * c + j) * hw + k]).sum();
                g[(b * c + i) * c + j] = s / (c * hw) as f64;
            }
        }
    }
    g
}

#[test]
fn gram_forward_and_backward() {
    let (n, c, hw) = (2, 4, 7);
    let x = rnd(n * c * hw, 61);
    let gg = rnd(n * c * c, 62);
    close(&get(&BE.gram(&st(&x), n, c, hw)), &gram_naive(&x, n, c, hw), 1e-12, "gram");
    let gx = get(&BE.gram_backward(&st(&x), &st(&gg), n, c, hw));
    close(&gx, &fd(|v| dot(&gram_naive(v, n, c, hw), &gg), &x), 1e-8, "gram_backward");
}

fn loss_naive(op: Loss, a: &[f64], b: &[f64]) -> f64 {
    let s: f64 = a
        .iter()
        .zip(b)
        .map(|(&a, &b)| match op {
            Loss::L1 => (a - b).abs(),
            Loss::Mse => (a - b).powi(2),
            // The textbook form: -(b log s + (1 - b) log(1 - s)).
            Loss::BceWithLogits => {
                let s = 1.0 / (1.0 + (-a).exp());
                -(b * s.ln() + (1.0 - b) * (1.0 - s).ln())
            }
        })
        .sum();
    s / a.len() as f64
}

#[test]
fn losses_forward_and_backward() {
    let a = rnd(23, 71);
    let b: Vec<f64> = (0..23).map(|i| philox::uniform(72, i)).collect();
    let gl = 0.7;
    for op in [Loss::L1, Loss::Mse, Loss::BceWithLogits] {
        let l = get(&BE.loss(op, &st(&a), &st(&b)));
        assert_eq!(l.len(), 1, "{op:?}: one-element result");
        close(&l, &[loss_naive(op, &a, &b)], 1e-12, &format!("{op:?}"));
        let ga = get(&BE.loss_backward(op, &st(&a), &st(&b), &st(&[gl])));
        let want: Vec<f64> = fd(|v| loss_naive(op, v, &b), &a).iter().map(|g| g * gl).collect();
        close(&ga, &want, 1e-8, &format!("{op:?} backward"));
    }
}

#[test]
fn bce_with_logits_is_stable_for_large_logits() {
    let a = st(&[1000.0, -1000.0, 800.0]);
    let b = st(&[1.0, 0.0, 0.0]);
    let l = get(&BE.loss(Loss::BceWithLogits, &a, &b))[0];
    // Only the last term is non-zero: 800 / 3.
    assert!((l - 800.0 / 3.0).abs() < 1e-9, "{l}");
    let g = get(&BE.loss_backward(Loss::BceWithLogits, &a, &b, &st(&[1.0])));
    close(&g, &[0.0, 0.0, 1.0 / 3.0], 1e-12, "bce gradient");
}

fn tv_naive(x: &[f64], n: usize, c: usize, h: usize, w: usize) -> f64 {
    let mut s = 0.0;
    for p in 0..n * c {
        let at = |i: usize, j: usize| x[p * h * w + i * w + j];
        for i in 0..h {
            for j in 0..w {
                if i + 1 < h {
                    s += (at(i + 1, j) - at(i, j)).powi(2);
                }
                if j + 1 < w {
                    s += (at(i, j + 1) - at(i, j)).powi(2);
                }
            }
        }
    }
    s / x.len() as f64
}

#[test]
fn tv_forward_and_backward() {
    let (n, c, h, w) = (2, 3, 4, 5);
    let x = rnd(n * c * h * w, 81);
    close(&get(&BE.tv(&st(&x), n, c, h, w)), &[tv_naive(&x, n, c, h, w)], 1e-12, "tv");
    let gx = get(&BE.tv_backward(&st(&x), &st(&[1.3]), n, c, h, w));
    let want: Vec<f64> = fd(|v| tv_naive(v, n, c, h, w), &x).iter().map(|g| g * 1.3).collect();
    close(&gx, &want, 1e-8, "tv_backward");
}

// ---- elementwise, reductions, layout, memory ------------------------------------------

fn unary_naive(op: Unary, x: f64) -> f64 {
    match op {
        Unary::Relu => x.max(0.0),
        Unary::LeakyRelu(s) => {
            if x > 0.0 {
                x
            } else {
                s * x
            }
        }
        Unary::Tanh => x.tanh(),
        Unary::Sigmoid => 1.0 / (1.0 + (-x).exp()),
        Unary::Abs => x.abs(),
        Unary::Sqr => x * x,
    }
}

#[test]
fn unary_forward_and_backward() {
    // Keep inputs away from the kinks of relu and abs so differences are exact.
    let x: Vec<f64> = rnd(40, 91).iter().map(|v| if v.abs() < 0.01 { 0.5 } else { *v }).collect();
    let gy = rnd(40, 92);
    for op in [Unary::Relu, Unary::LeakyRelu(0.2), Unary::Tanh, Unary::Sigmoid, Unary::Abs, Unary::Sqr] {
        let y = BE.unary(op, &st(&x));
        let want: Vec<f64> = x.iter().map(|&v| unary_naive(op, v)).collect();
        close(&get(&y), &want, 1e-14, &format!("{op:?}"));
        let gx = get(&BE.unary_backward(op, &st(&x), &y, &st(&gy)));
        let want: Vec<f64> = fd(|v| dot(&v.iter().map(|&t| unary_naive(op, t)).collect::<Vec<_>>(), &gy), &x);
        close(&gx, &want, 1e-8, &format!("{op:?} backward"));
    }
    // Sigmoid saturates without overflow.
    let y = get(&BE.unary(Unary::Sigmoid, &st(&[-1000.0, 1000.0])));
    assert_eq!(y, vec![0.0, 1.0]);
}

#[test]
fn binary_affine_scalar_and_accumulate() {
    let a = rnd(17, 101);
    let b = rnd(17, 102);
    let zip = |f: fn(f64, f64) -> f64| a.iter().zip(&b).map(|(&x, &y)| f(x, y)).collect::<Vec<_>>();
    close(&get(&BE.binary(Binary::Add, &st(&a), &st(&b))), &zip(|x, y| x + y), 1e-15, "add");
    close(&get(&BE.binary(Binary::Sub, &st(&a), &st(&b))), &zip(|x, y| x - y), 1e-15, "sub");
    close(&get(&BE.binary(Binary::Mul, &st(&a), &st(&b))), &zip(|x, y| x * y), 1e-15, "mul");
    close(
        &get(&BE.affine(&st(&a), 2.5, -1.0)),
        &a.iter().map(|x| 2.5 * x - 1.0).collect::<Vec<_>>(),
        1e-15,
        "affine",
    );
    close(
        &get(&BE.mul_scalar_storage(&st(&a), &st(&[-3.0]))),
        &a.iter().map(|x| -3.0 * x).collect::<Vec<_>>(),
        1e-15,
        "mul_scalar_storage",
    );
    let mut acc = st(&a);
    BE.add_inplace(&mut acc, &st(&b));
    close(&get(&acc), &zip(|x, y| x + y), 1e-15, "add_inplace");
}

#[test]
fn reductions_and_channel_bias() {
    let (n, c, hw) = (2, 3, 4);
    let x = rnd(n * c * hw, 111);
    let s = get(&BE.sum_all(&st(&x)));
    close(&s, &[x.iter().sum()], 1e-13, "sum_all");
    close(&get(&BE.broadcast_scalar(&st(&[1.5]), 4, -2.0)), &[-3.0; 4], 0.0, "broadcast_scalar");
    let mut want = vec![0.0; c];
    for (i, v) in x.iter().enumerate() {
        want[(i / hw) % c] += v;
    }
    close(&get(&BE.channel_sum(&st(&x), n, c, hw)), &want, 1e-13, "channel_sum");
    let bias = rnd(c, 112);
    let want: Vec<f64> = x.iter().enumerate().map(|(i, v)| v + bias[(i / hw) % c]).collect();
    close(&get(&BE.add_channel_bias(&st(&x), &st(&bias), n, c, hw)), &want, 1e-15, "add_channel_bias");
}

#[test]
fn copy_channels_concatenates_and_slices() {
    let (n, hw) = (2, 3);
    let a = rnd(n * 2 * hw, 121);
    let b = rnd(n * 3 * hw, 122);
    // Concatenate a (2 channels) and b (3 channels) into 5 channels.
    let mut cat = BE.zeros(n * 5 * hw, DType::F64);
    BE.copy_channels(&st(&a), 2, 0, &mut cat, 5, 0, 2, n, hw);
    BE.copy_channels(&st(&b), 3, 0, &mut cat, 5, 2, 3, n, hw);
    let cat = get(&cat);
    for i in 0..n {
        assert_eq!(&cat[i * 5 * hw..i * 5 * hw + 2 * hw], &a[i * 2 * hw..(i + 1) * 2 * hw]);
        assert_eq!(&cat[i * 5 * hw + 2 * hw..(i + 1) * 5 * hw], &b[i * 3 * hw..(i + 1) * 3 * hw]);
    }
    // Slice channels 1..3 back out of the concatenation.
    let mut slice = BE.full(n * 2 * hw, 9.0, DType::F64);
    BE.copy_channels(&st(&cat), 5, 1, &mut slice, 2, 0, 2, n, hw);
    let slice = get(&slice);
    for i in 0..n {
        assert_eq!(&slice[i * 2 * hw..(i + 1) * 2 * hw], &cat[i * 5 * hw + hw..i * 5 * hw + 3 * hw]);
    }
}

#[test]
fn memory_and_random_fills() {
    let data = [1.0, -2.5, 3.25];
    assert_eq!(BE.to_f64(&BE.from_f64(&data, DType::F32)), data.to_vec());
    assert_eq!(BE.to_f32(&BE.from_f32(&[0.5, 2.0], DType::F64)), vec![0.5, 2.0]);
    assert_eq!(BE.zeros(3, DType::F32).dtype(), DType::F32);
    assert_eq!(get(&BE.full(2, 4.5, DType::F64)), vec![4.5, 4.5]);
    assert_eq!(get(&BE.clone_storage(&st(&data))), data.to_vec());
    let r = get(&BE.randn(50_000, 5, 1.0, 2.0, DType::F64));
    for (i, v) in r.iter().enumerate().step_by(997) {
        assert_eq!(*v, 1.0 + 2.0 * philox::normal(5, i as u64));
    }
    let u = get(&BE.rand_uniform(50_000, 6, -1.0, 3.0, DType::F64));
    assert!(u.iter().all(|v| (-1.0..3.0).contains(v)));
    let mean = u.iter().sum::<f64>() / u.len() as f64;
    assert!((mean - 1.0).abs() < 0.05, "{mean}");
    // The f32 fill is the f64 fill rounded.
    let r32 = BE.to_f32(&BE.randn(1000, 5, 1.0, 2.0, DType::F32));
    assert!(r32.iter().zip(&r).all(|(a, b)| *a == *b as f32));
}

#[test]
fn dropout_mask_is_reproducible_and_keeps_one_minus_p() {
    let (len, p) = (100_000, 0.3);
    let m = get(&BE.dropout_mask(len, p, 42, DType::F64));
    assert_eq!(m, get(&BE.dropout_mask(len, p, 42, DType::F64)), "same seed, same mask");
    assert_ne!(m, get(&BE.dropout_mask(len, p, 43, DType::F64)), "another seed, another mask");
    let scale = 1.0 / (1.0 - p);
    for (i, v) in m.iter().enumerate() {
        let want = if philox::keep(42, i as u64, p) { scale } else { 0.0 };
        assert_eq!(*v, want, "element {i}");
    }
    let kept = m.iter().filter(|v| **v != 0.0).count() as f64 / len as f64;
    assert!((kept - 0.7).abs() < 0.01, "kept fraction {kept}");
    assert!(get(&BE.dropout_mask(100, 0.0, 1, DType::F64)).iter().all(|v| *v == 1.0));
    assert!(get(&BE.dropout_mask(100, 1.0, 1, DType::F64)).iter().all(|v| *v == 0.0));
}

#[test]
fn adam_steps_match_hand_computation() {
    let h1 = AdamStep { lr: 0.01, beta1: 0.5, beta2: 0.999, eps: 1e-8, weight_decay: 0.1, step: 1 };
    let p0 = rnd(9, 131);
    let g1 = rnd(9, 132);
    let g2 = rnd(9, 133);
    let (mut p, mut m, mut v) = (st(&p0), BE.zeros(9, DType::F64), BE.zeros(9, DType::F64));
    BE.adam_step(&mut p, &st(&g1), &mut m, &mut v, &h1);
    BE.adam_step(&mut p, &st(&g2), &mut m, &mut v, &AdamStep { step: 2, ..h1 });
    for i in 0..9 {
        let (mut pp, mut mm, mut vv) = (p0[i], 0.0, 0.0);
        for (t, g) in [(1, g1[i]), (2, g2[i])] {
            let g = g + 0.1 * pp;
            mm = 0.5 * mm + 0.5 * g;
            vv = 0.999 * vv + 0.001 * g * g;
            let mhat = mm / (1.0 - 0.5f64.powi(t));
            let vhat = vv / (1.0 - 0.999f64.powi(t));
            pp -= 0.01 * mhat / (vhat.sqrt() + 1e-8);
        }
        close(&[get(&p)[i], get(&m)[i], get(&v)[i]], &[pp, mm, vv], 1e-13, &format!("adam element {i}"));
    }
}

// ---- f32 against f64 -------------------------------------------------------------------

fn st32(v: &[f64]) -> Storage {
    BE.from_f64(v, DType::F32)
}

#[test]
fn f32_path_agrees_with_f64_path() {
    // Sizes above the parallel thresholds, so the threaded paths run too.
    let g = ConvGeom::forward(2, 16, 24, 20, 24, (4, 4), 2, 1);
    let x = rnd(g.x_len(), 141);
    let w: Vec<f64> = rnd(g.w_len(), 142).iter().map(|v| v * 0.1).collect();
    let gy = rnd(g.y_len(), 143);
    let pair = |a: Storage, b: Storage, tol: f64, what: &str| close(&BE.to_f64(&a), &get(&b), tol, what);
    pair(BE.conv2d(&st32(&x), &st32(&w), &g), BE.conv2d(&st(&x), &st(&w), &g), 1e-4, "conv2d");
    pair(
        BE.conv2d_backward_input(&st32(&gy), &st32(&w), &g),
        BE.conv2d_backward_input(&st(&gy), &st(&w), &g),
        1e-4,
        "conv2d_backward_input",
    );
    pair(
        BE.conv2d_backward_weight(&st32(&x), &st32(&gy), &g),
        BE.conv2d_backward_weight(&st(&x), &st(&gy), &g),
        1e-3,
        "conv2d_backward_weight",
    );

    let ng = NormGeom { n: 2, c: 8, hw: 48 * 48, instance: false };
    // Offset so |mean| >> std: the f32 path must subtract the mean before scaling.
    let xn: Vec<f64> = rnd(ng.len(), 144).iter().map(|v| v + 20.0).collect();
    let gyn = rnd(ng.len(), 145);
    let gamma = rnd(ng.c, 146);
    for instance in [false, true] {
        let ng = NormGeom { instance, ..ng };
        let (y32, m32, i32_) = BE.norm_forward(&st32(&xn), Some(&st32(&gamma)), None, &ng, 1e-5);
        let (y64, m64, i64_) = BE.norm_forward(&st(&xn), Some(&st(&gamma)), None, &ng, 1e-5);
        pair(y32, y64, 1e-4, "norm y");
        let (gx32, gg32, _) =
            BE.norm_backward(&st32(&xn), &st32(&gyn), &m32, &i32_, Some(&st32(&gamma)), &ng);
        let (gx64, gg64, _) = BE.norm_backward(&st(&xn), &st(&gyn), &m64, &i64_, Some(&st(&gamma)), &ng);
        pair(gx32, gx64, 1e-4, "norm gx");
        pair(gg32.unwrap(), gg64.unwrap(), 1e-3, "norm ggamma");
    }

    let big = rnd(50_000, 147);
    let other = rnd(50_000, 148);
    pair(BE.unary(Unary::Tanh, &st32(&big)), BE.unary(Unary::Tanh, &st(&big)), 1e-6, "tanh");
    pair(
        BE.binary(Binary::Mul, &st32(&big), &st32(&other)),
        BE.binary(Binary::Mul, &st(&big), &st(&other)),
        1e-6,
        "mul",
    );
    pair(
        BE.loss(Loss::BceWithLogits, &st32(&big), &st32(&other)),
        BE.loss(Loss::BceWithLogits, &st(&big), &st(&other)),
        1e-5,
        "bce",
    );
    pair(BE.gram(&st32(&big), 1, 50, 1000), BE.gram(&st(&big), 1, 50, 1000), 1e-5, "gram");
    pair(BE.tv(&st32(&big), 2, 1, 100, 250), BE.tv(&st(&big), 2, 1, 100, 250), 1e-5, "tv");
    pair(
        BE.pool2(Pool::Max, &st32(&big), 2, 1, 100, 250),
        BE.pool2(Pool::Max, &st(&big), 2, 1, 100, 250),
        1e-6,
        "max pool",
    );

    let h = AdamStep { lr: 2e-4, beta1: 0.5, beta2: 0.999, eps: 1e-8, weight_decay: 0.0, step: 3 };
    let (mut p32, mut m32, mut v32) =
        (st32(&big), st32(&other), st32(&other.iter().map(|v| v * v).collect::<Vec<_>>()));
    let (mut p64, mut m64, mut v64) =
        (st(&big), st(&other), st(&other.iter().map(|v| v * v).collect::<Vec<_>>()));
    let grad = rnd(50_000, 149);
    BE.adam_step(&mut p32, &st32(&grad), &mut m32, &mut v32, &h);
    BE.adam_step(&mut p64, &st(&grad), &mut m64, &mut v64, &h);
    pair(p32, p64, 1e-6, "adam param");
}

// ---- programmer errors ------------------------------------------------------------------

#[test]
#[should_panic(expected = "binary: length mismatch: a has 3 elements, b has 4")]
fn mismatched_lengths_panic_with_both_lengths() {
    BE.binary(Binary::Add, &st(&[1.0; 3]), &st(&[1.0; 4]));
}

#[test]
#[should_panic(expected = "expected f64 storage, got f32")]
fn mixed_dtypes_panic() {
    BE.binary(Binary::Add, &st(&[1.0; 3]), &st32(&[1.0; 3]));
}

#[test]
#[should_panic(expected = "device storage given to the CPU backend")]
fn device_storage_panics() {
    // A real (emulator) buffer: safe code cannot make a DevBuf of its own.
    let s = Storage::Device(engine::backend::device::emu_runtime().alloc(3));
    BE.unary(Unary::Relu, &s);
}

#[test]
#[should_panic(expected = "conv2d: length mismatch")]
fn conv_with_wrong_weight_length_panics() {
    let g = ConvGeom::forward(1, 2, 4, 4, 3, (3, 3), 1, 1);
    BE.conv2d(&st(&rnd(g.x_len(), 1)), &st(&rnd(g.w_len() - 1, 2)), &g);
}

// ---- reflection padding ----------------------------------------------------------

#[test]
fn reflection_pad_matches_pytorch_example() {
    // torch.nn.ReflectionPad2d((2, 1, 1, 2)) of arange(6).view(1, 1, 2, 3).
    let g = PadGeom { n: 1, c: 1, h: 2, w: 3, top: 1, bottom: 1, left: 2, right: 1 };
    let y = get(&BE.reflection_pad(&st(&[0.0, 1.0, 2.0, 3.0, 4.0, 5.0]), &g));
    #[rustfmt::skip]
    let want = [
        5.0, 4.0, 3.0, 4.0, 5.0, 4.0,
        2.0, 1.0, 0.0, 1.0, 2.0, 1.0,
        5.0, 4.0, 3.0, 4.0, 5.0, 4.0,
        2.0, 1.0, 0.0, 1.0, 2.0, 1.0,
    ];
    assert_eq!(y, want);
}

#[test]
fn reflection_pad_backward_is_the_adjoint() {
    // <pad(x), gy> = <x, pad_backward(gy)> for every pad up to size - 1, odd shapes.
    for (h, w) in [(1, 4), (3, 5), (4, 2), (5, 5)] {
        for (top, bottom, left, right) in [(0, 0, 0, 0), (h - 1, 0, 0, w - 1), (h / 2, h - 1, w - 1, w / 2)] {
            let g = PadGeom { n: 2, c: 3, h, w, top, bottom, left, right };
            let x = rnd(g.x_len(), 7);
            let gy = rnd(g.y_len(), 8);
            let y = get(&BE.reflection_pad(&st(&x), &g));
            let gx = get(&BE.reflection_pad_backward(&st(&gy), &g));
            let (a, b) = (dot(&y, &gy), dot(&x, &gx));
            assert!((a - b).abs() < 1e-9 * a.abs().max(1.0), "{g:?}: {a} vs {b}");
        }
    }
}
