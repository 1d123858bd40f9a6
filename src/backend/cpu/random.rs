//! Philox random fills and dropout masks, the reference for `kernels/random.cu`: element i
//! comes from Philox (seed, i), so every backend draws the same numbers.

use super::float::{from_index, zeroed, Elem};
use crate::backend::philox;

/// mean + std * N(0, 1), element i from Philox (seed, i).
pub fn randn<T: Elem>(len: usize, seed: u64, mean: f64, std: f64) -> Vec<T> {
    from_index(len, |i| T::of(mean + std * philox::normal(seed, i)))
}

/// lo + (hi - lo) * U[0, 1), element i from Philox (seed, i).
pub fn rand_uniform<T: Elem>(len: usize, seed: u64, lo: f64, hi: f64) -> Vec<T> {
    from_index(len, |i| T::of(lo + (hi - lo) * philox::uniform(seed, i)))
}

/// 1/(1-p) where Philox keeps element i, else 0. p >= 1 drops everything.
pub fn dropout_mask<T: Elem>(len: usize, p: f64, seed: u64) -> Vec<T> {
    assert!((0.0..=1.0).contains(&p), "dropout_mask: p must lie in [0, 1], got {p}");
    if p >= 1.0 {
        return zeroed(len);
    }
    let scale = T::of(1.0 / (1.0 - p));
    from_index(len, |i| if philox::keep(seed, i, p) { scale } else { T::zero() })
}
