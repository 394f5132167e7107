// Shared helpers of every Pulmo kernel. The .cu files are compiled as one translation unit (the build
// writes a unity file that #includes each of them), so helpers live here once and every kernel is
// extern "C" with a unique name: the Java side looks kernels up by these names.
#pragma once
#include <cstdint>
#include <cfloat>

#define PULMO_MAX_RANK 8

// A strided walk over up to three operands after the Java side has coalesced dims (adjacent dims that
// are contiguous for every operand merge, size-1 dims drop). Passed by value as a kernel parameter:
// 1 + 8 + 3*8 + 3 = 36 ints, the layout org.pulmo.cuda.StridedArgs writes.
struct Strided3 {
    int rank;
    int shape[PULMO_MAX_RANK];
    int stride[3][PULMO_MAX_RANK];
    int offset[3];
};

// Element offsets of operands 0..2 for linear (row-major) index i of the shape.
__device__ __forceinline__ void strided_offsets(const Strided3& L, long long i, long long off[3]) {
    off[0] = L.offset[0]; off[1] = L.offset[1]; off[2] = L.offset[2];
    for (int d = L.rank - 1; d >= 0; d--) {
        long long c = i % L.shape[d];
        i /= L.shape[d];
        off[0] += c * L.stride[0][d];
        off[1] += c * L.stride[1][d];
        off[2] += c * L.stride[2][d];
    }
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
__device__ __forceinline__ void online_merge(float& m, float& s, float m2, float s2) {
    if (m2 > m) { s = s * expf(m - m2) + s2; m = m2; }
    else if (m2 != -FLT_MAX) { s += s2 * expf(m2 - m); }
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
