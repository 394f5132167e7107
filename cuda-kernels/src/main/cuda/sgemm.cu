// Single-precision GEMM, the fallback when cuBLAS does not load (JCuda 12.6's JCublas2 needs
// libcublas.so.12, which a CUDA 13-only machine lacks). Row-major, batched with element strides:
//   C[z] = alpha * op(A[z]) . op(B[z]) + beta * C[z],   op(A) [M, K], op(B) [K, N], C [M, N]
//   op(A)[i, k] = transA ? A[k * lda + i] : A[i * lda + k]  (and likewise for B)
// 2 M N K FLOPs; from DRAM ideally (M K + K N + 2 M N) * 4 B.
//
// version 1, naive: one thread per C element, K-loop straight from global memory (L1/L2 do the reuse).
//   Launch: block 16x16, grid (ceil(N/16), ceil(M/16), batch).
// version 2, tiled: what changed: 64x64 tiles of C per block of 256 threads, each thread a 4x4 register
//   tile; A and B staged through shared memory in K-slices of 16, so each loaded value is used 64 times.
//   Launch: block 256, grid (ceil(N/64), ceil(M/64), batch).

#include "common.cuh"

__device__ __forceinline__ float load_op(const float* X, int trans, int ld, int r, int c, int R, int Cc) {
    // element (r, c) of op(X), an R x Cc matrix; 0 outside
    if (r >= R || c >= Cc) return 0.f;
    return trans ? X[(long long)c * ld + r] : X[(long long)r * ld + c];
}

extern "C" __global__ void sgemm_naive(int transA, int transB, int M, int N, int K, float alpha,
                                       const float* __restrict__ A, int lda, long long strideA,
                                       const float* __restrict__ B, int ldb, long long strideB, float beta,
                                       float* __restrict__ C, int ldc, long long strideC) {
    int i = blockIdx.y * blockDim.y + threadIdx.y, j = blockIdx.x * blockDim.x + threadIdx.x;
    if (i >= M || j >= N) return;
    A += blockIdx.z * strideA; B += blockIdx.z * strideB; C += blockIdx.z * strideC;
    float acc = 0.f;
    for (int k = 0; k < K; k++) acc += load_op(A, transA, lda, i, k, M, K) * load_op(B, transB, ldb, k, j, K, N);
    float* c = C + (long long)i * ldc + j;
    *c = alpha * acc + (beta == 0.f ? 0.f : beta * *c);
}

#define TM 64
#define TN 64
#define TK 16

extern "C" __global__ void __launch_bounds__(256) sgemm_tiled(int transA, int transB, int M, int N, int K, float alpha,
                                       const float* __restrict__ A, int lda, long long strideA,
                                       const float* __restrict__ B, int ldb, long long strideB, float beta,
                                       float* __restrict__ C, int ldc, long long strideC) {
    __shared__ float As[TK][TM + 4];   // As[k][i] = op(A)[row0 + i, k0 + k]; +4 breaks bank conflicts
    __shared__ float Bs[TK][TN + 4];   // Bs[k][j] = op(B)[k0 + k, col0 + j]
    A += blockIdx.z * strideA; B += blockIdx.z * strideB; C += blockIdx.z * strideC;
    int row0 = blockIdx.y * TM, col0 = blockIdx.x * TN;
    int tx = threadIdx.x % 16, ty = threadIdx.x / 16;    // this thread's 4x4 tile: rows ty*4.., cols tx*4..
    float acc[4][4] = {};
    for (int k0 = 0; k0 < K; k0 += TK) {
        // 64*16 = 1024 values of each operand, 4 per thread
        for (int l = threadIdx.x; l < TM * TK; l += 256) {
            int i, k;
            if (transA) { i = l % TM; k = l / TM; }      // consecutive threads read consecutive A memory
            else { k = l % TK; i = l / TK; }
            As[k][i] = load_op(A, transA, lda, row0 + i, k0 + k, M, K);
            int j, kk;
            if (transB) { kk = l % TK; j = l / TK; }
            else { j = l % TN; kk = l / TN; }
            Bs[kk][j] = load_op(B, transB, ldb, k0 + kk, col0 + j, K, N);
        }
        __syncthreads();
#pragma unroll
        for (int k = 0; k < TK; k++) {
            float a[4], b[4];
#pragma unroll
            for (int r = 0; r < 4; r++) { a[r] = As[k][ty * 4 + r]; b[r] = Bs[k][tx * 4 + r]; }
#pragma unroll
            for (int r = 0; r < 4; r++)
#pragma unroll
                for (int c = 0; c < 4; c++) acc[r][c] = fmaf(a[r], b[c], acc[r][c]);
        }
        __syncthreads();
    }
    for (int r = 0; r < 4; r++) {
        int i = row0 + ty * 4 + r;
        if (i >= M) continue;
        for (int c = 0; c < 4; c++) {
            int j = col0 + tx * 4 + c;
            if (j >= N) continue;
            float* p = C + (long long)i * ldc + j;
            *p = alpha * acc[r][c] + (beta == 0.f ? 0.f : beta * *p);
        }
    }
}
