//! `DeviceBackend`: every `Backend` primitive as launches of the kernels in `kernels/*.cu`
//! on a `Runtime` (CUDA or the host emulator). The launch code here (grids, argument order,
//! workspaces) is shared by both, so the emulator's parity tests cover it.
//!
//! Nothing here waits for the device except `to_f32` / `to_f64` / `synchronize`. Workspaces
//! are dropped (returned to the runtime's allocator) right after their kernels are queued;
//! the runtime reuses memory in stream order, so that is safe.

use std::sync::Arc;

use super::launch::{grid_1d, grid_rows, launch, reduce_blocks, split, Args, BLOCK, GEMM_BK, GEMM_TILE};
use super::{DevBuf, Runtime};
use crate::backend::{
    AdamStep, Backend, Binary, ConvGeom, DType, Loss, NormGeom, PadGeom, Pool, Storage, Unary,
};

/// Minimum elements per block of a split reduction (256 threads x 8).
const MIN_SPLIT: usize = 2048;
/// Minimum K per split of a split-K GEMM (32 K-slices).
const MIN_SPLIT_K: usize = 512;

/// The device backend. Cheap to clone; all state lives in the runtime.
#[derive(Clone)]
pub struct DeviceBackend {
    rt: Arc<dyn Runtime>,
}

fn f32_only(dtype: DType) {
    assert!(dtype == DType::F32, "device backends run f32 (asked for {dtype})");
}

fn dev(s: &Storage) -> &DevBuf {
    match s {
        Storage::Device(b) => b,
        Storage::F64(_) => panic!("device backends run f32 (got an f64 host storage)"),
        Storage::F32(_) => {
            panic!("device backend got a host (cpu) storage; move tensors to the device first")
        }
    }
}

fn same_len(op: &str, a: &Storage, b: &Storage) {
    assert_eq!(a.len(), b.len(), "{op}: operand lengths differ ({} vs {})", a.len(), b.len());
}

fn expect_len(op: &str, what: &str, s: &Storage, len: usize) {
    assert_eq!(s.len(), len, "{op}: {what} has {} elements, expected {len}", s.len());
}

fn unary_code(op: Unary) -> (i32, f32) {
    match op {
        Unary::Relu => (0, 0.0),
        Unary::LeakyRelu(a) => (1, a as f32),
        Unary::Tanh => (2, 0.0),
        Unary::Sigmoid => (3, 0.0),
        Unary::Abs => (4, 0.0),
        Unary::Sqr => (5, 0.0),
    }
}

fn tiles(n: usize) -> usize {
    n.div_ceil(GEMM_TILE)
}

impl DeviceBackend {
    pub fn new(rt: Arc<dyn Runtime>) -> Self {
        DeviceBackend { rt }
    }

    pub fn runtime(&self) -> &Arc<dyn Runtime> {
        &self.rt
    }

    fn alloc(&self, len: usize) -> DevBuf {
        self.rt.alloc(len)
    }

    fn run(&self, module: &str, kernel: &str, grid: [usize; 3], args: Args) {
        launch(&*self.rt, module, kernel, grid, BLOCK, args);
    }

    fn fill_buf(&self, b: &DevBuf, value: f32) {
        self.run("elementwise", "fill", grid_1d(b.len), Args::new().buf(b).int(b.len).f32(value));
    }

    /// out[i] = scale * sum_z ws[z*len + i].
    fn sum_splits(&self, ws: &DevBuf, splits: usize, len: usize, scale: f32, out: &DevBuf) {
        self.run(
            "reduce",
            "sum_splits",
            grid_1d(len),
            Args::new().buf(ws).int(splits).int(len).f32(scale).buf(out),
        );
    }

    /// Runs a split-K GEMM kernel: `launch(target, splits, chunk)` writes `splits` partial
    /// copies of an `out_len` output (K ranges of `chunk`) into `target`, which is the output
    /// itself when one split suffices; otherwise the copies are summed in a fixed order.
    fn split_k(
        &self,
        out_len: usize,
        out_tiles: usize,
        k: usize,
        launch: impl FnOnce(&DevBuf, usize, usize),
    ) -> DevBuf {
        let (splits, chunk) = split(out_tiles, k, MIN_SPLIT_K, GEMM_BK);
        let out = self.alloc(out_len);
        if splits == 1 {
            launch(&out, 1, chunk);
        } else {
            let ws = self.alloc(splits * out_len);
            launch(&ws, splits, chunk);
            self.sum_splits(&ws, splits, out_len, 1.0, &out);
        }
        out
    }

    /// Second stage of a full reduction: a one-element storage scale * sum(partials).
    fn finish_sum(&self, partials: &DevBuf, count: usize, scale: f32) -> Storage {
        let out = self.alloc(1);
        self.run(
            "reduce",
            "sum_finish",
            [1, 1, 1],
            Args::new().buf(partials).int(count).f32(scale).buf(&out),
        );
        Storage::Device(out)
    }

    /// Norm reductions: (reps, rep_stride) of the statistic layout (see kernels/norm.cu).
    fn norm_layout(g: &NormGeom) -> (usize, usize) {
        if g.instance {
            (1, 0)
        } else {
            (g.n, g.c * g.hw)
        }
    }
}

impl Backend for DeviceBackend {
    fn name(&self) -> String {
        self.rt.name()
    }

    // ---- memory ------------------------------------------------------------
    fn from_f64(&self, data: &[f64], dtype: DType) -> Storage {
        f32_only(dtype);
        let v: Vec<f32> = data.iter().map(|&x| x as f32).collect();
        self.from_f32(&v, dtype)
    }

    fn from_f32(&self, data: &[f32], dtype: DType) -> Storage {
        f32_only(dtype);
        let b = self.alloc(data.len());
        self.rt.htod(&b, data);
        Storage::Device(b)
    }

    fn to_f64(&self, s: &Storage) -> Vec<f64> {
        self.to_f32(s).into_iter().map(f64::from).collect()
    }

    fn to_f32(&self, s: &Storage) -> Vec<f32> {
        self.rt.dtoh(dev(s))
    }

    fn zeros(&self, len: usize, dtype: DType) -> Storage {
        self.full(len, 0.0, dtype)
    }

    fn full(&self, len: usize, value: f64, dtype: DType) -> Storage {
        f32_only(dtype);
        let b = self.alloc(len);
        self.fill_buf(&b, value as f32);
        Storage::Device(b)
    }

    fn clone_storage(&self, s: &Storage) -> Storage {
        let src = dev(s);
        let b = self.alloc(src.len);
        self.rt.dtod(&b, 0, src, 0, src.len);
        Storage::Device(b)
    }

    fn randn(&self, len: usize, seed: u64, mean: f64, std: f64, dtype: DType) -> Storage {
        f32_only(dtype);
        let b = self.alloc(len);
        self.run(
            "random",
            "rand_normal",
            grid_1d(len),
            Args::new().buf(&b).int(len).u64(seed).f32(mean as f32).f32(std as f32),
        );
        Storage::Device(b)
    }

    fn rand_uniform(&self, len: usize, seed: u64, lo: f64, hi: f64, dtype: DType) -> Storage {
        f32_only(dtype);
        let b = self.alloc(len);
        self.run(
            "random",
            "rand_uniform",
            grid_1d(len),
            Args::new().buf(&b).int(len).u64(seed).f32(lo as f32).f32(hi as f32),
        );
        Storage::Device(b)
    }

    // ---- elementwise -------------------------------------------------------
    fn unary(&self, op: Unary, x: &Storage) -> Storage {
        let (code, alpha) = unary_code(op);
        let n = x.len();
        let y = self.alloc(n);
        self.run(
            "elementwise",
            "unary_fwd",
            grid_1d(n),
            Args::new().buf(dev(x)).buf(&y).int(n).i32(code).f32(alpha),
        );
        Storage::Device(y)
    }

    fn unary_backward(&self, op: Unary, x: &Storage, y: &Storage, gy: &Storage) -> Storage {
        same_len("unary_backward", x, gy);
        same_len("unary_backward", y, gy);
        let (code, alpha) = unary_code(op);
        let n = x.len();
        let gx = self.alloc(n);
        let args = Args::new().buf(dev(x)).buf(dev(y)).buf(dev(gy)).buf(&gx).int(n).i32(code).f32(alpha);
        self.run("elementwise", "unary_bwd", grid_1d(n), args);
        Storage::Device(gx)
    }

    fn binary(&self, op: Binary, a: &Storage, b: &Storage) -> Storage {
        same_len("binary", a, b);
        let code = match op {
            Binary::Add => 0,
            Binary::Sub => 1,
            Binary::Mul => 2,
        };
        let n = a.len();
        let out = self.alloc(n);
        self.run(
            "elementwise",
            "binary",
            grid_1d(n),
            Args::new().buf(dev(a)).buf(dev(b)).buf(&out).int(n).i32(code),
        );
        Storage::Device(out)
    }

    fn affine(&self, x: &Storage, a: f64, b: f64) -> Storage {
        let n = x.len();
        let y = self.alloc(n);
        self.run(
            "elementwise",
            "affine",
            grid_1d(n),
            Args::new().buf(dev(x)).buf(&y).int(n).f32(a as f32).f32(b as f32),
        );
        Storage::Device(y)
    }

    fn mul_scalar_storage(&self, x: &Storage, s: &Storage) -> Storage {
        expect_len("mul_scalar_storage", "the scalar", s, 1);
        let n = x.len();
        let y = self.alloc(n);
        self.run(
            "elementwise",
            "mul_scalar_dev",
            grid_1d(n),
            Args::new().buf(dev(x)).buf(dev(s)).buf(&y).int(n),
        );
        Storage::Device(y)
    }

    fn add_inplace(&self, acc: &mut Storage, x: &Storage) {
        same_len("add_inplace", acc, x);
        let n = x.len();
        self.run("elementwise", "add_inplace", grid_1d(n), Args::new().buf(dev(acc)).buf(dev(x)).int(n));
    }

    // ---- reductions --------------------------------------------------------
    fn sum_all(&self, x: &Storage) -> Storage {
        let n = x.len();
        let blocks = reduce_blocks(n);
        let partials = self.alloc(blocks);
        self.run("reduce", "sum_partial", [blocks, 1, 1], Args::new().buf(dev(x)).int(n).buf(&partials));
        self.finish_sum(&partials, blocks, 1.0)
    }

    fn broadcast_scalar(&self, s: &Storage, len: usize, scale: f64) -> Storage {
        expect_len("broadcast_scalar", "the scalar", s, 1);
        let y = self.alloc(len);
        self.run(
            "elementwise",
            "broadcast_scalar",
            grid_1d(len),
            Args::new().buf(dev(s)).buf(&y).int(len).f32(scale as f32),
        );
        Storage::Device(y)
    }

    fn channel_sum(&self, x: &Storage, n: usize, c: usize, hw: usize) -> Storage {
        expect_len("channel_sum", "x", x, n * c * hw);
        let out = self.alloc(c);
        let (splits, chunk) = split(c, n * hw, MIN_SPLIT, 1);
        let ws = if splits > 1 { Some(self.alloc(splits * c)) } else { None };
        let target = ws.as_ref().unwrap_or(&out);
        self.run(
            "reduce",
            "seg_partial",
            [c, splits, 1],
            Args::new().buf(dev(x)).int(c).int(hw).int(n).int(chunk).buf(target),
        );
        if let Some(ws) = &ws {
            self.sum_splits(ws, splits, c, 1.0, &out);
        }
        Storage::Device(out)
    }

    fn add_channel_bias(&self, x: &Storage, bias: &Storage, n: usize, c: usize, hw: usize) -> Storage {
        expect_len("add_channel_bias", "x", x, n * c * hw);
        expect_len("add_channel_bias", "bias", bias, c);
        let y = self.alloc(x.len());
        self.run(
            "reduce",
            "add_channel_bias",
            grid_rows(n * c, hw),
            Args::new().buf(dev(x)).buf(dev(bias)).buf(&y).int(c).int(hw),
        );
        Storage::Device(y)
    }

    // ---- convolution -------------------------------------------------------
    fn conv2d(&self, x: &Storage, w: &Storage, g: &ConvGeom) -> Storage {
        expect_len("conv2d", "x", x, g.x_len());
        expect_len("conv2d", "weight", w, g.w_len());
        let (m, n, k) = (g.c_out, g.n * g.oh * g.ow, g.c_in * g.kh * g.kw);
        let y = self.split_k(g.y_len(), tiles(m) * tiles(n), k, |out, splits, chunk| {
            let args = conv_args(Args::new().buf(dev(x)).buf(dev(w)).buf(out), g).int(chunk);
            self.run("conv", "conv2d_fwd", [tiles(n), tiles(m), splits], args);
        });
        Storage::Device(y)
    }

    fn conv2d_backward_input(&self, gy: &Storage, w: &Storage, g: &ConvGeom) -> Storage {
        expect_len("conv2d_backward_input", "gy", gy, g.y_len());
        expect_len("conv2d_backward_input", "weight", w, g.w_len());
        // One grid z per stride phase (times the splits); x covers the largest phase, and
        // the K chunks are cut from the largest phase K.
        let s = g.stride;
        let (m, n) = (g.c_in, g.n * g.h.div_ceil(s) * g.w.div_ceil(s));
        let k = g.c_out * g.kh.div_ceil(s) * g.kw.div_ceil(s);
        let gx = self.split_k(g.x_len(), tiles(m) * tiles(n) * s * s, k, |out, splits, chunk| {
            let args = conv_args(Args::new().buf(dev(gy)).buf(dev(w)).buf(out), g).int(chunk);
            self.run("conv", "conv2d_bwd_input", [tiles(n), tiles(m), splits * s * s], args);
        });
        Storage::Device(gx)
    }

    fn conv2d_backward_weight(&self, x: &Storage, gy: &Storage, g: &ConvGeom) -> Storage {
        expect_len("conv2d_backward_weight", "x", x, g.x_len());
        expect_len("conv2d_backward_weight", "gy", gy, g.y_len());
        let (m, n, k) = (g.c_out, g.c_in * g.kh * g.kw, g.n * g.oh * g.ow);
        let gw = self.split_k(m * n, tiles(m) * tiles(n), k, |out, splits, chunk| {
            let args = conv_args(Args::new().buf(dev(x)).buf(dev(gy)).buf(out), g).int(chunk);
            self.run("conv", "conv2d_bwd_weight", [tiles(n), tiles(m), splits], args);
        });
        Storage::Device(gw)
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
        expect_len("norm_forward", "x", x, g.len());
        for p in gamma.iter().chain(beta.iter()) {
            expect_len("norm_forward", "gamma/beta", p, g.c);
        }
        let stats = g.stats_len();
        let (reps, rep_stride) = Self::norm_layout(g);
        let (splits, chunk) = split(stats, g.count(), MIN_SPLIT, 1);
        let ws = self.alloc(3 * splits * stats);
        let args = Args::new().buf(dev(x)).int(stats).int(g.hw).int(reps).int(rep_stride).int(chunk).buf(&ws);
        self.run("norm", "norm_stats_partial", [stats, splits, 1], args);
        let (mean, invstd) = (self.alloc(stats), self.alloc(stats));
        let args = Args::new().buf(&ws).int(stats).int(splits).f32(eps as f32).buf(&mean).buf(&invstd);
        self.run("norm", "norm_stats_finish", grid_1d(stats), args);
        let len = g.len();
        let y = self.alloc(len);
        let args = Args::new()
            .buf(dev(x))
            .buf(&mean)
            .buf(&invstd)
            .opt(gamma.map(dev))
            .opt(beta.map(dev))
            .buf(&y)
            .int(g.c)
            .int(g.hw)
            .i32(g.instance as i32)
            .i32(gamma.is_some() as i32)
            .i32(beta.is_some() as i32);
        self.run("norm", "norm_apply", grid_rows(g.n * g.c, g.hw), args);
        (Storage::Device(y), Storage::Device(mean), Storage::Device(invstd))
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
        expect_len("norm_forward_eval", "x", x, g.len());
        for p in [Some(mean), Some(var), gamma, beta].into_iter().flatten() {
            expect_len("norm_forward_eval", "statistics/gamma/beta", p, g.c);
        }
        let len = g.len();
        let y = self.alloc(len);
        let args = Args::new()
            .buf(dev(x))
            .buf(dev(mean))
            .buf(dev(var))
            .opt(gamma.map(dev))
            .opt(beta.map(dev))
            .buf(&y)
            .int(g.c)
            .int(g.hw)
            .f32(eps as f32)
            .i32(gamma.is_some() as i32)
            .i32(beta.is_some() as i32);
        self.run("norm", "norm_apply_eval", grid_rows(g.n * g.c, g.hw), args);
        Storage::Device(y)
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
        expect_len("norm_backward", "x", x, g.len());
        expect_len("norm_backward", "gy", gy, g.len());
        let stats = g.stats_len();
        expect_len("norm_backward", "mean", mean, stats);
        expect_len("norm_backward", "invstd", invstd, stats);
        if let Some(gm) = gamma {
            expect_len("norm_backward", "gamma", gm, g.c);
        }
        let (reps, rep_stride) = Self::norm_layout(g);
        let (splits, chunk) = split(stats, g.count(), MIN_SPLIT, 1);
        // sums = [sum gy; sum gy*xhat], each of length stats.
        let sums = self.alloc(2 * stats);
        let ws = if splits > 1 { Some(self.alloc(splits * 2 * stats)) } else { None };
        let target = ws.as_ref().unwrap_or(&sums);
        let args = Args::new()
            .buf(dev(x))
            .buf(dev(gy))
            .buf(dev(mean))
            .buf(dev(invstd))
            .int(stats)
            .int(g.hw)
            .int(reps)
            .int(rep_stride)
            .int(chunk)
            .buf(target);
        self.run("norm", "norm_bwd_partial", [stats, splits, 1], args);
        if let Some(ws) = &ws {
            self.sum_splits(ws, splits, 2 * stats, 1.0, &sums);
        }
        let len = g.len();
        let gx = self.alloc(len);
        let args = Args::new()
            .buf(dev(x))
            .buf(dev(gy))
            .buf(dev(mean))
            .buf(dev(invstd))
            .opt(gamma.map(dev))
            .buf(&sums)
            .buf(&gx)
            .int(g.c)
            .int(g.hw)
            .i32(g.instance as i32)
            .int(stats)
            .f32((1.0 / g.count() as f64) as f32)
            .i32(gamma.is_some() as i32);
        self.run("norm", "norm_bwd_apply", grid_rows(g.n * g.c, g.hw), args);
        if gamma.is_none() {
            return (Storage::Device(gx), None, None);
        }
        let (ggamma, gbeta) = (self.alloc(g.c), self.alloc(g.c));
        let per_channel = if g.instance { g.n } else { 1 };
        let args = Args::new().buf(&sums).int(stats).int(g.c).int(per_channel).buf(&ggamma).buf(&gbeta);
        self.run("norm", "norm_param_grads", grid_1d(g.c), args);
        (Storage::Device(gx), Some(Storage::Device(ggamma)), Some(Storage::Device(gbeta)))
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
        let len = run_mean.len();
        expect_len("norm_running_update", "running var", run_var, len);
        expect_len("norm_running_update", "batch mean", mean, len);
        expect_len("norm_running_update", "batch invstd", invstd, len);
        let unbias = if count > 1 { count as f64 / (count - 1) as f64 } else { 1.0 };
        let args = Args::new()
            .buf(dev(run_mean))
            .buf(dev(run_var))
            .buf(dev(mean))
            .buf(dev(invstd))
            .int(len)
            .f32(momentum as f32)
            .f32(eps as f32)
            .f32(unbias as f32);
        self.run("norm", "norm_running", grid_1d(len), args);
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
        expect_len("copy_channels", "src", src, n * src_c * hw);
        expect_len("copy_channels", "dst", dst, n * dst_c * hw);
        assert!(
            src_c0 + count <= src_c && dst_c0 + count <= dst_c,
            "copy_channels: channels {src_c0}+{count} of {src_c} into {dst_c0}+{count} of {dst_c}"
        );
        let args = Args::new()
            .buf(dev(src))
            .int(src_c)
            .int(src_c0)
            .buf(dev(dst))
            .int(dst_c)
            .int(dst_c0)
            .int(count)
            .int(n)
            .int(hw);
        self.run("layout", "copy_channels", grid_1d(n * count * hw), args);
    }

    // ---- pooling -----------------------------------------------------------
    fn pool2(&self, op: Pool, x: &Storage, n: usize, c: usize, h: usize, w: usize) -> Storage {
        expect_len("pool2", "x", x, n * c * h * w);
        let len = n * c * (h / 2) * (w / 2);
        let y = self.alloc(len);
        let args = Args::new().buf(dev(x)).buf(&y).int(n * c).int(h).int(w).i32(pool_code(op));
        self.run("pool", "pool2_fwd", grid_1d(len), args);
        Storage::Device(y)
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
        expect_len("pool2_backward", "x", x, n * c * h * w);
        expect_len("pool2_backward", "gy", gy, n * c * (h / 2) * (w / 2));
        let len = x.len();
        let gx = self.alloc(len);
        let args = Args::new().buf(dev(x)).buf(dev(gy)).buf(&gx).int(n * c).int(h).int(w).i32(pool_code(op));
        self.run("pool", "pool2_bwd", grid_1d(len), args);
        Storage::Device(gx)
    }

    // ---- reflection padding ----------------------------------------------------
    fn reflection_pad(&self, x: &Storage, g: &PadGeom) -> Storage {
        super::pad::reflection_pad(&*self.rt, x, g)
    }

    fn reflection_pad_backward(&self, gy: &Storage, g: &PadGeom) -> Storage {
        super::pad::reflection_pad_backward(&*self.rt, gy, g)
    }

    // ---- dropout -----------------------------------------------------------
    fn dropout_mask(&self, len: usize, p: f64, seed: u64, dtype: DType) -> Storage {
        f32_only(dtype);
        // The same integer threshold as philox::keep, so masks are bit-identical.
        let threshold = (p * 16_777_216.0).round() as u32;
        let scale = (1.0 / (1.0 - p)) as f32;
        let y = self.alloc(len);
        self.run(
            "random",
            "dropout_mask",
            grid_1d(len),
            Args::new().buf(&y).int(len).u64(seed).u32(threshold).f32(scale),
        );
        Storage::Device(y)
    }

    // ---- gram --------------------------------------------------------------
    fn gram(&self, x: &Storage, n: usize, c: usize, hw: usize) -> Storage {
        expect_len("gram", "x", x, n * c * hw);
        let scale = (1.0 / (c * hw) as f64) as f32;
        let out = self.split_k(n * c * c, n * tiles(c) * tiles(c), hw, |out, splits, chunk| {
            let args =
                Args::new().buf(dev(x)).buf(out).int(n).int(c).int(hw).int(splits).int(chunk).f32(scale);
            self.run("gram", "gram_fwd", [tiles(c), tiles(c), n * splits], args);
        });
        Storage::Device(out)
    }

    fn gram_backward(&self, x: &Storage, gg: &Storage, n: usize, c: usize, hw: usize) -> Storage {
        expect_len("gram_backward", "x", x, n * c * hw);
        expect_len("gram_backward", "gG", gg, n * c * c);
        let gx = self.alloc(n * c * hw);
        let scale = (1.0 / (c * hw) as f64) as f32;
        let args = Args::new().buf(dev(x)).buf(dev(gg)).buf(&gx).int(c).int(hw).f32(scale);
        self.run("gram", "gram_bwd", [tiles(hw), tiles(c), n], args);
        Storage::Device(gx)
    }

    // ---- losses ------------------------------------------------------------
    fn loss(&self, op: Loss, a: &Storage, b: &Storage) -> Storage {
        same_len("loss", a, b);
        let n = a.len();
        let blocks = reduce_blocks(n);
        let partials = self.alloc(blocks);
        self.run(
            "loss",
            "loss_partial",
            [blocks, 1, 1],
            Args::new().buf(dev(a)).buf(dev(b)).int(n).i32(loss_code(op)).buf(&partials),
        );
        self.finish_sum(&partials, blocks, (1.0 / n as f64) as f32)
    }

    fn loss_backward(&self, op: Loss, a: &Storage, b: &Storage, gl: &Storage) -> Storage {
        same_len("loss_backward", a, b);
        expect_len("loss_backward", "the upstream gradient", gl, 1);
        let n = a.len();
        let ga = self.alloc(n);
        let args = Args::new()
            .buf(dev(a))
            .buf(dev(b))
            .buf(dev(gl))
            .buf(&ga)
            .int(n)
            .i32(loss_code(op))
            .f32((1.0 / n as f64) as f32);
        self.run("loss", "loss_bwd", grid_1d(n), args);
        Storage::Device(ga)
    }

    fn tv(&self, x: &Storage, n: usize, c: usize, h: usize, w: usize) -> Storage {
        expect_len("tv", "x", x, n * c * h * w);
        let len = x.len();
        let blocks = reduce_blocks(len);
        let partials = self.alloc(blocks);
        self.run(
            "loss",
            "tv_partial",
            [blocks, 1, 1],
            Args::new().buf(dev(x)).int(n * c).int(h).int(w).buf(&partials),
        );
        self.finish_sum(&partials, blocks, (1.0 / len as f64) as f32)
    }

    fn tv_backward(&self, x: &Storage, gl: &Storage, n: usize, c: usize, h: usize, w: usize) -> Storage {
        expect_len("tv_backward", "x", x, n * c * h * w);
        expect_len("tv_backward", "the upstream gradient", gl, 1);
        let len = x.len();
        let gx = self.alloc(len);
        let args = Args::new()
            .buf(dev(x))
            .buf(dev(gl))
            .buf(&gx)
            .int(n * c)
            .int(h)
            .int(w)
            .f32((2.0 / len as f64) as f32);
        self.run("loss", "tv_bwd", grid_1d(len), args);
        Storage::Device(gx)
    }

    // ---- optimiser -----------------------------------------------------------
    fn adam_step(&self, param: &mut Storage, grad: &Storage, m: &mut Storage, v: &mut Storage, h: &AdamStep) {
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
        self.run("adam", "adam_step", grid_1d(n), args);
    }

    fn synchronize(&self) {
        self.rt.synchronize().unwrap_or_else(|e| panic!("{}: {e}", self.rt.name()));
    }
}

/// The geometry parameters shared by the three conv kernels, in their order.
fn conv_args(a: Args, g: &ConvGeom) -> Args {
    a.int(g.n)
        .int(g.c_in)
        .int(g.h)
        .int(g.w)
        .int(g.c_out)
        .int(g.kh)
        .int(g.kw)
        .int(g.stride)
        .int(g.pad)
        .int(g.oh)
        .int(g.ow)
}

fn pool_code(op: Pool) -> i32 {
    match op {
        Pool::Max => 0,
        Pool::Avg => 1,
    }
}

fn loss_code(op: Loss) -> i32 {
    match op {
        Loss::L1 => 0,
        Loss::Mse => 1,
        Loss::BceWithLogits => 2,
    }
}
