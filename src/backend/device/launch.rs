//! Kernel arguments in the `void**` convention of `cuLaunchKernel`, grid sizing, and the
//! split counts of the deterministic two-stage reductions.

use std::ffi::c_void;
use std::sync::atomic::{AtomicU64, Ordering};

pub use super::consts::{BLOCK, GEMM_BK, GEMM_TILE};
use super::{DevBuf, Runtime};

#[cfg(target_endian = "big")]
compile_error!("kernel arguments are packed for little-endian hosts");

/// Cap on 1-D grids; kernels loop grid-stride over the rest.
const MAX_GRID_1D: usize = 2048;
/// Blocks a split reduction aims for, so a few large reductions still fill the GPU.
const TARGET_BLOCKS: usize = 512;

/// Kernel parameters, one 8-byte slot each. A 4-byte parameter sits in the low half of its
/// slot; on a little-endian host a pointer to the slot is a pointer to the value, which is
/// all `cuLaunchKernel` (and the emulator) read through `args[i]`.
#[derive(Default)]
pub struct Args {
    slots: Vec<u64>,
}

impl Args {
    pub fn new() -> Self {
        Args { slots: Vec::with_capacity(16) }
    }
    /// A device pointer (`float*` / `const float*`).
    pub fn buf(mut self, b: &DevBuf) -> Self {
        self.slots.push(b.ptr());
        self
    }
    /// An optional device pointer: null when absent (the kernel also gets a has_* flag).
    pub fn opt(mut self, b: Option<&DevBuf>) -> Self {
        self.slots.push(b.map_or(0, |b| b.ptr()));
        self
    }
    /// An `int` from a size; panics when it does not fit (kernels index with 32-bit ints).
    pub fn int(self, v: usize) -> Self {
        let v = i32::try_from(v)
            .unwrap_or_else(|_| panic!("device kernels index with 32-bit ints: {v} is too large"));
        self.i32(v)
    }
    pub fn i32(mut self, v: i32) -> Self {
        self.slots.push(v as u32 as u64);
        self
    }
    pub fn u32(mut self, v: u32) -> Self {
        self.slots.push(v as u64);
        self
    }
    pub fn f32(mut self, v: f32) -> Self {
        self.slots.push(v.to_bits() as u64);
        self
    }
    pub fn u64(mut self, v: u64) -> Self {
        self.slots.push(v);
        self
    }
}

/// Kernel launches made by `launch` in this process (benchmarks count launches per step).
static LAUNCHES: AtomicU64 = AtomicU64::new(0);

/// Number of kernels launched so far by the device backend, on any runtime.
pub fn launch_count() -> u64 {
    LAUNCHES.load(Ordering::Relaxed)
}

/// Launches a kernel; a failed launch (compile error, device fault) is a programming or
/// device error the `Backend` trait cannot return, so it panics with the kernel's name.
pub fn launch(rt: &dyn Runtime, module: &str, kernel: &str, grid: [usize; 3], block: u32, mut args: Args) {
    if grid.contains(&0) {
        return; // empty problem: nothing to compute
    }
    let grid =
        grid.map(|g| u32::try_from(g).unwrap_or_else(|_| panic!("{module}.{kernel}: grid {g} too large")));
    LAUNCHES.fetch_add(1, Ordering::Relaxed);
    let mut ptrs: Vec<*mut c_void> = args.slots.iter_mut().map(|s| s as *mut u64 as *mut c_void).collect();
    // SAFETY: every call site passes the parameters of `kernel` in order, each in a slot
    // that outlives the launch call (the runtime copies parameters before returning).
    unsafe { rt.launch(module, kernel, grid, [block, 1, 1], 0, &mut ptrs) }
        .unwrap_or_else(|e| panic!("{module}.{kernel}: {e}"));
}

/// Grid of a 1-D grid-stride kernel over `n` elements.
pub fn grid_1d(n: usize) -> [usize; 3] {
    [n.div_ceil(BLOCK as usize).clamp(1, MAX_GRID_1D), 1, 1]
}

/// Grid of a row kernel over `rows` rows of `row_len` elements: blockIdx.x is the row,
/// blockIdx.y strides over the row (about 4 elements per thread).
pub fn grid_rows(rows: usize, row_len: usize) -> [usize; 3] {
    assert!(rows <= i32::MAX as usize, "device kernels index with 32-bit ints: {rows} rows");
    [rows, row_len.div_ceil(4 * BLOCK as usize).clamp(1, 65535), 1]
}

/// Blocks of the first stage of a full reduction over `n` elements (a function of n only,
/// so the summation order and the result are the same on every run).
pub fn reduce_blocks(n: usize) -> usize {
    n.div_ceil(8 * BLOCK as usize).clamp(1, 1024)
}

/// How to split `work` items per output among `splits` blocks when only `outputs` blocks
/// exist otherwise: returns (splits, chunk) with chunk a multiple of `align`, at least
/// `min_chunk` items per split, and no empty split.
pub fn split(outputs: usize, work: usize, min_chunk: usize, align: usize) -> (usize, usize) {
    let want = TARGET_BLOCKS.div_ceil(outputs.max(1));
    let most = (work / min_chunk.max(1)).max(1);
    let splits = want.clamp(1, most);
    let chunk = work.div_ceil(splits).max(1).next_multiple_of(align);
    (work.div_ceil(chunk).max(1), chunk)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_covers_work_without_empty_splits() {
        for &(outputs, work, min, align) in
            &[(1, 65536, 512, 16), (4, 100, 512, 16), (3, 77777, 2048, 1), (600, 5000, 16, 16), (1, 1, 1, 1)]
        {
            let (s, c) = split(outputs, work, min, align);
            assert!(s >= 1 && c % align == 0);
            assert!(s * c >= work, "{outputs} {work}: {s} x {c}");
            assert!((s - 1) * c < work, "{outputs} {work}: empty split");
        }
        assert_eq!(split(600, 5000, 16, 16).0, 1);
        assert!(split(1, 65536, 512, 16).0 > 100);
    }

    #[test]
    fn int_args_sit_in_the_low_half() {
        let a = Args::new().i32(-2).f32(1.5).u32(7);
        assert_eq!(a.slots[0] as u32 as i32, -2);
        assert_eq!(f32::from_bits(a.slots[1] as u32), 1.5);
        assert_eq!(a.slots[2], 7);
    }
}
