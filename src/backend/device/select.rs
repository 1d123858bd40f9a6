//! A `DeviceSpec` resolved to a `DeviceKind` (`auto` probes for a GPU, never panicking) and a
//! kind opened as a runtime. Nothing is printed here: `resolve` says why `auto` chose what
//! it chose, and the caller (the CLI) shows it.

use super::{cuda_runtime, emu_runtime, probe, Runtime};
use crate::backend::{DeviceKind, DeviceSpec};
use anyhow::{anyhow, Result};
use std::sync::Arc;

/// The device `spec` names, and for `auto` one line saying which device it chose and why.
pub fn resolve(spec: DeviceSpec) -> (DeviceKind, Option<String>) {
    match spec {
        DeviceSpec::Exact(kind) => (kind, None),
        DeviceSpec::Auto => match probe::gpus() {
            Ok(gpus) if !gpus.is_empty() => {
                (DeviceKind::Cuda(0), Some(format!("cuda:0 ({}; auto)", gpus[0].name)))
            }
            Ok(_) => (DeviceKind::Cpu, Some("cpu (auto: no GPU found)".into())),
            Err(why) => (DeviceKind::Cpu, Some(format!("cpu (auto: {why})"))),
        },
    }
}

/// The runtime of `kind`; `None` means the CPU backend.
pub fn open_runtime(kind: DeviceKind) -> Result<Option<Arc<dyn Runtime>>> {
    match kind {
        DeviceKind::Cpu => Ok(None),
        DeviceKind::Emu => Ok(Some(emu_runtime())),
        DeviceKind::Cuda(n) => cuda_runtime(n).map(Some).map_err(|e| anyhow!("cannot open cuda:{n}: {e}")),
    }
}
