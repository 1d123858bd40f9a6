// The emulator's scheduler: runs the blocks of a kernel launch on the calling OS thread, each
// CUDA thread of a block on a fiber (a stack of its own, switched by hand on x86-64 Linux,
// ucontext elsewhere).
//
// Within a block:
// - Threads start in a seeded random order. A fiber runs its thread until the thread reaches
//   a barrier (__syncthreads or a warp operation) or returns; a fiber whose thread returned
//   starts the next unstarted thread itself, so a kernel without barriers costs no switches.
// - A barrier completes when every live (not returned) thread of the block, or of the warp's
//   mask, waits at it; its threads then resume one at a time in a seeded random order. So a
//   missing __syncthreads gives a wrong result instead of passing by luck.
// - Threads waiting at different barriers with nothing left to run is reported as a deadlock.
// - __shared__ variables and dynamic shared memory live in a per-block arena, poisoned with
//   NaN at first use and followed by guard zones that are checked when the block ends.
#if defined(__APPLE__)
// macOS only declares the (deprecated) ucontext functions under these.
#define _XOPEN_SOURCE 700
#define _DARWIN_C_SOURCE
#endif
#include "emu.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include <string>
#include <vector>

#if defined(__x86_64__) && defined(__ELF__) && !defined(EMU_UCONTEXT)
#define EMU_FAST_SWITCH 1
#else
#include <ucontext.h>
#endif

namespace emu {

__thread const uint3* t_thread_idx;
__thread BlockEnv t_env;

namespace {

constexpr uint32_t POISON_WORD = 0x7fc0deadu;  // a quiet NaN with a recognisable payload
constexpr size_t GUARD_BYTES = 64;
constexpr size_t MAX_SHARED = 227 * 1024;    // what an H100 block may use (static + dynamic, opt-in)
constexpr size_t MAX_STATIC_SHARED = 48 * 1024;  // static __shared__ of one block, on every GPU
constexpr size_t ARENA_BYTES = 2 * MAX_SHARED + 64 * GUARD_BYTES;

// ---- context switching --------------------------------------------------------------------
void fiber_entry();

#ifdef EMU_FAST_SWITCH
extern "C" void engine_emu_ctx_switch(void** save_sp, void* to_sp);
extern "C" void engine_emu_ctx_trampoline();
// Saves the callee-saved registers on the current stack, stores the stack pointer, loads the
// other one and pops its registers. The trampoline starts a fresh stack at r13 (a function).
asm(R"(
    .text
    .p2align 4
    .globl engine_emu_ctx_switch
    .hidden engine_emu_ctx_switch
    .type engine_emu_ctx_switch,@function
engine_emu_ctx_switch:
    pushq %rbp
    pushq %rbx
    pushq %r12
    pushq %r13
    pushq %r14
    pushq %r15
    movq %rsp, (%rdi)
    movq %rsi, %rsp
    popq %r15
    popq %r14
    popq %r13
    popq %r12
    popq %rbx
    popq %rbp
    ret
    .size engine_emu_ctx_switch, .-engine_emu_ctx_switch

    .p2align 4
    .globl engine_emu_ctx_trampoline
    .hidden engine_emu_ctx_trampoline
    .type engine_emu_ctx_trampoline,@function
engine_emu_ctx_trampoline:
    callq *%r13
    ud2
    .size engine_emu_ctx_trampoline, .-engine_emu_ctx_trampoline
)");

struct Context {
    void* sp = nullptr;
};
inline void ctx_switch(Context* from, Context* to) { engine_emu_ctx_switch(&from->sp, to->sp); }
void ctx_make(Context* c, char* stack_lo, size_t size) {
    // After the six pops and the ret into the trampoline, rsp is 16-byte aligned, so its
    // `call` enters fiber_entry with the alignment the ABI expects.
    uintptr_t top = ((uintptr_t)(stack_lo + size) - 16) & ~(uintptr_t)15;
    void** sp = (void**)(top - 7 * sizeof(void*));
    sp[0] = nullptr;                                  // r15
    sp[1] = nullptr;                                  // r14
    sp[2] = (void*)&fiber_entry;                      // r13
    sp[3] = nullptr;                                  // r12
    sp[4] = nullptr;                                  // rbx
    sp[5] = nullptr;                                  // rbp
    sp[6] = (void*)&engine_emu_ctx_trampoline;        // return address
    c->sp = sp;
}
#else
struct Context {
    ucontext_t uc;
};
inline void ctx_switch(Context* from, Context* to) { swapcontext(&from->uc, &to->uc); }
void ctx_make(Context* c, char* stack_lo, size_t size) {
    getcontext(&c->uc);
    c->uc.uc_stack.ss_sp = stack_lo;
    c->uc.uc_stack.ss_size = size;
    c->uc.uc_link = nullptr;
    makecontext(&c->uc, (void (*)())fiber_entry, 0);
}
#endif

// ---- state ----------------------------------------------------------------------------
enum State : uint8_t { ST_UNSTARTED, ST_READY, ST_RUNNING, ST_BARRIER, ST_WARP, ST_DONE };

// One cp.async in flight: its bytes were read at issue, they land at the matching wait_group.
struct AsyncCopy {
    unsigned char* dst;
    unsigned char bytes[16];
    unsigned size;
    unsigned group;  // index of the commit group it belongs to
};

struct ThreadRec {
    uint3 idx;
    unsigned lane;
    unsigned warp;
    State st;
    int fiber;
    std::vector<AsyncCopy> copies;  // issued, not yet waited for
    unsigned committed = 0;         // commit groups closed so far
};

struct Warp {
    uint32_t live = 0;     // lanes that exist and have not returned
    uint32_t arrived = 0;  // lanes waiting at the current warp operation
    uint32_t need = 0;     // union of the masks given by the waiting lanes
    uint32_t part[2] = {0, 0};  // lanes that took part in the last two operations
    unsigned gen = 0;
    uint64_t slots[2][32];
    // Warp collectives (mma, ldmatrix): each lane's operand record and instruction kind.
    void* recs[32];
    int kinds[32];
    void (*collective)(void* const* recs) = nullptr;
};

struct Fiber {
    Context ctx;
    char* stack = nullptr;
};

struct SharedVar {
    size_t offset;
    size_t bytes;
};

struct Rng {
    uint64_t s;
    uint64_t next() {  // splitmix64
        uint64_t z = (s += 0x9e3779b97f4a7c15ull);
        z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
        z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
        return z ^ (z >> 31);
    }
    size_t below(size_t n) { return (size_t)(((unsigned __int128)next() * n) >> 64); }
};

size_t stack_bytes() {
    static size_t bytes = [] {
        const char* e = getenv("ENGINE_EMU_STACK_KB");
        long kb = e ? atol(e) : 0;
        return (size_t)(kb > 0 ? kb : 64) * 1024;
    }();
    return bytes;
}

// Everything one OS thread needs to run blocks. Created on first use, kept for the thread's life.
struct Worker {
    Context sched;
    std::vector<Fiber*> fibers;
    std::vector<int> idle;  // fibers parked in fiber_entry's loop, ready to start a thread
    int cur_fiber = -1;
    int cur = -1;  // the running CUDA thread

    // the block
    const KernelEntry* kernel = nullptr;
    void** args = nullptr;
    int nthreads = 0;
    std::vector<ThreadRec> th;
    std::vector<int> order;  // start order
    int next_start = 0;
    std::vector<int> ready;
    int live = 0;
    int at_barrier = 0;
    unsigned bar_gen = 0;
    int bar_count[2] = {0, 0};
    std::vector<Warp> warps;
    Rng rng{0};
    std::string error;
    std::string kernel_error;  // the first instruction-level error of the block (emu::fail)

    // shared memory
    unsigned char* arena = nullptr;
    size_t dyn_bytes = 0;
    size_t arena_used = 0;
    std::vector<void*> slot_ptr;
    std::vector<SharedVar> vars;
    std::vector<unsigned> used_slots;

    Worker() {
        arena = (unsigned char*)aligned_alloc(64, ARENA_BYTES);
        if (!arena) abort();
    }
};

__thread Worker* t_worker;

Worker* worker() {
    if (!t_worker) t_worker = new Worker();
    return t_worker;
}

void fill_poison(void* p, size_t bytes) {
    unsigned char* b = (unsigned char*)p;
    size_t i = 0;
    for (; i + 4 <= bytes; i += 4) memcpy(b + i, &POISON_WORD, 4);
    for (; i < bytes; i++) b[i] = 0xad;
}

// Offset of the first byte of [p, p+bytes) that differs from the guard pattern, or -1.
long guard_damage(const void* p, size_t bytes) {
    unsigned char want[GUARD_BYTES];
    fill_poison(want, GUARD_BYTES);
    const unsigned char* b = (const unsigned char*)p;
    for (size_t i = 0; i < bytes; i++)
        if (b[i] != want[i % GUARD_BYTES]) return (long)i;
    return -1;
}

Fiber* new_fiber() {
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    size_t size = stack_bytes();
    // One PROT_NONE page below the stack turns an overflow into a crash instead of corruption.
    void* m = mmap(nullptr, size + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (m == MAP_FAILED) {
        fprintf(stderr, "emulator: cannot map a fiber stack\n");
        abort();
    }
    mprotect(m, page, PROT_NONE);
    Fiber* f = new Fiber();
    f->stack = (char*)m + page;
    ctx_make(&f->ctx, f->stack, size);
    return f;
}

// Switches from the running fiber back to the scheduler.
inline void yield_to_scheduler(Worker* w) {
    ctx_switch(&w->fibers[w->cur_fiber]->ctx, &w->sched);
}

void make_ready(Worker* w, int tid) {
    w->th[tid].st = ST_READY;
    w->ready.push_back(tid);
}

void release_block_barrier(Worker* w) {
    for (int t = 0; t < w->nthreads; t++)
        if (w->th[t].st == ST_BARRIER) make_ready(w, t);
    w->at_barrier = 0;
    w->bar_gen++;
    w->bar_count[w->bar_gen & 1] = 0;
}

void record_error(Worker* w, const char* msg) {
    if (w->kernel_error.empty()) w->kernel_error = msg;
}

// The last lane of a warp collective has arrived: every lane must be there, at the same
// instruction (`.aligned`); then the instruction runs once for the whole warp, before any
// lane resumes, so it sees the operands and shared memory as they were at the instruction.
void run_collective(Worker* w, unsigned warp) {
    Warp& wp = w->warps[warp];
    bool same = wp.arrived == 0xffffffffu;
    for (unsigned lane = 0; same && lane < 32; lane++) same = wp.kinds[lane] == wp.kinds[0];
    if (same) {
        wp.collective(wp.recs);
    } else {
        char b[200];
        snprintf(b, sizeof b,
                 "warp %u reached a warp-wide tensor-core instruction (mma/ldmatrix) with lanes 0x%08x "
                 "of 0xffffffff at the same instruction (a diverged or partial warp)",
                 warp, wp.arrived);
        record_error(w, b);
    }
    for (unsigned lane = 0; lane < 32; lane++) wp.kinds[lane] = 0;
    wp.collective = nullptr;
}

// Releases the warp's waiting lanes if every live lane of the masks has arrived.
void try_release_warp(Worker* w, unsigned warp) {
    Warp& wp = w->warps[warp];
    if (wp.arrived == 0) return;
    uint32_t need = wp.need & wp.live;
    if ((wp.arrived & need) != need) return;
    if (wp.collective) run_collective(w, warp);
    wp.part[wp.gen & 1] = wp.arrived;
    for (unsigned lane = 0; lane < 32; lane++)
        if (wp.arrived & (1u << lane)) make_ready(w, (int)(warp * 32 + lane));
    wp.arrived = 0;
    wp.need = 0;
    wp.gen++;
}

void thread_exit(Worker* w, int tid) {
    ThreadRec& t = w->th[tid];
    t.st = ST_DONE;
    w->live--;
    w->warps[t.warp].live &= ~(1u << t.lane);
    if (w->at_barrier > 0 && w->at_barrier == w->live) release_block_barrier(w);
    try_release_warp(w, t.warp);
}

void fiber_entry() {
    Worker* w = t_worker;
    const int me = w->cur_fiber;
    for (;;) {
        while (w->next_start < w->nthreads) {
            int tid = w->order[w->next_start++];
            ThreadRec& t = w->th[tid];
            t.st = ST_RUNNING;
            t.fiber = me;
            t.copies.clear();
            t.committed = 0;
            w->cur = tid;
            t_thread_idx = &t.idx;
            w->kernel->run(w->args);
            thread_exit(w, tid);
        }
        w->idle.push_back(me);
        yield_to_scheduler(w);
    }
}

// ---- running a block --------------------------------------------------------------------
std::string block_name(const Worker* w) {
    char b[96];
    snprintf(b, sizeof b, "block (%u,%u,%u)", t_env.block_idx.x, t_env.block_idx.y, t_env.block_idx.z);
    return b;
}

// After a deadlock, fibers are left suspended inside the kernel: drop them all.
void reset_fibers(Worker* w) {
    size_t page = (size_t)sysconf(_SC_PAGESIZE);
    for (Fiber* f : w->fibers) {
        munmap(f->stack - page, stack_bytes() + page);
        delete f;
    }
    w->fibers.clear();
    w->idle.clear();
}

bool check_shared_guards(Worker* w) {
    if (w->dyn_bytes > 0 && guard_damage(w->arena + w->dyn_bytes, GUARD_BYTES) >= 0) {
        char b[160];
        snprintf(b, sizeof b, "wrote past the end of dynamic shared memory (%zu bytes) in ", w->dyn_bytes);
        w->error = b + block_name(w);
        return false;
    }
    for (unsigned s : w->used_slots) {
        const SharedVar& v = w->vars[s];
        if (guard_damage(w->arena + v.offset + v.bytes, GUARD_BYTES) >= 0) {
            char b[160];
            snprintf(b, sizeof b, "wrote past the end of a __shared__ variable (%zu bytes, declaration #%u of the file) in ", v.bytes, s);
            w->error = b + block_name(w);
            return false;
        }
    }
    return true;
}

bool run_block(Worker* w, uint64_t seed) {
    const int n = w->nthreads;
    w->rng.s = seed;
    for (int t = 0; t < n; t++) {
        w->order[t] = t;
        w->th[t].st = ST_UNSTARTED;
    }
    for (int t = n - 1; t > 0; t--) std::swap(w->order[t], w->order[w->rng.below((size_t)t + 1)]);
    w->next_start = 0;
    w->ready.clear();
    w->live = n;
    w->at_barrier = 0;
    for (size_t i = 0; i < w->warps.size(); i++) {
        Warp& wp = w->warps[i];
        int lanes = n - (int)i * 32 < 32 ? n - (int)i * 32 : 32;
        wp.live = lanes == 32 ? 0xffffffffu : ((1u << lanes) - 1);
        wp.arrived = wp.need = 0;
        wp.part[0] = wp.part[1] = 0;
        wp.collective = nullptr;
        for (int l = 0; l < 32; l++) wp.kinds[l] = 0;
    }
    w->kernel_error.clear();
    for (unsigned s : w->used_slots) w->slot_ptr[s] = nullptr;
    w->used_slots.clear();
    w->arena_used = (w->dyn_bytes + GUARD_BYTES + 63) & ~(size_t)63;
    if (w->dyn_bytes > 0) fill_poison(w->arena, w->dyn_bytes + GUARD_BYTES);

    for (;;) {
        if (!w->ready.empty()) {
            size_t i = w->ready.size() == 1 ? 0 : w->rng.below(w->ready.size());
            int tid = w->ready[i];
            w->ready[i] = w->ready.back();
            w->ready.pop_back();
            ThreadRec& t = w->th[tid];
            t.st = ST_RUNNING;
            w->cur = tid;
            w->cur_fiber = t.fiber;
            t_thread_idx = &t.idx;
            ctx_switch(&w->sched, &w->fibers[t.fiber]->ctx);
        } else if (w->next_start < n) {
            int f;
            if (!w->idle.empty()) {
                f = w->idle.back();
                w->idle.pop_back();
            } else {
                w->fibers.push_back(new_fiber());
                f = (int)w->fibers.size() - 1;
            }
            w->cur_fiber = f;
            ctx_switch(&w->sched, &w->fibers[f]->ctx);
        } else if (w->live == 0) {
            break;
        } else {
            int at_warp = 0;
            for (int t = 0; t < n; t++) at_warp += w->th[t].st == ST_WARP;
            char b[256];
            snprintf(b, sizeof b,
                     "deadlock in %s: %d thread(s) wait at __syncthreads and %d at a warp operation, "
                     "%d returned (a barrier in divergent code?)",
                     block_name(w).c_str(), w->at_barrier, at_warp, n - w->live);
            w->error = b;
            reset_fibers(w);
            return false;
        }
    }
    if (!w->kernel_error.empty()) {
        w->error = w->kernel_error + " in " + block_name(w);
        return false;
    }
    return check_shared_guards(w);
}

}  // namespace

// ---- called by kernels -------------------------------------------------------------------
void syncthreads() { (void)syncthreads_count(0); }

int syncthreads_count(int pred) {
    Worker* w = t_worker;
    ThreadRec& t = w->th[w->cur];
    unsigned g = w->bar_gen;
    t.st = ST_BARRIER;
    w->bar_count[g & 1] += pred != 0;
    w->at_barrier++;
    if (w->at_barrier == w->live) release_block_barrier(w);
    yield_to_scheduler(w);
    return w->bar_count[g & 1];
}

uint64_t warp_exchange(unsigned mask, uint64_t value, int src) {
    Worker* w = t_worker;
    ThreadRec& t = w->th[w->cur];
    Warp& wp = w->warps[t.warp];
    unsigned g = wp.gen & 1;
    uint32_t bit = 1u << t.lane;
    wp.slots[g][t.lane] = value;
    wp.arrived |= bit;
    wp.need |= (mask | bit);
    t.st = ST_WARP;
    try_release_warp(w, t.warp);
    yield_to_scheduler(w);
    if (src < 0) return 0;
    if (src < 32 && (wp.part[g] & (1u << src))) return wp.slots[g][src];
    return ((uint64_t)POISON_WORD << 32) | POISON_WORD;  // the source lane did not take part
}

unsigned warp_ballot(unsigned mask, bool pred) {
    Worker* w = t_worker;
    ThreadRec& t = w->th[w->cur];
    Warp& wp = w->warps[t.warp];
    unsigned g = wp.gen & 1;
    warp_exchange(mask, pred ? 1 : 0, -1);
    unsigned r = 0;
    for (unsigned lane = 0; lane < 32; lane++)
        if ((wp.part[g] & (1u << lane)) && wp.slots[g][lane]) r |= 1u << lane;
    return r;
}

unsigned lane_id() { return t_worker->th[t_worker->cur].lane; }
unsigned live_lanes() {
    Worker* w = t_worker;
    return w->warps[w->th[w->cur].warp].live;
}

void* dyn_shared() { return t_worker->arena; }

void fail(const char* msg) { record_error(t_worker, msg); }

bool in_shared(const void* p, size_t bytes) {
    const Worker* w = t_worker;
    const unsigned char* b = (const unsigned char*)p;
    if (b >= w->arena && b + bytes <= w->arena + w->dyn_bytes) return true;
    for (unsigned s : w->used_slots) {
        const unsigned char* v = w->arena + w->vars[s].offset;
        if (b >= v && b + bytes <= v + w->vars[s].bytes) return true;
    }
    return false;
}

void warp_collective(int kind, void* rec, void (*fn)(void* const* recs)) {
    Worker* w = t_worker;
    ThreadRec& t = w->th[w->cur];
    Warp& wp = w->warps[t.warp];
    wp.recs[t.lane] = rec;
    wp.kinds[t.lane] = kind;
    if (!wp.collective) wp.collective = fn;
    (void)warp_exchange(0xffffffffu, 0, -1);
}

void cp_async(void* dst, const void* src, unsigned cp_size, unsigned src_size, bool cg) {
    Worker* w = t_worker;
    ThreadRec& t = w->th[w->cur];
    char b[200];
    uintptr_t d = (uintptr_t)dst, s = (uintptr_t)src;
    if (!(cp_size == 16 || (!cg && (cp_size == 4 || cp_size == 8))) || src_size > cp_size) {
        snprintf(b, sizeof b, "cp.async%s with cp-size %u and src-size %u (cg: 16; ca: 4, 8, 16; src-size <= cp-size)",
                 cg ? ".cg" : ".ca", cp_size, src_size);
        return record_error(w, b);
    }
    if (!in_shared(dst, cp_size) || d % cp_size != 0) {
        snprintf(b, sizeof b, "cp.async destination %p is not %u aligned bytes of the block's shared memory", dst, cp_size);
        return record_error(w, b);
    }
    if (src_size > 0 && (s % cp_size != 0 || in_shared(src, src_size))) {
        snprintf(b, sizeof b, "cp.async source %p is not %u-byte aligned global memory", src, cp_size);
        return record_error(w, b);
    }
    AsyncCopy c;
    c.dst = (unsigned char*)dst;
    c.size = cp_size;
    c.group = t.committed;
    memset(c.bytes, 0, sizeof c.bytes);
    if (src_size > 0) memcpy(c.bytes, src, src_size);
    t.copies.push_back(c);
    fill_poison(dst, cp_size);  // not visible until the wait_group
}

void cp_async_commit() { t_worker->th[t_worker->cur].committed++; }

void cp_async_wait(unsigned pending) {
    ThreadRec& t = t_worker->th[t_worker->cur];
    // Groups 0 .. committed - pending - 1 complete; later ones (and uncommitted copies) stay.
    unsigned done = t.committed > pending ? t.committed - pending : 0;
    size_t keep = 0;
    for (size_t i = 0; i < t.copies.size(); i++) {
        AsyncCopy& c = t.copies[i];
        if (c.group < done) memcpy(c.dst, c.bytes, c.size);
        else t.copies[keep++] = c;
    }
    t.copies.resize(keep);
}

void* shared_var(unsigned slot, size_t bytes, size_t align) {
    Worker* w = t_worker;
    if (slot >= w->slot_ptr.size()) {
        w->slot_ptr.resize(slot + 1, nullptr);
        w->vars.resize(slot + 1);
    }
    if (void* p = w->slot_ptr[slot]) return p;
    // The first thread of the block to reach the declaration places the variable.
    size_t a = align < 16 ? 16 : align;
    size_t off = (w->arena_used + a - 1) & ~(a - 1);
    if (off + bytes + GUARD_BYTES > ARENA_BYTES || off + bytes - w->dyn_bytes > MAX_SHARED) {
        fprintf(stderr, "emulator: a block uses more than %zu bytes of shared memory\n", MAX_SHARED);
        abort();
    }
    w->arena_used = off + bytes + GUARD_BYTES;
    size_t static_bytes = 0;
    for (unsigned s : w->used_slots) static_bytes += w->vars[s].bytes;
    if (static_bytes + bytes > MAX_STATIC_SHARED) {
        char b[160];
        snprintf(b, sizeof b, "the block declares %zu bytes of static __shared__ memory, more than the %zu a GPU allows",
                 static_bytes + bytes, MAX_STATIC_SHARED);
        record_error(w, b);
    }
    fill_poison(w->arena + off, bytes + GUARD_BYTES);
    w->vars[slot] = SharedVar{off, bytes};
    w->used_slots.push_back(slot);
    w->slot_ptr[slot] = w->arena + off;
    return w->arena + off;
}

}  // namespace emu

// ---- called from Rust ----------------------------------------------------------------------
extern "C" {
extern const emu::ModuleEntry engine_emu_modules[];
extern const int engine_emu_module_count;

// The entry of `kernel` in `module`, or null.
const emu::KernelEntry* engine_emu_find(const char* module, const char* kernel) {
    for (int m = 0; m < engine_emu_module_count; m++) {
        const emu::ModuleEntry& me = engine_emu_modules[m];
        if (strcmp(me.name, module) != 0) continue;
        for (int k = 0; k < me.count; k++)
            if (strcmp(me.kernels[k].name, kernel) == 0) return &me.kernels[k];
    }
    return nullptr;
}

int engine_emu_module_count_fn() { return engine_emu_module_count; }

// Runs blocks [first, first + count) of the grid on the calling thread. Returns 0, or 1 with a
// message in `err`. The caller has validated the launch shape.
int engine_emu_run(const emu::KernelEntry* kernel, void** args, const unsigned* grid, const unsigned* block,
                   unsigned shared_bytes, uint64_t seed, uint64_t first, uint64_t count, char* err, size_t errlen) {
    using namespace emu;
    Worker* w = worker();
    const int n = (int)(block[0] * block[1] * block[2]);
    w->kernel = kernel;
    w->args = args;
    w->nthreads = n;
    w->th.resize((size_t)n);
    w->order.resize((size_t)n);
    w->warps.resize((size_t)(n + 31) / 32);
    w->dyn_bytes = shared_bytes;
    for (int t = 0; t < n; t++) {
        ThreadRec& r = w->th[(size_t)t];
        r.idx = uint3{(unsigned)t % block[0], ((unsigned)t / block[0]) % block[1], (unsigned)t / (block[0] * block[1])};
        r.lane = (unsigned)t % 32;
        r.warp = (unsigned)t / 32;
    }
    t_env.block_dim = dim3{block[0], block[1], block[2]};
    t_env.grid_dim = dim3{grid[0], grid[1], grid[2]};
    for (uint64_t b = first; b < first + count; b++) {
        t_env.block_idx = uint3{(unsigned)(b % grid[0]), (unsigned)((b / grid[0]) % grid[1]),
                                (unsigned)(b / ((uint64_t)grid[0] * grid[1]))};
        Rng mix{seed ^ (b * 0xd1b54a32d192ed03ull)};
        if (!run_block(w, mix.next())) {
            snprintf(err, errlen, "%s", w->error.c_str());
            return 1;
        }
    }
    return 0;
}
}
