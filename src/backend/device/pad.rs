//! Reflection padding (kernels/pad.cu).

use super::launch::{grid_1d, launch, Args, BLOCK};
use super::{DevBuf, Runtime};
use crate::backend::{PadGeom, Storage};

fn dev<'a>(s: &'a Storage, op: &str) -> &'a DevBuf {
    match s {
        Storage::Device(b) => b,
        _ => panic!("{op}: device backend got a host storage"),
    }
}

pub fn reflection_pad(rt: &dyn Runtime, x: &Storage, g: &PadGeom) -> Storage {
    g.check();
    assert_eq!(x.len(), g.x_len(), "reflection_pad: x has {} elements, expected {}", x.len(), g.x_len());
    let y = rt.alloc(g.y_len());
    let args = Args::new()
        .buf(dev(x, "reflection_pad"))
        .buf(&y)
        .int(g.n * g.c)
        .int(g.h)
        .int(g.w)
        .int(g.top)
        .int(g.left)
        .int(g.oh())
        .int(g.ow());
    launch(rt, "pad", "reflect_pad_fwd", grid_1d(g.y_len()), BLOCK, args);
    Storage::Device(y)
}

pub fn reflection_pad_backward(rt: &dyn Runtime, gy: &Storage, g: &PadGeom) -> Storage {
    g.check();
    let op = "reflection_pad_backward";
    assert_eq!(gy.len(), g.y_len(), "{op}: gy has {} elements, expected {}", gy.len(), g.y_len());
    let gx = rt.alloc(g.x_len());
    let args = Args::new()
        .buf(dev(gy, op))
        .buf(&gx)
        .int(g.n * g.c)
        .int(g.h)
        .int(g.w)
        .int(g.top)
        .int(g.bottom)
        .int(g.left)
        .int(g.right);
    launch(rt, "pad", "reflect_pad_bwd", grid_1d(g.x_len()), BLOCK, args);
    Storage::Device(gx)
}
