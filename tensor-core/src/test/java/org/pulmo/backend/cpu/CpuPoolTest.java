package org.pulmo.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import java.util.Random;
import org.junit.jupiter.api.Test;
import org.pulmo.backend.Pool2dParams;

/** CpuPool.maxPool2d (interior fast path + general frame) against the plain bounds-checked loop. */
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
}
