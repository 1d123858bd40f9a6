//! The aligned (paired) dataset of pix2pix: each file holds A and B side by side
//! (`DATAROOT/PHASE/*`, split at half width), or two folders hold A and B under the same
//! file names. Files are checked when the dataset opens (headers only), so bad input is
//! reported before training starts, one clear line naming the file.

use super::options::TrainOptions;
use super::preprocess::{apply, PreprocessOptions};
use super::rng::Rng;
use crate::io::image::{conversion_note, is_image_path, load_rgb32f, probe};
use crate::tensor::{Device, Tensor};
use anyhow::{bail, Context, Result};
use image::imageops;
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

pub use super::options::Direction;

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DatasetOptions {
    pub direction: Direction,
    pub preprocess: PreprocessOptions,
    /// Channels of the generator input (1 = grayscale, 3 = RGB).
    pub input_nc: usize,
    /// Channels of the target.
    pub output_nc: usize,
    /// Use at most this many files (the first ones in sorted order).
    pub max_dataset_size: Option<usize>,
}

impl Default for DatasetOptions {
    fn default() -> Self {
        DatasetOptions {
            direction: Direction::AtoB,
            preprocess: PreprocessOptions::default(),
            input_nc: 3,
            output_nc: 3,
            max_dataset_size: None,
        }
    }
}

/// One preprocessed pair. `a` is the generator input (`real_A`) and `b` the target
/// (`real_B`), already swapped for `BtoA`; both CHW in [-1, 1] of size h x w.
#[derive(Clone, Debug)]
pub struct Sample {
    pub a: Vec<f32>,
    pub b: Vec<f32>,
    pub c_a: usize,
    pub c_b: usize,
    pub h: usize,
    pub w: usize,
    /// The A|B file, or the A file when reading two folders.
    pub path: PathBuf,
}

impl Sample {
    /// File name without extension, for naming outputs (`<stem>_fake_B.png`).
    pub fn stem(&self) -> String {
        self.path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default()
    }
}

#[derive(Clone, Debug)]
enum Source {
    /// A|B side by side in one file.
    Combined(Vec<PathBuf>),
    /// (A file, B file).
    Pairs(Vec<(PathBuf, PathBuf)>),
}

#[derive(Clone, Debug)]
pub struct AlignedDataset {
    source: Source,
    opts: DatasetOptions,
    notes: Vec<String>,
    /// Each distinct (width, height) after preprocessing, with the first file giving it.
    sizes: BTreeMap<(u32, u32), PathBuf>,
}

/// Distinct output sizes with the first (sorted) file of each.
pub fn size_table(files: impl Iterator<Item = ((u32, u32), PathBuf)>) -> BTreeMap<(u32, u32), PathBuf> {
    let mut sizes = BTreeMap::new();
    for (size, path) in files {
        sizes.entry(size).or_insert(path);
    }
    sizes
}

/// Image files in `dir`, sorted; with `recursive`, also in its subfolders (like the
/// reference's `make_dataset`).
pub fn list_images(dir: &Path, recursive: bool) -> Result<Vec<PathBuf>> {
    fn walk(dir: &Path, recursive: bool, out: &mut Vec<PathBuf>) -> Result<()> {
        for entry in fs::read_dir(dir).with_context(|| format!("{}: cannot read folder", dir.display()))? {
            let path = entry.with_context(|| format!("{}: cannot read folder", dir.display()))?.path();
            if path.is_dir() {
                if recursive {
                    walk(&path, recursive, out)?;
                }
            } else if is_image_path(&path) {
                out.push(path);
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    walk(dir, recursive, &mut out)?;
    out.sort();
    Ok(out)
}

pub fn check_folder(dir: &Path, what: &str) -> Result<()> {
    if !dir.exists() {
        bail!("{}: no such folder ({what})", dir.display());
    }
    if !dir.is_dir() {
        bail!("{}: not a folder ({what})", dir.display());
    }
    Ok(())
}

/// The folders to read for `phase` from `--dir-a/--dir-b`: the folders themselves, or,
/// when `dir_a` holds no images but a `phase/` subfolder (combine's layout, `A/train/`),
/// `dir_a/phase` and `dir_b/phase`.
pub fn split_dirs(dir_a: &Path, dir_b: &Path, phase: &str) -> Result<(PathBuf, PathBuf)> {
    let (a, b) = (dir_a.join(phase), dir_b.join(phase));
    if dir_a.is_dir() && a.is_dir() && list_images(dir_a, false)?.is_empty() {
        return Ok((a, b));
    }
    Ok((dir_a.to_path_buf(), dir_b.to_path_buf()))
}

/// Count files per conversion note and turn the counts into readable lines.
pub fn summarize_notes(notes: Vec<Option<&'static str>>, folder: &Path) -> Vec<String> {
    let total = notes.len();
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for note in notes.into_iter().flatten() {
        *counts.entry(note).or_default() += 1;
    }
    counts
        .into_iter()
        .map(|(note, n)| format!("{n} of {total} images in {} are {note}", folder.display()))
        .collect()
}

fn validate_channels(opts: &DatasetOptions) -> Result<()> {
    for (flag, nc) in [("--input-nc", opts.input_nc), ("--output-nc", opts.output_nc)] {
        if nc != 1 && nc != 3 {
            bail!("{flag} {nc}: images have 1 (grayscale) or 3 (RGB) channels");
        }
    }
    opts.preprocess.validate()
}

impl AlignedDataset {
    /// Open `dataroot/phase` holding A|B images side by side.
    pub fn open(dataroot: &Path, phase: &str, opts: &DatasetOptions) -> Result<Self> {
        validate_channels(opts)?;
        check_folder(dataroot, "the --dataroot folder")?;
        let dir = dataroot.join(phase);
        check_folder(&dir, &format!("expected {phase}/ under the dataroot, with A|B images side by side"))?;
        let mut files = list_images(&dir, true)?;
        if files.is_empty() {
            bail!("{}: no images (expected PNG or JPEG files with A and B side by side)", dir.display());
        }
        if let Some(max) = opts.max_dataset_size {
            files.truncate(max);
        }
        let infos: Vec<_> = files
            .par_iter()
            .map(|path| -> Result<_> {
                let info = probe(path)?;
                if info.width % 2 != 0 {
                    bail!(
                        "{}: width {} is odd; an A|B image holds A and B of equal width side by side",
                        path.display(),
                        info.width
                    );
                }
                opts.preprocess
                    .check_input(info.width / 2, info.height)
                    .map_err(|e| anyhow::anyhow!("{}: each half (A and B) {e}", path.display()))?;
                Ok((conversion_note(info.color), opts.preprocess.output_size(info.width / 2, info.height)))
            })
            .collect::<Result<_>>()?;
        let (infos, out): (Vec<_>, Vec<_>) = infos.into_iter().unzip();
        let sizes = size_table(out.into_iter().zip(files.iter().cloned()));
        let notes = summarize_notes(infos, &dir);
        Ok(AlignedDataset { source: Source::Combined(files), opts: opts.clone(), notes, sizes })
    }

    /// Open two folders of paired images: `dir_a/x.png` goes with `dir_b/x.png`. Only the
    /// images directly in `dir_a` are read, not those of its subfolders (see `split_dirs`).
    pub fn open_pair_dirs(dir_a: &Path, dir_b: &Path, opts: &DatasetOptions) -> Result<Self> {
        validate_channels(opts)?;
        check_folder(dir_a, "the folder of A images")?;
        check_folder(dir_b, "the folder of B images")?;
        let mut files = list_images(dir_a, false)?;
        if files.is_empty() {
            bail!(
                "{}: no images directly in this folder (subfolders are not read; expected PNG or JPEG files)",
                dir_a.display()
            );
        }
        if let Some(max) = opts.max_dataset_size {
            files.truncate(max);
        }
        let pairs: Vec<(PathBuf, PathBuf)> = files
            .into_iter()
            .map(|a| {
                let rel = a.strip_prefix(dir_a).expect("listed under dir_a").to_path_buf();
                (a, dir_b.join(rel))
            })
            .collect();
        let infos: Vec<_> = pairs
            .par_iter()
            .map(|(a, b)| -> Result<_> {
                if !b.is_file() {
                    bail!("{}: missing, the partner of {}", b.display(), a.display());
                }
                let (ia, ib) = (probe(a)?, probe(b)?);
                if (ia.width, ia.height) != (ib.width, ib.height) {
                    bail!(
                        "{} is {}x{} but its partner {} is {}x{}; paired images must have the same size",
                        a.display(),
                        ia.width,
                        ia.height,
                        b.display(),
                        ib.width,
                        ib.height
                    );
                }
                opts.preprocess
                    .check_input(ia.width, ia.height)
                    .map_err(|e| anyhow::anyhow!("{}: the image {e}", a.display()))?;
                let size = opts.preprocess.output_size(ia.width, ia.height);
                Ok(([conversion_note(ia.color), conversion_note(ib.color)], size))
            })
            .collect::<Result<_>>()?;
        let (infos, out): (Vec<_>, Vec<_>) = infos.into_iter().unzip();
        let sizes = size_table(out.into_iter().zip(pairs.iter().map(|p| p.0.clone())));
        let (notes_a, notes_b): (Vec<_>, Vec<_>) = infos.into_iter().map(|[a, b]| (a, b)).unzip();
        let mut notes = summarize_notes(notes_a, dir_a);
        notes.extend(summarize_notes(notes_b, dir_b));
        Ok(AlignedDataset { source: Source::Pairs(pairs), opts: opts.clone(), notes, sizes })
    }

    pub fn len(&self) -> usize {
        match &self.source {
            Source::Combined(files) => files.len(),
            Source::Pairs(pairs) => pairs.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn options(&self) -> &DatasetOptions {
        &self.opts
    }

    /// How inputs that are not 8-bit RGB were converted, one line per kind (print them).
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// Each distinct (width, height) the samples have after preprocessing (crops aside,
    /// which the flip and position do not change), with the first file of that size.
    pub fn output_sizes(&self) -> &BTreeMap<(u32, u32), PathBuf> {
        &self.sizes
    }

    /// The file of sample `index` (the A file for two folders).
    pub fn path(&self, index: usize) -> &Path {
        match &self.source {
            Source::Combined(files) => &files[index],
            Source::Pairs(pairs) => &pairs[index].0,
        }
    }

    /// Load and preprocess sample `index`, drawing crop and flip from `rng`.
    pub fn get(&self, index: usize, rng: &mut Rng) -> Result<Sample> {
        let (left, right) = match &self.source {
            Source::Combined(files) => {
                let path = &files[index];
                let ab = load_rgb32f(path)?;
                let (w, h) = ab.dimensions();
                if w % 2 != 0 {
                    bail!("{}: width {w} is odd; an A|B image holds A and B of equal width", path.display());
                }
                let half = w / 2;
                let left = imageops::crop_imm(&ab, 0, 0, half, h).to_image();
                let right = imageops::crop_imm(&ab, half, 0, half, h).to_image();
                (left, right)
            }
            Source::Pairs(pairs) => {
                let (a, b) = &pairs[index];
                let (left, right) = (load_rgb32f(a)?, load_rgb32f(b)?);
                if left.dimensions() != right.dimensions() {
                    bail!("{} and {} differ in size", a.display(), b.display());
                }
                (left, right)
            }
        };
        let path = self.path(index).to_path_buf();
        let (w, h) = left.dimensions();
        let pre = &self.opts.preprocess;
        pre.check_input(w, h).map_err(|e| anyhow::anyhow!("{}: the image {e}", path.display()))?;
        let params = pre.params(w, h, rng);
        let (input, target) = match self.opts.direction {
            Direction::AtoB => (left, right),
            Direction::BtoA => (right, left),
        };
        let (a, oh, ow) = apply(&input, &params, self.opts.input_nc);
        let (b, _, _) = apply(&target, &params, self.opts.output_nc);
        Ok(Sample { a, b, c_a: self.opts.input_nc, c_b: self.opts.output_nc, h: oh, w: ow, path })
    }
}

pub fn dataset_options(o: &TrainOptions) -> DatasetOptions {
    DatasetOptions {
        direction: o.direction,
        preprocess: PreprocessOptions {
            preprocess: o.preprocess,
            load_size: o.load_size,
            crop_size: o.crop_size,
            no_flip: o.no_flip,
        },
        input_nc: o.input_nc,
        output_nc: o.output_nc,
        max_dataset_size: o.max_dataset_size,
    }
}

/// The `phase` split (train, val, test) of the dataset the options name, preprocessed as
/// for training.
pub fn open_dataset(o: &TrainOptions, phase: &str) -> Result<AlignedDataset> {
    open_with(o, phase, &dataset_options(o))
}

/// A split for testing or validation: preprocessed as the reference's test.py does
/// (`PreprocessOptions::for_test`).
pub fn open_test_dataset(o: &TrainOptions, phase: &str) -> Result<AlignedDataset> {
    let mut opts = dataset_options(o);
    opts.preprocess = opts.preprocess.for_test();
    open_with(o, phase, &opts)
}

fn open_with(o: &TrainOptions, phase: &str, opts: &DatasetOptions) -> Result<AlignedDataset> {
    match (&o.dir_a, &o.dir_b, &o.dataroot) {
        (Some(a), Some(b), _) => {
            let (a, b) = split_dirs(a, b, phase)?;
            AlignedDataset::open_pair_dirs(&a, &b, opts)
        }
        (_, _, Some(root)) => AlignedDataset::open(root, phase, opts),
        _ => bail!("no dataset: give --dataroot DIR (with {phase}/ inside) or --dir-a/--dir-b"),
    }
}

/// Stacks samples into (A, B) tensors [batch, c, h, w].
pub fn batch_tensors(samples: &[Sample], device: &Device) -> Result<(Tensor, Tensor)> {
    let first = &samples[0];
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for s in samples {
        if (s.h, s.w) != (first.h, first.w) {
            bail!("images in one batch differ in size after preprocessing ({} is {}x{}, {} is {}x{}): use --batch-size 1 or a cropping --preprocess", first.path.display(), first.w, first.h, s.path.display(), s.w, s.h);
        }
        a.extend_from_slice(&s.a);
        b.extend_from_slice(&s.b);
    }
    let n = samples.len();
    Ok((
        Tensor::from_f32(&a, &[n, first.c_a, first.h, first.w], device),
        Tensor::from_f32(&b, &[n, first.c_b, first.h, first.w], device),
    ))
}
