package org.pulmo.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;
import org.pulmo.backend.Pool2dParams;
import org.pulmo.tensor.HostArrays;

/**
 * Max and average pooling over NCHW planes, one plane per task, on contiguous row-major arrays (inputs from an
 * offset; x [n, c, h, w] given by its shape, outputs [n, c, outH, outW]).
 */
final class CpuPool {
    private CpuPool() {}

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();
    /** Lanes 0, 2, 4, ... and 1, 3, 5, ... of two consecutive vectors: a stride-2 load. */
    private static final VectorShuffle<Float> EVEN = VectorShuffle.iota(S, 0, 2, false);
    private static final VectorShuffle<Float> ODD = VectorShuffle.iota(S, 1, 2, false);
    /** 0, 2, 4, ...: the column offsets of L stride-2 outputs, as floats (argmax is stored as float). */
    private static final FloatVector EVEN_OFFSETS = FloatVector.fromArray(S, evenOffsets(), 0);

    private static float[] evenOffsets() {
        float[] o = new float[L];
        for (int i = 0; i < L; i++) o[i] = 2 * i;
        return o;
    }

    /**
     * y and argmax into the given arrays [n, c, outH, outW]; argmax = flat index h*W + w inside the input plane
     * (kept for backward), stored as a float. The window
     * keeps the first maximum in row-major order, and a NaN wins (the last NaN seen).
     *
     * <p>Output positions whose window lies wholly inside the plane (all but a one-wide frame for 3x3/2
     * pad 1) take a loop without bounds checks; a 3x3 window is unrolled. The frame runs the general loop.
     */
    static void maxPool2d(float[] xs, int xb, int[] s, Pool2dParams p, float[] y, float[] arg) {
        int n = s[0], c = s[1], h = s[2], w = s[3], oh = p.outH(h), ow = p.outW(w);
        int kH = p.kH(), kW = p.kW(), sH = p.strideH(), sW = p.strideW(), pH = p.padH(), pW = p.padW();
        // Interior outputs: i in [iLo, iHi), j in [jLo, jHi) have h0 >= 0, h0 + kH <= h (and the same in w).
        int iLo = Math.min(oh, (pH + sH - 1) / sH), iHi = Math.max(iLo, Math.min(oh, h - kH + pH < 0 ? 0 : (h - kH + pH) / sH + 1));
        int jLo = Math.min(ow, (pW + sW - 1) / sW), jHi = Math.max(jLo, Math.min(ow, w - kW + pW < 0 ? 0 : (w - kW + pW) / sW + 1));
        Parallel.forRange(n * c, (long) oh * ow * kH * kW, (s0, e0) -> {
            for (int pl = s0; pl < e0; pl++) {
                int xo = xb + pl * h * w, yo = pl * oh * ow;
                for (int i = 0; i < oh; i++) {
                    boolean rowInside = i >= iLo && i < iHi;
                    int h0 = i * sH - pH;
                    for (int j = 0; j < ow; j++) {
                        if (rowInside && j == jLo && jHi > jLo) {
                            if (kH == 3 && kW == 3 && sW == 2 && jHi - jLo >= L) maxPool3x3s2Row(xs, xo, w, h0, jLo, jHi, pW, y, arg, yo + i * ow);
                            else if (kH == 3 && kW == 3) maxPool3x3Row(xs, xo, w, h0, jLo, jHi, sW, pW, y, arg, yo + i * ow);
                            else maxPoolRow(xs, xo, w, h0, jLo, jHi, sW, pW, kH, kW, y, arg, yo + i * ow);
                            j = jHi - 1;
                            continue;
                        }
                        int w0 = j * sW - pW;
                        float best = Float.NEGATIVE_INFINITY;
                        int bi = -1;
                        for (int a = Math.max(h0, 0); a < Math.min(h0 + kH, h); a++)
                            for (int b = Math.max(w0, 0); b < Math.min(w0 + kW, w); b++) {
                                float v = xs[xo + a * w + b];
                                if (v > best || bi < 0 || Float.isNaN(v)) { best = v; bi = a * w + b; }
                            }
                        y[yo + i * ow + j] = best;
                        arg[yo + i * ow + j] = bi;
                    }
                }
            }
        });
    }

    /**
     * Interior outputs [jLo, jHi) of one row, 3x3 window, stride 2 (ResNet's stem pool), L outputs per step:
     * each window tap is a stride-2 run, built from two loads and one two-vector shuffle, and the running
     * maximum and its index are updated with compare and blend. Random data makes the scalar loop's
     * "v > best" branch unpredictable, which cost more than the loads. The last step overlaps the previous
     * one (recomputing equal outputs) so that no scalar tail remains.
     */
    private static void maxPool3x3s2Row(float[] xs, int xo, int w, int h0, int jLo, int jHi, int pW,
                                        float[] y, float[] arg, int yRow) {
        for (int j0 = jLo; j0 < jHi; j0 += L) {
            int j = Math.min(j0, jHi - L);
            int b0 = 2 * j - pW;                  // first window column of output j
            // The +2 tap's second load reads one column past the window's last: stay inside the array.
            if (xo + (h0 + 2) * w + b0 + 2 + 2 * L > xs.length) {
                maxPool3x3Row(xs, xo, w, h0, j, jHi, 2, pW, y, arg, yRow);
                return;
            }
            // Start from tap (0, 0) rather than from null: a vector variable that may be null cannot stay in a
            // register, and boxing every vector here allocated ~40 MB per call. Comparing tap (0, 0) with
            // itself below changes nothing (a NaN replaces itself).
            int q0 = h0 * w + b0;
            FloatVector best = FloatVector.fromArray(S, xs, xo + q0).rearrange(EVEN, FloatVector.fromArray(S, xs, xo + q0 + L));
            FloatVector bi = EVEN_OFFSETS.add(q0);
            for (int a = 0; a < 3; a++) {
                int q = (h0 + a) * w + b0;        // plane index of tap (a, 0) for output j
                FloatVector lo = FloatVector.fromArray(S, xs, xo + q), hi = FloatVector.fromArray(S, xs, xo + q + L);
                FloatVector lo2 = FloatVector.fromArray(S, xs, xo + q + 2), hi2 = FloatVector.fromArray(S, xs, xo + q + 2 + L);
                FloatVector t0 = lo.rearrange(EVEN, hi), t1 = lo.rearrange(ODD, hi), t2 = lo2.rearrange(EVEN, hi2);
                FloatVector i0 = EVEN_OFFSETS.add(q);
                VectorMask<Float> m = t0.compare(VectorOperators.GT, best).or(t0.compare(VectorOperators.NE, t0));
                best = best.blend(t0, m);
                bi = bi.blend(i0, m);
                VectorMask<Float> m1 = t1.compare(VectorOperators.GT, best).or(t1.compare(VectorOperators.NE, t1));
                best = best.blend(t1, m1);
                bi = bi.blend(i0.add(1f), m1);
                VectorMask<Float> m2 = t2.compare(VectorOperators.GT, best).or(t2.compare(VectorOperators.NE, t2));
                best = best.blend(t2, m2);
                bi = bi.blend(i0.add(2f), m2);
            }
            best.intoArray(y, yRow + j);
            bi.intoArray(arg, yRow + j);
        }
    }

    /** Interior outputs [jLo, jHi) of one row, 3x3 window; same comparison order as the general loop. */
    private static void maxPool3x3Row(float[] xs, int xo, int w, int h0, int jLo, int jHi, int sW, int pW,
                                      float[] y, float[] arg, int yRow) {
        int r0 = h0 * w, r1 = r0 + w, r2 = r1 + w;
        for (int j = jLo; j < jHi; j++) {
            int b = j * sW - pW;
            int q = r0 + b;
            float best = xs[xo + q];
            int bi = q;
            float v;
            v = xs[xo + q + 1]; if (v > best || v != v) { best = v; bi = q + 1; }
            v = xs[xo + q + 2]; if (v > best || v != v) { best = v; bi = q + 2; }
            q = r1 + b;
            v = xs[xo + q]; if (v > best || v != v) { best = v; bi = q; }
            v = xs[xo + q + 1]; if (v > best || v != v) { best = v; bi = q + 1; }
            v = xs[xo + q + 2]; if (v > best || v != v) { best = v; bi = q + 2; }
            q = r2 + b;
            v = xs[xo + q]; if (v > best || v != v) { best = v; bi = q; }
            v = xs[xo + q + 1]; if (v > best || v != v) { best = v; bi = q + 1; }
            v = xs[xo + q + 2]; if (v > best || v != v) { best = v; bi = q + 2; }
            y[yRow + j] = best;
            arg[yRow + j] = bi;
        }
    }

    /** Interior outputs [jLo, jHi) of one row, any window: no bounds checks. */
    private static void maxPoolRow(float[] xs, int xo, int w, int h0, int jLo, int jHi, int sW, int pW, int kH, int kW,
                                   float[] y, float[] arg, int yRow) {
        for (int j = jLo; j < jHi; j++) {
            int b0 = j * sW - pW;
            int bi = h0 * w + b0;
            float best = xs[xo + bi];
            for (int a = 0; a < kH; a++) {
                int q = (h0 + a) * w + b0;
                for (int b = 0; b < kW; b++, q++) {
                    float v = xs[xo + q];
                    if (v > best || v != v) { best = v; bi = q; }
                }
            }
            y[yRow + j] = best;
            arg[yRow + j] = bi;
        }
    }

    /** dx [xShape] from dy [ys] and the forward's argmax [ys]. */
    static float[] maxPool2dBackward(float[] gs, int gb, int[] ys, float[] as, int ab, int[] xShape) {
        int n = xShape[0], c = xShape[1], h = xShape[2], w = xShape[3];
        int plane = ys[2] * ys[3];
        float[] dx = HostArrays.zeroed(n * c * h * w);
        Parallel.forRange(n * c, plane, (s0, e0) -> {
            for (int pl = s0; pl < e0; pl++)
                for (int k = 0; k < plane; k++)
                    dx[pl * h * w + (int) as[ab + pl * plane + k]] += gs[gb + pl * plane + k];
        });
        return dx;
    }

    private static int divisor(Pool2dParams p, int h0, int w0, int h, int w) {
        if (p.countIncludePad()) {
            int hEnd = Math.min(h0 + p.kH(), h + p.padH()), wEnd = Math.min(w0 + p.kW(), w + p.padW());
            return (hEnd - h0) * (wEnd - w0);
        }
        return (Math.min(h0 + p.kH(), h) - Math.max(h0, 0)) * (Math.min(w0 + p.kW(), w) - Math.max(w0, 0));
    }

    /** y [n, c, outH, outW] from x [s]. */
    static float[] avgPool2d(float[] xs, int xb, int[] s, Pool2dParams p) {
        int n = s[0], c = s[1], h = s[2], w = s[3], oh = p.outH(h), ow = p.outW(w);
        float[] y = HostArrays.zeroed(n * c * oh * ow);
        Parallel.forRange(n * c, (long) oh * ow * p.kH() * p.kW(), (s0, e0) -> {
            for (int pl = s0; pl < e0; pl++) {
                int xo = xb + pl * h * w, yo = pl * oh * ow;
                for (int i = 0; i < oh; i++) {
                    int h0 = i * p.strideH() - p.padH();
                    for (int j = 0; j < ow; j++) {
                        int w0 = j * p.strideW() - p.padW();
                        float sum = 0;
                        for (int a = Math.max(h0, 0); a < Math.min(h0 + p.kH(), h); a++)
                            for (int b = Math.max(w0, 0); b < Math.min(w0 + p.kW(), w); b++) sum += xs[xo + a * w + b];
                        y[yo + i * ow + j] = sum / divisor(p, h0, w0, h, w);
                    }
                }
            }
        });
        return y;
    }

    /** dx [xShape] from dy [n, c, outH, outW]. */
    static float[] avgPool2dBackward(float[] gs, int gb, int[] xShape, Pool2dParams p) {
        int n = xShape[0], c = xShape[1], h = xShape[2], w = xShape[3];
        int oh = p.outH(h), ow = p.outW(w);
        float[] dx = HostArrays.zeroed(n * c * h * w);
        Parallel.forRange(n * c, (long) oh * ow * p.kH() * p.kW(), (s0, e0) -> {
            for (int pl = s0; pl < e0; pl++) {
                int xo = pl * h * w, yo = gb + pl * oh * ow;
                for (int i = 0; i < oh; i++) {
                    int h0 = i * p.strideH() - p.padH();
                    for (int j = 0; j < ow; j++) {
                        int w0 = j * p.strideW() - p.padW();
                        float v = gs[yo + i * ow + j] / divisor(p, h0, w0, h, w);
                        for (int a = Math.max(h0, 0); a < Math.min(h0 + p.kH(), h); a++)
                            for (int b = Math.max(w0, 0); b < Math.min(w0 + p.kW(), w); b++) dx[xo + a * w + b] += v;
                    }
                }
            }
        });
        return dx;
    }
}
