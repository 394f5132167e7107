package org.pulmo.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;
import org.pulmo.tensor.Rng;
import org.pulmo.tensor.Tensor;

/**
 * Elementwise ops and sums over long contiguous rows, which the CPU kernels cut into pieces (and thread ranges) of a
 * few thousand values: every element is computed, including those past the last whole piece, checked against plain
 * loops over the same values. Lengths are odd and not multiples of the vector width or of any power of two.
 */
class LongRowsTest {

    private static final int[] LENGTHS = {8193, 12289, 16385, 40961};

    /** exp, x + y and x * y on one long row: each element as Math.exp, + and * give it. */
    @Test void unaryAndBinaryOpsCoverEveryElementOfALongRow() {
        Rng rng = new Rng(71);
        for (int n : LENGTHS) {
            float[] x = Tensor.randn(rng, n).toArray(), y = Tensor.randn(rng, n).toArray();
            Tensor tx = Tensor.of(x, n), ty = Tensor.of(y, n);
            float[] e = tx.exp().toArray(), s = tx.add(ty).toArray(), p = tx.mul(ty).toArray();
            for (int i = 0; i < n; i++) {
                assertEquals((float) Math.exp(x[i]), e[i], "exp n=" + n + " at " + i);
                assertEquals(x[i] + y[i], s[i], "add n=" + n + " at " + i);
                assertEquals(x[i] * y[i], p[i], "mul n=" + n + " at " + i);
            }
        }
    }

    /** max(x + y, 0) as one op on a long row (split over the threads): each element by hand. */
    @Test void addReluCoversEveryElementOfALongRow() {
        Rng rng = new Rng(72);
        for (int n : LENGTHS) {
            float[] x = Tensor.randn(rng, n).toArray(), y = Tensor.randn(rng, n).toArray();
            float[] r = Tensor.of(x, n).addRelu(Tensor.of(y, n)).toArray();
            for (int i = 0; i < n; i++) assertEquals(Math.max(x[i] + y[i], 0f), r[i], "addRelu n=" + n + " at " + i);
        }
        // two rows of 40961: a contiguous [2, n] with a rank-2 shape
        int n = 40961;
        float[] x = Tensor.randn(rng, 2 * n).toArray(), y = Tensor.randn(rng, 2 * n).toArray();
        float[] r = Tensor.of(x, 2, n).addRelu(Tensor.of(y, 2, n)).toArray();
        for (int i = 0; i < 2 * n; i++) assertEquals(Math.max(x[i] + y[i], 0f), r[i], "addRelu [2, n] at " + i);
    }

    /** The sum of a long row of ones is its length exactly, and of random values the double sum of them. */
    @Test void sumOfALongRowCountsEveryElement() {
        Rng rng = new Rng(73);
        for (int n : new int[] {1, 15, 16, 17, 31, 255, 256, 257, 511, 1000, 3136, 8193, 40961}) {
            float[] ones = new float[n];
            java.util.Arrays.fill(ones, 1f);
            assertEquals(n, Tensor.of(ones, n).sum().item(), "sum of " + n + " ones");
            float[] x = Tensor.randn(rng, n).toArray();
            double ref = 0;
            for (float v : x) ref += v;
            assertEquals(ref, Tensor.of(x, n).sum().item(), 1e-4 * Math.sqrt(n), "sum of " + n + " values");
            // the same row as the last dim of [3, n]: one sum per row
            float[] x3 = Tensor.randn(rng, 3 * n).toArray();
            float[] s = Tensor.of(x3, 3, n).sum(1, false).toArray();
            for (int r = 0; r < 3; r++) {
                double want = 0;
                for (int i = 0; i < n; i++) want += x3[r * n + i];
                assertEquals(want, s[r], 1e-4 * Math.sqrt(n), "row " + r + " of [3, " + n + "]");
            }
        }
    }
}
