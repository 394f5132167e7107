// Shared helpers of every Pulmo kernel. The .cu files are compiled as one translation unit (the build
// writes a unity file that #includes each of them), so helpers live here once and every kernel is
// extern "C" with a unique name: the Java side looks kernels up by these names.
#pragma once
#include <cstdint>
#include <cfloat>

#define PULMO_MAX_RANK 8

// t * t rounded on its own, never fused with the subtraction that follows it into one multiply-add. MAB computes
// D = (a - b)^2 in forward and again, twice, in backward; the softmax weight exp(D - lse) must come out of the same
// bits each time (backward's dominant-position test compares it with 3/4 in two passes, and one position counted on
// both sides of that test would be summed twice) and as the CPU reference rounds it (D first, then D - lse). The
// compiler may contract t * t - L into an FMA in one place and not in another; __fmul_rn is never contracted.
__host__ __device__ __forceinline__ float sq_rn(float t) {
#ifdef __CUDA_ARCH__
    return __fmul_rn(t, t);
#else
    // No __fmul_rn on the host: a host compiler that fuses (g++ with -ffp-contract=fast, as in the emulated GPU's
    // EMU_CONTRACT=1 build) must not fuse it either, so the product goes through a volatile it cannot see past.
    volatile float r = t * t;
    return r;
#endif
}

// A strided walk over up to three operands after the Java side has coalesced dims (adjacent dims that
// are contiguous for every operand merge, size-1 dims drop). Passed by value as a kernel parameter:
// 1 + 8 + 3*8 + 3 + 8 + 8 + 1 = 53 ints, the layout org.pulmo.cuda.StridedArgs writes.
//
// GPUs have no integer divider: a 64-bit i / shape and i % shape is a call of about 90 instructions,
// more than a memory-bound op may spend per element (at 4.3 TB/s an H200 moves a 12-byte binary op's
// element in the time of ~45 integer instructions). So the walk divides as a multiply: for element
// counts below 2^31 (narrow = 1), i / shape[d] = (umulhi(i, magic[d]) + i) >> shift[d] with the Java
// side's magic numbers (Granlund & Montgomery's round-up method; StridedArgs.divide is its reference),
// and the outermost dim needs no division at all, so a contiguous operand (rank 1) costs none.
struct Strided3 {
    int rank;
    int shape[PULMO_MAX_RANK];
    int stride[3][PULMO_MAX_RANK];
    int offset[3];
    unsigned int magic[PULMO_MAX_RANK];
    int shift[PULMO_MAX_RANK];
    int narrow;
};

// The high 32 bits of a * b (__umulhi on the device; host builds of this header: StridedArgsTest's harness).
__host__ __device__ __forceinline__ unsigned int umulhi32(unsigned int a, unsigned int b) {
#ifdef __CUDA_ARCH__
    return __umulhi(a, b);
#else
    return (unsigned int)(((unsigned long long)a * b) >> 32);
#endif
}

// Element offsets of operands 0..2 for linear (row-major) index i of the shape. Also compiled for the host by
// StridedArgsTest, which runs this very code against the views' own strides.
__host__ __device__ __forceinline__ void strided_offsets(const Strided3& L, long long i, long long off[3]) {
    off[0] = L.offset[0]; off[1] = L.offset[1]; off[2] = L.offset[2];
    if (L.narrow) {
        unsigned int u = (unsigned int)i;
        for (int d = L.rank - 1; d > 0; d--) {
            unsigned int q = (umulhi32(u, L.magic[d]) + u) >> L.shift[d];
            unsigned int c = u - q * (unsigned int)L.shape[d];
            u = q;
            off[0] += (long long)c * L.stride[0][d];
            off[1] += (long long)c * L.stride[1][d];
            off[2] += (long long)c * L.stride[2][d];
        }
        i = u;
    } else {
        for (int d = L.rank - 1; d > 0; d--) {
            long long c = i % L.shape[d];
            i /= L.shape[d];
            off[0] += c * L.stride[0][d];
            off[1] += c * L.stride[1][d];
            off[2] += c * L.stride[2][d];
        }
    }
    off[0] += i * L.stride[0][0];   // what is left of i is the outermost coordinate
    off[1] += i * L.stride[1][0];
    off[2] += i * L.stride[2][0];
}

// i / d for an element index i >= 0 and a divisor d >= 1 (a plane's or a channel's size): one 32-bit unsigned
// division (~20 instructions) where both fit in 31 bits, instead of the ~90 of a 64-bit one (see Strided3). The
// test is the same for every element of a launch below 2^31 elements, so warps do not diverge on it.
__host__ __device__ __forceinline__ long long idx_div(long long i, long long d) {
    return (i <= 0x7fffffffLL && d <= 0x7fffffffLL) ? (long long)((unsigned int)i / (unsigned int)d) : i / d;
}

__device__ __forceinline__ float warp_sum(float v) {
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

__device__ __forceinline__ float warp_max(float v) {
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

// Block-wide sum / max for blockDim.x a multiple of 32 (<= 1024). Every thread gets the result.
// `scratch` holds 32 floats of shared memory; the call ends with a barrier so scratch can be reused.
__device__ __forceinline__ float block_sum(float v, float* scratch) {
    int lane = threadIdx.x & 31, wid = threadIdx.x >> 5, nw = blockDim.x >> 5;
    v = warp_sum(v);
    __syncthreads();
    if (lane == 0) scratch[wid] = v;
    __syncthreads();
    v = lane < nw ? scratch[lane] : 0.f;
    v = warp_sum(v);
    __syncthreads();
    return v;
}

__device__ __forceinline__ float block_max(float v, float* scratch) {
    int lane = threadIdx.x & 31, wid = threadIdx.x >> 5, nw = blockDim.x >> 5;
    v = warp_max(v);
    __syncthreads();
    if (lane == 0) scratch[wid] = v;
    __syncthreads();
    v = lane < nw ? scratch[lane] : -FLT_MAX;
    v = warp_max(v);
    __syncthreads();
    return v;
}

// Online softmax statistics: (m, s) with s = sum exp(x - m); merging two partial states rescales the
// smaller-max one, so max and sum come out of a single pass (Milakov & Gimelshein 2018).
__host__ __device__ __forceinline__ void online_merge(float& m, float& s, float m2, float s2) {
    if (m2 > m) { s = s * expf(m - m2) + s2; m = m2; }
    else if (m2 != -FLT_MAX) { s += s2 * expf(m2 - m); }
}

// The online state of a whole warp, in every lane (xor butterfly: every lane does the same merges in the same order
// of operands' magnitudes, so all end with the same bits).
__device__ __forceinline__ void warp_online(float& m, float& s) {
    for (int o = 16; o > 0; o >>= 1) {
        float m2 = __shfl_xor_sync(0xffffffffu, m, o), s2 = __shfl_xor_sync(0xffffffffu, s, o);
        online_merge(m, s, m2, s2);
    }
}

__device__ __forceinline__ void block_online(float& m, float& s, float* scratchM, float* scratchS) {
    int lane = threadIdx.x & 31, wid = threadIdx.x >> 5, nw = blockDim.x >> 5;
    for (int o = 16; o > 0; o >>= 1) {
        float m2 = __shfl_xor_sync(0xffffffffu, m, o), s2 = __shfl_xor_sync(0xffffffffu, s, o);
        online_merge(m, s, m2, s2);
    }
    __syncthreads();
    if (lane == 0) { scratchM[wid] = m; scratchS[wid] = s; }
    __syncthreads();
    m = lane < nw ? scratchM[lane] : -FLT_MAX;
    s = lane < nw ? scratchS[lane] : 0.f;
    for (int o = 16; o > 0; o >>= 1) {
        float m2 = __shfl_xor_sync(0xffffffffu, m, o), s2 = __shfl_xor_sync(0xffffffffu, s, o);
        online_merge(m, s, m2, s2);
    }
    __syncthreads();
}
