//! `--device auto|cpu|cuda|cuda:N|emu` (also `ENGINE_DEVICE`) as the `Device` tensors use.

use crate::backend::device::{select::open_runtime, DeviceBackend};
use crate::tensor::Device;
use anyhow::Result;
use std::rc::Rc;

pub fn open(spec: &str) -> Result<Device> {
    Ok(match open_runtime(spec)? {
        Some(rt) => Device::new(Rc::new(DeviceBackend::new(rt))),
        None => Device::cpu(),
    })
}
