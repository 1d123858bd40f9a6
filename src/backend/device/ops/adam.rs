//! The fused Adam step (kernels/adam.cu).

use super::{dev, same_len};
use crate::backend::device::launch::{grid_1d, Args};
use crate::backend::device::DeviceBackend;
use crate::backend::{AdamStep, Storage};

pub fn adam_step(
    d: &DeviceBackend,
    param: &mut Storage,
    grad: &Storage,
    m: &mut Storage,
    v: &mut Storage,
    h: &AdamStep,
) {
    let n = param.len();
    same_len("adam_step", param, grad);
    same_len("adam_step", param, m);
    same_len("adam_step", param, v);
    let t = h.step as f64;
    let step_size = h.lr / (1.0 - h.beta1.powf(t));
    let bc2_sqrt = (1.0 - h.beta2.powf(t)).sqrt();
    let args = Args::new()
        .buf(dev(param))
        .buf(dev(grad))
        .buf(dev(m))
        .buf(dev(v))
        .int(n)
        .f32(h.beta1 as f32)
        .f32(h.beta2 as f32)
        .f32((1.0 - h.beta1) as f32)
        .f32((1.0 - h.beta2) as f32)
        .f32(h.eps as f32)
        .f32(h.weight_decay as f32)
        .f32(step_size as f32)
        .f32(bc2_sqrt as f32);
    d.run("adam", "adam_step", grid_1d(n), args);
}
