//! The `DeviceBackend` handle (a runtime and a matrix-product precision) and the launch
//! helpers every op file in `ops/` uses. `backend.rs` implements the `Backend` trait on it by
//! dispatching to `ops/`; this file sits below both.

use std::sync::Arc;

use super::launch::{grid_1d, launch, split, Args, BLOCK, GEMM_BK};
use super::{DevBuf, Runtime};
use crate::backend::precision::Precision;
use crate::backend::Storage;

/// Minimum K per split of a split-K GEMM (32 K-slices).
const MIN_SPLIT_K: usize = 512;

/// The device backend. Cheap to clone; all state lives in the runtime.
#[derive(Clone)]
pub struct DeviceBackend {
    rt: Arc<dyn Runtime>,
    precision: Precision,
}

impl DeviceBackend {
    /// A backend computing its matrix products in fp32 (see `with_precision`).
    pub fn new(rt: Arc<dyn Runtime>) -> Self {
        DeviceBackend { rt, precision: Precision::Fp32 }
    }

    /// The same runtime with convolutions (and Gram matrices) in precision `p`.
    pub fn with_precision(mut self, p: Precision) -> Self {
        self.precision = p;
        self
    }

    pub fn precision(&self) -> Precision {
        self.precision
    }

    pub fn runtime(&self) -> &Arc<dyn Runtime> {
        &self.rt
    }
}

impl DeviceBackend {
    pub(super) fn alloc(&self, len: usize) -> DevBuf {
        self.runtime().alloc(len)
    }

    pub(super) fn run(&self, module: &str, kernel: &str, grid: [usize; 3], args: Args) {
        launch(&**self.runtime(), module, kernel, grid, BLOCK, args);
    }

    pub(super) fn fill_buf(&self, b: &DevBuf, value: f32) {
        self.run("elementwise", "fill", grid_1d(b.len()), Args::new().buf(b).int(b.len()).f32(value));
    }

    /// out[i] = scale * sum_z ws[z*len + i].
    pub(super) fn sum_splits(&self, ws: &DevBuf, splits: usize, len: usize, scale: f32, out: &DevBuf) {
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
    pub(super) fn split_k(
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
    pub(super) fn finish_sum(&self, partials: &DevBuf, count: usize, scale: f32) -> Storage {
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
