package org.pulmo.backend.cpu;

import java.util.Arrays;
import java.util.concurrent.atomic.AtomicInteger;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;
import org.pulmo.backend.Conv2dParams;
import org.pulmo.tensor.HostArrays;

/**
 * 2-D convolution on raw arrays, no bias: x [N, C, H, W] (NCHW), weight [Cout, C/groups, kH, kW] (OIHW),
 * y [N, Cout, outH, outW], with stride, zero padding, dilation and groups from {@link Conv2dParams}:
 *
 * <pre>  y[n, o, i, j] = sum_{c in group(o), a, b} w[o, c, a, b] * x[n, c, i*sH - pH + a*dH, j*sW - pW + b*dW]</pre>
 *
 * FLOPs: 2 * N * Cout * outH * outW * (C/groups) * kH * kW for each of forward, backwardInput and
 * backwardWeight. Four implementations, picked per call:
 * <ul>
 * <li><b>Winograd F(2x2, 3x3)</b> ({@link Winograd}; dense 3x3, stride 1, dilation 1, padding at most 2,
 *   enough channels and output tiles over the batch, see {@link #WINOGRAD_MIN_WORK}: ResNet's stride-1
 *   3x3s at batch 8, 224x224): 16 GEMMs over all tiles of the batch, 4 multiplies per
 *   output and input channel instead of 9, plus transforms that are linear in the channel counts. All
 *   three passes. F(4x4, 3x3) (2.25 multiplies) is kept beside it, selectable with {@link #setWinograd}.</li>
 * <li><b>Batched im2col + one SGEMM</b> (groups = 1, batch > 1, output planes of at most 64 positions,
 *   e.g. ResNet-50 layer4): the whole batch is unfolded into col [C*kH*kW, N*outH*outW] so that one GEMM
 *   with n = N*outH*outW replaces N GEMMs with n = 16 or 49 (see {@link #BATCH_MAX_PLANE}).</li>
 * <li><b>im2col + SGEMM</b> (dense and wide-group convs). Per sample and group the input patches are
 *   unfolded into col [Cg*kH*kW, outH*outW] (one reused buffer per thread, not the whole batch), then
 *   y_g = W_g * col, dcol = W_g^T * dy_g (folded back by col2im), dW_g += dy_g * col^T. A 1x1 stride-1
 *   unpadded conv needs no unfolding: the input plane already is col. Work is split over samples and
 *   groups, each GEMM on one thread; with fewer items than threads the GEMM itself is split.</li>
 * <li><b>Direct</b> (groups > 1 with at most 8 output channels per group, stride 1: the DPN grouped 3x3,
 *   depthwise convs). One tiny GEMM per group would waste the 6 x 64 SGEMM tile, so instead the group's
 *   input is copied into a zero-padded buffer with row width Wp = W + 2*pW and the output is computed
 *   at every position of that padded width ("flattened" output of outH rows x Wp). A tap (c, a, b)
 *   then is a constant shift of c*plane + a*dH*Wp + b*dW, so the kernel runs along one contiguous run
 *   of 64 outputs, up to 4 output channels in 16 registers, one vector load per tap and 16 FMAs; the
 *   columns past outW are computed and dropped (2*pW / Wp extra work). backwardInput is the same
 *   kernel on dy with the flipped, transposed weight (a stride-1 transposed conv is a conv);
 *   backwardWeight uses the same shifts, reducing dy * shifted x over positions, 3 taps x up to 4
 *   output channels per pass.</li>
 * </ul>
 * Each {@code ...Reference} method is the plain direct loop, kept as the specification for tests.
 */
public final class CpuConv {
    private CpuConv() {}

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();
    /** Output positions per direct-kernel step: 4 vectors. */
    private static final int CHUNK = 4 * L;
    /** The direct kernels serve groups with at most this many output channels. */
    private static final int DIRECT_MAX_COUT_PER_GROUP = 8;

    /** The sizes of one call, checked once. */
    private record Geom(int n, int c, int h, int w, int cOut, int kH, int kW, Conv2dParams p,
                        int groups, int cg, int og, int oh, int ow, int kk) {
        static Geom of(int n, int c, int h, int w, int cOut, int kH, int kW, Conv2dParams p) {
            int g = p.groups();
            if (c % g != 0 || cOut % g != 0) {
                throw new IllegalArgumentException("conv2d: channels " + c + " -> " + cOut + " not divisible by groups " + g);
            }
            int oh = p.outH(h, kH), ow = p.outW(w, kW);
            if (n < 0 || kH < 1 || kW < 1 || oh < 1 || ow < 1) {
                throw new IllegalArgumentException("conv2d: empty output for input " + h + "x" + w + ", kernel " + kH + "x" + kW + ", " + p);
            }
            return new Geom(n, c, h, w, cOut, kH, kW, p, g, c / g, cOut / g, oh, ow, kH * kW);
        }

        int inPlane() { return h * w; }
        int outPlane() { return oh * ow; }
        /** Rows of the unfolded matrix (GEMM k for forward). */
        int colRows() { return cg * kk; }
        long flopsPerItem() { return 2L * og * outPlane() * colRows(); }

        void checkLengths(float[] x, String xName, long xLen, float[] wt, float[] y, String yName, long yLen) {
            if (x != null && x.length != xLen) throw new IllegalArgumentException("conv2d: " + xName + " has " + x.length + " values, expected " + xLen);
            if (wt != null && wt.length != (long) cOut * cg * kk) throw new IllegalArgumentException("conv2d: weight has " + wt.length + " values, expected " + (long) cOut * cg * kk);
            if (y != null && y.length != yLen) throw new IllegalArgumentException("conv2d: " + yName + " has " + y.length + " values, expected " + yLen);
        }
    }

    // ------------------------------------------------------------------------------------------------
    // Forward

    /** y [n, cOut, outH, outW] = conv(x [n, cIn, h, w], wt [cOut, cIn/groups, kH, kW]). */
    public static float[] forward(float[] x, int n, int cIn, int h, int w, float[] wt, int cOut, int kH, int kW, Conv2dParams p) {
        Geom d = Geom.of(n, cIn, h, w, cOut, kH, kW, p);
        d.checkLengths(x, "x", (long) n * cIn * h * w, wt, null, null, 0);
        Winograd.Variant wv = winograd(d);
        // Every path but the direct one assigns each output once (GEMM with beta = 0, Winograd's output transform).
        int len = n * cOut * d.outPlane();
        float[] y = useDirect(d) && wv == null ? HostArrays.zeroed(len) : HostArrays.uninitialized(len);
        if (wv != null) Winograd.forward(wv, x, n, cIn, h, w, wt, false, cOut, p.padH(), p.padW(), y);
        else if (useDirect(d)) directForward(d, x, wt, y);
        else if (useBatched(d)) batchedForward(d, x, wt, y);
        else gemmForward(d, x, wt, y);
        return y;
    }

    // ------------------------------------------------------------------------------------------------
    // Winograd F(2x2, 3x3) (or F(4x4, 3x3)) for dense 3x3 stride-1 convs (see Winograd)

    /** Output tile of the Winograd path: 2 (F(2x2, 3x3)), 4 (F(4x4, 3x3)) or 0 (off). */
    private static volatile int winogradTile = Integer.getInteger("pulmo.conv.winograd", 2);
    /**
     * Winograd pays only when its GEMMs (m = Cout, k = C, n = N*tiles) outweigh its transforms, which move
     * alpha^2 / tile^2 = 4 (F(2x2)) floats per input and output value through memory and are linear in the
     * channels: fewer channels leave little GEMM work per transformed value, fewer tiles leave GEMMs too small
     * to run near peak. Measured with ResNetConvProfile (RESULTS.md) per ResNet-50 layer: faster at
     * (C, tiles) = (64, 6272), (128, 1568), (256, 392), (512, 128); slower at (64, 784), (512, 16); about even
     * at (128, 196), (256, 64). Hence min(C, Cout) >= 64 and min(C, Cout) * tiles >= 65536.
     */
    static final int WINOGRAD_MIN_CHANNELS = Integer.getInteger("pulmo.conv.winogradChannels", 64);
    static final long WINOGRAD_MIN_WORK = Long.getLong("pulmo.conv.winogradWork", 65536);

    /**
     * Selects the Winograd version for dense 3x3 stride-1 convs: output tile 2 or 4, or 0 for none (the
     * im2col + SGEMM path then serves those shapes); for A/B measurements in one JVM. Default 2;
     * {@code -Dpulmo.conv.winograd=T} sets it at start-up.
     */
    public static void setWinograd(int outputTile) {
        if (outputTile != 0 && outputTile != 2 && outputTile != 4) throw new IllegalArgumentException("conv2d: Winograd output tile " + outputTile + " is not 0, 2 or 4");
        winogradTile = outputTile;
    }

    static int winogradTile() { return winogradTile; }

    /** Whether a conv of these sizes runs on the Winograd path (for tests). */
    static boolean useWinograd(int n, int cIn, int h, int w, int cOut, int kH, int kW, Conv2dParams p) {
        return winograd(Geom.of(n, cIn, h, w, cOut, kH, kW, p)) != null;
    }

    /** The Winograd version for this conv, or null when it takes another path. */
    private static Winograd.Variant winograd(Geom d) {
        int tile = winogradTile;
        if (tile == 0) return null;
        Winograd.Variant v = Winograd.Variant.ofTile(tile);
        Conv2dParams p = d.p;
        boolean fits = d.n > 0 && d.groups == 1 && d.kH == 3 && d.kW == 3
                && p.strideH() == 1 && p.strideW() == 1 && p.dilationH() == 1 && p.dilationW() == 1
                && p.padH() <= 2 && p.padW() <= 2
                && Math.min(d.c, d.cOut) >= WINOGRAD_MIN_CHANNELS
                && (long) Math.min(d.c, d.cOut) * d.n * Winograd.tilesH(v, d.oh) * Winograd.tilesH(v, d.ow) >= WINOGRAD_MIN_WORK;
        return fits ? v : null;
    }

    private static boolean useDirect(Geom d) {
        return d.groups > 1 && d.og <= DIRECT_MAX_COUT_PER_GROUP && d.p.strideH() == 1 && d.p.strideW() == 1;
    }

    private static boolean isPointwise(Geom d) {
        Conv2dParams p = d.p;
        return d.kH == 1 && d.kW == 1 && p.strideH() == 1 && p.strideW() == 1 && p.padH() == 0 && p.padW() == 0;
    }

    private static void gemmForward(Geom d, float[] x, float[] wt, float[] y) {
        int items = d.n * d.groups;
        boolean perItemThreads = items >= Parallel.threads();
        int rows = d.colRows(), plane = d.outPlane();
        // One weight matrix serves every sample: packed once for all of their GEMMs.
        Sgemm.PackedA wp = d.groups == 1 ? Sgemm.pack(false, d.og, rows, wt, 0, rows, scratch(SLOT_PACKED, Sgemm.packedSize(d.og, rows))) : null;
        Parallel.RangeBody body = (s, e) -> {
            float[] col = isPointwise(d) ? null : scratch(SLOT_COL, rows * plane);
            for (int it = s; it < e; it++) {
                int b = it / d.groups, g = it % d.groups;
                int xOff = (b * d.c + g * d.cg) * d.inPlane();
                float[] src = x;
                int srcOff = xOff;
                if (col != null) {
                    im2col(d, x, xOff, col);
                    src = col;
                    srcOff = 0;
                }
                if (wp != null) gemm(perItemThreads, wp, src, srcOff, plane, 0f, y, b * d.cOut * plane, plane);
                else gemm(perItemThreads, false, false, d.og, plane, rows, wt, g * d.og * rows, rows, src, srcOff, plane,
                        0f, y, (b * d.cOut + g * d.og) * plane, plane);
            }
        };
        if (perItemThreads) Parallel.forRange(items, d.flopsPerItem(), body);
        else body.run(0, items);
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
    static void im2col(Geom d, float[] x, int xOff, float[] col) {
        im2col(d, x, xOff, col, 0, d.outPlane());
    }

    /**
     * As above, into the columns [colOff, colOff + outH*outW) of a col matrix with row length ldCol: the
     * batched path puts the samples side by side, sample b at column b*outH*outW of [Cg*kH*kW, N*outH*outW].
     */
    static void im2col(Geom d, float[] x, int xOff, float[] col, int colOff, int ldCol) {
        Conv2dParams p = d.p;
        int oh = d.oh, ow = d.ow, h = d.h, w = d.w;
        if (isPointwise(d)) {
            // 1x1, stride 1, no padding: each row of col is one input plane.
            for (int c = 0; c < d.cg; c++) copyRow(x, xOff + c * h * w, col, colOff + c * ldCol, h * w);
            return;
        }
        int r = 0;
        for (int c = 0; c < d.cg; c++) {
            for (int a = 0; a < d.kH; a++) {
                for (int b = 0; b < d.kW; b++, r++) {
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
    static void col2im(Geom d, float[] col, float[] dx, int xOff) {
        col2im(d, col, 0, d.outPlane(), dx, xOff);
    }

    /** The adjoint of the offset im2col: dx[xOff ..] += fold(col[:, colOff .. colOff + outH*outW)). */
    static void col2im(Geom d, float[] col, int colOff, int ldCol, float[] dx, int xOff) {
        Conv2dParams p = d.p;
        int oh = d.oh, ow = d.ow, h = d.h, w = d.w;
        int r = 0;
        for (int c = 0; c < d.cg; c++) {
            for (int a = 0; a < d.kH; a++) {
                for (int b = 0; b < d.kW; b++, r++) {
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

    // ------------------------------------------------------------------------------------------------
    // Backward, input: dx = conv^T(dy, w)

    /** dx [n, cIn, h, w] from dy [n, cOut, outH, outW] and wt [cOut, cIn/groups, kH, kW]. */
    public static float[] backwardInput(float[] dy, int n, int cIn, int h, int w, float[] wt, int cOut, int kH, int kW, Conv2dParams p) {
        Geom d = Geom.of(n, cIn, h, w, cOut, kH, kW, p);
        d.checkLengths(dy, "dy", (long) n * cOut * d.outPlane(), wt, null, null, 0);
        int padH2 = p.dilationH() * (kH - 1) - p.padH(), padW2 = p.dilationW() * (kW - 1) - p.padW();
        Winograd.Variant wv = winograd(d);
        // Winograd and the pointwise GEMMs (beta = 0) assign every dx; col2im and the direct kernel add into it.
        boolean assigns = wv != null || (isPointwise(d) && !useDirect(d));
        int len = n * cIn * h * w;
        float[] dx = assigns ? HostArrays.uninitialized(len) : HostArrays.zeroed(len);
        if (wv != null) {
            // The same transposed conv as below (dy padded by 2 - pad, flipped and transposed weight), by Winograd.
            Winograd.forward(wv, dy, n, cOut, d.oh, d.ow, wt, true, cIn, padH2, padW2, dx);
        } else if (useDirect(d) && padH2 >= 0 && padW2 >= 0) {
            // Stride 1: dx[c, i, j] = sum_{o, a, b} dy[o, i + pH - a*dH, j + pW - b*dW] * w[o, c, a, b]
            // = a conv of dy (padding d*(k-1) - p) with w flipped in a, b and transposed in (o, c).
            Geom t = Geom.of(n, cOut, d.oh, d.ow, cIn, kH, kW,
                    new Conv2dParams(1, 1, padH2, padW2, p.dilationH(), p.dilationW(), d.groups));
            directForward(t, dy, flipTranspose(d, wt), dx);
        } else if (useBatched(d)) {
            batchedBackwardInput(d, dy, wt, dx);
        } else {
            gemmBackwardInput(d, dy, wt, dx);
        }
        return dx;
    }

    /** w [G*og, cg, kH, kW] -> wT [G*cg, og, kH, kW] with wT[g*cg + c, o, a, b] = w[g*og + o, c, kH-1-a, kW-1-b]. */
    private static float[] flipTranspose(Geom d, float[] wt) {
        float[] t = new float[wt.length];
        for (int g = 0; g < d.groups; g++)
            for (int o = 0; o < d.og; o++)
                for (int c = 0; c < d.cg; c++)
                    for (int a = 0; a < d.kH; a++)
                        for (int b = 0; b < d.kW; b++)
                            t[(((g * d.cg + c) * d.og + o) * d.kH + a) * d.kW + b] =
                                    wt[(((g * d.og + o) * d.cg + c) * d.kH + (d.kH - 1 - a)) * d.kW + (d.kW - 1 - b)];
        return t;
    }

    private static void gemmBackwardInput(Geom d, float[] dy, float[] wt, float[] dx) {
        int items = d.n * d.groups;
        boolean perItemThreads = items >= Parallel.threads();
        int rows = d.colRows(), plane = d.outPlane();
        Sgemm.PackedA wtp = d.groups == 1 // W^T, for every sample
                ? Sgemm.pack(true, rows, d.og, wt, 0, rows, scratch(SLOT_PACKED, Sgemm.packedSize(rows, d.og))) : null;
        Parallel.RangeBody body = (s, e) -> {
            float[] col = isPointwise(d) ? null : scratch(SLOT_COL, rows * plane);
            for (int it = s; it < e; it++) {
                int b = it / d.groups, g = it % d.groups;
                int xOff = (b * d.c + g * d.cg) * d.inPlane();
                int dyOff = (b * d.cOut + g * d.og) * plane;
                // dcol [Cg*kk, P] = W_g^T [Cg*kk, og] * dy_g [og, P]; a pointwise conv writes dx directly.
                float[] out = col == null ? dx : col;
                int outOff = col == null ? xOff : 0;
                if (wtp != null) gemm(perItemThreads, wtp, dy, dyOff, plane, 0f, out, outOff, plane);
                else gemm(perItemThreads, true, false, rows, plane, d.og, wt, g * d.og * rows, rows, dy, dyOff, plane, 0f, out, outOff, plane);
                if (col != null) col2im(d, col, dx, xOff);
            }
        };
        if (perItemThreads) Parallel.forRange(items, d.flopsPerItem(), body);
        else body.run(0, items);
    }

    // ------------------------------------------------------------------------------------------------
    // Backward, weight: dW = sum over samples of dy (x) x

    /** dW [cOut, cIn/groups, kH, kW] from x [n, cIn, h, w] and dy [n, cOut, outH, outW]. */
    public static float[] backwardWeight(float[] x, float[] dy, int n, int cIn, int h, int w, int cOut, int kH, int kW, Conv2dParams p) {
        Geom d = Geom.of(n, cIn, h, w, cOut, kH, kW, p);
        d.checkLengths(x, "x", (long) n * cIn * h * w, null, dy, "dy", (long) n * cOut * d.outPlane());
        float[] dw = HostArrays.zeroed(cOut * d.colRows());
        if (n == 0) return dw;
        Winograd.Variant wv = winograd(d);
        if (wv != null) Winograd.backwardWeight(wv, x, dy, n, cIn, h, w, cOut, p.padH(), p.padW(), dw);
        else if (useDirect(d)) directBackwardWeight(d, x, dy, dw);
        else if (useBatched(d)) batchedBackwardWeight(d, x, dy, dw);
        else gemmBackwardWeight(d, x, dy, dw);
        return dw;
    }

    private static void gemmBackwardWeight(Geom d, float[] x, float[] dy, float[] dw) {
        int threads = Parallel.threads();
        int rows = d.colRows(), plane = d.outPlane();
        boolean perSampleThreads = d.n >= threads;
        // With one sample per thread or more, each thread sums its samples into its own dW, added up at the end.
        float[][] partial = new float[perSampleThreads ? threads : 1][];
        AtomicInteger slots = new AtomicInteger();
        Parallel.RangeBody body = (s, e) -> {
            float[] col = isPointwise(d) ? null : scratch(SLOT_COL, rows * plane);
            float[] acc = s == 0 ? dw : new float[dw.length];
            if (s != 0) partial[slots.incrementAndGet()] = acc;
            for (int b = s; b < e; b++) {
                for (int g = 0; g < d.groups; g++) {
                    int xOff = (b * d.c + g * d.cg) * d.inPlane();
                    float[] src = x;
                    int srcOff = xOff;
                    if (col != null) {
                        im2col(d, x, xOff, col);
                        src = col;
                        srcOff = 0;
                    }
                    // dW_g [og, Cg*kk] += dy_g [og, P] * col^T [P, Cg*kk]
                    gemm(perSampleThreads, false, true, d.og, rows, plane, dy, (b * d.cOut + g * d.og) * plane, plane,
                            src, srcOff, plane, 1f, acc, g * d.og * rows, rows);
                }
            }
        };
        if (perSampleThreads) Parallel.forRange(d.n, d.flopsPerItem() * d.groups, body);
        else body.run(0, d.n);
        for (int t = 1; t < partial.length; t++) {
            if (partial[t] == null) continue;
            for (int i = 0; i < dw.length; i++) dw[i] += partial[t][i];
        }
    }

    // ------------------------------------------------------------------------------------------------
    // Batched im2col + one SGEMM, for small output planes

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

    private static boolean useBatched(Geom d) {
        return d.groups == 1 && d.n > 1 && d.outPlane() <= BATCH_MAX_PLANE
                && (long) d.colRows() * d.n * d.outPlane() <= BATCH_MAX_COL
                && (long) Math.max(d.cOut, d.c) * d.n * d.outPlane() <= BATCH_MAX_COL;
    }

    /** Per-thread buffers: unfolded columns, regrouped rows, and (calling thread only) the packed weights. */
    private static final int SLOT_COL = 0, SLOT_ROWS = 1, SLOT_PACKED = 2;
    private static final ThreadLocal<float[][]> SCRATCH = ThreadLocal.withInitial(() -> new float[3][0]);

    /**
     * A per-thread buffer of at least len floats, reused across calls: the unfolded matrices are fully
     * overwritten before they are read, so they need neither a fresh allocation nor zeroing.
     */
    private static float[] scratch(int slot, int len) {
        float[][] s = SCRATCH.get();
        if (s[slot].length < len) s[slot] = new float[len];
        return s[slot];
    }

    /** col [rows, N*P] with sample b's columns at b*P: im2col of every sample, samples split over threads. */
    private static void unfoldBatch(Geom d, float[] x, float[] col) {
        int plane = d.outPlane(), np = d.n * plane;
        Parallel.forRange(d.n, (long) d.colRows() * plane, (s, e) -> {
            for (int b = s; b < e; b++) im2col(d, x, b * d.c * d.inPlane(), col, b * plane, np);
        });
    }

    /** [N, R, P] (NCHW with R channels) -> [R, N*P]: sample b's rows to columns b*P; toBatch false goes back. */
    private static void regroup(float[] nrp, float[] rnp, int n, int rows, int plane, boolean toBatch) {
        int np = n * plane;
        Parallel.forRange(n, (long) rows * plane / 8, (s, e) -> {
            for (int b = s; b < e; b++)
                for (int r = 0; r < rows; r++) {
                    if (toBatch) copyRow(nrp, (b * rows + r) * plane, rnp, r * np + b * plane, plane);
                    else copyRow(rnp, r * np + b * plane, nrp, (b * rows + r) * plane, plane);
                }
        });
    }

    private static void batchedForward(Geom d, float[] x, float[] wt, float[] y) {
        int rows = d.colRows(), np = d.n * d.outPlane();
        float[] col = scratch(SLOT_COL, rows * np);
        unfoldBatch(d, x, col);
        float[] yb = scratch(SLOT_ROWS, d.cOut * np);
        // Y [Cout, N*P] = W [Cout, C*kk] * col [C*kk, N*P]
        Sgemm.sgemm(false, false, d.cOut, np, rows, wt, 0, rows, col, 0, np, 0f, yb, 0, np);
        regroup(y, yb, d.n, d.cOut, d.outPlane(), false);
    }

    private static void batchedBackwardInput(Geom d, float[] dy, float[] wt, float[] dx) {
        int rows = d.colRows(), plane = d.outPlane(), np = d.n * plane;
        float[] dyb = scratch(SLOT_ROWS, d.cOut * np);
        regroup(dy, dyb, d.n, d.cOut, plane, true);
        if (isPointwise(d)) {
            // dcol [C, N*P] is dx with the batch regrouped.
            float[] dxb = scratch(SLOT_COL, d.c * np);
            Sgemm.sgemm(true, false, rows, np, d.cOut, wt, 0, rows, dyb, 0, np, 0f, dxb, 0, np);
            regroup(dx, dxb, d.n, d.c, plane, false);
            return;
        }
        float[] dcol = scratch(SLOT_COL, rows * np);
        // dcol [C*kk, N*P] = W^T [C*kk, Cout] * dY [Cout, N*P], folded back per sample.
        Sgemm.sgemm(true, false, rows, np, d.cOut, wt, 0, rows, dyb, 0, np, 0f, dcol, 0, np);
        Parallel.forRange(d.n, (long) rows * plane, (s, e) -> {
            for (int b = s; b < e; b++) col2im(d, dcol, b * plane, np, dx, b * d.c * d.inPlane());
        });
    }

    private static void batchedBackwardWeight(Geom d, float[] x, float[] dy, float[] dw) {
        int rows = d.colRows(), plane = d.outPlane(), np = d.n * plane;
        float[] col = scratch(SLOT_COL, rows * np);
        unfoldBatch(d, x, col);
        float[] dyb = scratch(SLOT_ROWS, d.cOut * np);
        regroup(dy, dyb, d.n, d.cOut, plane, true);
        // dW [Cout, C*kk] = dY [Cout, N*P] * col^T [N*P, C*kk]: the batch sum is the GEMM's k.
        Sgemm.sgemm(false, true, d.cOut, rows, np, dyb, 0, np, col, 0, np, 0f, dw, 0, rows);
    }

    // ------------------------------------------------------------------------------------------------
    // Direct kernels for narrow groups, stride 1 (see the class comment for the flattened-output layout)

    /** Layout of one group's zero-padded input: cg planes of hp rows x wp columns, plus read-ahead slack. */
    private record Padded(int hp, int wp, int plane, int positions, int[] tapOffsets, int length) {
        static Padded of(Geom d) {
            Conv2dParams p = d.p;
            int hp = d.h + 2 * p.padH(), wp = d.w + 2 * p.padW();
            int plane = hp * wp;
            int positions = d.oh * wp;                    // flattened outputs, padded width
            int[] taps = new int[d.colRows()];
            for (int c = 0, t = 0; c < d.cg; c++)
                for (int a = 0; a < d.kH; a++)
                    for (int b = 0; b < d.kW; b++) taps[t++] = c * plane + a * p.dilationH() * wp + b * p.dilationW();
            int maxTap = taps[taps.length - 1];
            int chunks = (positions + CHUNK - 1) / CHUNK;
            return new Padded(hp, wp, plane, positions, taps, Math.max(d.cg * plane, chunks * CHUNK + maxTap));
        }

        /**
         * Copies group channels x[xOff ..] = [cg, h, w] into the interior of xp. Only the interior is ever
         * written, so the border and the slack stay zero from the buffer's allocation.
         */
        void fill(Geom d, float[] x, int xOff, float[] xp) {
            int pH = d.p.padH(), pW = d.p.padW();
            for (int c = 0; c < d.cg; c++)
                for (int i = 0; i < d.h; i++)
                    copyRow(x, xOff + (c * d.h + i) * d.w, xp, c * plane + (i + pH) * wp + pW, d.w);
        }
    }

    /** dst[t .. t+len) = src[s .. s+len). Short rows are the norm here, where System.arraycopy's call cost shows. */
    private static void copyRow(float[] src, int s, float[] dst, int t, int len) {
        if (len < L) {
            for (int i = 0; i < len; i++) dst[t + i] = src[s + i];
            return;
        }
        int i = 0;
        for (; i + L <= len; i += L) FloatVector.fromArray(S, src, s + i).intoArray(dst, t + i);
        // The last, partial vector overlaps the previous one: rewriting equal values is harmless.
        if (i < len) FloatVector.fromArray(S, src, s + len - L).intoArray(dst, t + len - L);
    }

    private static void directForward(Geom d, float[] x, float[] wt, float[] y) {
        Padded pad = Padded.of(d);
        int chunks = (pad.positions + CHUNK - 1) / CHUNK;
        int ypStride = chunks * CHUNK;
        int taps = d.colRows();
        Parallel.forRange(d.n * d.groups, d.flopsPerItem(), (s, e) -> {
            float[] xp = new float[pad.length];
            float[] yp = new float[d.og * ypStride];
            for (int it = s; it < e; it++) {
                int b = it / d.groups, g = it % d.groups;
                pad.fill(d, x, (b * d.c + g * d.cg) * d.inPlane(), xp);
                for (int o = 0; o < d.og; o += 4) {
                    int cb = Math.min(4, d.og - o);
                    int w0 = (g * d.og + o) * taps;
                    for (int q = 0; q < chunks * CHUNK; q += CHUNK) {
                        switch (cb) {
                            case 4 -> fwd4(xp, q, pad.tapOffsets, taps, wt, w0, yp, o * ypStride + q, ypStride);
                            case 3 -> fwd3(xp, q, pad.tapOffsets, taps, wt, w0, yp, o * ypStride + q, ypStride);
                            case 2 -> fwd2(xp, q, pad.tapOffsets, taps, wt, w0, yp, o * ypStride + q, ypStride);
                            default -> fwd1(xp, q, pad.tapOffsets, taps, wt, w0, yp, o * ypStride + q, ypStride);
                        }
                    }
                }
                // Keep the valid columns of the padded-width rows.
                int yOff = (b * d.cOut + g * d.og) * d.outPlane();
                for (int o = 0; o < d.og; o++)
                    for (int i = 0; i < d.oh; i++)
                        copyRow(yp, o * ypStride + i * pad.wp, y, yOff + (o * d.oh + i) * d.ow, d.ow);
            }
        });
    }

    private static void directBackwardWeight(Geom d, float[] x, float[] dy, float[] dw) {
        Padded pad = Padded.of(d);
        int taps = d.colRows();
        int vecs = (pad.positions + L - 1) / L;
        // Taps in blocks of 3; the padded tail repeats tap 0 and its sums are dropped.
        int tapBlocks = (taps + 2) / 3;
        int[] tapOff = Arrays.copyOf(pad.tapOffsets, tapBlocks * 3);
        // Each group's slice of dW belongs to one thread, so no partial sums are needed.
        Parallel.forRange(d.groups, d.flopsPerItem() * d.n, (s, e) -> {
            float[] xp = new float[pad.length];
            float[] dyp = new float[d.og * vecs * L];
            float[] sums = new float[12];
            for (int g = s; g < e; g++) {
                for (int b = 0; b < d.n; b++) {
                    pad.fill(d, x, (b * d.c + g * d.cg) * d.inPlane(), xp);
                    // dy rows laid out at the padded width; the extra columns are never written and stay zero.
                    int dyOff = (b * d.cOut + g * d.og) * d.outPlane();
                    for (int o = 0; o < d.og; o++)
                        for (int i = 0; i < d.oh; i++)
                            copyRow(dy, dyOff + (o * d.oh + i) * d.ow, dyp, o * vecs * L + i * pad.wp, d.ow);
                    for (int o = 0; o < d.og; o += 4) {
                        int cb = Math.min(4, d.og - o);
                        for (int tb = 0; tb < tapBlocks; tb++) {
                            int t = tb * 3;
                            int o0 = tapOff[t], o1 = tapOff[t + 1], o2 = tapOff[t + 2];
                            switch (cb) {
                                case 4 -> bww4(xp, o0, o1, o2, dyp, o * vecs * L, vecs * L, vecs, sums);
                                case 3 -> bww3(xp, o0, o1, o2, dyp, o * vecs * L, vecs * L, vecs, sums);
                                case 2 -> bww2(xp, o0, o1, o2, dyp, o * vecs * L, vecs * L, vecs, sums);
                                default -> bww1(xp, o0, o1, o2, dyp, o * vecs * L, vecs * L, vecs, sums);
                            }
                            for (int oo = 0; oo < cb; oo++)
                                for (int k = 0; k < 3 && t + k < taps; k++)
                                    dw[(g * d.og + o + oo) * taps + t + k] += sums[oo * 3 + k];
                        }
                    }
                }
            }
        });
    }

    // Generated kernels: fwdN computes N output channels x CHUNK flattened positions;
    // bwwN reduces N dy rows against 3 shifted input runs.
    static void fwd4(float[] xp, int q, int[] tapOff, int taps, float[] wt, int w0, float[] yp, int y0, int ys) {
        FloatVector a00 = FloatVector.zero(S), a01 = a00, a02 = a00, a03 = a00, a10 = a00, a11 = a00, a12 = a00, a13 = a00, a20 = a00, a21 = a00, a22 = a00, a23 = a00, a30 = a00, a31 = a00, a32 = a00, a33 = a00;
        int w1 = w0 + 1 * taps;
        int w2 = w0 + 2 * taps;
        int w3 = w0 + 3 * taps;
        for (int t = 0; t < taps; t++) {
            int at = q + tapOff[t];
            FloatVector x0 = FloatVector.fromArray(S, xp, at);
            FloatVector x1 = FloatVector.fromArray(S, xp, at + L);
            FloatVector x2 = FloatVector.fromArray(S, xp, at + 2 * L);
            FloatVector x3 = FloatVector.fromArray(S, xp, at + 3 * L);
            FloatVector k = FloatVector.broadcast(S, wt[w0 + t]);
            a00 = x0.fma(k, a00); a01 = x1.fma(k, a01); a02 = x2.fma(k, a02); a03 = x3.fma(k, a03);
            k = FloatVector.broadcast(S, wt[w1 + t]);
            a10 = x0.fma(k, a10); a11 = x1.fma(k, a11); a12 = x2.fma(k, a12); a13 = x3.fma(k, a13);
            k = FloatVector.broadcast(S, wt[w2 + t]);
            a20 = x0.fma(k, a20); a21 = x1.fma(k, a21); a22 = x2.fma(k, a22); a23 = x3.fma(k, a23);
            k = FloatVector.broadcast(S, wt[w3 + t]);
            a30 = x0.fma(k, a30); a31 = x1.fma(k, a31); a32 = x2.fma(k, a32); a33 = x3.fma(k, a33);
        }
        a00.intoArray(yp, y0);
        a01.intoArray(yp, y0 + L);
        a02.intoArray(yp, y0 + 2 * L);
        a03.intoArray(yp, y0 + 3 * L);
        a10.intoArray(yp, y0 + 1 * ys);
        a11.intoArray(yp, y0 + 1 * ys + L);
        a12.intoArray(yp, y0 + 1 * ys + 2 * L);
        a13.intoArray(yp, y0 + 1 * ys + 3 * L);
        a20.intoArray(yp, y0 + 2 * ys);
        a21.intoArray(yp, y0 + 2 * ys + L);
        a22.intoArray(yp, y0 + 2 * ys + 2 * L);
        a23.intoArray(yp, y0 + 2 * ys + 3 * L);
        a30.intoArray(yp, y0 + 3 * ys);
        a31.intoArray(yp, y0 + 3 * ys + L);
        a32.intoArray(yp, y0 + 3 * ys + 2 * L);
        a33.intoArray(yp, y0 + 3 * ys + 3 * L);
    }

    static void fwd3(float[] xp, int q, int[] tapOff, int taps, float[] wt, int w0, float[] yp, int y0, int ys) {
        FloatVector a00 = FloatVector.zero(S), a01 = a00, a02 = a00, a03 = a00, a10 = a00, a11 = a00, a12 = a00, a13 = a00, a20 = a00, a21 = a00, a22 = a00, a23 = a00;
        int w1 = w0 + 1 * taps;
        int w2 = w0 + 2 * taps;
        for (int t = 0; t < taps; t++) {
            int at = q + tapOff[t];
            FloatVector x0 = FloatVector.fromArray(S, xp, at);
            FloatVector x1 = FloatVector.fromArray(S, xp, at + L);
            FloatVector x2 = FloatVector.fromArray(S, xp, at + 2 * L);
            FloatVector x3 = FloatVector.fromArray(S, xp, at + 3 * L);
            FloatVector k = FloatVector.broadcast(S, wt[w0 + t]);
            a00 = x0.fma(k, a00); a01 = x1.fma(k, a01); a02 = x2.fma(k, a02); a03 = x3.fma(k, a03);
            k = FloatVector.broadcast(S, wt[w1 + t]);
            a10 = x0.fma(k, a10); a11 = x1.fma(k, a11); a12 = x2.fma(k, a12); a13 = x3.fma(k, a13);
            k = FloatVector.broadcast(S, wt[w2 + t]);
            a20 = x0.fma(k, a20); a21 = x1.fma(k, a21); a22 = x2.fma(k, a22); a23 = x3.fma(k, a23);
        }
        a00.intoArray(yp, y0);
        a01.intoArray(yp, y0 + L);
        a02.intoArray(yp, y0 + 2 * L);
        a03.intoArray(yp, y0 + 3 * L);
        a10.intoArray(yp, y0 + 1 * ys);
        a11.intoArray(yp, y0 + 1 * ys + L);
        a12.intoArray(yp, y0 + 1 * ys + 2 * L);
        a13.intoArray(yp, y0 + 1 * ys + 3 * L);
        a20.intoArray(yp, y0 + 2 * ys);
        a21.intoArray(yp, y0 + 2 * ys + L);
        a22.intoArray(yp, y0 + 2 * ys + 2 * L);
        a23.intoArray(yp, y0 + 2 * ys + 3 * L);
    }

    static void fwd2(float[] xp, int q, int[] tapOff, int taps, float[] wt, int w0, float[] yp, int y0, int ys) {
        FloatVector a00 = FloatVector.zero(S), a01 = a00, a02 = a00, a03 = a00, a10 = a00, a11 = a00, a12 = a00, a13 = a00;
        int w1 = w0 + 1 * taps;
        for (int t = 0; t < taps; t++) {
            int at = q + tapOff[t];
            FloatVector x0 = FloatVector.fromArray(S, xp, at);
            FloatVector x1 = FloatVector.fromArray(S, xp, at + L);
            FloatVector x2 = FloatVector.fromArray(S, xp, at + 2 * L);
            FloatVector x3 = FloatVector.fromArray(S, xp, at + 3 * L);
            FloatVector k = FloatVector.broadcast(S, wt[w0 + t]);
            a00 = x0.fma(k, a00); a01 = x1.fma(k, a01); a02 = x2.fma(k, a02); a03 = x3.fma(k, a03);
            k = FloatVector.broadcast(S, wt[w1 + t]);
            a10 = x0.fma(k, a10); a11 = x1.fma(k, a11); a12 = x2.fma(k, a12); a13 = x3.fma(k, a13);
        }
        a00.intoArray(yp, y0);
        a01.intoArray(yp, y0 + L);
        a02.intoArray(yp, y0 + 2 * L);
        a03.intoArray(yp, y0 + 3 * L);
        a10.intoArray(yp, y0 + 1 * ys);
        a11.intoArray(yp, y0 + 1 * ys + L);
        a12.intoArray(yp, y0 + 1 * ys + 2 * L);
        a13.intoArray(yp, y0 + 1 * ys + 3 * L);
    }

    static void fwd1(float[] xp, int q, int[] tapOff, int taps, float[] wt, int w0, float[] yp, int y0, int ys) {
        FloatVector a00 = FloatVector.zero(S), a01 = a00, a02 = a00, a03 = a00;
        for (int t = 0; t < taps; t++) {
            int at = q + tapOff[t];
            FloatVector x0 = FloatVector.fromArray(S, xp, at);
            FloatVector x1 = FloatVector.fromArray(S, xp, at + L);
            FloatVector x2 = FloatVector.fromArray(S, xp, at + 2 * L);
            FloatVector x3 = FloatVector.fromArray(S, xp, at + 3 * L);
            FloatVector k = FloatVector.broadcast(S, wt[w0 + t]);
            a00 = x0.fma(k, a00); a01 = x1.fma(k, a01); a02 = x2.fma(k, a02); a03 = x3.fma(k, a03);
        }
        a00.intoArray(yp, y0);
        a01.intoArray(yp, y0 + L);
        a02.intoArray(yp, y0 + 2 * L);
        a03.intoArray(yp, y0 + 3 * L);
    }

    static void bww4(float[] xp, int o0, int o1, int o2, float[] dyp, int d0, int ds, int vecs, float[] sums) {
        FloatVector s00 = FloatVector.zero(S), s01 = s00, s02 = s00, s10 = s00, s11 = s00, s12 = s00, s20 = s00, s21 = s00, s22 = s00, s30 = s00, s31 = s00, s32 = s00;
        for (int v = 0, q = 0; v < vecs; v++, q += L) {
            FloatVector x0 = FloatVector.fromArray(S, xp, o0 + q);
            FloatVector x1 = FloatVector.fromArray(S, xp, o1 + q);
            FloatVector x2 = FloatVector.fromArray(S, xp, o2 + q);
            FloatVector g = FloatVector.fromArray(S, dyp, d0 + q);
            s00 = x0.fma(g, s00); s01 = x1.fma(g, s01); s02 = x2.fma(g, s02);
            g = FloatVector.fromArray(S, dyp, d0 + 1 * ds + q);
            s10 = x0.fma(g, s10); s11 = x1.fma(g, s11); s12 = x2.fma(g, s12);
            g = FloatVector.fromArray(S, dyp, d0 + 2 * ds + q);
            s20 = x0.fma(g, s20); s21 = x1.fma(g, s21); s22 = x2.fma(g, s22);
            g = FloatVector.fromArray(S, dyp, d0 + 3 * ds + q);
            s30 = x0.fma(g, s30); s31 = x1.fma(g, s31); s32 = x2.fma(g, s32);
        }
        sums[0] = Lanes.sum(s00);
        sums[1] = Lanes.sum(s01);
        sums[2] = Lanes.sum(s02);
        sums[3] = Lanes.sum(s10);
        sums[4] = Lanes.sum(s11);
        sums[5] = Lanes.sum(s12);
        sums[6] = Lanes.sum(s20);
        sums[7] = Lanes.sum(s21);
        sums[8] = Lanes.sum(s22);
        sums[9] = Lanes.sum(s30);
        sums[10] = Lanes.sum(s31);
        sums[11] = Lanes.sum(s32);
    }

    static void bww3(float[] xp, int o0, int o1, int o2, float[] dyp, int d0, int ds, int vecs, float[] sums) {
        FloatVector s00 = FloatVector.zero(S), s01 = s00, s02 = s00, s10 = s00, s11 = s00, s12 = s00, s20 = s00, s21 = s00, s22 = s00;
        for (int v = 0, q = 0; v < vecs; v++, q += L) {
            FloatVector x0 = FloatVector.fromArray(S, xp, o0 + q);
            FloatVector x1 = FloatVector.fromArray(S, xp, o1 + q);
            FloatVector x2 = FloatVector.fromArray(S, xp, o2 + q);
            FloatVector g = FloatVector.fromArray(S, dyp, d0 + q);
            s00 = x0.fma(g, s00); s01 = x1.fma(g, s01); s02 = x2.fma(g, s02);
            g = FloatVector.fromArray(S, dyp, d0 + 1 * ds + q);
            s10 = x0.fma(g, s10); s11 = x1.fma(g, s11); s12 = x2.fma(g, s12);
            g = FloatVector.fromArray(S, dyp, d0 + 2 * ds + q);
            s20 = x0.fma(g, s20); s21 = x1.fma(g, s21); s22 = x2.fma(g, s22);
        }
        sums[0] = Lanes.sum(s00);
        sums[1] = Lanes.sum(s01);
        sums[2] = Lanes.sum(s02);
        sums[3] = Lanes.sum(s10);
        sums[4] = Lanes.sum(s11);
        sums[5] = Lanes.sum(s12);
        sums[6] = Lanes.sum(s20);
        sums[7] = Lanes.sum(s21);
        sums[8] = Lanes.sum(s22);
    }

    static void bww2(float[] xp, int o0, int o1, int o2, float[] dyp, int d0, int ds, int vecs, float[] sums) {
        FloatVector s00 = FloatVector.zero(S), s01 = s00, s02 = s00, s10 = s00, s11 = s00, s12 = s00;
        for (int v = 0, q = 0; v < vecs; v++, q += L) {
            FloatVector x0 = FloatVector.fromArray(S, xp, o0 + q);
            FloatVector x1 = FloatVector.fromArray(S, xp, o1 + q);
            FloatVector x2 = FloatVector.fromArray(S, xp, o2 + q);
            FloatVector g = FloatVector.fromArray(S, dyp, d0 + q);
            s00 = x0.fma(g, s00); s01 = x1.fma(g, s01); s02 = x2.fma(g, s02);
            g = FloatVector.fromArray(S, dyp, d0 + 1 * ds + q);
            s10 = x0.fma(g, s10); s11 = x1.fma(g, s11); s12 = x2.fma(g, s12);
        }
        sums[0] = Lanes.sum(s00);
        sums[1] = Lanes.sum(s01);
        sums[2] = Lanes.sum(s02);
        sums[3] = Lanes.sum(s10);
        sums[4] = Lanes.sum(s11);
        sums[5] = Lanes.sum(s12);
    }

    static void bww1(float[] xp, int o0, int o1, int o2, float[] dyp, int d0, int ds, int vecs, float[] sums) {
        FloatVector s00 = FloatVector.zero(S), s01 = s00, s02 = s00;
        for (int v = 0, q = 0; v < vecs; v++, q += L) {
            FloatVector x0 = FloatVector.fromArray(S, xp, o0 + q);
            FloatVector x1 = FloatVector.fromArray(S, xp, o1 + q);
            FloatVector x2 = FloatVector.fromArray(S, xp, o2 + q);
            FloatVector g = FloatVector.fromArray(S, dyp, d0 + q);
            s00 = x0.fma(g, s00); s01 = x1.fma(g, s01); s02 = x2.fma(g, s02);
        }
        sums[0] = Lanes.sum(s00);
        sums[1] = Lanes.sum(s01);
        sums[2] = Lanes.sum(s02);
    }

    // ------------------------------------------------------------------------------------------------
    // References: the definition as loops, double accumulation. Slow; for tests.

    public static float[] forwardReference(float[] x, int n, int cIn, int h, int w, float[] wt, int cOut, int kH, int kW, Conv2dParams p) {
        Geom d = Geom.of(n, cIn, h, w, cOut, kH, kW, p);
        float[] y = new float[n * cOut * d.outPlane()];
        for (int b = 0; b < n; b++)
            for (int o = 0; o < cOut; o++) {
                int g = o / d.og;
                for (int i = 0; i < d.oh; i++)
                    for (int j = 0; j < d.ow; j++) {
                        double s = 0;
                        for (int c = 0; c < d.cg; c++)
                            for (int a = 0; a < kH; a++) {
                                int ih = i * p.strideH() - p.padH() + a * p.dilationH();
                                if (ih < 0 || ih >= h) continue;
                                for (int bb = 0; bb < kW; bb++) {
                                    int iw = j * p.strideW() - p.padW() + bb * p.dilationW();
                                    if (iw < 0 || iw >= w) continue;
                                    s += (double) wt[((o * d.cg + c) * kH + a) * kW + bb] * x[((b * cIn + g * d.cg + c) * h + ih) * w + iw];
                                }
                            }
                        y[((b * cOut + o) * d.oh + i) * d.ow + j] = (float) s;
                    }
            }
        return y;
    }

    public static float[] backwardInputReference(float[] dy, int n, int cIn, int h, int w, float[] wt, int cOut, int kH, int kW, Conv2dParams p) {
        Geom d = Geom.of(n, cIn, h, w, cOut, kH, kW, p);
        double[] dx = new double[n * cIn * h * w];
        for (int b = 0; b < n; b++)
            for (int o = 0; o < cOut; o++) {
                int g = o / d.og;
                for (int i = 0; i < d.oh; i++)
                    for (int j = 0; j < d.ow; j++) {
                        double g0 = dy[((b * cOut + o) * d.oh + i) * d.ow + j];
                        for (int c = 0; c < d.cg; c++)
                            for (int a = 0; a < kH; a++) {
                                int ih = i * p.strideH() - p.padH() + a * p.dilationH();
                                if (ih < 0 || ih >= h) continue;
                                for (int bb = 0; bb < kW; bb++) {
                                    int iw = j * p.strideW() - p.padW() + bb * p.dilationW();
                                    if (iw < 0 || iw >= w) continue;
                                    dx[((b * cIn + g * d.cg + c) * h + ih) * w + iw] += g0 * wt[((o * d.cg + c) * kH + a) * kW + bb];
                                }
                            }
                    }
            }
        float[] out = new float[dx.length];
        for (int i = 0; i < dx.length; i++) out[i] = (float) dx[i];
        return out;
    }

    public static float[] backwardWeightReference(float[] x, float[] dy, int n, int cIn, int h, int w, int cOut, int kH, int kW, Conv2dParams p) {
        Geom d = Geom.of(n, cIn, h, w, cOut, kH, kW, p);
        float[] dw = new float[cOut * d.colRows()];
        for (int o = 0; o < cOut; o++) {
            int g = o / d.og;
            for (int c = 0; c < d.cg; c++)
                for (int a = 0; a < kH; a++)
                    for (int bb = 0; bb < kW; bb++) {
                        double s = 0;
                        for (int b = 0; b < n; b++)
                            for (int i = 0; i < d.oh; i++) {
                                int ih = i * p.strideH() - p.padH() + a * p.dilationH();
                                if (ih < 0 || ih >= h) continue;
                                for (int j = 0; j < d.ow; j++) {
                                    int iw = j * p.strideW() - p.padW() + bb * p.dilationW();
                                    if (iw < 0 || iw >= w) continue;
                                    s += (double) dy[((b * cOut + o) * d.oh + i) * d.ow + j] * x[((b * cIn + g * d.cg + c) * h + ih) * w + iw];
                                }
                            }
                        dw[((o * d.cg + c) * kH + a) * kW + bb] = (float) s;
                    }
        }
        return dw;
    }
}
