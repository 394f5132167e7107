package org.pulmo.ops;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.pulmo.autograd.GradCheck.assertGradients;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.pulmo.autograd.GradCheck;
import org.pulmo.autograd.Graph;
import org.pulmo.backend.Backend;
import org.pulmo.backend.Backends;
import org.pulmo.ops.reference.Reference;
import org.pulmo.tensor.Rng;
import org.pulmo.tensor.Tensor;

/**
 * Attention's fused ops: a hand example each, gradient checks (contiguous and strided inputs), the CPU
 * backend's fused loops against the Backend interface's composed defaults, and a wrong backward failing.
 */
class AttentionTest {

    /** The CPU backend with every default method left as the interface composes it (no fused overrides). */
    static final Backend COMPOSED = (Backend) Proxy.newProxyInstance(Backend.class.getClassLoader(), new Class<?>[] {Backend.class},
        (InvocationHandler) (p, m, args) -> {
            try {
                return m.isDefault() ? InvocationHandler.invokeDefault(p, m, args) : m.invoke(Backends.cpu(), args);
            } catch (InvocationTargetException e) {
                throw e.getCause();
            }
        });

    private static Tensor leaf(Tensor t) { return t.requiresGrad(true); }

    static void close(Tensor expected, Tensor actual, double atol, double rtol, String what) {
        assertArrayEquals(expected.shape(), actual.shape(), what + ": shape");
        float[] e = expected.toArray(), a = actual.toArray();
        for (int i = 0; i < e.length; i++)
            if (!(Math.abs(e[i] - a[i]) <= atol + rtol * Math.abs(e[i])))
                throw new AssertionError(what + ": first mismatch at " + i + ": expected " + e[i] + ", actual " + a[i]);
    }

    // ------------------------------------------------------------------ hand examples

    @Test void mutexAttentionByHand() {
        // one plane of two positions: D = (a - b)^2 = [1, 0], P = [e, 1] / (e + 1), F_am = P * b
        Tensor a = Tensor.of(new float[] {3, 3}, 1, 1, 1, 2), b = Tensor.of(new float[] {2, 3}, 1, 1, 1, 2);
        double e = Math.E;
        assertArrayEquals(new float[] {(float) (2 * e / (e + 1)), (float) (3 / (e + 1))}, Attention.mutexAttention(a, b).toArray(), 1e-6f);
        Tensor[] raw = Backends.cpu().mutexAttention(a, b);
        assertEquals((float) Math.log(e + 1), raw[1].item(), 1e-6f); // lse = log(e^1 + e^0)
    }

    @Test void channelScaleAndFabFuseByHand() {
        Tensor x = Tensor.of(new float[] {1, 2, 3, 4}, 1, 2, 1, 2), s = Tensor.of(new float[] {10, -1}, 1, 2);
        assertArrayEquals(new float[] {10, 20, -3, -4}, Attention.channelScale(x, s).toArray());
        // z1 = z2 gives alpha = 1/2 (the average); z1 - z2 = ln 3 gives alpha = 3/4
        Tensor x2 = Tensor.of(new float[] {5, 6, 7, 8}, 1, 2, 1, 2);
        Tensor z1 = Tensor.of(new float[] {0, (float) Math.log(3)}, 1, 2), z2 = Tensor.zeros(1, 2);
        assertArrayEquals(new float[] {3, 4, 0.75f * 3 + 0.25f * 7, 0.75f * 4 + 0.25f * 8}, Attention.fabFuse(x, x2, z1, z2).toArray(), 1e-6f);
    }

    // ------------------------------------------------------------------ gradient checks

    @Test void mutexAttentionGradients() {
        Rng rng = new Rng(31);
        assertGradients(in -> Attention.mutexAttention(in.get(0), in.get(1)), leaf(Tensor.randn(rng, 2, 3, 2, 3)), leaf(Tensor.randn(rng, 2, 3, 2, 3)));
        // strided inputs (a permuted map) and one constant input
        Tensor a = leaf(Tensor.randn(rng, 2, 3, 4, 2).permute(0, 1, 3, 2)), b = Tensor.randn(rng, 2, 3, 2, 4);
        assertGradients(in -> Attention.mutexAttention(in.get(0), in.get(1)), a, b);
        assertGradients(in -> Attention.mutexAttention(in.get(1), in.get(0)), a, b);
    }

    @Test void channelScaleGradients() {
        Rng rng = new Rng(32);
        assertGradients(in -> Attention.channelScale(in.get(0), in.get(1)), leaf(Tensor.randn(rng, 2, 3, 2, 3)), leaf(Tensor.randn(rng, 2, 3)));
        Tensor x = leaf(Tensor.randn(rng, 3, 2, 2, 2).transpose(0, 1)), s = leaf(Tensor.randn(rng, 3, 2).transpose(0, 1));
        assertGradients(in -> Attention.channelScale(in.get(0), in.get(1)), x, s);
    }

    @Test void fabFuseGradients() {
        Rng rng = new Rng(33);
        assertGradients(in -> Attention.fabFuse(in.get(0), in.get(1), in.get(2), in.get(3)),
            leaf(Tensor.randn(rng, 2, 3, 2, 2)), leaf(Tensor.randn(rng, 2, 3, 2, 2)), leaf(Tensor.randn(rng, 2, 3)), leaf(Tensor.randn(rng, 2, 3)));
        Tensor z = leaf(Tensor.randn(rng, 3, 2).transpose(0, 1));
        assertGradients(in -> Attention.fabFuse(in.get(0), in.get(1), in.get(2), in.get(3)),
            leaf(Tensor.randn(rng, 2, 3, 2, 2)), Tensor.randn(rng, 2, 3, 2, 2), z, leaf(Tensor.randn(rng, 2, 3)));
    }

    /** The same ops written with primitives, as MaNet and SqueezeExcitation wrote them before these ops existed. */
    @Test void fusedOpsEqualTheirCompositionsWithAutograd() {
        Rng rng = new Rng(34);
        int n = 2, c = 3, h = 5, w = 4;
        Tensor a = leaf(Tensor.randn(rng, n, c, h, w)), b = leaf(Tensor.randn(rng, n, c, h, w)), g = Tensor.randn(rng, n, c, h, w);
        Tensor y = Attention.mutexAttention(a, b);
        y.backward(g);
        Tensor da = a.grad(), db = b.grad();
        a.zeroGrad();
        b.zeroGrad();
        Tensor yc = a.sub(b).square().reshape(n, c, h * w).softmax(2).reshape(n, c, h, w).mul(b);
        yc.backward(g);
        close(yc, y, 1e-6, 1e-5, "MAB forward");
        // da = 2 (a - b) P (dP - sum P dP) cancels: float rounding of ~1e-6 on gradients of order 1
        close(a.grad(), da, 1e-5, 1e-4, "MAB da");
        close(b.grad(), db, 1e-5, 1e-4, "MAB db");
    }

    // ------------------------------------------------------------------ CPU fused loops == composed defaults

    @Test void cpuFusedLoopsEqualTheComposedDefaults() {
        Rng rng = new Rng(35);
        Backend cpu = Backends.cpu();
        for (int[] s : List.of(new int[] {2, 3, 7, 9}, new int[] {1, 4, 14, 14}, new int[] {1, 2, 40, 41})) {
            Tensor a = Tensor.randn(rng, s), b = Tensor.randn(rng, s), g = Tensor.randn(rng, s);
            Tensor z1 = Tensor.randn(rng, s[0], s[1]), z2 = Tensor.randn(rng, s[0], s[1]);
            Tensor[] f = cpu.mutexAttention(a, b), k = COMPOSED.mutexAttention(a, b);
            close(k[0], f[0], 1e-6, 1e-5, "MAB forward");
            close(k[1], f[1], 1e-6, 1e-5, "MAB lse");
            Tensor[] fb = cpu.mutexAttentionBackward(a, b, f[1], g), kb = COMPOSED.mutexAttentionBackward(a, b, k[1], g);
            close(kb[0], fb[0], 1e-5, 1e-4, "MAB da");
            close(kb[1], fb[1], 1e-5, 1e-4, "MAB db");
            close(COMPOSED.channelScale(a, z1), cpu.channelScale(a, z1), 0, 0, "SE scale");
            Tensor[] fs = cpu.channelScaleBackward(a, z1, g), ks = COMPOSED.channelScaleBackward(a, z1, g);
            close(ks[0], fs[0], 0, 0, "SE dx");
            close(ks[1], fs[1], 1e-5, 1e-5, "SE ds");
            close(COMPOSED.fabFuse(a, b, z1, z2), cpu.fabFuse(a, b, z1, z2), 1e-6, 1e-6, "FAB fuse");
            Tensor[] ff = cpu.fabFuseBackward(a, b, z1, z2, g), kf = COMPOSED.fabFuseBackward(a, b, z1, z2, g);
            for (int i = 0; i < 4; i++) close(kf[i], ff[i], 1e-5, 1e-5, "FAB fuse backward output " + i);
        }
        // strided inputs go through the same loops after a dense copy
        Tensor a = Tensor.randn(rng, 2, 3, 5, 4).transpose(2, 3), b = Tensor.randn(rng, 2, 3, 4, 5);
        close(COMPOSED.mutexAttention(a, b)[0], cpu.mutexAttention(a, b)[0], 1e-6, 1e-5, "MAB forward, strided");
    }

    /** Large squared distances do not overflow: the softmax is max-subtracted, in both versions. */
    @Test void mutexAttentionIsStableForLargeDistances() {
        Tensor a = Tensor.of(new float[] {100, 0, 0, 0}, 1, 1, 2, 2), b = Tensor.zeros(1, 1, 2, 2).add(1f);
        float[] y = Attention.mutexAttention(a, b).toArray();
        assertArrayEquals(new float[] {1, 0, 0, 0}, y, 1e-6f);
        assertArrayEquals(y, COMPOSED.mutexAttention(a, b)[0].toArray(), 1e-6f);
    }

    /**
     * Peaked planes (one position holds nearly all of the softmax, as in the last stage's 2 x 2 maps): the
     * dominant position's gradient dy_k b_k - sum_j P_j dy_j b_j cancels, and computed that way in float32 it keeps
     * only a few bits (relative errors of 1e-2 and worse). The fused backward must stay within 1e-3 of float64 there.
     */
    @Test void mutexAttentionBackwardIsAccurateOnPeakedPlanes() {
        Rng rng = new Rng(37);
        for (int[] s : List.of(new int[] {2, 3, 2, 2}, new int[] {1, 4, 7, 7}, new int[] {1, 2, 20, 20})) {
            int planes = s[0] * s[1], hw = s[2] * s[3];
            float[] a = Tensor.randn(rng, s).toArray(), b = Tensor.randn(rng, s).toArray(), g = Tensor.randn(rng, s).toArray();
            for (int p = 0; p < planes; p++) a[p * hw + (p * 7) % hw] += 3.5f + p % 3;   // one far position per plane
            Tensor at = Tensor.of(a, s), bt = Tensor.of(b, s), gt = Tensor.of(g, s);
            Backend cpu = Backends.cpu();
            Tensor[] d = cpu.mutexAttentionBackward(at, bt, cpu.mutexAttention(at, bt)[1], gt);
            float[][] want = Reference.mabBackward(a, b, g, planes, hw);   // float64 sums, pairwise differences
            for (int k = 0; k < 2; k++) {
                float[] got = d[k].toArray();
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

    // ------------------------------------------------------------------ the check has teeth

    @Test void aWrongBackwardFailsTheCheck() {
        Rng rng = new Rng(36);
        // the MAB backward with its two input gradients swapped
        GradCheck.Fn swapped = in -> {
            Tensor a = in.get(0), b = in.get(1);
            Backend be = a.backend();
            Tensor[] out = be.mutexAttention(a, b);
            return Graph.record("mab_swapped", out[0], g -> {
                Tensor[] d = be.mutexAttentionBackward(a, b, out[1], g);
                return new Tensor[] {d[1], d[0]};
            }, a, b);
        };
        assertFalse(GradCheck.check(swapped, leaf(Tensor.randn(rng, 1, 2, 2, 3)), leaf(Tensor.randn(rng, 1, 2, 2, 3))).ok());
        // the FAB backward without the alpha (1 - alpha) factor of dz
        GradCheck.Fn noSigmoidPrime = in -> {
            Tensor x1 = in.get(0), x2 = in.get(1), z1 = in.get(2), z2 = in.get(3);
            Backend be = x1.backend();
            return Graph.record("fab_wrong", be.fabFuse(x1, x2, z1, z2), g -> {
                Tensor[] d = be.fabFuseBackward(x1, x2, z1, z2, g);
                Tensor dAlpha = g.mul(x1.sub(x2)).sum(new int[] {2, 3}, false);
                return new Tensor[] {d[0], d[1], dAlpha, dAlpha.neg()};
            }, x1, x2, z1, z2);
        };
        assertFalse(GradCheck.check(noSigmoidPrime, leaf(Tensor.randn(rng, 1, 2, 2, 2)), leaf(Tensor.randn(rng, 1, 2, 2, 2)),
            leaf(Tensor.randn(rng, 1, 2)), leaf(Tensor.randn(rng, 1, 2))).ok());
    }
}
