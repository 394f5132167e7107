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

    /**
     * A float32 cross-entropy of a batch classified with margins past ~37 is exactly -0.0: solved, so its weight is 1,
     * in the double form and on the device alike (1/-0.0 = -inf gave it the weight 0, and the whole loss to L_CS).
     */
    @Test void aCrossEntropyOfMinusZeroIsSolved() {
        Tensor ce = Losses.crossEntropy(Tensor.of(new float[] {40f, 0f, 0f, 45f}, 2, 2), Tensor.of(new float[] {0, 1}, 2));
        assertTrue(ce.item() == 0f, "cross-entropy " + ce.item());   // -0.0 as computed, whose sign the weights must ignore
        assertEquals(1.0, AdaptiveWeightedLoss.weightOfFirst(-0.0, 0.3));
        assertEquals(0.0, AdaptiveWeightedLoss.weightOfFirst(0.3, -0.0));
        assertEquals(1f, AdaptiveWeightedLoss.weightOfFirst(ce, Tensor.scalar(0.3f)).item());
        assertEquals(1f, AdaptiveWeightedLoss.weightOfFirst(Tensor.scalar(-0f), Tensor.scalar(-0.4f)).item());
        assertEquals(0f, AdaptiveWeightedLoss.weightOfFirst(Tensor.scalar(0.3f), Tensor.scalar(-0f)).item());
    }

    /**
     * Both losses 0, or both so small that 1/L overflows float: the tensor form gives the symmetric 0.5 as the double form
     * does (inf - inf gave NaN, and a converged MA-Net stopped as diverged), its derivative finite.
     */
    @Test void bothLossesSolvedWeighHalfOnTheDeviceToo() {
        assertEquals(0.5, AdaptiveWeightedLoss.weightOfFirst(1e-39, 1e-39));
        for (float[] v : new float[][] {{0f, 0f}, {-0f, 0f}, {1e-39f, 1e-39f}, {2e-39f, 0f}}) {
            String at = java.util.Arrays.toString(v);
            assertEquals(0.5f, AdaptiveWeightedLoss.weightOfFirst(Tensor.scalar(v[0]), Tensor.scalar(v[1])).item(), at);
            Tensor ce = Tensor.scalar(v[0]).requiresGrad(true), cs = Tensor.scalar(v[1]).requiresGrad(true);
            Tensor total = AdaptiveWeightedLoss.combine(ce, cs, AdaptiveWeightedLoss.weightOfFirst(ce, cs));
            total.backward();
            assertTrue(Float.isFinite(total.item()) && Float.isFinite(ce.grad().item()) && Float.isFinite(cs.grad().item()),
                at + ": " + total.item() + ", " + ce.grad().item() + ", " + cs.grad().item());
        }
        assertEquals(1f, AdaptiveWeightedLoss.weightOfFirst(Tensor.scalar(1e-20f), Tensor.scalar(0.5f)).item(), "a tiny loss is still the solved one");
    }

    /**
     * ADAPTIVE_GRAD at a loss of 0, or so small that 1/L^2 overflows: the gradient is the limit (the solved loss's
     * weight 1, the other's 0, the weights' own derivative 0), never NaN; and where nothing saturates, the same as
     * autograd's chain through 1/L.
     */
    @Test void differentiatedWeightsStayFiniteAtASolvedLoss() {
        for (float[] v : new float[][] {{0f, 0.5f}, {-0f, 0.5f}, {5e-21f, 0.5f}, {0.5f, 0f}, {0.5f, 1e-22f}, {0.4f, -0.3f}}) {
            Tensor ce = Tensor.scalar(v[0]).requiresGrad(true), cs = Tensor.scalar(v[1]).requiresGrad(true);
            AdaptiveWeightedLoss.combine(ce, cs, AdaptiveWeightedLoss.weightOfFirst(ce, cs)).backward();
            double a1 = AdaptiveWeightedLoss.weightOfFirst(v[0], v[1]);
            // dL/dL_CE = a1 + (L_CE - L_CS) da1/dL_CE, da1/dL_CE = -a1 a2 / L_CE^2 (0 in the limits); likewise L_CS
            double d1 = Math.abs(v[0]) < 1e-18 ? 0 : -a1 * (1 - a1) / ((double) v[0] * v[0]);
            double d2 = Math.abs(v[1]) < 1e-18 ? 0 : a1 * (1 - a1) / ((double) v[1] * v[1]);
            String at = java.util.Arrays.toString(v);
            assertEquals(a1 + (v[0] - v[1]) * d1, ce.grad().item(), 1e-5 * Math.max(1, Math.abs(a1 + (v[0] - v[1]) * d1)), at);
            assertEquals(1 - a1 + (v[0] - v[1]) * d2, cs.grad().item(), 1e-5 * Math.max(1, Math.abs(1 - a1 + (v[0] - v[1]) * d2)), at);
        }
    }

    /** An empty batch, a negative or infinite class weight and weights that give a batch's labels 0 all made NaN (or a loss to raise). */
    @Test void crossEntropyRefusesWhatHasNoWeightedMean() {
        String empty = assertThrows(IllegalArgumentException.class, () -> Losses.crossEntropy(Tensor.zeros(0, 3), Tensor.zeros(0))).getMessage();
        assertTrue(empty.contains("[0, 3]") && empty.contains("empty batch"), empty);
        Tensor logits = Tensor.zeros(2, 3), labels = Tensor.of(new float[] {0, 2}, 2);
        String neg = assertThrows(IllegalArgumentException.class,
            () -> Losses.crossEntropy(logits, labels, Tensor.of(new float[] {-1, 1, 1}, 3))).getMessage();
        assertTrue(neg.contains("-1.0") && neg.contains("class 0"), neg);
        assertThrows(IllegalArgumentException.class, () -> Losses.crossEntropy(logits, labels, Tensor.of(new float[] {1, Float.POSITIVE_INFINITY, 1}, 3)));
        assertThrows(IllegalArgumentException.class, () -> Losses.crossEntropy(logits, labels, Tensor.of(new float[] {1, 1, Float.NaN}, 3)));
        String zero = assertThrows(IllegalArgumentException.class,
            () -> Losses.crossEntropy(logits, labels, Tensor.of(new float[] {0, 5, 0}, 3))).getMessage();
        assertTrue(zero.contains("total weight of 0"), zero);
        // a zero weight on a class this batch does not hold is fine: the loss is the labelled classes' mean
        assertEquals(Math.log(3), Losses.crossEntropy(logits, labels, Tensor.of(new float[] {1, 0, 1}, 3)).item(), 1e-6);
    }
}
