//! 2x2 stride-2 pooling; odd trailing rows and columns are dropped, as PyTorch does.

use super::float::{for_rows_mut, same_len, zeroed, Elem};
use crate::backend::Pool;

/// x [n, c, h, w] -> y [n, c, h/2, w/2].
pub fn pool2<T: Elem>(op: Pool, x: &[T], n: usize, c: usize, h: usize, w: usize) -> Vec<T> {
    same_len("pool2", "x", x.len(), "n*c*h*w", n * c * h * w);
    let (oh, ow) = (h / 2, w / 2);
    let quarter = T::of(0.25);
    let mut y = zeroed(n * c * oh * ow);
    for_rows_mut(&mut y, oh * ow, |p, out| {
        let plane = &x[p * h * w..(p + 1) * h * w];
        for oy in 0..oh {
            let r0 = &plane[2 * oy * w..];
            let r1 = &plane[(2 * oy + 1) * w..];
            for ox in 0..ow {
                let (a, b, c, d) = (r0[2 * ox], r0[2 * ox + 1], r1[2 * ox], r1[2 * ox + 1]);
                out[oy * ow + ox] = match op {
                    Pool::Max => a.max(b).max(c.max(d)),
                    Pool::Avg => (a + b + c + d) * quarter,
                };
            }
        }
    });
    y
}

/// Max routes each gradient to the first maximum of its window (row-major order);
/// average spreads it evenly. Dropped rows/columns get zero.
pub fn pool2_backward<T: Elem>(
    op: Pool,
    x: &[T],
    gy: &[T],
    n: usize,
    c: usize,
    h: usize,
    w: usize,
) -> Vec<T> {
    same_len("pool2_backward", "x", x.len(), "n*c*h*w", n * c * h * w);
    let (oh, ow) = (h / 2, w / 2);
    same_len("pool2_backward", "gy", gy.len(), "n*c*(h/2)*(w/2)", n * c * oh * ow);
    let quarter = T::of(0.25);
    let mut gx = zeroed(x.len());
    for_rows_mut(&mut gx, h * w, |p, out| {
        let plane = &x[p * h * w..(p + 1) * h * w];
        let g = &gy[p * oh * ow..(p + 1) * oh * ow];
        for oy in 0..oh {
            for ox in 0..ow {
                let idx = [
                    2 * oy * w + 2 * ox,
                    2 * oy * w + 2 * ox + 1,
                    (2 * oy + 1) * w + 2 * ox,
                    (2 * oy + 1) * w + 2 * ox + 1,
                ];
                let gv = g[oy * ow + ox];
                match op {
                    Pool::Max => {
                        let mut best = idx[0];
                        for &i in &idx[1..] {
                            if plane[i] > plane[best] {
                                best = i;
                            }
                        }
                        out[best] = gv;
                    }
                    Pool::Avg => idx.iter().for_each(|&i| out[i] = gv * quarter),
                }
            }
        }
    });
    gx
}
