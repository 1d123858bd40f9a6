//! Matrix-multiply precision of the convolutions and Gram matrices (`--precision`,
//! `ENGINE_PRECISION`). Everything else (weights, optimiser state, norms, losses) is fp32.

use super::DeviceKind;
use std::fmt;
use std::str::FromStr;

/// `fp32`: IEEE fp32 FMA (the SIMT kernels, the CPU). `tf32`: operands rounded to TF32
/// (10-bit mantissa, round to nearest, ties away) on tensor cores, fp32 accumulation.
/// `bf16`: operands rounded to BF16 (7-bit mantissa, nearest even), fp32 accumulation.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Precision {
    Fp32,
    Tf32,
    Bf16,
}

impl Precision {
    pub fn name(self) -> &'static str {
        match self {
            Precision::Fp32 => "fp32",
            Precision::Tf32 => "tf32",
            Precision::Bf16 => "bf16",
        }
    }

    /// PyTorch's defaults: TF32 convolutions on a GPU; the CPU (and, unless asked, the
    /// emulator, whose CI parity tests compare with the CPU) computes in fp32.
    pub fn default_for(device: DeviceKind) -> Precision {
        if device.is_cuda() {
            Precision::Tf32
        } else {
            Precision::Fp32
        }
    }

    /// The precision asked for (flag, else `ENGINE_PRECISION`, else the device's default),
    /// checked against the device: the CPU backend computes in fp32 only.
    pub fn resolve(flag: Option<&str>, device: DeviceKind) -> Result<Precision, String> {
        let env = std::env::var("ENGINE_PRECISION").ok().filter(|s| !s.is_empty());
        let p = match flag.map(str::to_string).or(env) {
            Some(s) => s.parse()?,
            None => Precision::default_for(device),
        };
        if device == DeviceKind::Cpu && p != Precision::Fp32 {
            return Err(format!(
                "--precision {p} needs a device backend (cuda or emu); the cpu backend computes in fp32"
            ));
        }
        Ok(p)
    }

    /// Relative error of a GEMM result against an exact one, as the parity tests allow:
    /// fp32 ~1e-5; TF32 rounds operands to 2^-11 relative (sum of K terms: ~1e-3);
    /// BF16 to 2^-8 (~1e-2).
    pub fn tolerance(self) -> f64 {
        match self {
            Precision::Fp32 => 1e-4,
            Precision::Tf32 => 2e-3,
            Precision::Bf16 => 1.5e-2,
        }
    }
}

impl fmt::Display for Precision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Precision {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "fp32" => Ok(Precision::Fp32),
            "tf32" => Ok(Precision::Tf32),
            "bf16" => Ok(Precision::Bf16),
            other => Err(format!("unknown precision '{other}': expected fp32, tf32 or bf16")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_defaults_and_cpu_check() {
        assert_eq!("bf16".parse::<Precision>(), Ok(Precision::Bf16));
        assert!("fp16".parse::<Precision>().unwrap_err().contains("expected fp32, tf32 or bf16"));
        assert_eq!(Precision::default_for(DeviceKind::Cuda(1)), Precision::Tf32);
        assert_eq!(Precision::default_for(DeviceKind::Emu), Precision::Fp32);
        assert_eq!(Precision::resolve(Some("tf32"), DeviceKind::Emu), Ok(Precision::Tf32));
        assert!(Precision::resolve(Some("bf16"), DeviceKind::Cpu)
            .unwrap_err()
            .contains("cpu backend computes in fp32"));
    }
}
