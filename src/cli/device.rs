//! `--device auto|cpu|cuda|cuda:N|emu` (also `ENGINE_DEVICE`).

use crate::tensor::Device;
use anyhow::{bail, Result};

/// Opens the device named by `spec`; `auto` says which it picked and why on stderr.
pub fn open(spec: &str) -> Result<Device> {
    match spec {
        "cpu" => Ok(Device::cpu()),
        "auto" => {
            eprintln!("device: cpu (auto: the CUDA backend is not built into this version)");
            Ok(Device::cpu())
        }
        other => bail!("unknown --device '{other}': expected auto, cpu, cuda, cuda:N or emu"),
    }
}
