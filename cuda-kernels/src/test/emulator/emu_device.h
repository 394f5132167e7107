// The CUDA device API that Pulmo's kernels use, for the host: the kernels' own source, compiled by g++ with this
// header in front, runs on the CPU with CUDA's semantics for everything the kernels rely on. A block's threads run
// as fibers on one OS thread (emu_runtime.cpp), switched at __syncthreads, __syncthreads_or and warp shuffles, so
// a kernel that needs a barrier it lacks, or that reaches different barriers in different threads, behaves as on no
// GPU at all and is reported instead. Nothing here is fast; it exists so that every kernel can be checked against
// its CPU reference through the real CUDA host code on a machine without a GPU (EmulatedGpuLaneTest).
#pragma once
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <utility>

#define __global__
#define __device__
#define __host__
#define __forceinline__ inline
#define __launch_bounds__(...)
// Static shared memory: one copy, which every block uses in turn (blocks run one after another), in a section of its
// own (emu_shared) so that the race check knows it from device memory.
#define __shared__ static __attribute__((section("emu_shared")))

struct emu_dim3 { unsigned int x, y, z; };

namespace emu {
// The running thread's coordinates and the launch's shape (emu_runtime.cpp keeps them current).
extern emu_dim3 thread_idx, block_idx, block_dim, grid_dim;
void syncthreads(const char* site);
int syncthreads_or(int predicate, const char* site);
unsigned long long shfl_xor(unsigned int mask, unsigned long long bits, int lane_mask, int width, const char* site);
void* dynamic_shared();

template <class T> T shfl_xor_sync(unsigned int mask, T v, int lane_mask, int width, const char* site) {
    static_assert(sizeof(T) <= 8 && std::is_trivially_copyable_v<T>, "shuffles move at most 8 bytes");
    unsigned long long bits = 0;
    std::memcpy(&bits, &v, sizeof(T));
    bits = shfl_xor(mask, bits, lane_mask, width, site);
    T r;
    std::memcpy(&r, &bits, sizeof(T));
    return r;
}

// Calls kernel f with CUDA's kernelParams array: p[i] points at the i-th argument's value.
template <class... A, std::size_t... I> void call_(void (*f)(A...), void** p, std::index_sequence<I...>) {
    f(*static_cast<std::remove_cv_t<std::remove_reference_t<A>>*>(p[I])...);
}
template <class... A> void call(void (*f)(A...), void** p) { call_(f, p, std::index_sequence_for<A...>{}); }

struct Kernel { const char* name; void (*invoke)(void** params); };
}  // namespace emu

#define threadIdx (emu::thread_idx)
#define blockIdx (emu::block_idx)
#define blockDim (emu::block_dim)
#define gridDim (emu::grid_dim)
#define warpSize 32
#define EMU_STR2(x) #x
#define EMU_STR(x) EMU_STR2(x)
#define EMU_SITE __FILE__ ":" EMU_STR(__LINE__)
#define __syncthreads() emu::syncthreads(EMU_SITE)
#define __syncthreads_or(p) emu::syncthreads_or((p), EMU_SITE)
#define __shfl_xor_sync(mask, v, lane, ...) emu::shfl_xor_sync((mask), (v), (lane), 32, EMU_SITE)

// Blocks run one at a time on one OS thread, so atomics are plain read-modify-writes. Left out of the race check's
// instrumentation (EMU_RACECHECK=1, emu_runtime.cpp): an atomic races with nothing.
#define EMU_ATOMIC inline __attribute__((no_sanitize_thread))
EMU_ATOMIC float atomicAdd(float* a, float v) { float o = *a; *a = o + v; return o; }
EMU_ATOMIC double atomicAdd(double* a, double v) { double o = *a; *a = o + v; return o; }
EMU_ATOMIC int atomicAdd(int* a, int v) { int o = *a; *a = o + v; return o; }
EMU_ATOMIC unsigned int atomicAdd(unsigned int* a, unsigned int v) { unsigned int o = *a; *a = o + v; return o; }
EMU_ATOMIC unsigned long long atomicAdd(unsigned long long* a, unsigned long long v) { unsigned long long o = *a; *a = o + v; return o; }

inline float __int_as_float(int i) { float f; std::memcpy(&f, &i, 4); return f; }
inline int __float_as_int(float f) { int i; std::memcpy(&i, &f, 4); return i; }
inline float __uint_as_float(unsigned int i) { float f; std::memcpy(&f, &i, 4); return f; }
inline unsigned int __float_as_uint(float f) { unsigned int i; std::memcpy(&i, &f, 4); return i; }
inline unsigned int __umulhi(unsigned int a, unsigned int b) { return (unsigned int)(((unsigned long long)a * b) >> 32); }

// CUDA's integer min and max (the device has overloads for every integer type; these are the ones the kernels use).
inline int min(int a, int b) { return a < b ? a : b; }
inline int max(int a, int b) { return a > b ? a : b; }
inline long long min(long long a, long long b) { return a < b ? a : b; }
inline long long max(long long a, long long b) { return a > b ? a : b; }
inline unsigned int min(unsigned int a, unsigned int b) { return a < b ? a : b; }
inline unsigned int max(unsigned int a, unsigned int b) { return a > b ? a : b; }
