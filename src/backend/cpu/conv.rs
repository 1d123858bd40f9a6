//! 2-D convolution lowered to GEMM, one image and one band of output rows at a time.
//!
//! With K = c_in*kh*kw and P = oh*ow, `im2col` unfolds an image [c_in, h, w] into
//! cols [K, P] (row (ci*kh + ki)*kw + kj, column oy*ow + ox). Then
//!   forward:          y[c_out, P]  = W[c_out, K] cols[K, P]
//!   backward input:   cols[K, P]   = W^T gy[c_out, P], scattered back by `col2im`
//!   backward weight:  gW[c_out, K] = sum over images of gy cols^T
//! The columns are built for a band of output rows at a time so the buffer stays small
//! (VGG at 512x512 would otherwise unfold 600 MB per image). Pointwise convolutions
//! (1x1, stride 1, no padding) have cols == x and skip the unfold.
//! The transposed convolution's forward pass is `backward_input`, so all three matter.

use rayon::prelude::*;

use super::float::{same_len, zeroed, Elem, PAR_MIN};
use super::gemm::{matmul, Mat};
use crate::backend::ConvGeom;

/// Most elements of unfolded columns held at once (8 MiB in f32).
const COLS_BUDGET: usize = 1 << 21;

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

fn cols_budget() -> usize {
    #[cfg(test)]
    if let Some(b) = tests::BUDGET.get() {
        return b;
    }
    COLS_BUDGET
}

/// Whether backward_input builds a band's columns transposed ([pb, K] rather than [K, pb]).
fn transposed_cols(pb: usize, k: usize) -> bool {
    #[cfg(test)]
    if let Some(t) = tests::TRANSPOSED.get() {
        return t;
    }
    // gemm runs fastest with long destination rows, so with far fewer output pixels than K
    // the transposed form wins; but col2im then reads it with stride K, which costs more
    // once the band outgrows the cache. Bounds measured on the U-Net decoder shapes.
    pb >= 32 && 4 * pb <= k
}

/// Runs f(ci, chunk) over consecutive chunks of `data`, one per input channel.
fn per_channel<T: Elem>(data: &mut [T], chunk: usize, f: impl Fn(usize, &mut [T]) + Sync + Send) {
    if chunk == 0 {
        return;
    }
    if data.len() < PAR_MIN {
        data.chunks_mut(chunk).enumerate().for_each(|(c, b)| f(c, b));
    } else {
        data.par_chunks_mut(chunk).enumerate().for_each(|(c, b)| f(c, b));
    }
}

/// Output rows [oy0, oy1) of one image.
#[derive(Clone, Copy)]
struct Band {
    oy0: usize,
    oy1: usize,
}

/// The bands an image is processed in; one band for pointwise convolutions.
fn bands(g: &ConvGeom) -> impl Iterator<Item = Band> {
    let k = g.c_in * g.kh * g.kw;
    let rows = if pointwise(g) { g.oh } else { (cols_budget() / (k * g.ow).max(1)).clamp(1, g.oh.max(1)) };
    let oh = g.oh;
    (0..oh.div_ceil(rows)).map(move |b| Band { oy0: b * rows, oy1: ((b + 1) * rows).min(oh) })
}

/// Where element (k, p) of a band's columns lives: k * ks + p * ps.
#[derive(Clone, Copy)]
struct Layout {
    ks: usize,
    ps: usize,
}

/// Image x [c_in, h, w] -> the band's columns [K, pb] (pb = band rows * ow).
fn im2col<T: Elem>(x: &[T], g: &ConvGeom, band: Band, cols: &mut [T]) {
    let s = g.stride;
    let pb = (band.oy1 - band.oy0) * g.ow;
    per_channel(&mut cols[..g.c_in * g.kh * g.kw * pb], g.kh * g.kw * pb, |ci, block| {
        let plane = &x[ci * g.h * g.w..(ci + 1) * g.h * g.w];
        for ki in 0..g.kh {
            let (ylo, yhi) = valid_range(g.oh, g.h, ki, s, g.pad);
            let (ylo, yhi) = (ylo.clamp(band.oy0, band.oy1), yhi.clamp(band.oy0, band.oy1));
            for kj in 0..g.kw {
                let (xlo, xhi) = valid_range(g.ow, g.w, kj, s, g.pad);
                let row = &mut block[(ki * g.kw + kj) * pb..(ki * g.kw + kj + 1) * pb];
                row[..(ylo - band.oy0) * g.ow].fill(T::zero());
                row[(yhi - band.oy0) * g.ow..].fill(T::zero());
                for oy in ylo..yhi {
                    let src = &plane[(oy * s + ki - g.pad) * g.w..][..g.w];
                    let dst = &mut row[(oy - band.oy0) * g.ow..(oy - band.oy0 + 1) * g.ow];
                    dst[..xlo].fill(T::zero());
                    dst[xhi..].fill(T::zero());
                    // Input column of ox = xlo.
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

/// Adds the band's columns (laid out as `lay`) into the image gradient gx [c_in, h, w].
fn col2im<T: Elem>(cols: &[T], lay: Layout, g: &ConvGeom, band: Band, gx: &mut [T]) {
    let s = g.stride;
    per_channel(gx, g.h * g.w, |ci, plane| {
        for ki in 0..g.kh {
            let (ylo, yhi) = valid_range(g.oh, g.h, ki, s, g.pad);
            let (ylo, yhi) = (ylo.clamp(band.oy0, band.oy1), yhi.clamp(band.oy0, band.oy1));
            for kj in 0..g.kw {
                let (xlo, xhi) = valid_range(g.ow, g.w, kj, s, g.pad);
                let k = (ci * g.kh + ki) * g.kw + kj;
                for oy in ylo..yhi {
                    let dst = &mut plane[(oy * s + ki - g.pad) * g.w..][..g.w];
                    let p0 = (oy - band.oy0) * g.ow;
                    let x0 = xlo * s + kj - g.pad;
                    if lay.ps == 1 {
                        let src = &cols[k * lay.ks + p0 + xlo..k * lay.ks + p0 + xhi];
                        for (d, v) in dst[x0..].iter_mut().step_by(s).zip(src) {
                            *d = *d + *v;
                        }
                    } else {
                        for (d, ox) in dst[x0..].iter_mut().step_by(s).zip(xlo..xhi) {
                            *d = *d + cols[k * lay.ks + (p0 + ox) * lay.ps];
                        }
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

/// Scratch for one band's columns (empty for pointwise convolutions).
fn scratch<T: Elem>(g: &ConvGeom) -> Vec<T> {
    if pointwise(g) {
        return Vec::new();
    }
    let rows = bands(g).next().map_or(0, |b| b.oy1 - b.oy0);
    zeroed(g.c_in * g.kh * g.kw * rows * g.ow)
}

/// y [n, c_out, oh, ow] = conv(x [n, c_in, h, w], w [c_out, c_in, kh, kw]); no bias.
pub fn conv2d<T: Elem>(x: &[T], w: &[T], g: &ConvGeom) -> Vec<T> {
    check("conv2d", g, ("x", x.len(), g.x_len()), ("w", w.len(), g.w_len()));
    let (k, p, xs) = (g.c_in * g.kh * g.kw, g.oh * g.ow, g.c_in * g.h * g.w);
    let mut y = zeroed(g.y_len());
    let mut cols = scratch(g);
    for i in 0..g.n {
        let xi = &x[i * xs..(i + 1) * xs];
        let yi = &mut y[i * g.c_out * p..(i + 1) * g.c_out * p];
        for band in bands(g) {
            let (p0, pb) = (band.oy0 * g.ow, (band.oy1 - band.oy0) * g.ow);
            let rhs = if pointwise(g) {
                Mat::row_major(xi, p)
            } else {
                im2col(xi, g, band, &mut cols);
                Mat::row_major(&cols[..], pb)
            };
            matmul(&mut yi[p0..], p, false, Mat::row_major(w, k), rhs, g.c_out, pb, k, T::one());
        }
    }
    y
}

/// gx [n, c_in, h, w] from gy [n, c_out, oh, ow].
pub fn conv2d_backward_input<T: Elem>(gy: &[T], w: &[T], g: &ConvGeom) -> Vec<T> {
    check("conv2d_backward_input", g, ("gy", gy.len(), g.y_len()), ("w", w.len(), g.w_len()));
    let (k, p, xs) = (g.c_in * g.kh * g.kw, g.oh * g.ow, g.c_in * g.h * g.w);
    let mut gx = zeroed(g.x_len());
    let mut cols = scratch(g);
    for i in 0..g.n {
        let gyi = &gy[i * g.c_out * p..(i + 1) * g.c_out * p];
        let gxi = &mut gx[i * xs..(i + 1) * xs];
        if pointwise(g) {
            matmul(gxi, p, false, Mat::transposed(w, k), Mat::row_major(gyi, p), k, p, g.c_out, T::one());
            continue;
        }
        for band in bands(g) {
            let (p0, pb) = (band.oy0 * g.ow, (band.oy1 - band.oy0) * g.ow);
            let lay = if transposed_cols(pb, k) {
                // [pb, K] = gy^T W
                matmul(
                    &mut cols,
                    k,
                    false,
                    Mat::transposed(&gyi[p0..], p),
                    Mat::row_major(w, k),
                    pb,
                    k,
                    g.c_out,
                    T::one(),
                );
                Layout { ks: 1, ps: k }
            } else {
                // [K, pb] = W^T gy
                matmul(
                    &mut cols,
                    pb,
                    false,
                    Mat::transposed(w, k),
                    Mat::row_major(&gyi[p0..], p),
                    k,
                    pb,
                    g.c_out,
                    T::one(),
                );
                Layout { ks: pb, ps: 1 }
            };
            col2im(&cols, lay, g, band, gxi);
        }
    }
    gx
}

/// gw [c_out, c_in, kh, kw], summed over the batch.
pub fn conv2d_backward_weight<T: Elem>(x: &[T], gy: &[T], g: &ConvGeom) -> Vec<T> {
    check("conv2d_backward_weight", g, ("x", x.len(), g.x_len()), ("gy", gy.len(), g.y_len()));
    let (k, p, xs) = (g.c_in * g.kh * g.kw, g.oh * g.ow, g.c_in * g.h * g.w);
    let mut gw = zeroed(g.w_len());
    let mut cols = scratch(g);
    let mut first = true;
    for i in 0..g.n {
        let xi = &x[i * xs..(i + 1) * xs];
        let gyi = &gy[i * g.c_out * p..(i + 1) * g.c_out * p];
        for band in bands(g) {
            let (p0, pb) = (band.oy0 * g.ow, (band.oy1 - band.oy0) * g.ow);
            let rhs = if pointwise(g) {
                Mat::transposed(xi, p)
            } else {
                im2col(xi, g, band, &mut cols);
                Mat::transposed(&cols[..], pb)
            };
            matmul(&mut gw, k, !first, Mat::row_major(&gyi[p0..], p), rhs, g.c_out, k, pb, T::one());
            first = false;
        }
    }
    gw
}

#[cfg(test)]
mod tests {
    //! The oracle tests (tests/cpu_backend.rs) run the default plan; these check that
    //! other band sizes and column layouts give the same results.
    use std::cell::Cell;

    use super::*;
    use crate::backend::philox;

    thread_local! {
        pub static BUDGET: Cell<Option<usize>> = const { Cell::new(None) };
        pub static TRANSPOSED: Cell<Option<bool>> = const { Cell::new(None) };
    }

    fn rnd(len: usize, seed: u64) -> Vec<f64> {
        (0..len as u64).map(|i| philox::normal(seed, i)).collect()
    }

    fn run(g: &ConvGeom, budget: Option<usize>, transposed: Option<bool>) -> [Vec<f64>; 3] {
        BUDGET.set(budget);
        TRANSPOSED.set(transposed);
        let (x, w, gy) = (rnd(g.x_len(), 1), rnd(g.w_len(), 2), rnd(g.y_len(), 3));
        let out = [conv2d(&x, &w, g), conv2d_backward_input(&gy, &w, g), conv2d_backward_weight(&x, &gy, g)];
        BUDGET.set(None);
        TRANSPOSED.set(None);
        out
    }

    #[test]
    fn bands_and_layouts_agree() {
        let shapes = [
            ConvGeom::forward(2, 3, 7, 5, 4, (3, 2), 2, 1),
            ConvGeom::forward(2, 3, 9, 8, 5, (4, 4), 2, 1),
            ConvGeom::forward(1, 2, 9, 8, 3, (3, 3), 3, 2),
            ConvGeom::forward(1, 4, 6, 7, 3, (3, 3), 1, 1),
        ];
        for g in &shapes {
            let base = run(g, None, Some(false));
            // A budget of one element gives one output row per band.
            for (budget, tr) in [
                (None, Some(true)),
                (Some(1), Some(false)),
                (Some(1), Some(true)),
                (Some(2 * g.c_in * g.kh * g.kw * g.ow), Some(true)),
            ] {
                let other = run(g, budget, tr);
                for (a, b) in base.iter().zip(&other) {
                    assert!(
                        a.iter().zip(b).all(|(u, v)| (u - v).abs() < 1e-12),
                        "{g:?} budget {budget:?} transposed {tr:?}"
                    );
                }
            }
        }
    }
}
