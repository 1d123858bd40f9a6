//! Mean-reduced losses and total variation; results are one-element vectors.

use rayon::prelude::*;

use super::elementwise::{sigmoid, sign};
use super::float::{for_rows_mut, per_row, same_len, scalar, zeroed, zip_map, Elem, PAR_MIN};
use crate::backend::Loss;

/// The per-element loss term in f64.
fn term(op: Loss, a: f64, b: f64) -> f64 {
    match op {
        Loss::L1 => (a - b).abs(),
        Loss::Mse => (a - b) * (a - b),
        // Stable form of -(b log s(a) + (1-b) log(1 - s(a))).
        Loss::BceWithLogits => a.max(0.0) - a * b + (-a.abs()).exp().ln_1p(),
    }
}

fn name(op: Loss) -> &'static str {
    match op {
        Loss::L1 => "loss(L1)",
        Loss::Mse => "loss(Mse)",
        Loss::BceWithLogits => "loss(BceWithLogits)",
    }
}

pub fn loss<T: Elem>(op: Loss, a: &[T], b: &[T]) -> Vec<T> {
    same_len(name(op), "a", a.len(), "b", b.len());
    let f = |(x, y): (&T, &T)| term(op, x.as_f64(), y.as_f64());
    let total: f64 = if a.len() < PAR_MIN {
        a.iter().zip(b).map(f).sum()
    } else {
        a.par_iter().zip(b.par_iter()).with_min_len(4096).map(f).sum()
    };
    vec![T::of(total / a.len() as f64)]
}

/// d loss / d a, times the upstream scalar gl.
pub fn loss_backward<T: Elem>(op: Loss, a: &[T], b: &[T], gl: &[T]) -> Vec<T> {
    same_len(name(op), "a", a.len(), "b", b.len());
    let s = scalar(gl, "loss_backward") / T::of(a.len() as f64);
    let two = T::of(2.0);
    match op {
        Loss::L1 => zip_map(a, b, move |x, y| s * sign(x - y)),
        Loss::Mse => zip_map(a, b, move |x, y| s * two * (x - y)),
        Loss::BceWithLogits => zip_map(a, b, move |x, y| s * (sigmoid(x) - y)),
    }
}

/// (sum over vertical neighbours of dy^2 + sum over horizontal of dx^2) / (n*c*h*w).
pub fn tv<T: Elem>(x: &[T], n: usize, c: usize, h: usize, w: usize) -> Vec<T> {
    same_len("tv", "x", x.len(), "n*c*h*w", n * c * h * w);
    let plane = h * w;
    let sums = per_row(n * c, x.len(), |p| {
        let xs = &x[p * plane..(p + 1) * plane];
        let mut s = 0.0f64;
        for i in 0..h {
            for j in 0..w {
                let v = xs[i * w + j].as_f64();
                if i + 1 < h {
                    s += (xs[(i + 1) * w + j].as_f64() - v).powi(2);
                }
                if j + 1 < w {
                    s += (xs[i * w + j + 1].as_f64() - v).powi(2);
                }
            }
        }
        s
    });
    vec![T::of(sums.iter().sum::<f64>() / x.len() as f64)]
}

pub fn tv_backward<T: Elem>(x: &[T], gl: &[T], n: usize, c: usize, h: usize, w: usize) -> Vec<T> {
    same_len("tv_backward", "x", x.len(), "n*c*h*w", n * c * h * w);
    let s = T::of(2.0) * scalar(gl, "tv_backward") / T::of(x.len() as f64);
    let plane = h * w;
    let mut gx = zeroed(x.len());
    for_rows_mut(&mut gx, plane, |p, g| {
        let xs = &x[p * plane..(p + 1) * plane];
        for i in 0..h {
            for j in 0..w {
                let k = i * w + j;
                if i + 1 < h {
                    let d = s * (xs[k + w] - xs[k]);
                    g[k + w] = g[k + w] + d;
                    g[k] = g[k] - d;
                }
                if j + 1 < w {
                    let d = s * (xs[k + 1] - xs[k]);
                    g[k + 1] = g[k + 1] + d;
                    g[k] = g[k] - d;
                }
            }
        }
    });
    gx
}
