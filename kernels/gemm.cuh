// gemm.cuh: the shared-memory GEMM core of conv.cu and gram.cu. A block of BLOCK (256)
// threads computes a GEMM_TILE x GEMM_TILE (64x64) tile of C = A*B, stepping through K in
// slices of GEMM_BK (16) staged in shared memory in [k][m] and [k][n] layouts, rows padded to
// LDS_ROW floats (16-byte aligned for float4 reads, transposing stores at most 2-way
// bank-conflicted). Thread (tx, ty) = (t % 16, t / 16) owns the 4x4 micro tile of rows 4ty..
// and columns 4tx..; per k it reads one float4 of A and one of B (2 shared loads, 16 FMAs).
// Each kernel supplies its own loaders (how it gathers A and B) and epilogue.
#ifndef ENGINE_GEMM_CUH
#define ENGINE_GEMM_CUH

#include "prelude.cuh"

#define BM GEMM_TILE
#define BN GEMM_TILE
#define BK GEMM_BK
#define LDS_ROW (GEMM_TILE + 4) // padded row of a shared tile (floats)

static_assert(BLOCK == (GEMM_TILE / 4) * (GEMM_TILE / 4), "one thread per 4x4 micro tile");
static_assert(BLOCK * 4 == GEMM_TILE * GEMM_BK, "each thread stages 4 elements of A and of B per slice");

// acc += A-slice^T * B-slice for the thread's 4x4 micro tile (rows 4ty.., columns 4tx..).
__device__ __forceinline__ void tile_fma(float acc[4][4], const float* As, const float* Bs, int tx, int ty) {
    for (int k = 0; k < BK; ++k) {
        const float4 a = *reinterpret_cast<const float4*>(As + k * LDS_ROW + 4 * ty);
        const float4 b = *reinterpret_cast<const float4*>(Bs + k * LDS_ROW + 4 * tx);
        const float av[4] = {a.x, a.y, a.z, a.w};
        const float bv[4] = {b.x, b.y, b.z, b.w};
        for (int i = 0; i < 4; ++i)
            for (int j = 0; j < 4; ++j) acc[i][j] = fmaf(av[i], bv[j], acc[i][j]);
    }
}

// The K loop of every GEMM kernel over [kbeg, kend): `load(k0)` fetches the slice at k0 into
// the thread's registers, `store()` writes those registers to the shared tiles As / Bs. The
// next slice is fetched while the current one is multiplied (one shared buffer, two
// barriers per slice). Every thread of the block must call it with the same range.
template <class Load, class Store>
__device__ __forceinline__ void gemm_k_loop(float acc[4][4], const float* As, const float* Bs, int kbeg, int kend,
                                            int tx, int ty, Load load, Store store) {
    if (kbeg < kend) load(kbeg);
    for (int k0 = kbeg; k0 < kend; k0 += BK) {
        store();
        __syncthreads();
        if (k0 + BK < kend) load(k0 + BK);
        tile_fma(acc, As, Bs, tx, ty);
        __syncthreads();
    }
}

#endif  // ENGINE_GEMM_CUH
