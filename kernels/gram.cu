// Gram matrices for style losses: x [n, c, hw] -> G [n, c, c] = x x^T * scale,
// scale = 1/(c*hw), and its backward gx = (gG + gG^T) x * scale.
//
// The GEMM core of gemm.cuh, as conv.cu (256 threads per 64x64 tile, 4x4 micro tiles read
// as float4 from padded 16-byte-aligned shared rows, next K slice prefetched into registers).
// gram_fwd   C = A A^T per image, M = N = c, K = hw (long): split-K,
//            grid (ceil(c/64), ceil(c/64), n*splits); split z of image b covers K range
//            [z*k_chunk, (z+1)*k_chunk) and writes out[(z*n + b)*c*c ..] (already scaled);
//            reduce.cu:sum_splits adds the splits in a fixed order.
//            FLOPs 2*n*c*c*hw; bytes 4*(|x| + splits*|G|).
// gram_bwd   per image M = c, N = hw, K = c: A[i][k] = gG[k][i] + gG[i][k], B = x.
//            grid (ceil(hw/64), ceil(c/64), n). FLOPs 2*n*c*c*hw; bytes 4*(2|x| + |gG|).
#include "gemm.cuh"

extern "C" __global__ void gram_fwd(const float* __restrict__ x, float* __restrict__ out, int n, int c, int hw,
                                    int splits, int k_chunk, float scale) {
    __shared__ float4 a_tile[BK * LDS_ROW / 4];
    __shared__ float4 b_tile[BK * LDS_ROW / 4];
    float* As = reinterpret_cast<float*>(&a_tile[0]);
    float* Bs = reinterpret_cast<float*>(&b_tile[0]);
    const int b = blockIdx.z / splits, z = blockIdx.z % splits;
    const float* xb = x + b * c * hw;
    out += (z * n + b) * c * c;
    const int m0 = blockIdx.y * BM, n0 = blockIdx.x * BN;
    const int kbeg = z * k_chunk, kend = min(hw, kbeg + k_chunk);
    const int t = threadIdx.x, tx = t % 16, ty = t / 16;
    // Loaders: column kk (consecutive threads read along a row of x), rows r0 + 16i.
    const int kk = t % BK, r0 = t / BK;

    float ra[4], rb[4];
    auto load = [&](int k0) {
        const int k = k0 + kk;
        const bool k_ok = k < kend;
        for (int i = 0; i < 4; ++i) {
            const int rowa = m0 + r0 + 16 * i, rowb = n0 + r0 + 16 * i;
            ra[i] = (k_ok && rowa < c) ? xb[rowa * hw + k] : 0.0f;
            rb[i] = (k_ok && rowb < c) ? xb[rowb * hw + k] : 0.0f;
        }
    };

    auto store = [&] {
        for (int i = 0; i < 4; ++i) {
            As[kk * LDS_ROW + r0 + 16 * i] = ra[i];
            Bs[kk * LDS_ROW + r0 + 16 * i] = rb[i];
        }
    };
    float acc[4][4] = {};
    gemm_k_loop(acc, As, Bs, kbeg, kend, tx, ty, load, store);
    for (int i = 0; i < 4; ++i) {
        const int row = m0 + 4 * ty + i;
        if (row >= c) continue;
        for (int j = 0; j < 4; ++j) {
            const int col = n0 + 4 * tx + j;
            if (col < c) out[row * c + col] = acc[i][j] * scale;
        }
    }
}

extern "C" __global__ void gram_bwd(const float* __restrict__ x, const float* __restrict__ gg, float* __restrict__ gx,
                                    int c, int hw, float scale) {
    __shared__ float4 a_tile[BK * LDS_ROW / 4];
    __shared__ float4 b_tile[BK * LDS_ROW / 4];
    float* As = reinterpret_cast<float*>(&a_tile[0]);
    float* Bs = reinterpret_cast<float*>(&b_tile[0]);
    const int b = blockIdx.z;
    const float* xb = x + b * c * hw;
    const float* g = gg + b * c * c;
    gx += b * c * hw;
    const int m0 = blockIdx.y * BM, n0 = blockIdx.x * BN;
    const int t = threadIdx.x, tx = t % 16, ty = t / 16;
    // Loaders: column col = t % 64 (consecutive threads along rows of gG / x), rows r0 + 4i.
    const int col = t % 64, r0 = t / 64;
    const int row = m0 + col, j = n0 + col;

    float ra[4], rb[4];
    auto load = [&](int k0) {
        for (int i = 0; i < 4; ++i) {
            const int k = k0 + r0 + 4 * i;
            ra[i] = (k < c && row < c) ? g[k * c + row] + g[row * c + k] : 0.0f;
            rb[i] = (k < c && j < hw) ? xb[k * hw + j] : 0.0f;
        }
    };

    auto store = [&] {
        for (int i = 0; i < 4; ++i) {
            As[(r0 + 4 * i) * LDS_ROW + col] = ra[i];
            Bs[(r0 + 4 * i) * LDS_ROW + col] = rb[i];
        }
    };
    float acc[4][4] = {};
    gemm_k_loop(acc, As, Bs, 0, c, tx, ty, load, store);
    for (int i = 0; i < 4; ++i) {
        const int r = m0 + 4 * ty + i;
        if (r >= c) continue;
        for (int jj = 0; jj < 4; ++jj) {
            const int q = n0 + 4 * tx + jj;
            if (q < hw) gx[r * hw + q] = acc[i][jj] * scale;
        }
    }
}
