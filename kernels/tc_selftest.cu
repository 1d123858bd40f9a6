// Self-tests of the prelude's tensor-core and async-copy functions (tests/tensor_core.rs):
// each kernel hands raw fragment registers in and out, so the test can check every lane's
// registers against a scalar model of the PTX ISA's layouts, on the emulator and on a GPU.
// One warp (32 threads) per launch unless noted.
#include "prelude.cuh"

// Fragments as float bit patterns, per lane: in = a[4], b[2], c[4] (10 words); out = d[4].
extern "C" __global__ void mma_tf32_frag(const float* in, float* out) {
    const int lane = threadIdx.x;
    unsigned a[4], b[2];
    float c[4], d[4];
    for (int i = 0; i < 4; i++) a[i] = __float_as_uint(in[lane * 10 + i]);
    for (int i = 0; i < 2; i++) b[i] = __float_as_uint(in[lane * 10 + 4 + i]);
    for (int i = 0; i < 4; i++) c[i] = in[lane * 10 + 6 + i];
    tc_mma_tf32(d, a, b, c);
    for (int i = 0; i < 4; i++) out[lane * 4 + i] = d[i];
}

extern "C" __global__ void mma_bf16_frag(const float* in, float* out) {
    const int lane = threadIdx.x;
    unsigned a[4], b[2];
    float c[4], d[4];
    for (int i = 0; i < 4; i++) a[i] = __float_as_uint(in[lane * 10 + i]);
    for (int i = 0; i < 2; i++) b[i] = __float_as_uint(in[lane * 10 + 4 + i]);
    for (int i = 0; i < 4; i++) c[i] = in[lane * 10 + 6 + i];
    tc_mma_bf16(d, a, b, c);
    for (int i = 0; i < 4; i++) out[lane * 4 + i] = d[i];
}

// Only the lanes below `lanes` reach the mma: a diverged warp, which the emulator rejects.
extern "C" __global__ void mma_diverged(const float* in, float* out, int lanes) {
    const int lane = threadIdx.x;
    unsigned a[4] = {0, 0, 0, 0}, b[2] = {0, 0};
    float c[4] = {in[0], in[0], in[0], in[0]}, d[4];
    if (lane < lanes) {
        tc_mma_tf32(d, a, b, c);
        out[lane] = d[0];
    }
}

// Conversions, bit patterns out: tf32[i] = cvt.rna.tf32(x[i]), bf16[i] = cvt.rn.bf16x2(x[i], -x[i]).
extern "C" __global__ void convert(const float* x, float* tf32, float* bf16, int n) {
    const int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) {
        tf32[i] = __uint_as_float(tc_tf32(x[i]));
        bf16[i] = __uint_as_float(tc_bf16x2(x[i], -x[i]));
    }
}

// ldmatrix of up to four 8x8 b16 matrices staged in shared memory with rows 48 bytes apart
// (16-byte rows plus padding: the row addresses come from the lanes, not from a fixed stride).
// `tile` holds the matrices' 16-bit elements two per word; variant: 0 x1, 1 x2, 2 x4,
// 3 x2.trans, 4 x4.trans; `offset` bytes are added to every row address (16 is fine, 8 is not).
// out[lane * 4 + j] = register j.
extern "C" __global__ void ldmatrix_frag(const float* tile, float* out, int variant, int offset) {
    __shared__ float4 rows[4 * 8 * 3 + 1];
    float* s = reinterpret_cast<float*>(&rows[0]);
    const int lane = threadIdx.x;
    // Lane l copies row l (matrix l / 8, row l % 8): 4 words.
    for (int w = 0; w < 4; w++) s[lane * 12 + w] = tile[lane * 4 + w];
    for (int w = 4; w < 12; w++) s[lane * 12 + w] = -1.0f;
    __syncthreads();
    const unsigned char* row = reinterpret_cast<const unsigned char*>(s + lane * 12) + offset;
    unsigned r[4] = {0, 0, 0, 0};
    switch (variant) {
        case 0: tc_ldmatrix_x1(r, row); break;
        case 1: tc_ldmatrix_x2(r, row); break;
        case 2: tc_ldmatrix_x4(r, row); break;
        case 3: tc_ldmatrix_x2_trans(r, row); break;
        default: tc_ldmatrix_x4_trans(r, row); break;
    }
    for (int j = 0; j < 4; j++) out[lane * 4 + j] = __uint_as_float(r[j]);
}

// A two-stage cp.async pipeline over 64 threads: each thread copies 16 bytes into stage 0 and
// 16 into stage 1 (and a zero-filled 4-byte copy into a third area), waits, and after a barrier
// reads what another thread copied. mode 0: correct waits; mode 1: stage 1 is read after only
// wait_group 1 (its copies are still in flight); mode 2: the barrier before reading is missing.
extern "C" __global__ void cp_async_stages(const float* g, float* out, int mode) {
    __shared__ float4 stage0[64];
    __shared__ float4 stage1[64];
    __shared__ float zeros[64];
    const int t = threadIdx.x;
    tc_cp_async16(&stage0[t], g + 4 * t, true);
    tc_cp_async4(&zeros[t], g, false);
    tc_cp_commit();
    tc_cp_async16(&stage1[t], g + 256 + 4 * t, true);
    tc_cp_commit();
    tc_cp_wait<1>();
    if (mode != 2) __syncthreads();
    const int o = (t + 17) % 64;  // another thread's copy
    const float4 a = stage0[o];
    out[4 * t + 0] = a.x;
    out[4 * t + 1] = a.y;
    out[4 * t + 2] = a.z;
    out[4 * t + 3] = a.w;
    if (mode != 1) tc_cp_wait<0>();
    __syncthreads();
    const float4 b = stage1[o];
    out[256 + 4 * t + 0] = b.x;
    out[256 + 4 * t + 1] = b.y;
    out[256 + 4 * t + 2] = b.z;
    out[256 + 4 * t + 3] = b.w;
    out[512 + t] = zeros[o];
}

// A 16-byte load from an address that is 4 bytes off alignment (the emulator reports it).
extern "C" __global__ void misaligned_f4(const float* g, float* out) {
    const float4 v = ld_f4(g + 1);
    out[threadIdx.x] = v.x;
}

#if !defined(__CUDACC_RTC__)  // kernels named emu_only_* exist only in the emulator
// More static shared memory than any GPU gives a block (ptxas refuses it; the emulator must too).
extern "C" __global__ void emu_only_static_shared_too_big(float* out) {
    __shared__ float big[12 * 1024 + 4];
    big[threadIdx.x] = 1.0f;
    __syncthreads();
    out[threadIdx.x] = big[threadIdx.x];
}
#endif
