package org.pulmo.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.Random;
import org.junit.jupiter.api.Test;
import org.pulmo.backend.Pool2dParams;

/** CpuPool.maxPool2d (interior fast path + general frame) and avgPool2d against the plain bounds-checked loops. */
class CpuPoolTest {

    /** The definition: first maximum in row-major window order, a NaN wins (the last one seen). */
    private static float[][] maxPoolReference(float[] x, int n, int c, int h, int w, Pool2dParams p) {
        int oh = p.outH(h), ow = p.outW(w);
        float[] y = new float[n * c * oh * ow], arg = new float[y.length];
        for (int pl = 0; pl < n * c; pl++)
            for (int i = 0; i < oh; i++)
                for (int j = 0; j < ow; j++) {
                    int h0 = i * p.strideH() - p.padH(), w0 = j * p.strideW() - p.padW();
                    float best = Float.NEGATIVE_INFINITY;
                    int bi = -1;
                    for (int a = Math.max(h0, 0); a < Math.min(h0 + p.kH(), h); a++)
                        for (int b = Math.max(w0, 0); b < Math.min(w0 + p.kW(), w); b++) {
                            float v = x[pl * h * w + a * w + b];
                            if (v > best || bi < 0 || Float.isNaN(v)) { best = v; bi = a * w + b; }
                        }
                    y[pl * oh * ow + i * ow + j] = best;
                    arg[pl * oh * ow + i * ow + j] = bi;
                }
        return new float[][] {y, arg};
    }

    private static void check(Random rng, int n, int c, int h, int w, Pool2dParams p, boolean ties, boolean nans) {
        float[] x = new float[n * c * h * w];
        for (int i = 0; i < x.length; i++) x[i] = ties ? rng.nextInt(3) : (float) rng.nextGaussian();
        if (nans) for (int i = 0; i < x.length; i += 7) x[i] = Float.NaN;
        float[][] expected = maxPoolReference(x, n, c, h, w, p);
        float[] y = new float[expected[0].length], arg = new float[y.length];
        CpuPool.maxPool2d(x, 0, new int[] {n, c, h, w}, p, y, arg);
        String what = n + "x" + c + "x" + h + "x" + w + " " + p + (ties ? " ties" : "") + (nans ? " NaN" : "");
        assertArrayEquals(expected[0], y, what + " values");
        assertArrayEquals(expected[1], arg, what + " argmax");
    }

    @Test
    void interiorAndFrameMatchTheDefinition() {
        Random rng = new Random(21);
        Pool2dParams[] params = {Pool2dParams.of(3, 2, 1), Pool2dParams.of(3, 1, 1), Pool2dParams.of(2, 2, 0),
            Pool2dParams.of(3, 2, 0), Pool2dParams.of(5, 2, 2), Pool2dParams.of(1, 1, 0),
            new Pool2dParams(3, 2, 1, 2, 1, 0, false)};
        int[][] sizes = {{13, 13}, {12, 12}, {7, 16}, {3, 3}, {4, 9}, {2, 2}, {36, 36}, {9, 70}, {5, 35}, {8, 56}};
        for (Pool2dParams p : params)
            for (int[] s : sizes) {
                if (p.outH(s[0]) < 1 || p.outW(s[1]) < 1) continue;
                check(rng, 2, 3, s[0], s[1], p, false, false);
                check(rng, 2, 3, s[0], s[1], p, true, false);
                check(rng, 1, 2, s[0], s[1], p, false, true);
            }
    }

    /**
     * Average pooling by the definition: the window's in-plane values summed, divided by the window's size clipped to
     * the padded plane (countIncludePad, PyTorch's count_include_pad) or to the plane itself.
     */
    private static float[] avgPoolReference(float[] x, int n, int c, int h, int w, Pool2dParams p) {
        int oh = p.outH(h), ow = p.outW(w);
        float[] y = new float[n * c * oh * ow];
        for (int pl = 0; pl < n * c; pl++)
            for (int i = 0; i < oh; i++)
                for (int j = 0; j < ow; j++) {
                    int h0 = i * p.strideH() - p.padH(), w0 = j * p.strideW() - p.padW();
                    double sum = 0;
                    int inside = 0;
                    for (int a = h0; a < h0 + p.kH(); a++)
                        for (int b = w0; b < w0 + p.kW(); b++)
                            if (a >= 0 && a < h && b >= 0 && b < w) { sum += x[pl * h * w + a * w + b]; inside++; }
                    int padded = 0;
                    for (int a = h0; a < h0 + p.kH(); a++)
                        for (int b = w0; b < w0 + p.kW(); b++)
                            if (a >= -p.padH() && a < h + p.padH() && b >= -p.padW() && b < w + p.padW()) padded++;
                    y[pl * oh * ow + i * ow + j] = (float) (sum / (p.countIncludePad() ? padded : inside));
                }
        return y;
    }

    /**
     * Average pooling forward against the definition and backward against its adjoint (sum over y of dy * dy/dx),
     * with windows that overhang the top, left, bottom and right edges into the padding, square and not, under both
     * divisor rules.
     */
    @Test
    void averagePoolingMatchesTheDefinitionAtEveryEdge() {
        Random rng = new Random(22);
        Pool2dParams[] params = {Pool2dParams.of(3, 2, 1), new Pool2dParams(3, 3, 2, 2, 1, 1, false), new Pool2dParams(3, 2, 2, 3, 1, 1, true),
            new Pool2dParams(2, 3, 2, 2, 1, 1, false), new Pool2dParams(3, 3, 1, 1, 1, 1, true), new Pool2dParams(3, 3, 3, 3, 1, 0, false)};
        int[][] sizes = {{5, 5}, {6, 7}, {4, 9}, {7, 4}};
        for (Pool2dParams p : params)
            for (int[] s : sizes) {
                int n = 2, c = 3, h = s[0], w = s[1], oh = p.outH(h), ow = p.outW(w);
                if (oh < 1 || ow < 1) continue;
                float[] x = new float[n * c * h * w];
                for (int i = 0; i < x.length; i++) x[i] = (float) rng.nextGaussian();
                String what = h + "x" + w + " " + p;
                SgemmTest.assertClose(avgPoolReference(x, n, c, h, w, p), CpuPool.avgPool2d(x, 0, new int[] {n, c, h, w}, p), 1e-6f, 1e-5f, "forward " + what);
                // the adjoint: dx[e] = sum_y dy[y] * d y / d x[e], each y linear in x; y of the unit vector e gives that derivative
                float[] dy = new float[n * c * oh * ow];
                for (int i = 0; i < dy.length; i++) dy[i] = (float) rng.nextGaussian();
                float[] dx = CpuPool.avgPool2dBackward(dy, 0, new int[] {n, c, h, w}, p);
                float[] unit = new float[x.length];
                for (int e = 0; e < x.length; e += 5) {
                    unit[e] = 1f;
                    float[] ye = avgPoolReference(unit, n, c, h, w, p);
                    unit[e] = 0f;
                    double expected = 0;
                    for (int k = 0; k < dy.length; k++) expected += (double) dy[k] * ye[k];
                    if (!(Math.abs(dx[e] - expected) <= 1e-6 + 1e-5 * Math.abs(expected)))
                        fail("backward " + what + " at " + e + ": expected " + expected + ", actual " + dx[e]);
                }
            }
    }
}
