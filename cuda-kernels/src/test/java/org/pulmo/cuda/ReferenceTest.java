package org.pulmo.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.pulmo.ops.reference.Reference;
import org.pulmo.tensor.Rng;
import org.pulmo.tensor.Tensor;

/** The kernel references against compositions of tensor-core ops (forward) and their autograd (backward). Runs everywhere. */
class ReferenceTest {
    static final int N = 2, C = 3, H = 4, W = 5, HW = H * W, PLANES = N * C;

    static void close(float[] expected, float[] actual, double atol, double rtol, String what) {
        assertEquals(expected.length, actual.length, what + ": length");
        for (int i = 0; i < expected.length; i++)
            assertTrue(Math.abs(expected[i] - actual[i]) <= atol + rtol * Math.abs(expected[i]),
                what + ": first mismatch at " + i + ", expected " + expected[i] + ", actual " + actual[i]);
    }

    static Tensor leaf(Tensor t) { return t.requiresGrad(true); }

    @Test void mabForwardAndBackwardMatchTheComposition() {
        Rng rng = new Rng(11);
        Tensor a = leaf(Tensor.randn(rng, N, C, H, W)), b = leaf(Tensor.randn(rng, N, C, H, W)), g = Tensor.randn(rng, N, C, H, W);
        // MaNet's MAB as ops: eq. 3-5
        Tensor d = a.sub(b).square();
        Tensor y = d.reshape(N, C, HW).softmax(2).reshape(N, C, H, W).mul(b);
        y.backward(g);
        float[][] ref = Reference.mabForward(a.toArray(), b.toArray(), PLANES, HW);
        close(y.toArray(), ref[0], 1e-6, 1e-5, "MAB forward");
        // lse: log sum exp D per plane
        float[] dd = d.toArray();
        for (int p = 0; p < PLANES; p++) {
            double s = 0;
            for (int i = 0; i < HW; i++) s += Math.exp(dd[p * HW + i]);
            assertEquals(Math.log(s), ref[1][p], 1e-4, "lse of plane " + p);
        }
        float[][] grads = Reference.mabBackward(a.toArray(), b.toArray(), g.toArray(), PLANES, HW);
        close(a.grad().toArray(), grads[0], 1e-5, 1e-4, "MAB da");
        close(b.grad().toArray(), grads[1], 1e-5, 1e-4, "MAB db");
    }

    @Test void mabBackwardMatchesCentralDifferences() {
        Rng rng = new Rng(12);
        float[] a = Tensor.randn(rng, 1, 1, 2, 3).toArray(), b = Tensor.randn(rng, 1, 1, 2, 3).toArray(), g = Tensor.randn(rng, 1, 1, 2, 3).toArray();
        float[][] grads = Reference.mabBackward(a, b, g, 1, 6);
        double h = 1e-3;
        for (int i = 0; i < 6; i++) {
            float[] ap = a.clone(), am = a.clone();
            ap[i] += h;
            am[i] -= h;
            double num = (dot(Reference.mabForward(ap, b, 1, 6)[0], g) - dot(Reference.mabForward(am, b, 1, 6)[0], g)) / (2 * h);
            assertEquals(num, grads[0][i], 2e-3 + 2e-2 * Math.abs(num), "da[" + i + "] against central differences");
        }
    }

    static double dot(float[] x, float[] y) {
        double s = 0;
        for (int i = 0; i < x.length; i++) s += (double) x[i] * y[i];
        return s;
    }

    @Test void seMatchesTheComposition() {
        Rng rng = new Rng(13);
        Tensor x = leaf(Tensor.randn(rng, N, C, H, W)), s = leaf(Tensor.rand(rng, 0.1f, 0.9f, N, C)), g = Tensor.randn(rng, N, C, H, W);
        close(x.globalAvgPool().toArray(), Reference.seSqueeze(x.toArray(), PLANES, HW), 1e-6, 1e-5, "SE squeeze");
        Tensor y = x.mul(s.reshape(N, C, 1, 1));
        y.backward(g);
        close(y.toArray(), Reference.seScale(x.toArray(), s.toArray(), HW), 1e-6, 1e-6, "SE scale");
        float[][] grads = Reference.seScaleBackward(x.toArray(), s.toArray(), g.toArray(), HW);
        close(x.grad().toArray(), grads[0], 1e-6, 1e-5, "SE dx");
        close(s.grad().toArray(), grads[1], 1e-5, 1e-4, "SE ds");
    }

    @Test void fabSqueezeAndFusionMatchTheComposition() {
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

        Tensor x1 = leaf(Tensor.randn(rng, N, C, H, W)), x2 = leaf(Tensor.randn(rng, N, C, H, W));
        Tensor z1 = leaf(Tensor.randn(rng, N, C)), z2 = leaf(Tensor.randn(rng, N, C)), g = Tensor.randn(rng, N, C, H, W);
        Tensor al = z1.sub(z2).sigmoid().reshape(N, C, 1, 1);                 // eq. 10
        Tensor y = al.mul(x1).add(al.neg().add(1f).mul(x2));                  // eq. 11
        y.backward(g);
        close(y.toArray(), Reference.fabFuse(x1.toArray(), x2.toArray(), z1.toArray(), z2.toArray(), HW), 1e-6, 1e-5, "FAB fuse");
        float[][] gr = Reference.fabFuseBackward(x1.toArray(), x2.toArray(), z1.toArray(), z2.toArray(), g.toArray(), HW);
        close(x1.grad().toArray(), gr[0], 1e-6, 1e-5, "FAB dx1");
        close(x2.grad().toArray(), gr[1], 1e-6, 1e-5, "FAB dx2");
        close(z1.grad().toArray(), gr[2], 1e-5, 1e-4, "FAB dz1");
        close(z2.grad().toArray(), gr[3], 1e-5, 1e-4, "FAB dz2");
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
