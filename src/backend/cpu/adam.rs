//! Fused Adam step (PyTorch semantics, L2 weight decay added to the gradient).

use rayon::prelude::*;

use super::float::{same_len, Elem, PAR_MIN};
use crate::backend::AdamStep;

pub fn adam_step<T: Elem>(p: &mut [T], g: &[T], m: &mut [T], v: &mut [T], h: &AdamStep) {
    let op = "adam_step";
    same_len(op, "param", p.len(), "grad", g.len());
    same_len(op, "param", p.len(), "m", m.len());
    same_len(op, "param", p.len(), "v", v.len());
    assert!(h.step >= 1, "{op}: step count is 1-based, got 0");
    let t = h.step as i32;
    let bc1 = 1.0 - h.beta1.powi(t);
    let bc2 = 1.0 - h.beta2.powi(t);
    let (b1, b2, wd, eps) = (T::of(h.beta1), T::of(h.beta2), T::of(h.weight_decay), T::of(h.eps));
    let (step, inv_sqrt_bc2) = (T::of(h.lr / bc1), T::of(1.0 / bc2.sqrt()));
    let one = T::one();
    let update = |((p, m), v): ((&mut T, &mut T), &mut T), &g: &T| {
        let g = g + wd * *p;
        *m = b1 * *m + (one - b1) * g;
        *v = b2 * *v + (one - b2) * g * g;
        // m/bc1 / (sqrt(v/bc2) + eps), written as PyTorch does.
        *p = *p - step * *m / (v.sqrt() * inv_sqrt_bc2 + eps);
    };
    if p.len() < PAR_MIN {
        p.iter_mut().zip(m.iter_mut()).zip(v.iter_mut()).zip(g).for_each(|(pmv, g)| update(pmv, g));
    } else {
        p.par_iter_mut()
            .zip(m.par_iter_mut())
            .zip(v.par_iter_mut())
            .zip(g.par_iter())
            .with_min_len(4096)
            .for_each(|(pmv, g)| update(pmv, g));
    }
}
