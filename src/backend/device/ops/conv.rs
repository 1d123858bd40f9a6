//! The three convolution primitives as implicit GEMMs with split K (kernels/conv.cu).

use super::{dev, expect_len, tiles};
use crate::backend::device::launch::Args;
use crate::backend::device::DeviceBackend;
use crate::backend::{ConvGeom, Storage};

pub fn conv2d(d: &DeviceBackend, x: &Storage, w: &Storage, g: &ConvGeom) -> Storage {
    expect_len("conv2d", "x", x, g.x_len());
    expect_len("conv2d", "weight", w, g.w_len());
    let (m, n, k) = (g.c_out, g.n * g.oh * g.ow, g.c_in * g.kh * g.kw);
    let y = d.split_k(g.y_len(), tiles(m) * tiles(n), k, |out, splits, chunk| {
        let args = conv_args(Args::new().buf(dev(x)).buf(dev(w)).buf(out), g).int(chunk);
        d.run("conv", "conv2d_fwd", [tiles(n), tiles(m), splits], args);
    });
    Storage::Device(y)
}

pub fn conv2d_backward_input(d: &DeviceBackend, gy: &Storage, w: &Storage, g: &ConvGeom) -> Storage {
    expect_len("conv2d_backward_input", "gy", gy, g.y_len());
    expect_len("conv2d_backward_input", "weight", w, g.w_len());
    // One grid z per stride phase (times the splits); x covers the largest phase, and
    // the K chunks are cut from the largest phase K.
    let s = g.stride;
    let (m, n) = (g.c_in, g.n * g.h.div_ceil(s) * g.w.div_ceil(s));
    let k = g.c_out * g.kh.div_ceil(s) * g.kw.div_ceil(s);
    let gx = d.split_k(g.x_len(), tiles(m) * tiles(n) * s * s, k, |out, splits, chunk| {
        let args = conv_args(Args::new().buf(dev(gy)).buf(dev(w)).buf(out), g).int(chunk);
        d.run("conv", "conv2d_bwd_input", [tiles(n), tiles(m), splits * s * s], args);
    });
    Storage::Device(gx)
}

pub fn conv2d_backward_weight(d: &DeviceBackend, x: &Storage, gy: &Storage, g: &ConvGeom) -> Storage {
    expect_len("conv2d_backward_weight", "x", x, g.x_len());
    expect_len("conv2d_backward_weight", "gy", gy, g.y_len());
    let (m, n, k) = (g.c_out, g.c_in * g.kh * g.kw, g.n * g.oh * g.ow);
    let gw = d.split_k(m * n, tiles(m) * tiles(n), k, |out, splits, chunk| {
        let args = conv_args(Args::new().buf(dev(x)).buf(dev(gy)).buf(out), g).int(chunk);
        d.run("conv", "conv2d_bwd_weight", [tiles(n), tiles(m), splits], args);
    });
    Storage::Device(gw)
}

/// The geometry parameters shared by the three conv kernels, in their order.
fn conv_args(a: Args, g: &ConvGeom) -> Args {
    a.int(g.n)
        .int(g.c_in)
        .int(g.h)
        .int(g.w)
        .int(g.c_out)
        .int(g.kh)
        .int(g.kw)
        .int(g.stride)
        .int(g.pad)
        .int(g.oh)
        .int(g.ow)
}
