//! The caching allocator for device memory: freed buffers go to a free list keyed by their
//! (rounded) size and are handed out again, so a training loop that allocates the same
//! shapes every step stops calling cuMemAlloc (which may synchronise the device) after its
//! first step. All work runs on one stream, so a buffer reused right after being freed is
//! ordered after the kernels that used it.

use super::probe::driver_message;
use super::{DevBuf, DeviceError, DevicePool};
use cudarc::driver::{result, sys, CudaContext, CudaStream};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Sizes are rounded up to this many bytes (cuMemAlloc aligns to 256 anyway).
const ROUND: usize = 512;

pub struct CachingAllocator {
    ctx: Arc<CudaContext>,
    stream: Arc<CudaStream>,
    state: Mutex<State>,
    /// Fill new buffers with NaN (debug builds, or ENGINE_POISON=1), so a kernel that leaves
    /// an element unwritten is caught by parity tests as on the emulator.
    poison: bool,
}

#[derive(Default)]
struct State {
    free: HashMap<usize, Vec<u64>>,
    cached_bytes: usize,
    in_use_bytes: usize,
    /// Largest in_use_bytes since the last `take_peak`.
    peak_bytes: usize,
}

fn rounded_bytes(len: usize) -> usize {
    (len.max(1) * 4).div_ceil(ROUND) * ROUND
}

impl CachingAllocator {
    pub fn new(ctx: Arc<CudaContext>, stream: Arc<CudaStream>) -> Self {
        let poison = cfg!(debug_assertions) || std::env::var("ENGINE_POISON").is_ok_and(|v| v == "1");
        CachingAllocator { ctx, stream, state: Mutex::new(State::default()), poison }
    }

    /// `len` f32 of device memory.
    pub fn alloc(self: &Arc<Self>, len: usize) -> Result<DevBuf, DeviceError> {
        self.ctx.bind_to_thread().map_err(|e| DeviceError(format!("CUDA: {}", driver_message(&e))))?;
        let bytes = rounded_bytes(len);
        let cached = {
            let mut st = self.state.lock().unwrap();
            let p = st.free.get_mut(&bytes).and_then(Vec::pop);
            if p.is_some() {
                st.cached_bytes -= bytes;
            }
            st.in_use_bytes += bytes;
            st.peak_bytes = st.peak_bytes.max(st.in_use_bytes);
            p
        };
        let ptr = match cached {
            Some(p) => p,
            None => self.fresh(bytes).inspect_err(|_| self.state.lock().unwrap().in_use_bytes -= bytes)?,
        };
        if self.poison {
            unsafe { sys::cuMemsetD32Async(ptr, f32::NAN.to_bits(), len, self.stream.cu_stream()) }
                .result()
                .map_err(|e| DeviceError(format!("CUDA: memset failed: {}", driver_message(&e))))?;
        }
        // SAFETY: ptr is a fresh (or returned, unused) block of at least len f32 from this pool.
        Ok(unsafe { DevBuf::from_raw(ptr, len, self.clone()) })
    }

    fn fresh(&self, bytes: usize) -> Result<u64, DeviceError> {
        match unsafe { result::malloc_sync(bytes) } {
            Ok(p) => Ok(p),
            Err(e) if e.0 == sys::CUresult::CUDA_ERROR_OUT_OF_MEMORY => {
                // Give the cached buffers back to the driver and try once more.
                self.trim()?;
                unsafe { result::malloc_sync(bytes) }.map_err(|e| {
                    let in_use = self.state.lock().unwrap().in_use_bytes;
                    DeviceError(format!(
                        "CUDA: out of device memory allocating {:.1} MiB ({:.1} MiB in use): {}",
                        bytes as f64 / 1048576.0,
                        in_use as f64 / 1048576.0,
                        driver_message(&e)
                    ))
                })
            }
            Err(e) => {
                Err(DeviceError(format!("CUDA: cuMemAlloc of {bytes} bytes failed: {}", driver_message(&e))))
            }
        }
    }

    /// Frees every cached buffer (after the stream finished with them).
    pub fn trim(&self) -> Result<(), DeviceError> {
        let free = std::mem::take(&mut self.state.lock().unwrap().free);
        self.state.lock().unwrap().cached_bytes = 0;
        if free.is_empty() {
            return Ok(());
        }
        self.ctx.bind_to_thread().map_err(|e| DeviceError(format!("CUDA: {}", driver_message(&e))))?;
        self.stream.synchronize().map_err(|e| DeviceError(format!("CUDA: {}", driver_message(&e))))?;
        for p in free.into_values().flatten() {
            unsafe { result::free_sync(p) }
                .map_err(|e| DeviceError(format!("CUDA: cuMemFree failed: {}", driver_message(&e))))?;
        }
        Ok(())
    }

    /// The most bytes handed out at once since the previous call; resets the peak.
    pub fn take_peak(&self) -> usize {
        let mut st = self.state.lock().unwrap();
        let now = st.in_use_bytes;
        std::mem::replace(&mut st.peak_bytes, now)
    }

    /// (bytes handed out, bytes cached for reuse).
    pub fn usage(&self) -> (usize, usize) {
        let st = self.state.lock().unwrap();
        (st.in_use_bytes, st.cached_bytes)
    }
}

impl DevicePool for CachingAllocator {
    fn free(&self, ptr: u64, len: usize) {
        let bytes = rounded_bytes(len);
        let mut st = self.state.lock().unwrap();
        st.in_use_bytes -= bytes;
        st.cached_bytes += bytes;
        st.free.entry(bytes).or_default().push(ptr);
    }
}

impl Drop for CachingAllocator {
    fn drop(&mut self) {
        let _ = self.trim();
    }
}
