//! Where the VGG-19 weights live and how only the needed tensors are read.
//!
//! The file is timm's `vgg19.tv_in1k` `model.safetensors` (torchvision's weights with the
//! names `features.N.weight` / `features.N.bias`, plus a 500 MB classifier we never use),
//! so it is not read whole: the header is parsed and only the tensors of the layers up
//! to the deepest requested tap are read from their offsets.

use crate::nn::StateEntry;
use anyhow::{bail, Context, Result};
use serde::Deserialize;
use std::collections::HashMap;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
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

#[derive(Deserialize)]
struct HeaderEntry {
    dtype: String,
    shape: Vec<usize>,
    data_offsets: (usize, usize),
}

/// The header of a safetensors file: tensor name -> (dtype, shape, offsets), and where
/// the data starts.
pub struct SafetensorsIndex {
    path: PathBuf,
    data_start: u64,
    file_len: u64,
    tensors: HashMap<String, (String, Vec<usize>, (usize, usize))>,
}

impl SafetensorsIndex {
    /// Reads and checks the header only.
    pub fn open(path: &Path) -> Result<SafetensorsIndex> {
        let mut f = File::open(path).with_context(|| format!("{}: cannot open", path.display()))?;
        let file_len = f.metadata().with_context(|| format!("{}: cannot read", path.display()))?.len();
        let bad = || format!("{}: not a safetensors file", path.display());
        let mut len8 = [0u8; 8];
        f.read_exact(&mut len8).with_context(bad)?;
        let n = u64::from_le_bytes(len8);
        if n > 100 << 20 || 8 + n > file_len {
            bail!("{}: not a safetensors file (header length {n} for a file of {file_len} bytes)", path.display());
        }
        let mut header = vec![0u8; n as usize];
        f.read_exact(&mut header).with_context(bad)?;
        let raw: HashMap<String, serde_json::Value> = serde_json::from_slice(&header).with_context(bad)?;
        let mut tensors = HashMap::new();
        for (name, v) in raw {
            if name == "__metadata__" {
                continue;
            }
            let e: HeaderEntry = serde_json::from_value(v).with_context(|| format!("{}: bad header entry `{name}`", path.display()))?;
            tensors.insert(name, (e.dtype, e.shape, e.data_offsets));
        }
        Ok(SafetensorsIndex { path: path.to_path_buf(), data_start: 8 + n, file_len, tensors })
    }

    pub fn shape(&self, name: &str) -> Option<&[usize]> {
        self.tensors.get(name).map(|(_, s, _)| s.as_slice())
    }

    pub fn len(&self) -> usize {
        self.tensors.len()
    }
    pub fn is_empty(&self) -> bool {
        self.tensors.is_empty()
    }

    /// Checks that every `(name, shape)` is present with that shape; the first
    /// offender is named in the error.
    pub fn check(&self, expected: &[(String, Vec<usize>)]) -> Result<()> {
        for (name, shape) in expected {
            match self.tensors.get(name) {
                None => bail!("{}: no tensor `{name}` (expected {shape:?}): not VGG-19 weights with torchvision/timm names (features.N.weight)?", self.path.display()),
                Some((_, s, _)) if s != shape => bail!("{}: tensor `{name}` has shape {s:?}, VGG-19 needs {shape:?}", self.path.display()),
                Some((dtype, _, _)) if dtype_size(dtype).is_none() => bail!("{}: tensor `{name}` has dtype {dtype}; supported are F32, F16, BF16, F64", self.path.display()),
                Some(_) => {}
            }
        }
        Ok(())
    }

    /// Reads the named tensors as f32 state entries (after `check`).
    pub fn read(&self, expected: &[(String, Vec<usize>)]) -> Result<Vec<StateEntry>> {
        self.check(expected)?;
        let mut f = File::open(&self.path).with_context(|| format!("{}: cannot open", self.path.display()))?;
        let mut out = Vec::with_capacity(expected.len());
        for (name, shape) in expected {
            let (dtype, _, (start, end)) = &self.tensors[name];
            let size = dtype_size(dtype).expect("checked");
            let numel: usize = shape.iter().product();
            if end < start || end - start != numel * size || self.data_start + *end as u64 > self.file_len {
                bail!("{}: tensor `{name}` has bad data offsets [{start}, {end}] (file truncated?)", self.path.display());
            }
            let mut bytes = vec![0u8; end - start];
            f.seek(SeekFrom::Start(self.data_start + *start as u64)).and_then(|_| f.read_exact(&mut bytes)).with_context(|| format!("{}: cannot read tensor `{name}`", self.path.display()))?;
            out.push(StateEntry::f32(name, shape, to_f32(dtype, &bytes)));
        }
        Ok(out)
    }
}

fn dtype_size(dtype: &str) -> Option<usize> {
    match dtype {
        "F32" => Some(4),
        "F16" | "BF16" => Some(2),
        "F64" => Some(8),
        _ => None,
    }
}

fn to_f32(dtype: &str, b: &[u8]) -> Vec<f32> {
    match dtype {
        "F32" => b.chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect(),
        "F16" => b.chunks_exact(2).map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32()).collect(),
        "BF16" => b.chunks_exact(2).map(|c| half::bf16::from_le_bytes([c[0], c[1]]).to_f32()).collect(),
        "F64" => b.chunks_exact(8).map(|c| f64::from_le_bytes(c.try_into().unwrap()) as f32).collect(),
        _ => unreachable!("dtype checked"),
    }
}
