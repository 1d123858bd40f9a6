// Counter-based random numbers: Philox4x32-10 exactly as src/backend/philox.rs. Element i
// of stream `seed` uses counter (i_lo, i_hi, 0, 0) and key (seed_lo, seed_hi), so every
// backend draws the same numbers and dropout masks are bit-identical.
//
// All kernels: 1-D grid-stride, block 256; per element write 4 B, ~10 rounds of 2 32-bit
// multiplies (compute-light, write-bound).
// rand_uniform   y = lo + (hi - lo) * u, u = (w0 >> 8) / 2^24 in [0, 1).
// rand_normal    y = mean + std * sqrt(-2 ln u1) cos(2 pi u2), u1 = ((w0 >> 8) + 1) / 2^24,
//                u2 = (w1 >> 8) / 2^24 (Box-Muller, as philox::normal; f32 math here).
// dropout_mask   y = (w0 >> 8) >= threshold ? scale : 0 (integer test, threshold = round(p*2^24)).
#include "prelude.cuh"

struct Words {
    unsigned int w[4];
};

__device__ __forceinline__ Words philox(unsigned long long seed, unsigned long long index) {
    unsigned int c0 = (unsigned int)index, c1 = (unsigned int)(index >> 32), c2 = 0u, c3 = 0u;
    unsigned int k0 = (unsigned int)seed, k1 = (unsigned int)(seed >> 32);
    for (int r = 0; r < 10; ++r) {
        const unsigned int hi0 = __umulhi(0xD2511F53u, c0), lo0 = 0xD2511F53u * c0;
        const unsigned int hi1 = __umulhi(0xCD9E8D57u, c2), lo1 = 0xCD9E8D57u * c2;
        const unsigned int n0 = hi1 ^ c1 ^ k0, n2 = hi0 ^ c3 ^ k1;
        c0 = n0;
        c1 = lo1;
        c2 = n2;
        c3 = lo0;
        k0 += 0x9E3779B9u;
        k1 += 0xBB67AE85u;
    }
    Words r;
    r.w[0] = c0;
    r.w[1] = c1;
    r.w[2] = c2;
    r.w[3] = c3;
    return r;
}

#define INV_2_24 (1.0f / 16777216.0f)

extern "C" __global__ void rand_uniform(float* __restrict__ y, int n, unsigned long long seed, float lo, float hi) {
    GRID_STRIDE(i, n) {
        const float u = (float)(philox(seed, (unsigned long long)i).w[0] >> 8) * INV_2_24;
        y[i] = lo + (hi - lo) * u;
    }
}

extern "C" __global__ void rand_normal(float* __restrict__ y, int n, unsigned long long seed, float mean, float std) {
    GRID_STRIDE(i, n) {
        const Words r = philox(seed, (unsigned long long)i);
        const float u1 = (float)((r.w[0] >> 8) + 1u) * INV_2_24;
        const float u2 = (float)(r.w[1] >> 8) * INV_2_24;
        const float z = sqrtf(-2.0f * logf(u1)) * cosf(6.28318530717958647692f * u2);
        y[i] = mean + std * z;
    }
}

extern "C" __global__ void dropout_mask(float* __restrict__ y, int n, unsigned long long seed, unsigned int threshold, float scale) {
    GRID_STRIDE(i, n) y[i] = (philox(seed, (unsigned long long)i).w[0] >> 8) >= threshold ? scale : 0.0f;
}
