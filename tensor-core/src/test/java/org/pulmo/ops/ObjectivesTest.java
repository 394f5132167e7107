package org.pulmo.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.pulmo.autograd.GradCheck.assertGradients;
import static org.pulmo.ops.OpPageChecks.close;

import org.junit.jupiter.api.Test;
import org.pulmo.autograd.GradCheck;
import org.pulmo.autograd.Graph;
import org.pulmo.backend.Backend;
import org.pulmo.ops.reference.Reference;
import org.pulmo.tensor.Rng;
import org.pulmo.tensor.Tensor;

/** Cross-entropy and cosine similarity as single ops: by hand, gradient checks, equal to their compositions. */
class ObjectivesTest {

    private static final Tensor LABELS = Tensor.of(new float[] {2, 0, 1, 2, 1}, 5);

    @Test void crossEntropyByHand() {
        // two classes, equal logits: -log(1/2) per row
        assertEquals((float) Math.log(2), Objectives.crossEntropy(Tensor.zeros(3, 2), Tensor.of(new float[] {0, 1, 1}, 3), null).item(), 1e-6f);
        // weights 1 and 3, rows of class 0 and 1 with losses log 2 each: weighted mean is still log 2
        Tensor w = Tensor.of(new float[] {1, 3}, 2);
        assertEquals((float) Math.log(2), Objectives.crossEntropy(Tensor.zeros(2, 2), Tensor.of(new float[] {0, 1}, 2), w).item(), 1e-6f);
    }

    /**
     * Shapes that do not fit are refused naming them (before, [3, 4] logits with [1, 3] labels gave 4.16 instead of
     * ln 4, weights of another length were read past their end, and 1-D logits threw an ArrayIndexOutOfBoundsException).
     */
    @Test void shapesThatDoNotFitAreRefused() {
        Tensor logits = Tensor.zeros(3, 4), labels = Tensor.zeros(3);
        String[][] cases = {
            {"crossEntropy: labels must be [3] for logits [3, 4], got [1, 3]"}, {"crossEntropy: class weights must be [4], got [8]"},
            {"crossEntropy needs logits [N, C], got [2, 3, 4]"}, {"crossEntropy needs logits [N, C], got [3]"}};
        Runnable[] calls = {
            () -> Objectives.crossEntropy(logits, Tensor.zeros(1, 3), null), () -> Objectives.crossEntropy(logits, labels, Tensor.ones(8)),
            () -> Objectives.crossEntropy(Tensor.zeros(2, 3, 4), Tensor.zeros(2), null), () -> Objectives.crossEntropy(Tensor.zeros(3), Tensor.zeros(1), null)};
        for (int i = 0; i < calls.length; i++)
            assertEquals(cases[i][0], org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, calls[i]::run).getMessage());
        // two vectors are not a batch: their cosine was taken per element (1/3 for [1, 0, 0] and [1, 1, 0], not 0.707)
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
            () -> Objectives.cosineSimilarity(Tensor.of(new float[] {1, 0, 0}, 3), Tensor.of(new float[] {1, 1, 0}, 3), 1e-8f));
        assertTrue(e.getMessage().endsWith("(two vectors: give them as [1, 3])"), e.getMessage());
        assertEquals((float) Math.sqrt(0.5), Objectives.cosineSimilarity(Tensor.of(new float[] {1, 0, 0}, 1, 3),
            Tensor.of(new float[] {1, 1, 0}, 1, 3), 1e-8f).item(), 1e-6f);
    }

    @Test void crossEntropyGradientsAndComposition() {
        Rng rng = new Rng(51);
        Tensor w = Tensor.of(new float[] {0.5f, 2f, 1.25f}, 3);
        assertGradients(in -> Objectives.crossEntropy(in.get(0), LABELS, null), Tensor.randn(rng, 5, 3).requiresGrad(true));
        assertGradients(in -> Objectives.crossEntropy(in.get(0), LABELS, w), Tensor.randn(rng, 5, 3).requiresGrad(true));
        assertGradients(in -> Objectives.crossEntropy(in.get(0), LABELS, w), Tensor.randn(rng, 3, 5).transpose(0, 1).requiresGrad(true));
        // the composition nn's Losses used before: -(sum_i w[y_i] log_softmax(x_i)[y_i]) / sum_i w[y_i]
        Tensor x = Tensor.randn(rng, 5, 3).requiresGrad(true);
        Tensor l = Objectives.crossEntropy(x, LABELS, w);
        l.backward();
        Tensor dx = x.grad();
        x.zeroGrad();
        Tensor wy = w.gather(0, LABELS);
        Tensor lc = x.logSoftmax(1).gather(1, LABELS.reshape(5, 1)).reshape(5).mul(wy).sum().neg().div(wy.sum());
        lc.backward();
        close(lc, l, 1e-6, 1e-5, "cross-entropy");
        close(x.grad(), dx, 1e-6, 1e-5, "cross-entropy dx");
    }

    @Test void cosineGradientsAndComposition() {
        Rng rng = new Rng(52);
        assertGradients(in -> Objectives.cosineSimilarity(in.get(0), in.get(1), 1e-8f),
            Tensor.randn(rng, 3, 2, 2, 2).requiresGrad(true), Tensor.randn(rng, 3, 2, 2, 2).requiresGrad(true));
        assertGradients(in -> Objectives.cosineSimilarity(in.get(0), in.get(1), 1e-8f),
            Tensor.randn(rng, 4, 3).transpose(0, 1).requiresGrad(true), Tensor.randn(rng, 3, 4));
        Tensor a = Tensor.randn(rng, 3, 5).requiresGrad(true), b = Tensor.randn(rng, 3, 5).requiresGrad(true);
        Tensor c = Objectives.cosineSimilarity(a, b, 1e-8f);
        c.backward();
        Tensor da = a.grad(), db = b.grad();
        a.zeroGrad();
        b.zeroGrad();
        Tensor floor = Tensor.full(1e-16f, 3);
        Tensor cc = a.mul(b).sum(1, false).div(a.square().sum(1, false).maximum(floor).sqrt().mul(b.square().sum(1, false).maximum(floor).sqrt())).mean();
        cc.backward();
        close(cc, c, 1e-6, 1e-5, "cosine");
        close(a.grad(), da, 1e-6, 1e-5, "cosine da");
        close(b.grad(), db, 1e-6, 1e-5, "cosine db");
    }

    /** A zero sample: the clamped norm is a constant, so the gradient is finite (zero for the clamped side's own term). */
    @Test void cosineOfAZeroVectorHasAFiniteGradient() {
        Tensor a = Tensor.zeros(2, 3).requiresGrad(true), b = Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, 2, 3).requiresGrad(true);
        Tensor c = Objectives.cosineSimilarity(a, b, 1e-8f);
        assertEquals(0f, c.item());
        c.backward();
        for (float v : a.grad().toArray()) assertTrue(Float.isFinite(v));
        for (float v : b.grad().toArray()) assertEquals(0f, v);
    }

    @Test void aWrongCosineBackwardFailsTheCheck() {
        Rng rng = new Rng(53);
        // the backward without the -c a / |a|^2 term
        GradCheck.Fn wrong = in -> {
            Tensor a = in.get(0), b = in.get(1);
            Backend be = a.backend();
            Backend.CosineOut out = be.cosine(a, b, 1e-8f);
            return Graph.record("cosine_wrong", out.c(), g -> {
                Tensor nanb = out.stats().narrow(1, 1, 1).mul(out.stats().narrow(1, 2, 1));
                return new Tensor[] {b.div(nanb).mul(g).div(a.shape()[0]), null};
            }, a, b);
        };
        assertFalse(GradCheck.check(wrong, Tensor.randn(rng, 2, 3).requiresGrad(true), Tensor.randn(rng, 2, 3)).ok());
    }

    /**
     * A norm below eps is clamped to eps itself, max(|a_n|, eps): one row of values ~1e-4 (norm below eps = 1e-3) beside
     * ordinary rows, on either side; the loss and both gradients against the plain-loop reference.
     */
    @Test void cosineClampsSmallNormsToEps() {
        Rng rng = new Rng(55);
        int n = 3, d = 4;
        float eps = 1e-3f;
        float[] av = Tensor.randn(rng, n, d).toArray(), bv = Tensor.randn(rng, n, d).toArray();
        for (int i = 0; i < d; i++) { av[i] *= 1e-4f; bv[2 * d + i] *= 1e-4f; } // row 0 of a and row 2 of b are tiny
        Tensor a = Tensor.of(av, n, d).requiresGrad(true), b = Tensor.of(bv, n, d).requiresGrad(true);
        Tensor c = Objectives.cosineSimilarity(a, b, eps);
        c.backward();
        float[][] grads = Reference.cosineBackward(av, bv, n, d, eps, 1f);
        assertEquals(Reference.cosine(av, bv, n, d, eps), c.item(), 1e-6f, "cosine");
        close(grads[0], a.grad(), 1e-5, 1e-4, "cosine da");
        close(grads[1], b.grad(), 1e-5, 1e-4, "cosine db");
    }

    /**
     * The backward reads the labels and the class weights: refilled in place between forward and backward (a batch buffer
     * reused), they gave the gradient of the new labels without a word; now backward refuses, naming the op.
     */
    @Test void labelsOrWeightsChangedBeforeBackwardAreRefused() {
        Tensor logits = Tensor.randn(new Rng(5), 2, 2).requiresGrad(true);
        Tensor labels = Tensor.of(new float[] {0, 1}, 2);
        Tensor loss = Objectives.crossEntropy(logits, labels, null);
        try (var ignored = org.pulmo.autograd.GradMode.noGrad()) { labels.copyFrom(Tensor.of(new float[] {1, 0}, 2)); }
        String m = assertThrows(IllegalStateException.class, loss::backward).getMessage();
        assertTrue(m.startsWith("backward through 'crossEntropy': its input 1 of shape [2] was changed in place"), m);

        Tensor weights = Tensor.of(new float[] {1, 2}, 2);
        Tensor weighted = Objectives.crossEntropy(logits, Tensor.of(new float[] {0, 1}, 2), weights);
        try (var ignored = org.pulmo.autograd.GradMode.noGrad()) { weights.fill(3f); }
        assertThrows(IllegalStateException.class, weighted::backward);

        Tensor untouched = Objectives.crossEntropy(logits, Tensor.of(new float[] {0, 1}, 2), null);
        untouched.backward();   // nothing changed: the gradient as before
        assertEquals(4, logits.grad().numel());
    }
}
