//! Host side of the tensor-core convolutions (kernels/conv_tc.cu): the block tile chosen per
//! shape, the magic multipliers that replace run-time divisions in the kernels' K loops, and
//! the launches.
//!
//! Tile heuristic (`pick_tile`), for C = M x N:
//! 1. Candidates, largest first: 128x64 (or 64x128 when N > M), 64x64, 32x32.
//! 2. Take the first whose padding (tile area covered / M*N - 1) is at most 25% and whose grid
//!    has at least `FILL_BLOCKS` blocks (about one wave of 132 SMs, two blocks each).
//! 3. If none fills the GPU, take the candidate with the least padding (ties: the larger);
//!    split-K (`launch::split`) then adds blocks along K.
//!
//! Small outputs (U-Net's 3-channel last layer, PatchGAN's 1-channel head) land on 32x32,
//! where at most 29 of 32 rows are padding instead of 125 of 128.

use super::launch::{launch, split, Args, GEMM_BK};
use super::{DevBuf, Runtime};
use crate::backend::precision::Precision;
use crate::backend::ConvGeom;

/// Threads of a tensor-core block (4 warps).
pub const TC_THREADS: u32 = 128;
/// Blocks that roughly fill an H100/H200 (132 SMs) once.
const FILL_BLOCKS: usize = 256;
/// Minimum K per split of a split-K launch.
const MIN_SPLIT_K: usize = 512;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Tile {
    pub bm: usize,
    pub bn: usize,
}

impl Tile {
    fn blocks(self, m: usize, n: usize) -> usize {
        m.div_ceil(self.bm) * n.div_ceil(self.bn)
    }
    fn padding(self, m: usize, n: usize) -> f64 {
        (self.blocks(m, n) * self.bm * self.bn) as f64 / (m * n).max(1) as f64 - 1.0
    }
}

pub fn pick_tile(m: usize, n: usize) -> Tile {
    let big = if n > m { Tile { bm: 64, bn: 128 } } else { Tile { bm: 128, bn: 64 } };
    let cands = [big, Tile { bm: 64, bn: 64 }, Tile { bm: 32, bn: 32 }];
    if let Some(t) = cands.iter().find(|t| t.padding(m, n) <= 0.25 && t.blocks(m, n) >= FILL_BLOCKS) {
        return *t;
    }
    // Least padding; on a tie the earlier (larger) tile.
    let mut best = cands[0];
    for t in &cands[1..] {
        if t.padding(m, n) < best.padding(m, n) - 1e-9 {
            best = *t;
        }
    }
    best
}

/// (m, s) with n / d == (umulhi(n, m) + n) >> s for every n < 2^31 (the round-up method:
/// s = ceil(log2 d), m = floor(2^32 (2^s - d) / d) + 1).
pub fn magic(d: usize) -> (u32, u32) {
    assert!((1..1 << 31).contains(&d), "magic divisor {d}");
    let d = d as u64;
    let s = 64 - (d - 1).leading_zeros() as u64; // ceil(log2 d); 0 for d = 1
    let m = ((1u64 << 32) * ((1u64 << s) - d)) / d + 1;
    (m as u32, s as u32)
}

fn with_magic(a: Args, d: usize) -> Args {
    let (m, s) = magic(d);
    a.u32(m).u32(s)
}

fn conv_args(a: Args, g: &ConvGeom) -> Args {
    [g.n, g.c_in, g.h, g.w, g.c_out, g.kh, g.kw, g.stride, g.pad, g.oh, g.ow].iter().fold(a, |a, &v| a.int(v))
}

/// Every kernel indexes with 32-bit ints.
pub fn check_int32(op: &str, lens: &[usize]) {
    for &l in lens {
        assert!(
            l < 1 << 31,
            "{op}: a tensor of {l} elements; device kernels index with 32-bit ints (< 2^31)"
        );
    }
}

/// The GEMM view of a conv op: (M, N, K, grid z per split).
pub fn gemm_view(op: ConvOp, g: &ConvGeom) -> (usize, usize, usize, usize) {
    let s = g.stride;
    match op {
        ConvOp::Fwd => (g.c_out, g.n * g.oh * g.ow, g.c_in * g.kh * g.kw, 1),
        ConvOp::Dgrad => (
            g.c_in,
            g.n * g.h.div_ceil(s) * g.w.div_ceil(s),
            g.c_out * g.kh.div_ceil(s) * g.kw.div_ceil(s),
            s * s,
        ),
        ConvOp::Wgrad => (g.c_out, g.c_in * g.kh * g.kw, g.n * g.oh * g.ow, 1),
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ConvOp {
    Fwd,
    Dgrad,
    Wgrad,
}

/// (tile, splits, k_chunk) of a launch.
pub fn plan(op: ConvOp, g: &ConvGeom) -> (Tile, usize, usize) {
    let (m, n, k, z) = gemm_view(op, g);
    let tile = pick_tile(m, n);
    let (splits, chunk) = split(tile.blocks(m, n) * z, k, MIN_SPLIT_K, GEMM_BK);
    (tile, splits, chunk)
}

/// Output blocks of a launch with `tile` (all phases).
pub fn out_blocks(op: ConvOp, g: &ConvGeom, tile: Tile) -> usize {
    let (m, n, _, z) = gemm_view(op, g);
    tile.blocks(m, n) * z
}

/// The arguments of a conv kernel, SIMT (kernels/conv.cu) or tensor-core: inputs `a`, `b`
/// (fwd x, w; dgrad gy, w; wgrad x, gy), the output, the geometry, the K chunk of a split,
/// then the magic multipliers of the divisors its K loop needs.
pub fn kernel_args(op: ConvOp, g: &ConvGeom, a: &DevBuf, b: &DevBuf, out: &DevBuf, chunk: usize) -> Args {
    let args = conv_args(Args::new().buf(a).buf(b).buf(out), g).int(chunk);
    match op {
        ConvOp::Fwd => {
            let a = with_magic(with_magic(args, g.kh * g.kw), g.kw);
            with_magic(with_magic(a, g.oh * g.ow), g.ow)
        }
        ConvOp::Dgrad => {
            let a = with_magic(args, g.c_out);
            // A phase has ceil(kw / s) or floor(kw / s) taps per row (a phase without taps
            // computes nothing, so its multiplier is never used: pass that of 1).
            with_magic(with_magic(a, g.kw.div_ceil(g.stride)), (g.kw / g.stride).max(1))
        }
        ConvOp::Wgrad => with_magic(with_magic(args, g.oh * g.ow), g.ow),
    }
}

/// Launches `op` in precision `p` (tf32 or bf16) with `tile`, writing `splits` partial
/// outputs of K chunks `chunk` into `out`.
#[allow(clippy::too_many_arguments)]
pub fn launch_conv(
    rt: &dyn Runtime,
    op: ConvOp,
    p: Precision,
    g: &ConvGeom,
    a: &DevBuf,
    b: &DevBuf,
    out: &DevBuf,
    tile: Tile,
    splits: usize,
    chunk: usize,
) {
    assert!(p != Precision::Fp32, "the tensor-core kernels run tf32 or bf16");
    let (m, n, _, z) = gemm_view(op, g);
    let name = match op {
        ConvOp::Fwd => "fwd",
        ConvOp::Dgrad => "dgrad",
        ConvOp::Wgrad => "wgrad",
    };
    let kernel = format!("conv_{name}_{p}_{}x{}", tile.bm, tile.bn);
    let grid = [n.div_ceil(tile.bn), m.div_ceil(tile.bm), splits * z];
    launch(rt, "conv_tc", &kernel, grid, TC_THREADS, kernel_args(op, g, a, b, out, chunk));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn magic_divides_exactly() {
        let mut s = 12345u64;
        for d in (1..600).chain([1000, 4096, 65535, 65536, 65537, 1 << 20, 3 << 20, (1 << 31) - 1]) {
            let (m, sh) = magic(d);
            let div = |n: u32| (((n as u64 * m as u64) >> 32) + n as u64) >> sh;
            for n in (0..2000u32).chain([u32::MAX >> 1, (u32::MAX >> 1) - 1, d as u32, d as u32 - 1]) {
                assert_eq!(div(n), (n as usize / d) as u64, "{n} / {d}");
            }
            for _ in 0..200 {
                s = s.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                let n = (s >> 33) as u32; // < 2^31
                assert_eq!(div(n), (n as usize / d) as u64, "{n} / {d}");
            }
        }
    }

    #[test]
    fn tile_heuristic() {
        let t = |bm, bn| Tile { bm, bn };
        // A large layer fills the GPU with the big tile, oriented along the longer side.
        assert_eq!(pick_tile(256, 16384), t(64, 128));
        assert_eq!(pick_tile(16384, 256), t(128, 64));
        // 3 output channels: the smallest tile (least padding).
        assert_eq!(pick_tile(3, 65536), t(32, 32));
        // 64 x 4096: 64x128 gives 32 blocks, 64x64 64; 32x32 gives 256 without padding.
        assert_eq!(pick_tile(64, 4096), t(32, 32));
        // 64 x 1024: nothing fills the GPU; 64x128 pads 0% and is the largest.
        assert_eq!(pick_tile(64, 1024), t(64, 128));
        // Inner U-Net layers: 512 channels x 4 pixels.
        assert_eq!(pick_tile(512, 4), t(32, 32));
        // 96 x 20000: 64-row tiles pad 33%, 32-row tiles none.
        assert_eq!(pick_tile(96, 20000), t(32, 32));
    }

    #[test]
    fn plans_split_long_k() {
        // The innermost U-Net layer: 512 x 1 pixel x 8192 K.
        let g = ConvGeom::forward(1, 512, 2, 2, 512, (4, 4), 2, 1);
        let (tile, splits, chunk) = plan(ConvOp::Fwd, &g);
        assert_eq!(tile, Tile { bm: 32, bn: 32 });
        assert!(splits > 1 && chunk % GEMM_BK == 0 && splits * chunk >= 8192);
    }
}
