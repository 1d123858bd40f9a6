//! The device backend: `kernels/*.cu` run on a GPU through CUDA, or on the host through the
//! emulator. Both share the launch code; only memory and the launch call differ.

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
