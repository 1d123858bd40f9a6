//! One style-transfer run: load images and weights, then for each resolution (coarse to
//! fine with `--scales`) compute the targets and optimise the image with L-BFGS or Adam,
//! with a progress bar, periodic prints and intermediate images; finally write the image
//! and its JSON report.

use super::colors::original_colors;
use super::losses::{FeatureNet, Objective, Weights};
use super::options::{Init, OptimizerKind, StyleOptions};
use super::report::{Losses, ScaleReport, StyleReport};
use super::weights::{read_tensors, resolve_vgg_path};
use crate::nn::{Module, Vgg19, VGG19_LAYERS, VGG_MEAN, VGG_STD};
use crate::optim::lbfgs::{LbfgsConfig, LineSearch};
use crate::optim::{Adam, Lbfgs};
use crate::tensor::{Device, Tensor};
use anyhow::{bail, Context, Result};
use image::imageops::{self, FilterType};
use image::Rgb32FImage;
use indicatif::{ProgressBar, ProgressStyle};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// An RGB image as CHW values in [0, 1].
#[derive(Clone, Debug)]
pub struct Pixels {
    pub data: Vec<f32>,
    pub height: usize,
    pub width: usize,
}

impl Pixels {
    pub fn from_image(img: &Rgb32FImage) -> Pixels {
        let (w, h) = (img.width() as usize, img.height() as usize);
        let plane = w * h;
        let mut data = vec![0f32; 3 * plane];
        for (i, p) in img.pixels().enumerate() {
            for c in 0..3 {
                data[c * plane + i] = p.0[c];
            }
        }
        Pixels { data, height: h, width: w }
    }

    pub fn to_image(&self) -> Rgb32FImage {
        let plane = self.height * self.width;
        Rgb32FImage::from_fn(self.width as u32, self.height as u32, |x, y| {
            let i = y as usize * self.width + x as usize;
            image::Rgb([self.data[i], self.data[plane + i], self.data[2 * plane + i]])
        })
    }

    /// Bilinear resize (antialiased when shrinking).
    pub fn resized(&self, height: usize, width: usize) -> Pixels {
        if (height, width) == (self.height, self.width) {
            return self.clone();
        }
        Pixels::from_image(&imageops::resize(
            &self.to_image(),
            width as u32,
            height as u32,
            FilterType::Triangle,
        ))
    }

    pub fn tensor(&self, device: &Device) -> Tensor {
        Tensor::from_f32(&self.data, &[1, 3, self.height, self.width], device)
    }

    /// Writes an 8-bit image, values clamped to [0, 1].
    pub fn save(&self, path: &Path) -> Result<()> {
        let data: Vec<f32> = self.data.iter().map(|v| v.clamp(0.0, 1.0) * 2.0 - 1.0).collect();
        crate::io::image::save_chw(path, &data, 3, self.height, self.width)
    }
}

/// (height, width) with the long side `long`, keeping the aspect ratio.
pub fn fit_long_side(height: usize, width: usize, long: usize) -> (usize, usize) {
    let scale = long as f64 / height.max(width) as f64;
    let h = ((height as f64 * scale).round() as usize).max(1);
    let w = ((width as f64 * scale).round() as usize).max(1);
    (h, w)
}

/// The smallest side an input needs for `layer` to exist: 2^(pools up to it).
pub fn min_side_for(layer: &str) -> usize {
    let i = VGG19_LAYERS.iter().position(|&l| l == layer).expect("layer validated");
    1 << VGG19_LAYERS[..=i].iter().filter(|l| l.starts_with("pool")).count()
}

fn load_image(path: &Path, what: &str) -> Result<Pixels> {
    if !path.is_file() {
        bail!("{what} {}: no such file", path.display());
    }
    let img = crate::io::image::load_rgb32f(path).with_context(|| format!("{what} {}", path.display()))?;
    Ok(Pixels::from_image(&img))
}

/// `dir/out.png` -> `dir/out_<iter>.png`.
pub fn intermediate_path(output: &Path, iter: usize) -> PathBuf {
    let stem = output.file_stem().unwrap_or_default().to_string_lossy();
    let name = match output.extension() {
        Some(ext) => format!("{stem}_{iter}.{}", ext.to_string_lossy()),
        None => format!("{stem}_{iter}"),
    };
    output.with_file_name(name)
}

/// Loads VGG-19 up to the deepest of `layers` from `path`, frozen.
pub fn load_vgg(
    path: &Path,
    layers: &[String],
    pooling: crate::nn::VggPooling,
    device: &Device,
) -> Result<Vgg19> {
    let deepest = layers
        .iter()
        .max_by_key(|l| VGG19_LAYERS.iter().position(|v| v == l))
        .context("no layer requested")?;
    let vgg = Vgg19::new(pooling, deepest, device)?;
    let expected: Vec<(String, Vec<usize>)> =
        vgg.named_parameters().into_iter().map(|(n, t)| (n, t.shape().to_vec())).collect();
    let entries = read_tensors(path, &expected)?;
    vgg.load_from(&entries).with_context(|| format!("{}", path.display()))?;
    vgg.freeze();
    Ok(vgg)
}

/// State shared by the evaluations of a run: counters, progress, prints and saves.
struct Monitor<'a> {
    opts: &'a StyleOptions,
    /// Content at the current resolution, for `--original-colors` of intermediate images.
    content: Pixels,
    bar: ProgressBar,
    evaluations: usize,
    saved: Vec<PathBuf>,
    total_evals: usize,
}

impl Monitor<'_> {
    /// Called after each loss-and-gradient evaluation at `pixels`.
    fn observe(&mut self, losses: &Losses, pixels: &[f32]) -> Result<()> {
        self.evaluations += 1;
        let it = self.evaluations;
        if !losses.is_finite() {
            self.bar.abandon();
            bail!(
                "the loss became non-finite at evaluation {it} ({losses}); stopped without writing {}: lower --beta, --alpha, --tv-weight or --learning-rate",
                self.opts.output.display()
            );
        }
        self.bar.set_position(it.min(self.total_evals) as u64);
        self.bar.set_message(format!("{losses}"));
        if self.opts.print_every > 0 && it.is_multiple_of(self.opts.print_every) {
            let line = format!("Iteration {it} / {}: {losses}", self.total_evals);
            // A closed stdout (`| head`) must not stop the run: the image still gets written.
            self.bar.suspend(|| {
                use std::io::Write;
                let _ = writeln!(std::io::stdout(), "{line}");
            });
        }
        if self.opts.save_every > 0 && it.is_multiple_of(self.opts.save_every) && it < self.total_evals {
            let path = intermediate_path(&self.opts.output, it);
            let img =
                Pixels { data: pixels.to_vec(), height: self.content.height, width: self.content.width };
            finish_pixels(self.opts, &self.content, img).save(&path)?;
            self.saved.push(path);
        }
        Ok(())
    }
}

/// Post-processing of an image for saving: `--original-colors`.
fn finish_pixels(opts: &StyleOptions, content: &Pixels, img: Pixels) -> Pixels {
    if opts.original_colors {
        Pixels { data: original_colors(&content.data, &img.data), ..img }
    } else {
        img
    }
}

/// The starting image at the first resolution.
fn initial_pixels(opts: &StyleOptions, content: &Pixels, init_image: Option<&Pixels>) -> Pixels {
    match &opts.init {
        Init::Content => content.clone(),
        Init::Image(_) => init_image.expect("loaded").resized(content.height, content.width),
        Init::Random => {
            // randn * 0.001 in the network's normalised input space, around the mean colour.
            let plane = content.height * content.width;
            let noise = Tensor::randn(&[3 * plane], opts.seed, 0.0, 1e-3, crate::DType::F32, &Device::cpu())
                .to_vec_f32();
            let data =
                noise.iter().enumerate().map(|(i, z)| VGG_MEAN[i / plane] + VGG_STD[i / plane] * z).collect();
            Pixels { data, height: content.height, width: content.width }
        }
    }
}

/// Optimises `x` in place for `opts.iterations` iterations; returns (iterations, stop reason).
fn optimise(
    opts: &StyleOptions,
    obj: &Objective,
    x: &mut Pixels,
    device: &Device,
    mon: &mut Monitor,
    initial: &mut Option<Losses>,
) -> Result<(usize, String)> {
    let shape = [1, 3, x.height, x.width];
    match opts.optimizer {
        OptimizerKind::Lbfgs => {
            let config = LbfgsConfig {
                lr: 1.0,
                max_iter: opts.iterations,
                // With the line search, --iterations bounds the evaluations (the time).
                // Without it an iteration is one evaluation; PyTorch's default cap of
                // 1.25 * max_iter would round down to max_iter for tiny runs and end them
                // one iteration early.
                max_eval: Some(if opts.line_search {
                    opts.iterations
                } else {
                    (opts.iterations * 5 / 4).max(opts.iterations + 1)
                }),
                // Stop only on exact stagnation (a zero gradient or step, an ascent
                // direction), as the reference does (tolX = tolFun = -1): our losses are
                // means, so gradients are tiny by design, and the first step from a random
                // start is so short that an f32 loss of 1e7 does not change at all.
                tolerance_grad: 0.0,
                tolerance_change: 0.0,
                history_size: opts.lbfgs_history,
                line_search: if opts.line_search { LineSearch::StrongWolfe } else { LineSearch::None },
            };
            let mut lbfgs = Lbfgs::<f32>::new(config);
            let outcome = lbfgs.try_step(&mut x.data, |p| -> Result<(f64, Vec<f32>)> {
                let (losses, grad) = obj.loss_and_grad(p, &shape);
                initial.get_or_insert(losses);
                mon.observe(&losses, p)?;
                Ok((losses.total, grad))
            })?;
            if outcome.reason == crate::optim::lbfgs::StopReason::NonFinite {
                bail!(
                    "L-BFGS stopped at iteration {}: {}; nothing written to {}: lower --beta, --alpha or --tv-weight",
                    outcome.iterations,
                    outcome.reason,
                    opts.output.display()
                );
            }
            Ok((outcome.iterations, outcome.reason.to_string()))
        }
        OptimizerKind::Adam => {
            let img = Tensor::from_f32(&x.data, &shape, device);
            img.set_requires_grad(true);
            let mut adam = Adam::new(vec![img.clone()], opts.learning_rate, 0.9, 0.999);
            let reason = "iteration limit reached".to_string();
            let mut done = 0;
            for _ in 0..opts.iterations {
                let terms = obj.eval(&img);
                let losses = terms.values();
                initial.get_or_insert(losses);
                // Stops the run with an error on a non-finite loss.
                mon.observe(&losses, &img.to_vec_f32())?;
                let grads = terms.total.backward();
                adam.step(&grads);
                done += 1;
            }
            x.data = img.to_vec_f32();
            Ok((done, reason))
        }
    }
}

/// Refuses a run whose estimated memory (at the finest scale) exceeds what the host has
/// (CPU and emulator; a CUDA device reports its own out-of-memory), naming a size that fits.
fn check_memory(
    opts: &StyleOptions,
    layers: &[String],
    sizes: &[(usize, usize)],
    styles: &[Pixels],
    device: &Device,
) -> Result<()> {
    let deepest = layers.iter().filter_map(|l| VGG19_LAYERS.iter().position(|v| v == l)).max().unwrap_or(0);
    let &(h, w) = sizes.last().expect("at least one scale");
    let long = (opts.style_scale * h.max(w) as f64).ceil() as usize;
    let style_sizes: Vec<_> = styles.iter().map(|s| fit_long_side(s.height, s.width, long)).collect();
    let need = super::budget::estimate_bytes(opts, deepest, h, w, &style_sizes);
    if device.name().starts_with("cuda") {
        return Ok(());
    }
    let Some(have) = crate::nn::fit::host_memory_available() else { return Ok(()) };
    if need > have {
        // Memory grows with the area: scale the long side by the square root.
        let fits = (opts.image_size as f64 * (0.9 * have / need).sqrt()) as usize / 16 * 16;
        let gib = |b: f64| format!("{:.1} GiB", b / (1u64 << 30) as f64);
        return Err(crate::check::usage(format!(
            "--image-size {} (output {w}x{h}, style images up to {} px with --style-scale {}) needs about {} (estimated from the shapes), but {} is available: use --image-size {} or less{}",
            opts.image_size,
            long,
            opts.style_scale,
            gib(need),
            gib(have),
            fits.max(16),
            if opts.style_scale > 1.0 { ", or a smaller --style-scale" } else { "" }
        )));
    }
    Ok(())
}

/// Runs style transfer as `opts` says, writes the output image and its JSON report.
pub fn stylize(opts: &StyleOptions, device: &Device) -> Result<StyleReport> {
    let start = Instant::now();
    opts.validate()?;
    let content = load_image(&opts.content, "content image")?;
    let styles = opts.styles.iter().map(|p| load_image(p, "style image")).collect::<Result<Vec<_>>>()?;
    let init_image = match &opts.init {
        Init::Image(p) => Some(load_image(p, "init image")?),
        _ => None,
    };

    // Sizes of every resolution, coarse to fine; each must be large enough for the
    // deepest layer (each pooling halves the size).
    let (h, w) = fit_long_side(content.height, content.width, opts.image_size);
    let sizes: Vec<(usize, usize)> = (0..opts.scales)
        .map(|k| {
            let f = (1usize << (opts.scales - 1 - k)) as f64;
            (((h as f64 / f).round() as usize).max(1), ((w as f64 / f).round() as usize).max(1))
        })
        .collect();
    let layers: Vec<String> = opts.content_layers.iter().chain(&opts.style_layers).cloned().collect();
    let deepest = |ls: &[String]| ls.iter().max_by_key(|l| VGG19_LAYERS.iter().position(|v| v == l)).cloned();
    for (k, &(sh, sw)) in sizes.iter().enumerate() {
        let scale_note =
            if opts.scales > 1 { format!(" (scale {} of {})", k + 1, opts.scales) } else { String::new() };
        if let Some(l) = deepest(&layers) {
            let need = min_side_for(&l);
            if sh.min(sw) < need {
                bail!("image too small for layer {l}: {sw}x{sh}{scale_note}, it needs at least {need} px on each side; raise --image-size or lower --scales");
            }
        }
        if let Some(l) = deepest(&opts.style_layers) {
            let need = min_side_for(&l);
            let long = (opts.style_scale * sh.max(sw) as f64).ceil() as usize;
            for (p, s) in opts.styles.iter().zip(&styles) {
                let (ph, pw) = fit_long_side(s.height, s.width, long);
                if ph.min(pw) < need {
                    bail!("style image {} too small for layer {l}: resized to {pw}x{ph}{scale_note}, it needs at least {need} px on each side; raise --style-scale or --image-size", p.display());
                }
            }
        }
    }

    check_memory(opts, &layers, &sizes, &styles, device)?;

    let vgg_path = resolve_vgg_path(opts.vgg.as_deref())?;
    let vgg = load_vgg(&vgg_path, &layers, opts.pooling, device)?;
    let blend = opts.blend_weights();
    let weights = Weights {
        alpha: opts.alpha,
        beta: opts.beta,
        tv: opts.tv_weight,
        style_layers: opts.layer_weights(),
    };

    let total_evals = opts.iterations * opts.scales;
    let bar = if opts.progress { ProgressBar::new(total_evals as u64) } else { ProgressBar::hidden() };
    bar.set_style(
        ProgressStyle::with_template("{elapsed_precise} [{bar:30}] {pos}/{len} {msg}")
            .expect("valid template")
            .progress_chars("=> "),
    );
    let mut mon =
        Monitor { opts, content: content.clone(), bar, evaluations: 0, saved: Vec::new(), total_evals };

    let mut x: Option<Pixels> = None;
    let mut scale_reports = Vec::new();
    for &(sh, sw) in &sizes {
        let t0 = Instant::now();
        let content_k = content.resized(sh, sw);
        let long = (opts.style_scale * sh.max(sw) as f64).ceil() as usize;
        let style_tensors: Vec<(Tensor, f64)> = styles
            .iter()
            .zip(&blend)
            .map(|(s, &b)| {
                let (ph, pw) = fit_long_side(s.height, s.width, long);
                (s.resized(ph, pw).tensor(device), b)
            })
            .collect();
        let net: &dyn FeatureNet = &vgg;
        let obj = Objective::new(
            net,
            &opts.content_layers,
            &opts.style_layers,
            weights.clone(),
            &content_k.tensor(device),
            &style_tensors,
        );
        let mut pixels = match x.take() {
            None => initial_pixels(opts, &content_k, init_image.as_ref()),
            Some(prev) => prev.resized(sh, sw),
        };
        mon.content = content_k.clone();
        let evals_before = mon.evaluations;
        let mut initial = None;
        let (iterations, reason) = optimise(opts, &obj, &mut pixels, device, &mut mon, &mut initial)?;
        let final_losses = {
            let _guard = crate::autograd::no_grad();
            obj.eval(&pixels.tensor(device)).values()
        };
        scale_reports.push(ScaleReport {
            size: [sh, sw],
            iterations,
            evaluations: mon.evaluations - evals_before,
            seconds: t0.elapsed().as_secs_f64(),
            initial_losses: initial.unwrap_or(final_losses),
            final_losses,
            stop_reason: reason,
        });
        x = Some(pixels);
    }
    mon.bar.finish_and_clear();

    let out = finish_pixels(opts, &mon.content, x.expect("at least one scale"));
    out.save(&opts.output)?;
    let last = scale_reports.last().expect("at least one scale");
    let report = StyleReport {
        content: opts.content.clone(),
        styles: opts.styles.clone(),
        style_blend_weights: blend,
        output: opts.output.clone(),
        vgg: vgg_path,
        device: device.name(),
        optimizer: opts.optimizer.name().to_string(),
        alpha: opts.alpha,
        beta: opts.beta,
        tv_weight: opts.tv_weight,
        content_layers: opts.content_layers.clone(),
        style_layers: opts.style_layers.clone(),
        style_layer_weights: opts.layer_weights(),
        seed: opts.seed,
        size: [out.height, out.width],
        iterations: scale_reports.iter().map(|s| s.iterations).sum(),
        evaluations: mon.evaluations,
        seconds: 0.0,
        final_losses: last.final_losses,
        stop_reason: last.stop_reason.clone(),
        scales: scale_reports,
        saved: mon.saved,
    };
    let report = StyleReport { seconds: start.elapsed().as_secs_f64(), ..report };
    report.write_json()?;
    Ok(report)
}
