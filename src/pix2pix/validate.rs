//! Up-front checks of a pix2pix training run: every option, the model against the input
//! sizes the preprocessing produces, and a memory estimate from the shapes, all before
//! anything is built or written. Each failure is one line saying what would work.

use super::options::TrainOptions;
use super::preprocess::Preprocess;
use crate::check::{self, usage};
use crate::nn::fit;
use crate::nn::{parse_netd, DiscriminatorKind, NetG};
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
    netg(o)?;
    if o.netd == "n_layers" {
        check::in_range("--n-layers-d", o.n_layers_d, 1, 16)?;
    }
    netd(o)?;
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
    let p = super::dataset::dataset_options(o).preprocess;
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

fn netg(o: &TrainOptions) -> Result<NetG> {
    NetG::parse(&o.netg).map_err(|e| usage(format!("--netg {}: {e}", o.netg)))
}

fn netd(o: &TrainOptions) -> Result<DiscriminatorKind> {
    parse_netd(&o.netd, o.n_layers_d).map_err(|e| usage(format!("--netd {}: {e}", o.netd)))
}

fn stride(o: &TrainOptions) -> Result<usize> {
    Ok(netg(o)?.multiple())
}

/// A generator of the same family that takes `h` x `w`, if the family has one.
fn other_generator(g: NetG, h: usize, w: usize) -> Option<String> {
    let n = fit::largest_unet_for(h, w)?;
    match g {
        NetG::Unet { .. } => Some(format!("unet_{n}")),
        NetG::EncoderDecoder { .. } => Some(format!("encoder_decoder_{n}")),
        NetG::Resnet { .. } => None,
    }
}

/// The generator's constraint on one side (for scale_width, whose heights vary).
fn check_width(o: &TrainOptions, w: usize, what: &str) -> Result<()> {
    let m = stride(o)?;
    if w < m || !w.is_multiple_of(m) {
        let fix = match other_generator(netg(o)?, w, w) {
            Some(n) => format!("use --load-size {} or --netg {n}", (w / m * m).max(m)),
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
    let g = netg(o)?;
    let m = g.multiple();
    let min = g.min_size();
    if h < min || w < min || !h.is_multiple_of(m) || !w.is_multiple_of(m) {
        let crop = if matches!(o.preprocess, Preprocess::None | Preprocess::ScaleWidth) {
            "--preprocess resize_and_crop --crop-size"
        } else {
            "--crop-size"
        };
        let fix = match other_generator(g, h, w) {
            Some(n) => format!("use {crop} {} or --netg {n}", min.max(h.max(w) / m * m)),
            None => format!("use {crop} {} (a multiple of {m}, at least {min})", min.max(h.max(w) / m * m)),
        };
        return Err(usage(format!(
            "--netg {} needs image sides that are multiples of {m}, but {what}: {fix}",
            o.netg
        )));
    }
    let DiscriminatorKind::NLayer(n_layers) = netd(o)? else { return Ok(()) };
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
    let nc = o.input_nc + o.output_nc;
    let (d_weights, d_act) = match netd(o).unwrap_or(DiscriminatorKind::NLayer(3)) {
        DiscriminatorKind::Pixel => {
            ((nc * o.ndf + 2 * o.ndf * o.ndf + 2 * o.ndf) as f64, 4.0 * o.ndf as f64 * (h * w) as f64)
        }
        DiscriminatorKind::NLayer(n) => {
            (fit::patchgan_weights(nc, o.ndf, n), fit::patchgan_activations(o.ndf, n, h, w))
        }
    };
    let (g_weights, g_act) = match netg(o).unwrap_or(NetG::Unet { num_downs: 8 }) {
        NetG::Unet { num_downs } | NetG::EncoderDecoder { num_downs } => (
            fit::unet_weights(o.input_nc, o.output_nc, num_downs, o.ngf),
            fit::unet_activations(num_downs, o.ngf, h, w),
        ),
        NetG::Resnet { n_blocks } => (
            fit::resnet_weights(o.input_nc, o.output_nc, n_blocks, o.ngf),
            fit::resnet_activations(n_blocks, o.ngf, h, w),
        ),
    };
    let weights = g_weights + d_weights;
    let acts = g_act + 3.0 * d_act;
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
