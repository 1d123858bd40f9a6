//! `engine test-cyclegan`: both generators over testA/testB (serial pairs, the reference's
//! test.py preprocessing), writing `results/NAME/test_<epoch>/images/<stem>_{real_A,
//! fake_B, rec_A, real_B, fake_A, rec_B}.png` and an `index.html`. The options saved by
//! training are read back, so flags need not be repeated.

use super::dataset::{batch_unpaired, UnalignedDataset};
use super::model::{CycleArch, Net};
use super::options::CycleOptions;
use crate::autograd::no_grad;
use crate::nn::Module;
use crate::pix2pix::checkpoint::{load_generator, net_path};
use crate::pix2pix::eval::save_first;
use crate::pix2pix::html::write_sections_page;
use crate::pix2pix::rng::Rng;
use crate::tensor::Device;
use anyhow::{Context, Result};
use std::path::PathBuf;

#[derive(Clone, Debug)]
pub struct CycleTestOptions {
    pub name: String,
    pub dataroot: Option<PathBuf>,
    pub checkpoints_dir: PathBuf,
    pub results_dir: PathBuf,
    pub phase: String,
    pub epoch: String,
    pub num_test: usize,
    pub eval: bool,
}

pub const TEST_LABELS: [&str; 6] = ["real_A", "fake_B", "rec_A", "real_B", "fake_A", "rec_B"];

/// Returns the results folder and the number of images translated.
pub fn test_cyclegan(t: &CycleTestOptions, device: &Device) -> Result<(PathBuf, usize)> {
    let dir = t.checkpoints_dir.join(&t.name);
    let opt_path = dir.join("train_opt.json");
    let text = std::fs::read_to_string(&opt_path).with_context(|| {
        format!("cannot read {} (was '{}' trained with train-cyclegan here?)", opt_path.display(), t.name)
    })?;
    let mut o: CycleOptions = serde_json::from_str(&text)
        .with_context(|| format!("{}: not the options of a CycleGAN run", opt_path.display()))?;
    if let Some(root) = &t.dataroot {
        o.dataroot = Some(root.clone());
    }
    let data = UnalignedDataset::open(&o, &t.phase, true)?;
    let arch = CycleArch::from_options(&o);
    let load = |net: Net| -> Result<_> {
        let (_, mut g) =
            load_generator(&net_path(&dir, &t.epoch, net.name()), &arch.generator_arch(net), device)?;
        g.set_training(!t.eval);
        Ok(g)
    };
    let (g_a, g_b) = (load(Net::GA)?, load(Net::GB)?);
    let out = t.results_dir.join(&t.name).join(format!("{}_{}", t.phase, t.epoch));
    let images = out.join("images");
    std::fs::create_dir_all(&images).with_context(|| format!("cannot create {}", images.display()))?;
    let _guard = no_grad();
    let mut rng = Rng::new(0);
    let count = t.num_test.min(data.len());
    let mut sections = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for i in 0..count {
        let s = data.get(i, &mut rng)?;
        // A is read modulo its size: a second visit of the same file gets its index.
        let mut stem = s.stem();
        if !seen.insert(stem.clone()) {
            stem = format!("{stem}_{i}");
        }
        let (real_a, real_b) = batch_unpaired(std::slice::from_ref(&s), device)?;
        let fake_b = g_a.forward(&real_a);
        let rec_a = g_b.forward(&fake_b);
        let fake_a = g_b.forward(&real_b);
        let rec_b = g_a.forward(&fake_a);
        let mut cells = Vec::new();
        for (label, img) in TEST_LABELS.iter().zip([&real_a, &fake_b, &rec_a, &real_b, &fake_a, &rec_b]) {
            let file = format!("{stem}_{label}.png");
            save_first(&images.join(&file), img)?;
            cells.push((format!("images/{file}"), label.to_string()));
        }
        sections.push((stem, cells));
    }
    write_sections_page(&out, &format!("{} ({}, {})", t.name, t.phase, t.epoch), None, "", &sections)?;
    Ok((out, count))
}
