package org.pulmo.ops;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import org.junit.jupiter.api.Test;
import org.pulmo.tensor.Rng;
import org.pulmo.tensor.Tensor;

/**
 * gather along each dim of a rank-3 tensor (index sizes differing from the input's along that dim, repeated indices
 * included): out[i][j][k] = x[i][index][k] (and likewise) and the gradient scattered back with repeats adding up,
 * both from plain loops over the row-major arrays.
 */
class GatherAlongEveryDimTest {

    @Test void gatherAndItsGradientAlongEveryDimOfARank3Tensor() {
        Rng rng = new Rng(84);
        int[] xs = {2, 3, 4};
        float[] x = Tensor.randn(rng, xs).toArray();
        for (int dim = 0; dim < 3; dim++) {
            int[] is = xs.clone();
            is[dim] = xs[dim] + 1;                       // more picks than positions: some repeat
            int n = is[0] * is[1] * is[2];
            float[] idx = new float[n], g = Tensor.randn(rng, is).toArray();
            for (int i = 0; i < n; i++) idx[i] = rng.nextInt(xs[dim]);
            float[] out = new float[n], dx = new float[x.length];
            int[] at = new int[3];
            for (int i = 0; i < is[0]; i++)
                for (int j = 0; j < is[1]; j++)
                    for (int k = 0; k < is[2]; k++) {
                        int p = (i * is[1] + j) * is[2] + k;
                        at[0] = i; at[1] = j; at[2] = k;
                        at[dim] = (int) idx[p];
                        int q = (at[0] * xs[1] + at[1]) * xs[2] + at[2];
                        out[p] = x[q];
                        dx[q] += g[p];
                    }
            Tensor tx = Tensor.of(x.clone(), xs).requiresGrad(true);
            Tensor y = tx.gather(dim, Tensor.of(idx, is));
            assertArrayEquals(out, y.toArray(), "gather along dim " + dim);
            y.backward(Tensor.of(g, is));
            assertArrayEquals(dx, tx.grad().toArray(), 1e-6f, "gather's gradient along dim " + dim);
        }
    }
}
