//! `--device auto|cpu|cuda|cuda:N|emu` (also `ENGINE_DEVICE`, parsed by clap into a
//! `DeviceSpec`) resolved once per command, and opened as the `Device` tensors use.

use crate::backend::device::select::{self, open_runtime};
use crate::backend::device::DeviceBackend;
use crate::backend::{DeviceKind, DeviceSpec};
use crate::tensor::Device;
use anyhow::Result;
use std::rc::Rc;

/// The device `spec` names; for `auto`, says on stderr which one it chose and why.
pub fn resolve(spec: DeviceSpec) -> DeviceKind {
    let (kind, note) = select::resolve(spec);
    if let Some(note) = note {
        eprintln!("device: {note}");
    }
    kind
}

pub fn open(spec: DeviceSpec) -> Result<Device> {
    Ok(match open_runtime(resolve(spec))? {
        Some(rt) => Device::new(Rc::new(DeviceBackend::new(rt))),
        None => Device::cpu(),
    })
}
