package org.pulmo.cuda;

import java.util.logging.Logger;
import jcuda.Pointer;
import jcuda.driver.CUdeviceptr;
import jcuda.jcublas.JCublas2;
import jcuda.jcublas.cublasHandle;
import jcuda.jcublas.cublasMath;
import jcuda.jcublas.cublasOperation;
import jcuda.jcublas.cublasStatus;
import jcuda.runtime.cudaStream_t;

/**
 * Row-major batched SGEMM, C = op(A) op(B): cuBLAS through JCublas2 when its native loads (it needs
 * libcublas.so.12; on a CUDA 13 system a small libcublas.so.12 shim forwarding to cuBLAS 13 provides it), else the hand-written {@code sgemm_tiled}
 * kernel (sgemm.cu). Which one is active is logged once and readable via {@link #usingCublas()}.
 * cuBLAS is column-major: row-major C = A B is column-major C^T = B^T A^T, so the operands swap.
 */
public final class Gemm {
    private static final Logger LOG = Logger.getLogger(Gemm.class.getName());
    private final CudaRuntime rt;
    private final cublasHandle handle;
    private final String why;
    private boolean forceKernel;

    Gemm(CudaRuntime rt, boolean strictFp32) {
        this.rt = rt;
        cublasHandle h = null;
        String reason = null;
        try {
            JCublas2.setExceptionsEnabled(false);
            rt.makeCurrent();
            cublasHandle c = new cublasHandle();
            int st = JCublas2.cublasCreate(c);
            if (st != cublasStatus.CUBLAS_STATUS_SUCCESS) reason = "cublasCreate returned " + cublasStatus.stringFor(st);
            else {
                check(JCublas2.cublasSetStream(c, new cudaStream_t(rt.stream())), "cublasSetStream");
                check(JCublas2.cublasSetMathMode(c, mathMode(strictFp32)), "cublasSetMathMode");
                h = c;
            }
        } catch (Throwable t) {
            // Any failure while setting cuBLAS up (the native, the shim, the stream or the math mode) leaves the
            // hand-written kernel in charge instead of taking the backend down.
            reason = "JCublas2 could not be set up (" + t.getClass().getSimpleName() + ": " + firstLine(t.getMessage()) + ")";
        }
        this.handle = h;
        this.why = reason;
        LOG.info(h != null ? "GEMM: cuBLAS (JCublas2)" : "GEMM: hand-written sgemm_tiled kernel; cuBLAS unavailable: " + reason);
    }

    private static int mathMode(boolean strict) {
        return strict ? cublasMath.CUBLAS_PEDANTIC_MATH : cublasMath.CUBLAS_TF32_TENSOR_OP_MATH;
    }

    public boolean usingCublas() { return handle != null && !forceKernel; }

    /** Why cuBLAS is not used (null when it is). */
    public String cublasUnavailableReason() { return handle == null ? why : forceKernel ? "forced to the kernel" : null; }

    /** Tests and benchmarks: run the hand-written kernel even where cuBLAS loads. */
    public void forceKernel(boolean force) { forceKernel = force; }

    void setStrictFp32(boolean strict) {
        if (handle != null) {
            rt.makeCurrent();
            check(JCublas2.cublasSetMathMode(handle, mathMode(strict)), "cublasSetMathMode");
        }
    }

    /**
     * For z in [0, batch): C_z = op(A_z) op(B_z), op(A) [m, k], op(B) [k, n], C [m, n], all row-major and dense
     * (lda = transA ? m : k, ldb = transB ? k : n, ldc = n).
     */
    public void sgemm(boolean transA, boolean transB, int m, int n, int k, int batch, CUdeviceptr a, CUdeviceptr b, CUdeviceptr c) {
        int lda = transA ? m : k, ldb = transB ? k : n;
        long sa = (long) m * k, sb = (long) k * n, sc = (long) m * n;
        if (usingCublas()) {
            rt.makeCurrent();
            Pointer one = Pointer.to(new float[] {1f}), zero = Pointer.to(new float[] {0f});
            int opA = transA ? cublasOperation.CUBLAS_OP_T : cublasOperation.CUBLAS_OP_N;
            int opB = transB ? cublasOperation.CUBLAS_OP_T : cublasOperation.CUBLAS_OP_N;
            check(JCublas2.cublasSgemmStridedBatched(handle, opB, opA, n, m, k, one, b, ldb, sb, a, lda, sa, zero, c, n, sc, batch),
                "cublasSgemmStridedBatched");
        } else {
            // The grid's y (64-row tiles) and z (matrices) extents are at most 65535: a larger batch (a batched matmul over
            // N x C matrices, 32 x 2048 = 65536) or more rows (an N-D matmul flattened to rows) goes in slices.
            int rowsPerSlice = maxGridYZ * 64;
            for (int z0 = 0; z0 < batch; z0 += maxGridYZ) {
                int nz = Math.min(maxGridYZ, batch - z0);
                for (int r0 = 0; r0 < m; r0 += rowsPerSlice) {
                    int mr = Math.min(rowsPerSlice, m - r0);
                    long aAt = z0 * sa + (transA ? r0 : (long) r0 * lda), cAt = z0 * sc + (long) r0 * n;
                    rt.launch("sgemm_tiled", (n + 63) / 64, (mr + 63) / 64, nz, 256, 0, transA ? 1 : 0, transB ? 1 : 0, mr, n, k, 1f,
                        at(a, aAt), lda, sa, at(b, z0 * sb), ldb, sb, 0f, at(c, cAt), n, sc);
                }
            }
        }
    }

    /** The largest grid extent in y and z (65535); lowered by a test to exercise the slicing at small sizes. */
    static int maxGridYZ = 65535;

    /** {@code p} moved on by {@code floats} floats. */
    private static CUdeviceptr at(CUdeviceptr p, long floats) { return floats == 0 ? p : p.withByteOffset(floats * Float.BYTES); }

    /** The naive kernel (sgemm.cu version 1), for the kernel-version test and benchmark. */
    public void sgemmNaive(boolean transA, boolean transB, int m, int n, int k, int batch, CUdeviceptr a, CUdeviceptr b, CUdeviceptr c) {
        int lda = transA ? m : k, ldb = transB ? k : n;
        rt.launch2d("sgemm_naive", (n + 15) / 16, (m + 15) / 16, batch, 16, 16,
            transA ? 1 : 0, transB ? 1 : 0, m, n, k, 1f, a, lda, (long) m * k, b, ldb, (long) k * n, 0f, c, n, (long) m * n);
    }

    private static void check(int st, String call) {
        if (st != cublasStatus.CUBLAS_STATUS_SUCCESS) throw CudaException.of("cuBLAS", call, st, cublasStatus.stringFor(st));
    }

    /** The first line of a message (JCuda's native-library errors append pages of nested stack traces). */
    private static String firstLine(String message) {
        if (message == null) return "";
        int nl = message.indexOf('\n');
        return nl < 0 ? message : message.substring(0, nl);
    }
}
