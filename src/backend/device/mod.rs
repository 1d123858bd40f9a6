//! The device backend: `kernels/*.cu` run on a GPU through CUDA, or on the host through the
//! emulator. Both implement `Runtime` (memory + launch by name with the `void**` argument
//! convention of `cuLaunchKernel`), so the launch code of every op (grid sizes, argument
//! order, buffer offsets) is shared by `cuda` and `emu` and is under test in CI.

pub mod alloc;
mod backend;
pub mod compile;
pub mod consts;
pub mod cuda;
pub mod emu;
mod handle;
pub mod launch;
mod ops;
pub mod probe;
pub mod sass;
pub mod select;
pub mod sources;
pub mod tc;

pub use cuda::cuda_runtime;
pub use emu::emu_runtime;
pub use handle::DeviceBackend;

use crate::backend::DeviceKind;
use std::ffi::c_void;
use std::sync::Arc;

/// Frees device memory (returns it to the caching allocator).
pub trait DevicePool: Send + Sync {
    fn free(&self, ptr: u64, len: usize);
}

/// A buffer of `len` f32 in device memory (or emulator memory). Freed on drop. The fields
/// are private and only a runtime makes one, so safe code cannot point a kernel (or the
/// emulator, which dereferences these addresses on the host) at arbitrary memory.
pub struct DevBuf {
    ptr: u64,
    len: usize,
    pool: Arc<dyn DevicePool>,
}

impl DevBuf {
    /// # Safety
    /// `ptr` must address `len` f32 of device memory that `pool` owns and that nothing else
    /// uses until this buffer returns it to `pool` on drop.
    pub(crate) unsafe fn from_raw(ptr: u64, len: usize, pool: Arc<dyn DevicePool>) -> Self {
        DevBuf { ptr, len, pool }
    }
    /// The device address (what a kernel parameter receives).
    pub fn ptr(&self) -> u64 {
        self.ptr
    }
    /// Length in f32 elements.
    pub fn len(&self) -> usize {
        self.len
    }
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl Drop for DevBuf {
    fn drop(&mut self) {
        self.pool.free(self.ptr, self.len);
    }
}

/// An error from the device or the kernel compiler, as one line for the user.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct DeviceError(pub String);

/// What the CUDA driver and the emulator both provide.
pub trait Runtime: Send + Sync {
    /// `Emu` or `Cuda(ordinal)`.
    fn kind(&self) -> DeviceKind;

    /// "cuda:0" or "emu".
    fn name(&self) -> String {
        self.kind().to_string()
    }
    /// `len` f32 of device memory, contents unspecified (the emulator poisons them with NaN).
    fn alloc(&self, len: usize) -> DevBuf;
    fn htod(&self, dst: &DevBuf, src: &[f32]);
    fn dtoh(&self, src: &DevBuf) -> Vec<f32>;
    /// Copies `len` f32 from src (at element offset src_off) to dst (at dst_off).
    fn dtod(&self, dst: &DevBuf, dst_off: usize, src: &DevBuf, src_off: usize, len: usize);
    /// Launches `kernel` of module `module` (the file stem of `kernels/<module>.cu`).
    /// `args[i]` points at the i-th kernel parameter (a `u64` device pointer, an `i32`, an `f32`, ...).
    ///
    /// # Safety
    /// The argument list must match the kernel's parameters in number, order and type.
    unsafe fn launch(
        &self,
        module: &str,
        kernel: &str,
        grid: [u32; 3],
        block: [u32; 3],
        shared_bytes: u32,
        args: &mut [*mut c_void],
    ) -> Result<(), DeviceError>;
    fn synchronize(&self) -> Result<(), DeviceError>;

    /// Milliseconds the device spends on the work `f` queues (benchmarks). The default
    /// waits for the device before and after and reads the host clock; CUDA uses events.
    fn time_ms(&self, f: &mut dyn FnMut()) -> f64 {
        self.synchronize().unwrap_or_else(|e| panic!("{}: {e}", self.name()));
        let t = std::time::Instant::now();
        f();
        self.synchronize().unwrap_or_else(|e| panic!("{}: {e}", self.name()));
        t.elapsed().as_secs_f64() * 1e3
    }

    /// Most bytes of device memory in use at once since the previous call (which resets
    /// the peak to what is in use now); None where the runtime does not track it.
    fn take_peak_bytes(&self) -> Option<usize> {
        None
    }
}

/// Largest dynamic shared memory a block may ask for (what an H100 allows after opt-in).
pub const MAX_SHARED_BYTES: u32 = 227 * 1024;

/// Checks a launch shape against CUDA's limits, so the emulator rejects what a GPU would.
pub fn validate_launch(
    module: &str,
    kernel: &str,
    grid: [u32; 3],
    block: [u32; 3],
    shared_bytes: u32,
) -> Result<(), DeviceError> {
    let what = || {
        format!(
            "launch of {module}/{kernel} with grid {}x{}x{} and block {}x{}x{}",
            grid[0], grid[1], grid[2], block[0], block[1], block[2]
        )
    };
    let threads = block.iter().map(|&b| b as u64).product::<u64>();
    if grid.contains(&0) || block.contains(&0) {
        return Err(DeviceError(format!("{}: a dimension is zero", what())));
    }
    if threads > 1024 || block[2] > 64 {
        return Err(DeviceError(format!(
            "{}: a block may have at most 1024 threads (z at most 64), this one has {threads}",
            what()
        )));
    }
    if grid[0] > i32::MAX as u32 || grid[1] > 65535 || grid[2] > 65535 {
        return Err(DeviceError(format!("{}: grid too large (x < 2^31, y and z <= 65535)", what())));
    }
    if shared_bytes > MAX_SHARED_BYTES {
        return Err(DeviceError(format!(
            "{}: {shared_bytes} bytes of dynamic shared memory, at most {MAX_SHARED_BYTES}",
            what()
        )));
    }
    Ok(())
}
