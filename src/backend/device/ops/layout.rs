//! Channel copies: concat and slice along C (kernels/layout.cu).

use super::{dev, expect_len};
use crate::backend::device::launch::{grid_1d, Args};
use crate::backend::device::DeviceBackend;
use crate::backend::Storage;

pub fn copy_channels(
    d: &DeviceBackend,
    src: &Storage,
    src_c: usize,
    src_c0: usize,
    dst: &mut Storage,
    dst_c: usize,
    dst_c0: usize,
    count: usize,
    n: usize,
    hw: usize,
) {
    expect_len("copy_channels", "src", src, n * src_c * hw);
    expect_len("copy_channels", "dst", dst, n * dst_c * hw);
    assert!(
        src_c0 + count <= src_c && dst_c0 + count <= dst_c,
        "copy_channels: channels {src_c0}+{count} of {src_c} into {dst_c0}+{count} of {dst_c}"
    );
    let args = Args::new()
        .buf(dev(src))
        .int(src_c)
        .int(src_c0)
        .buf(dev(dst))
        .int(dst_c)
        .int(dst_c0)
        .int(count)
        .int(n)
        .int(hw);
    d.run("layout", "copy_channels", grid_1d(n * count * hw), args);
}
