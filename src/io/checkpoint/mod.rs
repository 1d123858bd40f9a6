//! Checkpoints: named f32 tensors plus string metadata, stored as safetensors.
//!
//! `load_checkpoint` also reads PyTorch `.pth` files (`pth.rs`, whose pickles `pickle.rs`
//! runs), recognised by their first bytes, so a reference checkpoint loads through the same
//! call. Every error names the file (and the tensor, where one is at fault) in one line.

mod dtype;
mod file;
mod pickle;
mod pth;
mod safetensors;
mod tensors;
mod value;

pub use dtype::StoredDtype;
pub use pth::{load_pth, load_pth_filtered};
pub use safetensors::save_checkpoint;
pub use tensors::{Checkpoint, CheckpointTensor};

use anyhow::Result;
use file::{open, read_error, read_up_to};
use std::path::Path;

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
        return pth::load_pth_filtered(path, keep);
    }
    safetensors::load_safetensors(path, file, &keep)
}
