//! The launch code of every op family, one file per family mirroring `backend/cpu/` and
//! `kernels/`. Each function takes the `DeviceBackend` and queues kernels on its runtime.
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

use super::launch::{grid_1d, launch, split, Args, BLOCK, GEMM_BK, GEMM_TILE};
use super::{DevBuf, DeviceBackend};
use crate::backend::{DType, Storage};

/// Minimum elements per block of a split reduction (256 threads x 8).
const MIN_SPLIT: usize = 2048;
/// Minimum K per split of a split-K GEMM (32 K-slices).
const MIN_SPLIT_K: usize = 512;

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

impl DeviceBackend {
    fn alloc(&self, len: usize) -> DevBuf {
        self.runtime().alloc(len)
    }

    fn run(&self, module: &str, kernel: &str, grid: [usize; 3], args: Args) {
        launch(&**self.runtime(), module, kernel, grid, BLOCK, args);
    }

    fn fill_buf(&self, b: &DevBuf, value: f32) {
        self.run("elementwise", "fill", grid_1d(b.len()), Args::new().buf(b).int(b.len()).f32(value));
    }

    /// out[i] = scale * sum_z ws[z*len + i].
    fn sum_splits(&self, ws: &DevBuf, splits: usize, len: usize, scale: f32, out: &DevBuf) {
        self.run(
            "reduce",
            "sum_splits",
            grid_1d(len),
            Args::new().buf(ws).int(splits).int(len).f32(scale).buf(out),
        );
    }

    /// Runs a split-K GEMM kernel: `launch(target, splits, chunk)` writes `splits` partial
    /// copies of an `out_len` output (K ranges of `chunk`) into `target`, which is the output
    /// itself when one split suffices; otherwise the copies are summed in a fixed order.
    fn split_k(
        &self,
        out_len: usize,
        out_tiles: usize,
        k: usize,
        launch: impl FnOnce(&DevBuf, usize, usize),
    ) -> DevBuf {
        let (splits, chunk) = split(out_tiles, k, MIN_SPLIT_K, GEMM_BK);
        let out = self.alloc(out_len);
        if splits == 1 {
            launch(&out, 1, chunk);
        } else {
            let ws = self.alloc(splits * out_len);
            launch(&ws, splits, chunk);
            self.sum_splits(&ws, splits, out_len, 1.0, &out);
        }
        out
    }

    /// Second stage of a full reduction: a one-element storage scale * sum(partials).
    fn finish_sum(&self, partials: &DevBuf, count: usize, scale: f32) -> Storage {
        let out = self.alloc(1);
        self.run(
            "reduce",
            "sum_finish",
            [1, 1, 1],
            Args::new().buf(partials).int(count).f32(scale).buf(&out),
        );
        Storage::Device(out)
    }
}
