//! The three convolution primitives as implicit GEMMs with split K: fp32 SIMT kernels
//! (kernels/conv.cu), or tensor-core kernels in tf32 / bf16 (kernels/conv_tc.cu, host plan in
//! device/tc.rs), as the backend's precision says.

use super::{dev, expect_len, tiles};
use crate::backend::device::tc::{self, check_int32, kernel_args, ConvOp};
use crate::backend::device::DeviceBackend;
use crate::backend::precision::Precision;
use crate::backend::{ConvGeom, Storage};

pub fn conv2d(d: &DeviceBackend, x: &Storage, w: &Storage, g: &ConvGeom) -> Storage {
    expect_len("conv2d", "x", x, g.x_len());
    expect_len("conv2d", "weight", w, g.w_len());
    gemm(d, ConvOp::Fwd, x, w, g, g.y_len(), "conv2d_fwd")
}

pub fn conv2d_backward_input(d: &DeviceBackend, gy: &Storage, w: &Storage, g: &ConvGeom) -> Storage {
    expect_len("conv2d_backward_input", "gy", gy, g.y_len());
    expect_len("conv2d_backward_input", "weight", w, g.w_len());
    gemm(d, ConvOp::Dgrad, gy, w, g, g.x_len(), "conv2d_bwd_input")
}

pub fn conv2d_backward_weight(d: &DeviceBackend, x: &Storage, gy: &Storage, g: &ConvGeom) -> Storage {
    expect_len("conv2d_backward_weight", "x", x, g.x_len());
    expect_len("conv2d_backward_weight", "gy", gy, g.y_len());
    gemm(d, ConvOp::Wgrad, x, gy, g, g.w_len(), "conv2d_bwd_weight")
}

/// One conv op: split K when few output tiles meet a long K (the splits are summed in a fixed
/// order by reduce.cu:sum_splits). The dgrad grid has one z per stride phase; x covers the
/// largest phase, and the K chunks are cut from the largest phase K.
fn gemm(
    d: &DeviceBackend,
    op: ConvOp,
    a: &Storage,
    b: &Storage,
    g: &ConvGeom,
    len: usize,
    simt: &str,
) -> Storage {
    check_int32(simt, &[g.x_len(), g.y_len(), g.w_len()]);
    let (m, n, k, z) = tc::gemm_view(op, g);
    let p = d.precision();
    let out = if p == Precision::Fp32 {
        d.split_k(len, tiles(m) * tiles(n) * z, k, |out, splits, chunk| {
            let args = kernel_args(op, g, dev(a), dev(b), out, chunk);
            d.run("conv", simt, [tiles(n), tiles(m), splits * z], args);
        })
    } else {
        let tile = tc::pick_tile(m, n);
        d.split_k(len, tc::out_blocks(op, g, tile), k, |out, splits, chunk| {
            tc::launch_conv(&**d.runtime(), op, p, g, dev(a), dev(b), out, tile, splits, chunk);
        })
    };
    Storage::Device(out)
}
