//! `Device`: a shared handle to one backend. Tensors carry it; ops dispatch through it.

use crate::backend::cpu::CpuBackend;
use crate::backend::{Backend, DeviceKind};
use std::ops::Deref;
use std::rc::Rc;

#[derive(Clone)]
pub struct Device(Rc<dyn Backend>);

impl Device {
    pub fn new(backend: Rc<dyn Backend>) -> Device {
        Device(backend)
    }
    pub fn cpu() -> Device {
        Device(Rc::new(CpuBackend))
    }
    pub fn same(&self, other: &Device) -> bool {
        Rc::ptr_eq(&self.0, &other.0) || self.kind() == other.kind()
    }
    pub fn is_cpu(&self) -> bool {
        self.kind() == DeviceKind::Cpu
    }
}

impl Deref for Device {
    type Target = dyn Backend;
    fn deref(&self) -> &Self::Target {
        &*self.0
    }
}

impl std::fmt::Debug for Device {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0.name())
    }
}
