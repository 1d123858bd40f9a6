//! The safetensors format: our own checkpoints are written in it atomically, and read back
//! tensor by tensor (only the ones asked for).

use super::dtype::StoredDtype;
use super::file::read_error;
use super::tensors::{Checkpoint, CheckpointTensor};
use crate::io::atomic::tmp_path;
use ::safetensors::tensor::{Dtype, TensorView};
use anyhow::{anyhow, bail, Result};
use std::collections::{BTreeMap, HashSet};
use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

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

/// Header entry of one tensor in a safetensors file.
struct Entry {
    name: String,
    dtype: StoredDtype,
    shape: Vec<usize>,
    start: usize,
    end: usize,
}

pub(super) fn load_safetensors(
    path: &Path,
    mut file: File,
    keep: &dyn Fn(&str) -> bool,
) -> Result<Checkpoint> {
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
        let dtype = dtype_from_name(dtype_name).ok_or_else(|| {
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

/// The safetensors name of a dtype (`F32`, `I64`, ...).
fn dtype_from_name(name: &str) -> Option<StoredDtype> {
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
