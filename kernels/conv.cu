// 2-D convolution (NCHW input, OIHW weight) forward and backward as implicit GEMMs:
// the im2col matrix is never materialised, each block gathers its tiles of it straight
// from the input into shared memory.
//
// Tiling (all three kernels): the GEMM core of gemm.cuh, 256 threads per 64x64 output tile,
// K in slices of 16 through shared memory, 4x4 micro tiles per thread, the next K slice
// prefetched into registers; each kernel has its own loaders and epilogue.
//
// conv2d_fwd        C[co][p] = y,  M = c_out, N = n*oh*ow, K = c_in*kh*kw.
//                   grid (ceil(N/64), ceil(M/64), splits), block 256. Split-K (as for the
//                   weight gradient below) when few output tiles meet a long K (the innermost
//                   U-Net layers: N = 1..4, K = 8192).
//                   FLOPs 2*M*N*K; compulsory bytes 4*(|x| + |w| + |y|).
// conv2d_bwd_input  gx = conv^T(gy, w), split into stride^2 phases (output pixels with the
//                   same (iy + pad) % stride): within a phase only the kernel taps
//                   ky = (iy + pad) % stride + stride*j contribute, so no work is spent on
//                   the zeros of the dilated gradient. Per phase: M = c_in,
//                   N = n*ceil(h/s)*ceil(w/s), K = c_out*ceil(kh/s)*ceil(kw/s), ordered
//                   (tap, c_out) so that only c_out and the taps per row are divisors.
//                   grid (ceil(N/64), ceil(M/64), splits*stride^2), block 256; split-K as
//                   for the forward pass, chunked by the largest phase K.
//                   FLOPs 2*n*h*w*c_in*c_out*kh*kw/s^2; bytes 4*(|gy| + |w| + |gx|).
//                   Also the forward pass of conv_transpose2d.
// conv2d_bwd_weight gw[co][(ci,ky,kx)], M = c_out, N = c_in*kh*kw, K = n*oh*ow, split-K:
//                   grid (ceil(N/64), ceil(M/64), splits); split z covers K range
//                   [z*k_chunk, (z+1)*k_chunk) and writes out[z*M*N ..]; the splits are summed
//                   in a fixed order by reduce.cu:sum_splits (deterministic, no atomics).
//                   FLOPs 2*M*N*K; bytes 4*(|x| + |gy| + splits*|gw|).
//
// No division by a run-time value inside the K loops: index decompositions use magic
// multipliers computed on the host (q = (umulhi(n, m) + n) >> s, exact for n < 2^31), passed
// after k_chunk in the same order as for kernels/conv_tc.cu.
#include "gemm.cuh"

__device__ __forceinline__ int fdiv(int n, unsigned m, unsigned s) {
    return (int)((__umulhi((unsigned)n, m) + (unsigned)n) >> s);
}

// Shared tiles are declared as float4 arrays so both NVRTC and the emulator align them to
// 16 bytes; kernels index them as floats.

extern "C" __global__ void conv2d_fwd(const float* __restrict__ x, const float* __restrict__ w, float* __restrict__ y,
                                      int n, int c_in, int h, int wd, int c_out, int kh, int kw,
                                      int stride, int pad, int oh, int ow, int k_chunk, unsigned m_khw, unsigned s_khw, unsigned m_kw, unsigned s_kw, unsigned m_ohw, unsigned s_ohw, unsigned m_ow, unsigned s_ow) {
    __shared__ float4 a_tile[BK * LDS_ROW / 4];
    __shared__ float4 b_tile[BK * LDS_ROW / 4];
    float* As = reinterpret_cast<float*>(&a_tile[0]);
    float* Bs = reinterpret_cast<float*>(&b_tile[0]);
    const int M = c_out, N = n * oh * ow, K = c_in * kh * kw;
    const int ohw = oh * ow, khw = kh * kw;
    const int m0 = blockIdx.y * BM, p0 = blockIdx.x * BN;
    // Split z covers K range [kbeg, kend) and writes its own copy of y (summed later).
    const int kbeg = blockIdx.z * k_chunk, kend = min(K, kbeg + k_chunk);
    y += blockIdx.z * M * N;
    const int t = threadIdx.x, tx = t % 16, ty = t / 16;

    // B loader: this thread gathers column bn (one output pixel) for rows bk0 + 4i.
    const int bn = t % BN, bk0 = t / BN;
    const int p = p0 + bn;
    const bool p_ok = p < N;
    int ni = 0, oy = 0, ox = 0;
    if (p_ok) {
        ni = fdiv(p, m_ohw, s_ohw);
        const int r = p - ni * ohw;
        oy = fdiv(r, m_ow, s_ow);
        ox = r - oy * ow;
    }
    const float* xb = x + ni * c_in * h * wd;
    const int iy0 = oy * stride - pad, ix0 = ox * stride - pad;
    // A loader: rows am0 + 16i of the weight, column ak (consecutive threads read along K).
    const int ak = t % BK, am0 = t / BK;

    float ra[4], rb[4];
    auto load = [&](int k0) {
        for (int i = 0; i < 4; ++i) {
            const int m = m0 + am0 + 16 * i, k = k0 + ak;
            ra[i] = (m < M && k < kend) ? w[m * K + k] : 0.0f;
        }
        for (int i = 0; i < 4; ++i) {
            const int k = k0 + bk0 + 4 * i;
            float v = 0.0f;
            if (p_ok && k < kend) {
                const int ci = fdiv(k, m_khw, s_khw), r = k - ci * khw;
                const int ky = fdiv(r, m_kw, s_kw), kx = r - ky * kw;
                const int iy = iy0 + ky, ix = ix0 + kx;
                if (iy >= 0 && iy < h && ix >= 0 && ix < wd) v = xb[(ci * h + iy) * wd + ix];
            }
            rb[i] = v;
        }
    };

    auto store = [&] {
        for (int i = 0; i < 4; ++i) As[ak * LDS_ROW + am0 + 16 * i] = ra[i];
        for (int i = 0; i < 4; ++i) Bs[(bk0 + 4 * i) * LDS_ROW + bn] = rb[i];
    };
    float acc[4][4] = {};
    gemm_k_loop(acc, As, Bs, kbeg, kend, tx, ty, load, store);
    for (int j = 0; j < 4; ++j) {
        const int pp = p0 + 4 * tx + j;
        if (pp >= N) continue;
        const int nn = fdiv(pp, m_ohw, s_ohw), pix = pp - nn * ohw;
        for (int i = 0; i < 4; ++i) {
            const int m = m0 + 4 * ty + i;
            if (m < M) y[(nn * c_out + m) * ohw + pix] = acc[i][j];
        }
    }
}

extern "C" __global__ void conv2d_bwd_input(const float* __restrict__ gy, const float* __restrict__ w, float* __restrict__ gx,
                                            int n, int c_in, int h, int wd, int c_out, int kh, int kw,
                                            int stride, int pad, int oh, int ow, int k_chunk, unsigned m_co, unsigned s_co, unsigned m_nkx_hi, unsigned s_nkx_hi, unsigned m_nkx_lo, unsigned s_nkx_lo) {
    __shared__ float4 a_tile[BK * LDS_ROW / 4];
    __shared__ float4 b_tile[BK * LDS_ROW / 4];
    float* As = reinterpret_cast<float*>(&a_tile[0]);
    float* Bs = reinterpret_cast<float*>(&b_tile[0]);
    // blockIdx.z = split * stride^2 + phase. Split z covers K range [kbeg, kend) of its
    // phase and writes its own copy of gx (summed later; a split past a phase's K writes 0).
    const int phase = blockIdx.z % (stride * stride), split = blockIdx.z / (stride * stride);
    gx += split * n * c_in * h * wd;
    // Phase (ry, rx): input pixels iy = iy0 + stride*u with (iy + pad) % stride == ry.
    const int ry = phase / stride, rx = phase % stride;
    const int iy0 = ((ry - pad) % stride + stride) % stride;
    const int ix0 = ((rx - pad) % stride + stride) % stride;
    const int nh = iy0 < h ? (h - iy0 + stride - 1) / stride : 0;
    const int nw = ix0 < wd ? (wd - ix0 + stride - 1) / stride : 0;
    // For tap ky = ry + stride*jy the output row is oy = qy + u - jy.
    const int qy = (iy0 + pad - ry) / stride, qx = (ix0 + pad - rx) / stride;
    const int nky = ry < kh ? (kh - ry + stride - 1) / stride : 0;
    const int nkx = rx < kw ? (kw - rx + stride - 1) / stride : 0;
    const int M = c_in, N = n * nh * nw, K = c_out * nky * nkx;
    const int nhw = nh * nw;
    // K is ordered (tap, co), tap = jy * nkx + jx; nkx is ceil(kw / s) or floor(kw / s).
    const bool nkx_hi = nkx == (kw + stride - 1) / stride;
    const unsigned m_nkx = nkx_hi ? m_nkx_hi : m_nkx_lo, s_nkx = nkx_hi ? s_nkx_hi : s_nkx_lo;
    const int kbeg = split * k_chunk, kend = min(K, kbeg + k_chunk);
    const int m0 = blockIdx.y * BM, p0 = blockIdx.x * BN;
    if (p0 >= N) return; // this phase has fewer pixels than the grid covers (uniform per block)
    const int t = threadIdx.x, tx = t % 16, ty = t / 16;

    // B loader: column bn (one pixel of the phase), rows bk0 + 4i.
    const int bn = t % BN, bk0 = t / BN;
    const int p = p0 + bn;
    const bool p_ok = p < N;
    int ni = 0, u = 0, v = 0;
    if (p_ok) {
        ni = p / nhw;
        const int r = p - ni * nhw;
        u = r / nw;
        v = r - u * nw;
    }
    const float* gyb = gy + ni * c_out * oh * ow;
    // A loader: row am (input channel, consecutive threads), columns ak0 + 4i.
    const int am = t % BM, ak0 = t / BM;
    const int ci = m0 + am;

    float ra[4], rb[4];
    auto load = [&](int k0) {
        for (int i = 0; i < 4; ++i) {
            const int k = k0 + ak0 + 4 * i;
            float a = 0.0f;
            if (ci < M && k < kend) {
                const int tap = fdiv(k, m_co, s_co), co = k - tap * c_out;
                const int jy = fdiv(tap, m_nkx, s_nkx), jx = tap - jy * nkx;
                a = w[((co * c_in + ci) * kh + ry + stride * jy) * kw + rx + stride * jx];
            }
            ra[i] = a;
        }
        for (int i = 0; i < 4; ++i) {
            const int k = k0 + bk0 + 4 * i;
            float b = 0.0f;
            if (p_ok && k < kend) {
                const int tap = fdiv(k, m_co, s_co), co = k - tap * c_out;
                const int jy = fdiv(tap, m_nkx, s_nkx), jx = tap - jy * nkx;
                const int oy = qy + u - jy, ox = qx + v - jx;
                if (oy >= 0 && oy < oh && ox >= 0 && ox < ow) b = gyb[(co * oh + oy) * ow + ox];
            }
            rb[i] = b;
        }
    };

    auto store = [&] {
        for (int i = 0; i < 4; ++i) As[(ak0 + 4 * i) * LDS_ROW + am] = ra[i];
        for (int i = 0; i < 4; ++i) Bs[(bk0 + 4 * i) * LDS_ROW + bn] = rb[i];
    };
    float acc[4][4] = {};
    gemm_k_loop(acc, As, Bs, kbeg, kend, tx, ty, load, store);
    for (int j = 0; j < 4; ++j) {
        const int pp = p0 + 4 * tx + j;
        if (pp >= N) continue;
        const int nn = pp / nhw, r = pp - nn * nhw;
        const int iy = iy0 + stride * (r / nw), ix = ix0 + stride * (r % nw);
        for (int i = 0; i < 4; ++i) {
            const int c = m0 + 4 * ty + i;
            if (c < M) gx[((nn * c_in + c) * h + iy) * wd + ix] = acc[i][j];
        }
    }
}

extern "C" __global__ void conv2d_bwd_weight(const float* __restrict__ x, const float* __restrict__ gy, float* __restrict__ out,
                                             int n, int c_in, int h, int wd, int c_out, int kh, int kw,
                                             int stride, int pad, int oh, int ow, int k_chunk, unsigned m_ohw, unsigned s_ohw, unsigned m_ow, unsigned s_ow) {
    __shared__ float4 a_tile[BK * LDS_ROW / 4];
    __shared__ float4 b_tile[BK * LDS_ROW / 4];
    float* As = reinterpret_cast<float*>(&a_tile[0]);
    float* Bs = reinterpret_cast<float*>(&b_tile[0]);
    const int M = c_out, N = c_in * kh * kw, K = n * oh * ow;
    const int ohw = oh * ow, khw = kh * kw;
    const int m0 = blockIdx.y * BM, n0 = blockIdx.x * BN;
    const int kbeg = blockIdx.z * k_chunk, kend = min(K, kbeg + k_chunk);
    out += blockIdx.z * M * N;
    const int t = threadIdx.x, tx = t % 16, ty = t / 16;

    // Both loaders: column kk = t % 16 of the K slice (consecutive threads walk along the
    // output pixels), rows r0 + 16i.
    const int kk = t % BK, r0 = t / BK;
    // The B rows are fixed per block: decode the four (ci, ky, kx) once.
    int bci[4], bky[4], bkx[4];
    bool b_ok[4];
    for (int i = 0; i < 4; ++i) {
        const int col = n0 + r0 + 16 * i;
        b_ok[i] = col < N;
        const int ci = col / khw, r = col - ci * khw;
        bci[i] = ci;
        bky[i] = r / kw;
        bkx[i] = r - (r / kw) * kw;
    }

    float ra[4], rb[4];
    auto load = [&](int k0) {
        const int k = k0 + kk;
        const bool k_ok = k < kend;
        int ni = 0, oy = 0, ox = 0, pix = 0;
        if (k_ok) {
            ni = fdiv(k, m_ohw, s_ohw);
            pix = k - ni * ohw;
            oy = fdiv(pix, m_ow, s_ow);
            ox = pix - oy * ow;
        }
        for (int i = 0; i < 4; ++i) {
            const int co = m0 + r0 + 16 * i;
            ra[i] = (k_ok && co < M) ? gy[(ni * c_out + co) * ohw + pix] : 0.0f;
        }
        for (int i = 0; i < 4; ++i) {
            float b = 0.0f;
            if (k_ok && b_ok[i]) {
                const int iy = oy * stride - pad + bky[i], ix = ox * stride - pad + bkx[i];
                if (iy >= 0 && iy < h && ix >= 0 && ix < wd) b = x[((ni * c_in + bci[i]) * h + iy) * wd + ix];
            }
            rb[i] = b;
        }
    };

    auto store = [&] {
        for (int i = 0; i < 4; ++i) As[kk * LDS_ROW + r0 + 16 * i] = ra[i];
        for (int i = 0; i < 4; ++i) Bs[kk * LDS_ROW + r0 + 16 * i] = rb[i];
    };
    float acc[4][4] = {};
    gemm_k_loop(acc, As, Bs, kbeg, kend, tx, ty, load, store);
    for (int i = 0; i < 4; ++i) {
        const int m = m0 + 4 * ty + i;
        if (m >= M) continue;
        for (int j = 0; j < 4; ++j) {
            const int col = n0 + 4 * tx + j;
            if (col < N) out[m * N + col] = acc[i][j];
        }
    }
}
