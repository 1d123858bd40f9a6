// Gram matrices for style losses: x [n, c, hw] -> G [n, c, c] = x x^T * scale,
// scale = 1/(c*hw), and its backward gx = (gG + gG^T) x * scale.
//
// Same 64x64x16 shared-memory tiling as conv.cu (256 threads, strided 4x4 micro tiles,
// padded shared arrays).
// gram_fwd   C = A A^T per image, M = N = c, K = hw (long): split-K,
//            grid (ceil(c/64), ceil(c/64), n*splits); split z of image b covers K range
//            [z*k_chunk, (z+1)*k_chunk) and writes out[(z*n + b)*c*c ..] (already scaled);
//            reduce.cu:sum_splits adds the splits in a fixed order.
//            FLOPs 2*n*c*c*hw; bytes 4*(|x| + splits*|G|).
// gram_bwd   per image M = c, N = hw, K = c: A[i][k] = gG[k][i] + gG[i][k], B = x.
//            grid (ceil(hw/64), ceil(c/64), n). FLOPs 2*n*c*c*hw; bytes 4*(2|x| + |gG|).
#include "prelude.cuh"

#define BM 64
#define BN 64
#define BK 16

__device__ __forceinline__ void tile_fma(float acc[4][4], float (*As)[BM + 1], float (*Bs)[BN + 1], int tx, int ty) {
    for (int k = 0; k < BK; ++k) {
        float a[4], b[4];
        for (int i = 0; i < 4; ++i) a[i] = As[k][ty + 16 * i];
        for (int j = 0; j < 4; ++j) b[j] = Bs[k][tx + 16 * j];
        for (int i = 0; i < 4; ++i)
            for (int j = 0; j < 4; ++j) acc[i][j] = fmaf(a[i], b[j], acc[i][j]);
    }
}

extern "C" __global__ void gram_fwd(const float* __restrict__ x, float* __restrict__ out, int n, int c, int hw,
                                    int splits, int k_chunk, float scale) {
    __shared__ float As[BK][BM + 1];
    __shared__ float Bs[BK][BN + 1];
    const int b = blockIdx.z / splits, z = blockIdx.z % splits;
    const float* xb = x + b * c * hw;
    out += (z * n + b) * c * c;
    const int m0 = blockIdx.y * BM, n0 = blockIdx.x * BN;
    const int kbeg = z * k_chunk, kend = min(hw, kbeg + k_chunk);
    const int t = threadIdx.x, tx = t % 16, ty = t / 16;
    // Loaders: column kk (consecutive threads read along a row of x), rows r0 + 16i.
    const int kk = t % BK, r0 = t / BK;

    float acc[4][4] = {};
    for (int k0 = kbeg; k0 < kend; k0 += BK) {
        const int k = k0 + kk;
        const bool k_ok = k < kend;
        for (int i = 0; i < 4; ++i) {
            const int ra = m0 + r0 + 16 * i, rb = n0 + r0 + 16 * i;
            As[kk][r0 + 16 * i] = (k_ok && ra < c) ? xb[ra * hw + k] : 0.0f;
            Bs[kk][r0 + 16 * i] = (k_ok && rb < c) ? xb[rb * hw + k] : 0.0f;
        }
        __syncthreads();
        tile_fma(acc, As, Bs, tx, ty);
        __syncthreads();
    }
    for (int i = 0; i < 4; ++i) {
        const int row = m0 + ty + 16 * i;
        if (row >= c) continue;
        for (int j = 0; j < 4; ++j) {
            const int col = n0 + tx + 16 * j;
            if (col < c) out[row * c + col] = acc[i][j] * scale;
        }
    }
}

extern "C" __global__ void gram_bwd(const float* __restrict__ x, const float* __restrict__ gg, float* __restrict__ gx,
                                    int c, int hw, float scale) {
    __shared__ float As[BK][BM + 1];
    __shared__ float Bs[BK][BN + 1];
    const int b = blockIdx.z;
    const float* xb = x + b * c * hw;
    const float* g = gg + b * c * c;
    gx += b * c * hw;
    const int m0 = blockIdx.y * BM, n0 = blockIdx.x * BN;
    const int t = threadIdx.x, tx = t % 16, ty = t / 16;
    // Loaders: column t % 64 (consecutive threads along rows of gG / x), rows t/64 + 4i.
    const int col = t % 64, r0 = t / 64;

    float acc[4][4] = {};
    for (int k0 = 0; k0 < c; k0 += BK) {
        for (int i = 0; i < 4; ++i) {
            const int kr = r0 + 4 * i, k = k0 + kr;
            const int row = m0 + col, j = n0 + col;
            As[kr][col] = (k < c && row < c) ? g[k * c + row] + g[row * c + k] : 0.0f;
            Bs[kr][col] = (k < c && j < hw) ? xb[k * hw + j] : 0.0f;
        }
        __syncthreads();
        tile_fma(acc, As, Bs, tx, ty);
        __syncthreads();
    }
    for (int i = 0; i < 4; ++i) {
        const int row = m0 + ty + 16 * i;
        if (row >= c) continue;
        for (int j = 0; j < 4; ++j) {
            const int jj = n0 + tx + 16 * j;
            if (jj < hw) gx[row * hw + jj] = acc[i][j] * scale;
        }
    }
}
