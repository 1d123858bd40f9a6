// Reductions. Every reduction is deterministic: partial results go to a workspace in a
// fixed layout and are combined in a fixed order by a second kernel (no float atomics),
// so the same input gives bit-identical output on every run.
//
// sum_partial      grid G (G depends only on n), block 256: partials[b] = sum of a grid-stride
//                  slice. Reads 4n B.
// sum_finish       grid 1, block 256: out[0] = scale * sum(partials[0..count)). Also used by
//                  the losses (loss.cu) to finish their mean.
// seg_partial      grid (stats, splits), block 256: per-channel partial sums of x [reps, stats, hw]
//                  (bias gradients): ws[z*stats + s] = sum over split z of channel s. Reads 4n B.
// sum_splits       1-D grid-stride, block 256: out[i] = scale * sum_z ws[z*len + i] (fixed z order).
//                  Combines split-K partials of conv weight gradients, gram and seg_partial.
//                  Reads 4*splits*len B, writes 4*len B.
// add_channel_bias grid (n*c rows, chunks of hw), block 256: y[r, c, j] = x[r, c, j] + bias[c]. Reads 4n B, writes 4n B.
#include "prelude.cuh"

extern "C" __global__ void sum_partial(const float* __restrict__ x, int n, float* __restrict__ partials) {
    __shared__ float scratch[32];
    float acc = 0.0f;
    GRID_STRIDE(i, n) acc += x[i];
    acc = block_sum(acc, scratch);
    if (threadIdx.x == 0) partials[blockIdx.x] = acc;
}

extern "C" __global__ void sum_finish(const float* __restrict__ partials, int count, float scale, float* __restrict__ out) {
    __shared__ float scratch[32];
    float acc = 0.0f;
    for (int i = threadIdx.x; i < count; i += blockDim.x) acc += partials[i];
    acc = block_sum(acc, scratch);
    if (threadIdx.x == 0) out[0] = acc * scale;
}

// x is [reps, stats, hw]; block (s, z) sums elements e in split z of the count = reps*hw
// elements of channel s (element e is at (e / hw) * stats * hw + s * hw + e % hw).
extern "C" __global__ void seg_partial(const float* __restrict__ x, int stats, int hw, int reps, int chunk, float* __restrict__ ws) {
    __shared__ float scratch[32];
    const int s = blockIdx.x, z = blockIdx.y;
    const int count = reps * hw;
    const int e0 = z * chunk, e1 = min(count, e0 + chunk);
    float acc = 0.0f;
    // (row, column) of element e, updated incrementally: a division only when crossing a row.
    int e = e0 + threadIdx.x, r = e / hw, j = e - r * hw;
    for (; e < e1; e += blockDim.x) {
        acc += x[(r * stats + s) * hw + j];
        j += blockDim.x;
        if (j >= hw) {
            r += j / hw;
            j %= hw;
        }
    }
    acc = block_sum(acc, scratch);
    if (threadIdx.x == 0) ws[z * stats + s] = acc;
}

extern "C" __global__ void sum_splits(const float* __restrict__ ws, int splits, int len, float scale, float* __restrict__ out) {
    GRID_STRIDE(i, len) {
        float acc = 0.0f;
        for (int z = 0; z < splits; ++z) acc += ws[z * len + i];
        out[i] = acc * scale;
    }
}

// blockIdx.x = row (ni, ch) of x [n*c, hw]; blockIdx.y strides over hw.
extern "C" __global__ void add_channel_bias(const float* __restrict__ x, const float* __restrict__ bias, float* __restrict__ y, int c, int hw) {
    const float b = bias[blockIdx.x % c];
    const int off = blockIdx.x * hw;
    for (int j = blockIdx.y * blockDim.x + threadIdx.x; j < hw; j += blockDim.x * gridDim.y) y[off + j] = x[off + j] + b;
}
