package org.pulmo.backend.cpu;

import static org.pulmo.backend.cpu.ConvGeom.copyRows;

/**
 * The batched im2col + one SGEMM strategy of {@link CpuConv} (batch > 1, output planes of at most
 * {@link #BATCH_MAX_PLANE} positions, e.g. ResNet-50 layer4): the whole batch is unfolded into
 * col [C*kH*kW, N*outH*outW] so that one GEMM with n = N*outH*outW replaces N GEMMs with n = 16 or 49.
 * A grouped conv that the direct kernels do not take (DPN's stride-2 grouped 3x3 that opens a stage) runs one
 * such GEMM per group, the groups over the threads. The unfolding and the per-thread buffers are {@link GemmConv}'s.
 */
final class BatchedGemmConv {
    private BatchedGemmConv() {}

    /**
     * Dense convs whose output plane is small (ResNet-50 layer4 at 224 input: 7x7; layer3/4 at 112: 7x7,
     * 4x4) run one GEMM for the whole batch instead of one per sample: the samples' unfolded columns sit
     * side by side in col [C*kH*kW, N*P] (P = outH*outW), so the GEMM's n is N*P instead of P. A per-sample
     * GEMM with P = 16 or 49 fills a quarter to three quarters of the 64-wide micro-tile and repacks the
     * whole weight matrix for every sample; the batched one packs it once per thread. The price is gathering
     * dy into [Cout, N*P] and scattering y back to NCHW, and a col buffer N times larger. Measured
     * (ResNetConvProfile, RESULTS.md): batched is 18-45% faster per layer group at P <= 49, but 5-20% slower
     * at P = 196 and 784, where the per-sample GEMM already fills its tiles and its buffers stay in cache.
     */
    static final int BATCH_MAX_PLANE = Integer.getInteger("pulmo.conv.batchPlane", 64);
    /** Largest batched col buffer, in floats (per thread that calls conv; kept for the next call). */
    private static final long BATCH_MAX_COL = 1L << 23;

    static boolean fits(ConvGeom d) {
        return (d.groups() == 1 || !GemmConv.isPointwise(d)) && d.n() > 1 && d.outPlane() <= BATCH_MAX_PLANE
                && (long) d.colRows() * d.n() * d.outPlane() <= BATCH_MAX_COL
                && (long) Math.max(d.cOut(), d.c()) * d.n() * d.outPlane() <= BATCH_MAX_COL;
    }

    /** col [rows, N*P] with sample b's columns at b*P: im2col of every sample, samples split over threads. */
    private static void unfoldBatch(ConvGeom d, float[] x, float[] col) {
        Parallel.forRange(d.n(), (long) d.colRows() * d.outPlane(), (s, e) -> unfoldSamples(d, x, 0, s, e, col));
    }

    /** Group g of samples b0 .. b1 - 1 unfolded into their columns of col [Cg*kk, N*P] (sample b's at b*P). */
    private static void unfoldSamples(ConvGeom d, float[] x, int g, int b0, int b1, float[] col) {
        int plane = d.outPlane(), np = d.n() * plane;
        for (int b = b0; b < b1; b++) GemmConv.im2col(d, x, (b * d.c() + g * d.cg()) * d.inPlane(), col, b * plane, np);
    }

    /** dy [N, Cout, P] regrouped to [Cout, N*P], in this thread's rows buffer. */
    private static float[] batchedDy(ConvGeom d, float[] dy) {
        float[] dyb = GemmConv.scratch(GemmConv.SLOT_ROWS, d.cOut() * d.n() * d.outPlane());
        regroup(dy, dyb, d.n(), d.cOut(), d.outPlane(), true);
        return dyb;
    }

    /** [N, R, P] (NCHW with R channels) -> [R, N*P]: sample b's rows to columns b*P; toBatch false goes back. */
    private static void regroup(float[] nrp, float[] rnp, int n, int rows, int plane, boolean toBatch) {
        int np = n * plane;
        Parallel.forRange(n, (long) rows * plane / 8, (s, e) -> {
            for (int b = s; b < e; b++) {
                if (toBatch) copyRows(nrp, b * rows * plane, plane, rnp, b * plane, np, rows, plane);
                else copyRows(rnp, b * plane, np, nrp, b * rows * plane, plane, rows, plane);
            }
        });
    }

    // ------------------------------------------------------------------------------------------------
    // Grouped: per group g, Y_g [og, N*P] = W_g [og, Cg*kk] * col_g [Cg*kk, N*P], each group's GEMM on one thread

    /**
     * body(g, col) for every group (DPN-92's stride-2 grouped 3x3 on 4 x 4 -> 2 x 2, the demo's conv4_1: 32 GEMMs with
     * n = 64 instead of 16 samples times 32 groups of GEMMs with n = 4), groups split over the threads, col a per-thread buffer of [Cg*kk, N*P]. */
    private static void eachGroup(ConvGeom d, java.util.function.ObjIntConsumer<float[]> body) {
        int len = d.colRows() * d.n() * d.outPlane();
        Parallel.forRange(d.groups(), d.flopsPerItem() * d.n(), (g0, g1) -> {
            float[] col = GemmConv.scratch(GemmConv.SLOT_COL, len);
            for (int g = g0; g < g1; g++) body.accept(col, g);
        });
    }

    private static void groupedForward(ConvGeom d, float[] x, float[] wt, float[] y) {
        int rows = d.colRows(), og = d.og(), np = d.n() * d.outPlane();
        float[] yb = GemmConv.scratch(GemmConv.SLOT_ROWS, d.cOut() * np);
        eachGroup(d, (col, g) -> {
            unfoldSamples(d, x, g, 0, d.n(), col);
            Sgemm.sgemmSerial(false, false, og, np, rows, wt, g * og * rows, rows, col, 0, np, 0f, yb, g * og * np, np);
        });
        regroup(y, yb, d.n(), d.cOut(), d.outPlane(), false);
    }

    /** dcol_g [Cg*kk, N*P] = W_g^T * dY_g, folded back into each sample's group g (dx zeroed by the caller). */
    private static void groupedBackwardInput(ConvGeom d, float[] dy, float[] wt, float[] dx) {
        int rows = d.colRows(), og = d.og(), plane = d.outPlane(), np = d.n() * plane;
        float[] dyb = batchedDy(d, dy);
        eachGroup(d, (dcol, g) -> {
            Sgemm.sgemmSerial(true, false, rows, np, og, wt, g * og * rows, rows, dyb, g * og * np, np, 0f, dcol, 0, np);
            for (int b = 0; b < d.n(); b++) GemmConv.col2im(d, dcol, b * plane, np, dx, (b * d.c() + g * d.cg()) * d.inPlane());
        });
    }

    /** dW_g [og, Cg*kk] = dY_g [og, N*P] * col_g^T: the batch sum is each group's GEMM's k. */
    private static void groupedBackwardWeight(ConvGeom d, float[] x, float[] dy, float[] dw) {
        int rows = d.colRows(), og = d.og(), plane = d.outPlane(), np = d.n() * plane;
        float[] dyb = batchedDy(d, dy);
        eachGroup(d, (col, g) -> {
            unfoldSamples(d, x, g, 0, d.n(), col);
            Sgemm.sgemmSerial(false, true, og, rows, np, dyb, g * og * np, np, col, 0, np, 0f, dw, g * og * rows, rows);
        });
    }

    // ------------------------------------------------------------------------------------------------
    // Dense: one GEMM for the batch, split over the threads by Sgemm

    static void forward(ConvGeom d, float[] x, float[] wt, float[] y) {
        if (d.groups() > 1) { groupedForward(d, x, wt, y); return; }
        int rows = d.colRows(), np = d.n() * d.outPlane();
        float[] col = GemmConv.scratch(GemmConv.SLOT_COL, rows * np);
        unfoldBatch(d, x, col);
        float[] yb = GemmConv.scratch(GemmConv.SLOT_ROWS, d.cOut() * np);
        // Y [Cout, N*P] = W [Cout, C*kk] * col [C*kk, N*P]
        Sgemm.sgemm(false, false, d.cOut(), np, rows, wt, 0, rows, col, 0, np, 0f, yb, 0, np);
        regroup(y, yb, d.n(), d.cOut(), d.outPlane(), false);
    }

    static void backwardInput(ConvGeom d, float[] dy, float[] wt, float[] dx) {
        if (d.groups() > 1) { groupedBackwardInput(d, dy, wt, dx); return; }
        int rows = d.colRows(), plane = d.outPlane(), np = d.n() * plane;
        float[] dyb = batchedDy(d, dy);
        if (GemmConv.isPointwise(d)) {
            // dcol [C, N*P] is dx with the batch regrouped.
            float[] dxb = GemmConv.scratch(GemmConv.SLOT_COL, d.c() * np);
            Sgemm.sgemm(true, false, rows, np, d.cOut(), wt, 0, rows, dyb, 0, np, 0f, dxb, 0, np);
            regroup(dx, dxb, d.n(), d.c(), plane, false);
            return;
        }
        float[] dcol = GemmConv.scratch(GemmConv.SLOT_COL, rows * np);
        // dcol [C*kk, N*P] = W^T [C*kk, Cout] * dY [Cout, N*P], folded back per sample.
        Sgemm.sgemm(true, false, rows, np, d.cOut(), wt, 0, rows, dyb, 0, np, 0f, dcol, 0, np);
        Parallel.forRange(d.n(), (long) rows * plane, (s, e) -> {
            for (int b = s; b < e; b++) GemmConv.col2im(d, dcol, b * plane, np, dx, b * d.c() * d.inPlane());
        });
    }

    static void backwardWeight(ConvGeom d, float[] x, float[] dy, float[] dw) {
        if (d.groups() > 1) { groupedBackwardWeight(d, x, dy, dw); return; }
        int rows = d.colRows(), plane = d.outPlane(), np = d.n() * plane;
        float[] col = GemmConv.scratch(GemmConv.SLOT_COL, rows * np);
        unfoldBatch(d, x, col);
        float[] dyb = batchedDy(d, dy);
        // dW [Cout, C*kk] = dY [Cout, N*P] * col^T [N*P, C*kk]: the batch sum is the GEMM's k.
        Sgemm.sgemm(false, true, d.cOut(), rows, np, dyb, 0, np, col, 0, np, 0f, dw, 0, rows);
    }
}
