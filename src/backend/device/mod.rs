//! The device backend: `kernels/*.cu` run on a GPU through CUDA, or on the host through the
//! emulator. Both implement `Runtime` (memory + launch by name with the `void**` argument
//! convention of `cuLaunchKernel`), so the launch code of every op (grid sizes, argument
//! order, buffer offsets) is shared by `cuda` and `emu` and is under test in CI.

mod backend;
pub mod launch;

pub use backend::DeviceBackend;

use std::ffi::c_void;
use std::sync::Arc;

/// Frees device memory (returns it to the caching allocator).
pub trait DevicePool: Send + Sync {
    fn free(&self, ptr: u64, len: usize);
}

/// A buffer of `len` f32 in device memory (or emulator memory). Freed on drop.
pub struct DevBuf {
    pub ptr: u64,
    pub len: usize,
    pub pool: Arc<dyn DevicePool>,
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
    /// "cuda:0" or "emu".
    fn name(&self) -> String;
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
    unsafe fn launch(&self, module: &str, kernel: &str, grid: [u32; 3], block: [u32; 3], shared_bytes: u32, args: &mut [*mut c_void]) -> Result<(), DeviceError>;
    fn synchronize(&self) -> Result<(), DeviceError>;
}
