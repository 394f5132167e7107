package org.pulmo.models;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import org.pulmo.nn.Module;
import org.pulmo.tensor.Rng;
import org.pulmo.tensor.Tensor;

/** Checks shared by the model tests. */
final class ModelChecks {
    private ModelChecks() {}

    static void assertFinite(Tensor t, String what) {
        for (float v : t.toArray()) if (!Float.isFinite(v)) fail(what + " has a non-finite value " + v);
    }

    /**
     * One training step's forward and backward: L = sum(out * R) with a fixed random R (so every output element
     * matters), then every parameter must have a gradient that is finite and not identically zero.
     */
    static Tensor assertGradientReachesEveryParameter(Module model, Function<Tensor, Tensor> forward, Tensor x) {
        model.train();
        model.zeroGrad();
        Tensor out = forward.apply(x);
        assertFinite(out, "output");
        Tensor r = Tensor.randn(new Rng(99), out.shape());
        out.mul(r).sum().backward();
        assertGradients(model);
        return out;
    }

    /**
     * Biases that feed a training-mode BatchNorm directly (FAB's fc1 and fc2) have a gradient that is zero in
     * exact arithmetic (the batch mean removes any constant), so only their presence and finiteness are checked.
     */
    static final java.util.regex.Pattern BIAS_BEFORE_BN = java.util.regex.Pattern.compile("(^|.*\\.)fab\\.\\d\\.fc[12]\\.bias");

    static void assertGradients(Module model) {
        List<String> missing = new ArrayList<>(), zero = new ArrayList<>();
        for (Map.Entry<String, Tensor> e : model.namedParameters().entrySet()) {
            Tensor g = e.getValue().grad();
            if (g == null) { missing.add(e.getKey()); continue; }
            assertArrayEquals(e.getValue().shape(), g.shape(), e.getKey());
            boolean any = false;
            for (float v : g.toArray()) {
                if (!Float.isFinite(v)) fail("gradient of " + e.getKey() + " has " + v);
                if (v != 0) any = true;
            }
            if (!any && !BIAS_BEFORE_BN.matcher(e.getKey()).matches()) zero.add(e.getKey());
        }
        assertTrue(missing.isEmpty(), "no gradient reached " + missing);
        assertTrue(zero.isEmpty(), "gradient identically zero for " + zero);
    }

    static void assertShape(int[] expected, Tensor t) { assertArrayEquals(expected, t.shape(), () -> java.util.Arrays.toString(t.shape())); }

    static void assertCount(long expected, Module m) { assertEquals(expected, m.parameterCount(), m.getClass().getSimpleName()); }

    /**
     * Random running statistics (mean N(0, 0.3), variance in [0.5, 2)), scale in [0.5, 1.5) and shift N(0, biasStd)
     * in every batch norm of {@code m}, drawn in that order, so that a check against a hand-written reference sees
     * batch norms that are not the identity.
     */
    static void randomizeBatchNorms(Module m, Rng rng, float biasStd) {
        try (var g = org.pulmo.autograd.GradMode.noGrad()) {
            for (Module c : m.namedModules().values())
                if (c instanceof org.pulmo.nn.BatchNorm bn) {
                    bn.runningMean.copyFrom(Tensor.randn(rng, bn.numFeatures).mul(0.3f));
                    bn.runningVar.copyFrom(Tensor.rand(rng, 0.5f, 2f, bn.numFeatures));
                    bn.weight.copyFrom(Tensor.rand(rng, 0.5f, 1.5f, bn.numFeatures));
                    bn.bias.copyFrom(Tensor.randn(rng, bn.numFeatures).mul(biasStd));
                }
        }
    }
}
