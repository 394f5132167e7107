package org.pulmo.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/**
 * {@code dst.addInPlace(src, alpha)} computes dst + alpha * src for every element whatever the layouts: a transposed
 * destination, a transposed or broadcast source (a column [m, 1] stretched along the rows), and alpha other than 1.
 * Expected values come from index arithmetic on the operands' values before the call.
 */
class AddInPlaceStridedTest {

    /** dst [m, n] as a transpose of a [n, m] array, src contiguous: dst[i][j] = base[j][i] + alpha src[i][j]. */
    @Test void intoATransposedDestination() {
        Rng rng = new Rng(81);
        int m = 5, n = 7;
        for (float alpha : new float[] {0.5f, -2f}) {
            float[] base = Tensor.randn(rng, n * m).toArray(), src = Tensor.randn(rng, m * n).toArray();
            Tensor dst = Tensor.of(base.clone(), n, m).transpose(0, 1);
            dst.addInPlace(Tensor.of(src, m, n), alpha);
            float[] got = dst.toArray();
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++)
                    assertEquals(base[j * m + i] + alpha * src[i * n + j], got[i * n + j], 1e-6f, "alpha " + alpha + " at " + i + "," + j);
        }
    }

    /** src a transpose, or a column [m, 1] broadcast along the rows of a contiguous dst [m, n]. */
    @Test void fromATransposedOrBroadcastSource() {
        Rng rng = new Rng(82);
        int m = 4, n = 9;
        for (float alpha : new float[] {3f, -0.25f}) {
            float[] base = Tensor.randn(rng, m * n).toArray(), srcT = Tensor.randn(rng, n * m).toArray(), col = Tensor.randn(rng, m).toArray();
            Tensor dst = Tensor.of(base.clone(), m, n);
            dst.addInPlace(Tensor.of(srcT, n, m).transpose(0, 1), alpha);
            float[] got = dst.toArray();
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++)
                    assertEquals(base[i * n + j] + alpha * srcT[j * m + i], got[i * n + j], 1e-6f, "transposed src, alpha " + alpha + " at " + i + "," + j);
            Tensor dst2 = Tensor.of(base.clone(), m, n);
            dst2.addInPlace(Tensor.of(col, m, 1), alpha);
            float[] got2 = dst2.toArray();
            for (int i = 0; i < m; i++)
                for (int j = 0; j < n; j++)
                    assertEquals(base[i * n + j] + alpha * col[i], got2[i * n + j], 1e-6f, "column src, alpha " + alpha + " at " + i + "," + j);
        }
    }

    /** copyFrom a column [m, 1] broadcast along the rows of dst [m, n], and of a [1, n] row down its columns. */
    @Test void copyFromABroadcastSource() {
        Rng rng = new Rng(83);
        int m = 5, n = 11;
        float[] col = Tensor.randn(rng, m).toArray(), row = Tensor.randn(rng, n).toArray();
        float[] got = Tensor.randn(rng, m, n).copyFrom(Tensor.of(col, m, 1)).toArray();
        float[] got2 = Tensor.of(Tensor.randn(rng, m * n).toArray(), m, n).copyFrom(Tensor.of(row, 1, n)).toArray();
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) {
                assertEquals(col[i], got[i * n + j], 0f, "column src at " + i + "," + j);
                assertEquals(row[j], got2[i * n + j], 0f, "row src at " + i + "," + j);
            }
    }

    /** addInPlace(value) into a transposed destination, into every other column, and into a rank-0 count. */
    @Test void aScalarIntoStridedDestinations() {
        Rng rng = new Rng(84);
        int m = 5, n = 7;
        float[] base = Tensor.randn(rng, n * m).toArray();
        float[] got = Tensor.of(base.clone(), n, m).transpose(0, 1).addInPlace(0.25f).toArray();
        for (int i = 0; i < m; i++)
            for (int j = 0; j < n; j++) assertEquals(base[j * m + i] + 0.25f, got[i * n + j], 0f, "transposed at " + i + "," + j);
        Tensor whole = Tensor.of(base.clone(), n, m);
        whole.slice(1, 0, m, 2).addInPlace(-1.5f);
        float[] all = whole.toArray();
        for (int k = 0; k < n * m; k++) assertEquals(k % m % 2 == 0 ? base[k] - 1.5f : base[k], all[k], 0f, "every other column at " + k);
        assertEquals(8f, Tensor.scalar(7f).addInPlace(1f).item(), 0f);
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> Tensor.zeros(3, 1).expand(3, 4).addInPlace(1f));
    }
}
