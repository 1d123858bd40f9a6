//! `--device auto|cpu|cuda|cuda:N|emu` (also `ENGINE_DEVICE`) and `--precision fp32|tf32|bf16`
//! (also `ENGINE_PRECISION`; default tf32 on cuda, fp32 elsewhere) as the `Device` tensors use.

use crate::backend::device::{select::open_runtime, DeviceBackend};
use crate::backend::precision::Precision;
use crate::tensor::Device;
use anyhow::{anyhow, Result};
use std::rc::Rc;

pub fn open(spec: &str, precision: Option<&str>) -> Result<Device> {
    let device = match open_runtime(spec)? {
        Some(rt) => {
            let p = Precision::resolve(precision, &rt.name()).map_err(|e| anyhow!(e))?;
            Device::new(Rc::new(DeviceBackend::new(rt).with_precision(p)))
        }
        None => {
            Precision::resolve(precision, "cpu").map_err(|e| anyhow!(e))?;
            Device::cpu()
        }
    };
    eprintln!("precision: {} (convolutions and Gram matrices on {})", device.precision(), device.name());
    Ok(device)
}
