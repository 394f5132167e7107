package org.pulmo.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;
import org.pulmo.tensor.Rng;
import org.pulmo.tensor.Tensor;

/**
 * Training-mode batch norm, and batch norm followed by ReLU, on planes of H*W = 1, 4, 5, 16, 17 and 35 values (below,
 * at and past one or two widths of a float vector): y, dx, dweight and dbias against the paper's formulas evaluated
 * with plain double loops, at every position of the plane. The gradient checks elsewhere use planes of at most six
 * values, which never reach the vector loops.
 */
class BatchNormPlaneWidthsTest {

    private static final int[][] SHAPES = {{3, 2, 1, 5}, {2, 3, 4, 4}, {2, 2, 1, 17}, {3, 2, 5, 7},
        {4, 9, 2, 2}, {5, 21, 1, 1}}; // planes under a vector, run as one per sample: 36 and 21 values
    private static final float EPS = 1e-5f;

    /**
     * {y, dx, dweight, dbias} of relu?(batch norm) for x [N, C, S] (rows of S values), g = dL/dy, by the definitions:
     * xhat = (x - mean) / sqrt(var + eps) with the biased variance over N*S values; y = xhat w + b (then max(y, 0));
     * with g' = g masked where y <= 0 (relu): dbias = sum g', dweight = sum g' xhat,
     * dx = w / sqrt(var + eps) / M (M g' - dbias - xhat dweight).
     */
    private static double[][] reference(float[] x, float[] w, float[] b, float[] g, int n, int c, int s, boolean relu) {
        double[] y = new double[x.length], dx = new double[x.length], dw = new double[c], db = new double[c];
        int m = n * s;
        for (int ch = 0; ch < c; ch++) {
            double mean = 0, var = 0;
            for (int i = 0; i < n; i++) for (int j = 0; j < s; j++) mean += x[(i * c + ch) * s + j];
            mean /= m;
            for (int i = 0; i < n; i++) for (int j = 0; j < s; j++) { double d = x[(i * c + ch) * s + j] - mean; var += d * d; }
            var /= m;
            double invStd = 1 / Math.sqrt(var + EPS);
            double[] gm = new double[x.length];
            for (int i = 0; i < n; i++)
                for (int j = 0; j < s; j++) {
                    int at = (i * c + ch) * s + j;
                    double xhat = (x[at] - mean) * invStd, v = xhat * w[ch] + b[ch];
                    y[at] = relu ? Math.max(v, 0) : v;
                    gm[at] = relu && v <= 0 ? 0 : g[at];
                    db[ch] += gm[at];
                    dw[ch] += gm[at] * xhat;
                }
            for (int i = 0; i < n; i++)
                for (int j = 0; j < s; j++) {
                    int at = (i * c + ch) * s + j;
                    double xhat = (x[at] - mean) * invStd;
                    dx[at] = w[ch] * invStd / m * (m * gm[at] - db[ch] - xhat * dw[ch]);
                }
        }
        return new double[][] {y, dx, dw, db};
    }

    /** len normal values times scale, plus shift. */
    private static float[] randn(Rng rng, int len, float scale, float shift) {
        return Tensor.randn(rng, len).mul(scale).add(shift).toArray();
    }

    private static void close(double[] want, float[] got, double tol, String what) {
        assertEquals(want.length, got.length, what + ": length");
        for (int i = 0; i < want.length; i++)
            assertEquals(want[i], got[i], tol * (1 + Math.abs(want[i])), what + " at " + i);
    }

    private static void check(boolean relu) {
        Rng rng = new Rng(relu ? 91 : 90);
        for (int[] shape : SHAPES) {
            int n = shape[0], c = shape[1], s = shape[2] * shape[3], len = n * c * s;
            float[] xv = randn(rng, len, 1.5f, 0.3f), gv = randn(rng, len, 1f, 0f);
            float[] wv = randn(rng, c, 0.3f, 1f), bv = randn(rng, c, 0.5f, 0f);
            Tensor x = Tensor.of(xv, shape).requiresGrad(true), w = Tensor.of(wv, c).requiresGrad(true), b = Tensor.of(bv, c).requiresGrad(true);
            Tensor y = relu ? Normalization.batchNormRelu(x, w, b, null, null, true, 0.1f, EPS)
                            : Normalization.batchNorm(x, w, b, null, null, true, 0.1f, EPS);
            y.backward(Tensor.of(gv, shape));
            double[][] ref = reference(xv, wv, bv, gv, n, c, s, relu);
            String at = (relu ? "batchNormRelu " : "batchNorm ") + java.util.Arrays.toString(shape);
            close(ref[0], y.toArray(), 1e-4, at + " y");
            close(ref[1], x.grad().toArray(), 1e-3, at + " dx");
            close(ref[2], w.grad().toArray(), 1e-3, at + " dweight");
            close(ref[3], b.grad().toArray(), 1e-3, at + " dbias");
        }
    }

    @Test void batchNormMatchesItsDefinitionAtEveryPlaneWidth() { check(false); }

    @Test void batchNormReluMatchesItsDefinitionAtEveryPlaneWidth() { check(true); }
}
