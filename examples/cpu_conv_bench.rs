//! Per-layer throughput of the CPU backend's convolutions (f32): forward, input gradient and
//! weight gradient of every VGG-19 layer (to conv5_1) and every U-Net 256 layer, against a
//! 2048^3 sgemm through the `gemm` crate measured in the same rounds.
//!
//!   cargo run --release --example cpu_conv_bench [-- [--rounds R] [--vgg-size S] [FILTER]]
//!
//! The machine is shared, so each round runs the sgemm and then every case once, and the
//! table reports medians over the rounds: a slow patch of time hits the peak and the cases
//! alike. Prints a markdown table (wall-clock ms, GFLOP/s, % of the sgemm peak) and the
//! totals. Inputs stay in cache between calls (warm), unlike `engine bench kernels`.

use std::time::Instant;

use engine::backend::cpu::CpuBackend;
use engine::backend::{Backend, ConvGeom, DType, Storage};

#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Conv,
    /// A transposed convolution, described by its mirrored convolution.
    ConvT,
}

struct Layer {
    name: String,
    kind: Kind,
    g: ConvGeom,
    /// Whether the input gradient is computed in training (not for the data input).
    dgrad: bool,
}

fn vgg19(size: usize) -> Vec<Layer> {
    let widths = [64, 128, 256, 512, 512];
    let convs = [2, 2, 4, 4, 1];
    let (mut c, mut s, mut out) = (3, size, Vec::new());
    for (b, (&wd, &n)) in widths.iter().zip(&convs).enumerate() {
        for j in 1..=n {
            let g = ConvGeom::forward(1, c, s, s, wd, (3, 3), 1, 1);
            // Style transfer needs the gradient down to the image, conv1_1's included.
            out.push(Layer {
                name: format!("vgg{size} conv{}_{j}", b + 1),
                kind: Kind::Conv,
                g,
                dgrad: true,
            });
            c = wd;
        }
        s /= 2;
    }
    out
}

fn unet256() -> Vec<Layer> {
    let enc = [3, 64, 128, 256, 512, 512, 512, 512, 512];
    let mut out = Vec::new();
    for i in 0..8 {
        let s = 256 >> i;
        let g = ConvGeom::forward(1, enc[i], s, s, enc[i + 1], (4, 4), 2, 1);
        out.push(Layer { name: format!("unet down{}", i + 1), kind: Kind::Conv, g, dgrad: i > 0 });
    }
    for i in (0..8).rev() {
        let s = 256 >> i;
        let c_up = if i == 7 { 512 } else { 2 * enc[i + 1] };
        let c_out = enc[i];
        // up_i maps c_up channels at s/2 to c_out at s: the mirror of a conv c_out -> c_up.
        let g = ConvGeom::forward(1, c_out, s, s, c_up, (4, 4), 2, 1);
        out.push(Layer { name: format!("unet up{}", i + 1), kind: Kind::ConvT, g, dgrad: true });
    }
    out
}

/// One timed case: a layer's forward, input gradient or weight gradient.
struct Case {
    layer: usize,
    op: &'static str,
    run: Box<dyn Fn()>,
    ms: Vec<f64>,
}

fn cases(be: &'static CpuBackend, layers: &[Layer]) -> Vec<Case> {
    let mut out = Vec::new();
    for (i, l) in layers.iter().enumerate() {
        let g = l.g;
        let rnd = |len: usize, seed: u64| be.randn(len, seed + 10 * i as u64, 0.0, 1.0, DType::F32);
        let (x, w, y): (Storage, Storage, Storage) =
            (rnd(g.x_len(), 1), rnd(g.w_len(), 2), rnd(g.y_len(), 3));
        let (x, w, y) = (std::rc::Rc::new(x), std::rc::Rc::new(w), std::rc::Rc::new(y));
        let mut push =
            |op: &'static str, run: Box<dyn Fn()>| out.push(Case { layer: i, op, run, ms: Vec::new() });
        // For a transposed conv, forward = the mirror's input gradient and vice versa.
        let (x2, w2) = (x.clone(), w.clone());
        let conv: Box<dyn Fn()> = Box::new(move || drop(be.conv2d(&x2, &w2, &g)));
        let (w3, y3) = (w.clone(), y.clone());
        let conv_bi: Box<dyn Fn()> = Box::new(move || drop(be.conv2d_backward_input(&y3, &w3, &g)));
        let (fwd, dgrad) = if l.kind == Kind::Conv { (conv, conv_bi) } else { (conv_bi, conv) };
        push("fwd", fwd);
        if l.dgrad {
            push("dgrad", dgrad);
        }
        push("wgrad", Box::new(move || drop(be.conv2d_backward_weight(&x, &y, &g))));
    }
    out
}

fn sgemm(n: usize, a: &[f32], b: &[f32], c: &mut [f32]) {
    // SAFETY: a, b, c are n x n row-major and c does not alias a or b.
    unsafe {
        gemm::gemm(
            n,
            n,
            n,
            c.as_mut_ptr(),
            1,
            n as isize,
            false,
            a.as_ptr(),
            1,
            n as isize,
            b.as_ptr(),
            1,
            n as isize,
            0.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::Rayon(0),
        );
    }
}

fn median(v: &[f64]) -> f64 {
    let mut v = v.to_vec();
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    v[v.len() / 2]
}

fn secs(f: impl FnOnce()) -> f64 {
    let t = Instant::now();
    f();
    t.elapsed().as_secs_f64()
}

fn main() {
    let mut rounds = 5;
    let mut vgg_size = 256;
    let mut filter = String::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let num = |v: Option<String>| v.and_then(|v| v.parse::<usize>().ok());
        match a.as_str() {
            "--rounds" => rounds = num(args.next()).unwrap_or(rounds).max(1),
            "--vgg-size" => vgg_size = num(args.next()).unwrap_or(vgg_size),
            _ => filter = a,
        }
    }
    static BE: CpuBackend = CpuBackend;
    let layers: Vec<Layer> =
        vgg19(vgg_size).into_iter().chain(unet256()).filter(|l| l.name.contains(&filter)).collect();
    let mut cases = cases(&BE, &layers);

    let n = 2048;
    let a: Vec<f32> = (0..n * n).map(|i| ((i * 7919) % 1000) as f32 / 1000.0 - 0.5).collect();
    let mut c = vec![0.0f32; n * n];
    sgemm(n, &a, &a, &mut c);
    cases.iter().for_each(|c| (c.run)());
    let mut peak = Vec::new();
    let gemm_gf = 2.0 * (n as f64).powi(3) / 1e9;
    for _ in 0..rounds {
        peak.push(gemm_gf / secs(|| sgemm(n, &a, &a, &mut c)));
        for case in cases.iter_mut() {
            case.ms.push(secs(|| (case.run)()) * 1e3);
        }
    }
    let peak = median(&peak);
    println!(
        "sgemm {n}^3: {peak:.1} GFLOP/s ({} threads, median of {rounds}); per case: median of {rounds} rounds\n",
        rayon::current_num_threads()
    );
    println!("| layer | c_in -> c_out @ size | GFLOP | fwd ms | GFLOP/s | % | dgrad ms | GFLOP/s | % | wgrad ms | GFLOP/s | % |");
    println!("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|");
    let mut totals = [0.0f64; 3];
    for (i, l) in layers.iter().enumerate() {
        let gf = l.g.flops() / 1e9;
        let (ci, co, s) =
            if l.kind == Kind::Conv { (l.g.c_in, l.g.c_out, l.g.h) } else { (l.g.c_out, l.g.c_in, l.g.oh) };
        let mut row = format!("| {} | {ci} -> {co} @ {s} | {gf:.3} |", l.name);
        for (j, op) in ["fwd", "dgrad", "wgrad"].iter().enumerate() {
            match cases.iter().find(|c| c.layer == i && c.op == *op) {
                Some(c) => {
                    let ms = median(&c.ms);
                    totals[j] += ms;
                    let gfs = gf / ms * 1e3;
                    row += &format!(" {ms:.2} | {gfs:.1} | {:.0} |", 100.0 * gfs / peak);
                }
                None => row += " - | - | - |",
            }
        }
        println!("{row}");
    }
    println!(
        "\ntotals (sum of medians): fwd {:.1} ms, dgrad {:.1} ms, wgrad {:.1} ms",
        totals[0], totals[1], totals[2]
    );
}
