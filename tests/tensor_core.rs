//! The prelude's tensor-core functions (kernels/tc_selftest.cu) against a scalar model of the
//! PTX ISA's fragment layouts. The model here is written from the ISA's tables in the other
//! direction from the emulator (kernels/emu/tc.h): for each matrix element, which lane and
//! which register hold it. Inputs are small integers, so every sum is exact and a GPU must
//! give the same bits: the tests run on CUDA device 0 too when there is one, and
//! `ENGINE_TC_DUMP=<dir>` writes each runtime's raw lane-by-register output there for
//! scripts/gpu-check.sh to compare.

use engine::backend::device::{cuda_runtime, emu_runtime, DevBuf, Runtime};
use std::ffi::c_void;
use std::sync::Arc;

fn runtimes() -> Vec<Arc<dyn Runtime>> {
    let mut v = vec![emu_runtime()];
    match cuda_runtime(0) {
        Ok(rt) => v.push(rt),
        Err(e) => println!("skipped on cuda: {e}"),
    }
    v
}

/// Pseudo-random integers in [-r, r] (splitmix64), as f32.
fn ints(n: usize, seed: u64, r: i64) -> Vec<f32> {
    let mut s = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0xabcd;
    (0..n)
        .map(|_| {
            s = s.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = s;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^= z >> 31;
            ((z % (2 * r as u64 + 1)) as i64 - r) as f32
        })
        .collect()
}

fn upload(rt: &dyn Runtime, v: &[f32]) -> DevBuf {
    let b = rt.alloc(v.len());
    rt.htod(&b, v);
    b
}

fn arg<T>(v: &mut T) -> *mut c_void {
    v as *mut T as *mut c_void
}

fn dump(rt: &dyn Runtime, name: &str, words: &[f32]) {
    if let Ok(dir) = std::env::var("ENGINE_TC_DUMP") {
        let text: String = words.chunks(4).enumerate().fold(String::new(), |mut s, (lane, r)| {
            let regs: Vec<String> = r.iter().map(|w| format!("{:08x}", w.to_bits())).collect();
            s += &format!("lane {lane:2}: {}\n", regs.join(" "));
            s
        });
        let kind = if rt.name() == "emu" { "emu" } else { "cuda" };
        std::fs::write(format!("{dir}/{name}.{kind}.txt"), text).unwrap();
    }
}

// ---- the scalar model, from the PTX ISA (groupID = lane >> 2, threadID_in_group = lane % 4) ----

/// m16n8k8 .tf32, A (16x8, row-major): a0 (g, t), a1 (g+8, t), a2 (g, t+4), a3 (g+8, t+4).
/// So element (r, c) is in lane 4*(r % 8) + c % 4, register r / 8 + 2 * (c / 4).
fn tf32_a_slot(r: usize, c: usize) -> (usize, usize) {
    (4 * (r % 8) + c % 4, r / 8 + 2 * (c / 4))
}
/// m16n8k8 .tf32, B (8x8, "col"): b0 (k = t, n = g), b1 (k = t+4, n = g).
fn tf32_b_slot(k: usize, n: usize) -> (usize, usize) {
    (4 * n + k % 4, k / 4)
}
/// C and D (16x8 f32) of both shapes: c0 (g, 2t), c1 (g, 2t+1), c2 (g+8, 2t), c3 (g+8, 2t+1).
fn acc_slot(r: usize, n: usize) -> (usize, usize) {
    (4 * (r % 8) + n / 2, 2 * (r / 8) + n % 2)
}
/// m16n8k16 .bf16, A (16x16): elements a0..a7, two per register (a_{2i} low half of register i);
/// row g for a0, a1, a4, a5 and g+8 for the others; column 2t + (i & 1), plus 8 for i >= 4.
/// Returns (lane, register, half).
fn bf16_a_slot(r: usize, c: usize) -> (usize, usize, usize) {
    let i = c % 2 + 2 * (r / 8) + 4 * (c / 8);
    (4 * (r % 8) + (c % 8) / 2, i / 2, i % 2)
}
/// m16n8k16 .bf16, B (16x8): b0..b3, row 2t + (i & 1), plus 8 for i >= 2; column g.
fn bf16_b_slot(k: usize, n: usize) -> (usize, usize, usize) {
    let i = k % 2 + 2 * (k / 8);
    (4 * n + (k % 8) / 2, i / 2, i % 2)
}

fn bf16_bits(v: f32) -> u32 {
    // The test values are small integers: exact in bf16, the top half of the f32.
    assert_eq!(v.to_bits() & 0xffff, 0);
    v.to_bits() >> 16
}

/// Runs an mma fragment kernel with per-lane inputs `regs` (10 words a lane) and returns D
/// (16x8) read back through the model.
fn run_mma(rt: &dyn Runtime, kernel: &str, regs: &[u32]) -> Vec<f32> {
    let words: Vec<f32> = regs.iter().map(|&u| f32::from_bits(u)).collect();
    let (din, dout) = (upload(rt, &words), rt.alloc(128));
    let (mut pi, mut po) = (din.ptr(), dout.ptr());
    unsafe { rt.launch("tc_selftest", kernel, [1, 1, 1], [32, 1, 1], 0, &mut [arg(&mut pi), arg(&mut po)]) }
        .unwrap_or_else(|e| panic!("{e}"));
    let raw = rt.dtoh(&dout);
    dump(rt, kernel, &raw);
    let mut d = vec![f32::NAN; 128];
    for r in 0..16 {
        for n in 0..8 {
            let (lane, reg) = acc_slot(r, n);
            d[r * 8 + n] = raw[lane * 4 + reg];
        }
    }
    d
}

fn reference(a: &[f32], b: &[f32], c: &[f32], k: usize) -> Vec<f32> {
    (0..128).map(|i| c[i] + (0..k).map(|p| a[(i / 8) * k + p] * b[p * 8 + i % 8]).sum::<f32>()).collect()
}

#[test]
fn mma_tf32_m16n8k8_matches_the_isa_layout() {
    for rt in runtimes() {
        let (a, b, c) = (ints(128, 1, 8), ints(64, 2, 8), ints(128, 3, 64));
        let mut regs = vec![0u32; 320];
        for r in 0..16 {
            for k in 0..8 {
                let (lane, reg) = tf32_a_slot(r, k);
                regs[lane * 10 + reg] = a[r * 8 + k].to_bits();
            }
        }
        for k in 0..8 {
            for n in 0..8 {
                let (lane, reg) = tf32_b_slot(k, n);
                regs[lane * 10 + 4 + reg] = b[k * 8 + n].to_bits();
            }
        }
        for r in 0..16 {
            for n in 0..8 {
                let (lane, reg) = acc_slot(r, n);
                regs[lane * 10 + 6 + reg] = c[r * 8 + n].to_bits();
            }
        }
        assert_eq!(run_mma(&*rt, "mma_tf32_frag", &regs), reference(&a, &b, &c, 8), "{}", rt.name());
    }
}

#[test]
fn mma_bf16_m16n8k16_matches_the_isa_layout() {
    for rt in runtimes() {
        let (a, b, c) = (ints(256, 4, 8), ints(128, 5, 8), ints(128, 6, 64));
        let mut regs = vec![0u32; 320];
        for r in 0..16 {
            for k in 0..16 {
                let (lane, reg, half) = bf16_a_slot(r, k);
                regs[lane * 10 + reg] |= bf16_bits(a[r * 16 + k]) << (16 * half);
            }
        }
        for k in 0..16 {
            for n in 0..8 {
                let (lane, reg, half) = bf16_b_slot(k, n);
                regs[lane * 10 + 4 + reg] |= bf16_bits(b[k * 8 + n]) << (16 * half);
            }
        }
        for r in 0..16 {
            for n in 0..8 {
                let (lane, reg) = acc_slot(r, n);
                regs[lane * 10 + 6 + reg] = c[r * 8 + n].to_bits();
            }
        }
        assert_eq!(run_mma(&*rt, "mma_bf16_frag", &regs), reference(&a, &b, &c, 16), "{}", rt.name());
    }
}

#[test]
fn mma_rejects_unrounded_tf32_and_a_diverged_warp() {
    let rt = emu_runtime();
    let mut regs = vec![0u32; 320];
    regs[0] = 1.0f32.to_bits() | 1; // low mantissa bits set: not a tf32 value
    let words: Vec<f32> = regs.iter().map(|&u| f32::from_bits(u)).collect();
    let (din, dout) = (upload(&*rt, &words), rt.alloc(128));
    let (mut pi, mut po) = (din.ptr(), dout.ptr());
    let e = unsafe {
        rt.launch("tc_selftest", "mma_tf32_frag", [1, 1, 1], [32, 1, 1], 0, &mut [arg(&mut pi), arg(&mut po)])
    }
    .unwrap_err()
    .to_string();
    assert!(e.contains("tc_selftest/mma_tf32_frag") && e.contains("cvt.rna.tf32"), "{e}");
    // 16 of 32 lanes; then all 48 threads of a block whose second warp has only 16 lanes.
    for (lanes, block) in [(16, 32), (64, 48)] {
        let mut n = lanes;
        let e = unsafe {
            rt.launch(
                "tc_selftest",
                "mma_diverged",
                [1, 1, 1],
                [block, 1, 1],
                0,
                &mut [arg(&mut pi), arg(&mut po), arg(&mut n)],
            )
        }
        .unwrap_err()
        .to_string();
        assert!(e.contains("diverged or partial warp"), "{lanes} lanes of {block}: {e}");
    }
}

/// The bits of cvt.rna.tf32.f32 and cvt.rn.bf16.f32, from their definitions.
fn tf32_model(x: f32) -> u32 {
    if x.is_nan() {
        return 0x7fff_ffff;
    }
    // Keep 10 mantissa bits; round half away from zero in magnitude.
    let u = x.to_bits();
    let (sign, mag) = (u & 0x8000_0000, u & 0x7fff_ffff);
    let low = mag & 0x1fff;
    let kept = mag - low;
    sign | if low >= 0x1000 { kept + 0x2000 } else { kept }
}
fn bf16_model(x: f32) -> u32 {
    if x.is_nan() {
        return 0x7fff;
    }
    let u = x.to_bits();
    let (hi, low) = (u >> 16, u & 0xffff);
    if low > 0x8000 || (low == 0x8000 && hi & 1 == 1) {
        hi + 1
    } else {
        hi
    }
}

#[test]
fn conversions_are_bit_exact() {
    let mut x: Vec<f32> = vec![
        0.0,
        -0.0,
        1.0,
        f32::from_bits(0x3f80_1000), // a tf32 tie: away from zero
        f32::from_bits(0xbf80_1000),
        f32::from_bits(0x3f80_0fff),
        f32::from_bits(0x3f80_8000), // a bf16 tie with an even top: stays
        f32::from_bits(0x3f81_8000), // odd top: rounds up
        f32::MAX,
        f32::MIN_POSITIVE,
        f32::from_bits(1), // denormal
        f32::INFINITY,
        f32::NEG_INFINITY,
        f32::NAN,
    ];
    let mut s = 77u64;
    for _ in 0..4000 {
        s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
        x.push(f32::from_bits((s >> 32) as u32));
    }
    for rt in runtimes() {
        let n = x.len();
        let (dx, dt, db) = (upload(&*rt, &x), rt.alloc(n), rt.alloc(n));
        let (mut px, mut pt, mut pb, mut ni) = (dx.ptr(), dt.ptr(), db.ptr(), n as i32);
        let grid = [n.div_ceil(256) as u32, 1, 1];
        unsafe {
            rt.launch(
                "tc_selftest",
                "convert",
                grid,
                [256, 1, 1],
                0,
                &mut [arg(&mut px), arg(&mut pt), arg(&mut pb), arg(&mut ni)],
            )
        }
        .unwrap();
        let (t, b) = (rt.dtoh(&dt), rt.dtoh(&db));
        for i in 0..n {
            let v = x[i];
            if !v.is_nan() {
                assert_eq!(t[i].to_bits(), tf32_model(v), "{}: tf32 of {:08x}", rt.name(), v.to_bits());
                let want = bf16_model(v) | bf16_model(-v) << 16;
                assert_eq!(b[i].to_bits(), want, "{}: bf16x2 of {:08x}", rt.name(), v.to_bits());
            } else {
                // Any NaN in, a NaN out (the hardware's NaN payload is not specified here).
                assert!(f32::from_bits(t[i].to_bits()).is_nan(), "{}", rt.name());
                assert!(f32::from_bits(b[i].to_bits() << 16).is_nan(), "{}", rt.name());
            }
        }
    }
}

fn run_ldmatrix(rt: &dyn Runtime, tile: &[f32], variant: i32, offset: i32) -> Result<Vec<f32>, String> {
    let (dt, dout) = (upload(rt, tile), rt.alloc(128));
    let (mut pt, mut po, mut v, mut o) = (dt.ptr(), dout.ptr(), variant, offset);
    unsafe {
        rt.launch(
            "tc_selftest",
            "ldmatrix_frag",
            [1, 1, 1],
            [32, 1, 1],
            0,
            &mut [arg(&mut pt), arg(&mut po), arg(&mut v), arg(&mut o)],
        )
    }
    .map_err(|e| e.to_string())?;
    Ok(rt.dtoh(&dout))
}

#[test]
fn ldmatrix_distributes_rows_as_the_isa_says() {
    // Element (matrix j, row r, column c) has the 16-bit value 0x1000*j + 0x100*r + c + 1.
    let elem = |j: usize, r: usize, c: usize| (0x1000 * j + 0x100 * r + c + 1) as u32;
    let tile: Vec<f32> = (0..128)
        .map(|w| {
            let (row, c) = (w / 4, 2 * (w % 4));
            f32::from_bits(elem(row / 8, row % 8, c) | elem(row / 8, row % 8, c + 1) << 16)
        })
        .collect();
    for rt in runtimes() {
        for (variant, count, trans) in
            [(0, 1, false), (1, 2, false), (2, 4, false), (3, 2, true), (4, 4, true)]
        {
            let got = run_ldmatrix(&*rt, &tile, variant, 0).unwrap();
            dump(&*rt, &format!("ldmatrix_{variant}"), &got);
            for j in 0..count {
                for r in 0..8 {
                    for c in 0..8 {
                        // Without .trans, lane 4r + c/2 holds (r, c) in half c % 2 of register j;
                        // with .trans the matrix is read transposed: lane 4c + r/2, half r % 2.
                        let (lane, half) =
                            if trans { (4 * c + r / 2, r % 2) } else { (4 * r + c / 2, c % 2) };
                        let word = got[lane * 4 + j].to_bits();
                        let v = (word >> (16 * half)) & 0xffff;
                        assert_eq!(v, elem(j, r, c), "{} variant {variant} m{j} ({r},{c})", rt.name());
                    }
                }
            }
        }
    }
    let e = run_ldmatrix(&*emu_runtime(), &tile, 2, 8).unwrap_err();
    assert!(e.contains("ldmatrix row address not 16-byte aligned"), "{e}");
}

fn run_cp_async(rt: &dyn Runtime, g: &[f32], mode: i32) -> Vec<f32> {
    let (dg, dout) = (upload(rt, g), rt.alloc(576));
    let (mut pg, mut po, mut m) = (dg.ptr(), dout.ptr(), mode);
    unsafe {
        rt.launch(
            "tc_selftest",
            "cp_async_stages",
            [1, 1, 1],
            [64, 1, 1],
            0,
            &mut [arg(&mut pg), arg(&mut po), arg(&mut m)],
        )
    }
    .unwrap();
    rt.dtoh(&dout)
}

#[test]
fn cp_async_lands_at_its_wait_group() {
    let g = ints(512, 7, 1000);
    let mut want = vec![0.0f32; 576];
    for t in 0..64 {
        let o = (t + 17) % 64;
        for i in 0..4 {
            want[4 * t + i] = g[4 * o + i];
            want[256 + 4 * t + i] = g[256 + 4 * o + i];
        }
    }
    for rt in runtimes() {
        assert_eq!(run_cp_async(&*rt, &g, 0), want, "{}", rt.name());
    }
    // The emulator shows what a GPU may show: data not yet waited for (or not yet published by
    // a barrier) reads as NaN.
    let rt = emu_runtime();
    let early = run_cp_async(&*rt, &g, 1);
    assert!(early[..256] == want[..256] && early[256..512].iter().all(|v| v.is_nan()), "no wait_group 0");
    let racy = run_cp_async(&*rt, &g, 2);
    assert!(racy[..256].iter().any(|v| v.is_nan()), "a missing barrier after wait_group went unnoticed");
}

#[test]
fn shared_memory_limits_and_vector_alignment_are_enforced() {
    let rt = emu_runtime();
    let (dg, dout) = (rt.alloc(64), rt.alloc(64));
    let (mut pg, mut po) = (dg.ptr(), dout.ptr());
    let e = unsafe {
        rt.launch("tc_selftest", "misaligned_f4", [1, 1, 1], [32, 1, 1], 0, &mut [arg(&mut pg), arg(&mut po)])
    }
    .unwrap_err()
    .to_string();
    assert!(e.contains("not 16-byte aligned"), "{e}");
    let e = unsafe {
        rt.launch(
            "tc_selftest",
            "emu_only_static_shared_too_big",
            [1, 1, 1],
            [32, 1, 1],
            0,
            &mut [arg(&mut po)],
        )
    }
    .unwrap_err()
    .to_string();
    assert!(e.contains("static __shared__") && e.contains("49168 bytes"), "{e}");
}
