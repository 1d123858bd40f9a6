//! Parity of the device backend (every kernel, forward and backward) against the CPU
//! reference, on fresh random inputs with odd shapes. Runs on the emulator always and on
//! CUDA when a GPU is present (otherwise prints "skipped: no CUDA device").
//!
//! Outputs are poisoned: the emulator fills every new allocation with NaN, and before each
//! check the device's allocator is handed NaN-filled buffers to recycle, so an element a
//! kernel forgets to write fails the comparison (NaN is never within tolerance).

use engine::backend::cpu::CpuBackend;
use engine::backend::device::DeviceBackend;
use engine::backend::precision::Precision;
use engine::backend::{
    philox, AdamStep, Backend, Binary, ConvGeom, DType, Loss, NormGeom, PadGeom, Pool, Storage, Unary,
};

const F32: DType = DType::F32;

/// One device under test plus the CPU reference.
struct Pair {
    cpu: CpuBackend,
    dev: DeviceBackend,
    seed: std::cell::Cell<u64>,
}

impl Pair {
    /// Fresh standard-normal data (a new seed on every call).
    fn randn(&self, len: usize) -> Vec<f32> {
        let s = self.seed.get();
        self.seed.set(s + 1);
        (0..len as u64).map(|i| philox::normal(1000 + s, i) as f32).collect()
    }
    fn uniform(&self, len: usize, lo: f32, hi: f32) -> Vec<f32> {
        let s = self.seed.get();
        self.seed.set(s + 1);
        (0..len as u64).map(|i| lo + (hi - lo) * philox::uniform(5000 + s, i) as f32).collect()
    }
    fn both(&self, data: &[f32]) -> (Storage, Storage) {
        (self.cpu.from_f32(data, F32), self.dev.from_f32(data, F32))
    }
    /// Hands the device allocator NaN-filled buffers of the sizes about to be allocated,
    /// so recycled memory is poisoned too (the emulator poisons fresh memory itself).
    fn poison(&self, lens: &[usize]) {
        let bufs: Vec<Storage> = lens.iter().map(|&l| self.dev.full(l, f64::NAN, F32)).collect();
        self.dev.synchronize();
        drop(bufs);
    }
    fn dev_name(&self) -> String {
        self.dev.name()
    }
}

/// |got - want| <= atol + rtol*|want| elementwise; NaN always fails.
#[track_caller]
fn close(pair: &Pair, what: &str, got: &Storage, want: &Storage, atol: f32, rtol: f32) {
    let got = pair.dev.to_f32(got);
    let want = pair.cpu.to_f32(want);
    assert_eq!(got.len(), want.len(), "{} {what}: length", pair.dev_name());
    let mut worst = (0usize, 0f32);
    for (i, (&g, &w)) in got.iter().zip(&want).enumerate() {
        let err = (g - w).abs();
        let ok = err <= atol + rtol * w.abs();
        if !ok {
            panic!(
                "{} {what}: element {i} of {}: device {g} vs cpu {w} (|err| {err} > {atol} + {rtol}*|cpu|)",
                pair.dev_name(),
                got.len()
            );
        }
        if err > worst.1 {
            worst = (i, err);
        }
    }
    eprintln!(
        "{} {what}: ok ({} elements, max |err| {:.2e} at {})",
        pair.dev_name(),
        got.len(),
        worst.1,
        worst.0
    );
}

#[track_caller]
fn identical(pair: &Pair, what: &str, got: &Storage, want: &Storage) {
    let got = pair.dev.to_f32(got);
    let want = pair.cpu.to_f32(want);
    assert_eq!(got.len(), want.len(), "{} {what}: length", pair.dev_name());
    for (i, (g, w)) in got.iter().zip(&want).enumerate() {
        assert!(
            g.to_bits() == w.to_bits(),
            "{} {what}: element {i}: device {g} vs cpu {w} (must be bit-identical)",
            pair.dev_name()
        );
    }
}

/// Runs `body` on every device under test.
fn each_device(body: impl Fn(&Pair)) {
    for dev in devices() {
        let pair = Pair { cpu: CpuBackend, dev, seed: std::cell::Cell::new(0) };
        body(&pair);
    }
}

// Tolerances, with their reasons:
// EXACT ops compute the same single f32 operation per element as the CPU.
const EXACT: (f32, f32) = (0.0, 0.0);
// One rounding apart: a*x+b may be contracted to one fma on the GPU.
const ROUNDING: (f32, f32) = (1e-6, 1e-6);
// Transcendentals (tanhf, expf, logf, cosf) differ by a few ulp between libms.
const LIBM: (f32, f32) = (2e-6, 4e-6);
// Reductions over up to ~10^4 terms in a different order (CPU often accumulates in f64):
// relative error ~ eps * sqrt(terms).
const REDUCE: (f32, f32) = (2e-5, 2e-5);
// GEMM-like sums over K <= ~1200 products of N(0,1) values (magnitude up to ~sqrt(K)).
const GEMM: (f32, f32) = (1e-4, 1e-4);

#[test]
fn elementwise_unary_forward_and_backward() {
    each_device(|p| {
        let n = 1237;
        let ops = [Unary::Relu, Unary::LeakyRelu(0.2), Unary::Tanh, Unary::Sigmoid, Unary::Abs, Unary::Sqr];
        for op in ops {
            let tol = if matches!(op, Unary::Tanh | Unary::Sigmoid) { LIBM } else { EXACT };
            let (xc, xd) = p.both(&p.randn(n));
            let (gc, gd) = p.both(&p.randn(n));
            p.poison(&[n]);
            let (yc, yd) = (p.cpu.unary(op, &xc), p.dev.unary(op, &xd));
            close(p, &format!("unary {op:?}"), &yd, &yc, tol.0, tol.1);
            // Backward from each side's own y, so tanh/sigmoid see their own forward values.
            p.poison(&[n]);
            let (bc, bd) = (p.cpu.unary_backward(op, &xc, &yc, &gc), p.dev.unary_backward(op, &xd, &yd, &gd));
            close(p, &format!("unary_backward {op:?}"), &bd, &bc, tol.0 + 1e-6, tol.1 + 1e-6);
        }
    });
}

#[test]
fn elementwise_binary_affine_scalar() {
    each_device(|p| {
        let n = 1001;
        let (ac, ad) = p.both(&p.randn(n));
        let (bc, bd) = p.both(&p.randn(n));
        for op in [Binary::Add, Binary::Sub, Binary::Mul] {
            p.poison(&[n]);
            close(
                p,
                &format!("binary {op:?}"),
                &p.dev.binary(op, &ad, &bd),
                &p.cpu.binary(op, &ac, &bc),
                EXACT.0,
                EXACT.1,
            );
        }
        p.poison(&[n]);
        close(
            p,
            "affine",
            &p.dev.affine(&ad, -1.7, 0.3),
            &p.cpu.affine(&ac, -1.7, 0.3),
            ROUNDING.0,
            ROUNDING.1,
        );
        let (sc, sd) = p.both(&[0.37]);
        p.poison(&[n]);
        close(
            p,
            "mul_scalar_storage",
            &p.dev.mul_scalar_storage(&ad, &sd),
            &p.cpu.mul_scalar_storage(&ac, &sc),
            EXACT.0,
            EXACT.1,
        );
        p.poison(&[n]);
        // CPU multiplies in f64 before rounding; the device in f32: one rounding apart.
        close(
            p,
            "broadcast_scalar",
            &p.dev.broadcast_scalar(&sd, n, -0.25),
            &p.cpu.broadcast_scalar(&sc, n, -0.25),
            ROUNDING.0,
            ROUNDING.1,
        );
        let (mut accc, mut accd) = p.both(&p.randn(n));
        p.cpu.add_inplace(&mut accc, &bc);
        p.dev.add_inplace(&mut accd, &bd);
        close(p, "add_inplace", &accd, &accc, EXACT.0, EXACT.1);
        p.poison(&[n]);
        close(p, "full", &p.dev.full(n, 2.5, F32), &p.cpu.full(n, 2.5, F32), EXACT.0, EXACT.1);
        p.poison(&[n]);
        close(p, "zeros", &p.dev.zeros(n, F32), &p.cpu.zeros(n, F32), EXACT.0, EXACT.1);
        p.poison(&[n]);
        close(p, "clone_storage", &p.dev.clone_storage(&ad), &p.cpu.clone_storage(&ac), EXACT.0, EXACT.1);
        let back = p.dev.to_f64(&ad);
        assert_eq!(back, p.cpu.to_f64(&ac), "to_f64 round trip");
    });
}

#[test]
fn reductions() {
    each_device(|p| {
        for n in [1, 1237, 30001] {
            let (xc, xd) = p.both(&p.randn(n));
            p.poison(&[1, 64]);
            close(
                p,
                &format!("sum_all n={n}"),
                &p.dev.sum_all(&xd),
                &p.cpu.sum_all(&xc),
                REDUCE.0 * 10.0,
                REDUCE.1,
            );
        }
        // channel_sum: a plain case and one with several splits per channel (count 2*2500).
        for (n, c, hw) in [(3, 5, 37), (2, 2, 2500), (1, 70, 9)] {
            let (xc, xd) = p.both(&p.randn(n * c * hw));
            p.poison(&[c]);
            close(
                p,
                &format!("channel_sum {n}x{c}x{hw}"),
                &p.dev.channel_sum(&xd, n, c, hw),
                &p.cpu.channel_sum(&xc, n, c, hw),
                REDUCE.0 * 10.0,
                REDUCE.1,
            );
            let (bc, bd) = p.both(&p.randn(c));
            p.poison(&[n * c * hw]);
            close(
                p,
                &format!("add_channel_bias {n}x{c}x{hw}"),
                &p.dev.add_channel_bias(&xd, &bd, n, c, hw),
                &p.cpu.add_channel_bias(&xc, &bc, n, c, hw),
                EXACT.0,
                EXACT.1,
            );
        }
    });
}

fn conv_cases() -> Vec<ConvGeom> {
    vec![
        // n, c_in, h, w, c_out, k, stride, pad
        ConvGeom::forward(2, 3, 9, 7, 5, (4, 4), 2, 1), // pix2pix down/up-sampling shape
        ConvGeom::forward(2, 5, 6, 5, 7, (3, 3), 1, 1), // 3x3 same
        ConvGeom::forward(1, 4, 5, 3, 6, (1, 1), 1, 0), // 1x1
        ConvGeom::forward(1, 2, 10, 11, 3, (4, 4), 3, 2), // stride not dividing the kernel
        ConvGeom::forward(1, 3, 7, 6, 4, (1, 1), 2, 0), // kernel < stride: some gx phases get no taps
        ConvGeom::forward(2, 67, 5, 6, 70, (3, 3), 1, 1), // several tiles in M, N and K
        ConvGeom::forward(2, 3, 24, 24, 4, (3, 3), 1, 1), // long K for the weight gradient: split-K
        ConvGeom::forward(1, 130, 4, 3, 5, (3, 3), 1, 1), // long K, one output tile: split-K forward
        ConvGeom::forward(1, 3, 4, 4, 260, (4, 4), 2, 1), // long K per phase: split-K backward-input
    ]
}

#[test]
fn conv2d_forward_and_backward() {
    each_device(|p| {
        for g in conv_cases() {
            let (xc, xd) = p.both(&p.randn(g.x_len()));
            let (wc, wd) = p.both(&p.randn(g.w_len()));
            let (gyc, gyd) = p.both(&p.randn(g.y_len()));
            let what = format!(
                "n{} c{}->{} {}x{} k{} s{} p{}",
                g.n, g.c_in, g.c_out, g.h, g.w, g.kh, g.stride, g.pad
            );
            p.poison(&[g.y_len()]);
            close(
                p,
                &format!("conv2d {what}"),
                &p.dev.conv2d(&xd, &wd, &g),
                &p.cpu.conv2d(&xc, &wc, &g),
                GEMM.0,
                GEMM.1,
            );
            p.poison(&[g.x_len()]);
            close(
                p,
                &format!("conv2d_backward_input {what}"),
                &p.dev.conv2d_backward_input(&gyd, &wd, &g),
                &p.cpu.conv2d_backward_input(&gyc, &wc, &g),
                GEMM.0,
                GEMM.1,
            );
            p.poison(&[g.w_len(), 2 * g.w_len(), 4 * g.w_len()]);
            close(
                p,
                &format!("conv2d_backward_weight {what}"),
                &p.dev.conv2d_backward_weight(&xd, &gyd, &g),
                &p.cpu.conv2d_backward_weight(&xc, &gyc, &g),
                GEMM.0 * 3.0,
                GEMM.1,
            );
            // Bias gradient of the same layer.
            close(
                p,
                &format!("bias grad {what}"),
                &p.dev.channel_sum(&gyd, g.n, g.c_out, g.oh * g.ow),
                &p.cpu.channel_sum(&gyc, g.n, g.c_out, g.oh * g.ow),
                REDUCE.0 * 10.0,
                REDUCE.1,
            );
        }
    });
}

/// ||got - want|| / ||want|| <= tol (tensor-core results: their error is normwise, not
/// elementwise, since an element's sum can cancel to near zero); NaN always fails.
#[track_caller]
fn close_rel(pair: &Pair, what: &str, got: &Storage, want: &Storage, tol: f64) {
    let got = pair.dev.to_f32(got);
    let want = pair.cpu.to_f64(want);
    assert_eq!(got.len(), want.len(), "{} {what}: length", pair.dev_name());
    let num: f64 = got.iter().zip(&want).map(|(&g, &w)| (g as f64 - w).powi(2)).sum();
    let den: f64 = want.iter().map(|w| w * w).sum();
    let e = (num / den.max(1e-300)).sqrt();
    assert!(e <= tol, "{} {what}: relative error {e:.2e} > {tol:.0e}", pair.dev_name());
    eprintln!("{} {what}: ok (relative error {e:.2e})", pair.dev_name());
}

/// The three conv primitives through the backend in tf32 and bf16 (tensor-core kernels,
/// tiles and split-K chosen by device/tc.rs) against the CPU; tolerances: Precision::tolerance
/// (TF32 rounds operands to 2^-11 relative, BF16 to 2^-8).
#[test]
fn conv2d_on_tensor_cores() {
    for prec in [Precision::Tf32, Precision::Bf16] {
        for dev in devices() {
            let pair = Pair { cpu: CpuBackend, dev: dev.with_precision(prec), seed: std::cell::Cell::new(7) };
            let p = &pair;
            for g in conv_cases() {
                let (xc, xd) = p.both(&p.randn(g.x_len()));
                let (wc, wd) = p.both(&p.randn(g.w_len()));
                let (gyc, gyd) = p.both(&p.randn(g.y_len()));
                let what = format!(
                    "{prec} n{} c{}->{} {}x{} k{} s{} p{}",
                    g.n, g.c_in, g.c_out, g.h, g.w, g.kh, g.stride, g.pad
                );
                let tol = prec.tolerance();
                p.poison(&[g.y_len()]);
                close_rel(
                    p,
                    &format!("conv2d {what}"),
                    &p.dev.conv2d(&xd, &wd, &g),
                    &p.cpu.conv2d(&xc, &wc, &g),
                    tol,
                );
                p.poison(&[g.x_len()]);
                let (got, want) =
                    (p.dev.conv2d_backward_input(&gyd, &wd, &g), p.cpu.conv2d_backward_input(&gyc, &wc, &g));
                close_rel(p, &format!("conv2d_backward_input {what}"), &got, &want, tol);
                p.poison(&[g.w_len(), 2 * g.w_len(), 4 * g.w_len()]);
                let (got, want) = (
                    p.dev.conv2d_backward_weight(&xd, &gyd, &g),
                    p.cpu.conv2d_backward_weight(&xc, &gyc, &g),
                );
                close_rel(p, &format!("conv2d_backward_weight {what}"), &got, &want, tol);
            }
        }
    }
}

#[test]
fn normalisation() {
    each_device(|p| {
        let cases = [
            NormGeom { n: 3, c: 5, hw: 35, instance: false },
            NormGeom { n: 2, c: 3, hw: 37, instance: true },
            NormGeom { n: 2, c: 2, hw: 2500, instance: false }, // several splits per statistic
            NormGeom { n: 1, c: 2, hw: 5000, instance: true },
        ];
        let eps = 1e-5;
        for g in cases {
            for affine in [true, false] {
                let what = format!("{}x{}x{} instance={} affine={affine}", g.n, g.c, g.hw, g.instance);
                // Offset and scaled data: a naive one-pass variance would lose digits here.
                let x: Vec<f32> = p.randn(g.len()).iter().map(|v| 3.0 + 2.0 * v).collect();
                let (xc, xd) = p.both(&x);
                let (gmc, gmd) = p.both(&p.uniform(g.c, 0.5, 1.5));
                let (btc, btd) = p.both(&p.randn(g.c));
                let (gamma_c, beta_c) = if affine { (Some(&gmc), Some(&btc)) } else { (None, None) };
                let (gamma_d, beta_d) = if affine { (Some(&gmd), Some(&btd)) } else { (None, None) };
                p.poison(&[g.len(), g.stats_len(), g.stats_len()]);
                let (yc, mc, ic) = p.cpu.norm_forward(&xc, gamma_c, beta_c, &g, eps);
                let (yd, md, id) = p.dev.norm_forward(&xd, gamma_d, beta_d, &g, eps);
                close(p, &format!("norm_forward y {what}"), &yd, &yc, 1e-4, 1e-4);
                close(p, &format!("norm_forward mean {what}"), &md, &mc, 1e-5, 1e-5);
                close(p, &format!("norm_forward invstd {what}"), &id, &ic, 1e-5, 1e-4);

                // Backward from the CPU's statistics on both sides, so only the kernel differs.
                let (gyc, gyd) = p.both(&p.randn(g.len()));
                let (mcd, icd) =
                    (p.dev.from_f32(&p.cpu.to_f32(&mc), F32), p.dev.from_f32(&p.cpu.to_f32(&ic), F32));
                p.poison(&[g.len(), g.c, g.c]);
                let (gxc, ggc, gbc) = p.cpu.norm_backward(&xc, &gyc, &mc, &ic, gamma_c, &g);
                let (gxd, ggd, gbd) = p.dev.norm_backward(&xd, &gyd, &mcd, &icd, gamma_d, &g);
                // gx subtracts two means of ~count terms from gy: absolute error ~ eps*sqrt(count).
                close(p, &format!("norm_backward gx {what}"), &gxd, &gxc, 1e-4, 1e-4);
                assert_eq!(ggd.is_some(), affine);
                assert_eq!(gbd.is_some(), affine);
                if let (Some(ggd), Some(ggc), Some(gbd), Some(gbc)) = (&ggd, &ggc, &gbd, &gbc) {
                    close(p, &format!("norm_backward ggamma {what}"), ggd, ggc, 1e-3, 1e-4);
                    close(p, &format!("norm_backward gbeta {what}"), gbd, gbc, 1e-3, 1e-4);
                }
            }
        }
        // Eval mode and the running-statistics update (batch norm only).
        let g = NormGeom { n: 3, c: 5, hw: 35, instance: false };
        let (xc, xd) = p.both(&p.randn(g.len()));
        let (mc, md) = p.both(&p.randn(g.c));
        let (vc, vd) = p.both(&p.uniform(g.c, 0.5, 2.0));
        let (gmc, gmd) = p.both(&p.uniform(g.c, 0.5, 1.5));
        let (btc, btd) = p.both(&p.randn(g.c));
        p.poison(&[g.len()]);
        close(
            p,
            "norm_forward_eval",
            &p.dev.norm_forward_eval(&xd, &md, &vd, Some(&gmd), Some(&btd), &g, eps),
            &p.cpu.norm_forward_eval(&xc, &mc, &vc, Some(&gmc), Some(&btc), &g, eps),
            1e-5,
            1e-5,
        );
        close(
            p,
            "norm_forward_eval no affine",
            &p.dev.norm_forward_eval(&xd, &md, &vd, None, None, &g, eps),
            &p.cpu.norm_forward_eval(&xc, &mc, &vc, None, None, &g, eps),
            1e-5,
            1e-5,
        );
        let (bmc, bmd) = p.both(&p.randn(g.c));
        let (bic, bid) = p.both(&p.uniform(g.c, 0.5, 2.0));
        let (mut rmc, mut rmd) = p.both(&p.randn(g.c));
        let (mut rvc, mut rvd) = p.both(&p.uniform(g.c, 0.5, 2.0));
        p.cpu.norm_running_update(&mut rmc, &mut rvc, &bmc, &bic, g.count(), 0.1, eps);
        p.dev.norm_running_update(&mut rmd, &mut rvd, &bmd, &bid, g.count(), 0.1, eps);
        close(p, "norm_running_update mean", &rmd, &rmc, 1e-6, 1e-6);
        close(p, "norm_running_update var", &rvd, &rvc, 1e-6, 1e-5);
    });
}

#[test]
fn reflection_pad() {
    // Forward copies; backward sums the same <= 9 values in the same order as the CPU.
    each_device(|p| {
        for (n, c, h, w, t, b, l, r) in
            [(2, 3, 7, 5, 3, 3, 3, 3), (1, 2, 4, 9, 3, 0, 1, 8), (1, 1, 1, 6, 0, 0, 5, 2)]
        {
            let g = PadGeom { n, c, h, w, top: t, bottom: b, left: l, right: r };
            let (xc, xd) = p.both(&p.randn(g.x_len()));
            let (gc, gd) = p.both(&p.randn(g.y_len()));
            p.poison(&[g.y_len()]);
            let what = format!("reflection_pad {g:?}");
            close(p, &what, &p.dev.reflection_pad(&xd, &g), &p.cpu.reflection_pad(&xc, &g), EXACT.0, EXACT.1);
            p.poison(&[g.x_len()]);
            let (got, want) =
                (p.dev.reflection_pad_backward(&gd, &g), p.cpu.reflection_pad_backward(&gc, &g));
            close(p, &format!("{what} backward"), &got, &want, EXACT.0, EXACT.1);
        }
    });
}

#[test]
fn layout_and_pooling() {
    each_device(|p| {
        let (n, hw) = (2, 7);
        let (sc, sd) = p.both(&p.randn(n * 5 * hw));
        let (mut dc, mut dd) = p.both(&p.randn(n * 6 * hw));
        p.cpu.copy_channels(&sc, 5, 1, &mut dc, 6, 2, 3, n, hw);
        p.dev.copy_channels(&sd, 5, 1, &mut dd, 6, 2, 3, n, hw);
        close(p, "copy_channels", &dd, &dc, EXACT.0, EXACT.1);

        for (n, c, h, w) in [(2, 3, 7, 9), (1, 2, 8, 6)] {
            let (xc, xd) = p.both(&p.randn(n * c * h * w));
            let (gc, gd) = p.both(&p.randn(n * c * (h / 2) * (w / 2)));
            for op in [Pool::Max, Pool::Avg] {
                p.poison(&[n * c * (h / 2) * (w / 2)]);
                close(
                    p,
                    &format!("pool2 {op:?} {h}x{w}"),
                    &p.dev.pool2(op, &xd, n, c, h, w),
                    &p.cpu.pool2(op, &xc, n, c, h, w),
                    EXACT.0,
                    EXACT.1,
                );
                p.poison(&[n * c * h * w]);
                close(
                    p,
                    &format!("pool2_backward {op:?} {h}x{w}"),
                    &p.dev.pool2_backward(op, &xd, &gd, n, c, h, w),
                    &p.cpu.pool2_backward(op, &xc, &gc, n, c, h, w),
                    EXACT.0,
                    EXACT.1,
                );
            }
        }
    });
}

#[test]
fn random_and_dropout() {
    each_device(|p| {
        let n = 5003;
        for seed in [0u64, 42, 0x1234_5678_9abc_def0] {
            for prob in [0.0, 0.3, 0.5, 1.0] {
                p.poison(&[n]);
                identical(
                    p,
                    &format!("dropout_mask p={prob} seed={seed}"),
                    &p.dev.dropout_mask(n, prob, seed, F32),
                    &p.cpu.dropout_mask(n, prob, seed, F32),
                );
            }
            p.poison(&[n]);
            // f32 lo + (hi-lo)*u on the device vs f64 then rounded on the CPU: one rounding.
            close(
                p,
                &format!("rand_uniform seed={seed}"),
                &p.dev.rand_uniform(n, seed, -0.5, 2.0, F32),
                &p.cpu.rand_uniform(n, seed, -0.5, 2.0, F32),
                1e-6,
                1e-6,
            );
            p.poison(&[n]);
            // Box-Muller in f32 (logf, sqrtf, cosf of 2*pi*u) vs f64: a few ulp of values up to ~5.
            close(
                p,
                &format!("randn seed={seed}"),
                &p.dev.randn(n, seed, 0.1, 0.02, F32),
                &p.cpu.randn(n, seed, 0.1, 0.02, F32),
                1e-6,
                1e-5,
            );
            close(
                p,
                &format!("randn unit seed={seed}"),
                &p.dev.randn(n, seed, 0.0, 1.0, F32),
                &p.cpu.randn(n, seed, 0.0, 1.0, F32),
                2e-5,
                1e-5,
            );
        }
    });
}

#[test]
fn gram_forward_and_backward() {
    each_device(|p| {
        // (n, c, hw): small, several tiles in c, and a long hw that splits K.
        for (n, c, hw) in [(2, 5, 37), (1, 70, 45), (1, 3, 1100)] {
            let (xc, xd) = p.both(&p.randn(n * c * hw));
            let (gc, gd) = p.both(&p.randn(n * c * c));
            p.poison(&[n * c * c, 2 * n * c * c]);
            // Sums of hw products scaled by 1/(c*hw): values ~1/(c*sqrt(hw)), errors relative.
            close(
                p,
                &format!("gram {n}x{c}x{hw}"),
                &p.dev.gram(&xd, n, c, hw),
                &p.cpu.gram(&xc, n, c, hw),
                1e-6,
                1e-4,
            );
            p.poison(&[n * c * hw]);
            close(
                p,
                &format!("gram_backward {n}x{c}x{hw}"),
                &p.dev.gram_backward(&xd, &gd, n, c, hw),
                &p.cpu.gram_backward(&xc, &gc, n, c, hw),
                1e-6,
                1e-4,
            );
        }
    });
}

#[test]
fn losses_and_tv() {
    each_device(|p| {
        for n in [1237, 20011] {
            let (ac, ad) = p.both(&p.randn(n));
            let (gl_c, gl_d) = p.both(&[0.7]);
            for op in [Loss::L1, Loss::Mse, Loss::BceWithLogits] {
                let b = if op == Loss::BceWithLogits { p.uniform(n, 0.0, 1.0) } else { p.randn(n) };
                let (bc, bd) = p.both(&b);
                p.poison(&[1, 64]);
                close(
                    p,
                    &format!("loss {op:?} n={n}"),
                    &p.dev.loss(op, &ad, &bd),
                    &p.cpu.loss(op, &ac, &bc),
                    REDUCE.0,
                    REDUCE.1,
                );
                p.poison(&[n]);
                close(
                    p,
                    &format!("loss_backward {op:?} n={n}"),
                    &p.dev.loss_backward(op, &ad, &bd, &gl_d),
                    &p.cpu.loss_backward(op, &ac, &bc, &gl_c),
                    1e-8,
                    LIBM.1,
                );
            }
        }
        let (n, c, h, w) = (2, 3, 7, 9);
        let (xc, xd) = p.both(&p.randn(n * c * h * w));
        let (gl_c, gl_d) = p.both(&[1.3]);
        p.poison(&[1, 64]);
        close(p, "tv", &p.dev.tv(&xd, n, c, h, w), &p.cpu.tv(&xc, n, c, h, w), REDUCE.0, REDUCE.1);
        p.poison(&[n * c * h * w]);
        // Up to four neighbour differences, summed in another order: a few roundings.
        close(
            p,
            "tv_backward",
            &p.dev.tv_backward(&xd, &gl_d, n, c, h, w),
            &p.cpu.tv_backward(&xc, &gl_c, n, c, h, w),
            1e-7,
            1e-5,
        );
    });
}

#[test]
fn adam_steps() {
    each_device(|p| {
        let n = 777;
        for wd in [0.0, 0.01] {
            let (mut pc, mut pd) = p.both(&p.randn(n));
            let (mut mc, mut md) = p.both(&vec![0.0; n]);
            let (mut vc, mut vd) = p.both(&vec![0.0; n]);
            for step in 1..=5 {
                let (gc, gd) = p.both(&p.randn(n));
                let h = AdamStep { lr: 2e-4, beta1: 0.5, beta2: 0.999, eps: 1e-8, weight_decay: wd, step };
                p.cpu.adam_step(&mut pc, &gc, &mut mc, &mut vc, &h);
                p.dev.adam_step(&mut pd, &gd, &mut md, &mut vd, &h);
            }
            // Same formula, the step size folded on the host in f64 on both sides; the
            // division and sqrt ordering differ by a rounding or two per step.
            close(p, &format!("adam param wd={wd}"), &pd, &pc, 1e-6, 1e-6);
            close(p, &format!("adam m wd={wd}"), &md, &mc, 1e-6, 1e-5);
            close(p, &format!("adam v wd={wd}"), &vd, &vc, 1e-7, 1e-5);
        }
    });
}

#[test]
fn f64_is_refused_with_a_clear_message() {
    for dev in devices() {
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| dev.zeros(4, DType::F64)));
        let msg = r.err().and_then(|e| e.downcast_ref::<String>().cloned()).unwrap_or_default();
        assert!(msg.contains("device backends run f32"), "{msg}");
    }
}

/// The devices under test: the emulator always, CUDA device 0 when one is present.
fn devices() -> Vec<DeviceBackend> {
    let mut v = vec![DeviceBackend::new(engine::backend::device::emu_runtime())];
    match engine::backend::device::cuda_runtime(0) {
        Ok(rt) => v.push(DeviceBackend::new(rt)),
        Err(e) => eprintln!("skipped: no CUDA device ({e})"),
    }
    v
}
