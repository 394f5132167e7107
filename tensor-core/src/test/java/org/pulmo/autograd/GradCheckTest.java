package org.pulmo.autograd;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.pulmo.autograd.GradCheck.Result;
import org.pulmo.tensor.Rng;
import org.pulmo.tensor.Tensor;

/** The gradient check itself: it passes correct backwards and, above all, fails wrong ones. */
class GradCheckTest {

    /** y = x^2 * w (elementwise) with a backward we choose; the right one is dx = 2 x w g, dw = x^2 g. */
    private static Tensor squareTimes(Tensor x, Tensor w, Node.Backward backward) {
        float[] xs = x.toArray(), ws = w.toArray(), y = new float[xs.length];
        for (int i = 0; i < y.length; i++) y[i] = xs[i] * xs[i] * ws[i];
        return Graph.record("squareTimes", Tensor.of(y, x.shape()), backward, x, w);
    }

    private static Tensor[] right(Tensor g, Tensor x, Tensor w) {
        return new Tensor[] {g.mul(x).mul(w).mul(2f), g.mul(x.square())};
    }

    @Test void correctCustomBackwardPasses() {
        Rng rng = new Rng(1);
        Tensor x = Tensor.randn(rng, 3, 4).requiresGrad(true), w = Tensor.randn(rng, 3, 4).requiresGrad(true);
        Result r = GradCheck.check(in -> squareTimes(in.get(0), in.get(1), g -> right(g, in.get(0), in.get(1))), x, w);
        assertTrue(r.ok(), r.report());
        assertEquals(24, r.compared());
    }

    @Test void gradientTwiceTooLargeFails() {
        Rng rng = new Rng(2);
        Tensor x = Tensor.randn(rng, 3, 4).requiresGrad(true), w = Tensor.randn(rng, 3, 4).requiresGrad(true);
        Result r = GradCheck.check(in -> squareTimes(in.get(0), in.get(1), g -> {
            Tensor[] d = right(g, in.get(0), in.get(1));
            return new Tensor[] {d[0].mul(2f), d[1]};
        }), x, w);
        assertFalse(r.ok());
        // every element of input 0 is wrong, input 1 is right
        assertEquals(12, r.mismatches().size(), r.report());
        assertTrue(r.mismatches().stream().allMatch(m -> m.input() == 0));
        GradCheck.Mismatch m = r.mismatches().get(0);
        assertEquals(2.0, m.analytic() / m.numeric(), 0.05, r.report());
        assertTrue(r.report().contains("input 0, element 0 [0, 0]"), r.report());
    }

    @Test void missingTermFails() {
        // y = x * w with dx right but dw forgotten: w's analytic gradient stays zero
        Rng rng = new Rng(3);
        Tensor x = Tensor.randn(rng, 5).requiresGrad(true), w = Tensor.randn(rng, 5).requiresGrad(true);
        Result r = GradCheck.check(in -> {
            Tensor a = in.get(0), b = in.get(1);
            return Graph.record("mulNoDw", Tensor.of(mulArrays(a.toArray(), b.toArray()), 5), g -> new Tensor[] {g.mul(b), null}, a, b);
        }, x, w);
        assertFalse(r.ok());
        assertEquals(5, r.mismatches().size(), r.report());
        assertTrue(r.mismatches().stream().allMatch(m -> m.input() == 1 && m.analytic() == 0));
    }

    @Test void transposedGradientFails() {
        // a backward that hands back the gradient of a square op in the wrong order (a forgotten transpose)
        Rng rng = new Rng(4);
        Tensor x = Tensor.randn(rng, 3, 3).requiresGrad(true);
        Result r = GradCheck.check(in -> {
            Tensor a = in.get(0);
            return Graph.record("badTranspose", a.transpose(0, 1).contiguous().detach(),
                g -> new Tensor[] {g.contiguous()}, a);
        }, x);
        assertFalse(r.ok());
        assertEquals(6, r.mismatches().size(), r.report()); // the diagonal is right by accident
    }

    @Test void sumSeedWouldMissAWrongPermutationButTheRandomProjectionDoesNot() {
        // reversing the gradient is invisible when every output element has the same weight (backward of sum):
        // the check must project with a random tensor, so it catches it
        Rng rng = new Rng(5);
        Tensor x = Tensor.randn(rng, 6).requiresGrad(true);
        Result r = GradCheck.check(in -> {
            Tensor a = in.get(0);
            return Graph.record("reversedGrad", a.mul(3f).detach(), g -> {
                float[] gs = g.toArray(), rev = new float[gs.length];
                for (int i = 0; i < gs.length; i++) rev[i] = 3f * gs[gs.length - 1 - i];
                return new Tensor[] {Tensor.of(rev, 6)};
            }, a);
        }, x);
        assertFalse(r.ok(), r.report());
    }

    @Test void directionalCheckPassesRightAndFailsWrong() {
        Rng rng = new Rng(6);
        Tensor x = Tensor.randn(rng, 20, 30).requiresGrad(true), w = Tensor.randn(rng, 20, 30).requiresGrad(true);
        assertTrue(GradCheck.checkDirections(in -> squareTimes(in.get(0), in.get(1), g -> right(g, in.get(0), in.get(1))),
            GradCheck.Options.DEFAULT, 3, x, w).ok());
        Result bad = GradCheck.checkDirections(in -> squareTimes(in.get(0), in.get(1), g -> {
            Tensor[] d = right(g, in.get(0), in.get(1));
            return new Tensor[] {d[0], d[1].mul(1.1f)}; // only 10% off on one input
        }), GradCheck.Options.DEFAULT, 3, x, w);
        assertFalse(bad.ok(), bad.report());
        assertEquals(3, bad.mismatches().size());
    }

    @Test void zeroGradientEverywhereIsReportedAsAProblem() {
        // relu of all-negative input: numeric gradient is 0, so any backward would "pass"
        Tensor x = Tensor.full(-1f, 4).requiresGrad(true);
        Result r = GradCheck.check(in -> in.get(0).relu(), x);
        assertFalse(r.ok());
        assertTrue(r.report().contains("zero everywhere"), r.report());
        assertTrue(GradCheck.check(in -> in.get(0).relu(), GradCheck.Options.DEFAULT.allowingZeroGradient(), x).ok());
    }

    @Test void inputsLeftUnchanged() {
        Rng rng = new Rng(7);
        Tensor x = Tensor.randn(rng, 2, 5).requiresGrad(true);
        float[] before = x.toArray();
        GradCheck.assertGradients(in -> in.get(0).tanh(), x);
        GradCheck.assertDirections(2, in -> in.get(0).tanh(), x);
        assertTrue(Arrays.equals(before, x.toArray()));
        assertEquals(null, x.grad());
    }

    @Test void nonLeafAndExpandedInputsAreRefused() {
        Tensor x = Tensor.randn(new Rng(8), 3).requiresGrad(true);
        assertThrows(IllegalArgumentException.class, () -> GradCheck.check(in -> in.get(0), x.mul(2f)));
        Tensor e = Tensor.randn(new Rng(8), 1, 3).expand(4, 3).requiresGrad(true);
        assertThrows(IllegalArgumentException.class, () -> GradCheck.check(in -> in.get(0), e));
    }

    @Test void spacedValuesKeepTheirGap() {
        Rng rng = new Rng(9);
        float gap = 0.05f;
        float[] v = GradCheck.spacedBy(rng, gap, 7, 9).toArray();
        float[] s = v.clone();
        Arrays.sort(s);
        for (int i = 1; i < s.length; i++) assertTrue(s[i] - s[i - 1] >= gap * 0.999f, "gap at " + i);
        for (float f : v) assertTrue(Math.abs(f) >= gap / 2 * 0.999f);
        // not sorted: the order is random
        assertFalse(Arrays.equals(v, s));
    }

    private static float[] mulArrays(float[] a, float[] b) {
        float[] c = new float[a.length];
        for (int i = 0; i < c.length; i++) c[i] = a[i] * b[i];
        return c;
    }
}
