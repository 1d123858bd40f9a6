//! The tensor-core conv kernels (kernels/conv_tc.cu) on the emulator against f64 loops, every
//! tile and both precisions, on odd shapes (sizes that are no multiple of a tile, stride 2,
//! padding 0 and 1, 1x1 outputs, c_in = 3 and 6), fresh random inputs, NaN-poisoned outputs
//! (the emulator poisons every allocation), split-K partials summed here.
//! Tolerances: relative L2 error, TF32 2e-3 (operands rounded to 2^-11), BF16 1.5e-2 (2^-8).

use engine::backend::device::launch::{split, GEMM_BK};
use engine::backend::device::tc::{gemm_view, launch_conv, ConvOp, Tile};
use engine::backend::device::{emu_runtime, DevBuf, Runtime};
use engine::backend::precision::Precision;
use engine::backend::ConvGeom;

fn random(n: usize, seed: u64) -> Vec<f32> {
    let mut s = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0x5eed;
    (0..n)
        .map(|_| {
            s = s.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = s;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^= z >> 31;
            (z >> 40) as f32 / (1u64 << 23) as f32 - 1.0
        })
        .collect()
}

/// Calls f(b, co, ci, oy, ox, ky, kx, iy, ix) for every tap that lands inside the input.
fn taps(g: &ConvGeom, mut f: impl FnMut([usize; 9])) {
    for b in 0..g.n {
        for co in 0..g.c_out {
            for ci in 0..g.c_in {
                for oy in 0..g.oh {
                    for ox in 0..g.ow {
                        for ky in 0..g.kh {
                            for kx in 0..g.kw {
                                let (iy, ix) = (
                                    (oy * g.stride + ky) as isize - g.pad as isize,
                                    (ox * g.stride + kx) as isize - g.pad as isize,
                                );
                                if iy >= 0 && ix >= 0 && (iy as usize) < g.h && (ix as usize) < g.w {
                                    f([b, co, ci, oy, ox, ky, kx, iy as usize, ix as usize]);
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// (inputs a, b of the kernel, f64 reference of its output).
fn case(op: ConvOp, g: &ConvGeom, seed: u64) -> (Vec<f32>, Vec<f32>, Vec<f64>) {
    let (x, w, gy) = (random(g.x_len(), seed), random(g.w_len(), seed + 1), random(g.y_len(), seed + 2));
    let xi = |b: usize, c: usize, y: usize, x_: usize| ((b * g.c_in + c) * g.h + y) * g.w + x_;
    let wi = |co: usize, ci: usize, ky: usize, kx: usize| ((co * g.c_in + ci) * g.kh + ky) * g.kw + kx;
    let yi = |b: usize, c: usize, y: usize, x_: usize| ((b * g.c_out + c) * g.oh + y) * g.ow + x_;
    match op {
        ConvOp::Fwd => {
            let mut r = vec![0.0; g.y_len()];
            taps(g, |[b, co, ci, oy, ox, ky, kx, iy, ix]| {
                r[yi(b, co, oy, ox)] += w[wi(co, ci, ky, kx)] as f64 * x[xi(b, ci, iy, ix)] as f64
            });
            (x, w, r)
        }
        ConvOp::Dgrad => {
            let mut r = vec![0.0; g.x_len()];
            taps(g, |[b, co, ci, oy, ox, ky, kx, iy, ix]| {
                r[xi(b, ci, iy, ix)] += w[wi(co, ci, ky, kx)] as f64 * gy[yi(b, co, oy, ox)] as f64
            });
            (gy, w, r)
        }
        ConvOp::Wgrad => {
            let mut r = vec![0.0; g.w_len()];
            taps(g, |[b, co, ci, oy, ox, ky, kx, iy, ix]| {
                r[wi(co, ci, ky, kx)] += gy[yi(b, co, oy, ox)] as f64 * x[xi(b, ci, iy, ix)] as f64
            });
            (x, gy, r)
        }
    }
}

fn upload(rt: &dyn Runtime, v: &[f32]) -> DevBuf {
    let b = rt.alloc(v.len());
    rt.htod(&b, v);
    b
}

fn rel_l2(got: &[f32], want: &[f64]) -> f64 {
    let (mut num, mut den) = (0.0, 0.0);
    for (g, w) in got.iter().zip(want) {
        if !g.is_finite() {
            return f64::INFINITY;
        }
        num += (*g as f64 - w).powi(2);
        den += w * w;
    }
    (num / den.max(1e-300)).sqrt()
}

fn run(op: ConvOp, p: Precision, g: &ConvGeom, tile: Tile, force_splits: Option<usize>, seed: u64) -> f64 {
    let rt = emu_runtime();
    let (a, b, want) = case(op, g, seed);
    let (m, n, k, z) = gemm_view(op, g);
    let blocks = m.div_ceil(tile.bm) * n.div_ceil(tile.bn) * z;
    let (splits, chunk) = match force_splits {
        Some(s) => split(1, k, k.div_ceil(s), GEMM_BK),
        None => split(blocks, k, 512, GEMM_BK),
    };
    let len = want.len();
    let (da, db, out) = (upload(&*rt, &a), upload(&*rt, &b), rt.alloc(splits * len));
    launch_conv(&*rt, op, p, g, &da, &db, &out, tile, splits, chunk);
    let parts = rt.dtoh(&out);
    let got: Vec<f32> = (0..len).map(|i| (0..splits).map(|s| parts[s * len + i]).sum()).collect();
    rel_l2(&got, &want)
}

const TILES: [Tile; 4] =
    [Tile { bm: 128, bn: 64 }, Tile { bm: 64, bn: 128 }, Tile { bm: 64, bn: 64 }, Tile { bm: 32, bn: 32 }];

fn shapes() -> Vec<ConvGeom> {
    vec![
        ConvGeom::forward(2, 3, 9, 7, 5, (3, 3), 1, 1), // c_in 3, odd sizes
        ConvGeom::forward(1, 6, 10, 11, 7, (4, 4), 2, 1), // c_in 6, stride 2 (pix2pix down)
        ConvGeom::forward(1, 8, 5, 5, 70, (1, 1), 1, 0), // 1x1, K = 8
        ConvGeom::forward(2, 16, 6, 6, 33, (3, 3), 2, 0), // stride 2, padding 0
        ConvGeom::forward(1, 20, 2, 2, 9, (4, 4), 2, 1), // 1x1 output, K = 320
    ]
}

fn check_all(p: Precision) {
    let tol = p.tolerance();
    for (i, g) in shapes().iter().enumerate() {
        for op in [ConvOp::Fwd, ConvOp::Dgrad, ConvOp::Wgrad] {
            for (t, tile) in TILES.iter().enumerate() {
                let e = run(op, p, g, *tile, None, (i * 16 + t) as u64);
                assert!(e < tol, "{p} {op:?} {tile:?} {g:?}: relative error {e:.2e} > {tol:.0e}");
            }
        }
    }
}

#[test]
fn tf32_kernels_match_f64_on_odd_shapes() {
    check_all(Precision::Tf32);
}

#[test]
fn bf16_kernels_match_f64_on_odd_shapes() {
    check_all(Precision::Bf16);
}

#[test]
fn split_k_partials_sum_to_the_result() {
    // K = 6*16 = 96 in 3 splits of 32 (two K slices each), fwd and wgrad (K = n*oh*ow = 2*49).
    let g = ConvGeom::forward(2, 6, 7, 7, 10, (4, 4), 1, 2);
    for op in [ConvOp::Fwd, ConvOp::Dgrad, ConvOp::Wgrad] {
        for p in [Precision::Tf32, Precision::Bf16] {
            let e = run(op, p, &g, Tile { bm: 32, bn: 32 }, Some(3), 99);
            assert!(e < p.tolerance(), "{p} {op:?} split-K: {e:.2e}");
        }
    }
}

#[test]
fn tf32_rounding_is_visible() {
    // The TF32 result is not the fp32 one: the kernel really rounds its operands (a kernel that
    // skipped cvt.rna would be rejected by the emulator; one that computed in fp32 would sit
    // near 1e-7 here).
    let g = ConvGeom::forward(1, 16, 8, 8, 16, (3, 3), 1, 1);
    let e = run(ConvOp::Fwd, Precision::Tf32, &g, Tile { bm: 32, bn: 32 }, None, 5);
    assert!(e > 1e-5 && e < 2e-3, "{e:.2e}");
    let e = run(ConvOp::Fwd, Precision::Bf16, &g, Tile { bm: 32, bn: 32 }, None, 5);
    assert!(e > 5e-4 && e < 1.5e-2, "{e:.2e}");
}
