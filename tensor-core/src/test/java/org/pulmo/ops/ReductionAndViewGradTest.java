package org.pulmo.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.pulmo.autograd.GradCheck.assertGradients;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.pulmo.autograd.GradCheck;
import org.pulmo.tensor.Rng;
import org.pulmo.tensor.Tensor;

/** Gradient checks of the reductions and of every view and copy, and the values of max and min at infinities. */
class ReductionAndViewGradTest {

    private static final int[][] DIMS = {{0}, {1}, {-1}, {0, 2}, {1, 2}, {0, 1, 2}};

    private static Tensor x(long seed) { return GradCheck.spaced(new Rng(seed), 2, 3, 4).requiresGrad(true); }

    @Test void sumOverDims() {
        for (int[] d : DIMS)
            for (boolean keep : new boolean[] {false, true})
                assertGradients(in -> in.get(0).sum(d, keep), x(1));
        assertGradients(in -> in.get(0).sum(), x(2));
        assertGradients(in -> in.get(0).sum(1, true), x(3));
    }

    @Test void meanOverDims() {
        for (int[] d : DIMS)
            for (boolean keep : new boolean[] {false, true})
                assertGradients(in -> in.get(0).mean(d, keep), x(4));
        assertGradients(in -> in.get(0).mean(), x(5));
        assertGradients(in -> in.get(0).mean(-2, false), x(6));
    }

    @Test void maxAndMinOverDims() {
        // spaced values: no ties, and a perturbation of eps never changes which element is the extreme
        for (int[] d : DIMS)
            for (boolean keep : new boolean[] {false, true}) {
                assertGradients(in -> in.get(0).max(d, keep), x(7));
                assertGradients(in -> in.get(0).min(d, keep), x(8));
            }
        assertGradients(in -> in.get(0).max(), x(9));
        assertGradients(in -> in.get(0).min(), x(10));
        assertGradients(in -> in.get(0).max(1, false), x(11));
    }

    /**
     * max and min over rows holding infinities and values near the float limits (a masked score row is all -inf):
     * the result is the row's own extreme, computed here by a loop over the host values, never a finite stand-in.
     */
    @Test void maxAndMinOfInfiniteAndExtremeValues() {
        float inf = Float.POSITIVE_INFINITY;
        float[] rows = {-inf, -inf, -inf, -inf,   -3e38f, -inf, -2e38f, -inf,   0.5f, -1.25f, 2f, -0.75f};
        Tensor x = Tensor.of(rows, 3, 4), neg = Tensor.of(rows, 3, 4).neg();
        float[] max = x.max(1, false).toArray(), min = neg.min(1, false).toArray();
        for (int r = 0; r < 3; r++) {
            float m = -inf;
            for (int k = 0; k < 4; k++) m = Math.max(m, rows[r * 4 + k]);
            assertEquals(m, max[r], "max of row " + r);
            assertEquals(-m, min[r], "min of row " + r);
        }
        assertEquals(-inf, x.narrow(0, 0, 1).max().item(), "max of the whole all -inf row");
    }

    @Test void reductionsOfStridedInput() {
        Tensor t = GradCheck.spaced(new Rng(12), 4, 3, 2).permute(2, 1, 0).requiresGrad(true); // [2, 3, 4], strided
        assertGradients(in -> in.get(0).sum(1, false), t);
        assertGradients(in -> in.get(0).mean(new int[] {0, 2}, true), t);
        assertGradients(in -> in.get(0).max(2, false), t);
        assertGradients(in -> in.get(0).min(new int[] {0, 1}, false), t);
    }

    // ---- views

    @Test void reshapeViewFlatten() {
        assertGradients(in -> in.get(0).reshape(4, 6), x(20));
        assertGradients(in -> in.get(0).reshape(-1), x(21));
        assertGradients(in -> in.get(0).view(3, -1, 2), x(22));
        assertGradients(in -> in.get(0).flatten(1), x(23));
        // reshape of a non-contiguous tensor (copies)
        Tensor t = GradCheck.spaced(new Rng(24), 4, 6).transpose(0, 1).requiresGrad(true);
        assertGradients(in -> in.get(0).reshape(2, 12), t);
    }

    @Test void permuteAndTranspose() {
        assertGradients(in -> in.get(0).permute(2, 0, 1), x(30));
        assertGradients(in -> in.get(0).permute(1, 2, 0).mul(in.get(0).permute(1, 2, 0).exp()), x(31));
        assertGradients(in -> in.get(0).transpose(0, 2), x(32));
        assertGradients(in -> in.get(0).transpose(-1, 1).contiguous(), x(33));
    }

    @Test void narrowAndSlice() {
        assertGradients(in -> in.get(0).narrow(2, 1, 2), x(40));
        assertGradients(in -> in.get(0).narrow(0, 1, 1), x(41));
        assertGradients(in -> in.get(0).slice(2, 0, 4, 2), x(42));
        assertGradients(in -> in.get(0).slice(1, 1, 3, 3), x(43));
        assertGradients(in -> in.get(0).slice(2, 1, 4, 2).transpose(0, 1).slice(0, 0, 3, 2), x(44));
        // two overlapping slices: the gradients of the overlap add up
        assertGradients(in -> in.get(0).narrow(2, 0, 3).mul(in.get(0).narrow(2, 1, 3)), x(45));
    }

    @Test void squeezeUnsqueezeExpand() {
        Tensor t = GradCheck.spaced(new Rng(50), 2, 1, 3).requiresGrad(true);
        assertGradients(in -> in.get(0).squeeze(1), t);
        assertGradients(in -> in.get(0).unsqueeze(0), t);
        assertGradients(in -> in.get(0).unsqueeze(3).unsqueeze(-1), t);
        assertGradients(in -> in.get(0).squeeze(1).unsqueeze(1).unsqueeze(2), t);
        // expand inside the function: each input element feeds several outputs, its gradient is their sum
        assertGradients(in -> in.get(0).expand(4, 2, 5, 3), t);
        assertGradients(in -> in.get(0).expand(-1, 4, -1).contiguous(), t);
    }

    @Test void catAndSplit() {
        Rng rng = new Rng(60);
        Tensor a = Tensor.randn(rng, 2, 3).requiresGrad(true), b = Tensor.randn(rng, 2, 2).requiresGrad(true);
        Tensor c = Tensor.randn(rng, 2, 1).transpose(0, 1).transpose(0, 1).requiresGrad(true);
        assertGradients(in -> Tensor.cat(1, in.get(0), in.get(1), in.get(2)), a, b, c);
        assertGradients(in -> Tensor.cat(0, in.get(0).transpose(0, 1), in.get(1).transpose(0, 1)), a, b);
        assertGradients(in -> Tensor.cat(List.of(in.get(0), in.get(0)), 0), a); // the same tensor twice
        Tensor x = GradCheck.spaced(new Rng(61), 2, 7).requiresGrad(true);
        GradCheck.checkMulti(in -> in.get(0).split(1, 2, 4, 1), GradCheck.Options.DEFAULT, x).assertOk();
        GradCheck.checkMulti(in -> in.get(0).split(1, 3, 4).subList(1, 2), GradCheck.Options.DEFAULT.allowingZeroGradient(), x).assertOk();
    }

    @Test void contiguousAndCopy() {
        Tensor t = GradCheck.spaced(new Rng(70), 3, 4).transpose(0, 1).requiresGrad(true);
        assertGradients(in -> in.get(0).contiguous(), t);
        assertGradients(in -> in.get(0).copy(), t);
        assertGradients(in -> in.get(0).copy().mul(in.get(0)), x(71));
    }
}
