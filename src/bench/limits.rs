//! The two ceilings of a device: memory bandwidth, measured here by a large copy (bytes
//! read plus bytes written), and FP32 compute, from the card's datasheet on CUDA or a
//! measured sgemm on the CPU.

use super::timing::{measure, Budget};
use super::Target;
use crate::backend::device::probe;
use crate::backend::{DType, DeviceKind, Storage};
use rayon::prelude::*;
use serde::Serialize;

#[derive(Clone, Debug, Serialize)]
pub struct Limits {
    /// "NVIDIA H100 80GB HBM3", "AMD EPYC (2 threads)", "emu on AMD EPYC (2 threads)".
    pub device: String,
    pub bandwidth_gbs: f64,
    pub bandwidth_method: String,
    /// FP32 (non-tensor-core) peak, when known.
    pub fp32_gflops: Option<f64>,
    pub fp32_source: String,
}

impl Limits {
    /// The floor of a piece of work: max(flops / peak, bytes / bandwidth), in ms, and
    /// which term it is ("fp32" or "memory").
    pub fn floor_ms(&self, flops: f64, bytes: f64) -> (f64, &'static str) {
        let mem = bytes / (self.bandwidth_gbs * 1e9) * 1e3;
        let fp = self.fp32_gflops.map_or(0.0, |p| flops / (p * 1e9) * 1e3);
        if fp > mem {
            (fp, "fp32")
        } else {
            (mem, "memory")
        }
    }
}

/// FP32 peaks (TFLOP/s, boost clock, no tensor cores) from NVIDIA's datasheets, by the
/// device name the driver reports; more specific names first.
const DATASHEET_FP32: [(&str, f64, &str); 10] = [
    ("H100 PCIe", 51.2, "NVIDIA H100 datasheet (PCIe)"),
    ("H100 NVL", 60.0, "NVIDIA H100 datasheet (NVL)"),
    ("H100", 67.0, "NVIDIA H100 datasheet (SXM5)"),
    ("H200 NVL", 60.0, "NVIDIA H200 datasheet (NVL)"),
    ("H200", 67.0, "NVIDIA H200 datasheet (SXM)"),
    ("A100", 19.5, "NVIDIA A100 datasheet"),
    ("L40S", 91.6, "NVIDIA L40S datasheet"),
    ("L4", 30.3, "NVIDIA L4 datasheet"),
    ("A10", 31.2, "NVIDIA A10 datasheet"),
    ("RTX 4090", 82.6, "NVIDIA Ada (RTX 4090) whitepaper"),
];

/// (GFLOP/s, source) of a GPU by name. "L4" must be a whole word (not "L40S").
pub fn datasheet_fp32(name: &str) -> Option<(f64, String)> {
    DATASHEET_FP32.iter().find_map(|&(key, tflops, source)| {
        let hit = match name.find(key) {
            Some(i) => name[i + key.len()..].chars().next().is_none_or(|c| !c.is_ascii_alphanumeric()),
            None => false,
        };
        hit.then(|| (tflops * 1e3, format!("{source}: {tflops} TFLOP/s FP32")))
    })
}

fn cpu_name() -> String {
    let model = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split(':').nth(1))
                .map(|m| m.trim().to_string())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_string());
    format!("{model} ({} threads)", rayon::current_num_threads())
}

/// Elements of the copy that measures bandwidth: 256 MiB per buffer (64 MiB short), far
/// beyond any cache.
fn copy_len(short: bool) -> usize {
    if short {
        16 << 20
    } else {
        64 << 20
    }
}

/// Measures (or looks up) the limits of `target`.
pub fn measure_limits(target: &Target, short: bool) -> Limits {
    let budget = if short {
        Budget::short()
    } else {
        Budget { min_samples: 5, max_samples: 20, seconds: 1.0, min_sample_ms: 1.0 }
    };
    let len = copy_len(short);
    let bytes = 2.0 * 4.0 * len as f64;
    let (bandwidth_gbs, bandwidth_method) = match &target.runtime {
        Some(rt) => {
            let src = target.device.randn(len, 1, 0.0, 1.0, DType::F32);
            let dst = target.device.zeros(len, DType::F32);
            let (Storage::Device(s), Storage::Device(d)) = (&src, &dst) else {
                unreachable!("device storage")
            };
            let st = measure(target, &budget, &mut || rt.dtod(d, 0, s, 0, len));
            (
                bytes / (st.median_ms * 1e6),
                format!(
                    "device-to-device copy of {} MiB, read + write, median of {}",
                    (len * 4) >> 20,
                    st.samples
                ),
            )
        }
        None => {
            // A copy's destination is read before it is written (write-allocate), so a
            // memcpy moves a third more than it counts; an in-place update does not. The
            // better of the two is what the memory can deliver.
            let src: Vec<f32> = (0..len).map(|i| i as f32).collect();
            let mut dst = vec![0.0f32; len];
            let copy = measure(target, &budget, &mut || {
                dst.par_chunks_mut(1 << 16)
                    .zip(src.par_chunks(1 << 16))
                    .for_each(|(d, s)| d.copy_from_slice(s));
            });
            drop(src);
            let update = measure(target, &budget, &mut || {
                dst.par_chunks_mut(1 << 16)
                    .for_each(|d| d.iter_mut().for_each(|x| *x = *x * 0.999_999 + 1e-7));
            });
            let mib = (len * 4) >> 20;
            if update.median_ms < copy.median_ms {
                (bytes / (update.median_ms * 1e6), format!("in-place update of {mib} MiB (x = a*x + b), read + write, median of {}; a parallel memcpy gave {:.1} GB/s", update.samples, bytes / (copy.median_ms * 1e6)))
            } else {
                (
                    bytes / (copy.median_ms * 1e6),
                    format!("parallel memcpy of {mib} MiB, read + write, median of {}", copy.samples),
                )
            }
        }
    };
    let (device, fp32_gflops, fp32_source) = if let DeviceKind::Cuda(ordinal) = target.kind {
        let name = probe::gpus()
            .ok()
            .and_then(|g| g.into_iter().find(|g| g.ordinal == ordinal))
            .map_or_else(|| target.kind.to_string(), |g| g.name);
        match datasheet_fp32(&name) {
            Some((gflops, source)) => (name, Some(gflops), source),
            None => {
                (name, None, "unknown card: no datasheet FP32 figure; % is of bandwidth only".to_string())
            }
        }
    } else {
        let n = if short { 1024 } else { 2048 };
        let gflops = sgemm_gflops(n, &budget);
        let host = cpu_name();
        let device = if target.is_emu() { format!("emu on {host}") } else { host };
        (device, Some(gflops), format!("measured: {n}x{n}x{n} sgemm (gemm crate, all threads), median"))
    };
    Limits { device, bandwidth_gbs, bandwidth_method, fp32_gflops, fp32_source }
}

/// Median GFLOP/s of an n^3 f32 matrix product through the `gemm` crate on every thread.
fn sgemm_gflops(n: usize, budget: &Budget) -> f64 {
    let a: Vec<f32> = (0..n * n).map(|i| ((i * 7919) % 1000) as f32 / 1000.0 - 0.5).collect();
    let b = a.clone();
    let mut c = vec![0.0f32; n * n];
    let host = Target::cpu();
    let st = measure(&host, budget, &mut || {
        // SAFETY: a, b, c are n x n row-major and c does not alias a or b.
        unsafe {
            gemm::gemm(
                n,
                n,
                n,
                c.as_mut_ptr(),
                1,
                n as isize,
                false,
                a.as_ptr(),
                1,
                n as isize,
                b.as_ptr(),
                1,
                n as isize,
                0.0,
                1.0,
                false,
                false,
                false,
                gemm::Parallelism::Rayon(0),
            );
        }
    });
    2.0 * (n as f64).powi(3) / (st.median_ms * 1e6)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn datasheet_lookup_by_driver_name() {
        assert_eq!(datasheet_fp32("NVIDIA H100 80GB HBM3").unwrap().0, 67_000.0);
        assert_eq!(datasheet_fp32("NVIDIA H100 PCIe").unwrap().0, 51_200.0);
        assert_eq!(datasheet_fp32("NVIDIA H200").unwrap().0, 67_000.0);
        assert_eq!(datasheet_fp32("NVIDIA A100-SXM4-80GB").unwrap().0, 19_500.0);
        assert_eq!(datasheet_fp32("NVIDIA L40S").unwrap().0, 91_600.0);
        assert_eq!(datasheet_fp32("NVIDIA L4").unwrap().0, 30_300.0);
        assert!(datasheet_fp32("Some Future GPU").is_none());
    }

    #[test]
    fn floor_takes_the_larger_term() {
        let l = Limits {
            device: "x".into(),
            bandwidth_gbs: 1000.0,
            bandwidth_method: String::new(),
            fp32_gflops: Some(10_000.0),
            fp32_source: String::new(),
        };
        let (ms, bound) = l.floor_ms(1e9, 1e6);
        assert_eq!(bound, "fp32");
        assert!((ms - 0.1).abs() < 1e-12);
        assert_eq!(l.floor_ms(1e3, 1e9).1, "memory");
    }
}
