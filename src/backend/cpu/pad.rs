//! Reflection padding (PyTorch's ReflectionPad2d), forward and backward.

use super::float::{for_rows_mut, same_len, zeroed, Elem};
use crate::backend::PadGeom;

/// Mirror index: -1 -> 1, s -> s - 2 (the edge is not repeated). Needs |overhang| < s.
fn reflect(i: isize, s: usize) -> usize {
    let last = s as isize - 1;
    let r = if i < 0 {
        -i
    } else if i > last {
        2 * last - i
    } else {
        i
    };
    r as usize
}

/// x [n, c, h, w] -> y [n, c, oh, ow].
pub fn reflection_pad<T: Elem>(x: &[T], g: &PadGeom) -> Vec<T> {
    g.check();
    same_len("reflection_pad", "x", x.len(), "n*c*h*w", g.x_len());
    let (h, w, oh, ow) = (g.h, g.w, g.oh(), g.ow());
    let mut y = zeroed(g.y_len());
    for_rows_mut(&mut y, oh * ow, |p, out| {
        let plane = &x[p * h * w..(p + 1) * h * w];
        for oy in 0..oh {
            let row = &plane[reflect(oy as isize - g.top as isize, h) * w..];
            for ox in 0..ow {
                out[oy * ow + ox] = row[reflect(ox as isize - g.left as isize, w)];
            }
        }
    });
    y
}

/// Scatter-add of gy [n, c, oh, ow] onto the positions each output read, in ascending
/// output order (the device kernel gathers in the same order, so the sums agree bit for bit).
pub fn reflection_pad_backward<T: Elem>(gy: &[T], g: &PadGeom) -> Vec<T> {
    g.check();
    same_len("reflection_pad_backward", "gy", gy.len(), "n*c*oh*ow", g.y_len());
    let (h, w, oh, ow) = (g.h, g.w, g.oh(), g.ow());
    let mut gx = zeroed(g.x_len());
    for_rows_mut(&mut gx, h * w, |p, out| {
        let plane = &gy[p * oh * ow..(p + 1) * oh * ow];
        for oy in 0..oh {
            let iy = reflect(oy as isize - g.top as isize, h);
            for ox in 0..ow {
                let ix = reflect(ox as isize - g.left as isize, w);
                let i = iy * w + ix;
                out[i] = out[i] + plane[oy * ow + ox];
            }
        }
    });
    gx
}
