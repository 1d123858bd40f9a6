//! Host <-> device copies, fills and clones (kernels/elementwise.cu: fill).

use super::{dev, f32_only};
use crate::backend::device::DeviceBackend;
use crate::backend::{DType, Storage};

pub fn from_f64(d: &DeviceBackend, data: &[f64], dtype: DType) -> Storage {
    f32_only(dtype);
    let v: Vec<f32> = data.iter().map(|&x| x as f32).collect();
    from_f32(d, &v, dtype)
}

pub fn from_f32(d: &DeviceBackend, data: &[f32], dtype: DType) -> Storage {
    f32_only(dtype);
    let b = d.alloc(data.len());
    d.runtime().htod(&b, data);
    Storage::Device(b)
}

pub fn to_f64(d: &DeviceBackend, s: &Storage) -> Vec<f64> {
    to_f32(d, s).into_iter().map(f64::from).collect()
}

pub fn to_f32(d: &DeviceBackend, s: &Storage) -> Vec<f32> {
    d.runtime().dtoh(dev(s))
}

pub fn zeros(d: &DeviceBackend, len: usize, dtype: DType) -> Storage {
    full(d, len, 0.0, dtype)
}

pub fn full(d: &DeviceBackend, len: usize, value: f64, dtype: DType) -> Storage {
    f32_only(dtype);
    let b = d.alloc(len);
    d.fill_buf(&b, value as f32);
    Storage::Device(b)
}

pub fn clone_storage(d: &DeviceBackend, s: &Storage) -> Storage {
    let src = dev(s);
    let b = d.alloc(src.len());
    d.runtime().dtod(&b, 0, src, 0, src.len());
    Storage::Device(b)
}
