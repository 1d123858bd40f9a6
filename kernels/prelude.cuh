// prelude.cuh: the only header a kernel file includes. It works under NVRTC (no CUDA headers
// exist there) and under the host emulator (`--device emu`, see kernels/emu/emu.h).
//
// CONTRACT FOR KERNEL FILES (kept stable; the emulator's build step relies on it)
// - A kernel file `kernels/<module>.cu` starts with `#include "prelude.cuh"` and includes
//   nothing else but our own headers (`gemm.cuh`; any `kernels/*.cuh` is given to NVRTC).
//   The module name is the file stem. Headers hold no `__shared__` declarations (the
//   emulator rewrites those only in the .cu file).
// - Entry points are written `extern "C" __global__ void name(...)`, with parameters of
//   types `float*`, `const float*`, `int*`, `int`, `unsigned int`, `float`,
//   `unsigned long long` only. Helper functions are `__device__` (optionally
//   `__forceinline__`); names only need to be unique within their file.
// - Static shared memory is declared inside a function body, one variable per declaration,
//   no initialiser: `__shared__ float tile[16][17];` (qualifiers like `volatile` go after
//   `__shared__`). File-scope `__shared__` and `extern __shared__` are not supported; for
//   dynamic shared memory write `DYN_SHARED(float, smem);` inside the kernel.
// - Available: threadIdx/blockIdx/blockDim/gridDim, warpSize, __syncthreads, __syncwarp,
//   __shfl_sync/__shfl_xor_sync/__shfl_down_sync/__shfl_up_sync, __ballot_sync/__any_sync/
//   __all_sync, atomicAdd (float*, int*, unsigned*), atomicMax/atomicMin (int*, unsigned*),
//   atomicCAS, atomicExch, __int_as_float/__float_as_int/__float_as_uint/__uint_as_float,
//   __umulhi, __popc, __clz, __ffs, min/max, the <math.h> float functions (expf, logf, log1pf,
//   tanhf, sqrtf, rsqrtf, fabsf, fmaxf, fminf, powf, cosf, sinf, floorf, ceilf, roundf, erff,
//   fmaf, ...), __expf, __logf, __fdividef, __ldg, float2/float4 and make_float4,
//   INFINITY / NAN, `__restrict__`, `__forceinline__`, `__launch_bounds__`.
// - Warp operations take a mask; lanes of the mask that exist must all reach the operation.
//   The emulator treats every warp operation as a barrier of those lanes.
// - Host side: `Runtime::launch(module, kernel, grid, block, shared_bytes, args)`, args as
//   `void**` like cuLaunchKernel (each a pointer to the value; device pointers are u64).
#ifndef ENGINE_PRELUDE_CUH
#define ENGINE_PRELUDE_CUH

#if defined(__CUDACC__) || defined(__CUDACC_RTC__)
// ---- real CUDA (NVRTC) ----
#ifndef INFINITY
#define INFINITY __int_as_float(0x7f800000)
#endif
#ifndef NAN
#define NAN __int_as_float(0x7fffffff)
#endif
// One byte array for every kernel of the file, reinterpreted: declarations of `extern
// __shared__` arrays with different element types would clash.
#define DYN_SHARED(T, name)                                           \
    extern __shared__ __align__(16) unsigned char engine_dyn_smem_[]; \
    T* name = reinterpret_cast<T*>(engine_dyn_smem_)
#else
// ---- the host emulator ----
#include "emu/emu.h"
#define DYN_SHARED(T, name) T* name = static_cast<T*>(::emu::dyn_shared())
#endif

// Launch shapes and op codes shared with the Rust launch code (generated from
// kernels/constants.txt).
#include "constants.cuh"

#define FULL_MASK 0xffffffffu

// ---- tensor cores and async copies (sm_80+) ------------------------------------------------
// One PTX instruction each under NVRTC; modelled per the PTX ISA in the emulator (emu/tc.h,
// which says what it checks). Fragments are `unsigned` registers (a .tf32 value, or two
// .bf16 with element 2i in the low half), accumulators `float`.
//   tc_tf32(x)               cvt.rna.tf32.f32
//   tc_bf16x2(lo, hi)        cvt.rn.bf16x2.f32 (lo in the low half)
//   tc_mma_tf32(d, a, b, c)  mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32, a[4] b[2] c,d[4]
//   tc_mma_bf16(d, a, b, c)  mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32, a[4] b[2] c,d[4]
//   tc_ldmatrix_x{1,2,4}[_trans](r, row)  ldmatrix.sync.aligned.m8n8.xN[.trans].shared.b16
//   tc_cp_async16(s, g, full)  cp.async.cg 16 bytes (zero fill when !full); tc_cp_async4: .ca 4
//   tc_cp_commit(), tc_cp_wait<N>()   cp.async.commit_group / cp.async.wait_group N
//   ld_f4(p), st_f4(p, v)    16-byte vector access (the emulator checks the alignment)
#if defined(__CUDACC__) || defined(__CUDACC_RTC__)
__device__ __forceinline__ unsigned tc_smem(const void* p) {
    unsigned r;
    asm("{ .reg .u64 t; cvta.to.shared.u64 t, %1; cvt.u32.u64 %0, t; }" : "=r"(r) : "l"(p));
    return r;
}
__device__ __forceinline__ unsigned tc_tf32(float x) {
    unsigned r;
    asm("cvt.rna.tf32.f32 %0, %1;" : "=r"(r) : "f"(x));
    return r;
}
__device__ __forceinline__ unsigned tc_bf16x2(float lo, float hi) {
    unsigned r;
    asm("cvt.rn.bf16x2.f32 %0, %1, %2;" : "=r"(r) : "f"(hi), "f"(lo));
    return r;
}
__device__ __forceinline__ void tc_mma_tf32(float* d, const unsigned* a, const unsigned* b, const float* c) {
    asm volatile(
        "mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
        "{%10,%11,%12,%13};"
        : "=f"(d[0]), "=f"(d[1]), "=f"(d[2]), "=f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]), "f"(c[0]), "f"(c[1]), "f"(c[2]),
          "f"(c[3]));
}
__device__ __forceinline__ void tc_mma_bf16(float* d, const unsigned* a, const unsigned* b, const float* c) {
    asm volatile(
        "mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32 {%0,%1,%2,%3}, {%4,%5,%6,%7}, {%8,%9}, "
        "{%10,%11,%12,%13};"
        : "=f"(d[0]), "=f"(d[1]), "=f"(d[2]), "=f"(d[3])
        : "r"(a[0]), "r"(a[1]), "r"(a[2]), "r"(a[3]), "r"(b[0]), "r"(b[1]), "f"(c[0]), "f"(c[1]), "f"(c[2]),
          "f"(c[3]));
}
__device__ __forceinline__ void tc_ldmatrix_x1(unsigned* r, const void* row) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x1.shared.b16 {%0}, [%1];" : "=r"(r[0]) : "r"(tc_smem(row))
                 : "memory");
}
__device__ __forceinline__ void tc_ldmatrix_x2(unsigned* r, const void* row) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x2.shared.b16 {%0,%1}, [%2];"
                 : "=r"(r[0]), "=r"(r[1])
                 : "r"(tc_smem(row))
                 : "memory");
}
__device__ __forceinline__ void tc_ldmatrix_x4(unsigned* r, const void* row) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.shared.b16 {%0,%1,%2,%3}, [%4];"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(tc_smem(row))
                 : "memory");
}
__device__ __forceinline__ void tc_ldmatrix_x2_trans(unsigned* r, const void* row) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x2.trans.shared.b16 {%0,%1}, [%2];"
                 : "=r"(r[0]), "=r"(r[1])
                 : "r"(tc_smem(row))
                 : "memory");
}
__device__ __forceinline__ void tc_ldmatrix_x4_trans(unsigned* r, const void* row) {
    asm volatile("ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16 {%0,%1,%2,%3}, [%4];"
                 : "=r"(r[0]), "=r"(r[1]), "=r"(r[2]), "=r"(r[3])
                 : "r"(tc_smem(row))
                 : "memory");
}
__device__ __forceinline__ void tc_cp_async16(void* s, const void* g, bool full) {
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;" ::"r"(tc_smem(s)), "l"(g), "r"(full ? 16 : 0)
                 : "memory");
}
__device__ __forceinline__ void tc_cp_async4(void* s, const void* g, bool full) {
    asm volatile("cp.async.ca.shared.global [%0], [%1], 4, %2;" ::"r"(tc_smem(s)), "l"(g), "r"(full ? 4 : 0)
                 : "memory");
}
__device__ __forceinline__ void tc_cp_commit() { asm volatile("cp.async.commit_group;" ::: "memory"); }
template <int N>
__device__ __forceinline__ void tc_cp_wait() {
    asm volatile("cp.async.wait_group %0;" ::"n"(N) : "memory");
}
__device__ __forceinline__ float4 ld_f4(const float* p) { return *reinterpret_cast<const float4*>(p); }
__device__ __forceinline__ void st_f4(float* p, float4 v) { *reinterpret_cast<float4*>(p) = v; }
#endif

// for (i = this thread's first index; i < n; i += all threads of the grid): the loop of every
// 1-D kernel, whose grid is capped (launch.rs: grid_1d).
#define GRID_STRIDE(i, n) \
    for (int i = blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += blockDim.x * gridDim.x)

// Sum / max over the 32 lanes of a full warp; every lane gets the result.
__device__ __forceinline__ float warp_sum(float v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(FULL_MASK, v, o);
    return v;
}
__device__ __forceinline__ float warp_max(float v) {
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(FULL_MASK, v, o));
    return v;
}

// Sum over the block (blockDim.x a multiple of 32); the result is valid in thread 0.
// `scratch` is 32 floats of shared memory, free again when this returns.
__device__ __forceinline__ float block_sum(float v, float* scratch) {
    const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    v = warp_sum(v);
    if (lane == 0) scratch[warp] = v;
    __syncthreads();
    v = (int)threadIdx.x < (int)(blockDim.x >> 5) ? scratch[threadIdx.x] : 0.0f;
    if (warp == 0) v = warp_sum(v);
    __syncthreads(); // scratch may be reused right after
    return v;
}

#endif  // ENGINE_PRELUDE_CUH
