// Tensor-core implicit GEMMs for conv2d (NCHW input, OIHW weight): forward, input gradient
// (also conv_transpose2d forward) and weight gradient, in TF32 (mma.m16n8k8, operands rounded
// with cvt.rna) or BF16 (mma.m16n8k16, operands rounded to nearest even), fp32 accumulation.
// Same GEMM views, split-K and phases as kernels/conv.cu (the fp32 SIMT path):
//   fwd         C[co][p]          M = c_out, N = n*oh*ow,  K = c_in*kh*kw
//   bwd_input   C[ci][phase p]    M = c_in,  N = n*ceil(h/s)*ceil(w/s), K = c_out*ceil(kh/s)*ceil(kw/s),
//               one grid z per stride phase; K ordered (tap, co) here
//   bwd_weight  C[co][(ci,ky,kx)] M = c_out, N = c_in*kh*kw, K = n*oh*ow
// FLOPs 2*M*N*K; compulsory bytes as in conv.cu.
//
// Block: 128 threads (4 warps, 2x2), tile BM x BN (128x64, 64x128, 64x64 or 32x32: one entry
// point each, chosen per shape by src/backend/device/tc.rs), K slices of 16 in a 3-stage
// cp.async pipeline (static shared memory, at most 46 KB). Shared tiles are [row][k] with rows
// padded to 20 floats (80 bytes: 16-byte aligned, and the 8 row addresses of an ldmatrix
// phase fall in 8 disjoint groups of 4 banks, so no conflicts). Fragments come from ldmatrix
// on the f32 tiles (.b16 pairs = one f32): for TF32 the four 8x4 f32 matrices of an x4 are
// exactly the a0..a3 / b0,b1 registers of m16n8k8. For BF16 the same loads at k and k+8 are
// packed two floats per register; this assigns physical k = t, t+4 (and 8+t, 12+t) to the
// fragment's k = 2t, 2t+1 (8+2t, 9+2t) for A and B alike, a permutation of the sum's terms.
//
// No division by a run-time value inside a K loop: the per-slice index decompositions use
// host-computed magic multipliers (q = (umulhi(n, m) + n) >> s, exact for n < 2^31). Indices
// are 32-bit ints: the host checks that every tensor has fewer than 2^31 elements.
#include "prelude.cuh"

#define TC_BK 16
#define TC_LDS 20
#define TC_STAGES 3
#define TC_THREADS 128

__device__ __forceinline__ int fdiv(int n, unsigned m, unsigned s) {
    return (int)((__umulhi((unsigned)n, m) + (unsigned)n) >> s);
}

// One 128-thread block's BM x BN tile of C = sum over [kbeg, kend) of A[m][k] B[n][k];
// `ld.load(As, Bs, k0, kend)` issues the cp.async copies of one K slice, `st(m, n, v)` stores.
template <int BM, int BN, bool BF16, class Loader, class Store>
__device__ __forceinline__ void tc_gemm(Loader& ld, Store& st, int kbeg, int kend) {
    constexpr int WM = BM / 2, WN = BN / 2, MI = WM / 16, NI = WN / 8;
    constexpr int STAGE = (BM + BN) * TC_LDS;
    __shared__ float4 smem4[TC_STAGES * STAGE / 4];
    float* smem = reinterpret_cast<float*>(&smem4[0]);
    const int tid = threadIdx.x, lane = tid & 31, warp = tid >> 5;
    const int wm0 = (warp >> 1) * WM, wn0 = (warp & 1) * WN;
    const int ktiles = kend > kbeg ? (kend - kbeg + TC_BK - 1) / TC_BK : 0;

    float acc[MI][NI][4];
#pragma unroll
    for (int i = 0; i < MI; ++i)
#pragma unroll
        for (int j = 0; j < NI; ++j)
#pragma unroll
            for (int r = 0; r < 4; ++r) acc[i][j][r] = 0.0f;

#pragma unroll
    for (int s = 0; s < TC_STAGES - 1; ++s) {
        if (s < ktiles) ld.load(smem + s * STAGE, smem + s * STAGE + BM * TC_LDS, kbeg + s * TC_BK, kend);
        tc_cp_commit();
    }
    // ldmatrix row of this lane: matrix (lane >> 3), row (lane & 7) of it.
    const int a_row = (lane & 7) + ((lane >> 3) & 1) * 8, a_col = (lane >> 4) * 4;
    const int b_row = (lane & 7) + (lane >> 4) * 8, b_col = ((lane >> 3) & 1) * 4;
    int rs = 0, ws = TC_STAGES - 1;
    for (int kt = 0; kt < ktiles; ++kt) {
        tc_cp_wait<TC_STAGES - 2>();
        __syncthreads();  // slice kt is visible to all; everyone is done with slice kt - 1
        if (kt + TC_STAGES - 1 < ktiles)
            ld.load(smem + ws * STAGE, smem + ws * STAGE + BM * TC_LDS, kbeg + (kt + TC_STAGES - 1) * TC_BK, kend);
        tc_cp_commit();
        const float* As = smem + rs * STAGE;
        const float* Bs = As + BM * TC_LDS;
        unsigned af[2][MI][4], bfr[2][NI][2];
#pragma unroll
        for (int h = 0; h < 2; ++h) {
#pragma unroll
            for (int i = 0; i < MI; ++i) tc_ldmatrix_x4(af[h][i], As + (wm0 + i * 16 + a_row) * TC_LDS + 8 * h + a_col);
#pragma unroll
            for (int j = 0; j < NI; j += 2) {
                unsigned r[4];
                tc_ldmatrix_x4(r, Bs + (wn0 + j * 8 + b_row) * TC_LDS + 8 * h + b_col);
                bfr[h][j][0] = r[0];
                bfr[h][j][1] = r[1];
                bfr[h][j + 1][0] = r[2];
                bfr[h][j + 1][1] = r[3];
            }
        }
        if (BF16) {
            unsigned a[MI][4], b[NI][2];
#pragma unroll
            for (int i = 0; i < MI; ++i)
#pragma unroll
                for (int h = 0; h < 2; ++h) {
                    a[i][2 * h] = tc_bf16x2(__uint_as_float(af[h][i][0]), __uint_as_float(af[h][i][2]));
                    a[i][2 * h + 1] = tc_bf16x2(__uint_as_float(af[h][i][1]), __uint_as_float(af[h][i][3]));
                }
#pragma unroll
            for (int j = 0; j < NI; ++j)
#pragma unroll
                for (int h = 0; h < 2; ++h)
                    b[j][h] = tc_bf16x2(__uint_as_float(bfr[h][j][0]), __uint_as_float(bfr[h][j][1]));
#pragma unroll
            for (int i = 0; i < MI; ++i)
#pragma unroll
                for (int j = 0; j < NI; ++j) tc_mma_bf16(acc[i][j], a[i], b[j], acc[i][j]);
        } else {
#pragma unroll
            for (int h = 0; h < 2; ++h) {
                unsigned a[MI][4], b[NI][2];
#pragma unroll
                for (int i = 0; i < MI; ++i)
#pragma unroll
                    for (int r = 0; r < 4; ++r) a[i][r] = tc_tf32(__uint_as_float(af[h][i][r]));
#pragma unroll
                for (int j = 0; j < NI; ++j)
#pragma unroll
                    for (int r = 0; r < 2; ++r) b[j][r] = tc_tf32(__uint_as_float(bfr[h][j][r]));
#pragma unroll
                for (int i = 0; i < MI; ++i)
#pragma unroll
                    for (int j = 0; j < NI; ++j) tc_mma_tf32(acc[i][j], a[i], b[j], acc[i][j]);
            }
        }
        rs = rs == TC_STAGES - 1 ? 0 : rs + 1;
        ws = ws == TC_STAGES - 1 ? 0 : ws + 1;
    }
    tc_cp_wait<0>();

    // Accumulator c0..c3 of lane (g, t): (g, 2t), (g, 2t+1), (g+8, 2t), (g+8, 2t+1).
    const int g = lane >> 2, t = lane & 3;
#pragma unroll
    for (int i = 0; i < MI; ++i)
#pragma unroll
        for (int j = 0; j < NI; ++j) {
            const int m = wm0 + i * 16 + g, n = wn0 + j * 8 + 2 * t;
            st(m, n, acc[i][j][0]);
            st(m, n + 1, acc[i][j][1]);
            st(m + 8, n, acc[i][j][2]);
            st(m + 8, n + 1, acc[i][j][3]);
        }
}

// Rows [m0, m0 + BM) of a row-major A (row length `ld`, K contiguous) into As: 16-byte copies
// when `vec` (ld and the slice start are multiples of 4), else 4-byte ones; zero outside.
template <int BM>
__device__ __forceinline__ void load_rows(float* As, const float* a, int ld, int m0, int M, int k0, int kend,
                                          bool vec) {
    const int tid = threadIdx.x;
    if (vec) {
#pragma unroll
        for (int i = 0; i < BM * 4 / TC_THREADS; ++i) {
            const int c = tid + i * TC_THREADS, row = c >> 2, kc = (c & 3) * 4;
            const bool ok = m0 + row < M && k0 + kc < kend;
            tc_cp_async16(As + row * TC_LDS + kc, ok ? a + (m0 + row) * ld + k0 + kc : a, ok);
        }
    } else {
#pragma unroll
        for (int i = 0; i < BM * TC_BK / TC_THREADS; ++i) {
            const int e = tid + i * TC_THREADS, row = e >> 4, kc = e & 15;
            const bool ok = m0 + row < M && k0 + kc < kend;
            tc_cp_async4(As + row * TC_LDS + kc, ok ? a + (m0 + row) * ld + k0 + kc : a, ok);
        }
    }
}

// ---- forward ---------------------------------------------------------------------------
struct ConvShape {
    int n, c_in, h, w, c_out, kh, kw, stride, pad, oh, ow;
};

template <int BM, int BN>
struct FwdLoader {
    const float* x;
    const float* wt;
    ConvShape s;
    int m0, K;
    bool vec;
    unsigned m_khw, s_khw, m_kw, s_kw;
    // This thread gathers pixel `pl` of the tile, at K offsets kq0 + (128 / BN) * i.
    int pl, kq0, iy0, ix0;
    bool p_ok;
    const float* xb;

    __device__ void init(int n0, unsigned m_ohw, unsigned s_ohw, unsigned m_ow, unsigned s_ow) {
        const int tid = threadIdx.x;
        pl = tid & (BN - 1);
        kq0 = tid / BN;
        const int p = n0 + pl, N = s.n * s.oh * s.ow;
        p_ok = p < N;
        const int pp = p_ok ? p : 0;
        const int b = fdiv(pp, m_ohw, s_ohw), r = pp - b * s.oh * s.ow;
        const int oy = fdiv(r, m_ow, s_ow), ox = r - oy * s.ow;
        xb = x + b * s.c_in * s.h * s.w;
        iy0 = oy * s.stride - s.pad;
        ix0 = ox * s.stride - s.pad;
    }
    __device__ void load(float* As, float* Bs, int k0, int kend) {
        load_rows<BM>(As, wt, K, m0, s.c_out, k0, kend, vec);
        const int khw = s.kh * s.kw;
#pragma unroll
        for (int i = 0; i < BN * TC_BK / TC_THREADS; ++i) {
            const int kq = kq0 + (TC_THREADS / BN) * i, k = k0 + kq;
            const int ci = fdiv(k, m_khw, s_khw), rr = k - ci * khw;
            const int ky = fdiv(rr, m_kw, s_kw), kx = rr - ky * s.kw;
            const int iy = iy0 + ky, ix = ix0 + kx;
            const bool ok = p_ok && k < kend && iy >= 0 && iy < s.h && ix >= 0 && ix < s.w;
            tc_cp_async4(Bs + pl * TC_LDS + kq, ok ? xb + (ci * s.h + iy) * s.w + ix : x, ok);
        }
    }
};

struct FwdStore {
    float* y;
    int m0, n0, M, N, ohw;
    unsigned m_ohw, s_ohw;
    __device__ void operator()(int m, int n, float v) {
        m += m0;
        n += n0;
        if (m < M && n < N) {
            const int b = fdiv(n, m_ohw, s_ohw);
            y[(b * M + m) * ohw + (n - b * ohw)] = v;
        }
    }
};

template <int BM, int BN, bool BF16>
__device__ void conv_fwd_tc(const float* x, const float* w, float* y, ConvShape s, int k_chunk, unsigned m_khw,
                            unsigned s_khw, unsigned m_kw, unsigned s_kw, unsigned m_ohw, unsigned s_ohw,
                            unsigned m_ow, unsigned s_ow) {
    const int M = s.c_out, N = s.n * s.oh * s.ow, K = s.c_in * s.kh * s.kw;
    const int m0 = blockIdx.y * BM, n0 = blockIdx.x * BN;
    const int kbeg = blockIdx.z * k_chunk, kend = min(K, kbeg + k_chunk);
    y += blockIdx.z * M * N;
    FwdLoader<BM, BN> ld{x, w, s, m0, K, (K & 3) == 0, m_khw, s_khw, m_kw, s_kw};
    ld.init(n0, m_ohw, s_ohw, m_ow, s_ow);
    FwdStore st{y, m0, n0, M, N, s.oh * s.ow, m_ohw, s_ohw};
    tc_gemm<BM, BN, BF16>(ld, st, kbeg, kend);
}

// ---- weight gradient -------------------------------------------------------------------
template <int BM, int BN>
struct WgradLoader {
    const float* x;
    const float* gy;
    ConvShape s;
    int m0, n0;
    bool vec;
    unsigned m_ohw, s_ohw, m_ow, s_ow;
    // This thread gathers K column kc of rows r0 + 8i of the B tile; their (ci, ky, kx):
    int kc, bci[BN / 8], bky[BN / 8], bkx[BN / 8];
    bool bok[BN / 8];

    __device__ void init() {
        const int tid = threadIdx.x, khw = s.kh * s.kw, N = s.c_in * khw;
        kc = tid & 15;
#pragma unroll
        for (int i = 0; i < BN / 8; ++i) {
            const int col = n0 + (tid >> 4) + 8 * i;
            bok[i] = col < N;
            const int ci = col / khw, r = col - ci * khw;  // once per thread, outside the K loop
            bci[i] = ci;
            bky[i] = r / s.kw;
            bkx[i] = r - bky[i] * s.kw;
        }
    }
    __device__ void load(float* As, float* Bs, int k0, int kend) {
        const int ohw = s.oh * s.ow, tid = threadIdx.x;
        // A = gy viewed as [co][(b, pixel)]: rows of image b are contiguous over the pixels.
        if (vec) {
#pragma unroll
            for (int i = 0; i < BM * 4 / TC_THREADS; ++i) {
                const int c = tid + i * TC_THREADS, row = c >> 2, kq = (c & 3) * 4, k = k0 + kq;
                const bool ok = m0 + row < s.c_out && k < kend;
                const int b = fdiv(k, m_ohw, s_ohw);
                tc_cp_async16(As + row * TC_LDS + kq,
                              ok ? gy + (b * s.c_out + m0 + row) * ohw + (k - b * ohw) : gy, ok);
            }
        } else {
#pragma unroll
            for (int i = 0; i < BM * TC_BK / TC_THREADS; ++i) {
                const int e = tid + i * TC_THREADS, row = e >> 4, kq = e & 15, k = k0 + kq;
                const bool ok = m0 + row < s.c_out && k < kend;
                const int b = fdiv(k, m_ohw, s_ohw);
                tc_cp_async4(As + row * TC_LDS + kq,
                             ok ? gy + (b * s.c_out + m0 + row) * ohw + (k - b * ohw) : gy, ok);
            }
        }
        const int k = k0 + kc;
        const bool k_ok = k < kend;
        const int b = fdiv(k, m_ohw, s_ohw), pix = k - b * ohw;
        const int oy = fdiv(pix, m_ow, s_ow), ox = pix - oy * s.ow;
        const int iy0 = oy * s.stride - s.pad, ix0 = ox * s.stride - s.pad;
        const float* xb = x + b * s.c_in * s.h * s.w;
#pragma unroll
        for (int i = 0; i < BN / 8; ++i) {
            const int iy = iy0 + bky[i], ix = ix0 + bkx[i];
            const bool ok = k_ok && bok[i] && iy >= 0 && iy < s.h && ix >= 0 && ix < s.w;
            tc_cp_async4(Bs + ((tid >> 4) + 8 * i) * TC_LDS + kc,
                         ok ? xb + (bci[i] * s.h + iy) * s.w + ix : x, ok);
        }
    }
};

struct RowMajorStore {
    float* out;
    int m0, n0, M, N;
    __device__ void operator()(int m, int n, float v) {
        m += m0;
        n += n0;
        if (m < M && n < N) out[m * N + n] = v;
    }
};

template <int BM, int BN, bool BF16>
__device__ void conv_wgrad_tc(const float* x, const float* gy, float* out, ConvShape s, int k_chunk, unsigned m_ohw,
                              unsigned s_ohw, unsigned m_ow, unsigned s_ow) {
    const int M = s.c_out, N = s.c_in * s.kh * s.kw, K = s.n * s.oh * s.ow;
    const int m0 = blockIdx.y * BM, n0 = blockIdx.x * BN;
    const int kbeg = blockIdx.z * k_chunk, kend = min(K, kbeg + k_chunk);
    out += blockIdx.z * M * N;
    WgradLoader<BM, BN> ld{x, gy, s, m0, n0, ((s.oh * s.ow) & 3) == 0, m_ohw, s_ohw, m_ow, s_ow};
    ld.init();
    RowMajorStore st{out, m0, n0, M, N};
    tc_gemm<BM, BN, BF16>(ld, st, kbeg, kend);
}

// ---- input gradient (per stride phase, as conv.cu:conv2d_bwd_input) -------------------------
struct Phase {
    int ry, rx, iy0, ix0, nh, nw, qy, qx, nky, nkx;
    __device__ void init(int phase, const ConvShape& s) {
        ry = phase / s.stride;  // once per block
        rx = phase - ry * s.stride;
        iy0 = ((ry - s.pad) % s.stride + s.stride) % s.stride;
        ix0 = ((rx - s.pad) % s.stride + s.stride) % s.stride;
        nh = iy0 < s.h ? (s.h - iy0 + s.stride - 1) / s.stride : 0;
        nw = ix0 < s.w ? (s.w - ix0 + s.stride - 1) / s.stride : 0;
        qy = (iy0 + s.pad - ry) / s.stride;
        qx = (ix0 + s.pad - rx) / s.stride;
        nky = ry < s.kh ? (s.kh - ry + s.stride - 1) / s.stride : 0;
        nkx = rx < s.kw ? (s.kw - rx + s.stride - 1) / s.stride : 0;
    }
};

template <int BM, int BN>
struct DgradLoader {
    const float* gy;
    const float* wt;
    ConvShape s;
    Phase ph;
    int m0;
    unsigned m_co, s_co, m_nkx, s_nkx;
    // This thread gathers phase pixel `pl` (image b, phase row u, column v) at K offsets
    // kq0 + (128 / BN) * i.
    int pl, kq0, u, v;
    bool p_ok;
    const float* gyb;

    __device__ void init(int n0) {
        const int tid = threadIdx.x;
        pl = tid & (BN - 1);
        kq0 = tid / BN;
        const int p = n0 + pl, nhw = ph.nh * ph.nw;
        p_ok = p < s.n * nhw;
        const int pp = p_ok ? p : 0;
        const int b = pp / nhw, r = pp - b * nhw;  // once per thread
        u = r / ph.nw;
        v = r - u * ph.nw;
        gyb = gy + b * s.c_out * s.oh * s.ow;
    }
    __device__ void load(float* As, float* Bs, int k0, int kend) {
        const int tid = threadIdx.x;
        // A[ci][k]: k = tap * c_out + co, tap = jy * nkx + jx.
#pragma unroll
        for (int i = 0; i < BM * TC_BK / TC_THREADS; ++i) {
            const int e = tid + i * TC_THREADS, row = e & (BM - 1), kq = e / BM, k = k0 + kq;
            const int tap = fdiv(k, m_co, s_co), co = k - tap * s.c_out;
            const int jy = fdiv(tap, m_nkx, s_nkx), jx = tap - jy * ph.nkx;
            const bool ok = m0 + row < s.c_in && k < kend;
            const int off =
                ((co * s.c_in + m0 + row) * s.kh + ph.ry + s.stride * jy) * s.kw + ph.rx + s.stride * jx;
            tc_cp_async4(As + row * TC_LDS + kq, ok ? wt + off : wt, ok);
        }
#pragma unroll
        for (int i = 0; i < BN * TC_BK / TC_THREADS; ++i) {
            const int kq = kq0 + (TC_THREADS / BN) * i, k = k0 + kq;
            const int tap = fdiv(k, m_co, s_co), co = k - tap * s.c_out;
            const int jy = fdiv(tap, m_nkx, s_nkx), jx = tap - jy * ph.nkx;
            const int oy = ph.qy + u - jy, ox = ph.qx + v - jx;
            const bool ok = p_ok && k < kend && oy >= 0 && oy < s.oh && ox >= 0 && ox < s.ow;
            tc_cp_async4(Bs + pl * TC_LDS + kq, ok ? gyb + (co * s.oh + oy) * s.ow + ox : gy, ok);
        }
    }
};

struct DgradStore {
    float* gx;
    const ConvShape* s;
    const Phase* ph;
    int m0, n0, N;
    __device__ void operator()(int m, int n, float v) {
        m += m0;
        n += n0;
        if (m < s->c_in && n < N) {
            const int nhw = ph->nh * ph->nw;
            const int b = n / nhw, r = n - b * nhw;  // the epilogue, after the K loop
            const int u = r / ph->nw, vv = r - u * ph->nw;
            const int iy = ph->iy0 + s->stride * u, ix = ph->ix0 + s->stride * vv;
            gx[((b * s->c_in + m) * s->h + iy) * s->w + ix] = v;
        }
    }
};

template <int BM, int BN, bool BF16>
__device__ void conv_dgrad_tc(const float* gy, const float* w, float* gx, ConvShape s, int k_chunk, unsigned m_co,
                              unsigned s_co, unsigned m_nkx_hi, unsigned s_nkx_hi, unsigned m_nkx_lo,
                              unsigned s_nkx_lo) {
    const int phases = s.stride * s.stride;
    const int split = blockIdx.z / phases, phase = blockIdx.z - split * phases;
    gx += split * s.n * s.c_in * s.h * s.w;
    Phase ph;
    ph.init(phase, s);
    const int N = s.n * ph.nh * ph.nw, K = s.c_out * ph.nky * ph.nkx;
    const int m0 = blockIdx.y * BM, n0 = blockIdx.x * BN;
    if (n0 >= N) return;  // this phase has fewer pixels than the grid covers (uniform per block)
    const int kbeg = split * k_chunk, kend = min(K, kbeg + k_chunk);
    // nkx is ceil(kw / s) or floor(kw / s): the host passes the multipliers of both.
    const bool hi = ph.nkx == (s.kw + s.stride - 1) / s.stride;
    DgradLoader<BM, BN> ld{gy, w, s, ph, m0, m_co, s_co, hi ? m_nkx_hi : m_nkx_lo, hi ? s_nkx_hi : s_nkx_lo};
    ld.init(n0);
    DgradStore st{gx, &s, &ph, m0, n0, N};
    tc_gemm<BM, BN, BF16>(ld, st, kbeg, kend);
}

// ---- entry points: conv_{fwd,dgrad,wgrad}_{tf32,bf16}_{BM}x{BN} ------------------------------
// (written out: the emulator's build step reads each `extern "C"` entry from the file)
#define CONV_ARGS int n, int c_in, int h, int wd, int c_out, int kh, int kw, int stride, int pad, int oh, int ow
#define CONV_SHAPE ConvShape{n, c_in, h, wd, c_out, kh, kw, stride, pad, oh, ow}
#define FWD_ARGS unsigned m_khw, unsigned s_khw, unsigned m_kw, unsigned s_kw, unsigned m_ohw, unsigned s_ohw, unsigned m_ow, unsigned s_ow
#define FWD_PASS m_khw, s_khw, m_kw, s_kw, m_ohw, s_ohw, m_ow, s_ow
#define DGRAD_ARGS unsigned m_co, unsigned s_co, unsigned m_hi, unsigned s_hi, unsigned m_lo, unsigned s_lo
#define DGRAD_PASS m_co, s_co, m_hi, s_hi, m_lo, s_lo
#define WGRAD_ARGS unsigned m_ohw, unsigned s_ohw, unsigned m_ow, unsigned s_ow
#define WGRAD_PASS m_ohw, s_ohw, m_ow, s_ow

extern "C" __global__ void __launch_bounds__(TC_THREADS, 1) conv_fwd_tf32_128x64(const float* x, const float* w, float* y, CONV_ARGS, int k_chunk, FWD_ARGS) {
    conv_fwd_tc<128, 64, false>(x, w, y, CONV_SHAPE, k_chunk, FWD_PASS);
}
extern "C" __global__ void __launch_bounds__(TC_THREADS, 1) conv_dgrad_tf32_128x64(const float* gy, const float* w, float* gx, CONV_ARGS, int k_chunk, DGRAD_ARGS) {
    conv_dgrad_tc<128, 64, false>(gy, w, gx, CONV_SHAPE, k_chunk, DGRAD_PASS);
}
extern "C" __global__ void __launch_bounds__(TC_THREADS, 1) conv_wgrad_tf32_128x64(const float* x, const float* gy, float* out, CONV_ARGS, int k_chunk, WGRAD_ARGS) {
    conv_wgrad_tc<128, 64, false>(x, gy, out, CONV_SHAPE, k_chunk, WGRAD_PASS);
}

extern "C" __global__ void __launch_bounds__(TC_THREADS, 1) conv_fwd_tf32_64x128(const float* x, const float* w, float* y, CONV_ARGS, int k_chunk, FWD_ARGS) {
    conv_fwd_tc<64, 128, false>(x, w, y, CONV_SHAPE, k_chunk, FWD_PASS);
}
extern "C" __global__ void __launch_bounds__(TC_THREADS, 1) conv_dgrad_tf32_64x128(const float* gy, const float* w, float* gx, CONV_ARGS, int k_chunk, DGRAD_ARGS) {
    conv_dgrad_tc<64, 128, false>(gy, w, gx, CONV_SHAPE, k_chunk, DGRAD_PASS);
}
extern "C" __global__ void __launch_bounds__(TC_THREADS, 1) conv_wgrad_tf32_64x128(const float* x, const float* gy, float* out, CONV_ARGS, int k_chunk, WGRAD_ARGS) {
    conv_wgrad_tc<64, 128, false>(x, gy, out, CONV_SHAPE, k_chunk, WGRAD_PASS);
}

extern "C" __global__ void __launch_bounds__(TC_THREADS, 1) conv_fwd_tf32_64x64(const float* x, const float* w, float* y, CONV_ARGS, int k_chunk, FWD_ARGS) {
    conv_fwd_tc<64, 64, false>(x, w, y, CONV_SHAPE, k_chunk, FWD_PASS);
}
extern "C" __global__ void __launch_bounds__(TC_THREADS, 1) conv_dgrad_tf32_64x64(const float* gy, const float* w, float* gx, CONV_ARGS, int k_chunk, DGRAD_ARGS) {
    conv_dgrad_tc<64, 64, false>(gy, w, gx, CONV_SHAPE, k_chunk, DGRAD_PASS);
}
extern "C" __global__ void __launch_bounds__(TC_THREADS, 1) conv_wgrad_tf32_64x64(const float* x, const float* gy, float* out, CONV_ARGS, int k_chunk, WGRAD_ARGS) {
    conv_wgrad_tc<64, 64, false>(x, gy, out, CONV_SHAPE, k_chunk, WGRAD_PASS);
}

extern "C" __global__ void __launch_bounds__(TC_THREADS, 1) conv_fwd_tf32_32x32(const float* x, const float* w, float* y, CONV_ARGS, int k_chunk, FWD_ARGS) {
    conv_fwd_tc<32, 32, false>(x, w, y, CONV_SHAPE, k_chunk, FWD_PASS);
}
extern "C" __global__ void __launch_bounds__(TC_THREADS, 1) conv_dgrad_tf32_32x32(const float* gy, const float* w, float* gx, CONV_ARGS, int k_chunk, DGRAD_ARGS) {
    conv_dgrad_tc<32, 32, false>(gy, w, gx, CONV_SHAPE, k_chunk, DGRAD_PASS);
}
extern "C" __global__ void __launch_bounds__(TC_THREADS, 1) conv_wgrad_tf32_32x32(const float* x, const float* gy, float* out, CONV_ARGS, int k_chunk, WGRAD_ARGS) {
    conv_wgrad_tc<32, 32, false>(x, gy, out, CONV_SHAPE, k_chunk, WGRAD_PASS);
}

extern "C" __global__ void __launch_bounds__(TC_THREADS, 1) conv_fwd_bf16_128x64(const float* x, const float* w, float* y, CONV_ARGS, int k_chunk, FWD_ARGS) {
    conv_fwd_tc<128, 64, true>(x, w, y, CONV_SHAPE, k_chunk, FWD_PASS);
}
extern "C" __global__ void __launch_bounds__(TC_THREADS, 1) conv_dgrad_bf16_128x64(const float* gy, const float* w, float* gx, CONV_ARGS, int k_chunk, DGRAD_ARGS) {
    conv_dgrad_tc<128, 64, true>(gy, w, gx, CONV_SHAPE, k_chunk, DGRAD_PASS);
}
extern "C" __global__ void __launch_bounds__(TC_THREADS, 1) conv_wgrad_bf16_128x64(const float* x, const float* gy, float* out, CONV_ARGS, int k_chunk, WGRAD_ARGS) {
    conv_wgrad_tc<128, 64, true>(x, gy, out, CONV_SHAPE, k_chunk, WGRAD_PASS);
}

extern "C" __global__ void __launch_bounds__(TC_THREADS, 1) conv_fwd_bf16_64x128(const float* x, const float* w, float* y, CONV_ARGS, int k_chunk, FWD_ARGS) {
    conv_fwd_tc<64, 128, true>(x, w, y, CONV_SHAPE, k_chunk, FWD_PASS);
}
extern "C" __global__ void __launch_bounds__(TC_THREADS, 1) conv_dgrad_bf16_64x128(const float* gy, const float* w, float* gx, CONV_ARGS, int k_chunk, DGRAD_ARGS) {
    conv_dgrad_tc<64, 128, true>(gy, w, gx, CONV_SHAPE, k_chunk, DGRAD_PASS);
}
extern "C" __global__ void __launch_bounds__(TC_THREADS, 1) conv_wgrad_bf16_64x128(const float* x, const float* gy, float* out, CONV_ARGS, int k_chunk, WGRAD_ARGS) {
    conv_wgrad_tc<64, 128, true>(x, gy, out, CONV_SHAPE, k_chunk, WGRAD_PASS);
}

extern "C" __global__ void __launch_bounds__(TC_THREADS, 1) conv_fwd_bf16_64x64(const float* x, const float* w, float* y, CONV_ARGS, int k_chunk, FWD_ARGS) {
    conv_fwd_tc<64, 64, true>(x, w, y, CONV_SHAPE, k_chunk, FWD_PASS);
}
extern "C" __global__ void __launch_bounds__(TC_THREADS, 1) conv_dgrad_bf16_64x64(const float* gy, const float* w, float* gx, CONV_ARGS, int k_chunk, DGRAD_ARGS) {
    conv_dgrad_tc<64, 64, true>(gy, w, gx, CONV_SHAPE, k_chunk, DGRAD_PASS);
}
extern "C" __global__ void __launch_bounds__(TC_THREADS, 1) conv_wgrad_bf16_64x64(const float* x, const float* gy, float* out, CONV_ARGS, int k_chunk, WGRAD_ARGS) {
    conv_wgrad_tc<64, 64, true>(x, gy, out, CONV_SHAPE, k_chunk, WGRAD_PASS);
}

extern "C" __global__ void __launch_bounds__(TC_THREADS, 1) conv_fwd_bf16_32x32(const float* x, const float* w, float* y, CONV_ARGS, int k_chunk, FWD_ARGS) {
    conv_fwd_tc<32, 32, true>(x, w, y, CONV_SHAPE, k_chunk, FWD_PASS);
}
extern "C" __global__ void __launch_bounds__(TC_THREADS, 1) conv_dgrad_bf16_32x32(const float* gy, const float* w, float* gx, CONV_ARGS, int k_chunk, DGRAD_ARGS) {
    conv_dgrad_tc<32, 32, true>(gy, w, gx, CONV_SHAPE, k_chunk, DGRAD_PASS);
}
extern "C" __global__ void __launch_bounds__(TC_THREADS, 1) conv_wgrad_bf16_32x32(const float* x, const float* gy, float* out, CONV_ARGS, int k_chunk, WGRAD_ARGS) {
    conv_wgrad_tc<32, 32, true>(x, gy, out, CONV_SHAPE, k_chunk, WGRAD_PASS);
}
