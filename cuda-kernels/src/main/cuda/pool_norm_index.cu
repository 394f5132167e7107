// Max-pool, batch-normalisation and gather/scatter kernels for the Backend methods cuDNN's API does not
// fit: Backend.maxPool2d / maxPool2dBackward(dy, argmax) keep an argmax rather than cuDNN's (x, y, dy), and
// batchNormStats / Apply / Backward are separate steps with the biased variance, not cuDNN's fused training
// call. The training path runs cuDNN (max and average pooling, batch norm) and falls back to the bn_*
// kernels where cuDNN cannot run (eps below CUDNN_BN_MIN_EPSILON). NCHW, contiguous. Semantics are those of
// the CPU reference (org.pulmo.backend.cpu).
//   maxpool_forward   one thread per output: y and argmax (flat h*W + w in the input plane, first max,
//                     NaN wins). Reads kH*kW inputs per output.
//   maxpool_backward  one thread per output, atomicAdd into dx at argmax (windows may overlap).
//   bn_stats          one block per channel: mean, then biased variance around it (two passes, double
//                     accumulators). 8 B per element read.
//   bn_apply          y = x * scale[c] + shift[c], one thread per element. 8 B, 2 FLOPs.
//   bn_backward_reduce  one block per channel: dbias = sum dy, dweight = invStd * sum dy (x - mean).
//   bn_backward_dx    dx = w invStd / M (M dy - dbias - xhat dweight), one thread per element.
//   gather_dim / scatter_add_dim  PyTorch's gather and scatter_add on contiguous [outer, D, inner]
//                     layouts (index and src [outer, Di, inner]); scatter uses atomicAdd.

#include "common.cuh"

#define GS(i, n) for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < (n); i += (long long)gridDim.x * blockDim.x)

extern "C" __global__ void maxpool_forward(long long total, int H, int W, int OH, int OW, int kH, int kW, int sH, int sW,
                                           int pH, int pW, const float* __restrict__ x, float* __restrict__ y,
                                           float* __restrict__ arg) {
    GS(o, total) {
        long long q = idx_div(o, OW), pl = idx_div(q, OH);
        int j = (int)(o - q * OW), i = (int)(q - pl * OH);
        const float* xp = x + pl * H * W;
        int h0 = i * sH - pH, w0 = j * sW - pW;
        float best = -INFINITY;
        int bi = -1;
        for (int a = max(h0, 0); a < min(h0 + kH, H); a++)
            for (int b = max(w0, 0); b < min(w0 + kW, W); b++) {
                float v = xp[a * W + b];
                if (v > best || bi < 0 || v != v) { best = v; bi = a * W + b; }
            }
        y[o] = best;
        arg[o] = (float)bi;
    }
}

extern "C" __global__ void maxpool_backward(long long total, int planeIn, int planeOut, const float* __restrict__ dy,
                                            const float* __restrict__ arg, float* __restrict__ dx) {
    GS(o, total) {
        long long pl = idx_div(o, planeOut);
        atomicAdd(dx + pl * planeIn + (int)arg[o], dy[o]);
    }
}

// x [N, C, S]: one block per channel.
extern "C" __global__ void bn_stats(int N, int C, int S, const float* __restrict__ x, float* __restrict__ mean,
                                    float* __restrict__ var) {
    __shared__ double sd[32];
    int c = blockIdx.x;
    long long M = (long long)N * S;
    double acc = 0.0;
    for (long long k = threadIdx.x; k < M; k += blockDim.x) {
        long long n = idx_div(k, S), s = k - n * S;
        acc += x[(n * C + c) * S + s];
    }
    int lane = threadIdx.x & 31, wid = threadIdx.x >> 5, nw = blockDim.x >> 5;
    for (int o = 16; o > 0; o >>= 1) acc += __shfl_xor_sync(0xffffffffu, acc, o);
    if (lane == 0) sd[wid] = acc;
    __syncthreads();
    double total = 0.0;
    for (int w = 0; w < nw; w++) total += sd[w];
    double mu = total / M;
    __syncthreads();
    acc = 0.0;
    for (long long k = threadIdx.x; k < M; k += blockDim.x) {
        long long n = idx_div(k, S), s = k - n * S;
        double v = x[(n * C + c) * S + s] - mu;
        acc += v * v;
    }
    for (int o = 16; o > 0; o >>= 1) acc += __shfl_xor_sync(0xffffffffu, acc, o);
    if (lane == 0) sd[wid] = acc;
    __syncthreads();
    if (threadIdx.x == 0) {
        double sq = 0.0;
        for (int w = 0; w < nw; w++) sq += sd[w];
        mean[c] = (float)mu;
        var[c] = (float)(sq / M);
    }
}

// weight and bias may be null (1 and 0).
extern "C" __global__ void bn_apply(long long total, int C, int S, const float* __restrict__ x, const float* __restrict__ mean,
                                    const float* __restrict__ invStd, const float* __restrict__ weight,
                                    const float* __restrict__ bias, float* __restrict__ y) {
    GS(e, total) {
        long long q = idx_div(e, S);
        int c = (int)(q - idx_div(q, C) * C);
        float k = invStd[c] * (weight ? weight[c] : 1.f);
        float t = (bias ? bias[c] : 0.f) - mean[c] * k;
        y[e] = x[e] * k + t;
    }
}

extern "C" __global__ void bn_backward_reduce(int N, int C, int S, const float* __restrict__ dy, const float* __restrict__ x,
                                              const float* __restrict__ mean, const float* __restrict__ invStd,
                                              float* __restrict__ dweight, float* __restrict__ dbias) {
    __shared__ double sg[32], sgx[32];
    int c = blockIdx.x;
    long long M = (long long)N * S;
    float mu = mean[c];
    double a = 0.0, b = 0.0;
    for (long long k = threadIdx.x; k < M; k += blockDim.x) {
        long long n = idx_div(k, S), s = k - n * S, e = (n * C + c) * S + s;
        float g = dy[e];
        a += g;
        b += g * (x[e] - mu);
    }
    for (int o = 16; o > 0; o >>= 1) { a += __shfl_xor_sync(0xffffffffu, a, o); b += __shfl_xor_sync(0xffffffffu, b, o); }
    int lane = threadIdx.x & 31, wid = threadIdx.x >> 5, nw = blockDim.x >> 5;
    if (lane == 0) { sg[wid] = a; sgx[wid] = b; }
    __syncthreads();
    if (threadIdx.x == 0) {
        double ta = 0.0, tb = 0.0;
        for (int w = 0; w < nw; w++) { ta += sg[w]; tb += sgx[w]; }
        dbias[c] = (float)ta;
        dweight[c] = (float)(tb * invStd[c]);
    }
}

extern "C" __global__ void bn_backward_dx(long long total, int C, int S, long long M, const float* __restrict__ dy,
                                          const float* __restrict__ x, const float* __restrict__ mean,
                                          const float* __restrict__ invStd, const float* __restrict__ weight,
                                          const float* __restrict__ dweight, const float* __restrict__ dbias,
                                          float* __restrict__ dx) {
    GS(e, total) {
        long long q = idx_div(e, S);
        int c = (int)(q - idx_div(q, C) * C);
        float is = invStd[c], k = (weight ? weight[c] : 1.f) * is / M;
        float xhat = (x[e] - mean[c]) * is;
        dx[e] = k * ((float)M * dy[e] - dbias[c] - xhat * dweight[c]);
    }
}

// out[o, j, i] = x[o, index[o, j, i], i]; x [outer, D, inner], index/out [outer, Di, inner].
extern "C" __global__ void gather_dim(long long total, int D, int Di, int inner, const float* __restrict__ x,
                                      const float* __restrict__ index, float* __restrict__ out) {
    GS(e, total) {
        long long q = idx_div(e, inner), i = e - q * inner, o = idx_div(q, Di);
        out[e] = x[(o * D + (long long)index[e]) * inner + i];
    }
}

// out (zeroed) [outer, D, inner]; out[o, index[o, j, i], i] += src[o, j, i].
extern "C" __global__ void scatter_add_dim(long long total, int D, int Di, int inner, const float* __restrict__ index,
                                           const float* __restrict__ src, float* __restrict__ out) {
    GS(e, total) {
        long long q = idx_div(e, inner), i = e - q * inner, o = idx_div(q, Di);
        atomicAdd(out + (o * D + (long long)index[e]) * inner + i, src[e]);
    }
}
