//! `cargo bench --bench unet_forward [-- ITERS]`: U-Net 256 forward (eval, no grad) at
//! batch 1, 256x256 on the CPU: the median of ITERS runs (default 5) in ms and GFLOP/s
//! against the 12.1 GFLOP the pass must do.

use engine::bench::whole::{unet_forward, Reps};
use engine::bench::{report, Target};

fn main() {
    let iters = std::env::args().skip(1).find_map(|a| a.parse::<usize>().ok()).unwrap_or(5);
    let r = unet_forward(&Target::cpu(), "unet_256", 256, Reps { warmup: 1, iters })
        .unwrap_or_else(|e| panic!("{e:#}"));
    println!("{}", report::whole_text(&r));
    println!(
        "unet_256 forward, cpu: {:.1} ms median, {:.1} GFLOP/s ({:.2} GFLOP)",
        r.stats.median_ms,
        r.gflop / (r.stats.median_ms / 1e3),
        r.gflop
    );
}
