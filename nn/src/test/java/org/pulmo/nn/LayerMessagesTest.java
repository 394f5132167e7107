package org.pulmo.nn;

import static org.junit.jupiter.api.Assertions.*;

import java.util.Map;
import org.junit.jupiter.api.Test;
import org.pulmo.autograd.GradMode;
import org.pulmo.optim.Sgd;
import org.pulmo.tensor.Rng;
import org.pulmo.tensor.Tensor;

/** What a program that builds its own network is told when it gets a layer wrong: which layer, which shapes, what to do. */
class LayerMessagesTest {

    @Test void aConvolutionGivenTheWrongChannelsNamesItselfAndItsPlaceInASequential() {
        Rng rng = new Rng(0);
        Sequential net = new Sequential(new Conv2d(3, 8, 3, 1, 1, false, rng), new BatchNorm2d(8), new ReLU(),
            new Conv2d(4, 8, 3, 1, 1, false, rng));   // should take 8
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> net.forward(Tensor.randn(rng, 2, 3, 16, 16)));
        assertTrue(e.getMessage().startsWith("Sequential[3] Conv2d(4, 8, kernel_size=3"), e.getMessage());
        assertTrue(e.getMessage().contains("[2, 8, 16, 16]") && e.getMessage().contains("[N, 4, H, W]"), e.getMessage());

        Conv2d stem = new Conv2d(3, 8, 3, rng);
        IllegalArgumentException last = assertThrows(IllegalArgumentException.class, () -> stem.forward(Tensor.zeros(1, 32, 32, 3)));
        assertTrue(last.getMessage().contains("channels-last"), last.getMessage());
        assertThrows(IllegalArgumentException.class, () -> stem.forward(Tensor.zeros(3, 32, 32)), "a missing batch dimension");
    }

    /** A null layer was taken and failed later in forward or toString; a gradient of another shape failed at the next step. */
    @Test void aNullLayerAndAGradientOfAnotherShapeAreRefusedWhereTheyAreGiven() {
        assertEquals("Sequential: layer 1 is null",
            assertThrows(IllegalArgumentException.class, () -> new Sequential(new ReLU(), null)).getMessage());
        Tensor w = Tensor.zeros(2, 3).requiresGrad(true);
        assertEquals("setGrad: a gradient of shape [3, 2] for a tensor of shape [2, 3]",
            assertThrows(IllegalArgumentException.class, () -> w.setGrad(Tensor.zeros(3, 2))).getMessage());
        w.setGrad(Tensor.ones(2, 3));
        assertArrayEquals(new float[] {1, 1, 1, 1, 1, 1}, w.grad().toArray());
    }

    @Test void batchNormInTrainingOnOneValuePerChannelSaysWhatToDo() {
        BatchNorm2d bn = new BatchNorm2d(8);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> bn.forward(Tensor.ones(1, 8, 1, 1)));
        assertTrue(e.getMessage().startsWith("BatchNorm2d(8) in training") && e.getMessage().contains("eval()"), e.getMessage());
        bn.eval();
        assertArrayEquals(new int[] {1, 8, 1, 1}, bn.forward(Tensor.ones(1, 8, 1, 1)).shape(), "one image in evaluation mode");
        bn.train();
        assertArrayEquals(new int[] {1, 8, 2, 1}, bn.forward(Tensor.randn(new Rng(1), 1, 8, 2, 1)).shape(), "two values per channel");
    }

    @Test void sizesThatMakeNoLayerAreRefusedWhenBuilt() {
        Rng rng = new Rng(0);
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new Linear(16, 0, true, rng)).getMessage().contains("at least one class"));
        assertThrows(IllegalArgumentException.class, () -> new Linear(0, 4, true, rng));
        assertThrows(IllegalArgumentException.class, () -> new Conv2d(3, 0, 3, rng));
        assertThrows(IllegalArgumentException.class, () -> new Conv2d(3, 8, 0, rng));
        Map<String, Tensor> p = Map.of("w", Tensor.ones(2).requiresGrad(true));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new Sgd(p, 0.1f, 0.9f, -1e-4f)).getMessage().contains("weight decay"));
        assertThrows(IllegalArgumentException.class, () -> new Sgd(p, 0.1f, 0.9f, Float.NaN));
    }

    @Test void aPoolingWindowLargerThanItsInputIsRefusedNotRoundedToOne() {
        Tensor x = Tensor.randn(new Rng(2), 1, 1, 8, 8);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> new MaxPool2d(16, 16, 0).forward(x));
        assertTrue(e.getMessage().contains("maxPool2d") && e.getMessage().contains("16x16") && e.getMessage().contains("[1, 1, 8, 8]"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> new AvgPool2d(12, 8, 0).forward(x));
        assertThrows(IllegalArgumentException.class, () -> new MaxPool2d(10, 1, 0).forward(x));
        assertArrayEquals(new int[] {1, 1, 1, 1}, new MaxPool2d(8, 8, 0).forward(x).shape(), "a window of the whole plane fits once");
        // the same rounding in a convolution: 3 rows, a 4-row kernel, stride 2 gave one output row
        assertThrows(IllegalArgumentException.class, () -> new Conv2d(1, 1, 4, 2, 0, false, new Rng(3)).forward(Tensor.ones(1, 1, 3, 3)));
        assertArrayEquals(new int[] {1, 1, 1, 1}, new Conv2d(1, 1, 4, 2, 0, false, new Rng(3)).forward(Tensor.ones(1, 1, 4, 5)).shape());
    }

    @Test void noGradBelongsToTheThreadThatOpenedIt() throws Exception {
        Tensor w = Tensor.ones(2).requiresGrad(true);
        boolean[] recordedElsewhere = new boolean[1], enabledThereAfter = new boolean[1];
        GradMode.Scope scope = GradMode.noGrad();
        assertFalse(GradMode.isEnabled());
        Thread other = new Thread(() -> {
            recordedElsewhere[0] = w.mul(w).requiresGrad();
            scope.close();   // closed on another thread: gives recording back to the opener, not to this thread
            enabledThereAfter[0] = GradMode.isEnabled();
        });
        other.start();
        other.join();
        assertTrue(recordedElsewhere[0], "a scope covers its own thread only");
        assertTrue(enabledThereAfter[0], "closing it there left that thread as it was");
        assertTrue(GradMode.isEnabled(), "the opener records again once its scope is closed");
    }

    /** One sample [in] goes through a Linear as PyTorch's does: [out], the same values as a batch of one. */
    @Test void aLinearTakesOneSampleWithoutABatchDimension() {
        Rng rng = new Rng(4);
        Linear fc = new Linear(3, 2, rng);
        Tensor x = Tensor.randn(rng, 3);
        assertArrayEquals(new int[] {2}, fc.forward(x).shape());
        assertArrayEquals(fc.forward(x.reshape(1, 3)).toArray(), fc.forward(x).toArray());
    }

    /**
     * Batch norm in evaluation reads the running statistics; a training forward that moves them before that graph's
     * backward would give gradients of the new values: refused, naming them. With the statistics frozen nothing moves.
     */
    @Test void anEvaluationGraphIsStaleOnceATrainingForwardMovesTheRunningStatistics() {
        Rng rng = new Rng(6);
        BatchNorm2d bn = new BatchNorm2d(3);
        Tensor x = Tensor.randn(rng, 2, 3, 4, 4).requiresGrad(true);
        bn.eval();
        Tensor loss = bn.forward(x).square().sum();
        bn.train();
        bn.forward(Tensor.randn(rng, 2, 3, 4, 4));
        IllegalStateException e = assertThrows(IllegalStateException.class, loss::backward);
        assertTrue(e.getMessage().contains("batch norm's running statistics"), e.getMessage());

        bn.eval();
        Tensor again = bn.forward(x).square().sum();
        bn.train();
        try (var frozen = BatchNorm.freezeRunningStatistics()) { bn.forward(Tensor.randn(rng, 2, 3, 4, 4)); }
        again.backward();   // frozen: nothing moved
        assertTrue(x.grad() != null);
    }

    /** eps <= 0 gave NaN on a constant channel, a momentum past 1 running statistics outside the batches' range. */
    @Test void batchNormRefusesAnEpsOrMomentumItCannotUse() {
        for (float eps : new float[] {0f, -2f, Float.NaN, Float.POSITIVE_INFINITY}) {
            String m = assertThrows(IllegalArgumentException.class, () -> new BatchNorm2d(2, eps, 0.1f, true)).getMessage();
            assertTrue(m.startsWith("BatchNorm(2): eps must be a positive number, got " + eps), m);
        }
        for (float momentum : new float[] {-0.1f, 1.5f, Float.NaN}) {
            String m = assertThrows(IllegalArgumentException.class, () -> new BatchNorm1d(3, 1e-5f, momentum, true)).getMessage();
            assertTrue(m.startsWith("BatchNorm(3): momentum must be in [0, 1], got " + momentum), m);
        }
        BatchNorm2d full = new BatchNorm2d(1, 1e-3f, 1f, false);   // momentum 1: the running statistics are the last batch's
        full.forward(Tensor.of(new float[] {1, 3}, 2, 1, 1, 1));
        assertEquals(2f, full.runningMean.item(), 1e-6);
    }
}
