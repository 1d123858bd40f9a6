// Batch and instance normalisation of x [n, c, hw].
// A statistic s covers `count` = reps*hw elements: element e of statistic s is at
// s*hw + (e / hw)*rep_stride + e % hw. Batch norm: stats = c, reps = n, rep_stride = c*hw.
// Instance norm: stats = n*c, reps = 1. Reductions are split over `splits` blocks per
// statistic and combined in a fixed order (deterministic, no atomics).
//
// norm_stats_partial  grid (stats, splits), block 256: Welford (count, mean, M2) of each
//                     split, combined across the block with Chan's formula -> ws[3*(z*stats+s)..].
//                     Reads 4*|x| B.
// norm_stats_finish   1-D over stats, block 256: combines the splits in order;
//                     mean = mean, invstd = 1/sqrt(M2/count + eps) (biased variance).
// norm_apply          grid (n*c rows, chunks of hw): y = (x - mean)*invstd*gamma + beta.
//                     Reads 4|x|, writes 4|x| B.
// norm_apply_eval     same with running (mean, var) of length c.
// norm_bwd_partial    grid (stats, splits): ws[z*2*stats + s] = sum gy, ws[z*2*stats + stats + s]
//                     = sum gy*xhat over the split. Reads 8*|x| B. Finished by reduce.cu:sum_splits.
// norm_bwd_apply      grid (n*c rows, chunks of hw): gx = gamma*invstd*(gy - sum(gy)/count - xhat*sum(gy*xhat)/count).
//                     Reads 8|x|, writes 4|x| B.
// norm_param_grads    1-D over c: ggamma[c] = sum of sum(gy*xhat), gbeta[c] = sum of sum(gy) over the
//                     statistics of channel c (one for batch norm, n for instance norm).
// norm_running        1-D over stats: running = (1-m)*running + m*batch (unbiased variance).
#include "prelude.cuh"

struct Welford {
    float n, mean, m2;
};

__device__ __forceinline__ Welford welford_merge(Welford a, Welford b) {
    const float n = a.n + b.n;
    if (n == 0.0f) return a;
    const float d = b.mean - a.mean, f = b.n / n;
    Welford r;
    r.n = n;
    r.mean = a.mean + d * f;
    r.m2 = a.m2 + b.m2 + d * d * a.n * f;
    return r;
}

__device__ __forceinline__ Welford welford_shfl_down(Welford w, int o) {
    Welford r;
    r.n = __shfl_down_sync(0xffffffffu, w.n, o);
    r.mean = __shfl_down_sync(0xffffffffu, w.mean, o);
    r.m2 = __shfl_down_sync(0xffffffffu, w.m2, o);
    return r;
}

// Walks elements e0 + tid, e0 + tid + step, ... < e1 of statistic s, keeping (rep, column)
// up to date with a division only when a step crosses a row.
struct ElemWalk {
    int r, j, hw, step;
    __device__ __forceinline__ ElemWalk(int e, int hw_, int step_) : r(e / hw_), j(e - (e / hw_) * hw_), hw(hw_), step(step_) {}
    __device__ __forceinline__ void next() {
        j += step;
        if (j >= hw) {
            r += j / hw;
            j %= hw;
        }
    }
};

extern "C" __global__ void norm_stats_partial(const float* __restrict__ x, int stats, int hw, int reps, int rep_stride,
                                              int chunk, float* __restrict__ ws) {
    __shared__ float sn[32];
    __shared__ float smean[32];
    __shared__ float sm2[32];
    const int s = blockIdx.x, z = blockIdx.y;
    const int count = reps * hw;
    const int e0 = z * chunk, e1 = min(count, e0 + chunk);
    Welford w = {0.0f, 0.0f, 0.0f};
    ElemWalk it(e0 + threadIdx.x, hw, blockDim.x);
    for (int e = e0 + threadIdx.x; e < e1; e += blockDim.x, it.next()) {
        const float v = x[s * hw + it.r * rep_stride + it.j];
        w.n += 1.0f;
        const float d = v - w.mean;
        w.mean += d / w.n;
        w.m2 += d * (v - w.mean);
    }
    for (int o = 16; o > 0; o >>= 1) w = welford_merge(w, welford_shfl_down(w, o));
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    if (lane == 0) {
        sn[warp] = w.n;
        smean[warp] = w.mean;
        sm2[warp] = w.m2;
    }
    __syncthreads();
    if (warp == 0) {
        const bool ok = lane < (int)(blockDim.x >> 5);
        Welford v = {ok ? sn[lane] : 0.0f, ok ? smean[lane] : 0.0f, ok ? sm2[lane] : 0.0f};
        for (int o = 16; o > 0; o >>= 1) v = welford_merge(v, welford_shfl_down(v, o));
        if (lane == 0) {
            float* out = ws + 3 * (z * stats + s);
            out[0] = v.n;
            out[1] = v.mean;
            out[2] = v.m2;
        }
    }
}

extern "C" __global__ void norm_stats_finish(const float* __restrict__ ws, int stats, int splits, float eps,
                                             float* __restrict__ mean, float* __restrict__ invstd) {
    GRID_STRIDE(s, stats) {
        Welford w = {0.0f, 0.0f, 0.0f};
        for (int z = 0; z < splits; ++z) {
            const float* p = ws + 3 * (z * stats + s);
            const Welford b = {p[0], p[1], p[2]};
            w = welford_merge(w, b);
        }
        mean[s] = w.mean;
        invstd[s] = 1.0f / sqrtf(w.m2 / w.n + eps);
    }
}

// Row kernels: blockIdx.x = row (ni, ch) of x [n*c, hw], blockIdx.y strides over hw, so the
// statistic and channel are computed once per block (no per-element integer division).
#define ROW_LOOP(j, hw) for (int j = blockIdx.y * blockDim.x + threadIdx.x; j < (hw); j += blockDim.x * gridDim.y)

// gamma/beta may be null (has_gamma/has_beta 0).
extern "C" __global__ void norm_apply(const float* __restrict__ x, const float* __restrict__ mean, const float* __restrict__ invstd,
                                      const float* __restrict__ gamma, const float* __restrict__ beta, float* __restrict__ y,
                                      int c, int hw, int instance, int has_gamma, int has_beta) {
    const int row = blockIdx.x, ch = row % c, s = instance ? row : ch;
    const float mu = mean[s];
    const float a = invstd[s] * (has_gamma ? gamma[ch] : 1.0f);
    const float b = has_beta ? beta[ch] : 0.0f;
    const float* xr = x + row * hw;
    float* yr = y + row * hw;
    ROW_LOOP(j, hw) yr[j] = (xr[j] - mu) * a + b;
}

extern "C" __global__ void norm_apply_eval(const float* __restrict__ x, const float* __restrict__ mean, const float* __restrict__ var,
                                           const float* __restrict__ gamma, const float* __restrict__ beta, float* __restrict__ y,
                                           int c, int hw, float eps, int has_gamma, int has_beta) {
    const int row = blockIdx.x, ch = row % c;
    const float mu = mean[ch];
    const float a = (has_gamma ? gamma[ch] : 1.0f) / sqrtf(var[ch] + eps);
    const float b = has_beta ? beta[ch] : 0.0f;
    const float* xr = x + row * hw;
    float* yr = y + row * hw;
    ROW_LOOP(j, hw) yr[j] = (xr[j] - mu) * a + b;
}

extern "C" __global__ void norm_bwd_partial(const float* __restrict__ x, const float* __restrict__ gy,
                                            const float* __restrict__ mean, const float* __restrict__ invstd,
                                            int stats, int hw, int reps, int rep_stride, int chunk, float* __restrict__ ws) {
    __shared__ float s_gy[32];
    __shared__ float s_gyx[32];
    const int s = blockIdx.x, z = blockIdx.y;
    const int count = reps * hw;
    const int e0 = z * chunk, e1 = min(count, e0 + chunk);
    const float mu = mean[s], is = invstd[s];
    float a = 0.0f, b = 0.0f;
    ElemWalk it(e0 + threadIdx.x, hw, blockDim.x);
    for (int e = e0 + threadIdx.x; e < e1; e += blockDim.x, it.next()) {
        const int i = s * hw + it.r * rep_stride + it.j;
        const float g = gy[i];
        a += g;
        b += g * (x[i] - mu) * is;
    }
    a = warp_sum(a);
    b = warp_sum(b);
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    if (lane == 0) {
        s_gy[warp] = a;
        s_gyx[warp] = b;
    }
    __syncthreads();
    if (warp == 0) {
        const bool ok = lane < (int)(blockDim.x >> 5);
        a = warp_sum(ok ? s_gy[lane] : 0.0f);
        b = warp_sum(ok ? s_gyx[lane] : 0.0f);
        if (lane == 0) {
            ws[z * 2 * stats + s] = a;
            ws[z * 2 * stats + stats + s] = b;
        }
    }
}

// sums = [sum gy (stats), sum gy*xhat (stats)]; gamma may be null. Row kernel as above.
extern "C" __global__ void norm_bwd_apply(const float* __restrict__ x, const float* __restrict__ gy,
                                          const float* __restrict__ mean, const float* __restrict__ invstd,
                                          const float* __restrict__ gamma, const float* __restrict__ sums, float* __restrict__ gx,
                                          int c, int hw, int instance, int stats, float inv_count, int has_gamma) {
    const int row = blockIdx.x, ch = row % c, s = instance ? row : ch;
    const float mu = mean[s], is = invstd[s];
    const float scale = has_gamma ? gamma[ch] * is : is;
    const float mean_gy = sums[s] * inv_count, mean_gyx = sums[stats + s] * inv_count;
    const int off = row * hw;
    ROW_LOOP(j, hw) {
        const float xhat = (x[off + j] - mu) * is;
        gx[off + j] = scale * (gy[off + j] - mean_gy - xhat * mean_gyx);
    }
}

// per_channel statistics per channel (n for instance norm, 1 for batch norm); statistic of
// (ni, ch) is ni*c + ch (instance) or ch (batch, per_channel = 1).
extern "C" __global__ void norm_param_grads(const float* __restrict__ sums, int stats, int c, int per_channel,
                                            float* __restrict__ ggamma, float* __restrict__ gbeta) {
    GRID_STRIDE(ch, c) {
        float gg = 0.0f, gb = 0.0f;
        for (int r = 0; r < per_channel; ++r) {
            gb += sums[r * c + ch];
            gg += sums[stats + r * c + ch];
        }
        ggamma[ch] = gg;
        gbeta[ch] = gb;
    }
}

// var_unbiased = (1/invstd^2 - eps) * count/(count-1) (unbias = count/(count-1), from the host).
extern "C" __global__ void norm_running(float* __restrict__ run_mean, float* __restrict__ run_var,
                                        const float* __restrict__ mean, const float* __restrict__ invstd,
                                        int len, float momentum, float eps, float unbias) {
    GRID_STRIDE(i, len) {
        const float is = invstd[i];
        const float var = (1.0f / (is * is) - eps) * unbias;
        run_mean[i] = (1.0f - momentum) * run_mean[i] + momentum * mean[i];
        run_var[i] = (1.0f - momentum) * run_var[i] + momentum * var;
    }
}
