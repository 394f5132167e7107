// Fused SGD with momentum over every parameter of a model in one launch (torch.optim.SGD's rule, as
// nn's org.pulmo.optim.Sgd):
//   g = grad + wd * p;   b = g (first step) or mu * b + (1 - tau) * g;   g = g + mu * b (Nesterov) or b;
//   p = p - lr * g
// The parameters are described by a table in device memory (pointers as 64-bit integers, sizes, weight
// decays), built once per parameter set by the Java side, and cut into chunks of SGD_CHUNK elements;
// block k handles chunk k (chunkParam[k], chunkStart[k]). With momentum 0 the buffer pointer may be 0.
// Traffic: reads p, g, b; writes p, b: 20 B and ~6 FLOPs per element. Launch: grid = number of chunks,
// 256 threads, grid-stride inside the chunk.

#include "common.cuh"

#define SGD_CHUNK 65536

extern "C" __global__ void sgd_momentum_multi(const long long* __restrict__ params, const long long* __restrict__ grads,
                                              const long long* __restrict__ bufs, const long long* __restrict__ sizes,
                                              const float* __restrict__ weightDecay, const int* __restrict__ chunkParam,
                                              const long long* __restrict__ chunkStart, float lr, float momentum,
                                              float dampening, int nesterov, int firstStep) {
    int t = chunkParam[blockIdx.x];
    float* p = reinterpret_cast<float*>(params[t]);
    const float* g = reinterpret_cast<const float*>(grads[t]);
    float* b = reinterpret_cast<float*>(bufs[t]);
    long long start = chunkStart[blockIdx.x], end = min(start + (long long)SGD_CHUNK, sizes[t]);
    float wd = weightDecay[t];
    for (long long i = start + threadIdx.x; i < end; i += blockDim.x) {
        float gi = g[i];
        if (wd != 0.f) gi += wd * p[i];
        if (momentum != 0.f) {
            float bi = firstStep ? gi : momentum * b[i] + (1.f - dampening) * gi;
            b[i] = bi;
            gi = nesterov ? gi + momentum * bi : bi;
        }
        p[i] -= lr * gi;
    }
}

// One parameter per launch, the same rule: what Backend.sgdUpdate asks of a backend (nn's Sgd steps each
// parameter through it). p, g, b contiguous with n elements; b may be null when momentum is 0.
// Traffic as above (20 B per element with momentum, 12 B without); grid-stride, 256 threads.
extern "C" __global__ void sgd_momentum_one(long long n, float* __restrict__ p, const float* __restrict__ g,
                                            float* __restrict__ b, float lr, float momentum, float dampening,
                                            float weightDecay, int nesterov, int firstStep) {
    for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < n; i += (long long)gridDim.x * blockDim.x) {
        float gi = g[i];
        if (weightDecay != 0.f) gi += weightDecay * p[i];
        if (momentum != 0.f) {
            float bi = firstStep ? gi : momentum * b[i] + (1.f - dampening) * gi;
            b[i] = bi;
            gi = nesterov ? gi + momentum * bi : bi;
        }
        p[i] -= lr * gi;
    }
}
