//! Finds CUDA devices without panicking: the driver library may be missing (cudarc loads it
//! at run time), present with no GPU, or working. Also says which NVRTC is usable and where
//! compiled kernels are cached (`engine info`).

use super::compile;
use cudarc::driver::{result, sys, DriverError};
use std::fmt;
use std::path::PathBuf;

/// One CUDA device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GpuInfo {
    pub ordinal: usize,
    pub name: String,
    pub compute_capability: (i32, i32),
    pub total_mem: usize,
}

/// What `engine info` shows.
#[derive(Clone, Debug)]
pub struct Probe {
    /// The devices found, or why there are none.
    pub gpus: Result<Vec<GpuInfo>, String>,
    /// NVRTC's version, or why it cannot be used.
    pub nvrtc: Result<(i32, i32), String>,
    pub cache_dir: PathBuf,
}

/// "CUDA_ERROR_NO_DEVICE (no CUDA-capable device is detected)".
pub(crate) fn driver_message(e: &DriverError) -> String {
    match e.error_string() {
        Ok(s) => format!("{:?} ({})", e.0, s.to_string_lossy()),
        Err(_) => format!("{:?}", e.0),
    }
}

/// The CUDA devices of this machine, or why there are none.
pub fn gpus() -> Result<Vec<GpuInfo>, String> {
    if !unsafe { sys::is_culib_present() } {
        return Err("no CUDA driver (libcuda.so not found)".into());
    }
    result::init().map_err(|e| match e.0 {
        sys::CUresult::CUDA_ERROR_NO_DEVICE => "CUDA driver found, but no GPU".to_string(),
        _ => format!("CUDA driver failed to initialise: {}", driver_message(&e)),
    })?;
    let count = result::device::get_count()
        .map_err(|e| format!("CUDA: cannot count devices: {}", driver_message(&e)))?;
    if count == 0 {
        return Err("CUDA driver found, but no GPU".into());
    }
    (0..count)
        .map(|i| {
            let err = |e: DriverError| format!("CUDA device {i}: {}", driver_message(&e));
            let dev = result::device::get(i).map_err(err)?;
            let attr = |a| unsafe { result::device::get_attribute(dev, a) }.map_err(err);
            Ok(GpuInfo {
                ordinal: i as usize,
                name: result::device::get_name(dev).map_err(err)?,
                compute_capability: (
                    attr(sys::CUdevice_attribute::CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR)?,
                    attr(sys::CUdevice_attribute::CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR)?,
                ),
                total_mem: unsafe { result::device::total_mem(dev) }.map_err(err)?,
            })
        })
        .collect()
}

pub fn probe() -> Probe {
    Probe { gpus: gpus(), nvrtc: compile::nvrtc_version().map_err(|e| e.0), cache_dir: compile::cache_dir() }
}

impl fmt::Display for Probe {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.gpus {
            Ok(gpus) => {
                for g in gpus {
                    writeln!(
                        f,
                        "cuda:{}  {}  compute capability {}.{}  {:.1} GiB",
                        g.ordinal,
                        g.name,
                        g.compute_capability.0,
                        g.compute_capability.1,
                        g.total_mem as f64 / (1u64 << 30) as f64
                    )?;
                }
            }
            Err(why) => writeln!(f, "cuda: none ({why})")?,
        }
        match &self.nvrtc {
            Ok((major, minor)) => writeln!(f, "nvrtc: {major}.{minor}")?,
            Err(why) => writeln!(f, "nvrtc: none ({why})")?,
        }
        writeln!(f, "emu: available (host C++ emulator)")?;
        write!(f, "kernel cache: {}", self.cache_dir.display())
    }
}
