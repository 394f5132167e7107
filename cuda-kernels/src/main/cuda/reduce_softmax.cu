// Reductions, softmax, softmax cross-entropy and cosine similarity.
//   reduce_rows      y[r] = sum/max/min of x[r, 0..cols)  (x [rows, cols] contiguous: the Java side permutes
//                    the reduced dims last and copies first). Sum accumulates in double, like the CPU
//                    reference's blocked double sum. One block per row, of the row's size in whole warps
//                    up to 256 threads (CudaBackend.rowThreads). 4 B, 1 FLOP per element.
//   arg_reduce_rows  index of the first max (min) of each row, as a float; NaN passed over, a row of NaN alone
//                    gives NaN. One block per row.
//   softmax_*        along the middle axis of [outer, D, inner]: one thread per (outer, inner) line,
//                    max-subtracted; log-softmax as (x - max) - log(sum). 8 B fwd, 12 B bwd per element.
//   ce_forward       softmax cross-entropy of logits [N, C] with labels [N] (class indices as floats) and
//                    optional class weights [C]: loss = sum_i w[y_i] (lse_i - x[i, y_i]) / sum_i w[y_i]
//                    (PyTorch's weighted mean; w = 1 without weights). One warp per row writes the row's
//                    term and weight; ce_finish (one block) sums them into the scalar loss.
//   ce_backward      dx[i, j] = dLoss * w[y_i] / W * (softmax(x_i)_j - [j == y_i]).  One warp per row.
//   cosine_*         c = (1/N) sum_n <a_n, b_n> / (max(|a_n|, eps) max(|b_n|, eps)) over rows of [N, D]
//                    (MA-Net eq. 14 as written in nn's Losses.cosineSimilarity). One block per row;
//                    backward da = dc/N (b / (na nb) - c_n a / na^2 [|a| > eps]), and symmetrically db.

#include "common.cuh"

extern "C" __global__ void reduce_rows(int op, long long cols, const float* __restrict__ x, float* __restrict__ y) {
    __shared__ double sd[32];
    __shared__ float sf[32];
    const float* row = x + blockIdx.x * cols;
    if (op == 0) {
        double acc = 0.0;
        for (long long i = threadIdx.x; i < cols; i += blockDim.x) acc += row[i];
        for (int o = 16; o > 0; o >>= 1) acc += __shfl_xor_sync(0xffffffffu, acc, o);
        int lane = threadIdx.x & 31, wid = threadIdx.x >> 5, nw = blockDim.x >> 5;
        if (lane == 0) sd[wid] = acc;
        __syncthreads();
        if (wid == 0) {
            acc = lane < nw ? sd[lane] : 0.0;
            for (int o = 16; o > 0; o >>= 1) acc += __shfl_xor_sync(0xffffffffu, acc, o);
            if (lane == 0) y[blockIdx.x] = (float)acc;
        }
        return;
    }
    bool isMax = op == 1;
    float acc = isMax ? -INFINITY : INFINITY;
    bool nan = false;
    for (long long i = threadIdx.x; i < cols; i += blockDim.x) {
        float v = row[i];
        nan |= v != v;
        acc = isMax ? fmaxf(acc, v) : fminf(acc, v);
    }
    float r = isMax ? block_max(acc, sf) : -block_max(-acc, sf);
    int anyNan = __syncthreads_or(nan);
    if (threadIdx.x == 0) y[blockIdx.x] = anyNan ? __int_as_float(0x7fc00000) : r;
}

extern "C" __global__ void arg_reduce_rows(int isMax, long long cols, const float* __restrict__ x, float* __restrict__ y) {
    __shared__ float sv[32];
    __shared__ long long si[32];
    const float* row = x + blockIdx.x * cols;
    float best = isMax ? -INFINITY : INFINITY;
    long long bi = -1;
    for (long long i = threadIdx.x; i < cols; i += blockDim.x) {
        float v = row[i];
        if (v == v && (bi < 0 || (isMax ? v > best : v < best))) { best = v; bi = i; }
    }
    for (int o = 16; o > 0; o >>= 1) {
        float v2 = __shfl_xor_sync(0xffffffffu, best, o);
        long long i2 = __shfl_xor_sync(0xffffffffu, bi, o);
        bool better = i2 >= 0 && (bi < 0 || (isMax ? v2 > best : v2 < best) || (v2 == best && i2 < bi));
        if (better) { best = v2; bi = i2; }
    }
    int lane = threadIdx.x & 31, wid = threadIdx.x >> 5, nw = blockDim.x >> 5;
    if (lane == 0) { sv[wid] = best; si[wid] = bi; }
    __syncthreads();
    if (wid == 0) {
        best = lane < nw ? sv[lane] : best;
        bi = lane < nw ? si[lane] : -1;
        for (int o = 16; o > 0; o >>= 1) {
            float v2 = __shfl_xor_sync(0xffffffffu, best, o);
            long long i2 = __shfl_xor_sync(0xffffffffu, bi, o);
            bool better = i2 >= 0 && (bi < 0 || (isMax ? v2 > best : v2 < best) || (v2 == best && i2 < bi));
            if (better) { best = v2; bi = i2; }
        }
        if (lane == 0) y[blockIdx.x] = bi < 0 ? NAN : (float)bi;
    }
}

extern "C" __global__ void softmax_forward(int log, int outer, int D, int inner, const float* __restrict__ x, float* __restrict__ y) {
    long long t = blockIdx.x * (long long)blockDim.x + threadIdx.x;
    if (t >= (long long)outer * inner) return;
    long long o = t / inner, in = t - o * inner;
    long long base = o * D * inner + in;
    float m = -INFINITY;
    for (int d = 0; d < D; d++) m = fmaxf(m, x[base + (long long)d * inner]);
    float s = 0.f;
    for (int d = 0; d < D; d++) s += expf(x[base + (long long)d * inner] - m);
    float ls = logf(s), inv = 1.f / s;
    for (int d = 0; d < D; d++) {
        float v = x[base + (long long)d * inner] - m;
        y[base + (long long)d * inner] = log ? v - ls : expf(v) * inv;
    }
}

// dx = y (dy - sum(dy y))  for softmax;  dx = dy - exp(y) sum(dy)  for log-softmax.
extern "C" __global__ void softmax_backward(int log, int outer, int D, int inner, const float* __restrict__ y,
                                            const float* __restrict__ dy, float* __restrict__ dx) {
    long long t = blockIdx.x * (long long)blockDim.x + threadIdx.x;
    if (t >= (long long)outer * inner) return;
    long long o = t / inner, in = t - o * inner;
    long long base = o * D * inner + in;
    float s = 0.f;
    for (int d = 0; d < D; d++) {
        long long k = base + (long long)d * inner;
        s += log ? dy[k] : dy[k] * y[k];
    }
    for (int d = 0; d < D; d++) {
        long long k = base + (long long)d * inner;
        dx[k] = log ? dy[k] - expf(y[k]) * s : y[k] * (dy[k] - s);
    }
}

// One warp per row (blockDim 256 = 8 rows per block). weights may be null.
extern "C" __global__ void ce_forward(int N, int C, const float* __restrict__ x, const float* __restrict__ labels,
                                      const float* __restrict__ weights, float* __restrict__ rowLoss, float* __restrict__ rowW) {
    int row = blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5), lane = threadIdx.x & 31;
    if (row >= N) return;
    const float* xr = x + (long long)row * C;
    float m = -FLT_MAX, s = 0.f;
    for (int j = lane; j < C; j += 32) online_merge(m, s, xr[j], 1.f);
    for (int o = 16; o > 0; o >>= 1) {
        float m2 = __shfl_xor_sync(0xffffffffu, m, o), s2 = __shfl_xor_sync(0xffffffffu, s, o);
        online_merge(m, s, m2, s2);
    }
    if (lane == 0) {
        int y = (int)labels[row];
        float w = weights ? weights[y] : 1.f;
        rowLoss[row] = w * ((m - xr[y]) + logf(s));   // not m + logf(s) - x: m + log s rounds log s to the spacing of large logits
        rowW[row] = w;
    }
}

// loss[0] = sum(rowLoss) / sum(rowW), wsum[0] = sum(rowW). One block of 256, sums in double.
extern "C" __global__ void ce_finish(int N, const float* __restrict__ rowLoss, const float* __restrict__ rowW,
                                     float* __restrict__ loss, float* __restrict__ wsum) {
    __shared__ double sl[256], sw[256];
    double l = 0.0, w = 0.0;
    for (int i = threadIdx.x; i < N; i += blockDim.x) { l += rowLoss[i]; w += rowW[i]; }
    sl[threadIdx.x] = l; sw[threadIdx.x] = w;
    __syncthreads();
    for (int k = blockDim.x / 2; k > 0; k >>= 1) {
        if (threadIdx.x < k) { sl[threadIdx.x] += sl[threadIdx.x + k]; sw[threadIdx.x] += sw[threadIdx.x + k]; }
        __syncthreads();
    }
    if (threadIdx.x == 0) { loss[0] = (float)(sl[0] / sw[0]); wsum[0] = (float)sw[0]; }
}

// dLoss and wsum are device scalars (no host round trip inside a training step).
extern "C" __global__ void ce_backward(int N, int C, const float* __restrict__ x, const float* __restrict__ labels,
                                       const float* __restrict__ weights, const float* __restrict__ wsum,
                                       const float* __restrict__ dLoss, float* __restrict__ dx) {
    int row = blockIdx.x * (blockDim.x >> 5) + (threadIdx.x >> 5), lane = threadIdx.x & 31;
    if (row >= N) return;
    const float* xr = x + (long long)row * C;
    float* dr = dx + (long long)row * C;
    float m = -FLT_MAX, s = 0.f;
    for (int j = lane; j < C; j += 32) online_merge(m, s, xr[j], 1.f);
    for (int o = 16; o > 0; o >>= 1) {
        float m2 = __shfl_xor_sync(0xffffffffu, m, o), s2 = __shfl_xor_sync(0xffffffffu, s, o);
        online_merge(m, s, m2, s2);
    }
    int y = (int)labels[row];
    float k = dLoss[0] * (weights ? weights[y] : 1.f) / wsum[0], inv = 1.f / s;
    for (int j = lane; j < C; j += 32) dr[j] = k * (expf(xr[j] - m) * inv - (j == y ? 1.f : 0.f));
}

// Per row: stats[3n] = <a,b>, stats[3n+1] = max(|a|, eps), stats[3n+2] = max(|b|, eps); cosRow[n] = the cosine.
extern "C" __global__ void cosine_forward(long long D, float eps, const float* __restrict__ a, const float* __restrict__ b,
                                          float* __restrict__ stats, float* __restrict__ cosRow) {
    __shared__ float ss[32];
    const float* ar = a + blockIdx.x * D;
    const float* br = b + blockIdx.x * D;
    float dot = 0.f, aa = 0.f, bb = 0.f;
    for (long long i = threadIdx.x; i < D; i += blockDim.x) {
        float u = ar[i], v = br[i];
        dot += u * v; aa += u * u; bb += v * v;
    }
    dot = block_sum(dot, ss);
    aa = block_sum(aa, ss);
    bb = block_sum(bb, ss);
    if (threadIdx.x == 0) {
        float na = sqrtf(fmaxf(aa, eps * eps)), nb = sqrtf(fmaxf(bb, eps * eps));
        stats[3 * blockIdx.x] = dot;
        stats[3 * blockIdx.x + 1] = na;
        stats[3 * blockIdx.x + 2] = nb;
        cosRow[blockIdx.x] = dot / (na * nb);
    }
}

// dc is a device scalar: the gradient of the batch mean.
extern "C" __global__ void cosine_backward(int N, long long D, float eps, const float* __restrict__ a, const float* __restrict__ b,
                                           const float* __restrict__ stats, const float* __restrict__ dc,
                                           float* __restrict__ da, float* __restrict__ db) {
    long long base = blockIdx.x * D;
    float dot = stats[3 * blockIdx.x], na = stats[3 * blockIdx.x + 1], nb = stats[3 * blockIdx.x + 2];
    float g = dc[0] / N, c = dot / (na * nb);
    // the clamp is active (norm held at eps, a constant) when |a| <= eps
    float ka = na > eps ? c / (na * na) : 0.f, kb = nb > eps ? c / (nb * nb) : 0.f, inv = 1.f / (na * nb);
    for (long long i = threadIdx.x; i < D; i += blockDim.x) {
        float u = a[base + i], v = b[base + i];
        da[base + i] = g * (v * inv - ka * u);
        db[base + i] = g * (u * inv - kb * v);
    }
}
