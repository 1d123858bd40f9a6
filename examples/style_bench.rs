//! One forward + backward (gradient w.r.t. the image) of VGG-19 to relu5_1, as one
//! style-transfer evaluation does, at a given size on the CPU:
//! `cargo run --release --example style_bench -- [SIZE] [REPEATS]` (default 512, 3).
//! Reference work (../shared/reference/README.md): 397 GFLOP at 512x512, 99 at 256x256.

use engine::nn::{init, Module, Vgg19, VggPooling};
use engine::style::losses::{FeatureNet, Objective, Weights};
use engine::{DType, Device, Tensor};
use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let size: usize = args.next().map_or(512, |s| s.parse().expect("SIZE"));
    let repeats: usize = args.next().map_or(3, |s| s.parse().expect("REPEATS"));
    let dev = Device::cpu();
    let vgg = Vgg19::new(VggPooling::Max, "relu5_1", &dev).unwrap();
    init::init_parameters(&vgg, 1);
    vgg.freeze();
    let img = |seed| Tensor::rand_uniform(&[1, 3, size, size], seed, 0.0, 1.0, DType::F32, &dev);
    let layers = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let net: &dyn FeatureNet = &vgg;
    let obj = Objective::new(
        net,
        &layers(&["relu4_2"]),
        &layers(&["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"]),
        Weights { alpha: 1.0, beta: 1e5, tv: 1e2, style_layers: vec![1.0; 5] },
        &img(2),
        &[(img(3), 1.0)],
    );
    let x = img(4).to_vec_f32();
    let shape = [1, 3, size, size];
    let mut times = Vec::new();
    for _ in 0..repeats {
        let t = Instant::now();
        let (losses, grad) = obj.loss_and_grad(&x, &shape);
        times.push(t.elapsed().as_secs_f64());
        assert!(losses.total.is_finite() && grad.len() == x.len());
    }
    times.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let median = times[times.len() / 2];
    // Conv work scales with the pixel count: 397 GFLOP at 512x512.
    let gflop = 397.0 * (size * size) as f64 / (512.0 * 512.0);
    println!("VGG-19 to relu5_1, forward + input gradient, {size}x{size}: median {median:.3} s of {repeats} ({:.0} GFLOP/s on {gflop:.0} GFLOP); all: {times:.3?}", gflop / median);
}
