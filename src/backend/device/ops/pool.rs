//! 2x2 max and average pooling with their backward (kernels/pool.cu).

use super::{dev, expect_len};
use crate::backend::device::consts::{POOL_AVG, POOL_MAX};
use crate::backend::device::launch::{grid_1d, Args};
use crate::backend::device::DeviceBackend;
use crate::backend::{Pool, Storage};

pub fn pool2(d: &DeviceBackend, op: Pool, x: &Storage, n: usize, c: usize, h: usize, w: usize) -> Storage {
    expect_len("pool2", "x", x, n * c * h * w);
    let len = n * c * (h / 2) * (w / 2);
    let y = d.alloc(len);
    let args = Args::new().buf(dev(x)).buf(&y).int(n * c).int(h).int(w).i32(pool_code(op));
    d.run("pool", "pool2_fwd", grid_1d(len), args);
    Storage::Device(y)
}

pub fn pool2_backward(
    d: &DeviceBackend,
    op: Pool,
    x: &Storage,
    gy: &Storage,
    n: usize,
    c: usize,
    h: usize,
    w: usize,
) -> Storage {
    expect_len("pool2_backward", "x", x, n * c * h * w);
    expect_len("pool2_backward", "gy", gy, n * c * (h / 2) * (w / 2));
    let len = x.len();
    let gx = d.alloc(len);
    let args = Args::new().buf(dev(x)).buf(dev(gy)).buf(&gx).int(n * c).int(h).int(w).i32(pool_code(op));
    d.run("pool", "pool2_bwd", grid_1d(len), args);
    Storage::Device(gx)
}

fn pool_code(op: Pool) -> i32 {
    match op {
        Pool::Max => POOL_MAX,
        Pool::Avg => POOL_AVG,
    }
}
