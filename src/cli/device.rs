//! `--device auto|cpu|cuda|cuda:N|emu` (also `ENGINE_DEVICE`, parsed by clap into a
//! `DeviceSpec`) resolved once per command, and opened as the `Device` tensors use, with
//! `--precision fp32|tf32|bf16` (also `ENGINE_PRECISION`; default tf32 on cuda, else fp32).

use crate::backend::device::select::{self, open_runtime};
use crate::backend::device::DeviceBackend;
use crate::backend::precision::Precision;
use crate::backend::{DeviceKind, DeviceSpec};
use crate::tensor::Device;
use anyhow::{anyhow, Result};
use std::rc::Rc;

/// The device `spec` names; for `auto`, says on stderr which one it chose and why.
pub fn resolve(spec: DeviceSpec) -> DeviceKind {
    let (kind, note) = select::resolve(spec);
    if let Some(note) = note {
        eprintln!("device: {note}");
    }
    kind
}

/// The precision `flag` (or ENGINE_PRECISION) asks for on `kind`; said on stderr on a GPU or
/// when not fp32 (the CPU and the emulator's default stay quiet, so errors stay one line).
pub fn precision(flag: Option<&str>, kind: DeviceKind) -> Result<Precision> {
    let p = Precision::resolve(flag, kind).map_err(|e| anyhow!(e))?;
    if kind.is_cuda() || p != Precision::Fp32 {
        eprintln!("precision: {p} (convolutions on {kind})");
    }
    Ok(p)
}

pub fn open(spec: DeviceSpec, flag: Option<&str>) -> Result<Device> {
    let kind = resolve(spec);
    let p = precision(flag, kind)?;
    Ok(match open_runtime(kind)? {
        Some(rt) => Device::new(Rc::new(DeviceBackend::new(rt).with_precision(p))),
        None => Device::cpu(),
    })
}
