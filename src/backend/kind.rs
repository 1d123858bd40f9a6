//! Which device the engine computes on, as a type: `--device` / `ENGINE_DEVICE` is parsed
//! once into a `DeviceSpec`, `auto` is resolved once (`device::select::resolve`) into a
//! `DeviceKind`, and presets, messages and benchmarks branch on that, never on names.

use std::fmt;
use std::str::FromStr;

/// A device the engine runs on.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum DeviceKind {
    /// The CPU reference backend.
    Cpu,
    /// The CUDA kernels on the host emulator (for checking, not speed).
    Emu,
    /// The CUDA kernels on GPU `ordinal`.
    Cuda(usize),
}

impl DeviceKind {
    /// A real GPU (presets sized for speed, event timing, datasheet peaks).
    pub fn is_cuda(self) -> bool {
        matches!(self, DeviceKind::Cuda(_))
    }
}

impl fmt::Display for DeviceKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeviceKind::Cpu => f.write_str("cpu"),
            DeviceKind::Emu => f.write_str("emu"),
            DeviceKind::Cuda(n) => write!(f, "cuda:{n}"),
        }
    }
}

/// `--device` as given: one device, or `auto` (the first GPU when there is one, else the CPU).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeviceSpec {
    Auto,
    Exact(DeviceKind),
}

impl FromStr for DeviceSpec {
    type Err = String;

    /// `auto`, `cpu`, `emu`, `cuda` (= `cuda:0`) or `cuda:N`.
    fn from_str(s: &str) -> Result<Self, String> {
        Ok(match s {
            "auto" => DeviceSpec::Auto,
            "cpu" => DeviceSpec::Exact(DeviceKind::Cpu),
            "emu" => DeviceSpec::Exact(DeviceKind::Emu),
            "cuda" => DeviceSpec::Exact(DeviceKind::Cuda(0)),
            other => match other.strip_prefix("cuda:").map(str::parse::<usize>) {
                Some(Ok(n)) => DeviceSpec::Exact(DeviceKind::Cuda(n)),
                _ => {
                    return Err(format!(
                        "unknown --device '{other}': expected auto, cpu, cuda, cuda:N or emu"
                    ))
                }
            },
        })
    }
}

impl fmt::Display for DeviceSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DeviceSpec::Auto => f.write_str("auto"),
            DeviceSpec::Exact(k) => k.fmt(f),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_parses_and_prints_back() {
        for (s, want) in [
            ("auto", DeviceSpec::Auto),
            ("cpu", DeviceSpec::Exact(DeviceKind::Cpu)),
            ("emu", DeviceSpec::Exact(DeviceKind::Emu)),
            ("cuda", DeviceSpec::Exact(DeviceKind::Cuda(0))),
            ("cuda:3", DeviceSpec::Exact(DeviceKind::Cuda(3))),
        ] {
            assert_eq!(s.parse::<DeviceSpec>().unwrap(), want, "{s}");
        }
        assert_eq!(DeviceSpec::Exact(DeviceKind::Cuda(3)).to_string(), "cuda:3");
        assert!(!DeviceKind::Emu.is_cuda() && DeviceKind::Cuda(1).is_cuda());
    }

    #[test]
    fn bad_spellings_are_one_clear_line() {
        for s in ["tpu", "cuda:", "cuda:x", "CPU", "cuda:-1"] {
            let e = s.parse::<DeviceSpec>().unwrap_err();
            assert!(e.starts_with(&format!("unknown --device '{s}'")) && !e.contains('\n'), "{e}");
        }
    }
}
