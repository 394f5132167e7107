package org.pulmo.ops;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.pulmo.autograd.GradCheck.assertGradients;
import static org.pulmo.ops.OpPageChecks.COMPOSED;
import static org.pulmo.ops.OpPageChecks.close;
import static org.pulmo.ops.OpPageChecks.leaf;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.pulmo.autograd.GradCheck;
import org.pulmo.autograd.Graph;
import org.pulmo.backend.Backend;
import org.pulmo.backend.Backends;
import org.pulmo.tensor.Rng;
import org.pulmo.tensor.Tensor;

/**
 * The FAB fusion page ({@link FabFuse}): a hand example, gradient checks (contiguous and strided inputs), the CPU
 * backend's fused loops and the Backend's composed default against the plain-loop reference, a wrong backward
 * failing, and the reference itself against the composition of primitives with autograd.
 */
class FabFuseTest {
    static final int N = 2, C = 3, H = 4, W = 5, HW = H * W;

    @Test void fabFuseByHand() {
        Tensor x = Tensor.of(new float[] {1, 2, 3, 4}, 1, 2, 1, 2), x2 = Tensor.of(new float[] {5, 6, 7, 8}, 1, 2, 1, 2);
        // M = N gives a = 1/2 (the average); M - N = ln 3 gives a = 3/4
        Tensor m = Tensor.of(new float[] {0, (float) Math.log(3)}, 1, 2), n = Tensor.zeros(1, 2);
        assertArrayEquals(new float[] {3, 4, 0.75f * 3 + 0.25f * 7, 0.75f * 4 + 0.25f * 8}, FabFuse.fabFuse(x, x2, m, n).toArray(), 1e-6f);
    }

    @Test void fabFuseGradients() {
        Rng rng = new Rng(33);
        assertGradients(in -> FabFuse.fabFuse(in.get(0), in.get(1), in.get(2), in.get(3)),
            leaf(Tensor.randn(rng, 2, 3, 2, 2)), leaf(Tensor.randn(rng, 2, 3, 2, 2)), leaf(Tensor.randn(rng, 2, 3)), leaf(Tensor.randn(rng, 2, 3)));
        Tensor z = leaf(Tensor.randn(rng, 3, 2).transpose(0, 1));
        assertGradients(in -> FabFuse.fabFuse(in.get(0), in.get(1), in.get(2), in.get(3)),
            leaf(Tensor.randn(rng, 2, 3, 2, 2)), Tensor.randn(rng, 2, 3, 2, 2), z, leaf(Tensor.randn(rng, 2, 3)));
    }

    @Test void cpuFusedLoopsMatchTheReference() { matchesTheReference(Backends.cpu(), "fused"); }

    /** The composed default is the execution path of a backend without a fused kernel: it answers to the same reference. */
    @Test void composedDefaultMatchesTheReference() { matchesTheReference(COMPOSED, "composed"); }

    private static void matchesTheReference(Backend be, String which) {
        Rng rng = new Rng(35);
        for (int[] s : List.of(new int[] {2, 3, 7, 9}, new int[] {1, 4, 14, 14}, new int[] {1, 2, 40, 41})) {
            Tensor a = Tensor.randn(rng, s), b = Tensor.randn(rng, s), g = Tensor.randn(rng, s);
            Tensor m = Tensor.randn(rng, s[0], s[1]), n = Tensor.randn(rng, s[0], s[1]);
            int hw = s[2] * s[3];
            String at = " (" + which + ", " + java.util.Arrays.toString(s) + ")";
            close(FabFuse.referenceForward(a.toArray(), b.toArray(), m.toArray(), n.toArray(), hw), be.fabFuseForward(a, b, m, n), 1e-6, 1e-6,
                "FAB fuse" + at);
            float[][] ref = FabFuse.referenceBackward(a.toArray(), b.toArray(), m.toArray(), n.toArray(), g.toArray(), hw);
            Backend.FabGrads d = be.fabFuseBackward(a, b, m, n, g);
            Tensor[] got = {d.dFAm(), d.dFRem(), d.dM(), d.dN()};
            String[] names = {"dF_am", "dF_rem", "dM", "dN"};
            for (int i = 0; i < 4; i++) close(ref[i], got[i], 1e-5, 1e-5, "FAB fuse backward " + names[i] + at);
        }
    }

    /** The check has teeth: the FAB backward without the a (1 - a) factor of dM fails it. */
    @Test void aWrongBackwardFailsTheCheck() {
        Rng rng = new Rng(36);
        GradCheck.Fn noSigmoidPrime = in -> {
            Tensor fAm = in.get(0), fRem = in.get(1), m = in.get(2), n = in.get(3);
            Backend be = fAm.backend();
            return Graph.record("fab_wrong", be.fabFuseForward(fAm, fRem, m, n), g -> {
                Backend.FabGrads d = be.fabFuseBackward(fAm, fRem, m, n, g);
                Tensor dA = g.mul(fAm.sub(fRem)).sum(new int[] {2, 3}, false);
                return new Tensor[] {d.dFAm(), d.dFRem(), dA, dA.neg()};
            }, fAm, fRem, m, n);
        };
        assertFalse(GradCheck.check(noSigmoidPrime, leaf(Tensor.randn(rng, 1, 2, 2, 2)), leaf(Tensor.randn(rng, 1, 2, 2, 2)),
            leaf(Tensor.randn(rng, 1, 2)), leaf(Tensor.randn(rng, 1, 2))).ok());
    }

    /** MaNet's fusion written with primitives (eq. 10-11) and their autograd against the reference. */
    @Test void referenceMatchesTheCompositionOfPrimitives() {
        Rng rng = new Rng(14);
        Tensor x1 = leaf(Tensor.randn(rng, N, C, H, W)), x2 = leaf(Tensor.randn(rng, N, C, H, W));
        Tensor z1 = leaf(Tensor.randn(rng, N, C)), z2 = leaf(Tensor.randn(rng, N, C)), g = Tensor.randn(rng, N, C, H, W);
        Tensor al = z1.sub(z2).sigmoid().reshape(N, C, 1, 1);                 // eq. 10
        Tensor y = al.mul(x1).add(al.neg().add(1f).mul(x2));                  // eq. 11
        y.backward(g);
        close(y.toArray(), FabFuse.referenceForward(x1.toArray(), x2.toArray(), z1.toArray(), z2.toArray(), HW), 1e-6, 1e-5, "FAB fuse");
        float[][] gr = FabFuse.referenceBackward(x1.toArray(), x2.toArray(), z1.toArray(), z2.toArray(), g.toArray(), HW);
        close(x1.grad().toArray(), gr[0], 1e-6, 1e-5, "FAB dF_am");
        close(x2.grad().toArray(), gr[1], 1e-6, 1e-5, "FAB dF_rem");
        close(z1.grad().toArray(), gr[2], 1e-5, 1e-4, "FAB dM");
        close(z2.grad().toArray(), gr[3], 1e-5, 1e-4, "FAB dN");
    }
}
