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
