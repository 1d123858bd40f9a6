//! Reflection padding (kernels/pad.cu).

use super::dev;
use crate::backend::device::launch::{grid_1d, Args};
use crate::backend::device::DeviceBackend;
use crate::backend::{PadGeom, Storage};

pub fn reflection_pad(d: &DeviceBackend, x: &Storage, g: &PadGeom) -> Storage {
    g.check();
    assert_eq!(x.len(), g.x_len(), "reflection_pad: x has {} elements, expected {}", x.len(), g.x_len());
    let y = d.alloc(g.y_len());
    let args = Args::new()
        .buf(dev(x))
        .buf(&y)
        .int(g.n * g.c)
        .int(g.h)
        .int(g.w)
        .int(g.top)
        .int(g.left)
        .int(g.oh())
        .int(g.ow());
    d.run("pad", "reflect_pad_fwd", grid_1d(g.y_len()), args);
    Storage::Device(y)
}

pub fn reflection_pad_backward(d: &DeviceBackend, gy: &Storage, g: &PadGeom) -> Storage {
    g.check();
    let op = "reflection_pad_backward";
    assert_eq!(gy.len(), g.y_len(), "{op}: gy has {} elements, expected {}", gy.len(), g.y_len());
    let gx = d.alloc(g.x_len());
    let args = Args::new()
        .buf(dev(gy))
        .buf(&gx)
        .int(g.n * g.c)
        .int(g.h)
        .int(g.w)
        .int(g.top)
        .int(g.bottom)
        .int(g.left)
        .int(g.right);
    d.run("pad", "reflect_pad_bwd", grid_1d(g.x_len()), args);
    Storage::Device(gx)
}
