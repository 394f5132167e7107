// The emulated GPU's runtime: cuLaunchKernel for a mock libcuda.so.1 (../shared/gpu/mock-driver's mock_cuda.c,
// compiled beside this file with its cuLaunchKernel renamed mock_cuLaunchKernel). The mock checks the launch
// (grid, block, shared memory, pointer parameters) and owns device memory, which is host memory; this file then runs
// the kernel, compiled for the host from the project's .cu files (emu_device.h, build-emulator.sh), before returning,
// so a stream is always idle and memory copies see finished results.
//
// A block's threads run as fibers on the calling OS thread. One fiber runs threads one after another until a thread
// waits (at __syncthreads, __syncthreads_or or a shuffle); then a new fiber takes the next thread. A barrier opens
// when every thread of the block (warp, for shuffles) that has not exited is waiting at it, as on the GPU. Reported as
// a failed launch (CUDA_ERROR_LAUNCH_FAILED, with a line on stderr saying why): threads waiting at barriers that can
// never open, threads of a block at different __syncthreads, a shuffle after a lane of its warp has exited or with a
// mask other than the full warp, a partner lane outside the block.
//
// The schedule is round-robin by default: every runnable thread takes one step (up to its next wait) in turn, so all
// warps move through a block in step. EMU_ORDER=reverse runs the blocks of a grid and the threads of a block last
// first, and EMU_SCHEDULE=greedy always resumes the earliest-started runnable thread, so one warp runs ahead as far as
// its barriers let it before the next one starts. A kernel is correct under every such schedule only if its result
// does not depend on which block, warp or thread runs first: a warp that overwrites shared memory another warp has
// not read yet (a missing __syncthreads between two uses of a scratch array), a thread that reads what another writes
// without a barrier between, or a block that reads what another block writes, passes one schedule by luck and fails
// another (on a GPU, whose schedule is none of these, it fails now and then).
//
// Device memory has guard bands: cuMemAlloc_v2 (the mock's, renamed mock_cuMemAlloc_v2, asked for 2 x GUARD bytes
// more) hands out the middle of a block whose first and last GUARD bytes are filled with 0xFF (a NaN as float, so a
// read past either end poisons what it computes). After every kernel, every emulated cuDNN call and at cuMemFree the
// bands are checked; a changed byte is reported as a failed launch (or cuDNN call) naming the kernel, the allocation's
// size and the offset written, the emulated GPU's counterpart of compute-sanitizer's memcheck for writes. Exact only
// where each tensor has its own driver allocation (CudaAllocator's exact blocks); the caching allocator's size classes
// leave slack inside a block that no band covers.
//
// Races on device memory (an emulator built with EMU_RACECHECK=1: build-emulator.sh compiles the kernels with g++'s
// -fsanitize=thread instrumentation, whose hooks, __tsan_read4 and the like, are defined below instead of by the
// ThreadSanitizer runtime). Every load and store of a kernel that falls in a device allocation is recorded per 4-byte
// word: its last writer and its last two readers, each as (block, thread, barrier generation). Two accesses of one
// word in one launch, at least one a store, race when they come from different blocks, or from different threads of a
// block between the same two __syncthreads: on a GPU their order is not defined. The first race fails the launch,
// naming the kernel, both threads and the word. Atomics (atomicAdd) are not recorded, so a read-modify-write that
// should have been an atomic is reported, which the fibers' schedules alone can never show: no read-modify-write is
// ever interrupted by them. Shared memory (the static __shared__ arrays, which emu_device.h puts in a section of their
// own, and the launch's dynamic shared memory) is checked the same way within each block: two threads of a block
// touching one word between the same two barriers, one writing, race (a missing __syncthreads), under any schedule.
// Registers and the stack are not checked.
#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <string>
#include <vector>
#include <sys/mman.h>
#include "emu_device.h"

extern "C" int mock_cuLaunchKernel(void* f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
                                   unsigned smem, void* stream, void** params, void** extra);
extern "C" const emu::Kernel emu_kernels[];   // kernels_host.cpp, written by build-emulator.sh
extern "C" int mock_cuMemAlloc_v2(unsigned long long* p, size_t n);
extern "C" int mock_cuMemFree_v2(unsigned long long p);
namespace graph {   // stream capture, below
extern std::mutex mu;
extern bool capturing;
int refuse(const char* call, const std::string& why);
}  // namespace graph

namespace guard {
constexpr size_t GUARD = 256;
constexpr unsigned char FILL = 0xFF;
std::mutex mu;
// The live allocations, (address handed out, bytes asked for) sorted by address: a vector, since every launch walks it.
std::vector<std::pair<unsigned long long, size_t>> live;

// Where allocation a is in live, or where it would go.
std::vector<std::pair<unsigned long long, size_t>>::iterator at(unsigned long long a) {
    return std::lower_bound(live.begin(), live.end(), std::make_pair(a, (size_t)0));
}

// The first changed byte of the band [p, p + GUARD), or -1 (one memcmp per band: this runs after every launch).
long changed(const unsigned char* p) {
    static const std::vector<unsigned char> intact(GUARD, FILL);
    if (std::memcmp(p, intact.data(), GUARD) == 0) return -1;
    for (size_t i = 0; i < GUARD; i++)
        if (p[i] != FILL) return (long)i;
    return -1;
}

// Reports (and refills) every broken band of allocation (a, n); the number of broken bands.
int check_one(unsigned long long a, size_t n, const char* after) {
    int broken = 0;
    unsigned char* before = (unsigned char*)(a - GUARD);
    unsigned char* past = (unsigned char*)(a + n);
    long b = changed(before), e = changed(past);
    if (b >= 0) {
        long last = GUARD - 1;
        while (before[last] == FILL) last--;
        fprintf(stderr, "[emu] ERROR: %s wrote before the start of a %zu-byte device allocation at 0x%llx (%ld bytes before it)\n",
                after, n, a, (long)GUARD - last);
        memset(before, FILL, GUARD);
        broken++;
    }
    if (e >= 0) {
        long last = GUARD - 1;
        while (past[last] == FILL) last--;
        fprintf(stderr, "[emu] ERROR: %s wrote past the end of a %zu-byte device allocation at 0x%llx (bytes %zu..%zu of it)\n",
                after, n, a, n + e, n + last);
        memset(past, FILL, GUARD);
        broken++;
    }
    return broken;
}
}  // namespace guard

// The linker's bounds of the static shared arrays' section (emu_device.h); weak, for kernels without any.
extern "C" __attribute__((weak)) char __start_emu_shared[], __stop_emu_shared[];

namespace race {
// One access: block (linear index; -1: none), thread (linear index in its block), barrier generation of its block.
struct Access { long long block = -1; int thread = -1; unsigned gen = 0; };
// A 4-byte word's accesses since stamp (a block's number, for shared memory, which each block starts afresh; device
// memory's words are made for each launch and keep stamp 0): its last store and its last two readers (distinct threads).
struct Word { unsigned long long stamp = 0; Access w, r1, r2; };
// A memory's words (made on its first access in a launch, given back when the launch ends).
struct Shadow { unsigned long long start; size_t bytes; const char* memory; std::vector<Word> words = {}; };
std::vector<Shadow> live;     // the device allocations of the running launch, sorted by start
// Shared memory: the static arrays' section and the launch's dynamic buffer, their words' accesses in the running
// block (numbered shared_stamp: every block starts with none).
std::vector<Word> static_words, dynamic_words;
unsigned long long shared_stamp = 0;
bool active = false;          // a kernel of an instrumented build is running
long long block = 0;          // its block's linear index
std::string report;           // the launch's first race
}  // namespace race

// Every live allocation's bands, after a kernel or a cuDNN call; the number broken (each also reported on stderr).
extern "C" int emu_check_guards(const char* after) {
    std::lock_guard<std::mutex> lock(guard::mu);
    int broken = 0;
    for (auto& [a, n] : guard::live) broken += guard::check_one(a, n, after);
    return broken;
}

extern "C" int cuMemAlloc_v2(unsigned long long* p, size_t n) {
    unsigned long long m = 0;
    int rc = mock_cuMemAlloc_v2(&m, n + 2 * guard::GUARD);
    if (rc != 0) return rc;
    memset((void*)m, guard::FILL, guard::GUARD);
    memset((void*)(m + guard::GUARD + n), guard::FILL, guard::GUARD);
    *p = m + guard::GUARD;
    std::lock_guard<std::mutex> lock(guard::mu);
    guard::live.insert(guard::at(*p), {*p, n});
    return 0;
}

extern "C" int cuMemFree_v2(unsigned long long p) {
    {
        std::lock_guard<std::mutex> capture(graph::mu);
        if (graph::capturing) return graph::refuse("cuMemFree", "the graph being captured may use the memory (free it after the graph)");
    }
    std::unique_lock<std::mutex> lock(guard::mu);
    auto it = guard::at(p);
    if (it == guard::live.end() || it->first != p) {
        lock.unlock();
        return mock_cuMemFree_v2(p);   // not one of ours: the mock reports it
    }
    int broken = guard::check_one(p, it->second, "a kernel or copy before cuMemFree");
    guard::live.erase(it);
    lock.unlock();
    int rc = mock_cuMemFree_v2(p - guard::GUARD);
    return broken ? 700 /* CUDA_ERROR_ILLEGAL_ADDRESS */ : rc;
}

namespace emu {
emu_dim3 thread_idx, block_idx, block_dim, grid_dim;

namespace {
constexpr int LAUNCH_FAILED = 719;   // CUDA_ERROR_LAUNCH_FAILED
constexpr size_t STACK = 256 * 1024;

enum State { READY, WAIT_BLOCK, WAIT_WARP, IDLE };

struct Fiber {
    int index = 0;            // its place in the pool
    void* sp = nullptr;
    char* stack = nullptr;
    State state = IDLE;
    int thread = -1;          // linear index of the thread it runs
};

// One launch's state; one launch at a time (a mutex), blocks one after another.
struct Launch {
    const char* name;
    void (*invoke)(void**);
    void** params;
    int n;                    // threads per block
    int next, finished;       // next thread to start; threads that returned
    int arrived;              // threads waiting at __syncthreads
    unsigned gen;
    const char* site;
    int or_acc, or_result;
    int warps;
    int warp_arrived[32], warp_finished[32];
    unsigned warp_gen[32];
    unsigned long long xch[2][1024];   // shuffles' values, by the parity of their warp barrier's generation
    // The scheduler's view: bit i of ready = pool[i] may take a step (started and not yet run, or its barrier has
    // opened since it arrived); the fibers waiting at the block barrier and at each warp's.
    unsigned long long ready[16];
    std::vector<int> block_waiters, warp_waiters[32];
    int used, at;             // fibers started in this block; where the round robin's pass goes on
    std::vector<char> dyn;
    std::string error;
} L;

bool env_is(const char* name, const char* value) { const char* e = std::getenv(name); return e && std::strcmp(e, value) == 0; }
bool reverse_order = env_is("EMU_ORDER", "reverse"), greedy = env_is("EMU_SCHEDULE", "greedy");

std::mutex launch_mutex;
std::vector<Fiber*> pool;
Fiber* current;
void* scheduler_sp;

extern "C" void emu_switch(void** save_sp, void* load_sp);
asm(R"(
    .text
    .globl emu_switch
    .type emu_switch, @function
emu_switch:
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
    .size emu_switch, .-emu_switch
)");

void fail(const std::string& why) {
    if (L.error.empty()) L.error = why;
}

int lanes(int w) { return w < L.warps - 1 ? 32 : L.n - 32 * w; }

void mark_ready(int i) { L.ready[i >> 6] |= 1ull << (i & 63); }

// The waiting fibers may run again.
void wake(std::vector<int>& waiters) {
    for (int i : waiters) mark_ready(i);
    waiters.clear();
}

// Opens the block barrier if every live thread of the block now waits at it.
void release_block() {
    if (L.arrived > 0 && L.arrived == L.n - L.finished) {
        L.gen++;
        L.arrived = 0;
        L.or_result = L.or_acc;
        L.or_acc = 0;
        wake(L.block_waiters);
    }
}

// Opens warp w's barrier if every live lane of it now waits at it (only a thread of warp w can change that).
void release_warp(int w) {
    if (L.warp_arrived[w] > 0 && L.warp_arrived[w] == lanes(w) - L.warp_finished[w]) {
        L.warp_gen[w]++;
        L.warp_arrived[w] = 0;
        wake(L.warp_waiters[w]);
    }
}

void set_thread(int t) {
    if (block_dim.y == 1 && block_dim.z == 1) {   // most launches: no divisions at every switch
        thread_idx = {(unsigned)t, 0, 0};
        return;
    }
    thread_idx.x = t % block_dim.x;
    thread_idx.y = t / block_dim.x % block_dim.y;
    thread_idx.z = t / (block_dim.x * block_dim.y);
}

void step_away(Fiber* f);

void yield() {
    Fiber* f = current;
    step_away(f);
    set_thread(f->thread);   // another fiber ran meanwhile
}

[[noreturn]] void fiber_main() {
    for (;;) {
        Fiber* f = current;
        while (L.next < L.n && L.error.empty()) {
            int k = L.next++;
            f->thread = reverse_order ? L.n - 1 - k : k;
            f->state = READY;
            set_thread(f->thread);
            L.invoke(L.params);
            L.finished++;
            L.warp_finished[f->thread >> 5]++;
            release_block();
            release_warp(f->thread >> 5);
        }
        f->state = IDLE;
        step_away(f);
    }
}

// A fiber whose next switch starts fiber_main on a fresh stack.
void reset(Fiber* f) {
    // Each stack's top at its own offset (a different 64-byte line in every 64 KiB): stacks mapped at page-aligned
    // addresses would otherwise put every fiber's live frames in the same few cache sets, and a block's fibers, run in
    // turn, would evict one another's at every switch.
    uintptr_t colour = (uintptr_t)f->index * 17 * 64 % 65536;
    uintptr_t top = (reinterpret_cast<uintptr_t>(f->stack) + STACK - colour) & ~uintptr_t(15);
    void** sp = reinterpret_cast<void**>(top);
    *--sp = nullptr;                                     // fiber_main's return address: it never returns
    *--sp = reinterpret_cast<void*>(&fiber_main);        // where emu_switch's ret goes
    for (int i = 0; i < 6; i++) *--sp = nullptr;         // rbp, rbx, r12-r15
    f->sp = sp;
    f->state = READY;
    f->thread = -1;
}

Fiber* fiber(size_t i) {
    while (pool.size() <= i) {
        Fiber* f = new Fiber();
        f->index = (int)pool.size();
        void* m = mmap(nullptr, STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (m == MAP_FAILED) { perror("emu: mmap of a fiber stack"); abort(); }
        f->stack = static_cast<char*>(m);
        pool.push_back(f);
    }
    return pool[i];
}

std::string where() {
    char b[160];
    snprintf(b, sizeof b, "%s block (%u,%u,%u) thread (%u,%u,%u)", L.name, block_idx.x, block_idx.y, block_idx.z,
             thread_idx.x, thread_idx.y, thread_idx.z);
    return b;
}

// The first fiber at or after i that may take a step, or -1.
int next_ready(int i, int used) {
    for (int w = i >> 6; w < (used + 63) >> 6; w++) {
        unsigned long long bits = L.ready[w] & (w == i >> 6 ? ~0ull << (i & 63) : ~0ull);
        if (bits) return (w << 6) + __builtin_ctzll(bits);
    }
    return -1;
}

// The fiber that takes the next step, or null when none can (the block has finished, failed or is stuck). Round robin:
// passes over the started fibers in order, each that may take a step taking one (up to its next wait), a fiber whose
// barrier opens during a pass taking its step in that pass if it comes later. Greedy: always the earliest that may take
// one. A new fiber (for the next thread) starts only when none may take a step. The ready bits stand in for testing
// every fiber at every turn, which made a block of n threads that all wait cost n^2.
Fiber* pick() {
    if (L.finished == L.n || !L.error.empty()) return nullptr;
    int i = next_ready(greedy ? 0 : L.at, L.used);
    if (i < 0 && L.at > 0) i = next_ready(0, L.used);   // the next pass
    if (i >= 0) L.ready[i >> 6] &= ~(1ull << (i & 63));
    else if (L.next < L.n) reset(fiber(i = L.used++));
    else return nullptr;
    L.at = i + 1;
    return pool[i];
}

// Fiber g takes its step; the context that hands over to it (a fiber's or the scheduler's) is saved in *save.
void run(Fiber* g, void** save) {
    current = g;
    if (g->thread >= 0) set_thread(g->thread);
    emu_switch(save, g->sp);
}

// Fiber f stops (at a wait, or with no thread left to run) and the next step is taken: by the fiber pick() gives,
// switched to directly (the scheduler's own switch in between doubled the cost of every wait), or, when there is
// none, by the scheduler (run_block), which sees why.
void step_away(Fiber* f) {
    Fiber* g = pick();
    if (g == f) return;   // it goes on itself (its own arrival opened the barrier, and no one comes before it)
    if (g) run(g, &f->sp);
    else emu_switch(&f->sp, scheduler_sp);
}

bool run_block() {
    L.next = L.finished = L.arrived = 0;
    L.or_acc = L.or_result = 0;
    L.site = nullptr;
    for (int w = 0; w < L.warps; w++) {
        L.warp_arrived[w] = L.warp_finished[w] = 0;
        L.warp_waiters[w].clear();
    }
    L.block_waiters.clear();
    std::memset(L.ready, 0, sizeof L.ready);
    L.used = L.at = 0;
    // Shared memory is not cleared on a GPU: NaN bytes (0xff) make a kernel that reads what it never wrote fail.
    if (!L.dyn.empty()) memset(L.dyn.data(), 0xff, L.dyn.size());
    // The fibers pass the steps on among themselves (step_away); control comes back here when none can take one.
    if (Fiber* f = pick()) run(f, &scheduler_sp);
    if (L.finished < L.n && L.error.empty()) {
        int waiting = 0;
        for (int k = 0; k < L.used; k++) waiting += pool[k]->state == WAIT_BLOCK || pool[k]->state == WAIT_WARP;
        char b[256];
        snprintf(b, sizeof b, "%s block (%u,%u,%u): %d of %d threads wait at barriers that cannot open (a barrier in divergent code?)",
                 L.name, block_idx.x, block_idx.y, block_idx.z, waiting, L.n);
        fail(b);
    }
    // Fibers stopped mid-kernel by an error restart from the top next time.
    for (int i = 0; i < L.used; i++) if (pool[i]->state != IDLE) reset(pool[i]);
    for (int i = 0; i < L.used; i++) pool[i]->state = IDLE;
    return L.error.empty();
}
}  // namespace

void syncthreads(const char* site) {
    Fiber* f = current;
    if (L.arrived == 0) L.site = site;
    else if (std::strcmp(site, L.site) != 0)
        fail(where() + " is at the __syncthreads of " + site + " while others of its block are at " + L.site);
    L.arrived++;
    f->state = WAIT_BLOCK;
    L.block_waiters.push_back(f->index);
    release_block();
    yield();
    f->state = READY;
}

int syncthreads_or(int predicate, const char* site) {
    L.or_acc |= predicate != 0;
    syncthreads(site);
    return L.or_result;
}

unsigned long long shfl_xor(unsigned int mask, unsigned long long bits, int lane_mask, int width, const char* site) {
    Fiber* f = current;
    int t = f->thread, w = t >> 5, lane = t & 31, partner = (lane ^ lane_mask) & (width - 1);
    if (mask != 0xffffffffu) fail(where() + ": shuffle at " + site + " with a partial mask (the kernels use full warps only)");
    if (lanes(w) != 32 || L.warp_finished[w] > 0)
        fail(where() + ": full-warp shuffle at " + site + " in a warp with exited or missing lanes");
    // One barrier: every lane writes, waits until all have written, reads. The values go to one of two buffers by the
    // barrier's generation, so a lane that runs on to the warp's next shuffle writes the other one while lanes still
    // to read this one's; it cannot write this one again before every lane has arrived at that next shuffle, after
    // reading this one.
    unsigned long long* xch = L.xch[L.warp_gen[w] & 1];
    xch[t] = bits;
    L.warp_arrived[w]++;
    f->state = WAIT_WARP;
    L.warp_waiters[w].push_back(f->index);
    release_warp(w);
    yield();
    f->state = READY;
    return xch[(w << 5) | partner];
}

void* dynamic_shared() { return L.dyn.data(); }
}  // namespace emu

namespace race {
// The allocation of the running launch that holds address a, or null.
Shadow* find(unsigned long long a) {
    size_t lo = 0, hi = live.size();
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (live[mid].start <= a) lo = mid + 1; else hi = mid;
    }
    if (lo == 0) return nullptr;
    Shadow& s = live[lo - 1];
    return a < s.start + s.bytes ? &s : nullptr;
}

bool same(const Access& a, const Access& b) { return a.block == b.block && a.thread == b.thread; }

// Whether an earlier access and this one may come in either order on a GPU.
bool races(const Access& before, const Access& now) {
    return before.block >= 0 && (before.block != now.block || (before.thread != now.thread && before.gen == now.gen));
}

std::string who(const Access& a) {
    emu_dim3 g = emu::grid_dim, d = emu::block_dim;
    char b[120];
    snprintf(b, sizeof b, "thread (%d,%d,%d) of block (%lld,%lld,%lld)", (int)(a.thread % d.x), (int)(a.thread / d.x % d.y),
             (int)(a.thread / (d.x * d.y)), a.block % g.x, a.block / g.x % g.y, a.block / ((long long)g.x * g.y));
    return b;
}

void note(const Access& before, bool wrote, const Access& now, bool writes, const Shadow& s, unsigned long long word) {
    if (!report.empty()) return;
    char b[640];
    bool blocks = before.block != now.block;
    snprintf(b, sizeof b, "race in kernel %s: %s %s the 4 bytes at offset %llu of %s (%zu bytes) that %s %s in the same launch,"
             " %s (%s)", emu::L.name, who(now).c_str(), writes ? "writes" : "reads", word * 4, s.memory, s.bytes, who(before).c_str(),
             wrote ? "wrote" : "read", blocks ? "in another block: blocks of a launch run in no set order" : "with no __syncthreads between",
             blocks ? "a read-modify-write that should be an atomic, or a block reading another's results?"
                    : "a read-modify-write that should be an atomic, or a missing __syncthreads?");
    report = b;
}

// Records an access of the bytes [a, a + n) of memory s, whose words' shadow is words (current: the stamp of the words
// still valid, Word's); the launch's first race is noted.
void record(unsigned long long a, size_t n, bool writes, const Shadow& s, std::vector<Word>& words, unsigned long long current) {
    Access now{block, emu::current->thread, emu::L.gen};
    unsigned long long first = (a - s.start) / 4, last = std::min<unsigned long long>((a + n - 1 - s.start) / 4, words.size() - 1);
    for (unsigned long long i = first; i <= last; i++) {
        Word& x = words[i];
        if (x.stamp != current) x = Word{current, {}, {}, {}};
        if (writes) {
            if (races(x.w, now)) note(x.w, true, now, true, s, i);
            else if (races(x.r1, now)) note(x.r1, false, now, true, s, i);
            else if (races(x.r2, now)) note(x.r2, false, now, true, s, i);
            x.w = now;
        } else {
            if (races(x.w, now)) note(x.w, true, now, false, s, i);
            if (same(x.r1, now)) x.r1 = now;
            else { x.r2 = x.r1; x.r1 = now; }   // the last two readers, distinct threads
        }
    }
}

void access(const void* p, size_t n, bool writes) {
    if (!active || n == 0) return;
    unsigned long long a = (unsigned long long)p;
    unsigned long long st = (unsigned long long)__start_emu_shared, sn = (unsigned long long)(__stop_emu_shared - __start_emu_shared);
    unsigned long long dy = (unsigned long long)emu::L.dyn.data(), dn = emu::L.dyn.size();
    if (a - st < sn) {
        if (static_words.size() != (sn + 3) / 4) static_words.assign((sn + 3) / 4, Word());
        record(a, n, writes, Shadow{st, (size_t)sn, "the static shared memory"}, static_words, shared_stamp);
        return;
    }
    if (a - dy < dn) {
        if (dynamic_words.size() < (dn + 3) / 4) dynamic_words.assign((dn + 3) / 4, Word());
        record(a, n, writes, Shadow{dy, (size_t)dn, "the dynamic shared memory"}, dynamic_words, shared_stamp);
        return;
    }
    Shadow* s = find(a);
    if (!s) return;   // the stack, host memory
    if (s->words.empty()) s->words.assign((s->bytes + 3) / 4, Word());
    record(a, n, writes, *s, s->words, 0);
}

// Before a launch: the live allocations (their shadows are made on first access).
void begin() {
    std::lock_guard<std::mutex> lock(guard::mu);
    report.clear();
    live.clear();
    for (auto& [a, n] : guard::live) live.push_back({a, n, "a device allocation"});
    active = true;
}

// After a launch: the device allocations' shadows go (a launch's memory is its own; the next launch starts afresh).
void end() {
    active = false;
    live.clear();
}
}  // namespace race

// The hooks that g++'s -fsanitize=thread puts before every load and store of the instrumented kernels (EMU_RACECHECK=1
// builds); defined here in place of the ThreadSanitizer runtime, which is not linked.
extern "C" {
void __tsan_init() {}
void __tsan_func_entry(void*) {}
void __tsan_func_exit() {}
void __tsan_vptr_read(void**) {}
void __tsan_vptr_update(void**, void*) {}
void __tsan_read_range(void* p, size_t n) { race::access(p, n, false); }
void __tsan_write_range(void* p, size_t n) { race::access(p, n, true); }
#define EMU_TSAN_HOOKS(N) \
    void __tsan_read##N(void* p) { race::access(p, N, false); } \
    void __tsan_write##N(void* p) { race::access(p, N, true); } \
    void __tsan_unaligned_read##N(void* p) { race::access(p, N, false); } \
    void __tsan_unaligned_write##N(void* p) { race::access(p, N, true); } \
    void __tsan_volatile_read##N(void* p) { race::access(p, N, false); } \
    void __tsan_volatile_write##N(void* p) { race::access(p, N, true); }
EMU_TSAN_HOOKS(1)
EMU_TSAN_HOOKS(2)
EMU_TSAN_HOOKS(4)
EMU_TSAN_HOOKS(8)
EMU_TSAN_HOOKS(16)
#undef EMU_TSAN_HOOKS
}

extern "C" int cuDeviceGetName(char* name, int len, int dev) {
    (void)dev;
    snprintf(name, len, "EMULATED GPU (mock driver; kernels and cuDNN computed on the CPU)");
    return 0;
}

// EMU_NO_COMPUTE=1: kernels and cuDNN calls are checked (by the mock) and recorded but not computed, as on the plain
// mock, while stream capture and graph launches work: for timing the host's side of ordinary and recorded steps.
static const bool no_compute = std::getenv("EMU_NO_COMPUTE") && std::strcmp(std::getenv("EMU_NO_COMPUTE"), "1") == 0;

// Runs kernel f now (the mock has checked the launch).
static int run_kernel(void* f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz, unsigned smem,
                      void** params) {
    if (no_compute) return 0;
    // The mock's CUfunction is its kernel table entry, whose first field is the kernel's name.
    const char* name = *static_cast<const char* const*>(f);
    const emu::Kernel* k = emu_kernels;
    while (k->name && std::strcmp(k->name, name) != 0) k++;
    if (!k->name) {
        fprintf(stderr, "[emu] ERROR: no host build of kernel %s\n", name);
        return emu::LAUNCH_FAILED;
    }
    std::lock_guard<std::mutex> lock(emu::launch_mutex);
    using emu::L;
    L.name = k->name;
    L.invoke = k->invoke;
    L.params = params;
    L.n = (int)(bx * by * bz);
    L.warps = (L.n + 31) / 32;
    L.dyn.resize(smem);   // filled for each block (run_block)
    L.error.clear();
    emu::block_dim = {bx, by, bz};
    emu::grid_dim = {gx, gy, gz};
    unsigned long long blocks = (unsigned long long)gx * gy * gz;
    race::begin();
    for (unsigned long long k = 0; k < blocks; k++) {
        unsigned long long b = emu::reverse_order ? blocks - 1 - k : k;   // x fastest
        emu::block_idx = {(unsigned)(b % gx), (unsigned)(b / gx % gy), (unsigned)(b / ((unsigned long long)gx * gy))};
        race::block = (long long)b;
        race::shared_stamp++;   // a block starts with its shared memory untouched
        if (!emu::run_block()) {
            race::end();
            fprintf(stderr, "[emu] ERROR: %s\n", L.error.c_str());
            return emu::LAUNCH_FAILED;
        }
    }
    race::end();
    if (!race::report.empty()) {
        fprintf(stderr, "[emu] ERROR: %s\n", race::report.c_str());
        return emu::LAUNCH_FAILED;
    }
    std::string what = std::string("kernel ") + name;
    return emu_check_guards(what.c_str()) ? emu::LAUNCH_FAILED : 0;
}

// ---------------------------------------------------------------------------------------------- stream capture
// cuStreamBeginCapture_v2 .. cuStreamEndCapture record what is queued on the stream instead of running it: kernel
// launches (the mock checks each one now; its parameter values are copied, as the driver copies them into the graph's
// kernel node), memsets, host-to-device copies and the emulated cuDNN calls (emu_cudnn.c). cuGraphLaunch runs them in
// order. As on a GPU, what cannot be part of a graph fails the call and invalidates the capture (cuStreamEndCapture then
// returns CUDA_ERROR_STREAM_CAPTURE_INVALIDATED): a stream synchronisation or a device-to-host copy (both wait for work
// that has not run) and a cuMemFree of memory the graph may use. Stricter than a GPU where a GPU would capture a value
// that is wrong at replay: a host-to-device copy from pageable memory (a Java array: the driver would read it again at
// every replay, after it has moved or changed) fails; only memory from cuMemAllocHost may be copied from.
namespace graph {
constexpr int ILLEGAL_STATE = 401, CAPTURE_UNSUPPORTED = 900, CAPTURE_INVALIDATED = 901;

struct Op {
    enum Kind { KERNEL, MEMSET, HTOD, CALL } kind;
    void* f = nullptr;
    unsigned g[3] = {0, 0, 0}, b[3] = {0, 0, 0}, smem = 0;
    std::vector<std::vector<char>> params;
    unsigned long long dst = 0;
    unsigned value = 0;
    size_t n = 0;
    const void* src = nullptr;
    int (*run)(const void*) = nullptr;
    std::vector<char> blob;
};
struct Graph { std::vector<Op> ops; };

std::mutex mu;
bool capturing = false;
Graph* recording = nullptr;
std::string invalid;   // why the capture under way can no longer give a graph ("" while it can)
std::map<unsigned long long, size_t> pinned;   // cuMemAllocHost blocks: address -> bytes

bool is_pinned(const void* p, size_t n) {
    auto a = (unsigned long long)(uintptr_t)p;
    auto it = pinned.upper_bound(a);
    if (it == pinned.begin()) return false;
    --it;
    return a >= it->first && a + n <= it->first + it->second;
}

// Fails a call made during capture that no graph can hold.
int refuse(const char* call, const std::string& why) {
    std::string w = std::string(call) + " while the stream is being captured: " + why;
    fprintf(stderr, "[emu] ERROR: %s\n", w.c_str());
    if (invalid.empty()) invalid = w;
    return CAPTURE_UNSUPPORTED;
}
}  // namespace graph

struct kinfo_head { const char* name; int nparams; int sizes[24]; };   // the start of the mock's kernel table entry

extern "C" int emu_capturing(void) {
    std::lock_guard<std::mutex> lock(graph::mu);
    return graph::capturing;
}

extern "C" void emu_record(int (*run)(const void*), const void* blob, size_t bytes) {
    std::lock_guard<std::mutex> lock(graph::mu);
    graph::Op op{graph::Op::CALL};
    op.run = run;
    op.blob.assign((const char*)blob, (const char*)blob + bytes);
    graph::recording->ops.push_back(std::move(op));
}

extern "C" int cuLaunchKernel(void* f, unsigned gx, unsigned gy, unsigned gz, unsigned bx, unsigned by, unsigned bz,
                              unsigned smem, void* stream, void** params, void** extra) {
    int rc = mock_cuLaunchKernel(f, gx, gy, gz, bx, by, bz, smem, stream, params, extra);
    if (rc != 0) return rc;
    {
        std::lock_guard<std::mutex> lock(graph::mu);
        if (graph::capturing) {
            const kinfo_head* k = static_cast<const kinfo_head*>(f);
            graph::Op op{graph::Op::KERNEL};
            op.f = f;
            op.g[0] = gx; op.g[1] = gy; op.g[2] = gz;
            op.b[0] = bx; op.b[1] = by; op.b[2] = bz;
            op.smem = smem;
            for (int i = 0; i < k->nparams; i++)
                op.params.emplace_back((const char*)params[i], (const char*)params[i] + k->sizes[i]);
            graph::recording->ops.push_back(std::move(op));
            return 0;
        }
    }
    return run_kernel(f, gx, gy, gz, bx, by, bz, smem, params);
}

extern "C" int mock_cuMemcpyHtoDAsync_v2(unsigned long long dst, const void* src, size_t n, void* s);
extern "C" int mock_cuMemsetD32Async(unsigned long long dst, unsigned v, size_t n, void* s);
extern "C" int mock_cuStreamSynchronize(void* s);
extern "C" int mock_cuCtxSynchronize(void);
extern "C" int mock_cuMemcpyDtoH_v2(void* dst, unsigned long long src, size_t n);

extern "C" int cuMemcpyHtoDAsync_v2(unsigned long long dst, const void* src, size_t n, void* s) {
    {
        std::lock_guard<std::mutex> lock(graph::mu);
        if (graph::capturing) {
            if (!graph::is_pinned(src, n))
                return graph::refuse("cuMemcpyHtoDAsync", "the source is pageable host memory, which a graph would read again at"
                                     " every replay (copy from cuMemAllocHost memory)");
            graph::Op op{graph::Op::HTOD};
            op.dst = dst; op.src = src; op.n = n;
            graph::recording->ops.push_back(std::move(op));
            return 0;
        }
    }
    return mock_cuMemcpyHtoDAsync_v2(dst, src, n, s);
}

extern "C" int cuMemsetD32Async(unsigned long long dst, unsigned v, size_t n, void* s) {
    {
        std::lock_guard<std::mutex> lock(graph::mu);
        if (graph::capturing) {
            graph::Op op{graph::Op::MEMSET};
            op.dst = dst; op.value = v; op.n = n;
            graph::recording->ops.push_back(std::move(op));
            return 0;
        }
    }
    return mock_cuMemsetD32Async(dst, v, n, s);
}

extern "C" int cuStreamSynchronize(void* s) {
    std::lock_guard<std::mutex> lock(graph::mu);
    if (graph::capturing) return graph::refuse("cuStreamSynchronize", "it would wait for work that has not run");
    return mock_cuStreamSynchronize(s);
}

extern "C" int cuCtxSynchronize(void) {
    std::lock_guard<std::mutex> lock(graph::mu);
    if (graph::capturing) return graph::refuse("cuCtxSynchronize", "it would wait for work that has not run");
    return mock_cuCtxSynchronize();
}

extern "C" int cuMemcpyDtoH_v2(void* dst, unsigned long long src, size_t n) {
    {
        std::lock_guard<std::mutex> lock(graph::mu);
        if (graph::capturing) return graph::refuse("cuMemcpyDtoH", "it would read a value that has not been computed");
    }
    return mock_cuMemcpyDtoH_v2(dst, src, n);
}

extern "C" int cuMemAllocHost_v2(void** p, size_t n) {
    void* m = aligned_alloc(256, (n + 255) / 256 * 256);
    if (!m) return 2;   // CUDA_ERROR_OUT_OF_MEMORY
    std::lock_guard<std::mutex> lock(graph::mu);
    graph::pinned[(unsigned long long)(uintptr_t)m] = n;
    *p = m;
    return 0;
}

extern "C" int cuMemFreeHost(void* p) {
    std::lock_guard<std::mutex> lock(graph::mu);
    if (!graph::pinned.erase((unsigned long long)(uintptr_t)p)) return 1;   // CUDA_ERROR_INVALID_VALUE
    free(p);
    return 0;
}

extern "C" int cuStreamBeginCapture_v2(void* s, int mode) {
    (void)s; (void)mode;
    std::lock_guard<std::mutex> lock(graph::mu);
    if (graph::capturing) return graph::ILLEGAL_STATE;
    graph::capturing = true;
    graph::recording = new graph::Graph();
    graph::invalid.clear();
    return 0;
}

extern "C" int cuStreamEndCapture(void* s, void** out) {
    (void)s;
    std::lock_guard<std::mutex> lock(graph::mu);
    if (!graph::capturing) return graph::ILLEGAL_STATE;
    graph::capturing = false;
    if (!graph::invalid.empty()) {
        delete graph::recording;
        graph::recording = nullptr;
        *out = nullptr;
        return graph::CAPTURE_INVALIDATED;
    }
    *out = graph::recording;
    graph::recording = nullptr;
    return 0;
}

extern "C" int cuGraphInstantiateWithFlags(void** exec, void* g, unsigned long long flags) {
    (void)flags;
    if (!g) return 1;
    *exec = new graph::Graph(*static_cast<graph::Graph*>(g));
    return 0;
}

extern "C" int cuGraphLaunch(void* exec, void* s) {
    {
        std::lock_guard<std::mutex> lock(graph::mu);
        if (graph::capturing) return graph::refuse("cuGraphLaunch", "the emulated GPU does not nest graphs");
    }
    for (graph::Op& op : static_cast<graph::Graph*>(exec)->ops) {
        int rc = 0;
        switch (op.kind) {
            case graph::Op::KERNEL: {
                std::vector<void*> ps;
                for (auto& p : op.params) ps.push_back(p.data());
                rc = run_kernel(op.f, op.g[0], op.g[1], op.g[2], op.b[0], op.b[1], op.b[2], op.smem, ps.data());
                break;
            }
            case graph::Op::MEMSET: rc = mock_cuMemsetD32Async(op.dst, op.value, op.n, s); break;
            case graph::Op::HTOD: rc = mock_cuMemcpyHtoDAsync_v2(op.dst, op.src, op.n, s); break;
            case graph::Op::CALL: rc = op.run(op.blob.data()) ? emu::LAUNCH_FAILED : 0; break;
        }
        if (rc != 0) return rc;
    }
    return 0;
}

extern "C" int cuGraphExecDestroy(void* exec) { delete static_cast<graph::Graph*>(exec); return 0; }
extern "C" int cuGraphDestroy(void* g) { delete static_cast<graph::Graph*>(g); return 0; }
