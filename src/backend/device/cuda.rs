//! The CUDA runtime: kernels compiled by NVRTC (lazily, per module, cached on disk), one
//! stream per device, memory from the caching allocator, and launches with the raw `void**`
//! argument array of cuLaunchKernel. Nothing here waits for the GPU except `dtoh` (an
//! explicit read) and `synchronize`.

use super::alloc::CachingAllocator;
use super::compile::{self, Target};
use super::probe::{self, driver_message};
use super::{sources, validate_launch, DevBuf, DeviceError, Runtime};
use crate::backend::DeviceKind;
use cudarc::driver::{result, sys, CudaContext, CudaFunction, CudaModule, CudaStream, DriverError};
use cudarc::nvrtc::Ptx;
use std::collections::HashMap;
use std::ffi::c_void;
use std::sync::{Arc, Mutex, OnceLock, RwLock};

/// The runtime of GPU `ordinal`, created once per process (its memory and compiled modules
/// are shared by every user). Fails with one clear line when there is no driver, no such
/// GPU, or no NVRTC.
pub fn cuda_runtime(ordinal: usize) -> Result<Arc<dyn Runtime>, DeviceError> {
    static RUNTIMES: OnceLock<Mutex<HashMap<usize, Arc<CudaRuntime>>>> = OnceLock::new();
    let mut map = RUNTIMES.get_or_init(Default::default).lock().unwrap_or_else(|e| e.into_inner());
    if let Some(rt) = map.get(&ordinal) {
        return Ok(rt.clone());
    }
    let rt = Arc::new(CudaRuntime::new(ordinal)?);
    map.insert(ordinal, rt.clone());
    Ok(rt)
}

pub struct CudaRuntime {
    ctx: Arc<CudaContext>,
    stream: Arc<CudaStream>,
    pool: Arc<CachingAllocator>,
    target: Target,
    ordinal: usize,
    modules: Mutex<HashMap<String, Arc<CudaModule>>>,
    /// Read-locked on every launch; written once per kernel.
    functions: RwLock<HashMap<(String, String), CudaFunction>>,
}

fn cuda_err(what: &str) -> impl Fn(DriverError) -> DeviceError + '_ {
    move |e| DeviceError(format!("CUDA: {what}: {}", driver_message(&e)))
}

impl CudaRuntime {
    pub fn new(ordinal: usize) -> Result<Self, DeviceError> {
        let gpus = probe::gpus().map_err(DeviceError)?;
        let gpu = gpus.get(ordinal).ok_or_else(|| {
            DeviceError(format!("cuda:{ordinal} does not exist ({} GPU(s) found)", gpus.len()))
        })?;
        let (major, minor) = gpu.compute_capability;
        let target = compile::target_for(major, minor)?;
        let ctx = CudaContext::new(ordinal).map_err(cuda_err("cannot create a context"))?;
        // We order all work on one stream ourselves; cudarc's per-buffer events are not used.
        unsafe { ctx.disable_event_tracking() };
        let stream = ctx.new_stream().map_err(cuda_err("cannot create a stream"))?;
        let pool = Arc::new(CachingAllocator::new(ctx.clone(), stream.clone()));
        Ok(CudaRuntime {
            ctx,
            stream,
            pool,
            target,
            ordinal,
            modules: Mutex::new(HashMap::new()),
            functions: RwLock::new(HashMap::new()),
        })
    }

    /// The architecture kernels are compiled for (CUBIN sm_XY or PTX compute_XY).
    pub fn target(&self) -> Target {
        self.target
    }

    /// The caching allocator (usage, trim).
    pub fn allocator(&self) -> &Arc<CachingAllocator> {
        &self.pool
    }

    fn module(&self, module: &str) -> Result<Arc<CudaModule>, DeviceError> {
        // Held while compiling: each module is compiled and loaded once.
        let mut modules = self.modules.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(m) = modules.get(module) {
            return Ok(m.clone());
        }
        if sources::source(module).is_none() {
            return Err(DeviceError(format!("no kernel module `{module}` (kernels/{module}.cu)")));
        }
        let image = compile::compile_cached(module, self.target)?;
        let ptx = match self.target {
            Target::Cubin(_) => Ptx::from_binary(image),
            Target::Ptx(_) => Ptx::from_src(String::from_utf8_lossy(&image).into_owned()),
        };
        let loaded = self.ctx.load_module(ptx).map_err(|e| {
            let hint = if e.0 == sys::CUresult::CUDA_ERROR_UNSUPPORTED_PTX_VERSION {
                " (NVRTC is newer than the driver)"
            } else {
                ""
            };
            DeviceError(format!(
                "CUDA: cannot load kernels/{module}.cu compiled for {}{hint}: {}",
                self.target.arch_flag(),
                driver_message(&e)
            ))
        })?;
        modules.insert(module.to_string(), loaded.clone());
        Ok(loaded)
    }

    fn function(&self, module: &str, kernel: &str) -> Result<CudaFunction, DeviceError> {
        let key = (module.to_string(), kernel.to_string());
        if let Some(f) = self.functions.read().unwrap_or_else(|e| e.into_inner()).get(&key) {
            return Ok(f.clone());
        }
        let f = self.module(module)?.load_function(kernel).map_err(|e| match e.0 {
            sys::CUresult::CUDA_ERROR_NOT_FOUND => {
                DeviceError(format!("cuda: no kernel `{kernel}` in kernels/{module}.cu"))
            }
            _ => DeviceError(format!("CUDA: cannot load {module}/{kernel}: {}", driver_message(&e))),
        })?;
        self.functions.write().unwrap_or_else(|e| e.into_inner()).insert(key, f.clone());
        Ok(f)
    }

    fn bind(&self) {
        self.ctx
            .bind_to_thread()
            .unwrap_or_else(|e| panic!("CUDA: cannot bind the context: {}", driver_message(&e)));
    }
}

impl Runtime for CudaRuntime {
    fn kind(&self) -> DeviceKind {
        DeviceKind::Cuda(self.ordinal)
    }

    fn alloc(&self, len: usize) -> DevBuf {
        self.pool.alloc(len).unwrap_or_else(|e| panic!("{e}"))
    }

    fn htod(&self, dst: &DevBuf, src: &[f32]) {
        assert!(src.len() <= dst.len(), "htod: {} values into a buffer of {}", src.len(), dst.len());
        self.bind();
        // From pageable memory the driver stages `src` before returning, so it may be dropped.
        unsafe { result::memcpy_htod_async(dst.ptr(), src, self.stream.cu_stream()) }
            .unwrap_or_else(|e| panic!("CUDA: copy to the device failed: {}", driver_message(&e)));
    }

    fn dtoh(&self, src: &DevBuf) -> Vec<f32> {
        self.bind();
        let mut out = vec![0.0f32; src.len()];
        unsafe { result::memcpy_dtoh_async(&mut out, src.ptr(), self.stream.cu_stream()) }
            .and_then(|_| self.stream.synchronize())
            .unwrap_or_else(|e| {
                panic!(
                    "CUDA: copy from the device failed (an earlier kernel may have faulted): {}",
                    driver_message(&e)
                )
            });
        out
    }

    fn dtod(&self, dst: &DevBuf, dst_off: usize, src: &DevBuf, src_off: usize, len: usize) {
        assert!(src_off + len <= src.len() && dst_off + len <= dst.len(), "dtod: range out of bounds");
        if len == 0 {
            return;
        }
        self.bind();
        unsafe {
            result::memcpy_dtod_async(
                dst.ptr() + 4 * dst_off as u64,
                src.ptr() + 4 * src_off as u64,
                4 * len,
                self.stream.cu_stream(),
            )
        }
        .unwrap_or_else(|e| panic!("CUDA: device copy failed: {}", driver_message(&e)));
    }

    unsafe fn launch(
        &self,
        module: &str,
        kernel: &str,
        grid: [u32; 3],
        block: [u32; 3],
        shared_bytes: u32,
        args: &mut [*mut c_void],
    ) -> Result<(), DeviceError> {
        validate_launch(module, kernel, grid, block, shared_bytes)?;
        let f = self.function(module, kernel)?;
        self.ctx.bind_to_thread().map_err(cuda_err("cannot bind the context"))?;
        if shared_bytes > 48 * 1024 {
            // Above 48 KiB a kernel must opt in to dynamic shared memory.
            result::function::set_function_attribute(
                f.cu_function(),
                sys::CUfunction_attribute::CU_FUNC_ATTRIBUTE_MAX_DYNAMIC_SHARED_SIZE_BYTES,
                shared_bytes as i32,
            )
            .map_err(|e| {
                DeviceError(format!(
                    "CUDA: {module}/{kernel} cannot use {shared_bytes} bytes of shared memory: {}",
                    driver_message(&e)
                ))
            })?;
        }
        result::launch_kernel(
            f.cu_function(),
            (grid[0], grid[1], grid[2]),
            (block[0], block[1], block[2]),
            shared_bytes,
            self.stream.cu_stream(),
            args,
        )
        .map_err(|e| DeviceError(format!("CUDA: launch of {module}/{kernel} failed: {}", driver_message(&e))))
    }

    fn synchronize(&self) -> Result<(), DeviceError> {
        self.stream.synchronize().map_err(cuda_err("a kernel failed"))
    }

    /// Device time between two events recorded on our stream around `f`'s work.
    fn time_ms(&self, f: &mut dyn FnMut()) -> f64 {
        self.bind();
        let timed = Some(sys::CUevent_flags::CU_EVENT_DEFAULT);
        let start = self
            .stream
            .record_event(timed)
            .unwrap_or_else(|e| panic!("CUDA: cannot record an event: {}", driver_message(&e)));
        f();
        let end = self
            .stream
            .record_event(timed)
            .unwrap_or_else(|e| panic!("CUDA: cannot record an event: {}", driver_message(&e)));
        start.elapsed_ms(&end).unwrap_or_else(|e| panic!("CUDA: timed work failed: {}", driver_message(&e)))
            as f64
    }

    fn take_peak_bytes(&self) -> Option<usize> {
        Some(self.pool.take_peak())
    }
}
