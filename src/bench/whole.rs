//! Whole-workload benches: one pix2pix training step (G forward, D forward on fake and
//! real pairs, both backwards, both Adam updates), one style iteration (VGG-19 forward
//! to relu5_1 with Gram/content/TV losses and the gradient w.r.t. the image), and the
//! U-Net forward pass (eval, no grad). Each reports the median time, throughput, achieved
//! TFLOP/s from the work of `shapes`, peak memory, and kernel launches per call.

use super::shapes;
use super::timing::Stats;
use super::Target;
use crate::autograd::no_grad;
use crate::backend::device::launch::launch_count;
use crate::backend::DType;
use crate::nn::init::init_parameters;
use crate::nn::{parse_netg, Module, Vgg19, VggPooling};
use crate::pix2pix::model::Pix2Pix;
use crate::pix2pix::options::TrainOptions;
use crate::style::losses::{Objective, Weights};
use crate::tensor::Tensor;
use anyhow::{bail, Context, Result};
use clap::Parser;
use serde::Serialize;

#[derive(Clone, Debug, Serialize)]
pub struct WholeResult {
    /// "pix2pix-step", "style-iter", "unet-forward".
    pub bench: String,
    pub device: String,
    /// Of the convolutions.
    pub precision: String,
    pub config: String,
    pub size: usize,
    pub stats: Stats,
    /// Images (or iterations) per second at the median.
    pub per_second: f64,
    pub unit: String,
    /// Work per call, GFLOP (multiply-add = 2).
    pub gflop: f64,
    pub tflops: f64,
    pub peak_bytes: Option<usize>,
    pub peak_what: Option<String>,
    /// Kernel launches per call (device backend).
    pub launches: Option<u64>,
}

/// Sampling of a whole workload: `iters` timed calls after `warmup` untimed ones.
#[derive(Clone, Copy, Debug)]
pub struct Reps {
    pub warmup: usize,
    pub iters: usize,
}

/// Runs `call(i)` `warmup` times, counts the launches of one more call, then times
/// `iters` calls one by one (each its own sample: a step is long enough for events or
/// the wall clock).
fn time_calls(
    target: &Target,
    reps: Reps,
    call: &mut dyn FnMut(usize),
) -> (Stats, Option<u64>, Option<(usize, &'static str)>) {
    let mut k = 0;
    for _ in 0..reps.warmup.max(1) {
        call(k);
        k += 1;
    }
    target.synchronize();
    let before = launch_count();
    call(k);
    k += 1;
    target.synchronize();
    let launches = target.runtime.is_some().then(|| launch_count() - before);
    let _ = target.take_peak_bytes(); // the peak of the timed calls only
    let mut samples = Vec::with_capacity(reps.iters);
    for _ in 0..reps.iters.max(1) {
        samples.push(target.time_ms(&mut || call(k)));
        k += 1;
    }
    target.synchronize();
    (Stats::from_samples(samples, 1), launches, target.take_peak_bytes())
}

fn result(
    bench: &str,
    target: &Target,
    config: String,
    size: usize,
    flops: f64,
    unit: &str,
    timed: (Stats, Option<u64>, Option<(usize, &'static str)>),
) -> WholeResult {
    let (stats, launches, peak) = timed;
    WholeResult {
        bench: bench.into(),
        device: target.kind.to_string(),
        precision: target.precision.to_string(),
        config,
        size,
        per_second: 1e3 / stats.median_ms,
        unit: unit.into(),
        gflop: flops / 1e9,
        tflops: flops / (stats.median_ms * 1e-3) / 1e12,
        stats,
        peak_bytes: peak.map(|p| p.0),
        peak_what: peak.map(|p| p.1.to_string()),
        launches,
    }
}

/// Random image pairs in [-1, 1], a few of them so successive calls see other data.
fn images(target: &Target, count: usize, c: usize, size: usize, seed: u64) -> Vec<Tensor> {
    (0..count as u64)
        .map(|i| Tensor::rand_uniform(&[1, c, size, size], seed + i, -1.0, 1.0, DType::F32, &target.device))
        .collect()
}

#[derive(Parser)]
struct TrainArgs {
    #[command(flatten)]
    o: TrainOptions,
}

/// The reference pix2pix options (unet_256 by default, PatchGAN n3, batch norm, dropout,
/// vanilla GAN, lambda_L1 100, Adam 2e-4 / 0.5) with another generator.
fn pix2pix_options(netg: &str) -> Result<TrainOptions> {
    Ok(TrainArgs::try_parse_from(["bench", "--netg", netg])?.o)
}

/// One full pix2pix training step at batch 1 on size x size.
pub fn pix2pix_step(target: &Target, netg: &str, size: usize, reps: Reps) -> Result<WholeResult> {
    let o = pix2pix_options(netg)?;
    let num_downs = parse_netg(netg)?;
    if !size.is_multiple_of(1 << num_downs) {
        bail!("--size {size} must be a multiple of {} for {netg}", 1 << num_downs);
    }
    if size < 32 {
        bail!("--size {size}: PatchGAN n3 needs at least 32x32");
    }
    let mut model = Pix2Pix::new(&o, &target.device).context("building pix2pix")?;
    let a = images(target, 3, 3, size, 100);
    let b = images(target, 3, 3, size, 200);
    let timed = time_calls(target, reps, &mut |i| {
        drop(model.step(&a[i % a.len()], &b[i % b.len()]));
    });
    let g = shapes::unet("g", size, 3, 3, num_downs, o.ngf);
    let d = shapes::patchgan("d", size, 6, o.ndf, 3);
    let flops = shapes::pix2pix_step_flops(&g, &d);
    Ok(result(
        "pix2pix-step",
        target,
        format!("{netg} + PatchGAN n3, batch norm, batch 1, {size}x{size}, Adam"),
        size,
        flops,
        "images",
        timed,
    ))
}

/// neural-style's layers: style at relu1_1 .. relu5_1, content at relu4_2.
const STYLE_LAYERS: [&str; 5] = ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"];
const CONTENT_LAYER: &str = "relu4_2";

/// One style iteration at size x size, as `engine stylize` evaluates it (`style::losses::
/// Objective`): VGG-19 (random He-normal weights, frozen) on the ImageNet-normalised image
/// to relu5_1, MSE between Gram matrices and style targets at the five style layers,
/// content MSE at relu4_2, total variation, and the gradient w.r.t. the image (kept on
/// the device: no host transfer in the timed call).
pub fn style_iter(target: &Target, size: usize, reps: Reps) -> Result<WholeResult> {
    if size < 16 || !size.is_multiple_of(16) {
        bail!("--size {size}: VGG-19 to relu5_1 needs a multiple of 16");
    }
    let vgg = Vgg19::new(VggPooling::Max, "relu5_1", &target.device)?;
    init_parameters(&vgg, 7);
    vgg.freeze();
    let style_layers: Vec<String> = STYLE_LAYERS.iter().map(|s| s.to_string()).collect();
    let weights = Weights { alpha: 5.0, beta: 100.0, tv: 1e-3, style_layers: vec![1.0; STYLE_LAYERS.len()] };
    let unit = |seed| Tensor::rand_uniform(&[1, 3, size, size], seed, 0.0, 1.0, DType::F32, &target.device);
    let (content, style) = (unit(400), unit(300));
    let objective =
        Objective::new(&vgg, &[CONTENT_LAYER.to_string()], &style_layers, weights, &content, &[(style, 1.0)]);
    let xs: Vec<Tensor> = (0..3).map(|i| unit(500 + i)).collect();
    for x in &xs {
        x.set_requires_grad(true);
    }
    let timed = time_calls(target, reps, &mut |i| {
        let x = &xs[i % xs.len()];
        let grads = objective.eval(x).total.backward();
        drop(grads.get(x).expect("the image has a gradient").clone());
    });
    let flops = shapes::style_iter_flops(&shapes::vgg19("v", size, 1));
    Ok(result(
        "style-iter",
        target,
        format!("VGG-19 to relu5_1, 5 Gram + content + TV losses, grad w.r.t. the image, {size}x{size}"),
        size,
        flops,
        "iterations",
        timed,
    ))
}

/// The U-Net generator forward pass in eval mode without gradients, batch 1.
pub fn unet_forward(target: &Target, netg: &str, size: usize, reps: Reps) -> Result<WholeResult> {
    let o = pix2pix_options(netg)?;
    let num_downs = parse_netg(netg)?;
    if !size.is_multiple_of(1 << num_downs) {
        bail!("--size {size} must be a multiple of {} for {netg}", 1 << num_downs);
    }
    let mut g = crate::pix2pix::model::Arch::from_options(&o).generator(1, &target.device)?;
    g.eval();
    let xs = images(target, 3, 3, size, 600);
    let _guard = no_grad();
    let timed = time_calls(target, reps, &mut |i| drop(g.forward(&xs[i % xs.len()])));
    let flops = shapes::forward_flops(&shapes::unet("g", size, 3, 3, num_downs, o.ngf));
    Ok(result(
        "unet-forward",
        target,
        format!("{netg}, batch norm (eval), no grad, batch 1, {size}x{size}"),
        size,
        flops,
        "images",
        timed,
    ))
}

/// Warm-up and timed calls: few on the CPU and the emulator (a step takes seconds there).
pub fn default_reps(target: &Target, short: bool) -> Reps {
    if short {
        Reps { warmup: 1, iters: 3 }
    } else if target.is_cuda() {
        Reps { warmup: 3, iters: 20 }
    } else {
        Reps { warmup: 1, iters: 5 }
    }
}
