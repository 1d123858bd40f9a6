//! Repeated timing: warm-up excluded, median and 10th/90th percentiles of many samples.

use super::Target;
use serde::Serialize;
use std::time::Instant;

/// How long to sample one measurement.
#[derive(Clone, Copy, Debug)]
pub struct Budget {
    pub min_samples: usize,
    pub max_samples: usize,
    /// Stop after this much sampling once `min_samples` are in.
    pub seconds: f64,
    /// On CUDA, a sample repeats the call until it lasts about this long, so launch gaps
    /// are amortised as in a real step where the host runs ahead of the GPU.
    pub min_sample_ms: f64,
}

impl Budget {
    pub fn full() -> Budget {
        Budget { min_samples: 5, max_samples: 30, seconds: 1.0, min_sample_ms: 1.0 }
    }
    pub fn short() -> Budget {
        Budget { min_samples: 3, max_samples: 10, seconds: 0.05, min_sample_ms: 0.2 }
    }
}

/// Time per call, over the samples.
#[derive(Clone, Debug, Serialize)]
pub struct Stats {
    pub median_ms: f64,
    pub p10_ms: f64,
    pub p90_ms: f64,
    pub samples: usize,
    pub calls_per_sample: usize,
}

/// Linear interpolation between the closest ranks of sorted `v`.
fn percentile(v: &[f64], q: f64) -> f64 {
    let x = q * (v.len() - 1) as f64;
    let (lo, hi) = (x.floor() as usize, x.ceil() as usize);
    v[lo] + (v[hi] - v[lo]) * (x - lo as f64)
}

impl Stats {
    pub fn from_samples(mut ms: Vec<f64>, calls_per_sample: usize) -> Stats {
        assert!(!ms.is_empty(), "no samples");
        ms.sort_by(f64::total_cmp);
        Stats {
            median_ms: percentile(&ms, 0.5),
            p10_ms: percentile(&ms, 0.1),
            p90_ms: percentile(&ms, 0.9),
            samples: ms.len(),
            calls_per_sample,
        }
    }
}

/// Times `call` (which should rotate its inputs itself): one warm-up call (compilation,
/// first allocations), one calibration call, then samples within the budget.
pub fn measure(target: &Target, budget: &Budget, call: &mut dyn FnMut()) -> Stats {
    call();
    target.synchronize();
    let first = target.time_ms(call);
    let inner = if target.is_cuda() && first > 0.0 {
        ((budget.min_sample_ms / first).ceil() as usize).clamp(1, 200)
    } else {
        1
    };
    let start = Instant::now();
    let mut samples = Vec::new();
    while samples.len() < budget.max_samples
        && (samples.len() < budget.min_samples || start.elapsed().as_secs_f64() < budget.seconds)
    {
        let ms = target.time_ms(&mut || {
            for _ in 0..inner {
                call();
            }
        });
        samples.push(ms / inner as f64);
    }
    Stats::from_samples(samples, inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_interpolate() {
        let s = Stats::from_samples(vec![5.0, 1.0, 3.0, 2.0, 4.0], 1);
        assert_eq!(s.median_ms, 3.0);
        assert!((s.p10_ms - 1.4).abs() < 1e-12 && (s.p90_ms - 4.6).abs() < 1e-12);
    }

    #[test]
    fn measure_respects_the_sample_bounds() {
        let t = Target::cpu();
        let mut calls = 0;
        let s = measure(
            &t,
            &Budget { min_samples: 3, max_samples: 4, seconds: 10.0, min_sample_ms: 1.0 },
            &mut || calls += 1,
        );
        assert_eq!(s.samples, 4);
        assert_eq!(calls, 6, "warm-up, calibration, then the samples");
    }
}
