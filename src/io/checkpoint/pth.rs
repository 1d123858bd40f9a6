//! Reads PyTorch `torch.save` checkpoints (state_dicts) without Python.
//!
//! Two layouts exist:
//! - zip (torch >= 1.6): `<name>/data.pkl` holds the pickled object, each tensor storage
//!   is a raw little-endian record `<name>/data/<key>`;
//! - legacy (older torch, e.g. the published pix2pix models): in one stream, pickles of the
//!   magic number, the format version, system info, the object, the list of storage keys,
//!   then for each key an int64 element count followed by the raw data.
//!
//! The pickles are run by `pickle.rs`; only tensors are returned. Nested dicts give dotted
//! names.

use super::dtype::StoredDtype;
use super::file::{open, read_error};
use super::pickle::{dict_get, TensorRef, Unpickler, Value};
use super::tensors::{Checkpoint, CheckpointTensor};
use anyhow::{anyhow, bail, Result};
use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::Path;
use std::rc::Rc;

/// Loads every tensor of a `torch.save` file.
pub fn load_pth(path: impl AsRef<Path>) -> Result<Checkpoint> {
    load_pth_filtered(path, |_| true)
}

/// Loads the tensors whose name passes `keep`.
pub fn load_pth_filtered(path: impl AsRef<Path>, keep: impl Fn(&str) -> bool) -> Result<Checkpoint> {
    let path = path.as_ref();
    let mut bytes = Vec::new();
    open(path)?.read_to_end(&mut bytes).map_err(|e| read_error(path, e))?;
    let corrupt =
        |e: anyhow::Error| anyhow!("checkpoint {} is not a readable PyTorch file: {e:#}", path.display());
    let tensors = if bytes.starts_with(b"PK\x03\x04") {
        read_zip(&bytes, &keep).map_err(corrupt)?
    } else {
        read_legacy(&bytes, &keep).map_err(corrupt)?
    };
    if tensors.is_empty() {
        bail!("checkpoint {} holds no tensors", path.display());
    }
    Ok(Checkpoint { path: path.to_path_buf(), tensors, metadata: BTreeMap::new() })
}

// ---- The two file layouts ----

fn read_zip(bytes: &[u8], keep: &dyn Fn(&str) -> bool) -> Result<Vec<CheckpointTensor>> {
    let mut zip =
        zip::ZipArchive::new(std::io::Cursor::new(bytes)).map_err(|e| anyhow!("bad zip archive ({e})"))?;
    // The records share a folder named after the file it was first saved as.
    let pkl = zip
        .file_names()
        .filter(|n| n.ends_with("data.pkl") && n.matches('/').count() == 1)
        .min_by_key(|n| n.len())
        .ok_or_else(|| anyhow!("no data.pkl in the archive"))?
        .to_string();
    let prefix = &pkl[..pkl.len() - "data.pkl".len()];
    let mut read = |name: &str| -> Result<Vec<u8>> {
        let mut f = zip.by_name(name).map_err(|e| anyhow!("record {name}: {e}"))?;
        let mut v = Vec::new();
        f.read_to_end(&mut v).map_err(|e| anyhow!("record {name}: {e}"))?;
        Ok(v)
    };
    if let Ok(order) = read(&format!("{prefix}byteorder")) {
        if order != b"little" {
            bail!("byte order '{}' is not supported", String::from_utf8_lossy(&order));
        }
    }
    let pickle = read(&pkl)?;
    let root = Unpickler::new(&pickle, 0).load()?;

    let mut found = Vec::new();
    collect_tensors("", &root, &mut found)?;
    let mut storages: HashMap<String, Vec<u8>> = HashMap::new();
    let mut out = Vec::new();
    for (name, t) in found.into_iter().filter(|(n, _)| keep(n)) {
        let key = &t.storage.key;
        if !storages.contains_key(key) {
            let data = read(&format!("{prefix}data/{key}"))?;
            storages.insert(key.clone(), data);
        }
        out.push(materialise(name, &t, &storages[key])?);
    }
    Ok(out)
}

fn read_legacy(bytes: &[u8], keep: &dyn Fn(&str) -> bool) -> Result<Vec<CheckpointTensor>> {
    const MAGIC: [u8; 10] = [0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19];
    // Five pickles in a row, each with its own memo; the storages' bytes follow them.
    let next = |pos: usize| -> Result<(Value, usize, HashMap<String, StoredDtype>)> {
        let mut u = Unpickler::new(bytes, pos);
        let v = u.load()?;
        Ok((v, u.pos, u.storages))
    };
    let (magic, pos, _) = next(0)?;
    if !matches!(&magic, Value::Long(b) if b[..] == MAGIC) {
        bail!("not a zip archive and no torch magic number (a tar file from torch < 0.4 is not supported)");
    }
    let (version, pos, _) = next(pos)?;
    if !matches!(version, Value::Int(1001)) {
        bail!("unsupported legacy format version {version:?}");
    }
    let (sys_info, pos, _) = next(pos)?;
    if let Some(Value::Bool(false)) = dict_get(&sys_info, "little_endian") {
        bail!("big-endian checkpoints are not supported");
    }
    let (root, pos, dtypes) = next(pos)?;
    let (keys, mut pos, _) = next(pos)?;
    let keys: Vec<String> = match keys {
        Value::List(l) => l.borrow().iter().map(|k| k.as_str().map(str::to_string)).collect::<Option<_>>(),
        _ => None,
    }
    .ok_or_else(|| anyhow!("bad list of storage keys"))?;

    let mut found = Vec::new();
    collect_tensors("", &root, &mut found)?;
    // Storages follow in key order, each an int64 element count and the raw elements.
    let mut storages: HashMap<String, &[u8]> = HashMap::new();
    for key in &keys {
        let count = bytes.get(pos..pos + 8).ok_or_else(|| anyhow!("truncated at storage {key}"))?;
        let count = i64::from_le_bytes(count.try_into().unwrap());
        pos += 8;
        let dtype = *dtypes.get(key).ok_or_else(|| anyhow!("storage {key} is listed but never used"))?;
        let len = usize::try_from(count).ok().and_then(|c| c.checked_mul(dtype.size()));
        let data = len
            .and_then(|len| bytes.get(pos..pos + len))
            .ok_or_else(|| anyhow!("truncated in storage {key}"))?;
        pos += data.len();
        storages.insert(key.clone(), data);
    }
    let mut out = Vec::new();
    for (name, t) in found.into_iter().filter(|(n, _)| keep(n)) {
        let data =
            storages.get(&t.storage.key).ok_or_else(|| anyhow!("tensor '{name}': its storage is missing"))?;
        out.push(materialise(name, &t, data)?);
    }
    Ok(out)
}

/// Tensors of a (possibly nested) dict, with dotted names, in pickle order.
fn collect_tensors(prefix: &str, v: &Value, out: &mut Vec<(String, Rc<TensorRef>)>) -> Result<()> {
    let Value::Dict(d) = v else { return Ok(()) };
    for (k, val) in d.borrow().iter() {
        let key = match k {
            Value::Str(s) => s.clone(),
            Value::Int(i) => i.to_string(),
            _ => continue,
        };
        let name = if prefix.is_empty() { key } else { format!("{prefix}.{key}") };
        match val {
            Value::Tensor(t) => out.push((name, t.clone())),
            Value::Dict(_) => collect_tensors(&name, val, out)?,
            Value::Object(what) if what.starts_with("torch._utils._rebuild") => {
                bail!("tensor '{name}' is stored with {what}, which is not supported")
            }
            _ => {}
        }
    }
    Ok(())
}

/// Copies a tensor out of its storage (`bytes`), following offset and strides.
fn materialise(name: String, t: &TensorRef, bytes: &[u8]) -> Result<CheckpointTensor> {
    let dtype = t.storage.dtype;
    let available = bytes.len() / dtype.size();
    let numel: usize = t.shape.iter().product();
    if numel > 0 {
        let last = t.offset + t.shape.iter().zip(&t.stride).map(|(&n, &s)| (n - 1) * s).sum::<usize>();
        if last >= available {
            bail!("tensor '{name}' reaches element {last} of a storage holding {available}");
        }
    }
    let contiguous = {
        let mut expect = 1;
        let mut ok = true;
        for (&n, &s) in t.shape.iter().zip(&t.stride).rev() {
            ok &= n == 1 || s == expect;
            expect *= n;
        }
        ok
    };
    let s = dtype.size();
    let data = if contiguous {
        dtype.decode(&bytes[t.offset * s..(t.offset + numel) * s])
    } else {
        // Walk the indices in row-major order, gathering through the strides.
        let mut data = Vec::with_capacity(numel);
        let mut index = vec![0usize; t.shape.len()];
        for _ in 0..numel {
            let at = t.offset + index.iter().zip(&t.stride).map(|(i, s)| i * s).sum::<usize>();
            data.push(dtype.read(bytes, at));
            for d in (0..index.len()).rev() {
                index[d] += 1;
                if index[d] < t.shape[d] {
                    break;
                }
                index[d] = 0;
            }
        }
        data
    };
    Ok(CheckpointTensor { name, shape: t.shape.clone(), dtype, data })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::io::checkpoint::pickle::StorageRef;

    #[test]
    fn gathers_non_contiguous_views() {
        // Storage 0..6 as a 2x3 matrix; its transpose has strides (1, 3).
        let bytes: Vec<u8> = (0..6).flat_map(|i| (i as f32).to_le_bytes()).collect();
        let storage = Rc::new(StorageRef { key: "0".into(), dtype: StoredDtype::F32 });
        let t = TensorRef { storage: storage.clone(), offset: 0, shape: vec![3, 2], stride: vec![1, 3] };
        let c = materialise("t".into(), &t, &bytes).unwrap();
        assert_eq!(c.data, vec![0.0, 3.0, 1.0, 4.0, 2.0, 5.0]);
        let t = TensorRef { storage, offset: 4, shape: vec![2, 2], stride: vec![1, 1] };
        let err = materialise("w".into(), &t, &bytes).unwrap_err().to_string();
        assert!(err.contains("'w'") && err.contains("storage"), "{err}");
    }
}
