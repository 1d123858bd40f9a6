//! Throughput of the CPU backend's convolution primitives (f32), and the convolutions of a
//! U-Net 256 forward pass. Run: `cargo run --release --example cpu_conv_bench`.

use std::time::Instant;

use engine::backend::cpu::CpuBackend;
use engine::backend::{Backend, ConvGeom, DType, NormGeom, Storage, Unary};

/// Fastest of `reps` runs of f after one warm-up (the machine is shared: the minimum is
/// the most stable figure).
fn time(reps: usize, mut f: impl FnMut()) -> f64 {
    f();
    let mut t: Vec<f64> = (0..reps)
        .map(|_| {
            let s = Instant::now();
            f();
            s.elapsed().as_secs_f64()
        })
        .collect();
    t.sort_by(|a, b| a.partial_cmp(b).unwrap());
    t[0]
}

fn main() {
    let be = CpuBackend;
    let g = ConvGeom::forward(1, 128, 64, 64, 256, (4, 4), 2, 1);
    let x = be.randn(g.x_len(), 1, 0.0, 1.0, DType::F32);
    let w = be.randn(g.w_len(), 2, 0.0, 0.02, DType::F32);
    let gy = be.randn(g.y_len(), 3, 0.0, 1.0, DType::F32);
    let gf = g.flops() / 1e9;
    println!("shape x[1,128,64,64] w[256,128,4,4] s2 p1 ({gf:.3} GFLOP each)");
    let t = time(15, || drop(be.conv2d(&x, &w, &g)));
    println!("  conv2d                 {:7.2} ms {:6.1} GFLOP/s", t * 1e3, gf / t);
    let t = time(15, || drop(be.conv2d_backward_input(&gy, &w, &g)));
    println!(
        "  conv2d_backward_input  {:7.2} ms {:6.1} GFLOP/s  (= conv_transpose2d 256->128, 32->64)",
        t * 1e3,
        gf / t
    );
    let t = time(15, || drop(be.conv2d_backward_weight(&x, &gy, &g)));
    println!("  conv2d_backward_weight {:7.2} ms {:6.1} GFLOP/s", t * 1e3, gf / t);

    // U-Net 256 (ngf 64): encoder convs (c_in, c_out, input size), decoder transposed convs
    // (c_in, c_out, input size), each 4x4 stride 2 padding 1.
    let enc = [
        (3, 64, 256),
        (64, 128, 128),
        (128, 256, 64),
        (256, 512, 32),
        (512, 512, 16),
        (512, 512, 8),
        (512, 512, 4),
        (512, 512, 2),
    ];
    let dec = [
        (512, 512, 1),
        (1024, 512, 2),
        (1024, 512, 4),
        (1024, 512, 8),
        (1024, 256, 16),
        (512, 128, 32),
        (256, 64, 64),
        (128, 3, 128),
    ];
    let mut layers = Vec::new();
    for &(ci, co, s) in &enc {
        layers.push((false, ConvGeom::forward(1, ci, s, s, co, (4, 4), 2, 1)));
    }
    for &(ci, co, s) in &dec {
        // The transposed conv is the input gradient of the conv that maps 2s -> s, co -> ci.
        layers.push((true, ConvGeom::forward(1, co, 2 * s, 2 * s, ci, (4, 4), 2, 1)));
    }
    let data: Vec<_> = layers
        .iter()
        .enumerate()
        .map(|(i, (tr, g))| {
            let inp = if *tr { g.y_len() } else { g.x_len() };
            (
                be.randn(inp, 10 + i as u64, 0.0, 1.0, DType::F32),
                be.randn(g.w_len(), 40 + i as u64, 0.0, 0.02, DType::F32),
            )
        })
        .collect();
    let total: f64 = layers.iter().map(|(_, g)| g.flops()).sum::<f64>() / 1e9;
    let t = time(9, || {
        for ((tr, g), (x, w)) in layers.iter().zip(&data) {
            drop(if *tr { be.conv2d_backward_input(x, w, g) } else { be.conv2d(x, w, g) });
        }
    });
    println!("U-Net 256 convolutions ({total:.2} GFLOP): {:.1} ms, {:.1} GFLOP/s", t * 1e3, total / t);
    for ((tr, g), (x, w)) in layers.iter().zip(&data) {
        let t = time(9, || drop(if *tr { be.conv2d_backward_input(x, w, g) } else { be.conv2d(x, w, g) }));
        let kind = if *tr { "convT" } else { "conv " };
        let (ci, co, s) = if *tr { (g.c_out, g.c_in, g.oh) } else { (g.c_in, g.c_out, g.h) };
        println!(
            "  {kind} {ci:4} -> {co:4} at {s:3}: {:6.2} ms {:6.1} GFLOP/s",
            t * 1e3,
            g.flops() / 1e9 / t
        );
    }

    let t = time(9, || drop(unet256_forward(&be, &layers, &data)));
    println!(
        "U-Net 256 forward, all primitives (batch norm, activations, concatenations): {:.1} ms",
        t * 1e3
    );
}

/// The primitive calls of a U-Net 256 forward pass (train-mode batch norm, no dropout),
/// with the weights above: encoder outputs are kept for the skip concatenations.
fn unet256_forward(be: &CpuBackend, layers: &[(bool, ConvGeom)], data: &[(Storage, Storage)]) -> Storage {
    let norm = |y: Storage, c: usize, hw: usize| {
        be.norm_forward(&y, None, None, &NormGeom { n: 1, c, hw, instance: false }, 1e-5).0
    };
    let mut x = be.randn(3 * 256 * 256, 7, 0.0, 1.0, DType::F32);
    let mut skips = Vec::new();
    for (i, ((_, g), (_, w))) in layers[..8].iter().zip(&data[..8]).enumerate() {
        let a = if i == 0 { be.clone_storage(&x) } else { be.unary(Unary::LeakyRelu(0.2), &x) };
        let y = be.conv2d(&a, w, g);
        let y = if i == 0 || i == 7 { y } else { norm(y, g.c_out, g.oh * g.ow) };
        skips.push(x);
        x = y;
    }
    for (i, ((_, g), (_, w))) in layers[8..].iter().zip(&data[8..]).enumerate() {
        let a = be.unary(Unary::Relu, &x);
        let y = be.conv2d_backward_input(&a, w, g);
        let hw = g.h * g.w;
        if i == 7 {
            let bias = be.zeros(3, DType::F32);
            return be.unary(Unary::Tanh, &be.add_channel_bias(&y, &bias, 1, 3, hw));
        }
        let y = norm(y, g.c_in, hw);
        let skip = skips.pop().unwrap();
        let sc = skip.len() / hw;
        let mut cat = be.zeros(skip.len() + y.len(), DType::F32);
        be.copy_channels(&skip, sc, 0, &mut cat, sc + g.c_in, 0, sc, 1, hw);
        be.copy_channels(&y, g.c_in, 0, &mut cat, sc + g.c_in, sc, g.c_in, 1, hw);
        x = cat;
    }
    unreachable!()
}
