// Elementwise and broadcast ops over strided views, and the strided copy that concat/split (DPN's dual
// paths), permute-then-contiguous and device-side slicing go through.
//   unary    y[i] = f(x[L(i)]),          x any view, y contiguous        8 B, 1-20 FLOPs per element
//   binary   y[i] = f(a[L(i)], b[L(i)]), a, b broadcast views           12 B, 1 FLOP (pow: ~20)
//   copy     dst[L(i)] = src[L(i)]                                     8 B
//   fill     dst[L(i)] = v                                             4 B
//   axpy     dst[L(i)] += alpha * src[L(i)]  (addInPlace)              12 B, 2 FLOPs
//   add_relu y[i] = max(a[L(i)] + b[L(i)], 0)  (addRelu: a residual   12 B, 2 FLOPs
//            block's sum and its ReLU in one pass, one output)
// L(i) is the strided offset of linear index i (common.cuh, Strided3: operand 0, 1, 2). Op codes are the
// ordinals of org.pulmo.backend.UnaryOp / BinaryOp. Math matches the CPU reference (Java's Math.max and
// Math.min propagate NaN, so these do too; log, exp, tanh in full precision, not the __ intrinsics).
// Launch shape: grid-stride, 256 threads, grid = min(ceil(n / 256), 65535 * 4).

#include "common.cuh"

__device__ __forceinline__ float jmax(float a, float b) { return (a != a || b != b) ? __int_as_float(0x7fc00000) : fmaxf(a, b); }
__device__ __forceinline__ float jmin(float a, float b) { return (a != a || b != b) ? __int_as_float(0x7fc00000) : fminf(a, b); }

__device__ __forceinline__ float unary_op(int op, float x, float alpha) {
    switch (op) {
        case 0: return -x;                                        // NEG
        case 1: return expf(x);                                   // EXP
        case 2: return logf(x);                                   // LOG
        case 3: return sqrtf(x);                                  // SQRT
        case 4: return fabsf(x);                                  // ABS
        case 5: return jmax(x, 0.f);                              // RELU
        case 6: return x >= 0.f ? 1.f / (1.f + expf(-x)) : expf(x) / (1.f + expf(x));  // SIGMOID, no overflow
        case 7: return tanhf(x);                                  // TANH
        case 8: return x * x;                                     // SQUARE
        case 9: return 1.f / x;                                   // RECIPROCAL
        case 10: return x > 0.f ? 1.f : 0.f;                      // STEP
        case 11: return x > 0.f ? 1.f : (x < 0.f ? -1.f : x);     // SIGN (keeps -0, 0 and NaN, as Math.signum)
        case 12: return powf(x, alpha);                           // POW
        case 13: return alpha * x;                                // SCALE
        case 14: return x + alpha;                                // ADD_SCALAR
    }
    return __int_as_float(0x7fc00000);
}

__device__ __forceinline__ float binary_op(int op, float a, float b) {
    switch (op) {
        case 0: return a + b;
        case 1: return a - b;
        case 2: return a * b;
        case 3: return a / b;
        case 4: return jmax(a, b);
        case 5: return jmin(a, b);
        case 6: return powf(a, b);
        case 7: return a > b ? 1.f : 0.f;
        case 8: return a >= b ? 1.f : 0.f;
        case 9: return a == b ? 1.f : 0.f;
        case 10: return b > 0.f ? a : 0.f;                        // RELU_BACKWARD
    }
    return __int_as_float(0x7fc00000);
}

#define GRID_STRIDE(i, n) for (long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x; i < (n); i += (long long)gridDim.x * blockDim.x)

// Operand 0 = x, operand 1 = y (contiguous strides from the Java side).
extern "C" __global__ void ew_unary(int op, float alpha, long long n, Strided3 L, const float* __restrict__ x, float* __restrict__ y) {
    GRID_STRIDE(i, n) {
        long long off[3];
        strided_offsets(L, i, off);
        y[off[1]] = unary_op(op, x[off[0]], alpha);
    }
}

// Operands 0 = a, 1 = b, 2 = y.
extern "C" __global__ void ew_binary(int op, long long n, Strided3 L, const float* __restrict__ a, const float* __restrict__ b,
                                     float* __restrict__ y) {
    GRID_STRIDE(i, n) {
        long long off[3];
        strided_offsets(L, i, off);
        y[off[2]] = binary_op(op, a[off[0]], b[off[1]]);
    }
}

// Operands 0 = src, 1 = dst. Also concat (copy each part into a narrow view of the output) and split.
extern "C" __global__ void ew_copy(long long n, Strided3 L, const float* __restrict__ src, float* __restrict__ dst) {
    GRID_STRIDE(i, n) {
        long long off[3];
        strided_offsets(L, i, off);
        dst[off[1]] = src[off[0]];
    }
}

// Contiguous fast path of copy: no index arithmetic.
extern "C" __global__ void ew_copy_contiguous(long long n, const float* __restrict__ src, float* __restrict__ dst) {
    GRID_STRIDE(i, n) dst[i] = src[i];
}

// Operand 0 = dst.
extern "C" __global__ void ew_fill(long long n, Strided3 L, float v, float* __restrict__ dst) {
    GRID_STRIDE(i, n) {
        long long off[3];
        strided_offsets(L, i, off);
        dst[off[0]] = v;
    }
}

// Operand 0 = dst: every element plus v, in place (batch norm's num_batches_tracked, one launch and no operand tensor).
extern "C" __global__ void ew_add_scalar(long long n, Strided3 L, float v, float* __restrict__ dst) {
    GRID_STRIDE(i, n) {
        long long off[3];
        strided_offsets(L, i, off);
        dst[off[0]] += v;
    }
}

// Operands 0 = dst, 1 = src (broadcast).
extern "C" __global__ void ew_axpy(long long n, Strided3 L, float alpha, float* __restrict__ dst, const float* __restrict__ src) {
    GRID_STRIDE(i, n) {
        long long off[3];
        strided_offsets(L, i, off);
        dst[off[0]] += alpha * src[off[1]];
    }
}

// Operands 0 = a, 1 = b, 2 = y (same shape; the Java side takes broadcasting to binary + unary). ADD's rounding, then
// RELU's max with its NaN rule, as CpuElementwise.addRelu.
extern "C" __global__ void ew_add_relu(long long n, Strided3 L, const float* __restrict__ a, const float* __restrict__ b,
                                       float* __restrict__ y) {
    GRID_STRIDE(i, n) {
        long long off[3];
        strided_offsets(L, i, off);
        y[off[2]] = jmax(a[off[0]] + b[off[1]], 0.f);
    }
}
