//! 2-D convolution lowered to GEMM, one image at a time.
//!
//! With K = c_in*kh*kw and P = oh*ow, `im2col` unfolds an image [c_in, h, w] into
//! cols [K, P] (row (ci*kh + ki)*kw + kj, column oy*ow + ox). Then
//!   forward:          y[c_out, P]  = W[c_out, K] cols[K, P]
//!   backward input:   cols[K, P]   = W^T gy[c_out, P], scattered back by `col2im`
//!   backward weight:  gW[c_out, K] = sum over images of gy cols^T
//! Pointwise convolutions (1x1, stride 1, no padding) have cols == x and skip the unfold.
//! The transposed convolution's forward pass is `backward_input`, so all three matter.

use rayon::prelude::*;

use super::elem::{same_len, Elem, PAR_MIN};
use super::gemm::{matmul, Mat};
use crate::backend::ConvGeom;

fn pointwise(g: &ConvGeom) -> bool {
    g.kh == 1 && g.kw == 1 && g.stride == 1 && g.pad == 0
}

/// The output columns ox in [lo, hi) whose input column ox*stride + kj - pad lies in 0..w;
/// the same formula serves rows.
fn valid_range(out: usize, inp: usize, k: usize, stride: usize, pad: usize) -> (usize, usize) {
    let hi = if inp + pad > k { (inp + pad - k).div_ceil(stride).min(out) } else { 0 };
    let lo = if pad > k { (pad - k).div_ceil(stride).min(hi) } else { 0 };
    (lo, hi)
}

/// Runs f(ci, block) over the kh*kw*P-row blocks of cols that belong to input channel ci.
fn per_channel<T: Elem>(cols: &mut [T], block: usize, f: impl Fn(usize, &mut [T]) + Sync + Send) {
    if cols.len() < PAR_MIN {
        cols.chunks_mut(block).enumerate().for_each(|(c, b)| f(c, b));
    } else {
        cols.par_chunks_mut(block).enumerate().for_each(|(c, b)| f(c, b));
    }
}

/// x [c_in, h, w] -> cols [K, P].
fn im2col<T: Elem>(x: &[T], g: &ConvGeom, cols: &mut [T]) {
    let (p, s) = (g.oh * g.ow, g.stride);
    per_channel(cols, g.kh * g.kw * p, |ci, block| {
        let plane = &x[ci * g.h * g.w..(ci + 1) * g.h * g.w];
        for ki in 0..g.kh {
            let (ylo, yhi) = valid_range(g.oh, g.h, ki, s, g.pad);
            for kj in 0..g.kw {
                let (xlo, xhi) = valid_range(g.ow, g.w, kj, s, g.pad);
                let row = &mut block[(ki * g.kw + kj) * p..(ki * g.kw + kj + 1) * p];
                row[..ylo * g.ow].fill(T::zero());
                row[yhi * g.ow..].fill(T::zero());
                for oy in ylo..yhi {
                    let src = &plane[(oy * s + ki - g.pad) * g.w..][..g.w];
                    let dst = &mut row[oy * g.ow..(oy + 1) * g.ow];
                    dst[..xlo].fill(T::zero());
                    dst[xhi..].fill(T::zero());
                    // First input column of this row segment; ox = xlo maps to it.
                    let x0 = xlo * s + kj - g.pad;
                    if s == 1 {
                        dst[xlo..xhi].copy_from_slice(&src[x0..x0 + (xhi - xlo)]);
                    } else {
                        for (d, v) in dst[xlo..xhi].iter_mut().zip(src[x0..].iter().step_by(s)) {
                            *d = *v;
                        }
                    }
                }
            }
        }
    });
}

/// cols [K, P] -> gx [c_in, h, w], adding overlapping contributions (gx starts at zero).
fn col2im<T: Elem>(cols: &[T], g: &ConvGeom, gx: &mut [T]) {
    let (p, s) = (g.oh * g.ow, g.stride);
    let block = g.kh * g.kw * p;
    per_channel(gx, g.h * g.w, |ci, plane| {
        let rows = &cols[ci * block..(ci + 1) * block];
        for ki in 0..g.kh {
            let (ylo, yhi) = valid_range(g.oh, g.h, ki, s, g.pad);
            for kj in 0..g.kw {
                let (xlo, xhi) = valid_range(g.ow, g.w, kj, s, g.pad);
                let row = &rows[(ki * g.kw + kj) * p..(ki * g.kw + kj + 1) * p];
                for oy in ylo..yhi {
                    let dst = &mut plane[(oy * s + ki - g.pad) * g.w..][..g.w];
                    let src = &row[oy * g.ow + xlo..oy * g.ow + xhi];
                    let x0 = xlo * s + kj - g.pad;
                    for (d, v) in dst[x0..].iter_mut().step_by(s).zip(src) {
                        *d = *d + *v;
                    }
                }
            }
        }
    });
}

fn check(op: &str, g: &ConvGeom, x: (&str, usize, usize), other: (&str, usize, usize)) {
    assert!(g.stride >= 1, "{op}: stride must be at least 1");
    same_len(op, x.0, x.1, "its geometry", x.2);
    same_len(op, other.0, other.1, "its geometry", other.2);
}

/// y [n, c_out, oh, ow] = conv(x [n, c_in, h, w], w [c_out, c_in, kh, kw]); no bias.
pub fn conv2d<T: Elem>(x: &[T], w: &[T], g: &ConvGeom) -> Vec<T> {
    check("conv2d", g, ("x", x.len(), g.x_len()), ("w", w.len(), g.w_len()));
    let (k, p, xs) = (g.c_in * g.kh * g.kw, g.oh * g.ow, g.c_in * g.h * g.w);
    let mut y = vec![T::zero(); g.y_len()];
    let mut cols = if pointwise(g) { Vec::new() } else { vec![T::zero(); k * p] };
    for i in 0..g.n {
        let xi = &x[i * xs..(i + 1) * xs];
        let b: &[T] = if pointwise(g) {
            xi
        } else {
            im2col(xi, g, &mut cols);
            &cols
        };
        matmul(&mut y[i * g.c_out * p..(i + 1) * g.c_out * p], p, false, Mat::row_major(w, k), Mat::row_major(b, p), g.c_out, p, k, T::one());
    }
    y
}

/// gx [n, c_in, h, w] from gy [n, c_out, oh, ow].
pub fn conv2d_backward_input<T: Elem>(gy: &[T], w: &[T], g: &ConvGeom) -> Vec<T> {
    check("conv2d_backward_input", g, ("gy", gy.len(), g.y_len()), ("w", w.len(), g.w_len()));
    let (k, p, xs) = (g.c_in * g.kh * g.kw, g.oh * g.ow, g.c_in * g.h * g.w);
    let mut gx = vec![T::zero(); g.x_len()];
    let mut cols = if pointwise(g) { Vec::new() } else { vec![T::zero(); k * p] };
    for i in 0..g.n {
        let gyi = Mat::row_major(&gy[i * g.c_out * p..(i + 1) * g.c_out * p], p);
        let gxi = &mut gx[i * xs..(i + 1) * xs];
        if pointwise(g) {
            matmul(gxi, p, false, Mat::transposed(w, k), gyi, k, p, g.c_out, T::one());
        } else {
            matmul(&mut cols, p, false, Mat::transposed(w, k), gyi, k, p, g.c_out, T::one());
            col2im(&cols, g, gxi);
        }
    }
    gx
}

/// gw [c_out, c_in, kh, kw], summed over the batch.
pub fn conv2d_backward_weight<T: Elem>(x: &[T], gy: &[T], g: &ConvGeom) -> Vec<T> {
    check("conv2d_backward_weight", g, ("x", x.len(), g.x_len()), ("gy", gy.len(), g.y_len()));
    let (k, p, xs) = (g.c_in * g.kh * g.kw, g.oh * g.ow, g.c_in * g.h * g.w);
    let mut gw = vec![T::zero(); g.w_len()];
    let mut cols = if pointwise(g) { Vec::new() } else { vec![T::zero(); k * p] };
    for i in 0..g.n {
        let xi = &x[i * xs..(i + 1) * xs];
        let b: &[T] = if pointwise(g) {
            xi
        } else {
            im2col(xi, g, &mut cols);
            &cols
        };
        let gyi = Mat::row_major(&gy[i * g.c_out * p..(i + 1) * g.c_out * p], p);
        matmul(&mut gw, k, i > 0, gyi, Mat::transposed(b, p), g.c_out, k, p, T::one());
    }
    gw
}
