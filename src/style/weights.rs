//! Where the VGG-19 weights live and how only the needed tensors are read.
//!
//! The file is timm's `vgg19.tv_in1k` `model.safetensors` (torchvision's weights with the
//! names `features.N.weight` / `features.N.bias`, plus a 500 MB classifier we never use),
//! so it is not read whole: only the tensors of the layers up to the deepest requested
//! tap are read (`io::checkpoint::load_checkpoint_filtered`, which also reads PyTorch
//! `.pth` files such as torchvision's own `vgg19-dcbb9e9d.pth`).

use crate::io::checkpoint::load_checkpoint_filtered;
use crate::nn::StateEntry;
use anyhow::{bail, Result};
use std::collections::HashSet;
use std::path::{Path, PathBuf};

/// File name of the weights in the cache folder.
pub const VGG_FILE: &str = "vgg19.safetensors";

/// timm's VGG-19 with torchvision's ImageNet weights.
pub const VGG19_URL: &str = "https://huggingface.co/timm/vgg19.tv_in1k/resolve/main/model.safetensors";

/// SHA-256 of the file at `VGG19_URL`. Not pinned: the address was not reachable from
/// where this was written. Until it is, `fetch-vgg` checks the tensor names and shapes
/// of the download instead and prints its hash (pass `--sha256` to require one).
pub const VGG19_SHA256: Option<&str> = None;

/// The cache folder: `$ENGINE_CACHE`, else `$XDG_CACHE_HOME/engine`, else `~/.cache/engine`.
pub fn cache_dir() -> Option<PathBuf> {
    let non_empty = |k: &str| std::env::var_os(k).filter(|v| !v.is_empty()).map(PathBuf::from);
    non_empty("ENGINE_CACHE")
        .or_else(|| non_empty("XDG_CACHE_HOME").map(|d| d.join("engine")))
        .or_else(|| non_empty("HOME").map(|d| d.join(".cache").join("engine")))
}

/// Where the weights are expected when `--vgg` is not given.
pub fn default_vgg_path() -> Option<PathBuf> {
    cache_dir().map(|d| d.join(VGG_FILE))
}

/// The weights file to use: `explicit` if given, else the default location. Missing
/// weights are one line that says where we looked and how to get them.
pub fn resolve_vgg_path(explicit: Option<&Path>) -> Result<PathBuf> {
    match explicit {
        Some(p) if p.is_file() => Ok(p.to_path_buf()),
        Some(p) => bail!("no VGG-19 weights at {} (--vgg); run `engine fetch-vgg --dest {}` to download them", p.display(), p.display()),
        None => match default_vgg_path() {
            Some(p) if p.is_file() => Ok(p),
            Some(p) => bail!("no VGG-19 weights at {} (the default; $ENGINE_CACHE moves it): run `engine fetch-vgg` to download them, or pass --vgg PATH", p.display()),
            None => bail!("no VGG-19 weights: no cache folder ($ENGINE_CACHE and $HOME unset); pass --vgg PATH, or set ENGINE_CACHE and run `engine fetch-vgg`"),
        },
    }
}

/// Reads the tensors `expected` (name, shape) from a weights file; the first missing or
/// mis-shaped one is named in the error. Other tensors in the file are not read.
pub fn read_tensors(path: &Path, expected: &[(String, Vec<usize>)]) -> Result<Vec<StateEntry>> {
    let wanted: HashSet<&str> = expected.iter().map(|(n, _)| n.as_str()).collect();
    let ckpt = load_checkpoint_filtered(path, |n| wanted.contains(n))?;
    ckpt.check_contains(expected)?;
    expected.iter().map(|(n, s)| Ok(StateEntry::f32(n, s, ckpt.tensor(n, s)?.to_vec()))).collect()
}
