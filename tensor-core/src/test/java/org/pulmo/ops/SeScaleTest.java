package org.pulmo.ops;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.pulmo.autograd.GradCheck.assertGradients;
import static org.pulmo.ops.OpPageChecks.COMPOSED;
import static org.pulmo.ops.OpPageChecks.close;
import static org.pulmo.ops.OpPageChecks.leaf;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.pulmo.backend.Backend;
import org.pulmo.backend.Backends;
import org.pulmo.tensor.Rng;
import org.pulmo.tensor.Tensor;

/**
 * The SE scale page ({@link SeScale}): a hand example, gradient checks (contiguous and strided inputs), the CPU
 * backend and the Backend's composed default against the plain-loop reference, and the reference itself against the
 * composition of primitives with autograd.
 */
class SeScaleTest {
    static final int N = 2, C = 3, H = 4, W = 5, HW = H * W;

    @Test void seScaleByHand() {
        Tensor x = Tensor.of(new float[] {1, 2, 3, 4}, 1, 2, 1, 2), s = Tensor.of(new float[] {10, -1}, 1, 2);
        assertArrayEquals(new float[] {10, 20, -3, -4}, SeScale.seScale(x, s).toArray());
    }

    @Test void seScaleGradients() {
        Rng rng = new Rng(32);
        assertGradients(in -> SeScale.seScale(in.get(0), in.get(1)), leaf(Tensor.randn(rng, 2, 3, 2, 3)), leaf(Tensor.randn(rng, 2, 3)));
        Tensor x = leaf(Tensor.randn(rng, 3, 2, 2, 2).transpose(0, 1)), s = leaf(Tensor.randn(rng, 3, 2).transpose(0, 1));
        assertGradients(in -> SeScale.seScale(in.get(0), in.get(1)), x, s);
    }

    @Test void cpuBackendMatchesTheReference() { matchesTheReference(Backends.cpu(), "fused"); }

    /** The composed default is the execution path of a backend without a fused kernel: it answers to the same reference. */
    @Test void composedDefaultMatchesTheReference() { matchesTheReference(COMPOSED, "composed"); }

    private static void matchesTheReference(Backend be, String which) {
        Rng rng = new Rng(35);
        for (int[] sh : List.of(new int[] {2, 3, 7, 9}, new int[] {1, 4, 14, 14}, new int[] {1, 2, 40, 41},
                new int[] {16, 5, 2, 2}, new int[] {3, 7, 1, 1})) { // planes past, within and under one vector
            Tensor u = Tensor.randn(rng, sh), g = Tensor.randn(rng, sh), s = Tensor.randn(rng, sh[0], sh[1]);
            int hw = sh[2] * sh[3];
            String at = " (" + which + ", " + java.util.Arrays.toString(sh) + ")";
            close(SeScale.referenceForward(u.toArray(), s.toArray(), hw), be.seScaleForward(u, s), 0, 0, "SE scale" + at);
            float[][] ref = SeScale.referenceBackward(u.toArray(), s.toArray(), g.toArray(), hw);
            Backend.SeScaleGrads d = be.seScaleBackward(u, s, g);
            close(ref[0], d.du(), 0, 0, "SE du" + at);
            close(ref[1], d.ds(), 1e-5, 1e-5, "SE ds" + at);
        }
    }

    /** SqueezeExcitation's scale written with primitives and their autograd against the reference. */
    @Test void referenceMatchesTheCompositionOfPrimitives() {
        Rng rng = new Rng(13);
        Tensor x = leaf(Tensor.randn(rng, N, C, H, W)), s = leaf(Tensor.rand(rng, 0.1f, 0.9f, N, C)), g = Tensor.randn(rng, N, C, H, W);
        Tensor y = x.mul(s.reshape(N, C, 1, 1));
        y.backward(g);
        close(y.toArray(), SeScale.referenceForward(x.toArray(), s.toArray(), HW), 1e-6, 1e-6, "SE scale");
        float[][] grads = SeScale.referenceBackward(x.toArray(), s.toArray(), g.toArray(), HW);
        close(x.grad().toArray(), grads[0], 1e-6, 1e-5, "SE dx");
        close(s.grad().toArray(), grads[1], 1e-5, 1e-4, "SE ds");
    }
}
