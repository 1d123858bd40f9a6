// The CUDA execution model on the host, for the emulator (`--device emu`).
//
// Kernel files (`kernels/*.cu`) are compiled by the host C++ compiler against this header.
// build.rs wraps each file in its own namespace, strips `extern "C"` from its entry points and
// rewrites each `__shared__ T name[..];` into a reference to per-block shared memory
// (`EMU_SHARED_VAR`), so the same source runs unchanged under NVRTC.
//
// Execution: every CUDA thread of a block runs on a fiber of one OS thread (runtime.cpp);
// `__syncthreads()` and the warp operations are real barriers that switch fibers, and between
// barriers the threads run in a seeded random order. Blocks run in parallel on OS threads.
#ifndef ENGINE_EMU_H
#define ENGINE_EMU_H

#include <math.h>
#include <stdint.h>
#include <string.h>
#include <type_traits>
#include <utility>

// ---- CUDA qualifiers ----------------------------------------------------------------------
#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __noinline__ __attribute__((noinline))
#define __launch_bounds__(...)
#define __align__(n) alignas(n)
#define __constant__
// `__shared__` only survives where build.rs did not rewrite it (file scope is rejected there).
#define __shared__ static_assert(false, "emulator: __shared__ must be rewritten by build.rs");

// ---- vector types -------------------------------------------------------------------------
struct uint3 { unsigned int x, y, z; };
struct dim3 { unsigned int x, y, z; };
struct alignas(8) float2 { float x, y; };
struct alignas(16) float4 { float x, y, z, w; };
struct alignas(8) int2 { int x, y; };
struct alignas(16) int4 { int x, y, z, w; };
struct alignas(16) uint4 { unsigned int x, y, z, w; };
inline float2 make_float2(float x, float y) { return {x, y}; }
inline float4 make_float4(float x, float y, float z, float w) { return {x, y, z, w}; }
inline int2 make_int2(int x, int y) { return {x, y}; }
inline int4 make_int4(int x, int y, int z, int w) { return {x, y, z, w}; }
inline uint4 make_uint4(unsigned x, unsigned y, unsigned z, unsigned w) { return {x, y, z, w}; }

// ---- the runtime's side (runtime.cpp) -----------------------------------------------------
namespace emu {

// Where the current CUDA thread stands. Plain `__thread` pointers: no TLS wrapper calls.
struct BlockEnv {
    uint3 block_idx;
    dim3 block_dim;
    dim3 grid_dim;
};
extern __thread const uint3* t_thread_idx;
extern __thread BlockEnv t_env;

void syncthreads();
// A barrier that also counts the threads whose `pred` is non-zero.
int syncthreads_count(int pred);
// Warp operations: every participating lane deposits `value`, waits for the others of `mask`
// (restricted to live lanes), and gets back the value deposited by lane `src` (a poison value
// when that lane did not take part). `src < 0` means "no exchange".
uint64_t warp_exchange(unsigned mask, uint64_t value, int src);
// Ballot over the participating lanes of `mask`.
unsigned warp_ballot(unsigned mask, bool pred);
unsigned lane_id();
unsigned live_lanes();
void* dyn_shared();
// Per-block storage of the `slot`-th `__shared__` declaration of a module (poisoned with NaN
// at first use in each block, with a guard zone checked when the block ends).
void* shared_var(unsigned slot, size_t bytes, size_t align);

template <class T>
inline T* shared_var_of(unsigned slot) {
    return static_cast<T*>(shared_var(slot, sizeof(T), alignof(T)));
}

// Calls `f` with its parameters read from `args` as cuLaunchKernel does (args[i] points at
// the i-th parameter's value).
template <class... A, size_t... I>
inline void invoke_impl(void (*f)(A...), void** args, std::index_sequence<I...>) {
    f(*static_cast<std::remove_cv_t<A>*>(args[I])...);
}
template <class... A>
inline void invoke(void (*f)(A...), void** args) {
    static_assert(((std::is_pointer_v<A> || std::is_arithmetic_v<A>) && ...),
                  "kernel parameters must be pointers or scalars");
    invoke_impl(f, args, std::index_sequence_for<A...>{});
}
template <class... A>
constexpr int param_count(void (*)(A...)) { return sizeof...(A); }

// One entry point of a module, as listed by the generated registry.
struct KernelEntry {
    const char* name;
    void (*run)(void** args);
    int nparams;
};
struct ModuleEntry {
    const char* name;
    const KernelEntry* kernels;
    int count;
};

template <class T>
inline uint64_t to_bits(T v) {
    static_assert(sizeof(T) <= 8, "warp exchange of a type wider than 8 bytes");
    uint64_t b = 0;
    memcpy(&b, &v, sizeof(T));
    return b;
}
template <class T>
inline T from_bits(uint64_t b) {
    T v;
    memcpy(&v, &b, sizeof(T));
    return v;
}

}  // namespace emu

#define EMU_SHARED_VAR(slot, type) (*::emu::shared_var_of<type>(slot))
#define threadIdx (*::emu::t_thread_idx)
#define blockIdx (static_cast<const uint3&>(::emu::t_env.block_idx))
#define blockDim (static_cast<const dim3&>(::emu::t_env.block_dim))
#define gridDim (static_cast<const dim3&>(::emu::t_env.grid_dim))
#define warpSize 32

// ---- barriers and warp operations ---------------------------------------------------------
inline void __syncthreads() { emu::syncthreads(); }
inline int __syncthreads_count(int pred) { return emu::syncthreads_count(pred); }
inline int __syncthreads_and(int pred) { return emu::syncthreads_count(!pred) == 0; }
inline int __syncthreads_or(int pred) { return emu::syncthreads_count(pred) != 0; }
inline void __syncwarp(unsigned mask = 0xffffffffu) { emu::warp_exchange(mask, 0, -1); }
inline void __threadfence() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
inline void __threadfence_block() { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
inline unsigned __activemask() { return emu::live_lanes(); }

// Source lane of each shuffle flavour for a lane inside groups of `width` lanes; -2 keeps
// the caller's own value (CUDA's rule when the source falls outside the group).
inline int emu_group_base(int width) { return (int)(emu::lane_id() & ~(unsigned)(width - 1)); }

template <class T>
inline T __shfl_sync(unsigned mask, T v, int src, int width = 32) {
    int lane = emu_group_base(width) + (src & (width - 1));
    return emu::from_bits<T>(emu::warp_exchange(mask, emu::to_bits(v), lane));
}
template <class T>
inline T __shfl_xor_sync(unsigned mask, T v, int lane_mask, int width = 32) {
    int me = (int)emu::lane_id();
    int src = me ^ lane_mask;
    // CUDA: a lane may read from earlier groups of `width` lanes, not from later ones.
    if (src >= (me & ~(width - 1)) + width) src = me;
    uint64_t r = emu::warp_exchange(mask, emu::to_bits(v), src);
    return emu::from_bits<T>(r);
}
template <class T>
inline T __shfl_down_sync(unsigned mask, T v, unsigned delta, int width = 32) {
    int me = (int)emu::lane_id();
    int src = me + (int)delta;
    if ((src & ~(width - 1)) != (me & ~(width - 1))) src = me;
    return emu::from_bits<T>(emu::warp_exchange(mask, emu::to_bits(v), src));
}
template <class T>
inline T __shfl_up_sync(unsigned mask, T v, unsigned delta, int width = 32) {
    int me = (int)emu::lane_id();
    int src = me - (int)delta;
    if (src < 0 || (src & ~(width - 1)) != (me & ~(width - 1))) src = me;
    return emu::from_bits<T>(emu::warp_exchange(mask, emu::to_bits(v), src));
}
inline unsigned __ballot_sync(unsigned mask, int pred) { return emu::warp_ballot(mask, pred != 0); }
inline int __any_sync(unsigned mask, int pred) { return emu::warp_ballot(mask, pred != 0) != 0; }
inline int __all_sync(unsigned mask, int pred) { return emu::warp_ballot(mask, pred == 0) == 0; }

// ---- atomics (blocks run on several OS threads: real atomics) -----------------------------
inline int atomicAdd(int* p, int v) { return __atomic_fetch_add(p, v, __ATOMIC_RELAXED); }
inline unsigned atomicAdd(unsigned* p, unsigned v) { return __atomic_fetch_add(p, v, __ATOMIC_RELAXED); }
inline unsigned long long atomicAdd(unsigned long long* p, unsigned long long v) {
    return __atomic_fetch_add(p, v, __ATOMIC_RELAXED);
}
inline float atomicAdd(float* p, float v) {
    unsigned* u = reinterpret_cast<unsigned*>(p);
    unsigned old = __atomic_load_n(u, __ATOMIC_RELAXED);
    for (;;) {
        float f;
        memcpy(&f, &old, 4);
        f += v;
        unsigned nw;
        memcpy(&nw, &f, 4);
        if (__atomic_compare_exchange_n(u, &old, nw, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
            memcpy(&f, &old, 4);
            return f;
        }
    }
}
inline int atomicSub(int* p, int v) { return __atomic_fetch_sub(p, v, __ATOMIC_RELAXED); }
inline unsigned atomicSub(unsigned* p, unsigned v) { return __atomic_fetch_sub(p, v, __ATOMIC_RELAXED); }
inline int atomicExch(int* p, int v) { return __atomic_exchange_n(p, v, __ATOMIC_RELAXED); }
inline unsigned atomicExch(unsigned* p, unsigned v) { return __atomic_exchange_n(p, v, __ATOMIC_RELAXED); }
inline float atomicExch(float* p, float v) {
    unsigned nw, old;
    memcpy(&nw, &v, 4);
    old = __atomic_exchange_n(reinterpret_cast<unsigned*>(p), nw, __ATOMIC_RELAXED);
    float r;
    memcpy(&r, &old, 4);
    return r;
}
template <class T>
inline T emu_atomic_cas(T* p, T compare, T val) {
    __atomic_compare_exchange_n(p, &compare, val, false, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
    return compare;  // holds the old value either way
}
inline int atomicCAS(int* p, int c, int v) { return emu_atomic_cas(p, c, v); }
inline unsigned atomicCAS(unsigned* p, unsigned c, unsigned v) { return emu_atomic_cas(p, c, v); }
inline unsigned long long atomicCAS(unsigned long long* p, unsigned long long c, unsigned long long v) {
    return emu_atomic_cas(p, c, v);
}
template <class T>
inline T emu_atomic_minmax(T* p, T v, bool want_max) {
    T old = __atomic_load_n(p, __ATOMIC_RELAXED);
    while (want_max ? old < v : v < old) {
        if (__atomic_compare_exchange_n(p, &old, v, true, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) break;
    }
    return old;
}
inline int atomicMax(int* p, int v) { return emu_atomic_minmax(p, v, true); }
inline unsigned atomicMax(unsigned* p, unsigned v) { return emu_atomic_minmax(p, v, true); }
inline int atomicMin(int* p, int v) { return emu_atomic_minmax(p, v, false); }
inline unsigned atomicMin(unsigned* p, unsigned v) { return emu_atomic_minmax(p, v, false); }

// ---- bit casts and integer intrinsics -----------------------------------------------------
inline float __int_as_float(int v) { float f; memcpy(&f, &v, 4); return f; }
inline int __float_as_int(float f) { int v; memcpy(&v, &f, 4); return v; }
inline float __uint_as_float(unsigned v) { float f; memcpy(&f, &v, 4); return f; }
inline unsigned __float_as_uint(float f) { unsigned v; memcpy(&v, &f, 4); return v; }
inline unsigned __umulhi(unsigned a, unsigned b) { return (unsigned)(((unsigned long long)a * b) >> 32); }
inline unsigned long long __umul64hi(unsigned long long a, unsigned long long b) {
    return (unsigned long long)(((unsigned __int128)a * b) >> 64);
}
inline int __mulhi(int a, int b) { return (int)(((long long)a * b) >> 32); }
inline int __popc(unsigned v) { return __builtin_popcount(v); }
inline int __popcll(unsigned long long v) { return __builtin_popcountll(v); }
inline int __clz(int v) { return v == 0 ? 32 : __builtin_clz((unsigned)v); }
inline int __ffs(int v) { return __builtin_ffs(v); }
inline unsigned __brev(unsigned v) {
    unsigned r = 0;
    for (int i = 0; i < 32; i++) r |= ((v >> i) & 1u) << (31 - i);
    return r;
}

// ---- min / max (CUDA overloads them for every arithmetic type) ----------------------------
inline int min(int a, int b) { return a < b ? a : b; }
inline int max(int a, int b) { return a > b ? a : b; }
inline unsigned min(unsigned a, unsigned b) { return a < b ? a : b; }
inline unsigned max(unsigned a, unsigned b) { return a > b ? a : b; }
inline long long min(long long a, long long b) { return a < b ? a : b; }
inline long long max(long long a, long long b) { return a > b ? a : b; }
inline unsigned long long min(unsigned long long a, unsigned long long b) { return a < b ? a : b; }
inline unsigned long long max(unsigned long long a, unsigned long long b) { return a > b ? a : b; }
inline float min(float a, float b) { return fminf(a, b); }
inline float max(float a, float b) { return fmaxf(a, b); }

// ---- float intrinsics (the IEEE functions come from <math.h>) -----------------------------
inline float rsqrtf(float x) { return 1.0f / sqrtf(x); }
inline float __expf(float x) { return expf(x); }
inline float __logf(float x) { return logf(x); }
inline float __sinf(float x) { return sinf(x); }
inline float __cosf(float x) { return cosf(x); }
inline float __powf(float x, float y) { return powf(x, y); }
inline float __fdividef(float a, float b) { return a / b; }
inline float __frcp_rn(float x) { return 1.0f / x; }
inline float __fsqrt_rn(float x) { return sqrtf(x); }
inline float __saturatef(float x) { return x < 0.0f ? 0.0f : (x > 1.0f ? 1.0f : x); }
inline float __fmaf_rn(float a, float b, float c) { return fmaf(a, b, c); }
inline float __fmul_rn(float a, float b) { return a * b; }
inline float __fadd_rn(float a, float b) { return a + b; }
inline float __fsub_rn(float a, float b) { return a - b; }
inline float __fdiv_rn(float a, float b) { return a / b; }
template <class T>
inline T __ldg(const T* p) { return *p; }

#include "tc.h"

#endif  // ENGINE_EMU_H
