//! Reductions and per-channel broadcasts over [n, c, hw] tensors.

use super::float::{copied, for_rows_mut, per_row, same_len, scalar, sum_f64, zeroed, Elem};

pub fn sum_all<T: Elem>(x: &[T]) -> Vec<T> {
    vec![T::of(sum_f64(x))]
}

/// x [n, c, hw] -> sums per channel (length c).
pub fn channel_sum<T: Elem>(x: &[T], n: usize, c: usize, hw: usize) -> Vec<T> {
    same_len("channel_sum", "x", x.len(), "n*c*hw", n * c * hw);
    let rows = per_row(n * c, x.len(), |r| sum_f64(&x[r * hw..(r + 1) * hw]));
    let mut out = vec![0.0f64; c];
    for (i, s) in rows.iter().enumerate() {
        out[i % c] += s;
    }
    out.into_iter().map(T::of).collect()
}

/// y[n, c, hw] = x + bias[c].
pub fn add_channel_bias<T: Elem>(x: &[T], bias: &[T], n: usize, c: usize, hw: usize) -> Vec<T> {
    same_len("add_channel_bias", "x", x.len(), "n*c*hw", n * c * hw);
    same_len("add_channel_bias", "bias", bias.len(), "c", c);
    let mut y = copied(x);
    for_rows_mut(&mut y, hw, |r, row| {
        let b = bias[r % c];
        row.iter_mut().for_each(|v| *v = *v + b);
    });
    y
}

/// `len` copies of s[0] * scale.
pub fn broadcast_scalar<T: Elem>(s: &[T], len: usize, scale: f64) -> Vec<T> {
    let mut y = zeroed(len);
    y.fill(scalar(s, "broadcast_scalar") * T::of(scale));
    y
}
