//! Unary activations with their backward, binary ops, affine maps, in-place accumulation
//! (kernels/elementwise.cu).

use super::{dev, expect_len, same_len};
use crate::backend::device::consts::{
    BINARY_ADD, BINARY_MUL, BINARY_SUB, UNARY_ABS, UNARY_LEAKY, UNARY_RELU, UNARY_SIGMOID, UNARY_SQR,
    UNARY_TANH,
};
use crate::backend::device::launch::{grid_1d, Args};
use crate::backend::device::DeviceBackend;
use crate::backend::{Binary, Storage, Unary};

pub fn unary(d: &DeviceBackend, op: Unary, x: &Storage) -> Storage {
    let (code, alpha) = unary_code(op);
    let n = x.len();
    let y = d.alloc(n);
    d.run(
        "elementwise",
        "unary_fwd",
        grid_1d(n),
        Args::new().buf(dev(x)).buf(&y).int(n).i32(code).f32(alpha),
    );
    Storage::Device(y)
}

pub fn unary_backward(d: &DeviceBackend, op: Unary, x: &Storage, y: &Storage, gy: &Storage) -> Storage {
    same_len("unary_backward", x, gy);
    same_len("unary_backward", y, gy);
    let (code, alpha) = unary_code(op);
    let n = x.len();
    let gx = d.alloc(n);
    let args = Args::new().buf(dev(x)).buf(dev(y)).buf(dev(gy)).buf(&gx).int(n).i32(code).f32(alpha);
    d.run("elementwise", "unary_bwd", grid_1d(n), args);
    Storage::Device(gx)
}

pub fn binary(d: &DeviceBackend, op: Binary, a: &Storage, b: &Storage) -> Storage {
    same_len("binary", a, b);
    let code = match op {
        Binary::Add => BINARY_ADD,
        Binary::Sub => BINARY_SUB,
        Binary::Mul => BINARY_MUL,
    };
    let n = a.len();
    let out = d.alloc(n);
    d.run(
        "elementwise",
        "binary",
        grid_1d(n),
        Args::new().buf(dev(a)).buf(dev(b)).buf(&out).int(n).i32(code),
    );
    Storage::Device(out)
}

pub fn affine(d: &DeviceBackend, x: &Storage, a: f64, b: f64) -> Storage {
    let n = x.len();
    let y = d.alloc(n);
    d.run(
        "elementwise",
        "affine",
        grid_1d(n),
        Args::new().buf(dev(x)).buf(&y).int(n).f32(a as f32).f32(b as f32),
    );
    Storage::Device(y)
}

pub fn mul_scalar_storage(d: &DeviceBackend, x: &Storage, s: &Storage) -> Storage {
    expect_len("mul_scalar_storage", "the scalar", s, 1);
    let n = x.len();
    let y = d.alloc(n);
    d.run("elementwise", "mul_scalar_dev", grid_1d(n), Args::new().buf(dev(x)).buf(dev(s)).buf(&y).int(n));
    Storage::Device(y)
}

pub fn add_inplace(d: &DeviceBackend, acc: &mut Storage, x: &Storage) {
    same_len("add_inplace", acc, x);
    let n = x.len();
    d.run("elementwise", "add_inplace", grid_1d(n), Args::new().buf(dev(acc)).buf(dev(x)).int(n));
}

fn unary_code(op: Unary) -> (i32, f32) {
    match op {
        Unary::Relu => (UNARY_RELU, 0.0),
        Unary::LeakyRelu(a) => (UNARY_LEAKY, a as f32),
        Unary::Tanh => (UNARY_TANH, 0.0),
        Unary::Sigmoid => (UNARY_SIGMOID, 0.0),
        Unary::Abs => (UNARY_ABS, 0.0),
        Unary::Sqr => (UNARY_SQR, 0.0),
    }
}
