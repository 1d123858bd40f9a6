// 2x2 pooling with stride 2 over x [planes = n*c, h, w] -> y [planes, h/2, w/2]; an odd
// trailing row/column is dropped (PyTorch floor mode).
//
// pool2_fwd  1-D grid-stride over the outputs, block 256. op POOL_MAX or POOL_AVG.
//            Reads 4*|x| B (the used part), writes 4*|y| B; 3 FLOPs per output.
// pool2_bwd  1-D grid-stride over the inputs (every element of gx is written, dropped
//            rows/columns get 0). Max: the gradient goes to the first maximum of the window
//            in row-major order. Reads 4*(|gy| + 4|x| (cached)) B, writes 4*|x| B.
#include "prelude.cuh"

extern "C" __global__ void pool2_fwd(const float* __restrict__ x, float* __restrict__ y, int planes, int h, int w, int op) {
    const int oh = h / 2, ow = w / 2, total = planes * oh * ow;
    GRID_STRIDE(i, total) {
        const int plane = i / (oh * ow), r = i - plane * oh * ow;
        const int oy = r / ow, ox = r - oy * ow;
        const float* p = x + (plane * h + 2 * oy) * w + 2 * ox;
        const float a = p[0], b = p[1], c = p[w], d = p[w + 1];
        y[i] = op == POOL_MAX ? fmaxf(fmaxf(a, b), fmaxf(c, d)) : (a + b + c + d) * 0.25f;
    }
}

extern "C" __global__ void pool2_bwd(const float* __restrict__ x, const float* __restrict__ gy, float* __restrict__ gx,
                                     int planes, int h, int w, int op) {
    const int oh = h / 2, ow = w / 2, total = planes * h * w;
    GRID_STRIDE(i, total) {
        const int plane = i / (h * w), r = i - plane * h * w;
        const int iy = r / w, ix = r - iy * w;
        const int oy = iy / 2, ox = ix / 2;
        float g = 0.0f;
        if (oy < oh && ox < ow) {
            const float up = gy[(plane * oh + oy) * ow + ox];
            if (op == POOL_AVG) {
                g = up * 0.25f;
            } else {
                const float* p = x + (plane * h + 2 * oy) * w + 2 * ox;
                // First maximum in row-major order wins.
                int best = 0;
                float bv = p[0];
                if (p[1] > bv) { best = 1; bv = p[1]; }
                if (p[w] > bv) { best = 2; bv = p[w]; }
                if (p[w + 1] > bv) { best = 3; }
                const int me = (iy - 2 * oy) * 2 + (ix - 2 * ox);
                g = me == best ? up : 0.0f;
            }
        }
        gx[i] = g;
    }
}
