package org.pulmo.backend.cpu;

import static org.pulmo.backend.cpu.ConvGeom.copyRow;
import static org.pulmo.backend.cpu.ConvGeom.copyRows;

import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;
import org.pulmo.backend.Conv2dParams;
import org.pulmo.tensor.HostArrays;

/**
 * The im2col + SGEMM strategy of {@link CpuConv}, for dense convs and the grouped ones no other path takes. Per
 * sample and group the input patches are unfolded into col [Cg*kH*kW, outH*outW] (one reused buffer per thread,
 * not the whole batch), then
 *
 * <pre>  y_g = W_g * col,   dcol = W_g^T * dy_g (folded back by col2im),   dW_g += dy_g * col^T</pre>
 *
 * A 1x1 stride-1 unpadded conv needs no unfolding: the input plane already is col. Work is split over
 * samples and groups, each GEMM on one thread; with fewer items than threads the GEMM itself is split. The weight
 * gradient's sum over the batch is cut by the shape alone, so its bits do not depend on the threads.
 * {@link BatchedGemmConv} reuses im2col, col2im and the per-thread buffers for small output planes, and
 * {@link Winograd} the stride-2 row copy {@link #everyOther}.
 */
final class GemmConv {
    private GemmConv() {}

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();

    /** Per-thread buffers: unfolded columns, regrouped rows, and (calling thread only) the packed weights. */
    static final int SLOT_COL = 0, SLOT_ROWS = 1, SLOT_PACKED = 2;
    private static final ThreadLocal<float[][]> SCRATCH = ThreadLocal.withInitial(() -> new float[3][0]);

    /**
     * A per-thread buffer of at least len floats, reused across calls: the unfolded matrices are fully
     * overwritten before they are read, so they need neither a fresh allocation nor zeroing.
     */
    static float[] scratch(int slot, int len) {
        float[][] s = SCRATCH.get();
        if (s[slot].length < len) s[slot] = new float[len];
        return s[slot];
    }

    static boolean isPointwise(ConvGeom d) {
        Conv2dParams p = d.p();
        return d.kH() == 1 && d.kW() == 1 && p.strideH() == 1 && p.strideW() == 1 && p.padH() == 0 && p.padW() == 0;
    }

    static void forward(ConvGeom d, float[] x, float[] wt, float[] y) {
        int items = d.n() * d.groups();
        boolean perItemThreads = items >= Parallel.threads();
        int rows = d.colRows(), plane = d.outPlane();
        // One weight matrix serves every sample: packed once for all of their GEMMs.
        Sgemm.PackedA wp = d.groups() == 1 ? Sgemm.pack(false, d.og(), rows, wt, 0, rows, scratch(SLOT_PACKED, Sgemm.packedSize(d.og(), rows))) : null;
        Parallel.RangeBody body = (s, e) -> {
            float[] col = isPointwise(d) ? null : scratch(SLOT_COL, rows * plane);
            for (int it = s; it < e; it++) {
                int b = it / d.groups(), g = it % d.groups();
                int xOff = (b * d.c() + g * d.cg()) * d.inPlane();
                float[] src = unfold(d, x, xOff, col);
                int srcOff = col == null ? xOff : 0;
                if (wp != null) gemm(perItemThreads, wp, src, srcOff, plane, 0f, y, b * d.cOut() * plane, plane);
                else gemm(perItemThreads, false, false, d.og(), plane, rows, wt, g * d.og() * rows, rows, src, srcOff, plane,
                        0f, y, (b * d.cOut() + g * d.og()) * plane, plane);
            }
        };
        if (perItemThreads) Parallel.forRange(items, d.flopsPerItem(), body);
        else body.run(0, items);
    }

    /**
     * The GEMM operand of one sample's group at {@code xOff}: x itself for a pointwise conv ({@code col} null, read from
     * xOff), else that group's patches unfolded into {@code col} (read from 0).
     */
    private static float[] unfold(ConvGeom d, float[] x, int xOff, float[] col) {
        if (col == null) return x;
        im2col(d, x, xOff, col);
        return col;
    }

    /** C = A * B (n = ldb columns) with A packed: on this thread, or on all of them (as below). */
    private static void gemm(boolean serial, Sgemm.PackedA a, float[] b, int bOff, int ldb, float beta, float[] c, int cOff, int ldc) {
        if (serial) Sgemm.sgemmSerial(a, false, ldb, b, bOff, ldb, beta, c, cOff, ldc);
        else Sgemm.sgemm(a, false, ldb, b, bOff, ldb, beta, c, cOff, ldc);
    }

    /** Sgemm on this thread when the caller already split the work over threads, else on all of them. */
    private static void gemm(boolean serial, boolean transA, boolean transB, int m, int n, int k, float[] a, int aOff, int lda,
                             float[] b, int bOff, int ldb, float beta, float[] c, int cOff, int ldc) {
        if (serial) Sgemm.sgemmSerial(transA, transB, m, n, k, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc);
        else Sgemm.sgemm(transA, transB, m, n, k, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc);
    }

    /**
     * Unfolds one group of one sample, x[xOff ..] = [Cg, H, W], into col [Cg*kH*kW, outH*outW]:
     * col[(c*kH + a)*kW + b, i*outW + j] = x[c, i*sH - pH + a*dH, j*sW - pW + b*dW], zero outside.
     */
    static void im2col(ConvGeom d, float[] x, int xOff, float[] col) {
        im2col(d, x, xOff, col, 0, d.outPlane());
    }

    /**
     * As above, into the columns [colOff, colOff + outH*outW) of a col matrix with row length ldCol: the
     * batched path puts the samples side by side, sample b at column b*outH*outW of [Cg*kH*kW, N*outH*outW].
     */
    static void im2col(ConvGeom d, float[] x, int xOff, float[] col, int colOff, int ldCol) {
        Conv2dParams p = d.p();
        int oh = d.oh(), ow = d.ow(), h = d.h(), w = d.w();
        if (isPointwise(d)) {
            // 1x1, stride 1, no padding: each row of col is one input plane.
            copyRows(x, xOff, h * w, col, colOff, ldCol, d.cg(), h * w);
            return;
        }
        int r = 0;
        for (int c = 0; c < d.cg(); c++) {
            for (int a = 0; a < d.kH(); a++) {
                for (int b = 0; b < d.kW(); b++, r++) {
                    int iw0 = b * p.dilationW() - p.padW();
                    // Output columns j whose input column j*sW + iw0 lies inside [0, w).
                    int jLo = iw0 >= 0 ? 0 : Math.min(ow, (-iw0 + p.strideW() - 1) / p.strideW());
                    int jHi = Math.max(jLo, Math.min(ow, (w - 1 - iw0) / p.strideW() + 1));
                    if (w - 1 - iw0 < 0) jHi = jLo;
                    int dst = colOff + r * ldCol;
                    for (int i = 0; i < oh; i++, dst += ow) {
                        int ih = i * p.strideH() - p.padH() + a * p.dilationH();
                        if (ih < 0 || ih >= h) {
                            Arrays.fill(col, dst, dst + ow, 0f);
                            continue;
                        }
                        int row = xOff + (c * h + ih) * w + iw0;
                        Arrays.fill(col, dst, dst + jLo, 0f);
                        if (p.strideW() == 1) {
                            copyRow(x, row + jLo, col, dst + jLo, jHi - jLo);
                        } else if (p.strideW() == 2) {
                            everyOther(x, row, col, dst, jLo, jHi);
                        } else {
                            for (int j = jLo; j < jHi; j++) col[dst + j] = x[row + j * p.strideW()];
                        }
                        Arrays.fill(col, dst + jHi, dst + ow, 0f);
                    }
                }
            }
        }
    }

    /** Lanes 0, 2, 4, ... of two consecutive vectors (indices past L pick from the second). */
    private static final VectorShuffle<Float> EVEN = VectorShuffle.iota(S, 0, 2, false);

    /**
     * col[dst + j] = x[row + 2 * j] for j in [jLo, jHi): a stride-2 row of im2col (the stem, the stride-2 3x3s
     * and 1x1 downsamples; Winograd F(2x2)'s phase split), L values from two loads and one two-vector shuffle
     * instead of L scalar copies. row + 2 * jLo must be a valid index (row itself may be negative).
     */
    static void everyOther(float[] x, int row, float[] col, int dst, int jLo, int jHi) {
        int j = jLo;
        for (; j + L <= jHi && row + 2 * j + 2 * L <= x.length; j += L) {
            FloatVector lo = FloatVector.fromArray(S, x, row + 2 * j), hi = FloatVector.fromArray(S, x, row + 2 * j + L);
            lo.rearrange(EVEN, hi).intoArray(col, dst + j);
        }
        for (; j < jHi; j++) col[dst + j] = x[row + 2 * j];
    }

    /** The adjoint of im2col: dx[xOff ..] += fold(col). */
    static void col2im(ConvGeom d, float[] col, float[] dx, int xOff) {
        col2im(d, col, 0, d.outPlane(), dx, xOff);
    }

    /** The adjoint of the offset im2col: dx[xOff ..] += fold(col[:, colOff .. colOff + outH*outW)). */
    static void col2im(ConvGeom d, float[] col, int colOff, int ldCol, float[] dx, int xOff) {
        Conv2dParams p = d.p();
        int oh = d.oh(), ow = d.ow(), h = d.h(), w = d.w();
        int r = 0;
        for (int c = 0; c < d.cg(); c++) {
            for (int a = 0; a < d.kH(); a++) {
                for (int b = 0; b < d.kW(); b++, r++) {
                    int iw0 = b * p.dilationW() - p.padW();
                    int jLo = iw0 >= 0 ? 0 : Math.min(ow, (-iw0 + p.strideW() - 1) / p.strideW());
                    int jHi = Math.max(jLo, Math.min(ow, (w - 1 - iw0) / p.strideW() + 1));
                    if (w - 1 - iw0 < 0) jHi = jLo;
                    int src = colOff + r * ldCol;
                    for (int i = 0; i < oh; i++, src += ow) {
                        int ih = i * p.strideH() - p.padH() + a * p.dilationH();
                        if (ih < 0 || ih >= h) continue;
                        int row = xOff + (c * h + ih) * w + iw0;
                        if (p.strideW() == 1) {
                            for (int j = jLo; j < jHi; j++) dx[row + j] += col[src + j];
                        } else {
                            for (int j = jLo; j < jHi; j++) dx[row + j * p.strideW()] += col[src + j];
                        }
                    }
                }
            }
        }
    }

    static void backwardInput(ConvGeom d, float[] dy, float[] wt, float[] dx) {
        int items = d.n() * d.groups();
        boolean perItemThreads = items >= Parallel.threads();
        int rows = d.colRows(), plane = d.outPlane();
        Sgemm.PackedA wtp = d.groups() == 1 // W^T, for every sample
                ? Sgemm.pack(true, rows, d.og(), wt, 0, rows, scratch(SLOT_PACKED, Sgemm.packedSize(rows, d.og()))) : null;
        Parallel.RangeBody body = (s, e) -> {
            float[] col = isPointwise(d) ? null : scratch(SLOT_COL, rows * plane);
            for (int it = s; it < e; it++) {
                int b = it / d.groups(), g = it % d.groups();
                int xOff = (b * d.c() + g * d.cg()) * d.inPlane();
                int dyOff = (b * d.cOut() + g * d.og()) * plane;
                // dcol [Cg*kk, P] = W_g^T [Cg*kk, og] * dy_g [og, P]; a pointwise conv writes dx directly.
                float[] out = col == null ? dx : col;
                int outOff = col == null ? xOff : 0;
                if (wtp != null) gemm(perItemThreads, wtp, dy, dyOff, plane, 0f, out, outOff, plane);
                else gemm(perItemThreads, true, false, rows, plane, d.og(), wt, g * d.og() * rows, rows, dy, dyOff, plane, 0f, out, outOff, plane);
                if (col != null) col2im(d, col, dx, xOff);
            }
        };
        if (perItemThreads) Parallel.forRange(items, d.flopsPerItem(), body);
        else body.run(0, items);
    }

    /**
     * At most this many partial weight gradients per call ({@link #weightParts}): enough for a 16-core machine to give
     * the parts of a batch of 16 or more to its threads, as the per-thread partials did before.
     */
    static final int MAX_WEIGHT_PARTS = 16;
    /** At most this many floats in a call's partial weight gradients together (32 MB). */
    private static final long WEIGHT_PARTS_FLOATS = 1L << 23;

    /**
     * How many runs of samples {@link #backwardWeight} sums separately for a batch of {@code n} and a weight gradient
     * of {@code dwLength} floats: a function of the shape alone, never of the thread count or of which threads are
     * free, so that the sum's rounding, and with it a training run, is the same on every machine and every run.
     */
    static int weightParts(int n, int dwLength) {
        return (int) Math.max(1, Math.min(Math.min(n, MAX_WEIGHT_PARTS), WEIGHT_PARTS_FLOATS / Math.max(1, dwLength)));
    }

    /**
     * dW (+)= sum over the batch of dy_b * col(x_b)^T. The batch is cut into {@link #weightParts} runs of consecutive
     * samples; each run sums its samples in order into a dW of its own (the first into {@code dw}), and the runs are
     * added in order at the end. The runs go to the threads when there are at least as many runs as threads, else
     * they run one after another with each GEMM split over the threads instead: the same bits either way (a GEMM's
     * result does not depend on how it is split), on one thread or sixteen.
     * A run's own dW is not zeroed first: its first sample's GEMM overwrites it (beta 0). The runs are added in one
     * pass over dW split over the threads, each element summed over the runs in their order (the same bits as adding
     * one run after another): on two threads a batch of 8 is 8 runs, and adding 7 zero-filled runs one at a time on
     * one thread took a third of DPN-92's 1x1 weight gradients at 14 x 14.
     */
    static void backwardWeight(ConvGeom d, float[] x, float[] dy, float[] dw) {
        int rows = d.colRows(), plane = d.outPlane(), n = d.n();
        int parts = weightParts(n, dw.length);
        boolean partsOnThreads = parts > 1 && parts >= Parallel.threads();
        float[][] partial = new float[parts][];
        partial[0] = dw;
        for (int c = 1; c < parts; c++) partial[c] = HostArrays.uninitialized(dw.length); // a run's first GEMM writes all of it
        Parallel.RangeBody body = (c0, c1) -> {
            float[] col = isPointwise(d) ? null : scratch(SLOT_COL, rows * plane);
            for (int c = c0; c < c1; c++) {
                float[] acc = partial[c];
                int b0 = (int) ((long) n * c / parts), b1 = (int) ((long) n * (c + 1) / parts);
                for (int b = b0; b < b1; b++) {
                    float beta = c > 0 && b == b0 ? 0f : 1f;
                    for (int g = 0; g < d.groups(); g++) {
                        int xOff = (b * d.c() + g * d.cg()) * d.inPlane();
                        float[] src = unfold(d, x, xOff, col);
                        int srcOff = col == null ? xOff : 0;
                        // dW_g [og, Cg*kk] (+)= dy_g [og, P] * col^T [P, Cg*kk]
                        gemm(partsOnThreads, false, true, d.og(), rows, plane, dy, (b * d.cOut() + g * d.og()) * plane, plane,
                                src, srcOff, plane, beta, acc, g * d.og() * rows, rows);
                    }
                }
            }
        };
        if (partsOnThreads) Parallel.forRange(parts, d.flopsPerItem() * d.groups() * ((n + parts - 1) / parts), body);
        else body.run(0, parts);
        addParts(dw, partial);
    }

    /** dw[i] = ((dw[i] + parts[1][i]) + parts[2][i]) + ... for every i, split over the threads; parts[1..] given back. */
    static void addParts(float[] dw, float[][] parts) {
        if (parts.length < 2) return;
        Parallel.forRange(dw.length, parts.length, (s, e) -> {
            int i = s;
            for (int end = s + S.loopBound(e - s); i < end; i += S.length()) {
                FloatVector v = FloatVector.fromArray(S, dw, i);
                for (int c = 1; c < parts.length; c++) v = v.add(FloatVector.fromArray(S, parts[c], i));
                v.intoArray(dw, i);
            }
            for (; i < e; i++) {
                float v = dw[i];
                for (int c = 1; c < parts.length; c++) v += parts[c][i];
                dw[i] = v;
            }
        });
        for (int c = 1; c < parts.length; c++) HostArrays.giveBack(parts[c]);
    }
}
