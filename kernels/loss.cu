// Mean losses and total variation. Forward kernels write one partial sum per block; the
// backend finishes the mean with reduce.cu:sum_finish (scale 1/n), so results are
// deterministic. Backward kernels read the upstream one-element gradient gl[0] on the
// device (no host synchronisation).
//
// loss_partial  grid G (depends only on n), block 256; op LOSS_L1 |a-b|, LOSS_MSE (a-b)^2,
//               LOSS_BCE with logits max(a,0) - a*b + log(1 + exp(-|a|)).
//               Reads 8n B; ~3 FLOPs per element (BCE: + exp, log1p).
// loss_bwd      1-D grid-stride: ga = gl[0]/n * {sign(a-b), 2(a-b), sigmoid(a) - b}.
//               Reads 8n B, writes 4n B.
// tv_partial    grid G, block 256 over x [planes, h, w]: sum of squared differences with the
//               right and lower neighbour. Reads 4n B (neighbours cached); 6 FLOPs per element.
// tv_bwd        1-D grid-stride: gx = gl[0]*2/N * (2-4 neighbour differences). Reads 4n B, writes 4n B.
#include "prelude.cuh"

extern "C" __global__ void loss_partial(const float* __restrict__ a, const float* __restrict__ b, int n, int op,
                                        float* __restrict__ partials) {
    __shared__ float scratch[32];
    float acc = 0.0f;
    GRID_STRIDE(i, n) {
        const float x = a[i], z = b[i];
        float v;
        if (op == LOSS_L1) {
            v = fabsf(x - z);
        } else if (op == LOSS_MSE) {
            const float d = x - z;
            v = d * d;
        } else {
            v = fmaxf(x, 0.0f) - x * z + log1pf(expf(-fabsf(x)));
        }
        acc += v;
    }
    acc = block_sum(acc, scratch);
    if (threadIdx.x == 0) partials[blockIdx.x] = acc;
}

extern "C" __global__ void loss_bwd(const float* __restrict__ a, const float* __restrict__ b, const float* __restrict__ gl,
                                    float* __restrict__ ga, int n, int op, float inv_n) {
    const float g = gl[0] * inv_n;
    GRID_STRIDE(i, n) {
        const float x = a[i], z = b[i];
        float r;
        if (op == LOSS_L1) {
            const float d = x - z;
            r = d > 0.0f ? g : (d < 0.0f ? -g : 0.0f);
        } else if (op == LOSS_MSE) {
            r = 2.0f * (x - z) * g;
        } else {
            r = (1.0f / (1.0f + expf(-x)) - z) * g;
        }
        ga[i] = r;
    }
}

extern "C" __global__ void tv_partial(const float* __restrict__ x, int planes, int h, int w, float* __restrict__ partials) {
    __shared__ float scratch[32];
    const int total = planes * h * w, hw = h * w;
    float acc = 0.0f;
    GRID_STRIDE(i, total) {
        const int r = i % hw, iy = r / w, ix = r - iy * w;
        const float v = x[i];
        if (iy + 1 < h) {
            const float d = x[i + w] - v;
            acc += d * d;
        }
        if (ix + 1 < w) {
            const float d = x[i + 1] - v;
            acc += d * d;
        }
    }
    acc = block_sum(acc, scratch);
    if (threadIdx.x == 0) partials[blockIdx.x] = acc;
}

// scale = 2/N, N = planes*h*w.
extern "C" __global__ void tv_bwd(const float* __restrict__ x, const float* __restrict__ gl, float* __restrict__ gx,
                                  int planes, int h, int w, float scale) {
    const int total = planes * h * w, hw = h * w;
    const float g = gl[0] * scale;
    GRID_STRIDE(i, total) {
        const int r = i % hw, iy = r / w, ix = r - iy * w;
        const float v = x[i];
        float acc = 0.0f;
        if (iy > 0) acc += v - x[i - w];
        if (iy + 1 < h) acc -= x[i + w] - v;
        if (ix > 0) acc += v - x[i - 1];
        if (ix + 1 < w) acc -= x[i + 1] - v;
        gx[i] = g * acc;
    }
}
