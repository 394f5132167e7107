package org.pulmo.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.pulmo.tensor.Rng;

/**
 * Linear's bias starts as torch.nn.Linear's: uniform(-1/sqrt(in), 1/sqrt(in)), not zeros (zeros are DenseNet's
 * classifier, which sets them itself). For U(-b, b): mean 0, mean |x| = b / 2, variance b^2 / 3.
 */
class LinearBiasInitTest {

    @Test void biasIsUniformWithinOneOverSqrtIn() {
        int in = 16, out = 4000;
        float[] b = new Linear(in, out, new Rng(7)).bias.toArray();
        double bound = 1 / Math.sqrt(in), sum = 0, sumAbs = 0, sumSq = 0, max = 0;
        for (float v : b) {
            assertTrue(Math.abs(v) <= bound, "within the bound: " + v);
            sum += v;
            sumAbs += Math.abs(v);
            sumSq += (double) v * v;
            max = Math.max(max, Math.abs(v));
        }
        // standard errors over 4000 draws: mean ~0.0023, mean |x| ~0.0011, variance ~0.0004
        assertEquals(0, sum / out, 0.012, "mean");
        assertEquals(bound / 2, sumAbs / out, 0.006, "mean |bias|");
        assertEquals(bound * bound / 3, sumSq / out, 0.002, "variance");
        assertTrue(max > 0.95 * bound, "spread over the whole range: " + max);
    }
}
