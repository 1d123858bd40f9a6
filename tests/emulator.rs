//! The emulator's execution model, through the kernels of kernels/selftest.cu: shared memory
//! and barriers, warp operations, atomics, and the bugs it must catch (a missing barrier, an
//! out-of-bounds write, a shared-memory overflow, a deadlock). The tests of correct kernels
//! also run on CUDA device 0 when there is one (the same launches; "skipped: ..." otherwise).

use engine::backend::device::{cuda_runtime, emu_runtime, DevBuf, Runtime};
use std::ffi::c_void;
use std::sync::Arc;
use std::time::Instant;

/// The emulator, plus CUDA device 0 when one is usable.
fn runtimes() -> Vec<Arc<dyn Runtime>> {
    let mut v = vec![emu_runtime()];
    match cuda_runtime(0) {
        Ok(rt) => v.push(rt),
        Err(e) => println!("skipped on cuda: {e}"),
    }
    v
}

/// Fresh pseudo-random values in [lo, hi) (splitmix64), different per seed.
fn random(n: usize, seed: u64, lo: f32, hi: f32) -> Vec<f32> {
    let mut s = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0x1234_5678;
    (0..n)
        .map(|_| {
            s = s.wrapping_add(0x9e37_79b9_7f4a_7c15);
            let mut z = s;
            z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
            z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
            z ^= z >> 31;
            lo + (hi - lo) * ((z >> 40) as f32 / (1u64 << 24) as f32)
        })
        .collect()
}

fn upload(rt: &dyn Runtime, v: &[f32]) -> DevBuf {
    let b = rt.alloc(v.len());
    rt.htod(&b, v);
    b
}

/// A kernel argument as cuLaunchKernel wants it: a pointer to the value.
fn arg<T>(v: &mut T) -> *mut c_void {
    v as *mut T as *mut c_void
}

fn matmul_ref(a: &[f32], b: &[f32], m: usize, n: usize, k: usize) -> Vec<f32> {
    let mut c = vec![0.0f32; m * n];
    for i in 0..m {
        for j in 0..n {
            c[i * n + j] = (0..k).map(|p| a[i * k + p] as f64 * b[p * n + j] as f64).sum::<f64>() as f32;
        }
    }
    c
}

fn max_abs_diff(a: &[f32], b: &[f32]) -> f32 {
    assert_eq!(a.len(), b.len());
    a.iter()
        .zip(b)
        .map(|(x, y)| if x.is_nan() || y.is_nan() { f32::INFINITY } else { (x - y).abs() })
        .fold(0.0, f32::max)
}

/// Runs selftest/<kernel> (matmul_tiled or its racy twin) on m x k times k x n.
fn run_matmul(
    rt: &dyn Runtime,
    kernel: &str,
    m: usize,
    n: usize,
    k: usize,
    seed: u64,
) -> (Vec<f32>, Vec<f32>, f64) {
    let a = random(m * k, seed, -1.0, 1.0);
    let b = random(k * n, seed + 1, -1.0, 1.0);
    let (da, db, dc) = (upload(rt, &a), upload(rt, &b), rt.alloc(m * n));
    let (mut pa, mut pb, mut pc) = (da.ptr(), db.ptr(), dc.ptr());
    let (mut mi, mut ni, mut ki) = (m as i32, n as i32, k as i32);
    let mut args = [arg(&mut pa), arg(&mut pb), arg(&mut pc), arg(&mut mi), arg(&mut ni), arg(&mut ki)];
    let grid = [n.div_ceil(16) as u32, m.div_ceil(16) as u32, 1];
    let t = Instant::now();
    unsafe { rt.launch("selftest", kernel, grid, [16, 16, 1], 0, &mut args) }.unwrap();
    let ms = t.elapsed().as_secs_f64() * 1e3;
    (rt.dtoh(&dc), matmul_ref(&a, &b, m, n, k), ms)
}

#[test]
fn tiled_matmul_with_static_shared_memory() {
    for rt in runtimes() {
        // Odd sizes: partial tiles in every direction.
        let (got, want, _) = run_matmul(&*rt, "matmul_tiled", 37, 53, 29, 1);
        // f32 accumulation over 29 terms of magnitude < 1 (FMA on a GPU): a few ulps of the sum.
        assert!(max_abs_diff(&got, &want) < 1e-5, "{}: diff {}", rt.name(), max_abs_diff(&got, &want));
        let (got, want, ms) = run_matmul(&*rt, "matmul_tiled", 128, 128, 128, 2);
        assert!(max_abs_diff(&got, &want) < 1e-4, "{}", rt.name());
        eprintln!(
            "{}: 128^3 tiled matmul (64 blocks x 256 threads, 16 barriers each) took {ms:.1} ms",
            rt.name()
        );
    }
}

#[test]
fn missing_barrier_gives_a_wrong_result() {
    let rt = emu_runtime();
    let (got, want, _) = run_matmul(&*rt, "matmul_tiled_racy", 64, 64, 64, 3);
    assert!(max_abs_diff(&got, &want) > 1e-2, "a missing __syncthreads went unnoticed");

    // shift: y[i] = x[i+1 in the block] through shared memory, with and without the barrier.
    let n = 256 * 4;
    let x = random(n, 4, 1.0, 2.0);
    let want: Vec<f32> = (0..n).map(|i| x[(i / 256) * 256 + (i % 256 + 1) % 256]).collect();
    for (kernel, must_match) in [("shift_sync", true), ("shift_racy", false)] {
        let (dx, dy) = (upload(&*rt, &x), rt.alloc(n));
        let (mut px, mut py) = (dx.ptr(), dy.ptr());
        unsafe {
            rt.launch("selftest", kernel, [4, 1, 1], [256, 1, 1], 0, &mut [arg(&mut px), arg(&mut py)])
        }
        .unwrap();
        let got = rt.dtoh(&dy);
        let wrong = got.iter().zip(&want).filter(|(g, w)| g != w).count();
        if must_match {
            assert_eq!(wrong, 0, "{kernel}");
        } else {
            // Each thread runs before its neighbour about half the time.
            assert!(wrong > n / 8, "{kernel}: only {wrong} of {n} wrong");
        }
    }
}

#[test]
fn dynamic_shared_memory_reduction() {
    for rt in runtimes() {
        let n = 1000;
        let x = random(n, 5, -1.0, 1.0);
        let threads = 128;
        let blocks = n.div_ceil(threads);
        let (dx, dout) = (upload(&*rt, &x), rt.alloc(blocks));
        let (mut px, mut po, mut ni) = (dx.ptr(), dout.ptr(), n as i32);
        let mut args = [arg(&mut px), arg(&mut po), arg(&mut ni)];
        unsafe {
            rt.launch(
                "selftest",
                "block_sum_dyn",
                [blocks as u32, 1, 1],
                [threads as u32, 1, 1],
                (threads * 4) as u32,
                &mut args,
            )
        }
        .unwrap();
        let got = rt.dtoh(&dout);
        for b in 0..blocks {
            let want: f64 = x[b * threads..((b + 1) * threads).min(n)].iter().map(|&v| v as f64).sum();
            // 128 terms summed in a tree in f32.
            assert!((got[b] as f64 - want).abs() < 1e-4, "block {b}: {} vs {want}", got[b]);
        }
    }
}

#[test]
fn warp_shuffles_and_votes() {
    for rt in runtimes() {
        let warps = 6;
        let x = random(32 * warps, 6, -1.0, 3.0);
        let (dx, dout) = (upload(&*rt, &x), rt.alloc(8 * warps));
        let (mut px, mut po) = (dx.ptr(), dout.ptr());
        // 3 blocks of 2 warps.
        unsafe {
            rt.launch("selftest", "warp_ops", [3, 1, 1], [64, 1, 1], 0, &mut [arg(&mut px), arg(&mut po)])
        }
        .unwrap();
        let out = rt.dtoh(&dout);
        for w in 0..warps {
            let v = &x[32 * w..32 * (w + 1)];
            let o = &out[8 * w..8 * (w + 1)];
            let sum: f32 = v.iter().map(|&a| a as f64).sum::<f64>() as f32;
            assert!((o[0] - sum).abs() < 1e-4, "warp {w} sum {} vs {sum}", o[0]);
            assert_eq!(o[1], v.iter().cloned().fold(f32::MIN, f32::max), "warp {w} max");
            assert_eq!(o[2], v[5], "warp {w} broadcast");
            assert_eq!(o[3], v.iter().filter(|&&a| a > 0.0).count() as f32, "warp {w} ballot");
            assert_eq!(o[4], v.iter().any(|&a| a > 2.0) as i32 as f32, "warp {w} any");
            assert_eq!(o[5], 1.0, "warp {w} all");
            let group: f32 = v[8..16].iter().map(|&a| a as f64).sum::<f64>() as f32;
            assert!((o[6] - group).abs() < 1e-5, "warp {w} width-8 sum {} vs {group}", o[6]);
            assert_eq!(o[7], v[12], "warp {w} shfl_up");
        }
    }
}

#[test]
fn atomics_across_blocks() {
    for rt in runtimes() {
        let (n, nbins) = (5000, 7);
        let x = random(n, 7, 0.0, 1.0);
        let dx = upload(&*rt, &x);
        let sums = upload(&*rt, &vec![0.0; nbins]);
        let counts = upload(&*rt, &vec![0.0; nbins]); // 0.0f32 is also the int 0
        let maxbits = upload(&*rt, &[0.0]);
        let total = upload(&*rt, &[0.0]);
        let (mut px, mut ps, mut pc, mut pm, mut pt) =
            (dx.ptr(), sums.ptr(), counts.ptr(), maxbits.ptr(), total.ptr());
        let (mut ni, mut nb) = (n as i32, nbins as i32);
        let mut args = [
            arg(&mut px),
            arg(&mut ps),
            arg(&mut pc),
            arg(&mut pm),
            arg(&mut pt),
            arg(&mut ni),
            arg(&mut nb),
        ];
        unsafe {
            rt.launch("selftest", "atomic_hist", [(n as u32).div_ceil(128), 1, 1], [128, 1, 1], 0, &mut args)
        }
        .unwrap();
        let (got_sums, got_counts) = (rt.dtoh(&sums), rt.dtoh(&counts));
        for b in 0..nbins {
            let in_bin: Vec<f32> =
                x.iter().cloned().filter(|&v| ((v * nbins as f32) as usize).min(nbins - 1) == b).collect();
            assert_eq!(got_counts[b].to_bits() as i32, in_bin.len() as i32, "bin {b} count");
            let want: f64 = in_bin.iter().map(|&v| v as f64).sum();
            // Summation order varies with the schedule: f32 rounding of ~700 terms.
            assert!((got_sums[b] as f64 - want).abs() < 1e-2, "bin {b} sum {} vs {want}", got_sums[b]);
        }
        let max = x.iter().cloned().fold(0.0f32, f32::max);
        assert_eq!(rt.dtoh(&maxbits)[0], max);
        let want_total: f64 = x.iter().map(|&v| v as f64).sum();
        assert!((rt.dtoh(&total)[0] as f64 - want_total).abs() < 0.5, "CAS total");
    }
}

#[test]
fn out_of_bounds_write_is_reported_with_the_kernel_name() {
    let rt = emu_runtime();
    let y = rt.alloc(100);
    let (mut py, mut n) = (y.ptr(), 100i32);
    let err = unsafe {
        rt.launch("selftest", "oob_write", [1, 1, 1], [128, 1, 1], 0, &mut [arg(&mut py), arg(&mut n)])
    }
    .unwrap_err();
    let msg = err.to_string();
    assert!(
        msg.contains("selftest/oob_write") && msg.contains("after its end") && msg.contains("100 f32"),
        "{msg}"
    );
    assert!(!msg.contains('\n'), "one line: {msg}");
    // The guard was repaired: a correct launch on the same buffer passes.
    let (mut py, mut px, mut a, mut n) = (y.ptr(), y.ptr(), 1.0f32, 100i32);
    unsafe {
        rt.launch(
            "selftest",
            "axpy",
            [1, 1, 1],
            [128, 1, 1],
            0,
            &mut [arg(&mut py), arg(&mut px), arg(&mut a), arg(&mut n)],
        )
    }
    .unwrap();
}

#[test]
fn shared_memory_overflow_is_reported() {
    let rt = emu_runtime();
    let y = rt.alloc(1);
    let mut py = y.ptr();
    let err =
        unsafe { rt.launch("selftest", "shared_overflow", [2, 1, 1], [33, 1, 1], 0, &mut [arg(&mut py)]) }
            .unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("selftest/shared_overflow") && msg.contains("__shared__"), "{msg}");
}

#[test]
fn deadlock_is_reported() {
    let rt = emu_runtime();
    let y = rt.alloc(32);
    let mut py = y.ptr();
    let err =
        unsafe { rt.launch("selftest", "divergent_barrier", [1, 1, 1], [32, 1, 1], 0, &mut [arg(&mut py)]) }
            .unwrap_err();
    let msg = err.to_string();
    assert!(msg.contains("deadlock") && msg.contains("16 thread(s) wait at __syncthreads"), "{msg}");
    // The emulator recovers: the next launch runs.
    let (_, _, _) = run_matmul(&*rt, "matmul_tiled", 16, 16, 16, 9);
}

#[test]
fn launch_errors_are_one_clear_line() {
    let rt = emu_runtime();
    let y = rt.alloc(4);
    let (mut py, mut n) = (y.ptr(), 4i32);
    let e = unsafe { rt.launch("selftest", "no_such_kernel", [1, 1, 1], [1, 1, 1], 0, &mut [arg(&mut py)]) }
        .unwrap_err();
    assert!(e.to_string().contains("no kernel `no_such_kernel` in kernels/selftest.cu"), "{e}");
    let e = unsafe { rt.launch("nomodule", "k", [1, 1, 1], [1, 1, 1], 0, &mut []) }.unwrap_err();
    assert!(e.to_string().contains("no kernel module `nomodule`"), "{e}");
    let e = unsafe {
        rt.launch("selftest", "oob_write", [1, 1, 1], [1025, 1, 1], 0, &mut [arg(&mut py), arg(&mut n)])
    }
    .unwrap_err();
    assert!(e.to_string().contains("at most 1024 threads"), "{e}");
    let e = unsafe { rt.launch("selftest", "oob_write", [1, 1, 1], [32, 1, 1], 0, &mut [arg(&mut py)]) }
        .unwrap_err();
    assert!(e.to_string().contains("takes 2 parameters, the launch passed 1"), "{e}");
}

#[test]
fn memory_is_poisoned_and_copies_work() {
    for rt in runtimes() {
        let a = rt.alloc(10);
        // The emulator always poisons; the CUDA allocator does in debug builds.
        let poisoned = rt.name() == "emu" || cfg!(debug_assertions);
        assert!(!poisoned || rt.dtoh(&a).iter().all(|v| v.is_nan()), "{}: new buffers hold NaN", rt.name());
        let x = random(10, 8, 0.0, 1.0);
        rt.htod(&a, &x);
        let b = rt.alloc(20);
        rt.dtod(&b, 5, &a, 2, 6);
        let got = rt.dtoh(&b);
        assert_eq!(&got[5..11], &x[2..8]);
        assert!(!poisoned || got[..5].iter().chain(&got[11..]).all(|v| v.is_nan()));
    }
}

#[test]
fn kernel_without_barriers_is_fast() {
    let rt = emu_runtime();
    let n = 1 << 20;
    let x = random(n, 10, -1.0, 1.0);
    let y0 = random(n, 11, -1.0, 1.0);
    let (dx, dy) = (upload(&*rt, &x), upload(&*rt, &y0));
    let (mut py, mut px, mut a, mut ni) = (dy.ptr(), dx.ptr(), 0.5f32, n as i32);
    let t = Instant::now();
    unsafe {
        rt.launch(
            "selftest",
            "axpy",
            [(n as u32).div_ceil(256), 1, 1],
            [256, 1, 1],
            0,
            &mut [arg(&mut py), arg(&mut px), arg(&mut a), arg(&mut ni)],
        )
    }
    .unwrap();
    let ms = t.elapsed().as_secs_f64() * 1e3;
    eprintln!("emu: axpy over 2^20 elements (4096 blocks x 256 threads) took {ms:.1} ms");
    let got = rt.dtoh(&dy);
    assert!(got.iter().zip(x.iter().zip(&y0)).all(|(g, (x, y))| *g == 0.5 * x + y));
}

#[test]
fn declaration_forms_and_barrier_count() {
    for rt in runtimes() {
        let n = 300;
        let x = random(n, 12, -1.0, 1.0);
        let (dx, dout) = (upload(&*rt, &x), rt.alloc(n));
        let (mut px, mut po, mut ni) = (dx.ptr(), dout.ptr(), n as i32);
        unsafe {
            rt.launch(
                "selftest",
                "syntax_forms",
                [3, 1, 1],
                [128, 1, 1],
                0,
                &mut [arg(&mut px), arg(&mut po), arg(&mut ni)],
            )
        }
        .unwrap();
        let got = rt.dtoh(&dout);
        for i in 0..n {
            let b = i / 128;
            let positives = x[b * 128..((b + 1) * 128).min(n)].iter().filter(|&&v| v > 0.0).count();
            assert_eq!(got[i], 2.0 * x[i] + positives as f32, "element {i}");
        }
    }
}
