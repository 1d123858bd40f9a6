//! State dicts as host data: what checkpoints store and load, with PyTorch's names and
//! dtypes (float32 tensors, int64 `num_batches_tracked` scalars).

use super::entry::{Entry, Walk};
use anyhow::{bail, Result};
use std::collections::{HashMap, HashSet};

#[derive(Clone, Debug, PartialEq)]
pub enum StateData {
    F32(Vec<f32>),
    I64(Vec<i64>),
}

impl StateData {
    /// PyTorch's name of the dtype ("float32", "int64"), as in the reference files.
    pub fn dtype_name(&self) -> &'static str {
        match self {
            StateData::F32(_) => "float32",
            StateData::I64(_) => "int64",
        }
    }
    pub fn len(&self) -> usize {
        match self {
            StateData::F32(v) => v.len(),
            StateData::I64(v) => v.len(),
        }
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// One named tensor of a state dict. `shape` is [] for scalars.
#[derive(Clone, Debug, PartialEq)]
pub struct StateEntry {
    pub name: String,
    pub shape: Vec<usize>,
    pub data: StateData,
}

impl StateEntry {
    pub fn f32(name: &str, shape: &[usize], data: Vec<f32>) -> StateEntry {
        StateEntry { name: name.to_string(), shape: shape.to_vec(), data: StateData::F32(data) }
    }
    pub fn i64(name: &str, shape: &[usize], data: Vec<i64>) -> StateEntry {
        StateEntry { name: name.to_string(), shape: shape.to_vec(), data: StateData::I64(data) }
    }
    /// "[128, 64, 4, 4] float32"
    pub fn describe(&self) -> String {
        format!("{:?} {}", self.shape, self.data.dtype_name())
    }
}

pub(super) fn state_dict(walk: Walk) -> Vec<StateEntry> {
    let mut out = Vec::new();
    walk(&mut |name, e| match e {
        Entry::Param(t, _) | Entry::Buffer(t) => out.push(StateEntry::f32(name, t.shape(), t.to_vec_f32())),
        Entry::Counter(c) => out.push(StateEntry::i64(name, &[], vec![c.get()])),
        Entry::Rng(_) => {}
    });
    out
}

/// Loads `entries` into `m` by name. With `allow_unexpected`, entries the module does
/// not hold are ignored (a truncated feature extractor reading a full checkpoint);
/// otherwise they are an error. Validates everything before changing anything.
pub(crate) fn load_entries(walk: Walk, entries: &[StateEntry], allow_unexpected: bool) -> Result<()> {
    let mut given: HashMap<&str, &StateEntry> = HashMap::new();
    for e in entries {
        if given.insert(e.name.as_str(), e).is_some() {
            bail!("duplicate entry `{}`", e.name);
        }
        if e.data.len() != e.shape.iter().product::<usize>() {
            bail!("entry `{}` holds {} values for shape {:?}", e.name, e.data.len(), e.shape);
        }
    }
    let expected = state_dict_layout(walk);
    let names: HashSet<&str> = expected.iter().map(|(n, _, _)| n.as_str()).collect();
    if !allow_unexpected {
        if let Some(e) = entries.iter().find(|e| !names.contains(e.name.as_str())) {
            bail!("unexpected entry `{}` ({}): the model has no such tensor", e.name, e.describe());
        }
    }
    for (name, shape, dtype) in &expected {
        match given.get(name.as_str()) {
            None => bail!("missing entry `{name}` ({shape:?} {dtype})"),
            Some(e) if e.shape != *shape || e.data.dtype_name() != *dtype => {
                bail!("entry `{name}` is {} but the model expects {shape:?} {dtype}", e.describe())
            }
            Some(_) => {}
        }
    }
    walk(&mut |name, e| match e {
        Entry::Param(t, _) | Entry::Buffer(t) => match &given[name].data {
            StateData::F32(v) => t.assign_f32(v),
            StateData::I64(_) => unreachable!("dtypes checked above"),
        },
        Entry::Counter(c) => match &given[name].data {
            StateData::I64(v) => c.set(v[0]),
            StateData::F32(_) => unreachable!("dtypes checked above"),
        },
        Entry::Rng(_) => {}
    });
    Ok(())
}

pub(super) fn load_state_dict(walk: Walk, entries: &[StateEntry]) -> Result<()> {
    load_entries(walk, entries, false)
}

/// (name, shape, dtype name) of every state_dict entry of `m`, without copying data.
pub(crate) fn state_dict_layout(walk: Walk) -> Vec<(String, Vec<usize>, &'static str)> {
    let mut out = Vec::new();
    walk(&mut |name, e| match e {
        Entry::Param(t, _) | Entry::Buffer(t) => out.push((name.to_string(), t.shape().to_vec(), "float32")),
        Entry::Counter(_) => out.push((name.to_string(), vec![], "int64")),
        Entry::Rng(_) => {}
    });
    out
}

pub(super) fn set_rng_state(walk: Walk, state: &[(String, u64)]) -> Result<()> {
    let given: HashMap<&str, u64> = state.iter().map(|(n, v)| (n.as_str(), *v)).collect();
    let mut streams = Vec::new();
    walk(&mut |name, e| {
        if let Entry::Rng(_) = e {
            streams.push(name.to_string());
        }
    });
    if let Some(n) = streams.iter().find(|n| !given.contains_key(n.as_str())) {
        bail!("random state of `{n}` missing");
    }
    if let Some((n, _)) = state.iter().find(|(n, _)| !streams.contains(n)) {
        bail!("unexpected random state `{n}`: the model has no such dropout layer");
    }
    walk(&mut |name, e| {
        if let Entry::Rng(c) = e {
            c.set(given[name]);
        }
    });
    Ok(())
}
