//! `engine test-pix2pix` and `engine translate`: inference with a trained generator.
//! test-pix2pix reads the architecture and data options saved by training, so flags need
//! not be repeated; it writes `results/NAME/test_<epoch>/images/` and an `index.html`.

use super::checkpoint::{load_generator, net_path};
use super::compare::colour_report;
use super::dataset::open_dataset;
use super::eval::{evaluate, EvalResult};
use super::html::write_test_page_with;
use super::model::Arch;
use super::options::{NormKind, TrainOptions};
use super::preprocess::Preprocess;
use crate::autograd::no_grad;
use crate::io::image::{load_chw, save_chw};
use crate::nn::Module;
use crate::tensor::{Device, Tensor};
use anyhow::{bail, Context, Result};
use clap::Args;
use std::path::{Path, PathBuf};

#[derive(Args, Clone, Debug)]
pub struct TestOptions {
    /// Experiment name (the folder under --checkpoints-dir).
    #[arg(long)]
    pub name: String,
    /// Dataset root; defaults to the one used for training.
    #[arg(long)]
    pub dataroot: Option<PathBuf>,
    #[arg(long, default_value = "./checkpoints")]
    pub checkpoints_dir: PathBuf,
    #[arg(long, default_value = "./results")]
    pub results_dir: PathBuf,
    /// test or val.
    #[arg(long, default_value = "test")]
    pub phase: String,
    /// Which checkpoint: latest or an epoch number.
    #[arg(long, default_value = "latest")]
    pub epoch: String,
    /// How many images to translate.
    #[arg(long, default_value_t = 50)]
    pub num_test: usize,
    /// Run G in eval mode (running batch-norm statistics, no dropout); the reference's
    /// default, kept here, is train mode (batch statistics and dropout, as in the paper).
    #[arg(long)]
    pub eval: bool,
    /// `colour`: add the paper's Lab colour analysis (histograms, intersection) to the page.
    #[arg(long, value_parser = ["colour", "color"])]
    pub report: Option<String>,
}

pub fn test(t: &TestOptions, device: &Device) -> Result<(PathBuf, EvalResult)> {
    let dir = t.checkpoints_dir.join(&t.name);
    let opt_path = dir.join("train_opt.json");
    let mut o: TrainOptions =
        serde_json::from_str(&std::fs::read_to_string(&opt_path).with_context(|| {
            format!("cannot read {} (was '{}' trained here?)", opt_path.display(), t.name)
        })?)
        .with_context(|| format!("{}: unreadable options", opt_path.display()))?;
    if let Some(root) = &t.dataroot {
        o.dataroot = Some(root.clone());
        o.dir_a = None;
        o.dir_b = None;
    }
    // As the reference's test options: no flip, and load_size defaults to crop_size, so
    // resize_and_crop resizes to the crop size; crop keeps cropping (the images are not
    // resized), at positions drawn from a fixed seed.
    o.no_flip = true;
    if o.preprocess == Preprocess::ResizeAndCrop {
        o.load_size = o.crop_size;
    }
    let data = open_dataset(&o, &t.phase)?;
    let ck = net_path(&dir, &t.epoch, "G");
    let (_, mut g) = load_generator(&ck, &Arch::from_options(&o), device)?;
    if t.eval {
        g.eval();
    } else {
        g.train();
    }
    let out = t.results_dir.join(&t.name).join(format!("{}_{}", t.phase, t.epoch));
    let images = out.join("images");
    std::fs::create_dir_all(&images).with_context(|| format!("cannot create {}", images.display()))?;
    let r = evaluate(&g, &data, Some(&images), device, Some(t.num_test))?;
    let extra = match &t.report {
        Some(_) => colour_report(&out, "output")?,
        None => String::new(),
    };
    write_test_page_with(&out, &format!("{} ({}, {})", t.name, t.phase, t.epoch), &r.rows, &extra)?;
    Ok((out, r))
}

#[derive(Args, Clone, Debug)]
pub struct TranslateOptions {
    /// Generator checkpoint (ours: .safetensors; the reference's: latest_net_G.pth).
    #[arg(long)]
    pub checkpoint: PathBuf,
    /// An image or a folder of images.
    #[arg(long)]
    pub input: PathBuf,
    /// Output image (for one input) or folder.
    #[arg(long)]
    pub output: PathBuf,
    /// For checkpoints without metadata (the reference's .pth): generator architecture.
    #[arg(long = "netg", default_value = "unet_256")]
    pub netg: String,
    #[arg(long, default_value_t = 64)]
    pub ngf: usize,
    #[arg(long, value_enum, default_value = "batch")]
    pub norm: NormKind,
    #[arg(long, default_value_t = 3)]
    pub input_nc: usize,
    #[arg(long, default_value_t = 3)]
    pub output_nc: usize,
    /// Eval mode (running statistics, no dropout) instead of the reference's train mode.
    #[arg(long)]
    pub eval: bool,
}

/// Pads CHW data on the right and bottom (edge replication) to `ph` x `pw`.
fn pad_edge(x: &[f32], c: usize, h: usize, w: usize, ph: usize, pw: usize) -> Vec<f32> {
    let mut out = vec![0.0; c * ph * pw];
    for ch in 0..c {
        for y in 0..ph {
            for xx in 0..pw {
                out[(ch * ph + y) * pw + xx] = x[(ch * h + y.min(h - 1)) * w + xx.min(w - 1)];
            }
        }
    }
    out
}

fn crop(x: &[f32], c: usize, ph: usize, pw: usize, h: usize, w: usize) -> Vec<f32> {
    let mut out = Vec::with_capacity(c * h * w);
    for ch in 0..c {
        for y in 0..h {
            let row = (ch * ph + y) * pw;
            out.extend_from_slice(&x[row..row + w]);
        }
    }
    out
}

/// Translates one image of any size: padded up to a multiple of the U-Net's stride, then
/// cropped back (the generator is fully convolutional).
pub fn translate_image(
    g: &dyn Module,
    arch: &Arch,
    input: &Path,
    output: &Path,
    device: &Device,
) -> Result<()> {
    let _guard = no_grad();
    let (x, h, w) = load_chw(input, arch.input_nc)?;
    let stride = arch.stride()?;
    let (ph, pw) = (h.div_ceil(stride) * stride, w.div_ceil(stride) * stride);
    let padded = pad_edge(&x, arch.input_nc, h, w, ph, pw);
    let y = g.forward(&Tensor::from_f32(&padded, &[1, arch.input_nc, ph, pw], device));
    let out = crop(&y.to_vec_f32(), arch.output_nc, ph, pw, h, w);
    save_chw(output, &out, arch.output_nc, h, w)
}

pub fn translate(t: &TranslateOptions, device: &Device) -> Result<usize> {
    let fallback = Arch {
        input_nc: t.input_nc,
        output_nc: t.output_nc,
        netg: t.netg.clone(),
        ngf: t.ngf,
        netd: "basic".into(),
        n_layers_d: 3,
        ndf: 64,
        norm: t.norm,
        dropout: true,
        objective: Default::default(),
    };
    let (arch, mut g) = load_generator(&t.checkpoint, &fallback, device)?;
    if t.eval {
        g.eval();
    } else {
        g.train();
    }
    if t.input.is_dir() {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&t.input)
            .with_context(|| format!("cannot read {}", t.input.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| crate::io::image::is_image_path(p))
            .collect();
        files.sort();
        if files.is_empty() {
            bail!("{}: no images in this folder", t.input.display());
        }
        std::fs::create_dir_all(&t.output)
            .with_context(|| format!("cannot create {}", t.output.display()))?;
        for f in &files {
            let name = f.file_stem().unwrap_or_default().to_string_lossy().into_owned() + ".png";
            translate_image(&g, &arch, f, &t.output.join(name), device)?;
        }
        Ok(files.len())
    } else {
        if !t.input.exists() {
            bail!("{}: no such file", t.input.display());
        }
        translate_image(&g, &arch, &t.input, &t.output, device)?;
        Ok(1)
    }
}
