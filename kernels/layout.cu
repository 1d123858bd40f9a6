// Channel copies between NCHW tensors (concatenation and slicing).
//
// copy_channels  1-D grid-stride over n*count*hw elements, block 256:
//                dst[ni, dst_c0 + k, j] = src[ni, src_c0 + k, j] for k < count.
//                Reads and writes 4*n*count*hw B.
#include "prelude.cuh"

extern "C" __global__ void copy_channels(const float* __restrict__ src, int src_c, int src_c0,
                                         float* __restrict__ dst, int dst_c, int dst_c0, int count, int n, int hw) {
    const int plane = count * hw, total = n * plane;
    GRID_STRIDE(i, total) {
        const int ni = i / plane, r = i - ni * plane;
        const int k = r / hw, j = r - k * hw;
        dst[(ni * dst_c + dst_c0 + k) * hw + j] = src[(ni * src_c + src_c0 + k) * hw + j];
    }
}
