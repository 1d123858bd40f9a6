//! The device a bench runs on: the `Device` tensors use, and for the device backend the
//! runtime behind it (event timing, peak memory, bandwidth of device copies).

use crate::backend::device::{select::open_runtime, DeviceBackend, Runtime};
use crate::backend::precision::Precision;
use crate::backend::DeviceKind;
use crate::tensor::Device;
use anyhow::Result;
use std::rc::Rc;
use std::sync::Arc;
use std::time::Instant;

pub struct Target {
    pub device: Device,
    /// The runtime of `emu` and `cuda:N`; None on the CPU.
    pub runtime: Option<Arc<dyn Runtime>>,
    pub kind: DeviceKind,
    /// Of the convolutions.
    pub precision: Precision,
}

impl Target {
    pub fn cpu() -> Target {
        Target { device: Device::cpu(), runtime: None, kind: DeviceKind::Cpu, precision: Precision::Fp32 }
    }

    fn with_runtime(rt: Arc<dyn Runtime>, precision: Precision) -> Target {
        let kind = rt.kind();
        let backend = DeviceBackend::new(rt.clone()).with_precision(precision);
        Target { device: Device::new(Rc::new(backend)), runtime: Some(rt), kind, precision }
    }

    /// The device `kind` (`auto` is resolved before: `device::select::resolve`) in fp32.
    pub fn open(kind: DeviceKind) -> Result<Target> {
        Target::open_with(kind, Precision::Fp32)
    }

    /// The device `kind` with its convolutions in `precision` (the CPU runs fp32 only).
    pub fn open_with(kind: DeviceKind, precision: Precision) -> Result<Target> {
        Ok(match open_runtime(kind)? {
            Some(rt) => Target::with_runtime(rt, precision),
            None => Target::cpu(),
        })
    }

    pub fn is_cuda(&self) -> bool {
        self.kind.is_cuda()
    }
    pub fn is_emu(&self) -> bool {
        self.kind == DeviceKind::Emu
    }

    /// Milliseconds of device work queued by `f` (CUDA events; wall clock elsewhere).
    pub fn time_ms(&self, f: &mut dyn FnMut()) -> f64 {
        match &self.runtime {
            Some(rt) => rt.time_ms(f),
            None => {
                let t = Instant::now();
                f();
                t.elapsed().as_secs_f64() * 1e3
            }
        }
    }

    pub fn synchronize(&self) {
        self.device.synchronize();
    }

    /// Peak memory since the last call: device memory for the device backend, the
    /// process's peak resident set on the CPU (Linux). Returns (bytes, what it is).
    pub fn take_peak_bytes(&self) -> Option<(usize, &'static str)> {
        match &self.runtime {
            Some(rt) => rt.take_peak_bytes().map(|b| (b, "device memory in use (caching allocator)")),
            None => {
                let peak = peak_rss_bytes()?;
                reset_peak_rss();
                Some((peak, "process peak resident set"))
            }
        }
    }
}

/// VmHWM of /proc/self/status.
fn peak_rss_bytes() -> Option<usize> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: usize = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib * 1024)
}

/// Resets VmHWM to the current resident set (Linux 4.0+); harmless where unsupported.
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::device::launch::launch_count;
    use crate::backend::DType;

    #[test]
    fn emulator_reports_peak_memory_and_launches() {
        let t = Target::open(DeviceKind::Emu).unwrap();
        let _ = t.take_peak_bytes();
        let before = launch_count();
        let a = t.device.full(1 << 16, 1.0, DType::F32);
        let (peak, what) = t.take_peak_bytes().unwrap();
        assert!(peak >= 4 << 16, "{peak}");
        assert!(what.contains("device memory"));
        assert!(launch_count() > before, "the fill kernel was counted");
        drop(a);
        // The peak restarts from what is in use now.
        let (peak, _) = t.take_peak_bytes().unwrap();
        assert!(peak >= 4 << 16);
        let ms = t.time_ms(&mut || drop(t.device.full(1 << 10, 2.0, DType::F32)));
        assert!(ms >= 0.0);
    }

    #[test]
    fn unknown_device_is_a_clear_error() {
        let e = "tpu".parse::<crate::backend::DeviceSpec>().err().unwrap();
        assert!(e.contains("unknown --device 'tpu'"), "{e}");
    }
}
