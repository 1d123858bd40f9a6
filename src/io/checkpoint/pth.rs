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
//!
//! Bounded by what the file holds: zip records are read up to their declared size and at
//! most `ZIP_RATIO` times the archive's size in all (torch stores records uncompressed, so
//! more is a zip bomb); every offset, stride and element count is checked arithmetic
//! against the storage's bytes; a tensor may not have more elements than its storage, and
//! all tensors together at most `2 x` the file's bytes (names sharing one storage through
//! the memo cannot multiply memory); at most `MAX_ENTRIES` dict entries are walked.

use super::dtype::StoredDtype;
use super::file::{open, read_error};
use super::pickle::{dict_get, TensorRef, Unpickler, Value};
use super::tensors::{Checkpoint, CheckpointTensor};
use anyhow::{anyhow, bail, Result};
use std::collections::{BTreeMap, HashMap};
use std::io::{Cursor, Read};
use std::path::Path;
use std::rc::Rc;

/// Most bytes decompressed from a zip archive, as a multiple of its size (plus 1 MiB).
const ZIP_RATIO: u64 = 4;
/// Most dict entries walked looking for tensors.
const MAX_ENTRIES: usize = 1 << 20;
/// Longest dotted tensor name.
const MAX_NAME: usize = 4096;

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
    drop(bytes);
    if tensors.is_empty() {
        bail!("checkpoint {} holds no tensors", path.display());
    }
    Ok(Checkpoint { path: path.to_path_buf(), tensors, metadata: BTreeMap::new() })
}

// ---- The two file layouts ----

/// One record of the archive, read to its end (so the zip crate checks its CRC-32) and no
/// further than its declared size or what is left of `budget`.
fn read_record(zip: &mut zip::ZipArchive<Cursor<&[u8]>>, name: &str, budget: &mut u64) -> Result<Vec<u8>> {
    let f = zip.by_name(name).map_err(|e| anyhow!("record {name}: {e}"))?;
    let declared = f.size();
    if declared > *budget {
        bail!("record {name} would decompress to {declared} bytes, more than the archive can hold");
    }
    let mut v = Vec::with_capacity(declared as usize);
    f.take(declared + 1).read_to_end(&mut v).map_err(|e| anyhow!("record {name}: {e}"))?;
    if v.len() as u64 != declared {
        bail!("record {name} holds {} bytes, its directory entry says {declared}", v.len());
    }
    *budget -= declared;
    Ok(v)
}

fn read_zip(bytes: &[u8], keep: &dyn Fn(&str) -> bool) -> Result<Vec<CheckpointTensor>> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).map_err(|e| anyhow!("bad zip archive ({e})"))?;
    let mut budget = (bytes.len() as u64).saturating_mul(ZIP_RATIO) + (1 << 20);
    // The records share a folder named after the file it was first saved as.
    let pkl = zip
        .file_names()
        .filter(|n| n.ends_with("data.pkl") && n.matches('/').count() == 1)
        .min_by_key(|n| n.len())
        .ok_or_else(|| anyhow!("no data.pkl in the archive"))?
        .to_string();
    let prefix = &pkl[..pkl.len() - "data.pkl".len()];
    let order = format!("{prefix}byteorder");
    if zip.index_for_name(&order).is_some() {
        let order = read_record(&mut zip, &order, &mut budget)?;
        if order != b"little" {
            bail!("byte order '{}' is not supported", String::from_utf8_lossy(&order));
        }
    }
    let pickle = read_record(&mut zip, &pkl, &mut budget)?;
    let root = Unpickler::new(&pickle, 0).load()?;

    let mut found = Vec::new();
    collect_tensors("", &root, &mut found)?;
    drop(root);
    let mut storages: HashMap<String, Vec<u8>> = HashMap::new();
    let mut out = Vec::new();
    let mut limit = Limit::new(bytes.len());
    for (name, t) in found.into_iter().filter(|(n, _)| keep(n)) {
        let key = &t.storage.key;
        if !storages.contains_key(key) {
            let data = read_record(&mut zip, &format!("{prefix}data/{key}"), &mut budget)?;
            storages.insert(key.clone(), data);
        }
        out.push(materialise(name, &t, &storages[key], &mut limit)?);
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
        Value::List(l) => l.0.borrow().iter().map(|k| k.as_str().map(str::to_string)).collect::<Option<_>>(),
        _ => None,
    }
    .ok_or_else(|| anyhow!("bad list of storage keys"))?;

    let mut found = Vec::new();
    collect_tensors("", &root, &mut found)?;
    drop(root);
    // Storages follow in key order, each an int64 element count and the raw elements.
    let mut storages: HashMap<String, &[u8]> = HashMap::new();
    for key in &keys {
        let count =
            bytes.get(pos..pos.saturating_add(8)).ok_or_else(|| anyhow!("truncated at storage {key}"))?;
        let count = i64::from_le_bytes(count.try_into().unwrap());
        pos += 8;
        let dtype = *dtypes.get(key).ok_or_else(|| anyhow!("storage {key} is listed but never used"))?;
        let len = usize::try_from(count).ok().and_then(|c| c.checked_mul(dtype.size()));
        let data = len
            .and_then(|len| bytes.get(pos..pos.checked_add(len)?))
            .ok_or_else(|| anyhow!("truncated in storage {key}"))?;
        pos += data.len();
        storages.insert(key.clone(), data);
    }
    let mut out = Vec::new();
    let mut limit = Limit::new(bytes.len());
    for (name, t) in found.into_iter().filter(|(n, _)| keep(n)) {
        let data =
            storages.get(&t.storage.key).ok_or_else(|| anyhow!("tensor '{name}': its storage is missing"))?;
        out.push(materialise(name, &t, data, &mut limit)?);
    }
    Ok(out)
}

/// Tensors of a (possibly nested) dict, with dotted names, in pickle order. The pickle
/// machine has checked the tree (no cycle, bounded depth); the entries walked are bounded
/// too, since a dict shared n times at each of d levels has n^d paths.
fn collect_tensors(prefix: &str, v: &Value, out: &mut Vec<(String, Rc<TensorRef>)>) -> Result<()> {
    let mut walked = 0;
    collect(prefix, v, out, &mut walked)
}

fn collect(
    prefix: &str,
    v: &Value,
    out: &mut Vec<(String, Rc<TensorRef>)>,
    walked: &mut usize,
) -> Result<()> {
    let Value::Dict(d) = v else { return Ok(()) };
    for (k, val) in d.0.borrow().items.iter() {
        *walked += 1;
        if *walked > MAX_ENTRIES {
            bail!("more than {MAX_ENTRIES} dict entries (sub-dicts shared many times?)");
        }
        let key = match k {
            Value::Str(s) => s.to_string(),
            Value::Int(i) => i.to_string(),
            _ => continue,
        };
        let name = if prefix.is_empty() { key } else { format!("{prefix}.{key}") };
        if name.len() > MAX_NAME {
            bail!("a tensor name longer than {MAX_NAME} bytes");
        }
        match val {
            Value::Tensor(t) => out.push((name, t.clone())),
            Value::Dict(_) => collect(&name, val, out, walked)?,
            Value::Object(what) if what.starts_with("torch._utils._rebuild") => {
                bail!("tensor '{name}' is stored with {what}, which is not supported")
            }
            _ => {}
        }
    }
    Ok(())
}

/// What is left of the elements all tensors of one file may have together.
struct Limit(usize);

impl Limit {
    fn new(file_len: usize) -> Limit {
        Limit(file_len.saturating_mul(2).saturating_add(1024))
    }
}

/// Copies a tensor out of its storage (`bytes`), following offset and strides.
fn materialise(name: String, t: &TensorRef, bytes: &[u8], limit: &mut Limit) -> Result<CheckpointTensor> {
    let dtype = t.storage.dtype;
    let available = bytes.len() / dtype.size();
    let numel = t.shape.iter().try_fold(1usize, |a, &n| a.checked_mul(n));
    let numel = numel.ok_or_else(|| anyhow!("tensor '{name}': shape {:?} overflows", t.shape))?;
    if numel > available {
        bail!("tensor '{name}' has {numel} elements but its storage holds {available} (broadcast views are not supported)");
    }
    if numel > limit.0 {
        bail!("tensor '{name}': the tensors would hold more elements than the file has bytes (one storage shared by many names?)");
    }
    limit.0 -= numel;
    if t.offset > available {
        bail!("tensor '{name}' starts at element {} of a storage holding {available}", t.offset);
    }
    if numel > 0 {
        let reach = t
            .shape
            .iter()
            .zip(&t.stride)
            .try_fold(t.offset, |a, (&n, &s)| a.checked_add((n - 1).checked_mul(s)?));
        match reach {
            Some(last) if last < available => {}
            Some(last) => bail!("tensor '{name}' reaches element {last} of a storage holding {available}"),
            None => bail!("tensor '{name}': offset {} and strides {:?} overflow", t.offset, t.stride),
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
        // Walk the indices in row-major order, gathering through the strides (every index
        // is at most the `last` checked above).
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
        let c = materialise("t".into(), &t, &bytes, &mut Limit::new(100)).unwrap();
        assert_eq!(c.data, vec![0.0, 3.0, 1.0, 4.0, 2.0, 5.0]);
        let t = TensorRef { storage: storage.clone(), offset: 4, shape: vec![2, 2], stride: vec![1, 1] };
        let err = materialise("w".into(), &t, &bytes, &mut Limit::new(100)).unwrap_err().to_string();
        assert!(err.contains("'w'") && err.contains("storage"), "{err}");
        // 2^33 elements of stride 0 over one element, an empty tensor past the end, strides
        // that wrap: each refused before anything is allocated.
        let views =
            [(vec![1 << 33], vec![0], 0), (vec![0], vec![1], 7), (vec![2, 2], vec![usize::MAX, 1], 0)];
        for (shape, stride, offset) in views {
            let t = TensorRef { storage: storage.clone(), offset, shape, stride };
            assert!(materialise("x".into(), &t, &bytes, &mut Limit::new(100)).is_err());
        }
        // Tensors sharing one storage cannot add up to more than the file's bytes allow.
        let t = TensorRef { storage, offset: 0, shape: vec![6], stride: vec![1] };
        let mut limit = Limit(8);
        assert!(materialise("a".into(), &t, &bytes, &mut limit).is_ok());
        assert!(materialise("b".into(), &t, &bytes, &mut limit).is_err());
    }
}
