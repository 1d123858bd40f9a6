//! The built-in unpaired dataset: pix2pix's shapes (`pix2pix::synth::render_pair`) split
//! into two domains that never show the same scene: A = outlines of one set of random
//! scenes, B = filled, shaded shapes of another set. CycleGAN must learn the mapping
//! (colour by shape type, shading, shadows) without pairs. Written as trainA/ trainB/
//! testA/ testB/ with a manifest; a folder holding the same manifest is reused,
//! another of ours regenerated, any other non-empty folder refused.

use crate::io::atomic::write_bytes_atomic;
use crate::io::image::save_image;
use crate::pix2pix::rng::Rng;
use crate::pix2pix::synth::render_pair;
use anyhow::{bail, Context, Result};
use image::DynamicImage;
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::fs;
use std::path::{Path, PathBuf};

const MANIFEST: &str = "manifest.json";
const KIND: &str = "engine-builtin-shapes-unpaired";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
struct Manifest {
    kind: String,
    version: u32,
    size: u32,
    n_a: usize,
    n_b: usize,
    n_test: usize,
    seed: u64,
    complete: bool,
}

/// Writes (or reuses) the unpaired dataset in `dir`: `{train,test}{A,B}/NNNNN.png` at
/// `size` x `size`; `n_a` / `n_b` training images per domain (they may differ), `n_test`
/// test images per domain. Returns `dir`.
pub fn generate_builtin_unpaired(
    dir: &Path,
    size: u32,
    n_a: usize,
    n_b: usize,
    n_test: usize,
    seed: u64,
) -> Result<PathBuf> {
    if size < 8 {
        bail!("built-in dataset: image size {size} is too small (at least 8)");
    }
    let manifest = Manifest { kind: KIND.into(), version: 1, size, n_a, n_b, n_test, seed, complete: true };
    let splits = [("trainA", n_a, 0u64), ("trainB", n_b, 1), ("testA", n_test, 2), ("testB", n_test, 3)];
    let manifest_path = dir.join(MANIFEST);
    let file_name = |i: usize| format!("{i:05}.png");
    if manifest_path.is_file() {
        let text = fs::read_to_string(&manifest_path)
            .with_context(|| format!("{}: cannot read", manifest_path.display()))?;
        let old: Manifest =
            serde_json::from_str(&text).ok().filter(|m: &Manifest| m.kind == KIND).with_context(|| {
                format!(
                    "{}: not a manifest of the built-in unpaired dataset; refusing to overwrite the folder",
                    manifest_path.display()
                )
            })?;
        let present =
            splits.iter().all(|(s, n, _)| (0..*n).all(|i| dir.join(s).join(file_name(i)).is_file()));
        if old == manifest && present {
            return Ok(dir.to_path_buf());
        }
        fs::remove_file(&manifest_path)
            .with_context(|| format!("{}: cannot remove", manifest_path.display()))?;
        for (s, _, _) in splits {
            let d = dir.join(s);
            if d.exists() {
                fs::remove_dir_all(&d).with_context(|| format!("{}: cannot remove", d.display()))?;
            }
        }
    } else if dir.is_dir() && fs::read_dir(dir)?.next().is_some() {
        bail!(
            "{}: folder exists and is not a built-in dataset (no {MANIFEST}); refusing to overwrite it",
            dir.display()
        );
    }
    let write_manifest =
        |m: &Manifest| write_bytes_atomic(&manifest_path, serde_json::to_string_pretty(m)?.as_bytes());
    write_manifest(&Manifest { complete: false, ..manifest.clone() })?;
    for (split, count, stream) in splits {
        let split_dir = dir.join(split);
        fs::create_dir_all(&split_dir)
            .with_context(|| format!("{}: cannot create folder", split_dir.display()))?;
        // Each split renders its own scenes: no A image has a partner in B.
        (0..count).into_par_iter().try_for_each(|i| -> Result<()> {
            let mut rng = Rng::derive(seed, (stream << 32) | i as u64);
            let (outline, filled) = render_pair(size, &mut rng);
            let img = if split.ends_with('A') { outline } else { filled };
            save_image(&split_dir.join(file_name(i)), &DynamicImage::ImageRgb8(img))
        })?;
    }
    write_manifest(&manifest)?;
    Ok(dir.to_path_buf())
}
