//! TODO
use super::{DeviceError, Runtime};
use std::sync::Arc;
pub fn cuda_runtime(_ordinal: usize) -> Result<Arc<dyn Runtime>, DeviceError> { Err(DeviceError("todo".into())) }
