// Squeeze-and-Excitation (Hu et al. 2018, Fig. 1) and MA-Net's fusion attention block (FAB): the
// per-channel parts. The small fully connected layers between squeeze and scale go through GEMM.
// (Op pages, with the plain-loop references, tests and benchmarks: tensor-core's org.pulmo.ops.SeScale for
// se_scale_*, org.pulmo.ops.FabFuse for fab_fuse_*; the squeezes' references are in org.pulmo.ops.reference.Reference.)
// The squeeze kernels are not run by the models, which squeeze with the generic global pools (a tie of maxima shares
// the gradient there; fab_squeeze gives it to the first): they are kept for their parity tests and benchmarks.
// Names here against the paper's: z1, z2 = eq. 9's M, N; x1, x2 = F_am, F_rem; alpha = eq. 10's a.
//
// SE squeeze   z[n,c] = mean_hw x[n,c,h,w]                    (Hu et al. eq. 2, F_sq)
//              one block per plane, reads H*W floats, writes 1: 4 B and 1 FLOP per element.
// SE scale     y = x * s[n,c], s the gate sigmoid(W2 ReLU(W1 z)) (Hu et al. eq. 3-4, F_ex and F_scale)
//              grid-stride, one thread per element: 8 B and 1 FLOP per element.
// SE scale bwd dx = dy * s[n,c];  ds[n,c] = sum_hw dy * x     one block per plane: 12 B, 3 FLOPs.
//
// FAB squeeze  (MA-Net eq. 7: V = avg + max of u = F_mix, eq. 6)  avg[n,c] = mean_hw u,  max[n,c] = max_hw u,  arg[n,c] = its flat index h*W + w (first of ties)
//              one block per plane, one read of u: 4 B, 2 FLOPs per element.
// FAB squeeze bwd  du = dAvg / HW + (i == arg) * dMax         one thread per element: 4 B written.
// FAB fusion   (MA-Net eq. 10-11) two-way channel softmax of the branch logits z1, z2 [N, C]:
//                alpha = e^z1 / (e^z1 + e^z2) = 1 / (1 + e^(z2 - z1)),  1 - alpha for the second branch
//              y = alpha[n,c] * x1 + (1 - alpha[n,c]) * x2      one thread per element: 12 B, 3 FLOPs.
// FAB fusion bwd  dx1 = alpha dy,  dx2 = (1 - alpha) dy,
//                 dAlpha = sum_hw dy (x1 - x2),  dz1 = alpha (1 - alpha) dAlpha,  dz2 = -dz1
//              one block per plane: reads x1, x2, dy, writes dx1, dx2: 20 B, 6 FLOPs per element.
// All tensors [N, C, H, W] contiguous; per-channel tensors [N, C] contiguous; hw = H*W. The block-per-plane kernels
// take any whole number of warps per block (CudaBackend.rowThreads: the plane's size rounded up to warps, <= 256).

#include "common.cuh"

extern "C" __global__ void se_squeeze(int hw, const float* __restrict__ x, float* __restrict__ z) {
    __shared__ float ss[32];
    const float* p = x + (long long)blockIdx.x * hw;
    float acc = 0.f;
    for (int i = threadIdx.x; i < hw; i += blockDim.x) acc += p[i];
    acc = block_sum(acc, ss);
    if (threadIdx.x == 0) z[blockIdx.x] = acc / hw;
}

extern "C" __global__ void se_scale_forward(long long n, int hw, const float* __restrict__ x, const float* __restrict__ s,
                                            float* __restrict__ y) {
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x)
        y[i] = x[i] * s[idx_div(i, hw)];
}

extern "C" __global__ void se_scale_backward(int hw, const float* __restrict__ x, const float* __restrict__ s,
                                             const float* __restrict__ dy, float* __restrict__ dx, float* __restrict__ ds) {
    __shared__ float ss[32];
    long long base = (long long)blockIdx.x * hw;
    float sc = s[blockIdx.x], acc = 0.f;
    for (int i = threadIdx.x; i < hw; i += blockDim.x) {
        float g = dy[base + i];
        dx[base + i] = g * sc;
        acc += g * x[base + i];
    }
    acc = block_sum(acc, ss);
    if (threadIdx.x == 0) ds[blockIdx.x] = acc;
}

extern "C" __global__ void fab_squeeze(int hw, const float* __restrict__ u, float* __restrict__ avg,
                                       float* __restrict__ mx, float* __restrict__ arg) {
    __shared__ float ss[32], sv[32];
    __shared__ int si[32];
    const float* p = u + (long long)blockIdx.x * hw;
    float acc = 0.f, best = -INFINITY;   // a thread with no values loses every comparison, even to a plane of -inf
    int bi = 0x7fffffff;
    for (int i = threadIdx.x; i < hw; i += blockDim.x) {
        float v = p[i];
        acc += v;
        if (v > best || bi == 0x7fffffff) { best = v; bi = i; }   // strided visit: first max of this thread
    }
    acc = block_sum(acc, ss);
    // (max, smallest index) across the block
    for (int o = 16; o > 0; o >>= 1) {
        float v2 = __shfl_xor_sync(0xffffffffu, best, o);
        int i2 = __shfl_xor_sync(0xffffffffu, bi, o);
        if (v2 > best || (v2 == best && i2 < bi)) { best = v2; bi = i2; }
    }
    int lane = threadIdx.x & 31, wid = threadIdx.x >> 5, nw = blockDim.x >> 5;
    if (lane == 0) { sv[wid] = best; si[wid] = bi; }
    __syncthreads();
    if (wid == 0) {
        best = lane < nw ? sv[lane] : -INFINITY;
        bi = lane < nw ? si[lane] : 0x7fffffff;
        for (int o = 16; o > 0; o >>= 1) {
            float v2 = __shfl_xor_sync(0xffffffffu, best, o);
            int i2 = __shfl_xor_sync(0xffffffffu, bi, o);
            if (v2 > best || (v2 == best && i2 < bi)) { best = v2; bi = i2; }
        }
        if (lane == 0) { avg[blockIdx.x] = acc / hw; mx[blockIdx.x] = best; arg[blockIdx.x] = (float)bi; }
    }
}

extern "C" __global__ void fab_squeeze_backward(long long n, int hw, const float* __restrict__ dAvg,
                                                const float* __restrict__ dMax, const float* __restrict__ arg,
                                                float* __restrict__ du) {
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x) {
        long long pl = idx_div(i, hw);
        int k = (int)(i - pl * hw);
        du[i] = dAvg[pl] / hw + (k == (int)arg[pl] ? dMax[pl] : 0.f);
    }
}

__device__ __forceinline__ float fab_alpha(float z1, float z2) { return 1.f / (1.f + expf(z2 - z1)); }

extern "C" __global__ void fab_fuse_forward(long long n, int hw, const float* __restrict__ x1, const float* __restrict__ x2,
                                            const float* __restrict__ z1, const float* __restrict__ z2,
                                            float* __restrict__ y) {
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x) {
        long long pl = idx_div(i, hw);
        float al = fab_alpha(z1[pl], z2[pl]);
        y[i] = al * x1[i] + (1.f - al) * x2[i];
    }
}

extern "C" __global__ void fab_fuse_backward(int hw, const float* __restrict__ x1, const float* __restrict__ x2,
                                             const float* __restrict__ z1, const float* __restrict__ z2,
                                             const float* __restrict__ dy, float* __restrict__ dx1,
                                             float* __restrict__ dx2, float* __restrict__ dz1, float* __restrict__ dz2) {
    __shared__ float ss[32];
    long long base = (long long)blockIdx.x * hw;
    float al = fab_alpha(z1[blockIdx.x], z2[blockIdx.x]), acc = 0.f;
    for (int i = threadIdx.x; i < hw; i += blockDim.x) {
        float g = dy[base + i];
        dx1[base + i] = al * g;
        dx2[base + i] = (1.f - al) * g;
        acc += g * (x1[base + i] - x2[base + i]);
    }
    acc = block_sum(acc, ss);
    if (threadIdx.x == 0) {
        float dz = al * (1.f - al) * acc;
        dz1[blockIdx.x] = dz;
        dz2[blockIdx.x] = -dz;
    }
}
