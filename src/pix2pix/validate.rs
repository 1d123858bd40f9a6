//! Up-front checks of a pix2pix training run: every option, the model against the input
//! sizes the preprocessing produces, and a memory estimate from the shapes, all before
//! anything is built or written. Each failure is one line saying what would work.

use super::options::TrainOptions;
use super::preprocess::Preprocess;
use crate::check::{self, usage};
use crate::nn::fit;
use crate::nn::parse_netg;
use crate::tensor::Device;
use anyhow::Result;

/// Every option on its own and in combination (nothing read, nothing built).
pub fn validate_options(o: &TrainOptions) -> Result<()> {
    check::at_least("--batch-size", o.batch_size, 1)?;
    // Channel counts above 2^16 would only ask for absurd allocations.
    check::in_range("--ngf", o.ngf, 1, 1 << 16)?;
    check::in_range("--ndf", o.ndf, 1, 1 << 16)?;
    for (flag, nc) in [("--input-nc", o.input_nc), ("--output-nc", o.output_nc)] {
        if nc != 1 && nc != 3 {
            return Err(usage(format!("{flag} {nc}: images have 1 (grayscale) or 3 (RGB) channels")));
        }
    }
    parse_netg(&o.netg).map_err(|e| usage(e.to_string()))?;
    match o.netd.as_str() {
        "basic" | "pixel" => {}
        "n_layers" => check::in_range("--n-layers-d", o.n_layers_d, 1, 16)?,
        other => return Err(usage(format!("--netd {other}: expected basic, n_layers or pixel"))),
    }
    check::positive("--lr", o.lr)?;
    check::in_unit_interval("--beta1", o.beta1)?;
    check::non_negative("--lambda-l1", o.lambda_l1)?;
    check::at_least("--epoch-count", o.epoch_count, 1)?;
    let last = o.n_epochs + o.n_epochs_decay;
    if !o.continue_train && o.epoch_count > last {
        return Err(usage(format!(
            "--epoch-count {} is after the last epoch ({} = --n-epochs {} + --n-epochs-decay {}): nothing would be trained",
            o.epoch_count, last, o.n_epochs, o.n_epochs_decay
        )));
    }
    let p = super::train::dataset_options(o).preprocess;
    p.validate().map_err(|e| usage(e.to_string()))?;
    // Sizes known without reading an image: the crop, or the width of scale_width.
    match o.preprocess {
        Preprocess::ResizeAndCrop | Preprocess::Crop | Preprocess::ScaleWidthAndCrop => {
            let c = o.crop_size as usize;
            check_input_size(o, c, c, &format!("--crop-size {c} gives {c}x{c} inputs"))?;
        }
        Preprocess::ScaleWidth => {
            let w = o.load_size as usize;
            check_width(o, w, &format!("--load-size {w} (the width with --preprocess scale_width)"))?;
        }
        Preprocess::None => {}
    }
    Ok(())
}

fn stride(o: &TrainOptions) -> Result<usize> {
    Ok(1 << parse_netg(&o.netg).map_err(|e| usage(e.to_string()))?)
}

/// The generator's constraint on one side (for scale_width, whose heights vary).
fn check_width(o: &TrainOptions, w: usize, what: &str) -> Result<()> {
    let m = stride(o)?;
    if w < m || !w.is_multiple_of(m) {
        let fix = match fit::largest_unet_for(w, w) {
            Some(n) => format!("use --load-size {} or --netg unet_{n}", (w / m * m).max(m)),
            None => format!("use --load-size {} (a multiple of {m})", (w / m * m).max(m)),
        };
        return Err(usage(format!(
            "--netg {} needs image sides that are multiples of {m}, but {what}: {fix}",
            o.netg
        )));
    }
    Ok(())
}

/// Whether G and D take a `w` x `h` input; `what` says where the size comes from.
pub fn check_input_size(o: &TrainOptions, w: usize, h: usize, what: &str) -> Result<()> {
    let m = stride(o)?;
    if !fit::unet_accepts(m.trailing_zeros() as usize, h, w) {
        let crop = if matches!(o.preprocess, Preprocess::None | Preprocess::ScaleWidth) {
            "--preprocess resize_and_crop --crop-size"
        } else {
            "--crop-size"
        };
        let fix = match fit::largest_unet_for(h, w) {
            Some(n) => format!("use {crop} {} or --netg unet_{n}", m.max(h.max(w) / m * m)),
            None => format!("use {crop} {m} (a multiple of {m}); unet_32 is the smallest generator"),
        };
        return Err(usage(format!(
            "--netg {} needs image sides that are multiples of {m}, but {what}: {fix}",
            o.netg
        )));
    }
    let n_layers = match o.netd.as_str() {
        "basic" => 3,
        "n_layers" => o.n_layers_d,
        _ => return Ok(()),
    };
    if fit::patchgan_output_side(h.min(w), n_layers).is_none() {
        let deepest = fit::deepest_patchgan_for(h.min(w));
        let fix = if deepest >= 1 {
            format!("use --netd n_layers --n-layers-d {deepest} or larger images")
        } else {
            "use larger images or --netd pixel".into()
        };
        return Err(usage(format!(
            "the discriminator ({} layers) needs sides of at least {} px, but {what}: {fix}",
            n_layers,
            fit::patchgan_min_side(n_layers)
        )));
    }
    Ok(())
}

/// Bytes a training step needs for `w` x `h` inputs, estimated from the shapes: weights,
/// gradients and both Adam moments of G and D, plus the activations kept for backward
/// (G once, D three times) and their gradients.
pub fn estimate_bytes(o: &TrainOptions, w: usize, h: usize) -> f64 {
    let downs = parse_netg(&o.netg).unwrap_or(8);
    let nc = o.input_nc + o.output_nc;
    let (d_weights, d_act) = match o.netd.as_str() {
        "pixel" => ((nc * o.ndf + 2 * o.ndf * o.ndf + 2 * o.ndf) as f64, 4.0 * o.ndf as f64 * (h * w) as f64),
        other => {
            let n = if other == "basic" { 3 } else { o.n_layers_d };
            (fit::patchgan_weights(nc, o.ndf, n), fit::patchgan_activations(o.ndf, n, h, w))
        }
    };
    let weights = fit::unet_weights(o.input_nc, o.output_nc, downs, o.ngf) + d_weights;
    let acts = fit::unet_activations(downs, o.ngf, h, w) + 3.0 * d_act;
    4.0 * (4.0 * weights + 2.0 * o.batch_size as f64 * acts)
}

/// Refuses a run whose estimate exceeds the memory available (known for the host only:
/// the CPU and the emulator).
pub fn check_memory(o: &TrainOptions, w: usize, h: usize, device: &Device) -> Result<()> {
    let need = estimate_bytes(o, w, h);
    if device.name().starts_with("cuda") {
        return Ok(());
    }
    if let Some(have) = fit::host_memory_available() {
        if need > have {
            return Err(usage(format!(
                "training {} (--ngf {}) with {} (--ndf {}) on {w}x{h} images, batch {}, needs about {} (estimated from the shapes), but {} is available: lower --batch-size, --crop-size, --ngf or --ndf",
                o.netg, o.ngf, o.netd, o.ndf, o.batch_size, gib(need), gib(have)
            )));
        }
    }
    Ok(())
}

pub fn gib(bytes: f64) -> String {
    format!("{:.1} GiB", bytes / (1u64 << 30) as f64)
}
