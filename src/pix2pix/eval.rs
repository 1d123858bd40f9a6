//! Running a generator over a dataset: the images of `test-pix2pix` and the L1 / PSNR
//! figures against the targets (PSNR on pixels in [0, 1], averaged over images).

use super::dataset::AlignedDataset;
use super::html::TestRow;
use super::rng::Rng;
use crate::autograd::no_grad;
use crate::io::image::save_chw;
use crate::metrics::ssim;
use crate::nn::Module;
use crate::tensor::{Device, Tensor};
use anyhow::Result;
use std::path::Path;

#[derive(Clone, Debug)]
pub struct EvalResult {
    pub count: usize,
    /// Mean absolute error in [-1, 1] pixel units (the L1 of the training objective).
    pub l1: f64,
    /// Mean PSNR in dB with pixels in [0, 1].
    pub psnr: f64,
    pub rows: Vec<TestRow>,
}

/// (L1 in [-1, 1] units, PSNR in dB) of one image against its target.
pub fn l1_psnr(fake: &[f32], real: &[f32]) -> (f64, f64) {
    let n = fake.len() as f64;
    let l1 = fake.iter().zip(real).map(|(a, b)| (a - b).abs() as f64).sum::<f64>() / n;
    // Pixels in [0, 1] are (x + 1) / 2, so the squared error is a quarter.
    let mse = fake.iter().zip(real).map(|(a, b)| ((a - b) as f64 / 2.0).powi(2)).sum::<f64>() / n;
    let psnr = if mse == 0.0 { 100.0 } else { 10.0 * (1.0 / mse).log10() };
    (l1, psnr)
}

/// Translates up to `limit` images of `data`; with `out`, writes `<stem>_{real_A,fake_B,real_B}.png`.
pub fn evaluate(
    g: &dyn Module,
    data: &AlignedDataset,
    out: Option<&Path>,
    device: &Device,
    limit: Option<usize>,
) -> Result<EvalResult> {
    let _guard = no_grad();
    let mut rng = Rng::new(0);
    let count = limit.unwrap_or(usize::MAX).min(data.len());
    let (mut l1_sum, mut psnr_sum) = (0.0, 0.0);
    let mut rows = Vec::new();
    for i in 0..count {
        let s = data.get(i, &mut rng)?;
        let a = Tensor::from_f32(&s.a, &[1, s.c_a, s.h, s.w], device);
        let b = Tensor::from_f32(&s.b, &[1, s.c_b, s.h, s.w], device);
        let fake = g.forward(&a);
        let fake_v = fake.to_vec_f32();
        let (l1, psnr) = l1_psnr(&fake_v, &s.b);
        l1_sum += l1;
        psnr_sum += psnr;
        let stem = s.stem();
        if let Some(dir) = out {
            save_first(&dir.join(format!("{stem}_real_A.png")), &a)?;
            save_first(&dir.join(format!("{stem}_fake_B.png")), &fake)?;
            save_first(&dir.join(format!("{stem}_real_B.png")), &b)?;
        }
        let structural = (fake_v.len() == s.b.len()).then(|| ssim(&fake_v, &s.b, s.c_b, s.h, s.w));
        rows.push(TestRow { stem, l1: Some(l1), psnr: Some(psnr), ssim: structural });
    }
    let n = count.max(1) as f64;
    Ok(EvalResult { count, l1: l1_sum / n, psnr: psnr_sum / n, rows })
}

/// Saves the first image of a batch (CHW in [-1, 1]) as a PNG.
pub fn save_first(path: &Path, t: &Tensor) -> Result<()> {
    let (_, c, h, w) = t.dims4();
    let data = t.to_vec_f32();
    save_chw(path, &data[..c * h * w], c, h, w)
}
