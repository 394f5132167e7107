package org.pulmo.ops;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.pulmo.autograd.GradCheck.assertGradients;
import static org.pulmo.ops.OpPageChecks.COMPOSED;
import static org.pulmo.ops.OpPageChecks.close;
import static org.pulmo.ops.OpPageChecks.dot;
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
 * The MAB page ({@link Mab}): a hand example, gradient checks (contiguous and strided inputs), the CPU backend's
 * fused loops and the Backend's composed default against the plain-loop reference, peaked planes, a wrong backward
 * failing, and the reference itself against the composition of primitives with autograd and central differences.
 */
class MabTest {
    static final int N = 2, C = 3, H = 4, W = 5, HW = H * W, PLANES = N * C;

    @Test void mabByHand() {
        // one plane of two positions: D = (a - b)^2 = [1, 0], P = [e, 1] / (e + 1), F_am = P * b
        Tensor a = Tensor.of(new float[] {3, 3}, 1, 1, 1, 2), b = Tensor.of(new float[] {2, 3}, 1, 1, 1, 2);
        double e = Math.E;
        assertArrayEquals(new float[] {(float) (2 * e / (e + 1)), (float) (3 / (e + 1))}, Mab.mab(a, b).toArray(), 1e-6f);
        Backend.MabOut raw = Backends.cpu().mabForward(a, b);
        assertEquals((float) Math.log(e + 1), raw.lse().item(), 1e-6f); // lse = log(e^1 + e^0)
    }

    @Test void mabGradients() {
        Rng rng = new Rng(31);
        assertGradients(in -> Mab.mab(in.get(0), in.get(1)), leaf(Tensor.randn(rng, 2, 3, 2, 3)), leaf(Tensor.randn(rng, 2, 3, 2, 3)));
        // strided inputs (a permuted map) and one constant input
        Tensor a = leaf(Tensor.randn(rng, 2, 3, 4, 2).permute(0, 1, 3, 2)), b = Tensor.randn(rng, 2, 3, 2, 4);
        assertGradients(in -> Mab.mab(in.get(0), in.get(1)), a, b);
        assertGradients(in -> Mab.mab(in.get(1), in.get(0)), a, b);
    }

    /** The op with autograd (what MaNet runs) equals the reference, forward and gradients. */
    @Test void opWithAutogradMatchesTheReference() {
        Rng rng = new Rng(34);
        int n = 2, c = 3, h = 5, w = 4;
        Tensor a = leaf(Tensor.randn(rng, n, c, h, w)), b = leaf(Tensor.randn(rng, n, c, h, w)), g = Tensor.randn(rng, n, c, h, w);
        Tensor y = Mab.mab(a, b);
        y.backward(g);
        float[][] ref = Mab.referenceForward(a.toArray(), b.toArray(), n * c, h * w);
        float[][] grads = Mab.referenceBackward(a.toArray(), b.toArray(), g.toArray(), n * c, h * w);
        close(ref[0], y, 1e-6, 1e-5, "MAB forward");
        // da = 2 (a - b) P (dP - sum P dP) cancels: float rounding of ~1e-6 on gradients of order 1
        close(grads[0], a.grad(), 1e-5, 1e-4, "MAB da");
        close(grads[1], b.grad(), 1e-5, 1e-4, "MAB db");
    }

    // ------------------------------------------------------------------ the CPU's fused loops and the composed default

    @Test void cpuFusedLoopsMatchTheReference() { matchesTheReference(Backends.cpu(), "fused"); }

    /** The composed default is the execution path of a backend without a fused kernel: it answers to the same reference. */
    @Test void composedDefaultMatchesTheReference() { matchesTheReference(COMPOSED, "composed"); }

    private static void matchesTheReference(Backend be, String which) {
        Rng rng = new Rng(35);
        for (int[] s : List.of(new int[] {2, 3, 7, 9}, new int[] {1, 4, 14, 14}, new int[] {1, 2, 40, 41})) {
            Tensor a = Tensor.randn(rng, s), b = Tensor.randn(rng, s), g = Tensor.randn(rng, s);
            int planes = s[0] * s[1], hw = s[2] * s[3];
            String at = " (" + which + ", " + java.util.Arrays.toString(s) + ")";
            float[][] ref = Mab.referenceForward(a.toArray(), b.toArray(), planes, hw);
            Backend.MabOut f = be.mabForward(a, b);
            close(ref[0], f.fAm(), 1e-6, 1e-5, "MAB forward" + at);
            close(ref[1], f.lse(), 1e-6, 1e-5, "MAB lse" + at);
            float[][] grads = Mab.referenceBackward(a.toArray(), b.toArray(), g.toArray(), planes, hw);
            Backend.MabGrads d = be.mabBackward(a, b, g, f.lse());
            close(grads[0], d.dFRei(), 1e-5, 1e-4, "MAB da" + at);
            close(grads[1], d.dFRem(), 1e-5, 1e-4, "MAB db" + at);
        }
        // strided inputs go through the same loops after a dense copy
        Tensor a = Tensor.randn(rng, 2, 3, 5, 4).transpose(2, 3), b = Tensor.randn(rng, 2, 3, 4, 5);
        close(Mab.referenceForward(a.toArray(), b.toArray(), 6, 20)[0], be.mabForward(a, b).fAm(), 1e-6, 1e-5, "MAB forward, strided (" + which + ")");
    }

    // ------------------------------------------------------------------ the attention map constant in backward

    /**
     * {@link Mab#mabConstantMap}: the forward of {@link Mab#mab}; in backward dF_rem = g (.) P and no gradient for
     * F_rei, from the CPU's one-pass loop and the composed default alike, against the reference, which in turn
     * equals autograd through primitives with the softmax computed outside the graph.
     */
    @Test void constantMapMatchesTheReference() {
        Rng rng = new Rng(36);
        for (int[] s : List.of(new int[] {2, 3, 7, 9}, new int[] {1, 2, 40, 41})) {
            int planes = s[0] * s[1], hw = s[2] * s[3];
            Tensor a = Tensor.randn(rng, s), b = Tensor.randn(rng, s), g = Tensor.randn(rng, s);
            float[] ref = Mab.referenceConstantMapBackward(a.toArray(), b.toArray(), g.toArray(), planes, hw);
            for (Backend be : List.of(Backends.cpu(), COMPOSED)) {
                String at = " (" + (be == COMPOSED ? "composed" : "fused") + ", " + java.util.Arrays.toString(s) + ")";
                Backend.MabOut f = be.mabForward(a, b);
                close(ref, be.mabConstantMapBackward(a, b, g, f.lse()), 1e-6, 1e-5, "MAB constant-map db" + at);
            }
            Tensor la = leaf(a.detach().contiguous()), lb = leaf(b.detach().contiguous());
            Tensor y = Mab.mabConstantMap(la, lb);
            close(Mab.referenceForward(a.toArray(), b.toArray(), planes, hw)[0], y, 1e-6, 1e-5, "MAB constant-map forward");
            y.backward(g);
            assertEquals(null, la.grad(), "no gradient reaches F_rei");
            close(ref, lb.grad(), 1e-6, 1e-5, "MAB constant-map db with autograd");
            Tensor pb = leaf(b.detach().contiguous()), p;
            try (var noGrad = org.pulmo.autograd.GradMode.noGrad()) {
                p = a.sub(pb).square().reshape(s[0], s[1], hw).softmax(2).reshape(s);
            }
            p.mul(pb).backward(g);
            close(ref, pb.grad(), 1e-6, 1e-5, "autograd of primitives, map outside the graph");
        }
        // strided inputs
        Tensor a = Tensor.randn(rng, 2, 3, 5, 4).transpose(2, 3), b = Tensor.randn(rng, 2, 3, 4, 5), g = Tensor.randn(rng, 2, 3, 4, 5);
        close(Mab.referenceConstantMapBackward(a.toArray(), b.toArray(), g.toArray(), 6, 20),
            Backends.cpu().mabConstantMapBackward(a, b, g, Backends.cpu().mabForward(a, b).lse()), 1e-6, 1e-5, "MAB constant-map db, strided");
    }

    /** Large squared distances do not overflow: the softmax is max-subtracted, in both versions. */
    @Test void mabIsStableForLargeDistances() {
        Tensor a = Tensor.of(new float[] {100, 0, 0, 0}, 1, 1, 2, 2), b = Tensor.zeros(1, 1, 2, 2).add(1f);
        float[] y = Mab.mab(a, b).toArray();
        assertArrayEquals(new float[] {1, 0, 0, 0}, y, 1e-6f);
        assertArrayEquals(y, COMPOSED.mabForward(a, b).fAm().toArray(), 1e-6f);
    }

    /**
     * Peaked planes (one position holds nearly all of the softmax, as in the last stage's 2 x 2 maps): the
     * dominant position's gradient dy_k b_k - sum_j P_j dy_j b_j cancels, and computed that way in float32 it keeps
     * only a few bits (relative errors of 1e-2 and worse). The fused backward must stay within 1e-3 of float64 there.
     */
    @Test void mabBackwardIsAccurateOnPeakedPlanes() {
        Rng rng = new Rng(37);
        for (int[] s : List.of(new int[] {2, 3, 2, 2}, new int[] {1, 4, 7, 7}, new int[] {1, 2, 20, 20})) {
            int planes = s[0] * s[1], hw = s[2] * s[3];
            float[] a = Tensor.randn(rng, s).toArray(), b = Tensor.randn(rng, s).toArray(), g = Tensor.randn(rng, s).toArray();
            for (int p = 0; p < planes; p++) a[p * hw + (p * 7) % hw] += 3.5f + p % 3;   // one far position per plane
            Tensor at = Tensor.of(a, s), bt = Tensor.of(b, s), gt = Tensor.of(g, s);
            Backend cpu = Backends.cpu();
            Backend.MabGrads d = cpu.mabBackward(at, bt, gt, cpu.mabForward(at, bt).lse());
            float[][] want = Mab.referenceBackward(a, b, g, planes, hw);   // float64 sums, pairwise differences
            Tensor[] dGot = {d.dFRei(), d.dFRem()};
            for (int k = 0; k < 2; k++) {
                float[] got = dGot[k].toArray();
                for (int p = 0; p < planes; p++) {
                    double scale = 0;
                    for (int i = 0; i < hw; i++) scale = Math.max(scale, Math.abs(want[k][p * hw + i]));
                    for (int i = 0; i < hw; i++) {
                        double w = want[k][p * hw + i], err = Math.abs(got[p * hw + i] - w);
                        if (!(err <= 1e-3 * Math.abs(w) + 1e-6 * scale))
                            throw new AssertionError((k == 0 ? "da" : "db") + " of plane " + p + " at " + i + " of " + java.util.Arrays.toString(s)
                                + ": float64 " + w + ", fused " + got[p * hw + i]);
                    }
                }
            }
        }
    }

    /** The check has teeth: the MAB backward with its two input gradients swapped fails it. */
    @Test void aWrongBackwardFailsTheCheck() {
        Rng rng = new Rng(36);
        GradCheck.Fn swapped = in -> {
            Tensor a = in.get(0), b = in.get(1);
            Backend be = a.backend();
            Backend.MabOut out = be.mabForward(a, b);
            return Graph.record("mab_swapped", out.fAm(), g -> {
                Backend.MabGrads d = be.mabBackward(a, b, g, out.lse());
                return new Tensor[] {d.dFRem(), d.dFRei()};
            }, a, b);
        };
        assertFalse(GradCheck.check(swapped, leaf(Tensor.randn(rng, 1, 2, 2, 3)), leaf(Tensor.randn(rng, 1, 2, 2, 3))).ok());
    }

    // ------------------------------------------------------------------ the reference itself

    /** MaNet's MAB written with primitives (eq. 3-5) and their autograd against the reference, forward, lse and backward. */
    @Test void referenceMatchesTheCompositionOfPrimitives() {
        Rng rng = new Rng(11);
        Tensor a = leaf(Tensor.randn(rng, N, C, H, W)), b = leaf(Tensor.randn(rng, N, C, H, W)), g = Tensor.randn(rng, N, C, H, W);
        Tensor d = a.sub(b).square();
        Tensor y = d.reshape(N, C, HW).softmax(2).reshape(N, C, H, W).mul(b);
        y.backward(g);
        float[][] ref = Mab.referenceForward(a.toArray(), b.toArray(), PLANES, HW);
        close(y.toArray(), ref[0], 1e-6, 1e-5, "MAB forward");
        // lse: log sum exp D per plane
        float[] dd = d.toArray();
        for (int p = 0; p < PLANES; p++) {
            double s = 0;
            for (int i = 0; i < HW; i++) s += Math.exp(dd[p * HW + i]);
            assertEquals(Math.log(s), ref[1][p], 1e-4, "lse of plane " + p);
        }
        float[][] grads = Mab.referenceBackward(a.toArray(), b.toArray(), g.toArray(), PLANES, HW);
        close(a.grad().toArray(), grads[0], 1e-5, 1e-4, "MAB da");
        close(b.grad().toArray(), grads[1], 1e-5, 1e-4, "MAB db");
    }

    @Test void referenceBackwardMatchesCentralDifferences() {
        Rng rng = new Rng(12);
        float[] a = Tensor.randn(rng, 1, 1, 2, 3).toArray(), b = Tensor.randn(rng, 1, 1, 2, 3).toArray(), g = Tensor.randn(rng, 1, 1, 2, 3).toArray();
        float[][] grads = Mab.referenceBackward(a, b, g, 1, 6);
        double h = 1e-3;
        for (int i = 0; i < 6; i++) {
            float[] ap = a.clone(), am = a.clone();
            ap[i] += h;
            am[i] -= h;
            double num = (dot(Mab.referenceForward(ap, b, 1, 6)[0], g) - dot(Mab.referenceForward(am, b, 1, 6)[0], g)) / (2 * h);
            assertEquals(num, grads[0][i], 2e-3 + 2e-2 * Math.abs(num), "da[" + i + "] against central differences");
        }
    }
}
