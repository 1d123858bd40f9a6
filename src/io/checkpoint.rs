//! Checkpoints: named f32 tensors plus string metadata, stored as safetensors.
//!
//! `load_checkpoint` also reads PyTorch `.pth` files (see `pth.rs`), recognised by their
//! first bytes, so a reference checkpoint loads through the same call. Every error names
//! the file (and the tensor, where one is at fault) in one line.

use super::atomic::tmp_path;
use anyhow::{anyhow, bail, Result};
use safetensors::tensor::{Dtype, TensorView};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt;
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};

/// Element type a tensor had in its file; the data is always handed out as f32.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoredDtype {
    F64,
    F32,
    F16,
    BF16,
    I64,
    I32,
    I16,
    I8,
    U8,
    Bool,
}

impl StoredDtype {
    pub fn size(self) -> usize {
        match self {
            StoredDtype::F64 | StoredDtype::I64 => 8,
            StoredDtype::F32 | StoredDtype::I32 => 4,
            StoredDtype::F16 | StoredDtype::BF16 | StoredDtype::I16 => 2,
            StoredDtype::I8 | StoredDtype::U8 | StoredDtype::Bool => 1,
        }
    }

    /// PyTorch's name (`float32`, `int64`, ...), as in the reference state_dict listings.
    pub fn torch_name(self) -> &'static str {
        match self {
            StoredDtype::F64 => "float64",
            StoredDtype::F32 => "float32",
            StoredDtype::F16 => "float16",
            StoredDtype::BF16 => "bfloat16",
            StoredDtype::I64 => "int64",
            StoredDtype::I32 => "int32",
            StoredDtype::I16 => "int16",
            StoredDtype::I8 => "int8",
            StoredDtype::U8 => "uint8",
            StoredDtype::Bool => "bool",
        }
    }

    fn from_safetensors(name: &str) -> Option<StoredDtype> {
        Some(match name {
            "F64" => StoredDtype::F64,
            "F32" => StoredDtype::F32,
            "F16" => StoredDtype::F16,
            "BF16" => StoredDtype::BF16,
            "I64" => StoredDtype::I64,
            "I32" => StoredDtype::I32,
            "I16" => StoredDtype::I16,
            "I8" => StoredDtype::I8,
            "U8" => StoredDtype::U8,
            "BOOL" => StoredDtype::Bool,
            _ => return None,
        })
    }

    /// Element `i` of little-endian `bytes`, as f32.
    pub(crate) fn read(self, bytes: &[u8], i: usize) -> f32 {
        let s = self.size();
        let b = &bytes[i * s..(i + 1) * s];
        match self {
            StoredDtype::F64 => f64::from_le_bytes(b.try_into().unwrap()) as f32,
            StoredDtype::F32 => f32::from_le_bytes(b.try_into().unwrap()),
            StoredDtype::F16 => half::f16::from_le_bytes(b.try_into().unwrap()).to_f32(),
            StoredDtype::BF16 => half::bf16::from_le_bytes(b.try_into().unwrap()).to_f32(),
            StoredDtype::I64 => i64::from_le_bytes(b.try_into().unwrap()) as f32,
            StoredDtype::I32 => i32::from_le_bytes(b.try_into().unwrap()) as f32,
            StoredDtype::I16 => i16::from_le_bytes(b.try_into().unwrap()) as f32,
            StoredDtype::I8 => b[0] as i8 as f32,
            StoredDtype::U8 => b[0] as f32,
            StoredDtype::Bool => (b[0] != 0) as u8 as f32,
        }
    }

    /// All elements of little-endian `bytes`, as f32.
    pub(crate) fn decode(self, bytes: &[u8]) -> Vec<f32> {
        (0..bytes.len() / self.size()).map(|i| self.read(bytes, i)).collect()
    }
}

impl fmt::Display for StoredDtype {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.torch_name())
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct CheckpointTensor {
    pub name: String,
    pub shape: Vec<usize>,
    /// Type in the file (int64 for batch norm's `num_batches_tracked`, for instance).
    pub dtype: StoredDtype,
    pub data: Vec<f32>,
}

#[derive(Clone, Debug)]
pub struct Checkpoint {
    /// The file it came from, for error messages.
    pub path: PathBuf,
    /// In file order.
    pub tensors: Vec<CheckpointTensor>,
    pub metadata: BTreeMap<String, String>,
}

impl Checkpoint {
    pub fn get(&self, name: &str) -> Option<&CheckpointTensor> {
        self.tensors.iter().find(|t| t.name == name)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.tensors.iter().map(|t| t.name.as_str())
    }

    /// The data of tensor `name`, which must have `shape`.
    pub fn tensor(&self, name: &str, shape: &[usize]) -> Result<&[f32]> {
        let t = self.get(name).ok_or_else(|| self.missing(name, shape))?;
        if t.shape != shape {
            return Err(self.wrong_shape(t, shape));
        }
        Ok(&t.data)
    }

    /// Strict match (like PyTorch's `load_state_dict(strict=True)`): every expected name is
    /// present with its shape and nothing else is there. The error names the first
    /// missing tensor, else the first with a wrong shape, else the first unexpected one.
    pub fn check_against(&self, expected: &[(String, Vec<usize>)]) -> Result<()> {
        self.check_contains(expected)?;
        let wanted: HashSet<&str> = expected.iter().map(|(n, _)| n.as_str()).collect();
        if let Some(t) = self.tensors.iter().find(|t| !wanted.contains(t.name.as_str())) {
            bail!(
                "checkpoint {}: unexpected tensor '{}' with shape {:?}",
                self.path.display(),
                t.name,
                t.shape
            );
        }
        Ok(())
    }

    /// Like `check_against`, but extra tensors in the file are allowed (loading part of a
    /// network, e.g. VGG features without the classifier).
    pub fn check_contains(&self, expected: &[(String, Vec<usize>)]) -> Result<()> {
        let by_name: HashMap<&str, &CheckpointTensor> =
            self.tensors.iter().map(|t| (t.name.as_str(), t)).collect();
        if let Some((name, shape)) = expected.iter().find(|(n, _)| !by_name.contains_key(n.as_str())) {
            return Err(self.missing(name, shape));
        }
        for (name, shape) in expected {
            let t = by_name[name.as_str()];
            if &t.shape != shape {
                return Err(self.wrong_shape(t, shape));
            }
        }
        Ok(())
    }

    fn missing(&self, name: &str, shape: &[usize]) -> anyhow::Error {
        anyhow!("checkpoint {}: missing tensor '{}' (expected shape {:?})", self.path.display(), name, shape)
    }

    fn wrong_shape(&self, t: &CheckpointTensor, shape: &[usize]) -> anyhow::Error {
        anyhow!(
            "checkpoint {}: tensor '{}' has shape {:?}, expected {:?}",
            self.path.display(),
            t.name,
            t.shape,
            shape
        )
    }
}

/// Writes `tensors` (name, shape, data) and `metadata` as a safetensors file, atomically:
/// to `path.tmp`, flushed to disk, then renamed over `path`. (Not `atomic::write_atomic`:
/// the safetensors crate streams tensors only to a file path, and building the whole file
/// in memory first would double the peak memory of a large checkpoint.)
pub fn save_checkpoint(
    path: impl AsRef<Path>,
    tensors: &[(String, Vec<usize>, Vec<f32>)],
    metadata: &BTreeMap<String, String>,
) -> Result<()> {
    let path = path.as_ref();
    let mut seen = HashSet::new();
    let mut views = Vec::with_capacity(tensors.len());
    for (name, shape, data) in tensors {
        if !seen.insert(name.as_str()) {
            bail!("cannot save checkpoint {}: tensor '{}' appears twice", path.display(), name);
        }
        let numel: usize = shape.iter().product();
        if numel != data.len() {
            bail!(
                "cannot save checkpoint {}: tensor '{}' has shape {:?} ({} elements) but {} values",
                path.display(),
                name,
                shape,
                numel,
                data.len()
            );
        }
        let view = TensorView::new(Dtype::F32, shape.clone(), bytemuck::cast_slice(data))
            .map_err(|e| anyhow!("cannot save checkpoint {}: tensor '{}': {}", path.display(), name, e))?;
        views.push((name.as_str(), view));
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)
            .map_err(|e| anyhow!("cannot create folder {} for checkpoint: {}", dir.display(), e))?;
    }
    let tmp = tmp_path(path);
    let written = File::create(&tmp)
        .and_then(|f| {
            let mut w = std::io::BufWriter::new(f);
            write_sorted(&mut w, &views, metadata)?;
            std::io::Write::flush(&mut w)
        })
        .map_err(anyhow::Error::from)
        .and_then(|_| File::open(&tmp)?.sync_all().map_err(Into::into))
        .and_then(|_| std::fs::rename(&tmp, path).map_err(Into::into));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        bail!("cannot write checkpoint {}: {}", path.display(), e);
    }
    // Make the rename itself durable (best effort: not every platform can sync a folder).
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        if let Ok(d) = File::open(dir) {
            let _ = d.sync_all();
        }
    }
    Ok(())
}

/// The safetensors layout (u64 header length, JSON header, data) with the header's keys in
/// sorted order, so the same tensors always give the same bytes (the crate's serializer
/// takes metadata as a HashMap and writes it in an order that changes between runs).
fn write_sorted(
    w: &mut impl std::io::Write,
    views: &[(&str, TensorView<'_>)],
    metadata: &BTreeMap<String, String>,
) -> std::io::Result<()> {
    let mut header: BTreeMap<String, serde_json::Value> = BTreeMap::new();
    if !metadata.is_empty() {
        header.insert("__metadata__".into(), serde_json::json!(metadata));
    }
    let mut offset = 0usize;
    for (name, v) in views {
        let len = v.data().len();
        header.insert(
            name.to_string(),
            serde_json::json!({"dtype": "F32", "shape": v.shape(), "data_offsets": [offset, offset + len]}),
        );
        offset += len;
    }
    let mut text = serde_json::to_string(&header).expect("header serialises");
    // The data must start 8-byte aligned; pad the header with spaces as the format allows.
    while !(8 + text.len()).is_multiple_of(8) {
        text.push(' ');
    }
    w.write_all(&(text.len() as u64).to_le_bytes())?;
    w.write_all(text.as_bytes())?;
    for (_, v) in views {
        w.write_all(v.data())?;
    }
    Ok(())
}

/// Loads every tensor of a safetensors or PyTorch (`torch.save`) file.
pub fn load_checkpoint(path: impl AsRef<Path>) -> Result<Checkpoint> {
    load_checkpoint_filtered(path, |_| true)
}

/// Loads only the tensors whose name passes `keep` (the others are not even read from a
/// safetensors file). Metadata is always loaded.
pub fn load_checkpoint_filtered(path: impl AsRef<Path>, keep: impl Fn(&str) -> bool) -> Result<Checkpoint> {
    let path = path.as_ref();
    let mut file = open(path)?;
    let mut magic = [0u8; 4];
    let n = read_up_to(&mut file, &mut magic).map_err(|e| read_error(path, e))?;
    // A zip archive (torch.save since 1.6), or a pickle starting with torch's magic number
    // (PROTO n, LONG1 of 10 bytes: legacy torch.save). Read as a safetensors header length
    // either would exceed the 100 MB cap, so the test cannot misfire.
    let zip = n == 4 && magic == *b"PK\x03\x04";
    let legacy = n == 4 && magic[0] == 0x80 && magic[2..] == [0x8a, 0x0a];
    if zip || legacy {
        drop(file);
        return super::pth::load_pth_filtered(path, keep);
    }
    load_safetensors(path, file, &keep)
}

pub(crate) fn open(path: &Path) -> Result<File> {
    File::open(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => anyhow!("checkpoint {} not found", path.display()),
        _ => anyhow!("cannot open checkpoint {}: {}", path.display(), e),
    })
}

pub(crate) fn read_error(path: &Path, e: std::io::Error) -> anyhow::Error {
    anyhow!("cannot read checkpoint {}: {}", path.display(), e)
}

fn read_up_to(file: &mut File, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match file.read(&mut buf[n..])? {
            0 => break,
            k => n += k,
        }
    }
    Ok(n)
}

/// Header entry of one tensor in a safetensors file.
struct Entry {
    name: String,
    dtype: StoredDtype,
    shape: Vec<usize>,
    start: usize,
    end: usize,
}

fn load_safetensors(path: &Path, mut file: File, keep: &dyn Fn(&str) -> bool) -> Result<Checkpoint> {
    let shown = path.display();
    let file_len = file.metadata().map_err(|e| read_error(path, e))?.len() as usize;
    let corrupt = |what: String| anyhow!("checkpoint {shown} is not a valid safetensors file: {what}");
    if file_len < 8 {
        return Err(corrupt(format!("only {file_len} bytes (truncated?)")));
    }
    file.seek(SeekFrom::Start(0)).map_err(|e| read_error(path, e))?;
    let mut len_bytes = [0u8; 8];
    file.read_exact(&mut len_bytes).map_err(|e| read_error(path, e))?;
    let header_len = u64::from_le_bytes(len_bytes) as usize;
    // safetensors caps the header at 100 MB; anything larger is garbage, not a header.
    if header_len > 100_000_000 || 8 + header_len > file_len {
        return Err(corrupt(format!(
            "header of {header_len} bytes in a file of {file_len} bytes (truncated?)"
        )));
    }
    let mut header = vec![0u8; header_len];
    file.read_exact(&mut header).map_err(|e| read_error(path, e))?;
    let header: serde_json::Value =
        serde_json::from_slice(&header).map_err(|e| corrupt(format!("bad header ({e})")))?;
    let header = header.as_object().ok_or_else(|| corrupt("header is not a JSON object".into()))?;
    let data_len = file_len - 8 - header_len;

    let mut metadata = BTreeMap::new();
    let mut entries = Vec::new();
    for (name, info) in header {
        if name == "__metadata__" {
            let map = info.as_object().ok_or_else(|| corrupt("__metadata__ is not an object".into()))?;
            for (k, v) in map {
                let v = v.as_str().ok_or_else(|| corrupt(format!("metadata '{k}' is not a string")))?;
                metadata.insert(k.clone(), v.to_string());
            }
            continue;
        }
        let bad = |what: &str| corrupt(format!("tensor '{name}': {what}"));
        let dtype_name = info["dtype"].as_str().ok_or_else(|| bad("no dtype"))?;
        let dtype = StoredDtype::from_safetensors(dtype_name).ok_or_else(|| {
            anyhow!("checkpoint {shown}: tensor '{name}' has unsupported dtype {dtype_name}")
        })?;
        let shape = info["shape"]
            .as_array()
            .and_then(|a| a.iter().map(|v| v.as_u64().map(|v| v as usize)).collect::<Option<Vec<_>>>())
            .ok_or_else(|| bad("bad shape"))?;
        let offsets = info["data_offsets"]
            .as_array()
            .and_then(|a| a.iter().map(|v| v.as_u64().map(|v| v as usize)).collect::<Option<Vec<_>>>())
            .filter(|o| o.len() == 2 && o[0] <= o[1])
            .ok_or_else(|| bad("bad data_offsets"))?;
        let (start, end) = (offsets[0], offsets[1]);
        let numel =
            shape.iter().try_fold(1usize, |a, &d| a.checked_mul(d)).ok_or_else(|| bad("shape overflows"))?;
        if numel.checked_mul(dtype.size()) != Some(end - start) {
            return Err(bad(&format!("shape {shape:?} of {dtype} does not fit {} bytes", end - start)));
        }
        if end > data_len {
            bail!(
                "checkpoint {shown} is truncated: tensor '{name}' ends at byte {end} of the data, which holds {data_len} bytes"
            );
        }
        entries.push(Entry { name: name.clone(), dtype, shape, start, end });
    }
    entries.sort_by_key(|e| e.start);

    let mut tensors = Vec::new();
    let mut bytes = Vec::new();
    for e in entries.into_iter().filter(|e| keep(&e.name)) {
        bytes.resize(e.end - e.start, 0);
        file.seek(SeekFrom::Start((8 + header_len + e.start) as u64)).map_err(|err| read_error(path, err))?;
        file.read_exact(&mut bytes)
            .map_err(|err| anyhow!("cannot read tensor '{}' of checkpoint {shown}: {err}", e.name))?;
        tensors.push(CheckpointTensor {
            name: e.name,
            shape: e.shape,
            dtype: e.dtype,
            data: e.dtype.decode(&bytes),
        });
    }
    Ok(Checkpoint { path: path.to_path_buf(), tensors, metadata })
}
