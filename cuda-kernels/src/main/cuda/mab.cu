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
// Launch shape (fused): one block of 256 (or 512) threads per plane, grid = N*C. With cache = 1, D and b
// (forward) or D, b, g (backward) stay in dynamic shared memory (2 or 3 * H*W floats; 56*56 planes need
// 25 or 38 KB), so global memory is touched once per element; with cache = 0 the kernel re-reads a and b
// from global memory (L2 usually hits) and works for any plane size.

#include "common.cuh"

// ---------------------------------------------------------------- version 1: naive (three launches)

// D = (a - b)^2, one thread per element.
extern "C" __global__ void mab_naive_sqdiff(long long n, const float* __restrict__ a, const float* __restrict__ b,
                                            float* __restrict__ d) {
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x) {
        float t = a[i] - b[i];
        d[i] = t * t;
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
        float bv = pb[i], t = pa[i] - bv, dv = t * t;                      // eq. 3
        if (cache) { smem[i] = dv; smem[hw + i] = bv; }
        online_merge(m, s, dv, 1.f);
    }
    block_online(m, s, sm, ss);                                          // max and sum of eq. 4
    float inv = 1.f / s;
    for (int i = threadIdx.x; i < hw; i += blockDim.x) {
        float dv, bv;
        if (cache) { dv = smem[i]; bv = smem[hw + i]; }
        else { bv = pb[i]; float t = pa[i] - bv; dv = t * t; }
        y[base + i] = expf(dv - m) * inv * bv;                           // eq. 4 and 5
    }
    if (threadIdx.x == 0) lse[blockIdx.x] = m + logf(s);
}

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
        float bv = pb[i], gv = pg[i], t = pa[i] - bv, dv = t * t;
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
        dv = t * t;                          // a - b is cached, not D: backward needs its sign
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
        db[i] = expf(t * t - lse[idx_div(i, hw)]) * g[i];
    }
}
