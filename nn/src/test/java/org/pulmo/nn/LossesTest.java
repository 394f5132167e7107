package org.pulmo.nn;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;
import org.pulmo.nn.loss.AdaptiveWeightedLoss;
import org.pulmo.nn.loss.Losses;
import org.pulmo.tensor.Tensor;

/** Loss values checked by hand and the adaptive weights at their edge cases. */
class LossesTest {

    @Test void crossEntropyByHand() {
        // uniform logits: -log(1/3) for every sample
        assertEquals(Math.log(3), Losses.crossEntropy(Tensor.zeros(2, 3), Tensor.of(new float[] {0, 2}, 2)).item(), 1e-6);
        // huge logits stay finite (log-softmax subtracts the max): each sample is 1000 below its max
        Tensor big = Tensor.of(new float[] {1000, 0, -1000, 0}, 2, 2);
        assertEquals(1000, Losses.crossEntropy(big, Tensor.of(new float[] {1, 0}, 2)).item(), 1e-3);
    }

    @Test void weightedCrossEntropyIsPyTorchsWeightedMean() {
        Tensor logits = Tensor.of(new float[] {2, 0, 0, 1, 0, 3}, 2, 3);
        Tensor labels = Tensor.of(new float[] {0, 2}, 2);
        double l0 = -(2 - Math.log(Math.exp(2) + 2)), l1 = -(3 - Math.log(Math.exp(1) + 1 + Math.exp(3)));
        double expected = (0.2 * l0 + 3 * l1) / (0.2 + 3);
        assertEquals(expected, Losses.crossEntropy(logits, labels, Tensor.of(new float[] {0.2f, 1f, 3f}, 3)).item(), 1e-6);
    }

    @Test void crossEntropyRejectsBadLabels() {
        assertThrows(IllegalArgumentException.class, () -> Losses.crossEntropy(Tensor.zeros(2, 3), Tensor.of(new float[] {0, 3}, 2)));
        assertThrows(IllegalArgumentException.class, () -> Losses.crossEntropy(Tensor.zeros(2, 3), Tensor.of(new float[] {0.5f, 1}, 2)));
        assertThrows(IllegalArgumentException.class, () -> Losses.crossEntropy(Tensor.zeros(2, 3), Tensor.zeros(3)));
    }

    @Test void cosineSimilarityByHand() {
        Tensor a = Tensor.of(new float[] {1, 0, 0, 2, 3, 4}, 2, 3);
        Tensor b = Tensor.of(new float[] {0, 5, 0, 4, 6, 8}, 2, 3); // orthogonal, then parallel
        assertEquals(0.5, Losses.cosineSimilarity(a, b).item(), 1e-6);
        // a zero vector: the eps keeps it finite (0), and backward too
        Tensor z = Tensor.zeros(1, 4).requiresGrad(true);
        Tensor c = Losses.cosineSimilarity(z, Tensor.ones(1, 4));
        assertEquals(0f, c.item());
        c.backward();
        for (float v : z.grad().toArray()) assertFalse(Float.isNaN(v) || Float.isInfinite(v));
    }

    @Test void adaptiveWeightsFollowEquation16() {
        assertEquals(0.5, AdaptiveWeightedLoss.weightOfFirst(0.7, 0.7), 1e-12);
        double ce = 0.8, cs = 0.4;
        double direct = Math.exp(1 / ce) / (Math.exp(1 / ce) + Math.exp(1 / cs));
        assertEquals(direct, AdaptiveWeightedLoss.weightOfFirst(ce, cs), 1e-12);
        assertTrue(AdaptiveWeightedLoss.weightOfFirst(ce, cs) < 0.5, "the larger loss gets the smaller weight");
    }

    @Test void adaptiveWeightsAtTheEdges() {
        assertEquals(1.0, AdaptiveWeightedLoss.weightOfFirst(0.0, 0.3), "a solved loss takes all the weight (limit)");
        assertEquals(0.0, AdaptiveWeightedLoss.weightOfFirst(0.3, 0.0));
        assertEquals(0.5, AdaptiveWeightedLoss.weightOfFirst(0.0, 0.0), "both solved: symmetric limit");
        // e^(1/L) overflows double for L < ~0.0014; the sigmoid form saturates instead
        double a = AdaptiveWeightedLoss.weightOfFirst(1e-5, 1e-4);
        assertEquals(1.0, a);
        assertEquals(0.0, AdaptiveWeightedLoss.weightOfFirst(1e-4, 1e-5));
        double mid = AdaptiveWeightedLoss.weightOfFirst(1e-3, 1e-3 + 1e-9);
        assertFalse(Double.isNaN(mid));
        assertTrue(Double.isNaN(AdaptiveWeightedLoss.weightOfFirst(Double.NaN, 1)), "NaN upstream is not hidden");
        Tensor l = AdaptiveWeightedLoss.combine(Tensor.scalar(0f), Tensor.scalar(0.5f));
        assertEquals(0f, l.item());
        Tensor m = AdaptiveWeightedLoss.combine(Tensor.scalar(1e-6f), Tensor.scalar(2e-6f));
        assertFalse(Float.isNaN(m.item()));
    }
}
