//! `DeviceBackend`: every `Backend` primitive as launches of the kernels in `kernels/*.cu`
//! on a `Runtime` (CUDA or the host emulator). Each op family's launch code (grids, argument
//! order, workspaces) lives in `ops/<family>.rs`, beside `kernels/<family>.cu`; this impl only
//! dispatches. The launch code is shared by CUDA and the emulator, so the emulator's parity
//! tests cover it.

use super::handle::DeviceBackend;
use super::ops::{adam, conv, elementwise, gram, layout, loss, memory, norm, pad, pool, random, reduce};
use crate::backend::precision::Precision;
use crate::backend::{
    AdamStep, Backend, Binary, ConvGeom, DType, DeviceKind, Loss, NormGeom, PadGeom, Pool, Storage, Unary,
};

impl Backend for DeviceBackend {
    fn kind(&self) -> DeviceKind {
        self.runtime().kind()
    }

    fn precision(&self) -> Precision {
        DeviceBackend::precision(self)
    }

    // ---- memory ------------------------------------------------------------
    fn from_f64(&self, data: &[f64], dtype: DType) -> Storage {
        memory::from_f64(self, data, dtype)
    }

    fn from_f32(&self, data: &[f32], dtype: DType) -> Storage {
        memory::from_f32(self, data, dtype)
    }

    fn to_f64(&self, s: &Storage) -> Vec<f64> {
        memory::to_f64(self, s)
    }

    fn to_f32(&self, s: &Storage) -> Vec<f32> {
        memory::to_f32(self, s)
    }

    fn zeros(&self, len: usize, dtype: DType) -> Storage {
        memory::zeros(self, len, dtype)
    }

    fn full(&self, len: usize, value: f64, dtype: DType) -> Storage {
        memory::full(self, len, value, dtype)
    }

    fn clone_storage(&self, s: &Storage) -> Storage {
        memory::clone_storage(self, s)
    }

    fn randn(&self, len: usize, seed: u64, mean: f64, std: f64, dtype: DType) -> Storage {
        random::randn(self, len, seed, mean, std, dtype)
    }

    fn rand_uniform(&self, len: usize, seed: u64, lo: f64, hi: f64, dtype: DType) -> Storage {
        random::rand_uniform(self, len, seed, lo, hi, dtype)
    }

    // ---- elementwise -------------------------------------------------------
    fn unary(&self, op: Unary, x: &Storage) -> Storage {
        elementwise::unary(self, op, x)
    }

    fn unary_backward(&self, op: Unary, x: &Storage, y: &Storage, gy: &Storage) -> Storage {
        elementwise::unary_backward(self, op, x, y, gy)
    }

    fn binary(&self, op: Binary, a: &Storage, b: &Storage) -> Storage {
        elementwise::binary(self, op, a, b)
    }

    fn affine(&self, x: &Storage, a: f64, b: f64) -> Storage {
        elementwise::affine(self, x, a, b)
    }

    fn mul_scalar_storage(&self, x: &Storage, s: &Storage) -> Storage {
        elementwise::mul_scalar_storage(self, x, s)
    }

    fn add_inplace(&self, acc: &mut Storage, x: &Storage) {
        elementwise::add_inplace(self, acc, x)
    }

    // ---- reductions --------------------------------------------------------
    fn sum_all(&self, x: &Storage) -> Storage {
        reduce::sum_all(self, x)
    }

    fn broadcast_scalar(&self, s: &Storage, len: usize, scale: f64) -> Storage {
        reduce::broadcast_scalar(self, s, len, scale)
    }

    fn channel_sum(&self, x: &Storage, n: usize, c: usize, hw: usize) -> Storage {
        reduce::channel_sum(self, x, n, c, hw)
    }

    fn add_channel_bias(&self, x: &Storage, bias: &Storage, n: usize, c: usize, hw: usize) -> Storage {
        reduce::add_channel_bias(self, x, bias, n, c, hw)
    }

    // ---- convolution -------------------------------------------------------
    fn conv2d(&self, x: &Storage, w: &Storage, g: &ConvGeom) -> Storage {
        conv::conv2d(self, x, w, g)
    }

    fn conv2d_backward_input(&self, gy: &Storage, w: &Storage, g: &ConvGeom) -> Storage {
        conv::conv2d_backward_input(self, gy, w, g)
    }

    fn conv2d_backward_weight(&self, x: &Storage, gy: &Storage, g: &ConvGeom) -> Storage {
        conv::conv2d_backward_weight(self, x, gy, g)
    }

    // ---- normalisation -----------------------------------------------------
    fn norm_forward(
        &self,
        x: &Storage,
        gamma: Option<&Storage>,
        beta: Option<&Storage>,
        g: &NormGeom,
        eps: f64,
    ) -> (Storage, Storage, Storage) {
        norm::norm_forward(self, x, gamma, beta, g, eps)
    }

    fn norm_forward_eval(
        &self,
        x: &Storage,
        mean: &Storage,
        var: &Storage,
        gamma: Option<&Storage>,
        beta: Option<&Storage>,
        g: &NormGeom,
        eps: f64,
    ) -> Storage {
        norm::norm_forward_eval(self, x, mean, var, gamma, beta, g, eps)
    }

    fn norm_backward(
        &self,
        x: &Storage,
        gy: &Storage,
        mean: &Storage,
        invstd: &Storage,
        gamma: Option<&Storage>,
        g: &NormGeom,
    ) -> (Storage, Option<Storage>, Option<Storage>) {
        norm::norm_backward(self, x, gy, mean, invstd, gamma, g)
    }

    fn norm_running_update(
        &self,
        run_mean: &mut Storage,
        run_var: &mut Storage,
        mean: &Storage,
        invstd: &Storage,
        count: usize,
        momentum: f64,
        eps: f64,
    ) {
        norm::norm_running_update(self, run_mean, run_var, mean, invstd, count, momentum, eps)
    }

    // ---- layout ------------------------------------------------------------
    fn copy_channels(
        &self,
        src: &Storage,
        src_c: usize,
        src_c0: usize,
        dst: &mut Storage,
        dst_c: usize,
        dst_c0: usize,
        count: usize,
        n: usize,
        hw: usize,
    ) {
        layout::copy_channels(self, src, src_c, src_c0, dst, dst_c, dst_c0, count, n, hw)
    }

    // ---- pooling -----------------------------------------------------------
    fn pool2(&self, op: Pool, x: &Storage, n: usize, c: usize, h: usize, w: usize) -> Storage {
        pool::pool2(self, op, x, n, c, h, w)
    }

    fn pool2_backward(
        &self,
        op: Pool,
        x: &Storage,
        gy: &Storage,
        n: usize,
        c: usize,
        h: usize,
        w: usize,
    ) -> Storage {
        pool::pool2_backward(self, op, x, gy, n, c, h, w)
    }

    // ---- reflection padding ----------------------------------------------------
    fn reflection_pad(&self, x: &Storage, g: &PadGeom) -> Storage {
        pad::reflection_pad(self, x, g)
    }

    fn reflection_pad_backward(&self, gy: &Storage, g: &PadGeom) -> Storage {
        pad::reflection_pad_backward(self, gy, g)
    }

    // ---- dropout -----------------------------------------------------------
    fn dropout_mask(&self, len: usize, p: f64, seed: u64, dtype: DType) -> Storage {
        random::dropout_mask(self, len, p, seed, dtype)
    }

    // ---- gram --------------------------------------------------------------
    fn gram(&self, x: &Storage, n: usize, c: usize, hw: usize) -> Storage {
        gram::gram(self, x, n, c, hw)
    }

    fn gram_backward(&self, x: &Storage, gg: &Storage, n: usize, c: usize, hw: usize) -> Storage {
        gram::gram_backward(self, x, gg, n, c, hw)
    }

    // ---- losses ------------------------------------------------------------
    fn loss(&self, op: Loss, a: &Storage, b: &Storage) -> Storage {
        loss::loss(self, op, a, b)
    }

    fn loss_backward(&self, op: Loss, a: &Storage, b: &Storage, gl: &Storage) -> Storage {
        loss::loss_backward(self, op, a, b, gl)
    }

    fn tv(&self, x: &Storage, n: usize, c: usize, h: usize, w: usize) -> Storage {
        loss::tv(self, x, n, c, h, w)
    }

    fn tv_backward(&self, x: &Storage, gl: &Storage, n: usize, c: usize, h: usize, w: usize) -> Storage {
        loss::tv_backward(self, x, gl, n, c, h, w)
    }

    // ---- optimiser -----------------------------------------------------------
    fn adam_step(&self, param: &mut Storage, grad: &Storage, m: &mut Storage, v: &mut Storage, h: &AdamStep) {
        adam::adam_step(self, param, grad, m, v, h)
    }

    fn synchronize(&self) {
        self.runtime().synchronize().unwrap_or_else(|e| panic!("{}: {e}", self.runtime().name()));
    }
}
