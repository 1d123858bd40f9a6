//! Full sums, scalar broadcasts, per-channel sums and bias adds (kernels/reduce.cu,
//! kernels/elementwise.cu: broadcast_scalar).

use super::{dev, expect_len, MIN_SPLIT};
use crate::backend::device::launch::{grid_1d, grid_rows, reduce_blocks, split, Args};
use crate::backend::device::DeviceBackend;
use crate::backend::Storage;

pub fn sum_all(d: &DeviceBackend, x: &Storage) -> Storage {
    let n = x.len();
    let blocks = reduce_blocks(n);
    let partials = d.alloc(blocks);
    d.run("reduce", "sum_partial", [blocks, 1, 1], Args::new().buf(dev(x)).int(n).buf(&partials));
    d.finish_sum(&partials, blocks, 1.0)
}

pub fn broadcast_scalar(d: &DeviceBackend, s: &Storage, len: usize, scale: f64) -> Storage {
    expect_len("broadcast_scalar", "the scalar", s, 1);
    let y = d.alloc(len);
    d.run(
        "elementwise",
        "broadcast_scalar",
        grid_1d(len),
        Args::new().buf(dev(s)).buf(&y).int(len).f32(scale as f32),
    );
    Storage::Device(y)
}

pub fn channel_sum(d: &DeviceBackend, x: &Storage, n: usize, c: usize, hw: usize) -> Storage {
    expect_len("channel_sum", "x", x, n * c * hw);
    let out = d.alloc(c);
    let (splits, chunk) = split(c, n * hw, MIN_SPLIT, 1);
    let ws = if splits > 1 { Some(d.alloc(splits * c)) } else { None };
    let target = ws.as_ref().unwrap_or(&out);
    d.run(
        "reduce",
        "seg_partial",
        [c, splits, 1],
        Args::new().buf(dev(x)).int(c).int(hw).int(n).int(chunk).buf(target),
    );
    if let Some(ws) = &ws {
        d.sum_splits(ws, splits, c, 1.0, &out);
    }
    Storage::Device(out)
}

pub fn add_channel_bias(
    d: &DeviceBackend,
    x: &Storage,
    bias: &Storage,
    n: usize,
    c: usize,
    hw: usize,
) -> Storage {
    expect_len("add_channel_bias", "x", x, n * c * hw);
    expect_len("add_channel_bias", "bias", bias, c);
    let y = d.alloc(x.len());
    d.run(
        "reduce",
        "add_channel_bias",
        grid_rows(n * c, hw),
        Args::new().buf(dev(x)).buf(dev(bias)).buf(&y).int(c).int(hw),
    );
    Storage::Device(y)
}
