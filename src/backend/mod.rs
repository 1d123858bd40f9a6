//! The `Backend` trait: every numeric primitive the engine needs, on opaque storage.
//!
//! Autograd and layers never look inside a `Storage`; they call these primitives.
//! The CPU backend (`cpu/`) is the reference; the device backend (`device/`) runs the
//! hand-written kernels of `kernels/*.cu`, either on a GPU through CUDA or on the host
//! through the emulator. All tensors are contiguous NCHW; weights are OIHW.
//!
//! Conventions:
//! - Every primitive returns freshly allocated storage unless its name says otherwise
//!   (`*_inplace`, `copy_channels`).
//! - Scalars that flow through backward (loss gradients) stay in storage of one element,
//!   so a device backend never has to synchronise with the host inside a step.
//! - The dtype of the output equals the dtype of the inputs. Device backends run f32 only.

pub mod cpu;
pub mod device;
mod kind;
pub mod philox;
pub mod precision;

pub use kind::{DeviceKind, DeviceSpec};

use std::fmt;

/// Element type of a tensor. Models run in f32; gradient checks run in f64 on the CPU.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DType {
    F32,
    F64,
}

impl fmt::Display for DType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            DType::F32 => "f32",
            DType::F64 => "f64",
        })
    }
}

/// The memory behind a tensor. Host vectors for the CPU backend, a device buffer otherwise.
pub enum Storage {
    F32(Vec<f32>),
    F64(Vec<f64>),
    Device(device::DevBuf),
}

impl Storage {
    pub fn len(&self) -> usize {
        match self {
            Storage::F32(v) => v.len(),
            Storage::F64(v) => v.len(),
            Storage::Device(b) => b.len(),
        }
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    pub fn dtype(&self) -> DType {
        match self {
            Storage::F32(_) | Storage::Device(_) => DType::F32,
            Storage::F64(_) => DType::F64,
        }
    }
}

/// Geometry of a 2-D convolution: input [n, c_in, h, w], weight [c_out, c_in, kh, kw],
/// output [n, c_out, oh, ow] with oh = (h + 2*pad - kh) / stride + 1.
/// Transposed convolutions are expressed with the same struct: their forward pass is
/// `conv2d_backward_input` of the mirrored convolution (see `tensor::ops::conv`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConvGeom {
    pub n: usize,
    pub c_in: usize,
    pub h: usize,
    pub w: usize,
    pub c_out: usize,
    pub kh: usize,
    pub kw: usize,
    pub stride: usize,
    pub pad: usize,
    pub oh: usize,
    pub ow: usize,
}

impl ConvGeom {
    /// Geometry of an ordinary convolution from the input size.
    pub fn forward(
        n: usize,
        c_in: usize,
        h: usize,
        w: usize,
        c_out: usize,
        k: (usize, usize),
        stride: usize,
        pad: usize,
    ) -> Self {
        assert!(
            h + 2 * pad >= k.0 && w + 2 * pad >= k.1,
            "conv2d: input {h}x{w} with padding {pad} is smaller than kernel {}x{}",
            k.0,
            k.1
        );
        let oh = (h + 2 * pad - k.0) / stride + 1;
        let ow = (w + 2 * pad - k.1) / stride + 1;
        ConvGeom { n, c_in, h, w, c_out, kh: k.0, kw: k.1, stride, pad, oh, ow }
    }
    pub fn x_len(&self) -> usize {
        self.n * self.c_in * self.h * self.w
    }
    pub fn w_len(&self) -> usize {
        self.c_out * self.c_in * self.kh * self.kw
    }
    pub fn y_len(&self) -> usize {
        self.n * self.c_out * self.oh * self.ow
    }
    /// Multiply-adds of one forward pass times two.
    pub fn flops(&self) -> f64 {
        2.0 * (self.n * self.c_out * self.oh * self.ow) as f64 * (self.c_in * self.kh * self.kw) as f64
    }
}

/// Layout for the normalisation primitives: x is [n, c, hw].
/// Batch norm reduces over (n, hw) per channel: statistics have length c.
/// Instance norm reduces over hw per (n, c): statistics have length n*c.
/// gamma/beta (when present) always have length c.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NormGeom {
    pub n: usize,
    pub c: usize,
    pub hw: usize,
    pub instance: bool,
}

impl NormGeom {
    pub fn stats_len(&self) -> usize {
        if self.instance {
            self.n * self.c
        } else {
            self.c
        }
    }
    /// Number of elements each statistic is computed over.
    pub fn count(&self) -> usize {
        if self.instance {
            self.hw
        } else {
            self.n * self.hw
        }
    }
    pub fn len(&self) -> usize {
        self.n * self.c * self.hw
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Reflection padding (PyTorch's `ReflectionPad2d`): x [n, c, h, w] -> y [n, c, h + top +
/// bottom, w + left + right]; y[.., oy, ox] = x[.., r(oy - top, h), r(ox - left, w)] with
/// r(i, s) = |i| mirrored about 0 and s - 1 (edges not repeated). Each pad is < its axis size.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PadGeom {
    pub n: usize,
    pub c: usize,
    pub h: usize,
    pub w: usize,
    pub top: usize,
    pub bottom: usize,
    pub left: usize,
    pub right: usize,
}

impl PadGeom {
    /// The same pad on all four sides; panics when a pad is not smaller than its axis.
    pub fn same(n: usize, c: usize, h: usize, w: usize, pad: usize) -> Self {
        let g = PadGeom { n, c, h, w, top: pad, bottom: pad, left: pad, right: pad };
        g.check();
        g
    }
    pub fn check(&self) {
        assert!(
            self.top.max(self.bottom) < self.h && self.left.max(self.right) < self.w,
            "reflection_pad2d: pads (top {}, bottom {}, left {}, right {}) must be smaller than the input {}x{}",
            self.top,
            self.bottom,
            self.left,
            self.right,
            self.h,
            self.w
        );
    }
    pub fn oh(&self) -> usize {
        self.h + self.top + self.bottom
    }
    pub fn ow(&self) -> usize {
        self.w + self.left + self.right
    }
    pub fn x_len(&self) -> usize {
        self.n * self.c * self.h * self.w
    }
    pub fn y_len(&self) -> usize {
        self.n * self.c * self.oh() * self.ow()
    }
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Unary {
    Relu,
    LeakyRelu(f64),
    Tanh,
    Sigmoid,
    Abs,
    Sqr,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Binary {
    Add,
    Sub,
    Mul,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pool {
    Max,
    Avg,
}

/// Mean-reduced losses between a prediction and a target of the same shape.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Loss {
    /// mean |a - b|
    L1,
    /// mean (a - b)^2
    Mse,
    /// mean of max(a,0) - a*b + log(1 + exp(-|a|)): a are logits, b targets in [0, 1].
    BceWithLogits,
}

/// Hyper-parameters of one Adam step (PyTorch semantics, L2 weight decay added to the gradient).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamStep {
    pub lr: f64,
    pub beta1: f64,
    pub beta2: f64,
    pub eps: f64,
    pub weight_decay: f64,
    /// 1-based step count, for bias correction.
    pub step: u64,
}

/// Every primitive of the engine. Implemented by `cpu::CpuBackend` (f32 and f64) and
/// `device::DeviceBackend` (f32; CUDA or the emulator).
#[allow(clippy::wrong_self_convention)] // from_* take &self: the backend owns the storage
pub trait Backend {
    /// Which device this backend computes on.
    fn kind(&self) -> DeviceKind;

    /// "cpu", "cuda:0", "emu".
    fn name(&self) -> String {
        self.kind().to_string()
    }

    /// Precision of the convolutions and Gram matrices (fp32 unless a device backend was
    /// asked for tf32 or bf16).
    fn precision(&self) -> precision::Precision {
        precision::Precision::Fp32
    }

    // ---- memory ------------------------------------------------------------
    fn from_f64(&self, data: &[f64], dtype: DType) -> Storage;
    fn from_f32(&self, data: &[f32], dtype: DType) -> Storage;
    fn to_f64(&self, s: &Storage) -> Vec<f64>;
    fn to_f32(&self, s: &Storage) -> Vec<f32>;
    fn zeros(&self, len: usize, dtype: DType) -> Storage;
    fn full(&self, len: usize, value: f64, dtype: DType) -> Storage;
    fn clone_storage(&self, s: &Storage) -> Storage;
    /// Standard normal (mean, std) or uniform [lo, hi) values from Philox keyed by
    /// `seed` and the element index: the same numbers on every backend.
    fn randn(&self, len: usize, seed: u64, mean: f64, std: f64, dtype: DType) -> Storage;
    fn rand_uniform(&self, len: usize, seed: u64, lo: f64, hi: f64, dtype: DType) -> Storage;

    // ---- elementwise -------------------------------------------------------
    fn unary(&self, op: Unary, x: &Storage) -> Storage;
    /// Gradient of `op` at x given the upstream gradient gy (y = op(x) is passed when the
    /// derivative is cheaper from it: tanh, sigmoid).
    fn unary_backward(&self, op: Unary, x: &Storage, y: &Storage, gy: &Storage) -> Storage;
    /// Same-shape binary op.
    fn binary(&self, op: Binary, a: &Storage, b: &Storage) -> Storage;
    /// a * x + b, with host scalars.
    fn affine(&self, x: &Storage, a: f64, b: f64) -> Storage;
    /// x * s[0] where s is a one-element storage (scaling by a gradient scalar).
    fn mul_scalar_storage(&self, x: &Storage, s: &Storage) -> Storage;
    /// acc += x (gradient accumulation).
    fn add_inplace(&self, acc: &mut Storage, x: &Storage);

    // ---- reductions --------------------------------------------------------
    /// Sum of all elements, as a one-element storage.
    fn sum_all(&self, x: &Storage) -> Storage;
    /// A storage of `len` copies of s[0] * scale.
    fn broadcast_scalar(&self, s: &Storage, len: usize, scale: f64) -> Storage;
    /// x is [n, c, hw]: per-channel sums (length c). Bias gradients.
    fn channel_sum(&self, x: &Storage, n: usize, c: usize, hw: usize) -> Storage;
    /// y[n, c, hw] = x + bias[c].
    fn add_channel_bias(&self, x: &Storage, bias: &Storage, n: usize, c: usize, hw: usize) -> Storage;

    // ---- convolution -------------------------------------------------------
    fn conv2d(&self, x: &Storage, w: &Storage, g: &ConvGeom) -> Storage;
    /// Gradient w.r.t. the input: gy [n, c_out, oh, ow] -> gx [n, c_in, h, w].
    fn conv2d_backward_input(&self, gy: &Storage, w: &Storage, g: &ConvGeom) -> Storage;
    /// Gradient w.r.t. the weight: -> gw [c_out, c_in, kh, kw].
    fn conv2d_backward_weight(&self, x: &Storage, gy: &Storage, g: &ConvGeom) -> Storage;

    // ---- normalisation -----------------------------------------------------
    /// Normalise with batch (or instance) statistics; returns (y, mean, invstd).
    fn norm_forward(
        &self,
        x: &Storage,
        gamma: Option<&Storage>,
        beta: Option<&Storage>,
        g: &NormGeom,
        eps: f64,
    ) -> (Storage, Storage, Storage);
    /// Batch norm in eval mode with running statistics (length c).
    fn norm_forward_eval(
        &self,
        x: &Storage,
        mean: &Storage,
        var: &Storage,
        gamma: Option<&Storage>,
        beta: Option<&Storage>,
        g: &NormGeom,
        eps: f64,
    ) -> Storage;
    /// Returns (gx, ggamma, gbeta); the last two only when gamma is given.
    fn norm_backward(
        &self,
        x: &Storage,
        gy: &Storage,
        mean: &Storage,
        invstd: &Storage,
        gamma: Option<&Storage>,
        g: &NormGeom,
    ) -> (Storage, Option<Storage>, Option<Storage>);
    /// running = (1 - m) * running + m * batch, with the unbiased batch variance
    /// recovered from invstd (var = 1/invstd^2 - eps, times count/(count-1)).
    fn norm_running_update(
        &self,
        run_mean: &mut Storage,
        run_var: &mut Storage,
        mean: &Storage,
        invstd: &Storage,
        count: usize,
        momentum: f64,
        eps: f64,
    );

    // ---- layout ------------------------------------------------------------
    /// Copies channels [src_c0, src_c0 + count) of src [n, src_c, hw] into channels
    /// [dst_c0, dst_c0 + count) of dst [n, dst_c, hw]. Concatenation and slicing.
    #[allow(clippy::too_many_arguments)]
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
    );

    // ---- pooling (2x2, stride 2; odd trailing rows/cols dropped as PyTorch does) ----
    fn pool2(&self, op: Pool, x: &Storage, n: usize, c: usize, h: usize, w: usize) -> Storage;
    fn pool2_backward(
        &self,
        op: Pool,
        x: &Storage,
        gy: &Storage,
        n: usize,
        c: usize,
        h: usize,
        w: usize,
    ) -> Storage;

    // ---- reflection padding ----------------------------------------------------
    fn reflection_pad(&self, x: &Storage, g: &PadGeom) -> Storage;
    /// gx[i] = sum of gy over the output positions that read x[i], added in ascending
    /// output order (so every backend gives the same bits).
    fn reflection_pad_backward(&self, gy: &Storage, g: &PadGeom) -> Storage;

    // ---- dropout -----------------------------------------------------------
    /// Mask of 0 or 1/(1-p): element i is kept when philox_uniform(seed, i) >= p.
    fn dropout_mask(&self, len: usize, p: f64, seed: u64, dtype: DType) -> Storage;

    // ---- gram --------------------------------------------------------------
    /// x [n, c, hw] -> G [n, c, c] = x x^T / (c * hw).
    fn gram(&self, x: &Storage, n: usize, c: usize, hw: usize) -> Storage;
    /// gx = (gG + gG^T) x / (c * hw).
    fn gram_backward(&self, x: &Storage, gg: &Storage, n: usize, c: usize, hw: usize) -> Storage;

    // ---- losses (mean over elements, one-element result) --------------------
    fn loss(&self, op: Loss, a: &Storage, b: &Storage) -> Storage;
    /// Gradient w.r.t. a, scaled by the upstream one-element gradient gl.
    fn loss_backward(&self, op: Loss, a: &Storage, b: &Storage, gl: &Storage) -> Storage;
    /// Total variation: (sum dy^2 + sum dx^2) / (n*c*h*w) over neighbouring pixels.
    fn tv(&self, x: &Storage, n: usize, c: usize, h: usize, w: usize) -> Storage;
    fn tv_backward(&self, x: &Storage, gl: &Storage, n: usize, c: usize, h: usize, w: usize) -> Storage;

    // ---- optimiser -----------------------------------------------------------
    /// Fused Adam update of `param`, `m` and `v` in place.
    fn adam_step(&self, param: &mut Storage, grad: &Storage, m: &mut Storage, v: &mut Storage, h: &AdamStep);

    /// Waits for queued work (device backends); a no-op on the CPU.
    fn synchronize(&self) {}
}
