package org.pulmo.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;

import org.junit.jupiter.api.Test;
import org.pulmo.backend.Conv2dParams;
import org.pulmo.tensor.Rng;
import org.pulmo.tensor.Tensor;

/**
 * conv2d with only one of its operands differentiated: a fixed filter applied to an input that requires grad (an
 * image gradient, a frozen layer before a trainable one) still gives the input its gradient, and a constant input
 * with a trainable weight gives the weight its own; each against the op page's plain-loop reference.
 */
class ConvFrozenOperandTest {

    private static void close(float[] want, float[] got, String what) {
        assertEquals(want.length, got.length, what + ": length");
        for (int i = 0; i < want.length; i++) assertEquals(want[i], got[i], 1e-4f * (1 + Math.abs(want[i])), what + " at " + i);
    }

    @Test void aFixedWeightStillGivesTheInputItsGradient() {
        Rng rng = new Rng(64);
        int n = 2, c = 3, h = 6, w = 5, cOut = 4, k = 3;
        Conv2dParams p = Conv2dParams.of(1, 1, 1, 1);
        Tensor x = Tensor.randn(rng, n, c, h, w).requiresGrad(true), wt = Tensor.randn(rng, cOut, c, k, k);
        Tensor y = Convolution.conv2d(x, wt, null, p);
        Tensor dy = Tensor.randn(rng, y.shape());
        y.backward(dy);
        assertNotNull(x.grad(), "the input's gradient");
        close(Convolution.referenceBackwardInput(dy.toArray(), n, c, h, w, wt.toArray(), cOut, k, k, p), x.grad().toArray(), "dx");
        assertNull(wt.grad(), "no gradient for a weight that does not require one");
    }

    @Test void aConstantInputStillGivesTheWeightItsGradient() {
        Rng rng = new Rng(65);
        int n = 2, c = 2, h = 5, w = 7, cOut = 3, k = 3;
        Conv2dParams p = Conv2dParams.of(2, 1, 1, 1);
        Tensor x = Tensor.randn(rng, n, c, h, w), wt = Tensor.randn(rng, cOut, c, k, k).requiresGrad(true);
        Tensor y = Convolution.conv2d(x, wt, null, p);
        Tensor dy = Tensor.randn(rng, y.shape());
        y.backward(dy);
        assertNotNull(wt.grad(), "the weight's gradient");
        close(Convolution.referenceBackwardWeight(x.toArray(), dy.toArray(), n, c, h, w, cOut, k, k, p), wt.grad().toArray(), "dW");
        assertNull(x.grad(), "no gradient for an input that does not require one");
    }
}
