// Mutex attention block (MA-Net), the paper's new op, per (sample n, channel c) plane of H*W values:
// (The op's page, with the plain-loop reference, tests and benchmarks: tensor-core's org.pulmo.ops.Mab.)
//   D    = (a - b)^2                                   (eq. 3, the mutex distance of the two feature maps)
//   P    = softmax over the H*W positions of D          (eq. 4, computed as exp(D - max D) / sum, max-subtracted)
//   F_am = P (.) b                                     (eq. 5, attention applied to the second input)
// a, b, y: [N, C, H, W] contiguous, row-major. The forward also writes lse[n*C + c] = max + log(sum), so the
// backward recomputes P = exp(D - lse) without storing the [N, C, H, W] softmax.
//
// Backward with g = dF_am:  dP = g (.) b,   dD = P (.) (dP - sum_hw(P (.) dP)),
//   da = dD * 2(a - b),   db = g (.) P - dD * 2(a - b).
// Peaked planes: when one position holds nearly all of P (P_k -> 1, common in the last stage's small maps),
// dP_k - sum_j P_j dP_j cancels to almost nothing and float32 keeps only a few of its bits (relative errors
// of 1e-2 and more against float64). Since sum_j P_j = 1, that difference equals
// dP_k sum_{j != k} P_j - sum_{j != k} P_j dP_j, which has no cancellation; the kernels use it for the one
// position with P > 3/4 (at most one per plane), from two extra sums over the other positions.
//
// Traffic and FLOPs per element (fp32):
//   fused forward : reads a, b, writes y             = 12 B;  ~8 FLOPs + 1 exp (twice when the plane is
//                   re-read instead of cached, see below)
//   fused backward: reads a, b, g, writes da, db      = 20 B;  ~16 FLOPs + 1 exp
//   naive forward : 3 launches (sqdiff -> D, row softmax -> P, mul -> y): writes and re-reads D and P,
//                   28 B per element. Kept as the baseline the fused kernel is measured against.
// Launch shape (fused, block version): one block of 256 (or 512) threads per plane, grid = N*C. With cache = 1,
// D and b (forward) or D, b, g (backward) stay in dynamic shared memory (2 or 3 * H*W floats; 56*56 planes need
// 25 or 38 KB), so global memory is touched once per element; with cache = 0 the kernel re-reads a and b
// from global memory (L2 usually hits) and works for any plane size.
// Launch shape (fused, warp version, planes of at most 1024 values): one warp per plane, 4 planes per block of
// 128 threads, the plane in registers (see version 3 below). Which one runs: MabKernels.

#include "common.cuh"

// ---------------------------------------------------------------- version 1: naive (three launches)

// D = (a - b)^2, one thread per element.
extern "C" __global__ void mab_naive_sqdiff(long long n, const float* __restrict__ a, const float* __restrict__ b,
                                            float* __restrict__ d) {
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x) {
        float t = a[i] - b[i];
        d[i] = sq_rn(t);
    }
}

// P = softmax(D) per row of hw values, in place; lse written per row. One block per row.
extern "C" __global__ void mab_naive_softmax(int hw, float* __restrict__ d, float* __restrict__ lse) {
    __shared__ float sm[32], ss[32];
    float* row = d + (long long)blockIdx.x * hw;
    float m = -FLT_MAX;
    for (int i = threadIdx.x; i < hw; i += blockDim.x) m = fmaxf(m, row[i]);
    m = block_max(m, sm);
    float s = 0.f;
    for (int i = threadIdx.x; i < hw; i += blockDim.x) s += expf(row[i] - m);
    s = block_sum(s, ss);
    float inv = 1.f / s;
    for (int i = threadIdx.x; i < hw; i += blockDim.x) row[i] = expf(row[i] - m) * inv;
    if (threadIdx.x == 0) lse[blockIdx.x] = m + logf(s);
}

// y = P (.) b, one thread per element.
extern "C" __global__ void mab_naive_mul(long long n, const float* __restrict__ p, const float* __restrict__ b,
                                         float* __restrict__ y) {
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x)
        y[i] = p[i] * b[i];
}

// ---------------------------------------------------------------- version 2: fused (one launch, one pass)
// What changed: D is never written to global memory; max and sum come from one online-softmax pass
// (common.cuh), and the plane's D and b wait in shared memory for the write of y.

extern "C" __global__ void mab_fused_forward(int hw, int cache, const float* __restrict__ a, const float* __restrict__ b,
                                             float* __restrict__ y, float* __restrict__ lse) {
    extern __shared__ float smem[];          // [hw] D, then [hw] b, when cache
    __shared__ float sm[32], ss[32];
    long long base = (long long)blockIdx.x * hw;
    const float* pa = a + base;
    const float* pb = b + base;
    float m = -FLT_MAX, s = 0.f;
    for (int i = threadIdx.x; i < hw; i += blockDim.x) {
        float bv = pb[i], t = pa[i] - bv, dv = sq_rn(t);                  // eq. 3
        if (cache) { smem[i] = dv; smem[hw + i] = bv; }
        online_merge(m, s, dv, 1.f);
    }
    block_online(m, s, sm, ss);                                          // max and sum of eq. 4
    float inv = 1.f / s;
    for (int i = threadIdx.x; i < hw; i += blockDim.x) {
        float dv, bv;
        if (cache) { dv = smem[i]; bv = smem[hw + i]; }
        else { bv = pb[i]; float t = pa[i] - bv; dv = sq_rn(t); }
        y[base + i] = expf(dv - m) * inv * bv;                           // eq. 4 and 5
    }
    if (threadIdx.x == 0) lse[blockIdx.x] = m + logf(s);
}

// Departure (arithmetic only): the dominant position's softmax derivative is rearranged for float32 (Mab.java).
#define DOMINANT 0.75f   // a softmax weight above this is the plane's one dominant position (see the top)

extern "C" __global__ void mab_fused_backward(int hw, int cache, const float* __restrict__ a, const float* __restrict__ b,
                                              const float* __restrict__ g, const float* __restrict__ lse,
                                              float* __restrict__ da, float* __restrict__ db) {
    extern __shared__ float smem[];          // [hw] a - b, [hw] b, [hw] g, when cache
    __shared__ float ss[32];
    long long base = (long long)blockIdx.x * hw;
    const float* pa = a + base;
    const float* pb = b + base;
    const float* pg = g + base;
    float L = lse[blockIdx.x];
    float dot = 0.f;                         // sum_hw P * dP = sum_hw P * g * b
    float rest = 0.f, restDot = 0.f;         // the same sums without the dominant position (P > 3/4), if any
    for (int i = threadIdx.x; i < hw; i += blockDim.x) {
        float bv = pb[i], gv = pg[i], t = pa[i] - bv, dv = sq_rn(t);
        if (cache) { smem[i] = t; smem[hw + i] = bv; smem[2 * hw + i] = gv; }
        float p = expf(dv - L), pdp = p * gv * bv;
        dot += pdp;
        if (p <= DOMINANT) { rest += p; restDot += pdp; }
    }
    dot = block_sum(dot, ss);
    rest = block_sum(rest, ss);
    restDot = block_sum(restDot, ss);
    for (int i = threadIdx.x; i < hw; i += blockDim.x) {
        float dv, bv, gv, t;
        if (cache) { t = smem[i]; bv = smem[hw + i]; gv = smem[2 * hw + i]; }
        else { bv = pb[i]; gv = pg[i]; t = pa[i] - bv; }
        dv = sq_rn(t);                      // a - b is cached, not D: backward needs its sign
        float p = expf(dv - L), dp = gv * bv;
        float dD = p * (p > DOMINANT ? dp * rest - restDot : dp - dot);
        float dd = dD * 2.f * t;
        da[base + i] = dd;
        db[base + i] = gv * p - dd;
    }
}

// ---------------------------------------------------------------- the attention map constant in backward
// MA-Net's default (docs/FIDELITY.md, "MAB in backward"; Mab.mabConstantMap): P is a constant in backward, so
// da = 0 and db = g (.) P with P = exp((a - b)^2 - lse[plane]). One thread per element, grid-stride: reads a, b, g
// (and one lse per plane, from cache), writes db = 16 B per element, no reduction.
extern "C" __global__ void mab_constant_map_backward(long long n, int hw, const float* __restrict__ a,
                                                     const float* __restrict__ b, const float* __restrict__ g,
                                                     const float* __restrict__ lse, float* __restrict__ db) {
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x) {
        float t = a[i] - b[i];
        db[i] = expf(sq_rn(t) - lse[idx_div(i, hw)]) * g[i];
    }
}

// ---------------------------------------------------------------- version 3: one warp per plane (up to 1024 values)
// What changed: small planes (MA-Net's stages 2-4 at 224: 28x28, 14x14, 7x7) leave most of a 256-thread block
// idle (a 7x7 plane: 49 of 256 threads work) and stop every block at its barriers for a few dozen values, so
// few loads are in flight and HBM waits. Here a warp owns a plane: 4 planes per block, no shared memory, no
// __syncthreads, warp shuffles for the sums; lane l keeps positions l, l + 32, ..., l + 32 (K - 1) of its plane
// in registers between the two passes (K = 2, 8 or 32 for planes of up to 64, 256 or 1024 values), so global
// memory is read once and written once, the fused kernel's minimum traffic.
// The per-lane parts are __host__ __device__: MabWarpTest compiles them for the host and runs a plane lane by
// lane against the reference, merging the lanes' partial results as the shuffles do.

template <int K> struct MabLane {
    float t[K];   // a - b at this lane's positions (the backward needs its sign; D = t^2)
    float b[K];
    float g[K];   // dF_am (backward only)
};

// Forward, pass 1: this lane's values into v, and the online (max, sum) of its D values.
template <int K>
__host__ __device__ __forceinline__ void mab_lane_forward_load(int hw, int lane, const float* pa, const float* pb, MabLane<K>& v,
                                                               float& m, float& s) {
    m = -FLT_MAX; s = 0.f;
#pragma unroll
    for (int k = 0; k < K; k++) {
        int i = lane + 32 * k;
        if (i < hw) {
            float bv = pb[i], t = pa[i] - bv;
            v.t[k] = t; v.b[k] = bv;
            online_merge(m, s, sq_rn(t), 1.f);                          // eq. 3, and eq. 4's max and sum
        }
    }
}

// Forward, pass 2: y = exp(D - m) / s * b at this lane's positions (eq. 4 and 5), from the plane's (m, s).
template <int K>
__host__ __device__ __forceinline__ void mab_lane_forward_store(int hw, int lane, const MabLane<K>& v, float m, float s, float* py) {
    float inv = 1.f / s;
#pragma unroll
    for (int k = 0; k < K; k++) {
        int i = lane + 32 * k;
        if (i < hw) py[i] = expf(sq_rn(v.t[k]) - m) * inv * v.b[k];
    }
}

// Backward, pass 1: this lane's values into v and its parts of the three sums of the block version (dot, rest, restDot).
template <int K>
__host__ __device__ __forceinline__ void mab_lane_backward_load(int hw, int lane, const float* pa, const float* pb, const float* pg,
                                                                float L, MabLane<K>& v, float sums[3]) {
    sums[0] = sums[1] = sums[2] = 0.f;
#pragma unroll
    for (int k = 0; k < K; k++) {
        int i = lane + 32 * k;
        if (i < hw) {
            float bv = pb[i], gv = pg[i], t = pa[i] - bv;
            v.t[k] = t; v.b[k] = bv; v.g[k] = gv;
            float p = expf(sq_rn(t) - L), pdp = p * gv * bv;
            sums[0] += pdp;
            if (p <= DOMINANT) { sums[1] += p; sums[2] += pdp; }
        }
    }
}

// Backward, pass 2: da, db at this lane's positions from the plane's sums (the same formulas as the block version).
template <int K>
__host__ __device__ __forceinline__ void mab_lane_backward_store(int hw, int lane, const MabLane<K>& v, float L, const float sums[3],
                                                                 float* pda, float* pdb) {
#pragma unroll
    for (int k = 0; k < K; k++) {
        int i = lane + 32 * k;
        if (i < hw) {
            float t = v.t[k], p = expf(sq_rn(t) - L), dp = v.g[k] * v.b[k];
            float dD = p * (p > DOMINANT ? dp * sums[1] - sums[2] : dp - sums[0]);
            float dd = dD * 2.f * t;
            pda[i] = dd;
            pdb[i] = v.g[k] * p - dd;
        }
    }
}

template <int K>
__device__ __forceinline__ void mab_warp_forward_k(int planes, int hw, const float* __restrict__ a, const float* __restrict__ b,
                                                   float* __restrict__ y, float* __restrict__ lse) {
    int plane = (int)((blockIdx.x * (long long)blockDim.x + threadIdx.x) >> 5), lane = threadIdx.x & 31;
    if (plane >= planes) return;             // the whole warp leaves together
    long long base = (long long)plane * hw;
    MabLane<K> v;
    float m, s;
    mab_lane_forward_load<K>(hw, lane, a + base, b + base, v, m, s);
    warp_online(m, s);
    mab_lane_forward_store<K>(hw, lane, v, m, s, y + base);
    if (lane == 0) lse[plane] = m + logf(s);
}

template <int K>
__device__ __forceinline__ void mab_warp_backward_k(int planes, int hw, const float* __restrict__ a, const float* __restrict__ b,
                                                    const float* __restrict__ g, const float* __restrict__ lse,
                                                    float* __restrict__ da, float* __restrict__ db) {
    int plane = (int)((blockIdx.x * (long long)blockDim.x + threadIdx.x) >> 5), lane = threadIdx.x & 31;
    if (plane >= planes) return;
    long long base = (long long)plane * hw;
    float L = lse[plane], sums[3];
    MabLane<K> v;
    mab_lane_backward_load<K>(hw, lane, a + base, b + base, g + base, L, v, sums);
    for (int j = 0; j < 3; j++) sums[j] = warp_sum(sums[j]);
    mab_lane_backward_store<K>(hw, lane, v, L, sums, da + base, db + base);
}

// The kernels, one pair per K (written out: the build and the mock driver read kernel names from these lines).
extern "C" __global__ void mab_warp_forward_2(int planes, int hw, const float* __restrict__ a, const float* __restrict__ b,
                                               float* __restrict__ y, float* __restrict__ lse) {
    mab_warp_forward_k<2>(planes, hw, a, b, y, lse);
}
extern "C" __global__ void mab_warp_backward_2(int planes, int hw, const float* __restrict__ a, const float* __restrict__ b,
                                                const float* __restrict__ g, const float* __restrict__ lse, float* __restrict__ da,
                                                float* __restrict__ db) {
    mab_warp_backward_k<2>(planes, hw, a, b, g, lse, da, db);
}
extern "C" __global__ void mab_warp_forward_8(int planes, int hw, const float* __restrict__ a, const float* __restrict__ b,
                                               float* __restrict__ y, float* __restrict__ lse) {
    mab_warp_forward_k<8>(planes, hw, a, b, y, lse);
}
extern "C" __global__ void mab_warp_backward_8(int planes, int hw, const float* __restrict__ a, const float* __restrict__ b,
                                                const float* __restrict__ g, const float* __restrict__ lse, float* __restrict__ da,
                                                float* __restrict__ db) {
    mab_warp_backward_k<8>(planes, hw, a, b, g, lse, da, db);
}
extern "C" __global__ void mab_warp_forward_32(int planes, int hw, const float* __restrict__ a, const float* __restrict__ b,
                                               float* __restrict__ y, float* __restrict__ lse) {
    mab_warp_forward_k<32>(planes, hw, a, b, y, lse);
}
extern "C" __global__ void mab_warp_backward_32(int planes, int hw, const float* __restrict__ a, const float* __restrict__ b,
                                                const float* __restrict__ g, const float* __restrict__ lse, float* __restrict__ da,
                                                float* __restrict__ db) {
    mab_warp_backward_k<32>(planes, hw, a, b, g, lse, da, db);
}
