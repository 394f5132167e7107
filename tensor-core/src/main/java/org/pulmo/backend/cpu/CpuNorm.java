package org.pulmo.backend.cpu;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorShape;
import jdk.incubator.vector.VectorSpecies;
import org.pulmo.tensor.HostArrays;

/**
 * Batch normalisation over [N, C, S...] per channel c, with M = N * S values per channel, on contiguous row-major
 * arrays (x and dy from an offset, given by x's shape; per-channel arrays [C] from index 0, weight and bias null
 * when absent).
 * Statistics are accumulated in double (one pass of sum and sum of squares would lose digits): a double vector's
 * worth of floats at a time is widened exactly to doubles (with AVX-512: 8 floats, a 256-bit float load and a 512-bit
 * double add; with AVX2 4 and 256 bits), since a scalar double sum is one dependent add per element and the JIT does not
 * vectorise reductions. A channel's planes are summed in one call: each plane's vector-wide chunks add into lanes
 * that run on across the planes, each plane's tail (all of a plane too short for the vector loop) into a scalar, and
 * the lanes are added to it once per channel, not once per plane (a 4 x 4 plane is one or two vectors, and adding
 * lanes across a vector costs more than the vector's own adds). Planes shorter than a vector are summed the other
 * way round: each sample's run of a thread's channels adds into one double per position, and a channel's positions
 * are added at the end ({@link #smallPlaneStats}, {@link #smallPlaneBackwardSums}).
 */
final class CpuNorm {
    private CpuNorm() {}

    private static final VectorSpecies<Double> D = Lanes.D;
    private static final int DL = D.length();
    /** Floats of as many lanes as D: the half-width shape, widened exactly by F2D. */
    private static final VectorSpecies<Float> FD = VectorSpecies.of(float.class, VectorShape.forBitSize(D.vectorBitSize() / 2));

    // The channel sums below take every plane of a channel in one call and widen floats to doubles in place, with the
    // Vector API's own (always inlined) methods only: a helper of ours that took or returned a vector was not inlined
    // where C2 judged its call site cold (a batch norm whose first planes were too short for the vector loop), and
    // then every vector it passed was allocated and every operation ran as a Java loop, in every later step too.
    // Each plane's vectors add into lanes that run on across the planes, and the lanes are added once per channel.

    /**
     * The sum in double of {@code planes} runs of {@code len} floats, run k at x[p + k * stride]: the lanes of two
     * double accumulators take each run's values {@code 2 * DL} at a time, a scalar takes each run's tail (all of a
     * run shorter than that), and the lanes are added to it once at the end.
     */
    static double sum(float[] x, int p, int stride, int planes, int len) {
        int vec = len - len % (2 * DL);
        DoubleVector a0 = DoubleVector.zero(D), a1 = a0;
        double t = 0;
        for (int k = 0, q = p; k < planes; k++, q += stride) {
            int i = 0;
            for (; i < vec; i += 2 * DL) {
                a0 = a0.add((DoubleVector) FloatVector.fromArray(FD, x, q + i).convertShape(VectorOperators.F2D, D, 0));
                a1 = a1.add((DoubleVector) FloatVector.fromArray(FD, x, q + i + DL).convertShape(VectorOperators.F2D, D, 0));
            }
            for (; i < len; i++) t += x[q + i];
        }
        if (vec == 0) return t;
        double[] lanes = new double[DL];
        a0.add(a1).intoArray(lanes, 0);
        return Lanes.sum(lanes, 0, DL) + t;
    }

    /** The sum of (x - mu)^2 over the same runs as {@link #sum}, in double, in the same order. */
    static double sumSquaredDeviations(float[] x, int p, int stride, int planes, int len, double mu) {
        int vec = len - len % (2 * DL);
        DoubleVector a0 = DoubleVector.zero(D), a1 = a0;
        double t = 0;
        for (int k = 0, q = p; k < planes; k++, q += stride) {
            int i = 0;
            for (; i < vec; i += 2 * DL) {
                DoubleVector v0 = ((DoubleVector) FloatVector.fromArray(FD, x, q + i).convertShape(VectorOperators.F2D, D, 0)).sub(mu);
                DoubleVector v1 = ((DoubleVector) FloatVector.fromArray(FD, x, q + i + DL).convertShape(VectorOperators.F2D, D, 0)).sub(mu);
                a0 = v0.fma(v0, a0);
                a1 = v1.fma(v1, a1);
            }
            for (; i < len; i++) { double v = x[q + i] - mu; t += v * v; }
        }
        if (vec == 0) return t;
        double[] lanes = new double[DL];
        a0.add(a1).intoArray(lanes, 0);
        return Lanes.sum(lanes, 0, DL) + t;
    }

    /**
     * {sum of g, sum of g * (x - mu)} in double over {@code planes} runs of {@code len} values (run k of g at
     * g[gp + k * gStride], of x at x[xp + k * xStride]) into out[0] and out[1]: lanes {@code DL} values at a time
     * across the runs, each run's tail in scalars, the lanes added once at the end.
     */
    static void sumsForBackward(float[] g, int gp, int gStride, float[] x, int xp, int xStride, int planes, int len, double mu, double[] out) {
        int vec = len - len % DL;
        DoubleVector sg = DoubleVector.zero(D), sgx = sg;
        double a = 0, b = 0;
        for (int k = 0, gq = gp, xq = xp; k < planes; k++, gq += gStride, xq += xStride) {
            int i = 0;
            for (; i < vec; i += DL) {
                DoubleVector gv = (DoubleVector) FloatVector.fromArray(FD, g, gq + i).convertShape(VectorOperators.F2D, D, 0);
                sg = sg.add(gv);
                sgx = gv.fma(((DoubleVector) FloatVector.fromArray(FD, x, xq + i).convertShape(VectorOperators.F2D, D, 0)).sub(mu), sgx);
            }
            for (; i < len; i++) { a += g[gq + i]; b += g[gq + i] * (x[xq + i] - mu); }
        }
        if (vec == 0) { out[0] = a; out[1] = b; return; }
        double[] lanes = new double[2 * DL];
        sg.intoArray(lanes, 0);
        sgx.intoArray(lanes, DL);
        out[0] = Lanes.sum(lanes, 0, DL) + a;
        out[1] = Lanes.sum(lanes, DL, DL) + b;
    }

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;

    /**
     * dx = k * (M * g - dbias - xhat * dweight) with xhat = (x - mean) * invStd, over one run of len values:
     * the same operations in the same order as the scalar tail (no fused multiply-add), so every element
     * rounds alike whichever loop computes it.
     */
    private static void dxRow(float[] x, int xp, float[] g, int gp, float[] dx, int dp, int len,
                              float mu, float invStd, float k, float mf, float dbias, float dweight) {
        int i = 0;
        for (int vl = F.length(); i + vl <= len; i += vl) {
            FloatVector xhat = FloatVector.fromArray(F, x, xp + i).sub(mu).mul(invStd);
            FloatVector.fromArray(F, g, gp + i).mul(mf).sub(dbias).sub(xhat.mul(dweight)).mul(k).intoArray(dx, dp + i);
        }
        for (; i < len; i++) {
            float xhat = (x[xp + i] - mu) * invStd;
            dx[dp + i] = k * (mf * g[gp + i] - dbias - xhat * dweight);
        }
    }

    private static final ThreadLocal<float[][]> MASKED = ThreadLocal.withInitial(() -> new float[1][0]);

    /** This thread's buffer for masked dy (one channel's, or on small planes its channels' runs), at least len floats, reused across calls. */
    private static float[] masked(int len) {
        float[][] b = MASKED.get();
        if (b[0].length < len) b[0] = new float[len];
        return b[0];
    }

    /** gm = g where x * scale + shift > 0, else 0: ReLU's backward from batch norm's input (as reluBackwardRow). */
    private static void reluMaskRow(float[] x, int xp, float[] g, int gp, float[] gm, int mp, int len, float scale, float shift) {
        FloatVector zero = FloatVector.zero(F);
        int i = 0;
        for (int vl = F.length(); i + vl <= len; i += vl) {
            VectorMask<Float> on = FloatVector.fromArray(F, x, xp + i).mul(scale).add(shift).compare(VectorOperators.GT, 0f);
            zero.blend(FloatVector.fromArray(F, g, gp + i), on).intoArray(gm, mp + i);
        }
        for (; i < len; i++) gm[mp + i] = x[xp + i] * scale + shift > 0f ? g[gp + i] : 0f;
    }

    private record Dims(int n, int c, int s) {
        static Dims of(int[] shape) {
            int s = 1;
            for (int i = 2; i < shape.length; i++) s *= shape[i];
            return new Dims(shape[0], shape[1], s);
        }
    }

    /** mean [C] and biased variance [C] into the given arrays. */
    static void stats(float[] xs, int xb, int[] shape, float[] mean, float[] var) {
        Dims d = Dims.of(shape);
        long m = (long) d.n * d.s;
        Parallel.forRange(d.c, 2 * m, (s0, e0) -> {
            if (d.s < F.length()) { smallPlaneStats(xs, xb, d, s0, e0, mean, var); return; }
            for (int c = s0; c < e0; c++) {
                double mu = sum(xs, xb + c * d.s, d.c * d.s, d.n, d.s) / m;
                double sq = sumSquaredDeviations(xs, xb + c * d.s, d.c * d.s, d.n, d.s, mu);
                mean[c] = (float) mu;
                var[c] = (float) (sq / m);
            }
        });
    }

    /** t itself, or (absent) c copies of dflt. */
    private static float[] perChannel(float[] t, int c, float dflt) {
        if (t == null) { float[] a = new float[c]; java.util.Arrays.fill(a, dflt); return a; }
        return t;
    }

    /** {scale[C], shift[C]} with y = x * scale + shift: the one computation both apply and the fused backward use. */
    private static float[][] scaleShift(int channels, float[] mean, float[] invStd, float[] weight, float[] bias) {
        float[] mu = mean, is = invStd, w = perChannel(weight, channels, 1f), b = perChannel(bias, channels, 0f);
        float[] scale = new float[channels], shift = new float[channels];
        for (int c = 0; c < channels; c++) { scale[c] = is[c] * w[c]; shift[c] = b[c] - mu[c] * scale[c]; }
        return new float[][] {scale, shift};
    }

    /**
     * y = (x - mean) * invStd * weight + bias, as one scale and shift per channel, then max(y, 0) when relu: batch
     * norm and the ReLU after it in one pass over x. Returns y [shape].
     */
    static float[] apply(float[] xs, int xb, int[] shape, float[] mean, float[] invStd, float[] weight, float[] bias, boolean relu) {
        Dims d = Dims.of(shape);
        float[] y = HostArrays.uninitialized(d.n * d.c * d.s);
        applyInto(xs, xb, shape, mean, invStd, weight, bias, relu, y, 0);
        return y;
    }

    /** {@link #apply} into y[yb ..]: one half of a paired batch writes its half of one output. */
    static void applyInto(float[] xs, int xb, int[] shape, float[] mean, float[] invStd, float[] weight, float[] bias, boolean relu,
                          float[] y, int yb) {
        Dims d = Dims.of(shape);
        float[][] ss = scaleShift(d.c, mean, invStd, weight, bias);
        float[] scale = ss[0], shift = ss[1];
        if (d.s < F.length()) {
            applySmallPlanes(xs, xb, d, scale, shift, relu, y, yb);
            return;
        }
        Parallel.forRange(d.n * d.c, d.s, (s0, e0) -> {
            for (int r = s0; r < e0; r++) {
                int c = r % d.c, p = yb + r * d.s;
                float k = scale[c], t = shift[c];
                int i = 0, xp = xb + r * d.s;
                if (relu) {
                    // max(v, 0) as ReLU computes it (a NaN stays NaN), on the v the plain apply would store
                    for (int vl = F.length(); i + vl <= d.s; i += vl)
                        FloatVector.fromArray(F, xs, xp + i).mul(k).add(t).max(0f).intoArray(y, p + i);
                    for (; i < d.s; i++) y[p + i] = Math.max(xs[xp + i] * k + t, 0f);
                } else {
                    for (int vl = F.length(); i + vl <= d.s; i += vl)
                        FloatVector.fromArray(F, xs, xp + i).mul(k).add(t).intoArray(y, p + i); // mul, add: rounds as the tail
                    for (; i < d.s; i++) y[p + i] = xs[xp + i] * k + t;
                }
            }
        });
    }

    /**
     * {@link #applyInto} on planes shorter than a vector (DPN-92's last stages at small inputs: 4 x 4 down to 1 x 1),
     * where a loop per plane spends more on its set-up than on its 1 to 16 values: each sample's C * S values are one
     * contiguous run, against the channels' scales and shifts spread out to one per value. The same mul, add and max
     * per value as the per-plane loop, so the same bits.
     */
    private static void applySmallPlanes(float[] xs, int xb, Dims d, float[] scale, float[] shift, boolean relu, float[] y, int yb) {
        int run = d.c * d.s;
        float[] k = perValue(scale, 0, d.c, d.s), t = perValue(shift, 0, d.c, d.s);
        Parallel.forRange(d.n, run, (s0, e0) -> {
            for (int n = s0; n < e0; n++) {
                int xp = xb + n * run, p = yb + n * run, i = 0;
                for (int vl = F.length(); i + vl <= run; i += vl) {
                    FloatVector v = FloatVector.fromArray(F, xs, xp + i).mul(FloatVector.fromArray(F, k, i)).add(FloatVector.fromArray(F, t, i));
                    (relu ? v.max(0f) : v).intoArray(y, p + i);
                }
                for (; i < run; i++) {
                    float v = xs[xp + i] * k[i] + t[i];
                    y[p + i] = relu ? Math.max(v, 0f) : v;
                }
            }
        });
    }

    /**
     * With xhat = (x - mean) * invStd: dbias = sum(dy), dweight = sum(dy * xhat),
     * dx = weight * invStd / M * (M * dy - dbias - xhat * dweight), into the given dx [shape], dw and db [C].
     *
     * <p>For batch norm followed by ReLU (relu true, bias as the forward had it): dy first passes ReLU's backward,
     * dy where the forward's v = x * scale + shift was > 0, else 0. v is recomputed from x with the forward's own
     * scale and shift (the same float operations), so the mask is exactly the forward's and y need not be read;
     * the masked dy of one channel (N * H * W values) is built once in a per-thread buffer and both passes read it.
     */
    static void backward(float[] gs, int gb, float[] xs, int xb, int[] shape, float[] mean, float[] invStd, float[] weight, float[] bias,
                         boolean relu, float[] dx, float[] dw, float[] db) {
        backward(gs, gb, xs, xb, shape, mean, invStd, weight, bias, relu, dx, 0, dw, db);
    }

    /** {@link #backward} with dx written at dx[dxb ..]: one half of a paired batch writes its half of one dx. */
    static void backward(float[] gs, int gb, float[] xs, int xb, int[] shape, float[] mean, float[] invStd, float[] weight, float[] bias,
                         boolean relu, float[] dx, int dxb, float[] dw, float[] db) {
        Dims d = Dims.of(shape);
        float[][] ss = relu ? scaleShift(d.c, mean, invStd, weight, bias) : null;
        float[] mu = mean, is = invStd, w = perChannel(weight, d.c, 1f);
        long m = (long) d.n * d.s;
        boolean small = d.s < F.length();
        Parallel.forRange(d.c, 3 * m, (s0, e0) -> {
            if (small) {
                // sample n's run of these channels' dy at g[g0 + n * gStride ..]: dy itself, or masked by the ReLU once
                // into this thread's buffer, which both passes then read
                float[] g = gs;
                int g0 = gb + s0 * d.s, gStride = d.c * d.s;
                if (relu) {
                    g = masked(d.n * (e0 - s0) * d.s);
                    reluMaskSmallPlanes(gs, gb, xs, xb, d, s0, e0, ss, g);
                    g0 = 0;
                    gStride = (e0 - s0) * d.s;
                }
                smallPlaneBackwardSums(g, g0, gStride, xs, xb, d, s0, e0, mu, is, dw, db);
                dxSmallPlanes(g, g0, gStride, xs, xb, d, s0, e0, mu, is, w, dx, dxb, dw, db);
                return;
            }
            double[] sums = new double[2];
            float[] gm = relu ? masked(d.n * d.s) : null, g = relu ? gm : gs; // dy of sample n: gm[n*s ..] or gs[gb + p ..]
            for (int c = s0; c < e0; c++) {
                if (relu)
                    for (int n = 0; n < d.n; n++) {
                        int p = (n * d.c + c) * d.s;
                        reluMaskRow(xs, xb + p, gs, gb + p, gm, n * d.s, d.s, ss[0][c], ss[1][c]);
                    }
                sumsForBackward(g, relu ? 0 : gb + c * d.s, relu ? d.s : d.c * d.s, xs, xb + c * d.s, d.c * d.s, d.n, d.s, mu[c], sums);
                double sg = sums[0], sgx = sums[1];
                float dbias = (float) sg, dweight = (float) (sgx * is[c]);
                db[c] = dbias;
                dw[c] = dweight;
                float k = w[c] * is[c] / m, mf = m, muc = mu[c], isc = is[c];
                for (int n = 0; n < d.n; n++) {
                    int p = (n * d.c + c) * d.s;
                    dxRow(xs, xb + p, g, relu ? n * d.s : gb + p, dx, dxb + p, d.s, muc, isc, k, mf, dbias, dweight);
                }
            }
        });
    }

    // ------------------------------------------------------------------------------------------------
    // Planes shorter than a vector (DPN-92's last stages at small inputs: 4 x 4 down to 1 x 1): a channel's sums
    // taken plane by plane would add 1 to 15 values a plane in a scalar chain. Instead each sample's run of the
    // thread's channels, (c1 - c0) * S contiguous values, adds into a double accumulator per position, DL positions
    // a vector; the S positions of a channel are then added in order. Vector code inline, no vector crossing a call.

    /** Mean and biased variance of channels c0 .. c1 - 1, planes shorter than a vector. */
    private static void smallPlaneStats(float[] xs, int xb, Dims d, int c0, int c1, float[] mean, float[] var) {
        int run = (c1 - c0) * d.s, vec = run - run % DL;
        long m = (long) d.n * d.s;
        double[] acc = new double[run];
        for (int n = 0; n < d.n; n++) {
            int xp = xb + (n * d.c + c0) * d.s, i = 0;
            for (; i < vec; i += DL)
                DoubleVector.fromArray(D, acc, i).add((DoubleVector) FloatVector.fromArray(FD, xs, xp + i).convertShape(VectorOperators.F2D, D, 0))
                    .intoArray(acc, i);
            for (; i < run; i++) acc[i] += xs[xp + i];
        }
        double[] mu = new double[run];
        for (int c = c0; c < c1; c++) {
            double mc = positionsTotal(acc, (c - c0) * d.s, d.s) / m;
            mean[c] = (float) mc;
            java.util.Arrays.fill(mu, (c - c0) * d.s, (c - c0 + 1) * d.s, mc);
        }
        java.util.Arrays.fill(acc, 0);
        for (int n = 0; n < d.n; n++) {
            int xp = xb + (n * d.c + c0) * d.s, i = 0;
            for (; i < vec; i += DL) {
                DoubleVector v = ((DoubleVector) FloatVector.fromArray(FD, xs, xp + i).convertShape(VectorOperators.F2D, D, 0))
                    .sub(DoubleVector.fromArray(D, mu, i));
                v.fma(v, DoubleVector.fromArray(D, acc, i)).intoArray(acc, i);
            }
            for (; i < run; i++) { double v = xs[xp + i] - mu[i]; acc[i] += v * v; }
        }
        for (int c = c0; c < c1; c++) var[c] = (float) (positionsTotal(acc, (c - c0) * d.s, d.s) / m);
    }

    /** a[at] + a[at + 1] + ... + a[at + s - 1], in that order: one channel's positions of a small-plane accumulator. */
    private static double positionsTotal(double[] a, int at, int s) {
        double t = 0;
        for (int j = 0; j < s; j++) t += a[at + j];
        return t;
    }

    /**
     * gm [N, (c1 - c0) * S] = dy where the forward's x * scale + shift was > 0, else 0, for channels c0 .. c1 - 1 on planes
     * shorter than a vector: ReLU's backward from batch norm's input, with the float operations of the forward.
     */
    private static void reluMaskSmallPlanes(float[] gs, int gb, float[] xs, int xb, Dims d, int c0, int c1, float[][] ss, float[] gm) {
        int run = (c1 - c0) * d.s;
        float[] eSc = perValue(ss[0], c0, c1, d.s), eSh = perValue(ss[1], c0, c1, d.s);
        FloatVector zero = FloatVector.zero(F);
        for (int n = 0; n < d.n; n++) {
            int at = (n * d.c + c0) * d.s, xp = xb + at, gp = gb + at, mp = n * run, i = 0;
            for (int vl = F.length(); i + vl <= run; i += vl)
                zero.blend(FloatVector.fromArray(F, gs, gp + i), FloatVector.fromArray(F, xs, xp + i).mul(FloatVector.fromArray(F, eSc, i))
                    .add(FloatVector.fromArray(F, eSh, i)).compare(VectorOperators.GT, 0f)).intoArray(gm, mp + i);
            for (; i < run; i++) gm[mp + i] = xs[xp + i] * eSc[i] + eSh[i] > 0f ? gs[gp + i] : 0f;
        }
    }

    /**
     * db[c] = sum of g and dw[c] = invStd * sum of g * (x - mean) for channels c0 .. c1 - 1, planes shorter than a vector;
     * sample n's run of these channels' g (dy, or dy masked by the ReLU) at g[g0 + n * gStride ..].
     */
    private static void smallPlaneBackwardSums(float[] g, int g0, int gStride, float[] xs, int xb, Dims d, int c0, int c1, float[] mean,
                                               float[] is, float[] dw, float[] db) {
        int run = (c1 - c0) * d.s, vec = run - run % DL;
        double[] ag = new double[run], agx = new double[run], mu = new double[run];
        for (int c = c0; c < c1; c++) java.util.Arrays.fill(mu, (c - c0) * d.s, (c - c0 + 1) * d.s, mean[c]);
        for (int n = 0; n < d.n; n++) {
            int xp = xb + (n * d.c + c0) * d.s, gp = g0 + n * gStride, i = 0;
            for (; i < vec; i += DL) {
                DoubleVector gv = (DoubleVector) FloatVector.fromArray(FD, g, gp + i).convertShape(VectorOperators.F2D, D, 0);
                DoubleVector xm = ((DoubleVector) FloatVector.fromArray(FD, xs, xp + i).convertShape(VectorOperators.F2D, D, 0))
                    .sub(DoubleVector.fromArray(D, mu, i));
                DoubleVector.fromArray(D, ag, i).add(gv).intoArray(ag, i);
                gv.fma(xm, DoubleVector.fromArray(D, agx, i)).intoArray(agx, i);
            }
            for (; i < run; i++) {
                float gi = g[gp + i];
                ag[i] += gi;
                agx[i] += gi * (xs[xp + i] - mu[i]);
            }
        }
        for (int c = c0; c < c1; c++) {
            db[c] = (float) positionsTotal(ag, (c - c0) * d.s, d.s);
            dw[c] = (float) (positionsTotal(agx, (c - c0) * d.s, d.s) * is[c]);
        }
    }

    /** v[c0 .. c1) spread out to s copies each: the per-value operand of the small-plane loops. */
    private static float[] perValue(float[] v, int c0, int c1, int s) {
        float[] e = new float[(c1 - c0) * s];
        for (int c = c0; c < c1; c++) java.util.Arrays.fill(e, (c - c0) * s, (c - c0 + 1) * s, v[c]);
        return e;
    }

    /**
     * The dx pass of {@link #backward} on planes shorter than a vector, for the channels c0 .. c1 - 1 whose sums this
     * thread has just taken, as {@link #applySmallPlanes}: each sample's (c1 - c0) * S values in one run against the
     * per-channel values spread out to one per value; g as the sums' pass read it (dy, or dy masked by the ReLU), sample
     * n's run at g[g0 + n * gStride ..]. The same operations per value as {@link #dxRow}.
     */
    private static void dxSmallPlanes(float[] g, int g0, int gStride, float[] xs, int xb, Dims d, int c0, int c1, float[] mu, float[] is,
                                      float[] w, float[] dx, int dxb, float[] dw, float[] db) {
        int run = (c1 - c0) * d.s;
        long m = (long) d.n * d.s;
        float mf = m;
        float[] k = new float[c1];
        for (int c = c0; c < c1; c++) k[c] = w[c] * is[c] / m;
        float[] eMu = perValue(mu, c0, c1, d.s), eIs = perValue(is, c0, c1, d.s), eK = perValue(k, c0, c1, d.s),
            eDb = perValue(db, c0, c1, d.s), eDw = perValue(dw, c0, c1, d.s);
        for (int n = 0; n < d.n; n++) {
            int at = (n * d.c + c0) * d.s, xp = xb + at, gp = g0 + n * gStride, p = dxb + at, i = 0;
            for (int vl = F.length(); i + vl <= run; i += vl) {
                FloatVector x = FloatVector.fromArray(F, xs, xp + i);
                FloatVector xhat = x.sub(FloatVector.fromArray(F, eMu, i)).mul(FloatVector.fromArray(F, eIs, i));
                FloatVector.fromArray(F, g, gp + i).mul(mf).sub(FloatVector.fromArray(F, eDb, i)).sub(xhat.mul(FloatVector.fromArray(F, eDw, i)))
                    .mul(FloatVector.fromArray(F, eK, i)).intoArray(dx, p + i);
            }
            for (; i < run; i++) {
                float xhat = (xs[xp + i] - eMu[i]) * eIs[i];
                dx[p + i] = eK[i] * (mf * g[gp + i] - eDb[i] - xhat * eDw[i]);
            }
        }
    }
}
