#include "prelude.cuh"
// selftest.cu: kernels that exercise the execution model rather than an op: static and dynamic
// shared memory with barriers, warp shuffles and votes, atomics, and deliberately broken kernels
// (a missing barrier, an out-of-bounds write, a shared-memory overflow, a deadlock) that the
// emulator must catch. Used by tests/emulator.rs; the broken ones must never run on a GPU.

#define TILE 16

// C[M,N] = A[M,K] B[K,N], row-major. Grid (ceil(N/16), ceil(M/16)), block (16,16).
// Moves 4*(M*K*ceil(N/16) + K*N*ceil(M/16) + M*N) bytes, 2*M*N*K FLOPs.
extern "C" __global__ void matmul_tiled(const float* A, const float* B, float* C, int M, int N, int K) {
    __shared__ float As[TILE][TILE + 1];
    __shared__ float Bs[TILE][TILE + 1];
    int tx = threadIdx.x, ty = threadIdx.y;
    int row = blockIdx.y * TILE + ty, col = blockIdx.x * TILE + tx;
    float acc = 0.0f;
    for (int t = 0; t < K; t += TILE) {
        As[ty][tx] = (row < M && t + tx < K) ? A[row * K + t + tx] : 0.0f;
        Bs[ty][tx] = (t + ty < K && col < N) ? B[(t + ty) * N + col] : 0.0f;
        __syncthreads();
        for (int k = 0; k < TILE; k++) acc += As[ty][k] * Bs[k][tx];
        __syncthreads();
    }
    if (row < M && col < N) C[row * N + col] = acc;
}

// BROKEN on purpose: matmul_tiled without the second barrier, so a fast thread overwrites a
// tile that slower threads still read.
extern "C" __global__ void matmul_tiled_racy(const float* A, const float* B, float* C, int M, int N, int K) {
    __shared__ float As[TILE][TILE + 1];
    __shared__ float Bs[TILE][TILE + 1];
    int tx = threadIdx.x, ty = threadIdx.y;
    int row = blockIdx.y * TILE + ty, col = blockIdx.x * TILE + tx;
    float acc = 0.0f;
    for (int t = 0; t < K; t += TILE) {
        As[ty][tx] = (row < M && t + tx < K) ? A[row * K + t + tx] : 0.0f;
        Bs[ty][tx] = (t + ty < K && col < N) ? B[(t + ty) * N + col] : 0.0f;
        __syncthreads();
        for (int k = 0; k < TILE; k++) acc += As[ty][k] * Bs[k][tx];
    }
    if (row < M && col < N) C[row * N + col] = acc;
}

// y[i] = x[i + 1 within the block, wrapping], through shared memory. Grid n/blockDim.x.
extern "C" __global__ void shift_sync(const float* x, float* y) {
    __shared__ float s[1024];
    int t = threadIdx.x, i = blockIdx.x * blockDim.x + t;
    s[t] = x[i];
    __syncthreads();
    y[i] = s[(t + 1) % blockDim.x];
}

// BROKEN on purpose: shift_sync without its barrier.
extern "C" __global__ void shift_racy(const float* x, float* y) {
    __shared__ float s[1024];
    int t = threadIdx.x, i = blockIdx.x * blockDim.x + t;
    s[t] = x[i];
    y[i] = s[(t + 1) % blockDim.x];
}

// out[b] = sum of the b-th blockDim.x elements of x (zero past n): a tree reduction in dynamic
// shared memory of blockDim.x floats. blockDim.x a power of two.
extern "C" __global__ void block_sum_dyn(const float* x, float* out, int n) {
    DYN_SHARED(float, s);
    int t = threadIdx.x, i = blockIdx.x * blockDim.x + t;
    s[t] = i < n ? x[i] : 0.0f;
    __syncthreads();
    for (int h = blockDim.x / 2; h > 0; h >>= 1) {
        if (t < h) s[t] += s[t + h];
        __syncthreads();
    }
    if (t == 0) out[blockIdx.x] = s[0];
}

// Per warp w of the grid (x has 32 values per warp), out[8w + ...]:
// 0 sum by __shfl_down_sync (lane 0's value), 1 max by __shfl_xor_sync (warp_max, lane 31's),
// 2 lane 5's value broadcast by __shfl_sync (read on lane 17), 3 popcount of the ballot of
// x > 0, 4 __any_sync(x > 2), 5 __all_sync(x > -10), 6 sum over groups of 8 lanes (width 8,
// lane 8's value), 7 value of lane 12 seen by lane 13 through __shfl_up_sync(1).
extern "C" __global__ void warp_ops(const float* x, float* out) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    int lane = threadIdx.x % 32, w = i / 32;
    float v = x[i];
    float s = v;
    for (int o = 16; o > 0; o >>= 1) s += __shfl_down_sync(FULL_MASK, s, o);
    float m = warp_max(v);
    float b = __shfl_sync(FULL_MASK, v, 5);
    unsigned bal = __ballot_sync(FULL_MASK, v > 0.0f);
    int any = __any_sync(FULL_MASK, v > 2.0f);
    int all = __all_sync(FULL_MASK, v > -10.0f);
    float g = v;
    for (int o = 4; o > 0; o >>= 1) g += __shfl_xor_sync(FULL_MASK, g, o, 8);
    float up = __shfl_up_sync(FULL_MASK, v, 1);
    if (lane == 0) out[8 * w + 0] = s;
    if (lane == 31) out[8 * w + 1] = m;
    if (lane == 17) out[8 * w + 2] = b;
    if (lane == 0) out[8 * w + 3] = (float)__popc(bal);
    if (lane == 0) out[8 * w + 4] = (float)any;
    if (lane == 0) out[8 * w + 5] = (float)all;
    if (lane == 8) out[8 * w + 6] = g;
    if (lane == 13) out[8 * w + 7] = up;
}

// Histogram of x in [0, 1) over nbins: sums[bin] += x (atomicAdd float), counts[bin] += 1
// (atomicAdd int), maxbits = max bit pattern of x (atomicMax int; x >= 0 so it orders like
// floats), total += x through an atomicCAS loop.
extern "C" __global__ void atomic_hist(const float* x, float* sums, int* counts, int* maxbits, float* total, int n, int nbins) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= n) return;
    float v = x[i];
    int bin = min((int)(v * nbins), nbins - 1);
    atomicAdd(&sums[bin], v);
    atomicAdd(&counts[bin], 1);
    atomicMax(maxbits, __float_as_int(v));
    int* t = reinterpret_cast<int*>(total);
    int old = *t, seen;
    do {
        seen = old;
        old = atomicCAS(t, seen, __float_as_int(__int_as_float(seen) + v));
    } while (old != seen);
}

// y[i] = a * x[i] + y[i]: no barrier, the emulator's fast path.
extern "C" __global__ void axpy(float* y, const float* x, float a, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i < n) y[i] = a * x[i] + y[i];
}

// BROKEN on purpose: also writes y[n], one past the end.
extern "C" __global__ void oob_write(float* y, int n) {
    int i = blockIdx.x * blockDim.x + threadIdx.x;
    if (i <= n) y[i] = 1.0f;
}

// BROKEN on purpose: a 32-float __shared__ array written by 33 threads (launch with 33).
extern "C" __global__ void shared_overflow(float* y) {
    __shared__ float s[32];
    s[threadIdx.x] = 1.0f;
    __syncthreads();
    if (threadIdx.x == 0) y[0] = s[0];
}

// BROKEN on purpose: half a warp waits at __syncthreads, the other half at a shuffle.
extern "C" __global__ void divergent_barrier(float* y) {
    if (threadIdx.x < 16) {
        __syncthreads();
    } else {
        y[threadIdx.x] = __shfl_xor_sync(FULL_MASK, 1.0f, 1);
    }
}

// Declaration forms the emulator's build step must rewrite. out[i] = 2 x[i] + the number of
// threads of the block whose x > 0 (zero past n). Block 128.
extern "C"
__global__ void __launch_bounds__(128) syntax_forms(const float* x, float* out, int n) {
    __shared__ volatile float v[128];
    __shared__ __align__(16) float4 q[32];
    __shared__ int counter;
    int t = threadIdx.x, i = blockIdx.x * blockDim.x + t;
    float xi = i < n ? x[i] : 0.0f;
    v[t] = xi;
    if (t < 32) q[t] = make_float4(0.0f, 0.0f, 0.0f, 0.0f);
    if (t == 0) counter = 0;
    __syncthreads();
    atomicAdd(&counter, 1);
    int positives = __syncthreads_count(xi > 0.0f);
    if (i < n) out[i] = v[t] + v[t] + (float)positives + (float)(counter - (int)blockDim.x) + q[t % 32].x;
}
