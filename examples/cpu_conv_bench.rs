//! Throughput of the CPU backend's convolution primitives (f32), and the convolutions of a
//! U-Net 256 forward pass. Run: `cargo run --release --example cpu_conv_bench`.

use std::time::Instant;

use engine::backend::cpu::CpuBackend;
use engine::backend::{Backend, ConvGeom, DType};

/// Median seconds of `reps` runs of f after one warm-up.
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
    t[reps / 2]
}

fn main() {
    let be = CpuBackend;
    let g = ConvGeom::forward(1, 128, 64, 64, 256, (4, 4), 2, 1);
    let x = be.randn(g.x_len(), 1, 0.0, 1.0, DType::F32);
    let w = be.randn(g.w_len(), 2, 0.0, 0.02, DType::F32);
    let gy = be.randn(g.y_len(), 3, 0.0, 1.0, DType::F32);
    let gf = g.flops() / 1e9;
    println!("shape x[1,128,64,64] w[256,128,4,4] s2 p1 ({gf:.3} GFLOP each)");
    let t = time(9, || drop(be.conv2d(&x, &w, &g)));
    println!("  conv2d                 {:7.2} ms {:6.1} GFLOP/s", t * 1e3, gf / t);
    let t = time(9, || drop(be.conv2d_backward_input(&gy, &w, &g)));
    println!("  conv2d_backward_input  {:7.2} ms {:6.1} GFLOP/s  (= conv_transpose2d 256->128, 32->64)", t * 1e3, gf / t);
    let t = time(9, || drop(be.conv2d_backward_weight(&x, &gy, &g)));
    println!("  conv2d_backward_weight {:7.2} ms {:6.1} GFLOP/s", t * 1e3, gf / t);

    // U-Net 256 (ngf 64): encoder convs (c_in, c_out, input size), decoder transposed convs
    // (c_in, c_out, input size), each 4x4 stride 2 padding 1.
    let enc = [(3, 64, 256), (64, 128, 128), (128, 256, 64), (256, 512, 32), (512, 512, 16), (512, 512, 8), (512, 512, 4), (512, 512, 2)];
    let dec = [(512, 512, 1), (1024, 512, 2), (1024, 512, 4), (1024, 512, 8), (1024, 256, 16), (512, 128, 32), (256, 64, 64), (128, 3, 128)];
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
            (be.randn(inp, 10 + i as u64, 0.0, 1.0, DType::F32), be.randn(g.w_len(), 40 + i as u64, 0.0, 0.02, DType::F32))
        })
        .collect();
    let total: f64 = layers.iter().map(|(_, g)| g.flops()).sum::<f64>() / 1e9;
    let t = time(5, || {
        for ((tr, g), (x, w)) in layers.iter().zip(&data) {
            drop(if *tr { be.conv2d_backward_input(x, w, g) } else { be.conv2d(x, w, g) });
        }
    });
    println!("U-Net 256 convolutions ({total:.2} GFLOP): {:.1} ms, {:.1} GFLOP/s", t * 1e3, total / t);
    for ((tr, g), (x, w)) in layers.iter().zip(&data) {
        let t = time(3, || drop(if *tr { be.conv2d_backward_input(x, w, g) } else { be.conv2d(x, w, g) }));
        let kind = if *tr { "convT" } else { "conv " };
        let (ci, co, s) = if *tr { (g.c_out, g.c_in, g.oh) } else { (g.c_in, g.c_out, g.h) };
        println!("  {kind} {ci:4} -> {co:4} at {s:3}: {:6.2} ms {:6.1} GFLOP/s", t * 1e3, g.flops() / 1e9 / t);
    }
}
