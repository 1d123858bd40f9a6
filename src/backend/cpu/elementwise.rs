//! Elementwise activations, their gradients, binary ops and affine maps.

use rayon::prelude::*;

use super::float::{map, same_len, zip_map, Elem, PAR_MIN};
use crate::backend::{Binary, Unary};

/// Logistic function without overflow for large |x|.
#[inline]
pub fn sigmoid<T: Elem>(x: T) -> T {
    if x >= T::zero() {
        T::one() / (T::one() + (-x).exp())
    } else {
        let e = x.exp();
        e / (T::one() + e)
    }
}

/// -1, 0 or 1 (0 at 0: the subgradient PyTorch uses for abs and L1).
#[inline]
pub fn sign<T: Elem>(x: T) -> T {
    if x > T::zero() {
        T::one()
    } else if x < T::zero() {
        -T::one()
    } else {
        T::zero()
    }
}

pub fn unary<T: Elem>(op: Unary, x: &[T]) -> Vec<T> {
    let zero = T::zero();
    match op {
        Unary::Relu => map(x, |v| if v > zero { v } else { zero }),
        Unary::LeakyRelu(s) => {
            let s = T::of(s);
            map(x, move |v| if v > zero { v } else { s * v })
        }
        Unary::Tanh => map(x, |v| v.tanh()),
        Unary::Sigmoid => map(x, sigmoid),
        Unary::Abs => map(x, |v| v.abs()),
        Unary::Sqr => map(x, |v| v * v),
    }
}

/// Gradient of `op` given the upstream gradient. `y` is only read (and its length only
/// checked) for tanh and sigmoid, whose derivative comes from the output.
pub fn unary_backward<T: Elem>(op: Unary, x: &[T], y: &[T], gy: &[T]) -> Vec<T> {
    let zero = T::zero();
    let one = T::one();
    match op {
        Unary::Tanh | Unary::Sigmoid => {
            same_len("unary_backward", "y", y.len(), "gy", gy.len());
            if op == Unary::Tanh {
                zip_map(y, gy, |y, g| g * (one - y * y))
            } else {
                zip_map(y, gy, |y, g| g * y * (one - y))
            }
        }
        _ => {
            same_len("unary_backward", "x", x.len(), "gy", gy.len());
            match op {
                Unary::Relu => zip_map(x, gy, |x, g| if x > zero { g } else { zero }),
                Unary::LeakyRelu(s) => {
                    let s = T::of(s);
                    zip_map(x, gy, move |x, g| if x > zero { g } else { s * g })
                }
                Unary::Abs => zip_map(x, gy, |x, g| g * sign(x)),
                Unary::Sqr => {
                    let two = T::of(2.0);
                    zip_map(x, gy, move |x, g| two * x * g)
                }
                Unary::Tanh | Unary::Sigmoid => unreachable!(),
            }
        }
    }
}

pub fn binary<T: Elem>(op: Binary, a: &[T], b: &[T]) -> Vec<T> {
    same_len("binary", "a", a.len(), "b", b.len());
    match op {
        Binary::Add => zip_map(a, b, |u, v| u + v),
        Binary::Sub => zip_map(a, b, |u, v| u - v),
        Binary::Mul => zip_map(a, b, |u, v| u * v),
    }
}

pub fn affine<T: Elem>(x: &[T], a: f64, b: f64) -> Vec<T> {
    let (a, b) = (T::of(a), T::of(b));
    map(x, move |v| a * v + b)
}

pub fn scale<T: Elem>(x: &[T], s: T) -> Vec<T> {
    map(x, move |v| v * s)
}

pub fn add_inplace<T: Elem>(acc: &mut [T], x: &[T]) {
    same_len("add_inplace", "acc", acc.len(), "x", x.len());
    if acc.len() < PAR_MIN {
        acc.iter_mut().zip(x).for_each(|(a, &v)| *a = *a + v);
    } else {
        acc.par_iter_mut().zip(x.par_iter()).with_min_len(4096).for_each(|(a, &v)| *a = *a + v);
    }
}
