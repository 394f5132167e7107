package org.pulmo.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.pulmo.ops.reference.Reference;
import org.pulmo.tensor.Rng;
import org.pulmo.tensor.Tensor;

/**
 * Reference's plain loops (the kernels without an op page: the squeezes, cross-entropy, cosine, SGD) against
 * compositions of tensor-core ops (forward) and their autograd (backward). Runs everywhere. The op pages' references
 * (Mab, SeScale, FabFuse, Convolution) are checked the same way by their own tests in tensor-core.
 */
class ReferenceTest {
    static final int N = 2, C = 3, H = 4, W = 5, HW = H * W, PLANES = N * C;

    static void close(float[] expected, float[] actual, double atol, double rtol, String what) {
        assertEquals(expected.length, actual.length, what + ": length");
        for (int i = 0; i < expected.length; i++)
            assertTrue(Math.abs(expected[i] - actual[i]) <= atol + rtol * Math.abs(expected[i]),
                what + ": first mismatch at " + i + ", expected " + expected[i] + ", actual " + actual[i]);
    }

    static Tensor leaf(Tensor t) { return t.requiresGrad(true); }

    @Test void seSqueezeMatchesTheComposition() {
        Rng rng = new Rng(13);
        Tensor x = Tensor.randn(rng, N, C, H, W);
        close(x.globalAvgPool().toArray(), Reference.seSqueeze(x.toArray(), PLANES, HW), 1e-6, 1e-5, "SE squeeze");
    }

    @Test void fabSqueezeMatchesTheComposition() {
        Rng rng = new Rng(14);
        Tensor u = Tensor.randn(rng, N, C, H, W);
        float[][] sq = Reference.fabSqueeze(u.toArray(), PLANES, HW);
        close(u.globalAvgPool().toArray(), sq[0], 1e-6, 1e-5, "FAB avg");
        close(u.globalMaxPool().toArray(), sq[1], 0, 0, "FAB max");
        close(u.reshape(N, C, HW).argmax(2, false).toArray(), sq[2], 0, 0, "FAB argmax");
        // the squeeze's backward against autograd through the same two pools
        Tensor ul = leaf(Tensor.of(u.toArray(), N, C, H, W)), dAvg = Tensor.randn(rng, N, C), dMax = Tensor.randn(rng, N, C);
        ul.globalAvgPool().mul(dAvg).sum().add(ul.globalMaxPool().mul(dMax).sum()).backward();
        close(ul.grad().toArray(), Reference.fabSqueezeBackward(dAvg.toArray(), dMax.toArray(), sq[2], HW), 1e-6, 1e-5, "FAB squeeze backward");
    }

    @Test void crossEntropyMatchesTheComposition() {
        Rng rng = new Rng(15);
        int n = 5, c = 4;
        Tensor x = leaf(Tensor.randn(rng, n, c));
        float[] labels = {0, 3, 1, 1, 2}, w = {0.5f, 1f, 2f, 1.5f};
        Tensor lab = Tensor.of(labels, n), wt = Tensor.of(w, c);
        Tensor wy = wt.gather(0, lab);
        Tensor loss = x.logSoftmax(1).gather(1, lab.reshape(n, 1)).reshape(n).mul(wy).sum().neg().div(wy.sum());
        loss.backward();
        float[] ref = Reference.crossEntropy(x.toArray(), labels, w, n, c);
        assertEquals(loss.item(), ref[0], 1e-5);
        close(x.grad().toArray(), Reference.crossEntropyBackward(x.toArray(), labels, w, n, c, 1f), 1e-6, 1e-4, "CE dx");
    }

    @Test void cosineMatchesTheCompositionIncludingAZeroRow() {
        Rng rng = new Rng(16);
        int n = 3, d = 7;
        float[] av = Tensor.randn(rng, n, d).toArray();
        for (int i = 0; i < d; i++) av[2 * d + i] = 0f; // a zero row: the eps clamp is active
        Tensor a = leaf(Tensor.of(av, n, d)), b = leaf(Tensor.randn(rng, n, d));
        float eps = 1e-8f;
        Tensor floor = Tensor.full(eps * eps, n);
        Tensor c = a.mul(b).sum(1, false).div(a.square().sum(1, false).maximum(floor).sqrt().mul(b.square().sum(1, false).maximum(floor).sqrt())).mean();
        c.backward();
        assertEquals(c.item(), Reference.cosine(a.toArray(), b.toArray(), n, d, eps), 1e-6);
        float[][] gr = Reference.cosineBackward(a.toArray(), b.toArray(), n, d, eps, 1f);
        close(a.grad().toArray(), gr[0], 1e-6, 1e-4, "cosine da");
        close(b.grad().toArray(), gr[1], 1e-6, 1e-4, "cosine db");
    }

    @Test void sgdStepFollowsTorchsRuleByHand() {
        // p = 1, g = 0.5, wd = 0.1, mu = 0.9, lr = 0.1: g' = 0.6; step 1: b = 0.6, p = 0.94;
        // step 2 (g = 0.5): g' = 0.5 + 0.094 = 0.594, b = 0.9 * 0.6 + 0.594 = 1.134, p = 0.94 - 0.1134 = 0.8266
        float[] p = {1f}, buf = {0f};
        Reference.sgdStep(p, new float[] {0.5f}, buf, 0.1f, 0.9f, 0f, false, 0.1f, true);
        assertEquals(0.94f, p[0], 1e-6);
        Reference.sgdStep(p, new float[] {0.5f}, buf, 0.1f, 0.9f, 0f, false, 0.1f, false);
        assertEquals(1.134f, buf[0], 1e-6);
        assertEquals(0.8266f, p[0], 1e-6);
    }

    @Test void theComparisonHasTeeth() {
        float[] right = Reference.seSqueeze(new float[] {1, 2, 3, 4}, 1, 4);
        org.junit.jupiter.api.Assertions.assertThrows(AssertionError.class, () -> close(new float[] {2.6f}, right, 1e-6, 1e-5, "wrong"));
    }
}
