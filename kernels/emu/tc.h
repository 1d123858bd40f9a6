// The tensor-core instructions of kernels/prelude.cuh, modelled on the host for the emulator.
// Under NVRTC the same `tc_*` functions are one PTX instruction each (prelude.cuh); here each
// follows the PTX ISA's description (8.x, "Warp-level matrix instructions", "cp.async"):
//
// - mma.sync.aligned.m16n8k8.row.col.f32.tf32.tf32.f32 and .m16n8k16 .bf16: `.aligned`, so
//   all 32 lanes of the warp must reach the same instruction (else an error); the last lane to
//   arrive gathers every lane's fragment registers (groupID = lane >> 2, threadID_in_group =
//   lane % 4), computes D = A*B + C with exact products and a double accumulator (the
//   hardware's order and rounding are not specified: tests use per-precision tolerances), and
//   writes each lane's D fragment before any lane resumes. A .tf32 operand whose low 13 bits
//   are not zero is an error (stricter than the ISA: it means the kernel skipped cvt.rna).
// - ldmatrix.sync.aligned.m8n8.{x1,x2,x4}{,.trans}.shared.b16: lanes 8j..8j+7 give the row
//   addresses of matrix j (16-byte aligned, inside the block's shared memory, else an error).
// - cp.async.{ca,cg}.shared.global with zero fill: the source is read at issue and the
//   destination poisoned (NaN) until the thread's matching cp.async.wait_group, so a missing
//   wait (or a missing barrier before another thread reads) reads NaN.
// - cvt.rna.tf32.f32 (nearest, ties away from zero) and cvt.rn.bf16x2.f32 (nearest even),
//   bit-exact; NaN becomes the canonical NaN.
#ifndef ENGINE_EMU_TC_H
#define ENGINE_EMU_TC_H

namespace emu {

void fail(const char* msg);
bool in_shared(const void* p, size_t bytes);
// Every lane of the warp deposits `rec`; the last to arrive runs `fn` over all 32 records.
void warp_collective(int kind, void* rec, void (*fn)(void* const* recs));
void cp_async(void* dst, const void* src, unsigned cp_size, unsigned src_size, bool cg);
void cp_async_commit();
void cp_async_wait(unsigned pending);

enum TcKind { TC_MMA_TF32 = 1, TC_MMA_BF16 = 2, TC_LDMATRIX = 8 };  // ldmatrix: 8 + 2*count + trans

inline uint32_t f32_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}
inline float bits_f32(uint32_t u) {
    float f;
    memcpy(&f, &u, 4);
    return f;
}

inline uint32_t cvt_rna_tf32(float x) {
    uint32_t u = f32_bits(x);
    if ((u & 0x7fffffffu) > 0x7f800000u) return 0x7fffffffu;
    // Adding half an ulp of the 10-bit mantissa and truncating rounds ties away from zero;
    // a carry into the exponent (up to infinity) is the correct rounding too.
    return (u + 0x1000u) & 0xffffe000u;
}
inline uint32_t cvt_rn_bf16(float x) {
    uint32_t u = f32_bits(x);
    if ((u & 0x7fffffffu) > 0x7f800000u) return 0x7fffu;
    return (u + 0x7fffu + ((u >> 16) & 1u)) >> 16;
}

struct MmaRec {
    uint32_t a[4];
    uint32_t b[2];
    float c[4];
    float* d;
};

inline void mma_scatter(void* const* recs, const double (*D)[8]) {
    for (unsigned lane = 0; lane < 32; lane++) {
        const unsigned g = lane >> 2, t = lane & 3;
        float* d = static_cast<MmaRec*>(recs[lane])->d;
        d[0] = (float)D[g][2 * t];
        d[1] = (float)D[g][2 * t + 1];
        d[2] = (float)D[g + 8][2 * t];
        d[3] = (float)D[g + 8][2 * t + 1];
    }
}

// D (16x8) = A (16xK) * B (Kx8) + C, all as doubles; products of tf32/bf16 values are exact.
template <int K>
inline void mma_core(const double (*A)[K], const double (*B)[8], void* const* recs) {
    double D[16][8];
    for (unsigned lane = 0; lane < 32; lane++) {
        const unsigned g = lane >> 2, t = lane & 3;
        const float* c = static_cast<MmaRec*>(recs[lane])->c;
        D[g][2 * t] = c[0];
        D[g][2 * t + 1] = c[1];
        D[g + 8][2 * t] = c[2];
        D[g + 8][2 * t + 1] = c[3];
    }
    for (int m = 0; m < 16; m++)
        for (int n = 0; n < 8; n++) {
            double s = D[m][n];
            for (int k = 0; k < K; k++) s += A[m][k] * B[k][n];
            D[m][n] = s;
        }
    mma_scatter(recs, D);
}

inline void mma_tf32_run(void* const* recs) {
    double A[16][8], B[8][8];
    bool rounded = true;
    for (unsigned lane = 0; lane < 32; lane++) {
        const unsigned g = lane >> 2, t = lane & 3;
        const MmaRec* r = static_cast<const MmaRec*>(recs[lane]);
        for (int i = 0; i < 4; i++) rounded &= (r->a[i] & 0x1fffu) == 0;
        for (int i = 0; i < 2; i++) rounded &= (r->b[i] & 0x1fffu) == 0;
        A[g][t] = bits_f32(r->a[0]);
        A[g + 8][t] = bits_f32(r->a[1]);
        A[g][t + 4] = bits_f32(r->a[2]);
        A[g + 8][t + 4] = bits_f32(r->a[3]);
        B[t][g] = bits_f32(r->b[0]);
        B[t + 4][g] = bits_f32(r->b[1]);
    }
    if (!rounded) fail("mma .tf32 operand with non-zero low 13 bits (round it with cvt.rna.tf32.f32 first)");
    mma_core<8>(A, B, recs);
}

inline double bf16_lo(uint32_t v) { return bits_f32(v << 16); }
inline double bf16_hi(uint32_t v) { return bits_f32(v & 0xffff0000u); }

inline void mma_bf16_run(void* const* recs) {
    double A[16][16], B[16][8];
    for (unsigned lane = 0; lane < 32; lane++) {
        const unsigned g = lane >> 2, t = lane & 3;
        const MmaRec* r = static_cast<const MmaRec*>(recs[lane]);
        // Register i holds elements 2i (low half) and 2i + 1 (high half) of the fragment.
        for (int half = 0; half < 2; half++) {
            const unsigned col = 2 * t + 8 * half;
            A[g][col] = bf16_lo(r->a[2 * half]);
            A[g][col + 1] = bf16_hi(r->a[2 * half]);
            A[g + 8][col] = bf16_lo(r->a[2 * half + 1]);
            A[g + 8][col + 1] = bf16_hi(r->a[2 * half + 1]);
            B[col][g] = bf16_lo(r->b[half]);
            B[col + 1][g] = bf16_hi(r->b[half]);
        }
    }
    mma_core<16>(A, B, recs);
}

inline void mma_issue(int kind, void (*run)(void* const*), float* d, const uint32_t* a, const uint32_t* b,
                      const float* c) {
    MmaRec r;
    memcpy(r.a, a, sizeof r.a);
    memcpy(r.b, b, sizeof r.b);
    memcpy(r.c, c, sizeof r.c);
    r.d = d;
    warp_collective(kind, &r, run);
}

struct LdmRec {
    const unsigned char* addr;
    uint32_t* out;
};

template <int COUNT, bool TRANS>
inline void ldmatrix_run(void* const* recs) {
    uint16_t M[COUNT][8][8];
    for (int j = 0; j < COUNT; j++)
        for (int row = 0; row < 8; row++) {
            const unsigned char* p = static_cast<LdmRec*>(recs[8 * j + row])->addr;
            if (((uintptr_t)p & 15) != 0 || !in_shared(p, 16)) {
                fail("ldmatrix row address not 16-byte aligned inside the block's shared memory");
                memset(M[j][row], 0xff, 16);
                continue;
            }
            memcpy(M[j][row], p, 16);
        }
    for (unsigned lane = 0; lane < 32; lane++) {
        const unsigned g = lane >> 2, t = lane & 3;
        uint32_t* out = static_cast<LdmRec*>(recs[lane])->out;
        for (int j = 0; j < COUNT; j++) {
            const uint32_t lo = TRANS ? M[j][2 * t][g] : M[j][g][2 * t];
            const uint32_t hi = TRANS ? M[j][2 * t + 1][g] : M[j][g][2 * t + 1];
            out[j] = lo | hi << 16;
        }
    }
}

template <int COUNT, bool TRANS>
inline void ldmatrix_issue(uint32_t* out, const void* row) {
    LdmRec r{static_cast<const unsigned char*>(row), out};
    warp_collective(TC_LDMATRIX + 2 * COUNT + (TRANS ? 1 : 0), &r, &ldmatrix_run<COUNT, TRANS>);
}

}  // namespace emu

// ---- the prelude's tensor-core functions (see kernels/prelude.cuh for the contract) --------
inline unsigned tc_tf32(float x) { return emu::cvt_rna_tf32(x); }
inline unsigned tc_bf16x2(float lo, float hi) { return emu::cvt_rn_bf16(lo) | emu::cvt_rn_bf16(hi) << 16; }
inline void tc_mma_tf32(float* d, const unsigned* a, const unsigned* b, const float* c) {
    emu::mma_issue(emu::TC_MMA_TF32, &emu::mma_tf32_run, d, a, b, c);
}
inline void tc_mma_bf16(float* d, const unsigned* a, const unsigned* b, const float* c) {
    emu::mma_issue(emu::TC_MMA_BF16, &emu::mma_bf16_run, d, a, b, c);
}
inline void tc_ldmatrix_x1(unsigned* r, const void* row) { emu::ldmatrix_issue<1, false>(r, row); }
inline void tc_ldmatrix_x2(unsigned* r, const void* row) { emu::ldmatrix_issue<2, false>(r, row); }
inline void tc_ldmatrix_x4(unsigned* r, const void* row) { emu::ldmatrix_issue<4, false>(r, row); }
inline void tc_ldmatrix_x2_trans(unsigned* r, const void* row) { emu::ldmatrix_issue<2, true>(r, row); }
inline void tc_ldmatrix_x4_trans(unsigned* r, const void* row) { emu::ldmatrix_issue<4, true>(r, row); }
inline void tc_cp_async16(void* s, const void* g, bool full) { emu::cp_async(s, g, 16, full ? 16 : 0, true); }
inline void tc_cp_async4(void* s, const void* g, bool full) { emu::cp_async(s, g, 4, full ? 4 : 0, false); }
inline void tc_cp_commit() { emu::cp_async_commit(); }
template <int N>
inline void tc_cp_wait() { emu::cp_async_wait(N); }
inline float4 ld_f4(const float* p) {
    if (((uintptr_t)p & 15) != 0) emu::fail("16-byte vector load from an address that is not 16-byte aligned");
    float4 v;
    memcpy(&v, p, 16);
    return v;
}
inline void st_f4(float* p, float4 v) {
    if (((uintptr_t)p & 15) != 0) emu::fail("16-byte vector store to an address that is not 16-byte aligned");
    memcpy(p, &v, 16);
}

#endif  // ENGINE_EMU_TC_H
