//! Allocation and conversion.

use super::float::{zeroed, Elem};

pub fn convert<S: Elem, T: Elem>(data: &[S]) -> Vec<T> {
    let mut y = zeroed(data.len());
    y.iter_mut().zip(data).for_each(|(o, &v)| *o = T::of(v.as_f64()));
    y
}

pub fn full<T: Elem>(len: usize, value: f64) -> Vec<T> {
    let mut y = zeroed(len);
    y.fill(T::of(value));
    y
}
