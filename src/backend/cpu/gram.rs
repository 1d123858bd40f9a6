//! Gram matrices of feature maps (style loss): G = x x^T / (c*hw) per image.

use super::float::{same_len, zeroed, Elem};
use super::gemm::{matmul, Mat};

/// x [n, c, hw] -> G [n, c, c].
pub fn gram<T: Elem>(x: &[T], n: usize, c: usize, hw: usize) -> Vec<T> {
    same_len("gram", "x", x.len(), "n*c*hw", n * c * hw);
    let mut g = zeroed(n * c * c);
    let scale = T::of(1.0 / (c * hw) as f64);
    for i in 0..n {
        let xi = &x[i * c * hw..(i + 1) * c * hw];
        // [c, hw] x [hw, c]: the right factor is x read transposed.
        matmul(
            &mut g[i * c * c..(i + 1) * c * c],
            c,
            false,
            Mat::row_major(xi, hw),
            Mat::transposed(xi, hw),
            c,
            c,
            hw,
            scale,
        );
    }
    g
}

/// gx = (gG + gG^T) x / (c*hw).
pub fn gram_backward<T: Elem>(x: &[T], gg: &[T], n: usize, c: usize, hw: usize) -> Vec<T> {
    same_len("gram_backward", "x", x.len(), "n*c*hw", n * c * hw);
    same_len("gram_backward", "gG", gg.len(), "n*c*c", n * c * c);
    let mut gx = zeroed(x.len());
    let scale = T::of(1.0 / (c * hw) as f64);
    let mut sym = vec![T::zero(); c * c];
    for i in 0..n {
        let gi = &gg[i * c * c..(i + 1) * c * c];
        for r in 0..c {
            for k in 0..c {
                sym[r * c + k] = gi[r * c + k] + gi[k * c + r];
            }
        }
        let xi = &x[i * c * hw..(i + 1) * c * hw];
        matmul(
            &mut gx[i * c * hw..(i + 1) * c * hw],
            hw,
            false,
            Mat::row_major(&sym, c),
            Mat::row_major(xi, hw),
            c,
            hw,
            c,
            scale,
        );
    }
    gx
}
