//! `--device auto|cpu|cuda|cuda:N|emu` (also `ENGINE_DEVICE`).

use crate::backend::device::{cuda_runtime, emu_runtime, probe, DeviceBackend};
use crate::tensor::Device;
use anyhow::{anyhow, bail, Result};
use std::rc::Rc;

fn cuda(ordinal: usize) -> Result<Device> {
    let rt = cuda_runtime(ordinal).map_err(|e| anyhow!("cannot open cuda:{ordinal}: {e}"))?;
    Ok(Device::new(Rc::new(DeviceBackend::new(rt))))
}

/// Opens the device named by `spec`; `auto` says which it picked and why on stderr.
pub fn open(spec: &str) -> Result<Device> {
    match spec {
        "cpu" => Ok(Device::cpu()),
        "emu" => Ok(Device::new(Rc::new(DeviceBackend::new(emu_runtime())))),
        "cuda" => cuda(0),
        "auto" => match probe::gpus() {
            Ok(gpus) if !gpus.is_empty() => {
                eprintln!("device: cuda:0 ({}; auto)", gpus[0].name);
                cuda(0)
            }
            Ok(_) => {
                eprintln!("device: cpu (auto: no GPU found)");
                Ok(Device::cpu())
            }
            Err(why) => {
                eprintln!("device: cpu (auto: {why})");
                Ok(Device::cpu())
            }
        },
        other => match other.strip_prefix("cuda:").map(str::parse::<usize>) {
            Some(Ok(n)) => cuda(n),
            _ => bail!("unknown --device '{other}': expected auto, cpu, cuda, cuda:N or emu"),
        },
    }
}
