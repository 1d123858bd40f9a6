//! The launch code of every op family, one file per family mirroring `backend/cpu/` and
//! `kernels/`. Each function takes the `DeviceBackend` (handle.rs) and queues kernels on its runtime.
//!
//! Nothing here waits for the device except `to_f32` / `to_f64` / `synchronize`. Workspaces
//! are dropped (returned to the runtime's allocator) right after their kernels are queued;
//! the runtime reuses memory in stream order, so that is safe.

pub mod adam;
pub mod conv;
pub mod elementwise;
pub mod gram;
pub mod layout;
pub mod loss;
pub mod memory;
pub mod norm;
pub mod pad;
pub mod pool;
pub mod random;
pub mod reduce;

use super::launch::GEMM_TILE;
use super::DevBuf;
use crate::backend::{DType, Storage};

/// Minimum elements per block of a split reduction (256 threads x 8).
const MIN_SPLIT: usize = 2048;

fn f32_only(dtype: DType) {
    assert!(dtype == DType::F32, "device backends run f32 (asked for {dtype})");
}

fn dev(s: &Storage) -> &DevBuf {
    match s {
        Storage::Device(b) => b,
        Storage::F64(_) => panic!("device backends run f32 (got an f64 host storage)"),
        Storage::F32(_) => {
            panic!("device backend got a host (cpu) storage; move tensors to the device first")
        }
    }
}

fn same_len(op: &str, a: &Storage, b: &Storage) {
    assert_eq!(a.len(), b.len(), "{op}: operand lengths differ ({} vs {})", a.len(), b.len());
}

fn expect_len(op: &str, what: &str, s: &Storage, len: usize) {
    assert_eq!(s.len(), len, "{op}: {what} has {} elements, expected {len}", s.len());
}

fn tiles(n: usize) -> usize {
    n.div_ceil(GEMM_TILE)
}
