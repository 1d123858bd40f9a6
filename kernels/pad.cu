// Reflection padding (PyTorch's ReflectionPad2d) over planes = n*c of x [h, w] ->
// y [oh = h + top + bottom, ow = w + left + right]; every pad is smaller than its axis.
//
// reflect_pad_fwd  1-D grid-stride over the outputs, block 256: y = x at the mirrored index
//                  (the edge row/column is not repeated). Reads 4*|y| B (cached), writes 4*|y| B.
// reflect_pad_bwd  1-D grid-stride over the inputs (every element of gx is written): gathers
//                  the up to 3 x 3 output positions that read it, in ascending output order,
//                  which is the CPU's scatter order, so the sums agree bit for bit. No atomics.
//                  Reads 4*|gy| B, writes 4*|gx| B.
#include "prelude.cuh"

__device__ __forceinline__ int reflect(int i, int s) {
    return i < 0 ? -i : (i > s - 1 ? 2 * (s - 1) - i : i);
}

extern "C" __global__ void reflect_pad_fwd(const float* __restrict__ x, float* __restrict__ y, int planes, int h,
                                           int w, int top, int left, int oh, int ow) {
    const int total = planes * oh * ow;
    GRID_STRIDE(i, total) {
        const int plane = i / (oh * ow), r = i - plane * oh * ow;
        const int oy = r / ow, ox = r - oy * ow;
        y[i] = x[(plane * h + reflect(oy - top, h)) * w + reflect(ox - left, w)];
    }
}

// The output coordinates along one axis that read input index i, ascending; returns the count.
__device__ __forceinline__ int sources(int i, int s, int before, int after, int* o) {
    int k = 0;
    if (i >= 1 && i <= before) o[k++] = before - i;
    o[k++] = before + i;
    if (i < s - 1 && s - 1 - i <= after) o[k++] = before + 2 * (s - 1) - i;
    return k;
}

extern "C" __global__ void reflect_pad_bwd(const float* __restrict__ gy, float* __restrict__ gx, int planes, int h,
                                           int w, int top, int bottom, int left, int right) {
    const int oh = h + top + bottom, ow = w + left + right, total = planes * h * w;
    GRID_STRIDE(i, total) {
        const int plane = i / (h * w), r = i - plane * h * w;
        const int iy = r / w, ix = r - iy * w;
        int ys[3], xs[3];
        const int ny = sources(iy, h, top, bottom, ys), nx = sources(ix, w, left, right, xs);
        const float* g = gy + plane * oh * ow;
        float acc = 0.0f;
        for (int a = 0; a < ny; a++)
            for (int b = 0; b < nx; b++) acc += g[ys[a] * ow + xs[b]];
        gx[i] = acc;
    }
}
