//! Channel copies: concatenation and slicing along the channel axis.

use super::float::same_len;

/// Copies channels [src_c0, src_c0 + count) of src [n, src_c, hw] into channels
/// [dst_c0, dst_c0 + count) of dst [n, dst_c, hw].
#[allow(clippy::too_many_arguments)]
pub fn copy_channels<T: Copy>(
    src: &[T],
    src_c: usize,
    src_c0: usize,
    dst: &mut [T],
    dst_c: usize,
    dst_c0: usize,
    count: usize,
    n: usize,
    hw: usize,
) {
    let op = "copy_channels";
    same_len(op, "src", src.len(), "n*src_c*hw", n * src_c * hw);
    same_len(op, "dst", dst.len(), "n*dst_c*hw", n * dst_c * hw);
    assert!(
        src_c0 + count <= src_c,
        "{op}: source channels {src_c0}..{} out of range 0..{src_c}",
        src_c0 + count
    );
    assert!(
        dst_c0 + count <= dst_c,
        "{op}: destination channels {dst_c0}..{} out of range 0..{dst_c}",
        dst_c0 + count
    );
    // Per image the block is contiguous in both tensors.
    let block = count * hw;
    for i in 0..n {
        let s = (i * src_c + src_c0) * hw;
        let d = (i * dst_c + dst_c0) * hw;
        dst[d..d + block].copy_from_slice(&src[s..s + block]);
    }
}
