//! L1, MSE and BCE-with-logits losses, total variation, and their backward (kernels/loss.cu).

use super::{dev, expect_len, same_len};
use crate::backend::device::consts::{LOSS_BCE, LOSS_L1, LOSS_MSE};
use crate::backend::device::launch::{grid_1d, reduce_blocks, Args};
use crate::backend::device::DeviceBackend;
use crate::backend::{Loss, Storage};

pub fn loss(d: &DeviceBackend, op: Loss, a: &Storage, b: &Storage) -> Storage {
    same_len("loss", a, b);
    let n = a.len();
    let blocks = reduce_blocks(n);
    let partials = d.alloc(blocks);
    d.run(
        "loss",
        "loss_partial",
        [blocks, 1, 1],
        Args::new().buf(dev(a)).buf(dev(b)).int(n).i32(loss_code(op)).buf(&partials),
    );
    d.finish_sum(&partials, blocks, (1.0 / n as f64) as f32)
}

pub fn loss_backward(d: &DeviceBackend, op: Loss, a: &Storage, b: &Storage, gl: &Storage) -> Storage {
    same_len("loss_backward", a, b);
    expect_len("loss_backward", "the upstream gradient", gl, 1);
    let n = a.len();
    let ga = d.alloc(n);
    let args = Args::new()
        .buf(dev(a))
        .buf(dev(b))
        .buf(dev(gl))
        .buf(&ga)
        .int(n)
        .i32(loss_code(op))
        .f32((1.0 / n as f64) as f32);
    d.run("loss", "loss_bwd", grid_1d(n), args);
    Storage::Device(ga)
}

pub fn tv(d: &DeviceBackend, x: &Storage, n: usize, c: usize, h: usize, w: usize) -> Storage {
    expect_len("tv", "x", x, n * c * h * w);
    let len = x.len();
    let blocks = reduce_blocks(len);
    let partials = d.alloc(blocks);
    d.run(
        "loss",
        "tv_partial",
        [blocks, 1, 1],
        Args::new().buf(dev(x)).int(n * c).int(h).int(w).buf(&partials),
    );
    d.finish_sum(&partials, blocks, (1.0 / len as f64) as f32)
}

pub fn tv_backward(
    d: &DeviceBackend,
    x: &Storage,
    gl: &Storage,
    n: usize,
    c: usize,
    h: usize,
    w: usize,
) -> Storage {
    expect_len("tv_backward", "x", x, n * c * h * w);
    expect_len("tv_backward", "the upstream gradient", gl, 1);
    let len = x.len();
    let gx = d.alloc(len);
    let args =
        Args::new().buf(dev(x)).buf(dev(gl)).buf(&gx).int(n * c).int(h).int(w).f32((2.0 / len as f64) as f32);
    d.run("loss", "tv_bwd", grid_1d(len), args);
    Storage::Device(gx)
}

fn loss_code(op: Loss) -> i32 {
    match op {
        Loss::L1 => LOSS_L1,
        Loss::Mse => LOSS_MSE,
        Loss::BceWithLogits => LOSS_BCE,
    }
}
