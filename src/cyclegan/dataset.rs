//! The reference's unaligned dataset (`data/unaligned_dataset.py`): two folders of
//! unpaired images, `DATAROOT/trainA` and `DATAROOT/trainB` (testA/testB for testing,
//! valA/valB when present), of any sizes and counts. Item `i` is A[i mod |A|] with a B
//! drawn at random (or B[i mod |B|] with `--serial-batches`, as test time does); an epoch
//! has max(|A|, |B|) items. A and B are preprocessed independently (each its own crop and
//! flip) with the pix2pix options. `--direction BtoA` swaps the domains after loading, as
//! the reference's `set_input` does. Every file is probed when the dataset opens, so bad
//! input is reported before training, one line naming the file.

use super::options::CycleOptions;
use crate::io::image::{conversion_note, load_rgb32f, probe};
use crate::pix2pix::dataset::{check_folder, list_images, size_table, summarize_notes};
use crate::pix2pix::options::Direction;
use crate::pix2pix::preprocess::{apply, PreprocessOptions};
use crate::pix2pix::rng::Rng;
use crate::tensor::{Device, Tensor};
use anyhow::{anyhow, bail, Result};
use rayon::prelude::*;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// One item: `a` is real_A (the generator G_A's input) and `b` real_B, CHW in [-1, 1].
#[derive(Clone, Debug)]
pub struct UnpairedSample {
    pub a: Vec<f32>,
    pub b: Vec<f32>,
    pub c_a: usize,
    pub c_b: usize,
    /// (height, width) of each side.
    pub hw_a: (usize, usize),
    pub hw_b: (usize, usize),
    pub path_a: PathBuf,
    pub path_b: PathBuf,
}

impl UnpairedSample {
    /// The A file's name without extension, for naming outputs (`<stem>_fake_B.png`).
    pub fn stem(&self) -> String {
        self.path_a.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default()
    }
}

/// One domain's folder.
#[derive(Clone, Debug)]
struct Side {
    files: Vec<PathBuf>,
    channels: usize,
    /// Each distinct (width, height) after preprocessing, with the first file giving it.
    sizes: BTreeMap<(u32, u32), PathBuf>,
}

#[derive(Clone, Debug)]
pub struct UnalignedDataset {
    /// The folder read in order (`PHASEA`) and the one drawn at random (`PHASEB`).
    a: Side,
    b: Side,
    pre: PreprocessOptions,
    direction: Direction,
    serial: bool,
    notes: Vec<String>,
}

fn open_side(
    dir: &Path,
    domain: &str,
    channels: usize,
    o: &CycleOptions,
    pre: &PreprocessOptions,
) -> Result<(Side, Vec<String>)> {
    let phase_dir = dir.file_name().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
    check_folder(
        dir,
        &format!("expected {phase_dir}/ under the dataroot, with the images of domain {domain}"),
    )?;
    let mut files = list_images(dir, true)?;
    if files.is_empty() {
        bail!("{}: no images (expected PNG or JPEG files of domain {domain})", dir.display());
    }
    if let Some(max) = o.max_dataset_size {
        files.truncate(max.max(1));
    }
    let infos: Vec<_> = files
        .par_iter()
        .map(|path| -> Result<_> {
            let info = probe(path)?;
            pre.check_input(info.width, info.height)
                .map_err(|e| anyhow!("{}: the image {e}", path.display()))?;
            Ok((conversion_note(info.color), pre.output_size(info.width, info.height)))
        })
        .collect::<Result<_>>()?;
    let (notes, out): (Vec<_>, Vec<_>) = infos.into_iter().unzip();
    let sizes = size_table(out.into_iter().zip(files.iter().cloned()));
    Ok((Side { files, channels, sizes }, summarize_notes(notes, dir)))
}

impl UnalignedDataset {
    /// Opens `dataroot/{phase}A` and `dataroot/{phase}B`; `test`: the reference's test.py
    /// preprocessing (`PreprocessOptions::for_test`) and serial batches.
    pub fn open(o: &CycleOptions, phase: &str, test: bool) -> Result<UnalignedDataset> {
        for (flag, nc) in [("--input-nc", o.input_nc), ("--output-nc", o.output_nc)] {
            if nc != 1 && nc != 3 {
                bail!("{flag} {nc}: images have 1 (grayscale) or 3 (RGB) channels");
            }
        }
        let root = o.dataroot.as_deref().ok_or_else(|| {
            anyhow!("no dataset: give --dataroot DIR (with {phase}A/ and {phase}B/ inside)")
        })?;
        check_folder(root, &format!("the --dataroot folder, expected to hold {phase}A/ and {phase}B/"))?;
        let mut pre = o.preprocess_options();
        if test {
            pre = pre.for_test();
        }
        pre.validate()?;
        // The folder trainA holds the domain G_A reads with AtoB; with BtoA it is the target.
        let (nc_a, nc_b) = match o.direction {
            Direction::AtoB => (o.input_nc, o.output_nc),
            Direction::BtoA => (o.output_nc, o.input_nc),
        };
        let (a, mut notes) = open_side(&root.join(format!("{phase}A")), "A", nc_a, o, &pre)?;
        let (b, notes_b) = open_side(&root.join(format!("{phase}B")), "B", nc_b, o, &pre)?;
        notes.extend(notes_b);
        Ok(UnalignedDataset { a, b, pre, direction: o.direction, serial: o.serial_batches || test, notes })
    }

    /// Items per epoch: max(|A|, |B|), as the reference.
    pub fn len(&self) -> usize {
        self.a.files.len().max(self.b.files.len())
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// (images in the A folder, images in the B folder), before any direction swap.
    pub fn counts(&self) -> (usize, usize) {
        (self.a.files.len(), self.b.files.len())
    }

    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    pub fn serial(&self) -> bool {
        self.serial
    }

    /// Every (width, height) either side gives after preprocessing, with a file giving it.
    pub fn output_sizes(&self) -> BTreeMap<(u32, u32), PathBuf> {
        let mut all = self.a.sizes.clone();
        for (k, v) in &self.b.sizes {
            all.entry(*k).or_insert_with(|| v.clone());
        }
        all
    }

    /// Item `index`: draws B's index (unless serial), then A's crop and flip, then B's.
    pub fn get(&self, index: usize, rng: &mut Rng) -> Result<UnpairedSample> {
        let ia = index % self.a.files.len();
        let ib = if self.serial {
            index % self.b.files.len()
        } else {
            rng.below(self.b.files.len() as u64) as usize
        };
        let load = |side: &Side, i: usize, rng: &mut Rng| -> Result<(Vec<f32>, (usize, usize), PathBuf)> {
            let path = &side.files[i];
            let img = load_rgb32f(path)?;
            let (w, h) = img.dimensions();
            self.pre.check_input(w, h).map_err(|e| anyhow!("{}: the image {e}", path.display()))?;
            let params = self.pre.params(w, h, rng);
            let (data, oh, ow) = apply(&img, &params, side.channels);
            Ok((data, (oh, ow), path.clone()))
        };
        let (da, hwa, pa) = load(&self.a, ia, rng)?;
        let (db, hwb, pb) = load(&self.b, ib, rng)?;
        let (ca, cb) = (self.a.channels, self.b.channels);
        Ok(match self.direction {
            Direction::AtoB => UnpairedSample {
                a: da,
                b: db,
                c_a: ca,
                c_b: cb,
                hw_a: hwa,
                hw_b: hwb,
                path_a: pa,
                path_b: pb,
            },
            Direction::BtoA => UnpairedSample {
                a: db,
                b: da,
                c_a: cb,
                c_b: ca,
                hw_a: hwb,
                hw_b: hwa,
                path_a: pb,
                path_b: pa,
            },
        })
    }
}

/// Stacks samples into (real_A, real_B) tensors [batch, c, h, w]; each side must have one size.
pub fn batch_unpaired(samples: &[UnpairedSample], device: &Device) -> Result<(Tensor, Tensor)> {
    let first = &samples[0];
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for s in samples {
        if s.hw_a != first.hw_a || s.hw_b != first.hw_b {
            bail!(
                "images in one batch differ in size after preprocessing ({} and {}): use --batch-size 1 or a cropping --preprocess",
                first.path_a.display(),
                s.path_a.display()
            );
        }
        a.extend_from_slice(&s.a);
        b.extend_from_slice(&s.b);
    }
    let n = samples.len();
    Ok((
        Tensor::from_f32(&a, &[n, first.c_a, first.hw_a.0, first.hw_a.1], device),
        Tensor::from_f32(&b, &[n, first.c_b, first.hw_b.0, first.hw_b.1], device),
    ))
}
