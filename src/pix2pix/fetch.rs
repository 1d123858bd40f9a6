//! `engine fetch-dataset NAME`: download one of the reference's paired datasets and unpack
//! it into `DEST/NAME/{train,val,test}` (reference: `datasets/download_pix2pix_dataset.sh`).

use crate::io::download::download;
use anyhow::{bail, Context, Result};
use flate2::read::GzDecoder;
use std::fs::{self, File};
use std::io::BufReader;
use std::path::{Path, PathBuf};

/// The datasets of the reference project, at `dataset_url(name)`.
pub const DATASETS: &[&str] =
    &["facades", "cityscapes", "maps", "edges2shoes", "edges2handbags", "night2day"];

const SPLITS: &[&str] = &["train", "val", "test"];

pub fn dataset_url(name: &str) -> String {
    format!("http://efrosgans.eecs.berkeley.edu/pix2pix/datasets/{name}.tar.gz")
}

/// Whether `dir` holds at least one split folder with something in it.
fn has_splits(dir: &Path) -> bool {
    SPLITS.iter().any(|s| fs::read_dir(dir.join(s)).map(|mut d| d.next().is_some()).unwrap_or(false))
}

/// Unpack a `.tar.gz` into `into` (entries that would land outside it are refused by `tar`).
pub fn unpack_tar_gz(archive: &Path, into: &Path) -> Result<()> {
    let file = File::open(archive).with_context(|| format!("{}: cannot open", archive.display()))?;
    let mut tar = tar::Archive::new(GzDecoder::new(BufReader::new(file)));
    tar.set_preserve_permissions(false);
    tar.set_overwrite(true);
    fs::create_dir_all(into).with_context(|| format!("{}: cannot create folder", into.display()))?;
    tar.unpack(into).with_context(|| format!("{}: cannot unpack (not a .tar.gz archive?)", archive.display()))
}

/// Download dataset `name` (a known name, or any name with `url_override`) into
/// `dest/name`, unless it is already there. Returns the dataset folder.
pub fn fetch_dataset(name: &str, dest: &Path, url_override: Option<&str>) -> Result<PathBuf> {
    let url = match url_override {
        Some(url) => url.to_string(),
        None if DATASETS.contains(&name) => dataset_url(name),
        None => bail!("unknown dataset '{name}' (known: {}; or give --url)", DATASETS.join(", ")),
    };
    if name.is_empty() || name.starts_with('.') || name.contains(['/', '\\']) {
        bail!("dataset name '{name}' must be a plain folder name");
    }
    let target = dest.join(name);
    if has_splits(&target) {
        eprintln!("{} already holds the dataset; nothing downloaded", target.display());
        return Ok(target);
    }
    if target.exists() {
        // An empty leftover can go; anything else is the user's and stays.
        if fs::remove_dir(&target).is_err() {
            bail!("{}: exists but holds no train/val/test folders; move it away and retry", target.display());
        }
    }

    let archive = dest.join(format!("{name}.tar.gz"));
    let staging = dest.join(format!(".{name}.unpacking"));
    download(&url, &archive, None)?;
    let result = (|| -> Result<()> {
        if staging.exists() {
            fs::remove_dir_all(&staging).with_context(|| format!("{}: cannot remove", staging.display()))?;
        }
        unpack_tar_gz(&archive, &staging)?;
        // The reference archives hold NAME/{train,val,test}; accept also the splits at the
        // top or under a single folder of another name.
        let root = if has_splits(&staging.join(name)) {
            staging.join(name)
        } else if has_splits(&staging) {
            staging.clone()
        } else {
            let dirs: Vec<PathBuf> = fs::read_dir(&staging)?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.is_dir())
                .collect();
            match dirs.as_slice() {
                [only] if has_splits(only) => only.clone(),
                _ => bail!("{url}: the archive holds no train/, val/ or test/ folder of images"),
            }
        };
        fs::rename(&root, &target)
            .with_context(|| format!("{}: cannot move to {}", root.display(), target.display()))
    })();
    let _ = fs::remove_dir_all(&staging);
    let _ = fs::remove_file(&archive);
    result?;
    Ok(target)
}
