//! What a loaded checkpoint holds (named f32 tensors plus string metadata), and the
//! strict name/shape checks a model runs against it.

use super::dtype::StoredDtype;
use anyhow::{anyhow, bail, Result};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::PathBuf;

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
