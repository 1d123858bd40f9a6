//! Up-front checks of a CycleGAN run, before anything is built or written: the options
//! (through pix2pix's checks of the same flags, plus the cycle weights), the model against
//! every input size both folders give, and a memory estimate. Each failure is one line.

use super::dataset::UnalignedDataset;
use super::options::CycleOptions;
use crate::check::{self, usage};
use crate::nn::fit;
use crate::pix2pix::validate::{check_input_size, estimate_bytes, gib, validate_options};
use crate::tensor::Device;
use anyhow::Result;

pub fn validate_cycle_options(o: &CycleOptions) -> Result<()> {
    validate_options(&o.as_pix2pix())?;
    check::non_negative("--lambda-a", o.lambda_a)?;
    check::non_negative("--lambda-b", o.lambda_b)?;
    check::non_negative("--lambda-identity", o.lambda_identity)?;
    check::in_range("--pool-size", o.pool_size, 0, 1 << 16)?;
    Ok(())
}

/// Every size after preprocessing against G and D, one size per batch, and the memory.
pub fn check_dataset_sizes(o: &CycleOptions, data: &UnalignedDataset, device: &Device) -> Result<()> {
    let p = o.as_pix2pix();
    let sizes = data.output_sizes();
    for (&(w, h), path) in &sizes {
        let what = format!("{} gives {w}x{h} after --preprocess {}", path.display(), o.preprocess);
        check_input_size(&p, w as usize, h as usize, &what)?;
    }
    if o.batch_size > 1 && sizes.len() > 1 {
        return Err(usage(format!(
            "--batch-size {}: images differ in size after preprocessing ({} sizes): use --batch-size 1 or a cropping --preprocess",
            o.batch_size,
            sizes.len()
        )));
    }
    let Some((&(w, h), _)) = sizes.iter().max_by_key(|((w, h), _)| *w as u64 * *h as u64) else {
        return Ok(());
    };
    if device.kind().is_cuda() {
        return Ok(());
    }
    // Two generators and two discriminators, each generator run three times per step.
    let need = 3.0 * estimate_bytes(&p, w as usize, h as usize);
    if let Some(have) = fit::host_memory_available() {
        if need > have {
            return Err(usage(format!(
                "training CycleGAN with {} (--ngf {}) on {w}x{h} images, batch {}, needs about {} (estimated from the shapes), but {} is available: lower --batch-size, --crop-size or --ngf",
                o.netg, o.ngf, o.batch_size, gib(need), gib(have)
            )));
        }
    }
    Ok(())
}
