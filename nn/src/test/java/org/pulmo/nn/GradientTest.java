package org.pulmo.nn;

import static org.junit.jupiter.api.Assertions.*;
import static org.pulmo.autograd.GradCheck.*;

import java.util.Map;
import org.junit.jupiter.api.Test;
import org.pulmo.autograd.GradCheck;
import org.pulmo.autograd.Graph;
import org.pulmo.nn.loss.AdaptiveWeightedLoss;
import org.pulmo.nn.loss.Losses;
import org.pulmo.tensor.Rng;
import org.pulmo.tensor.Tensor;

/**
 * Central-difference gradient checks (tensor-core's {@link GradCheck}) for every layer and loss, with
 * respect to the input and to every parameter; small seeded shapes, inputs spaced away from kinks and ties.
 */
class GradientTest {
    private final Rng rng = new Rng(42);

    private static Tensor[] with(Tensor x, Module m) {
        Tensor[] ps = m.parameters().toArray(new Tensor[0]);
        Tensor[] all = new Tensor[ps.length + 1];
        all[0] = x.requiresGrad(true);
        System.arraycopy(ps, 0, all, 1, ps.length);
        return all;
    }

    private static void checkModule(Module m, Tensor x) {
        GradCheck.check(in -> m.forward(in.get(0)), with(x, m)).assertOk();
    }

    @Test void conv2d() {
        checkModule(new Conv2d(2, 3, 3, 1, 1, 1, 1, true, rng), Tensor.randn(rng, 2, 2, 5, 5));
        checkModule(new Conv2d(4, 4, 3, 2, 1, 1, 2, false, rng), Tensor.randn(rng, 1, 4, 6, 6));
        checkModule(new Conv2d(2, 2, 3, 1, 2, 2, 1, false, rng), Tensor.randn(rng, 1, 2, 5, 5));
    }

    @Test void batchNorm2dInTraining() {
        BatchNorm2d bn = new BatchNorm2d(3);
        try (var s = org.pulmo.autograd.GradMode.noGrad()) {
            bn.weight.copyFrom(Tensor.rand(rng, 0.5f, 1.5f, 3));
            bn.bias.copyFrom(Tensor.randn(rng, 3));
        }
        checkModule(bn, Tensor.randn(rng, 2, 3, 3, 3));
    }

    @Test void batchNorm2dInEvaluation() {
        BatchNorm2d bn = new BatchNorm2d(3);
        bn.forward(Tensor.randn(rng, 4, 3, 3, 3).mul(2f).add(1f)); // non-trivial running statistics
        bn.eval();
        checkModule(bn, Tensor.randn(rng, 2, 3, 3, 3));
    }

    @Test void batchNorm1dInTraining() {
        checkModule(new BatchNorm1d(4), Tensor.randn(rng, 5, 4));
        checkModule(new BatchNorm1d(2), Tensor.randn(rng, 3, 2, 4));
    }

    @Test void linear() {
        checkModule(new Linear(5, 3, rng), Tensor.randn(rng, 4, 5));
        checkModule(new Linear(3, 2, false, rng), Tensor.randn(rng, 2, 3, 3));
    }

    @Test void activationsAndPools() {
        checkModule(new ReLU(), GradCheck.spaced(rng, 2, 3, 4));
        checkModule(new Sigmoid(), Tensor.randn(rng, 2, 3, 4));
        checkModule(new MaxPool2d(2), GradCheck.spaced(rng, 1, 2, 4, 4));
        checkModule(new MaxPool2d(3, 2, 1), GradCheck.spaced(rng, 1, 2, 5, 5));
        checkModule(new AvgPool2d(2), Tensor.randn(rng, 1, 2, 4, 4));
        checkModule(new AvgPool2d(3, 2, 1), Tensor.randn(rng, 1, 2, 5, 5));
        checkModule(new GlobalAvgPool(), Tensor.randn(rng, 2, 3, 3, 3));
        checkModule(new GlobalMaxPool(), GradCheck.spaced(rng, 2, 3, 3, 3));
        checkModule(new Flatten(), Tensor.randn(rng, 2, 3, 2, 2));
    }

    @Test void dropoutWithAFixedMask() {
        // a fresh generator per call gives the same mask on every evaluation of the check
        Tensor x = Tensor.randn(rng, 3, 8).requiresGrad(true);
        GradCheck.check(in -> new Dropout(0.3f, new Rng(9)).forward(in.get(0)), x).assertOk();
    }

    @Test void squeezeExcitation() {
        SqueezeExcitation se = new SqueezeExcitation(32, 8, rng); // reduced width 4
        try (var s = org.pulmo.autograd.GradMode.noGrad()) {
            se.fc1.bias.fill(0.3f); // keep the bottleneck ReLU away from 0
        }
        GradCheck.Options o = GradCheck.Options.DEFAULT;
        GradCheck.check(in -> se.forward(in.get(0)), o, with(Tensor.randn(rng, 2, 32, 2, 2), se)).assertOk();
    }

    @Test void crossEntropyPlainAndWeighted() {
        Tensor labels = Tensor.of(new float[] {0, 2, 1, 2}, 4);
        Tensor w = Tensor.of(new float[] {0.5f, 2f, 1f}, 3);
        GradCheck.check(in -> Losses.crossEntropy(in.get(0), labels), Tensor.randn(rng, 4, 3).requiresGrad(true)).assertOk();
        GradCheck.check(in -> Losses.crossEntropy(in.get(0), labels, w), Tensor.randn(rng, 4, 3).requiresGrad(true)).assertOk();
    }

    @Test void cosineSimilarity() {
        Tensor a = Tensor.randn(rng, 3, 2, 2, 2).requiresGrad(true), b = Tensor.randn(rng, 3, 2, 2, 2).requiresGrad(true);
        GradCheck.check(in -> Losses.cosineSimilarity(in.get(0), in.get(1)), a, b).assertOk();
    }

    @Test void adaptiveLossWithConstantWeights() {
        Tensor labels = Tensor.of(new float[] {1, 0, 2}, 3);
        Tensor logits = Tensor.randn(rng, 3, 3).requiresGrad(true);
        Tensor a = Tensor.randn(rng, 3, 4).requiresGrad(true), b = Tensor.randn(rng, 3, 4).requiresGrad(true);
        float[] weights;
        try (var s = org.pulmo.autograd.GradMode.noGrad()) {
            Tensor ce = Losses.crossEntropy(logits, labels), cs = Losses.cosineSimilarity(a, b).neg().add(1f);
            weights = AdaptiveWeightedLoss.weights(ce, cs);
        }
        // the weights are constants in backward: the check holds them fixed (they change with the inputs otherwise)
        GradCheck.check(in -> AdaptiveWeightedLoss.combine(Losses.crossEntropy(in.get(0), labels),
            Losses.cosineSimilarity(in.get(1), in.get(2)).neg().add(1f), weights[0], weights[1]), logits, a, b).assertOk();
        // and combine() computes its weights from detached values, so its gradient is exactly a1 dCE + a2 dCS
        Tensor l = AdaptiveWeightedLoss.combine(Losses.crossEntropy(logits, labels), Losses.cosineSimilarity(a, b).neg().add(1f));
        l.backward();
        float[] g1 = logits.grad().toArray();
        logits.zeroGrad();
        Losses.crossEntropy(logits, labels).mul(weights[0]).backward();
        assertArrayEquals(logits.grad().toArray(), g1, 1e-7f);
    }

    @Test void differentiatedAdaptiveWeights() {
        // ADAPTIVE_GRAD: L = a1 L_CE + (1 - a1) L_CS with a1 = sigmoid(1/L_CE - 1/L_CS) differentiated too; the check
        // lets a1 vary with the inputs (unlike the constant-weight loss above, whose gradient would fail it)
        Tensor logits = Tensor.randn(rng, 3, 2).requiresGrad(true);
        Tensor labels = Tensor.of(new float[] {0, 1, 1}, 3);
        Tensor a = Tensor.randn(rng, 3, 4).requiresGrad(true), b = Tensor.randn(rng, 3, 4).requiresGrad(true);
        GradCheck.Fn f = in -> {
            Tensor ce = Losses.crossEntropy(in.get(0), labels), cs = Losses.cosineSimilarity(in.get(1), in.get(2)).neg().add(1.5f);
            return AdaptiveWeightedLoss.combine(ce, cs, AdaptiveWeightedLoss.weightOfFirst(ce, cs));
        };
        GradCheck.check(f, logits, a, b).assertOk();
        // the same value as the constant-weight loss, and a different gradient (the weights' own derivative)
        Tensor ce = Losses.crossEntropy(logits, labels), cs = Losses.cosineSimilarity(a, b).neg().add(1.5f);
        Tensor a1 = AdaptiveWeightedLoss.weightOfFirst(ce, cs);
        assertEquals(AdaptiveWeightedLoss.weightOfFirst(ce.item(), cs.item()), a1.item(), 1e-6);
        GradCheck.Result constant = GradCheck.check(in -> {
            Tensor c = Losses.crossEntropy(in.get(0), labels), s2 = Losses.cosineSimilarity(in.get(1), in.get(2)).neg().add(1.5f);
            return AdaptiveWeightedLoss.combine(c, s2);
        }, logits, a, b);
        assertFalse(constant.ok(), "a loss whose weights are constants in backward must not pass the check of the differentiated one");
    }

    @Test void theCheckHasTeeth() {
        // y = x^2 with a backward that forgets the factor 2: the check must fail
        Tensor x = Tensor.randn(rng, 5).requiresGrad(true);
        GradCheck.Result r = GradCheck.check(in -> {
            Tensor v = in.get(0);
            return Graph.record("wrongSquare", v.detach().square(), g -> new Tensor[] {g.mul(v.detach())}, v);
        }, x);
        assertFalse(r.ok());
    }

    /** A small network of every trainable layer kind; every parameter must receive a non-zero gradient. */
    @Test void everyParameterOfASmallModelGetsAGradient() {
        Sequential net = new Sequential(
            new Conv2d(3, 16, 3, 1, 1, true, rng), new BatchNorm2d(16), new ReLU(), new SqueezeExcitation(16, 4, rng),
            new MaxPool2d(2), new Conv2d(16, 8, 3, 1, 1, false, rng), new BatchNorm2d(8), new ReLU(), new AvgPool2d(2),
            new Flatten(), new BatchNorm1d(8 * 2 * 2), new Dropout(0.1f, new Rng(1)), new Linear(32, 3, rng));
        Tensor x = Tensor.randn(rng, 4, 3, 8, 8);
        Tensor loss = Losses.crossEntropy(net.forward(x), Tensor.of(new float[] {0, 1, 2, 1}, 4));
        assertFalse(Float.isNaN(loss.item()));
        loss.backward();
        for (Map.Entry<String, Tensor> e : net.namedParameters().entrySet()) {
            Tensor g = e.getValue().grad();
            assertNotNull(g, e.getKey() + " has no gradient");
            float max = 0;
            for (float v : g.toArray()) {
                assertFalse(Float.isNaN(v), e.getKey());
                max = Math.max(max, Math.abs(v));
            }
            assertTrue(max > 0, e.getKey() + " has an all-zero gradient");
        }
    }
}
