//! The CPU reference backend (f32 and f64).
//!
//! Every primitive is written once, generic over `Elem` (f32, f64; see `float.rs`), in the
//! file of its family; this impl only picks the element type from the storage and unwraps it.
//! Device storage handed to this backend, mixed dtypes and mismatched lengths are
//! programmer errors and panic with the op's name.

mod adam;
mod conv;
mod elementwise;
mod float;
mod gemm;
mod gram;
mod layout;
mod loss;
mod memory;
mod norm;
mod pad;
mod pool;
mod random;
mod reduce;

pub use float::Elem;

use crate::backend::{
    AdamStep, Backend, Binary, ConvGeom, DType, DeviceKind, Loss, NormGeom, PadGeom, Pool, Storage, Unary,
};
use float::host_dtype;

/// The CPU backend. Stateless; rayon provides the parallelism.
#[derive(Default, Debug, Clone, Copy)]
pub struct CpuBackend;

/// Runs `$body` with the type alias `$T` bound to the element type of `$s`.
macro_rules! by_dtype {
    ($dtype:expr, $T:ident => $body:expr) => {
        match $dtype {
            DType::F32 => {
                type $T = f32;
                $body
            }
            DType::F64 => {
                type $T = f64;
                $body
            }
        }
    };
}

/// Typed view of a storage (panics naming `op` on a dtype mismatch or device storage).
fn v<'a, T: Elem>(s: &'a Storage, op: &str) -> &'a [T] {
    T::view(s, op)
}

fn v_opt<'a, T: Elem>(s: Option<&'a Storage>, op: &str) -> Option<&'a [T]> {
    s.map(|s| T::view(s, op))
}

impl Backend for CpuBackend {
    fn kind(&self) -> DeviceKind {
        DeviceKind::Cpu
    }

    // ---- memory ------------------------------------------------------------
    fn from_f64(&self, data: &[f64], dtype: DType) -> Storage {
        by_dtype!(dtype, T => T::wrap(memory::convert::<f64, T>(data)))
    }
    fn from_f32(&self, data: &[f32], dtype: DType) -> Storage {
        by_dtype!(dtype, T => T::wrap(memory::convert::<f32, T>(data)))
    }
    fn to_f64(&self, s: &Storage) -> Vec<f64> {
        by_dtype!(host_dtype(s, "to_f64"), T => memory::convert::<T, f64>(v::<T>(s, "to_f64")))
    }
    fn to_f32(&self, s: &Storage) -> Vec<f32> {
        by_dtype!(host_dtype(s, "to_f32"), T => memory::convert::<T, f32>(v::<T>(s, "to_f32")))
    }
    fn zeros(&self, len: usize, dtype: DType) -> Storage {
        by_dtype!(dtype, T => T::wrap(float::zeroed::<T>(len)))
    }
    fn full(&self, len: usize, value: f64, dtype: DType) -> Storage {
        by_dtype!(dtype, T => T::wrap(memory::full::<T>(len, value)))
    }
    fn clone_storage(&self, s: &Storage) -> Storage {
        by_dtype!(host_dtype(s, "clone_storage"), T => T::wrap(float::copied::<T>(v(s, "clone_storage"))))
    }
    fn randn(&self, len: usize, seed: u64, mean: f64, std: f64, dtype: DType) -> Storage {
        by_dtype!(dtype, T => T::wrap(random::randn::<T>(len, seed, mean, std)))
    }
    fn rand_uniform(&self, len: usize, seed: u64, lo: f64, hi: f64, dtype: DType) -> Storage {
        by_dtype!(dtype, T => T::wrap(random::rand_uniform::<T>(len, seed, lo, hi)))
    }

    // ---- elementwise -------------------------------------------------------
    fn unary(&self, op: Unary, x: &Storage) -> Storage {
        let n = "unary";
        by_dtype!(host_dtype(x, n), T => T::wrap(elementwise::unary::<T>(op, v(x, n))))
    }
    fn unary_backward(&self, op: Unary, x: &Storage, y: &Storage, gy: &Storage) -> Storage {
        let n = "unary_backward";
        by_dtype!(host_dtype(gy, n), T => T::wrap(elementwise::unary_backward::<T>(op, v(x, n), v(y, n), v(gy, n))))
    }
    fn binary(&self, op: Binary, a: &Storage, b: &Storage) -> Storage {
        let n = "binary";
        by_dtype!(host_dtype(a, n), T => T::wrap(elementwise::binary::<T>(op, v(a, n), v(b, n))))
    }
    fn affine(&self, x: &Storage, a: f64, b: f64) -> Storage {
        let n = "affine";
        by_dtype!(host_dtype(x, n), T => T::wrap(elementwise::affine::<T>(v(x, n), a, b)))
    }
    fn mul_scalar_storage(&self, x: &Storage, s: &Storage) -> Storage {
        let n = "mul_scalar_storage";
        by_dtype!(host_dtype(x, n), T => T::wrap(elementwise::scale::<T>(v(x, n), float::scalar(v::<T>(s, n), n))))
    }
    fn add_inplace(&self, acc: &mut Storage, x: &Storage) {
        let n = "add_inplace";
        by_dtype!(host_dtype(acc, n), T => elementwise::add_inplace::<T>(T::view_mut(acc, n), v(x, n)))
    }

    // ---- reductions --------------------------------------------------------
    fn sum_all(&self, x: &Storage) -> Storage {
        let n = "sum_all";
        by_dtype!(host_dtype(x, n), T => T::wrap(reduce::sum_all::<T>(v(x, n))))
    }
    fn broadcast_scalar(&self, s: &Storage, len: usize, scale: f64) -> Storage {
        let n = "broadcast_scalar";
        by_dtype!(host_dtype(s, n), T => T::wrap(reduce::broadcast_scalar::<T>(v(s, n), len, scale)))
    }
    fn channel_sum(&self, x: &Storage, n: usize, c: usize, hw: usize) -> Storage {
        let op = "channel_sum";
        by_dtype!(host_dtype(x, op), T => T::wrap(reduce::channel_sum::<T>(v(x, op), n, c, hw)))
    }
    fn add_channel_bias(&self, x: &Storage, bias: &Storage, n: usize, c: usize, hw: usize) -> Storage {
        let op = "add_channel_bias";
        by_dtype!(host_dtype(x, op), T => T::wrap(reduce::add_channel_bias::<T>(v(x, op), v(bias, op), n, c, hw)))
    }

    // ---- convolution -------------------------------------------------------
    fn conv2d(&self, x: &Storage, w: &Storage, g: &ConvGeom) -> Storage {
        let n = "conv2d";
        by_dtype!(host_dtype(x, n), T => T::wrap(conv::conv2d::<T>(v(x, n), v(w, n), g)))
    }
    fn conv2d_backward_input(&self, gy: &Storage, w: &Storage, g: &ConvGeom) -> Storage {
        let n = "conv2d_backward_input";
        by_dtype!(host_dtype(gy, n), T => T::wrap(conv::conv2d_backward_input::<T>(v(gy, n), v(w, n), g)))
    }
    fn conv2d_backward_weight(&self, x: &Storage, gy: &Storage, g: &ConvGeom) -> Storage {
        let n = "conv2d_backward_weight";
        by_dtype!(host_dtype(x, n), T => T::wrap(conv::conv2d_backward_weight::<T>(v(x, n), v(gy, n), g)))
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
        let n = "norm_forward";
        by_dtype!(host_dtype(x, n), T => {
            let (y, mean, invstd) = norm::forward::<T>(v(x, n), v_opt(gamma, n), v_opt(beta, n), g, eps);
            (T::wrap(y), T::wrap(mean), T::wrap(invstd))
        })
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
        let n = "norm_forward_eval";
        by_dtype!(host_dtype(x, n), T => T::wrap(norm::forward_eval::<T>(v(x, n), v(mean, n), v(var, n), v_opt(gamma, n), v_opt(beta, n), g, eps)))
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
        let n = "norm_backward";
        by_dtype!(host_dtype(x, n), T => {
            let (gx, gg, gb) = norm::backward::<T>(v(x, n), v(gy, n), v(mean, n), v(invstd, n), v_opt(gamma, n), g);
            (T::wrap(gx), gg.map(T::wrap), gb.map(T::wrap))
        })
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
        let n = "norm_running_update";
        by_dtype!(host_dtype(mean, n), T => norm::running_update::<T>(T::view_mut(run_mean, n), T::view_mut(run_var, n), v(mean, n), v(invstd, n), count, momentum, eps))
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
        let op = "copy_channels";
        by_dtype!(host_dtype(src, op), T => layout::copy_channels::<T>(v(src, op), src_c, src_c0, T::view_mut(dst, op), dst_c, dst_c0, count, n, hw))
    }

    // ---- pooling -------------------------------------------------------------
    fn pool2(&self, op: Pool, x: &Storage, n: usize, c: usize, h: usize, w: usize) -> Storage {
        let name = "pool2";
        by_dtype!(host_dtype(x, name), T => T::wrap(pool::pool2::<T>(op, v(x, name), n, c, h, w)))
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
        let name = "pool2_backward";
        by_dtype!(host_dtype(x, name), T => T::wrap(pool::pool2_backward::<T>(op, v(x, name), v(gy, name), n, c, h, w)))
    }

    // ---- reflection padding ----------------------------------------------------
    fn reflection_pad(&self, x: &Storage, g: &PadGeom) -> Storage {
        let n = "reflection_pad";
        by_dtype!(host_dtype(x, n), T => T::wrap(pad::reflection_pad::<T>(v(x, n), g)))
    }
    fn reflection_pad_backward(&self, gy: &Storage, g: &PadGeom) -> Storage {
        let n = "reflection_pad_backward";
        by_dtype!(host_dtype(gy, n), T => T::wrap(pad::reflection_pad_backward::<T>(v(gy, n), g)))
    }

    // ---- dropout -----------------------------------------------------------
    fn dropout_mask(&self, len: usize, p: f64, seed: u64, dtype: DType) -> Storage {
        by_dtype!(dtype, T => T::wrap(random::dropout_mask::<T>(len, p, seed)))
    }

    // ---- gram --------------------------------------------------------------
    fn gram(&self, x: &Storage, n: usize, c: usize, hw: usize) -> Storage {
        let op = "gram";
        by_dtype!(host_dtype(x, op), T => T::wrap(gram::gram::<T>(v(x, op), n, c, hw)))
    }
    fn gram_backward(&self, x: &Storage, gg: &Storage, n: usize, c: usize, hw: usize) -> Storage {
        let op = "gram_backward";
        by_dtype!(host_dtype(x, op), T => T::wrap(gram::gram_backward::<T>(v(x, op), v(gg, op), n, c, hw)))
    }

    // ---- losses ------------------------------------------------------------
    fn loss(&self, op: Loss, a: &Storage, b: &Storage) -> Storage {
        let n = "loss";
        by_dtype!(host_dtype(a, n), T => T::wrap(loss::loss::<T>(op, v(a, n), v(b, n))))
    }
    fn loss_backward(&self, op: Loss, a: &Storage, b: &Storage, gl: &Storage) -> Storage {
        let n = "loss_backward";
        by_dtype!(host_dtype(a, n), T => T::wrap(loss::loss_backward::<T>(op, v(a, n), v(b, n), v(gl, n))))
    }
    fn tv(&self, x: &Storage, n: usize, c: usize, h: usize, w: usize) -> Storage {
        let op = "tv";
        by_dtype!(host_dtype(x, op), T => T::wrap(loss::tv::<T>(v(x, op), n, c, h, w)))
    }
    fn tv_backward(&self, x: &Storage, gl: &Storage, n: usize, c: usize, h: usize, w: usize) -> Storage {
        let op = "tv_backward";
        by_dtype!(host_dtype(x, op), T => T::wrap(loss::tv_backward::<T>(v(x, op), v(gl, op), n, c, h, w)))
    }

    // ---- optimiser -----------------------------------------------------------
    fn adam_step(&self, param: &mut Storage, grad: &Storage, m: &mut Storage, v: &mut Storage, h: &AdamStep) {
        let n = "adam_step";
        by_dtype!(host_dtype(grad, n), T => adam::adam_step::<T>(T::view_mut(param, n), T::view(grad, n), T::view_mut(m, n), T::view_mut(v, n), h))
    }
}
