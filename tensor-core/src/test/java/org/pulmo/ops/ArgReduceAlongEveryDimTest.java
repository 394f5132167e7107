package org.pulmo.ops;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;
import org.pulmo.tensor.Rng;
import org.pulmo.tensor.Tensor;

/**
 * argmax and argmin along each dim of a rank-3 and a rank-4 tensor (so that the reduced dim has sizes both before
 * and after it), with and without keepdim: the index of the first extreme value found by a plain loop over the
 * row-major array.
 */
class ArgReduceAlongEveryDimTest {

    /** The first index along dim of the max (or min) for each position of the other dims, row-major. */
    private static float[] reference(float[] x, int[] shape, int dim, boolean max) {
        int outer = 1, inner = 1, len = shape[dim];
        for (int d = 0; d < dim; d++) outer *= shape[d];
        for (int d = dim + 1; d < shape.length; d++) inner *= shape[d];
        float[] out = new float[outer * inner];
        for (int o = 0; o < outer; o++)
            for (int j = 0; j < inner; j++) {
                int best = 0;
                for (int i = 1; i < len; i++) {
                    float v = x[(o * len + i) * inner + j], b = x[(o * len + best) * inner + j];
                    if (max ? v > b : v < b) best = i;
                }
                out[o * inner + j] = best;
            }
        return out;
    }

    @Test void argmaxAndArgminAlongEveryDim() {
        Rng rng = new Rng(83);
        for (int[] shape : new int[][] {{3, 5, 4}, {2, 3, 4, 5}}) {
            int n = 1;
            for (int s : shape) n *= s;
            float[] x = Tensor.randn(rng, n).toArray();
            Tensor t = Tensor.of(x, shape);
            for (int dim = 0; dim < shape.length; dim++) {
                String at = java.util.Arrays.toString(shape) + " dim " + dim;
                assertArrayEquals(reference(x, shape, dim, true), t.argmax(dim, false).toArray(), "argmax " + at);
                assertArrayEquals(reference(x, shape, dim, false), t.argmin(dim, false).toArray(), "argmin " + at);
                Tensor kept = t.argmax(dim, true);
                assertEquals(1, kept.shape()[dim], "keepdim keeps " + at + " as 1");
                assertArrayEquals(reference(x, shape, dim, true), kept.toArray(), "argmax keepdim " + at);
            }
        }
    }

    /**
     * NaN is passed over wherever it stands (first, last, between), -inf is a value like any other, and a row of NaN
     * alone gives NaN: a diverged model's logits must not read as class 0. Along the last dim and along the first (the
     * strided walk).
     */
    @Test void nanIsNeverTheAnswerAndARowOfNanGivesNan() {
        float nan = Float.NaN, inf = Float.POSITIVE_INFINITY;
        float[][] rows = {{nan, 1, 5, 3}, {2, 7, nan, 7}, {nan, nan, nan, nan}, {-inf, -inf, nan, -inf}, {4, nan, -1, nan}};
        float[] wantMax = {2, 1, nan, 0, 0}, wantMin = {1, 0, nan, 0, 2};
        float[] flat = new float[20], flatT = new float[20];
        for (int r = 0; r < 5; r++)
            for (int i = 0; i < 4; i++) { flat[r * 4 + i] = rows[r][i]; flatT[i * 5 + r] = rows[r][i]; }
        assertArrayEquals(wantMax, Tensor.of(flat, 5, 4).argmax(1, false).toArray(), "argmax along the last dim");
        assertArrayEquals(wantMin, Tensor.of(flat, 5, 4).argmin(1, false).toArray(), "argmin along the last dim");
        assertArrayEquals(wantMax, Tensor.of(flatT, 4, 5).argmax(0, false).toArray(), "argmax along the first dim");
        assertArrayEquals(wantMin, Tensor.of(flatT, 4, 5).argmin(0, false).toArray(), "argmin along the first dim");
    }
}
