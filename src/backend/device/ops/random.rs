//! Philox random fills and dropout masks (kernels/random.cu), bit-identical to
//! `backend::philox` on the CPU.

use super::f32_only;
use crate::backend::device::launch::{grid_1d, Args};
use crate::backend::device::DeviceBackend;
use crate::backend::{DType, Storage};

pub fn randn(d: &DeviceBackend, len: usize, seed: u64, mean: f64, std: f64, dtype: DType) -> Storage {
    f32_only(dtype);
    let b = d.alloc(len);
    d.run(
        "random",
        "rand_normal",
        grid_1d(len),
        Args::new().buf(&b).int(len).u64(seed).f32(mean as f32).f32(std as f32),
    );
    Storage::Device(b)
}

pub fn rand_uniform(d: &DeviceBackend, len: usize, seed: u64, lo: f64, hi: f64, dtype: DType) -> Storage {
    f32_only(dtype);
    let b = d.alloc(len);
    d.run(
        "random",
        "rand_uniform",
        grid_1d(len),
        Args::new().buf(&b).int(len).u64(seed).f32(lo as f32).f32(hi as f32),
    );
    Storage::Device(b)
}

pub fn dropout_mask(d: &DeviceBackend, len: usize, p: f64, seed: u64, dtype: DType) -> Storage {
    f32_only(dtype);
    // The same integer threshold as philox::keep, so masks are bit-identical.
    let threshold = (p * 16_777_216.0).round() as u32;
    let scale = (1.0 / (1.0 - p)) as f32;
    let y = d.alloc(len);
    d.run(
        "random",
        "dropout_mask",
        grid_1d(len),
        Args::new().buf(&y).int(len).u64(seed).u32(threshold).f32(scale),
    );
    Storage::Device(y)
}
