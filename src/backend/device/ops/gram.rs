//! Gram matrices and their backward (kernels/gram.cu).

use super::{dev, expect_len, tiles};
use crate::backend::device::launch::Args;
use crate::backend::device::DeviceBackend;
use crate::backend::Storage;

pub fn gram(d: &DeviceBackend, x: &Storage, n: usize, c: usize, hw: usize) -> Storage {
    expect_len("gram", "x", x, n * c * hw);
    let scale = (1.0 / (c * hw) as f64) as f32;
    let out = d.split_k(n * c * c, n * tiles(c) * tiles(c), hw, |out, splits, chunk| {
        let args = Args::new().buf(dev(x)).buf(out).int(n).int(c).int(hw).int(splits).int(chunk).f32(scale);
        d.run("gram", "gram_fwd", [tiles(c), tiles(c), n * splits], args);
    });
    Storage::Device(out)
}

pub fn gram_backward(d: &DeviceBackend, x: &Storage, gg: &Storage, n: usize, c: usize, hw: usize) -> Storage {
    expect_len("gram_backward", "x", x, n * c * hw);
    expect_len("gram_backward", "gG", gg, n * c * c);
    let gx = d.alloc(n * c * hw);
    let scale = (1.0 / (c * hw) as f64) as f32;
    let args = Args::new().buf(dev(x)).buf(dev(gg)).buf(&gx).int(c).int(hw).f32(scale);
    d.run("gram", "gram_bwd", [tiles(hw), tiles(c), n], args);
    Storage::Device(gx)
}
