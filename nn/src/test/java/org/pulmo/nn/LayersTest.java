package org.pulmo.nn;

import static org.junit.jupiter.api.Assertions.*;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.pulmo.tensor.MemoryScope;
import org.pulmo.tensor.Rng;
import org.pulmo.tensor.Tensor;

/** Small examples checked by hand, shapes, and initialisation statistics. */
class LayersTest {

    @Test void linearComputesXTimesWeightTransposedPlusBias() {
        Linear fc = new Linear(2, 2, new Rng(0));
        try (var s = org.pulmo.autograd.GradMode.noGrad()) {
            fc.weight.copyFrom(Tensor.of(new float[] {1, 2, 3, 4}, 2, 2));
            fc.bias.copyFrom(Tensor.of(new float[] {10, 20}, 2));
        }
        // [1, 1] · [[1, 3], [2, 4]] + [10, 20] = [13, 27]
        assertArrayEquals(new float[] {13, 27}, fc.forward(Tensor.of(new float[] {1, 1}, 1, 2)).toArray());
    }

    @Test void batchNormTrainUsesBatchStatsAndUpdatesRunningWithUnbiasedVariance() {
        BatchNorm1d bn = new BatchNorm1d(1);
        Tensor x = Tensor.of(new float[] {1, 2, 3, 6}, 4, 1); // mean 3, biased var 3.5, unbiased 14/3
        float[] y = bn.forward(x).toArray();
        double inv = 1 / Math.sqrt(3.5 + 1e-5);
        assertArrayEquals(new float[] {(float) (-2 * inv), (float) (-1 * inv), 0f, (float) (3 * inv)}, y, 1e-5f);
        assertEquals(0.1f * 3, bn.runningMean.item(), 1e-6f);
        assertEquals(0.9f + 0.1f * 14 / 3f, bn.runningVar.item(), 1e-6f);
        assertEquals(1f, bn.numBatchesTracked.item());
        bn.eval();
        float[] e = bn.forward(Tensor.of(new float[] {0.3f}, 1, 1)).toArray();
        assertEquals((0.3 - 0.3) / Math.sqrt(bn.runningVar.item() + 1e-5), e[0], 1e-6);
        assertEquals(1f, bn.numBatchesTracked.item(), "eval does not count batches");
    }

    @Test void batchNorm2dShapesAndChecks() {
        BatchNorm2d bn = new BatchNorm2d(3);
        assertArrayEquals(new int[] {2, 3, 4, 4}, bn.forward(Tensor.randn(new Rng(1), 2, 3, 4, 4)).shape());
        assertThrows(IllegalArgumentException.class, () -> bn.forward(Tensor.zeros(2, 4, 4, 4)));
        assertThrows(IllegalArgumentException.class, () -> bn.forward(Tensor.zeros(2, 3)));
        assertFalse(new BatchNorm2d(3, 1e-3f, 0.01f, false).stateDict().containsKey("num_batches_tracked"));
    }

    /** forwardRelu is forward(x).relu() in training and evaluation: values, running statistics, batch count, gradients. */
    @Test void batchNormForwardReluIsForwardThenRelu() {
        BatchNorm2d fused = new BatchNorm2d(3), plain = new BatchNorm2d(3);
        Tensor x = Tensor.randn(new Rng(4), 2, 3, 5, 5);
        Tensor xa = x.detach().requiresGrad(true), xb = x.detach().requiresGrad(true);
        Tensor ya = fused.forwardRelu(xa), yb = plain.forward(xb).relu();
        assertArrayEquals(yb.toArray(), ya.toArray());
        Tensor g = Tensor.randn(new Rng(5), 2, 3, 5, 5);
        ya.mul(g).sum().backward();
        yb.mul(g).sum().backward();
        assertArrayEquals(xb.grad().toArray(), xa.grad().toArray());
        assertArrayEquals(plain.weight.grad().toArray(), fused.weight.grad().toArray());
        assertArrayEquals(plain.bias.grad().toArray(), fused.bias.grad().toArray());
        assertArrayEquals(plain.runningMean.toArray(), fused.runningMean.toArray());
        assertArrayEquals(plain.runningVar.toArray(), fused.runningVar.toArray());
        assertEquals(1f, fused.numBatchesTracked.item());
        fused.eval();
        plain.eval();
        assertArrayEquals(plain.forward(x).relu().toArray(), fused.forwardRelu(x).toArray());
        assertThrows(IllegalArgumentException.class, () -> fused.forwardRelu(Tensor.zeros(2, 4, 4, 4)));
    }

    /**
     * forwardAddRelu is forward(x).addRelu(r) in training (one batch, and two halves as MA-Net runs them) and in
     * evaluation: values, running statistics and gradients bit for bit; and inside a step's memory scope batch norm's
     * output is given back at once, after which the backward still gives those gradients (its array goes back to the
     * pool and is handed out again filled with NaN, so a backward that read it would show it).
     */
    @Test void batchNormForwardAddReluIsForwardThenAddRelu() {
        for (boolean paired : new boolean[] {false, true}) {
            BatchNorm2d fused = new BatchNorm2d(3), plain = new BatchNorm2d(3);
            try (var ng = org.pulmo.autograd.GradMode.noGrad()) {
                for (BatchNorm2d b : List.of(fused, plain)) {
                    b.weight.copyFrom(Tensor.rand(new Rng(6), 0.5f, 1.5f, 3));
                    b.bias.copyFrom(Tensor.randn(new Rng(7), 3));
                }
            }
            Tensor x = Tensor.randn(new Rng(4), 4, 3, 5, 5), r = Tensor.randn(new Rng(8), 4, 3, 5, 5), g = Tensor.randn(new Rng(5), 4, 3, 5, 5);
            Tensor xa = x.detach().requiresGrad(true), xb = x.detach().requiresGrad(true);
            Tensor ra = r.detach().requiresGrad(true), rb = r.detach().requiresGrad(true);
            float[][] a, b;
            try (MemoryScope scope = MemoryScope.open();
                 var halves = paired ? BatchNorm.pairedBatches(false) : null) {
                Tensor outA = fused.forwardAddRelu(xa, ra);
                assertTrue(outA.gradFn().inputs()[0].storage().isReleased(), "batch norm's output is given back at once");
                Tensor.full(Float.NaN, 4, 3, 5, 5).add(0f);   // the pool hands its array out again, NaN-filled
                outA.mul(g).sum().backward();
                a = new float[][] {outA.toArray(), xa.grad().toArray(), ra.grad().toArray(), fused.weight.grad().toArray(), fused.bias.grad().toArray()};
            }
            try (var halves = paired ? BatchNorm.pairedBatches(false) : null) {
                Tensor outB = plain.forward(xb).addRelu(rb);
                outB.mul(g).sum().backward();
                b = new float[][] {outB.toArray(), xb.grad().toArray(), rb.grad().toArray(), plain.weight.grad().toArray(), plain.bias.grad().toArray()};
            }
            String at = paired ? "paired: " : "";
            String[] what = {"values", "dx", "d residual", "d weight", "d bias"};
            for (int i = 0; i < what.length; i++) assertArrayEquals(b[i], a[i], at + what[i]);
            assertArrayEquals(plain.runningMean.toArray(), fused.runningMean.toArray(), at + "running mean");
            assertArrayEquals(plain.runningVar.toArray(), fused.runningVar.toArray(), at + "running var");
            fused.eval();
            plain.eval();
            assertArrayEquals(plain.forward(x).addRelu(r).toArray(), fused.forwardAddRelu(x, r).toArray(), at + "evaluation");
        }
    }

    @Test void convShapesAndInit() {
        Conv2d conv = new Conv2d(16, 64, 3, 2, 1, 1, 1, false, new Rng(7));
        assertArrayEquals(new int[] {2, 64, 8, 8}, conv.forward(Tensor.randn(new Rng(1), 2, 16, 16, 16)).shape());
        float[] w = conv.weight.toArray();
        double mean = 0, sq = 0;
        for (float v : w) { mean += v; sq += v * v; }
        mean /= w.length;
        double std = Math.sqrt(sq / w.length - mean * mean);
        double expected = Math.sqrt(2.0 / (64 * 9)); // Kaiming normal, fan_out = 64 * 3 * 3
        assertEquals(expected, std, expected * 0.05);
        assertEquals(0, mean, expected * 0.05);
        Conv2d grouped = new Conv2d(4, 8, 3, 1, 1, 1, 2, true, new Rng(1));
        assertArrayEquals(new int[] {8, 2, 3, 3}, grouped.weight.shape());
        assertArrayEquals(new float[8], grouped.bias.toArray());
        assertArrayEquals(new int[] {1, 8, 5, 5}, grouped.forward(Tensor.randn(new Rng(2), 1, 4, 5, 5)).shape());
    }

    @Test void linearInitIsUniformWithinOneOverSqrtIn() {
        Linear fc = new Linear(100, 50, new Rng(3));
        float bound = 0.1f;
        for (float v : fc.weight.toArray()) assertTrue(Math.abs(v) <= bound);
        for (float v : fc.bias.toArray()) assertTrue(Math.abs(v) <= bound);
        float max = 0;
        for (float v : fc.weight.toArray()) max = Math.max(max, Math.abs(v));
        assertTrue(max > 0.09f, "spread over the whole range");
        float[] again = new Linear(100, 50, new Rng(3)).weight.toArray();
        assertArrayEquals(fc.weight.toArray(), again, "seeded");
    }

    @Test void poolsAndFlatten() {
        Tensor x = Tensor.arange(16).reshape(1, 1, 4, 4);
        assertArrayEquals(new float[] {5, 7, 13, 15}, new MaxPool2d(2).forward(x).toArray());
        assertArrayEquals(new float[] {2.5f, 4.5f, 10.5f, 12.5f}, new AvgPool2d(2).forward(x).toArray());
        assertArrayEquals(new float[] {7.5f}, new GlobalAvgPool().forward(x).toArray());
        assertArrayEquals(new float[] {15f}, new GlobalMaxPool().forward(x).toArray());
        assertArrayEquals(new int[] {1, 16}, new Flatten().forward(x).shape());
        assertArrayEquals(new int[] {1, 1, 2, 2}, new MaxPool2d(3, 2, 1).forward(x).shape());
    }

    @Test void dropoutIsSeededScaledAndOffInEval() {
        Tensor x = Tensor.ones(1000);
        float[] a = new Dropout(0.25f, new Rng(5)).forward(x).toArray();
        float[] b = new Dropout(0.25f, new Rng(5)).forward(x).toArray();
        assertArrayEquals(a, b);
        int zeros = 0;
        for (float v : a) {
            if (v == 0) zeros++;
            else assertEquals(1f / 0.75f, v, 1e-6f);
        }
        assertTrue(zeros > 200 && zeros < 300, "about p of the values dropped: " + zeros);
        Dropout d = new Dropout(0.5f, new Rng(5));
        d.eval();
        assertSame(x, d.forward(x));
        assertThrows(IllegalArgumentException.class, () -> new Dropout(1f, new Rng(1)));
    }

    @Test void squeezeExcitationWidthAndShape() {
        assertEquals(4, new SqueezeExcitation(64, new Rng(1)).reduced);
        assertEquals(1, new SqueezeExcitation(8, new Rng(1)).reduced, "floor(8/16) = 0, kept at 1");
        assertEquals(2, new SqueezeExcitation(47, new Rng(1)).reduced, "floor(47/16)");
        SqueezeExcitation se = new SqueezeExcitation(32, new Rng(1));
        assertArrayEquals(new int[] {2, 32}, se.fc1.weight.shape());
        assertArrayEquals(new int[] {32, 2}, se.fc2.weight.shape());
        Tensor x = Tensor.randn(new Rng(2), 2, 32, 3, 3);
        Tensor y = se.forward(x);
        assertArrayEquals(x.shape(), y.shape());
        // each channel is scaled by one factor in (0, 1)
        float[] xv = x.toArray(), yv = y.toArray();
        for (int c = 0; c < 64; c++) {
            float k = yv[c * 9] / xv[c * 9];
            assertTrue(k > 0 && k < 1);
            for (int i = 1; i < 9; i++) assertEquals(k * xv[c * 9 + i], yv[c * 9 + i], 1e-5f);
        }
    }

    @Test void sequentialAppliesInOrder() {
        Sequential s = new Sequential(new ReLU(), new Sigmoid());
        assertArrayEquals(new float[] {0.5f, (float) (1 / (1 + Math.exp(-2)))}, s.forward(Tensor.of(new float[] {-1, 2}, 2)).toArray(), 1e-6f);
        assertEquals(2, s.size());
    }

    @Test void frozenRunningStatisticsNormaliseByTheBatchAndMoveNothing() {
        Tensor x = Tensor.randn(new Rng(61), 4, 3, 5, 5).mul(2f).add(0.7f);
        BatchNorm2d frozen = new BatchNorm2d(3), free = new BatchNorm2d(3);
        frozen.runningMean.fill(0.3f);
        frozen.runningVar.fill(2f);
        float[] out;
        try (var f = BatchNorm.freezeRunningStatistics()) {
            out = frozen.forward(x).toArray();
            assertArrayEquals(new float[] {0.3f, 0.3f, 0.3f}, frozen.runningMean.toArray());
            assertArrayEquals(new float[] {2f, 2f, 2f}, frozen.runningVar.toArray());
            assertEquals(0f, frozen.numBatchesTracked.item(), "a frozen batch is not counted");
        }
        assertArrayEquals(free.forward(x).toArray(), out, "the output is still normalised by the batch statistics");
        assertEquals(1f, free.numBatchesTracked.item());
        frozen.forward(x); // the scope is closed: the running statistics move again
        assertNotEquals(0.3f, frozen.runningMean.toArray()[0]);
        assertEquals(1f, frozen.numBatchesTracked.item());
    }

    @Test void recomputedRunningStatisticsAreThePlainAverageOfTheBatches() {
        Rng rng = new Rng(62);
        java.util.List<Tensor> batches = java.util.List.of(Tensor.randn(rng, 3, 2, 4, 4).add(1f), Tensor.randn(rng, 5, 2, 4, 4).mul(3f),
            Tensor.randn(rng, 2, 2, 4, 4).sub(2f));
        BatchNorm2d bn = new BatchNorm2d(2);
        bn.runningMean.fill(9f);
        bn.numBatchesTracked.fill(7f);
        assertEquals(3, BatchNorm.recomputeRunningStatistics(bn, batches, bn::forward));
        double[] mean = new double[2], var = new double[2];
        for (Tensor b : batches) {
            float[] v = b.toArray();
            int n = b.shape()[0], hw = 16, m = n * hw;
            for (int c = 0; c < 2; c++) {
                double s = 0, ss = 0;
                for (int i = 0; i < n; i++) for (int p = 0; p < hw; p++) s += v[(i * 2 + c) * hw + p];
                double mu = s / m;
                for (int i = 0; i < n; i++) for (int p = 0; p < hw; p++) { double d = v[(i * 2 + c) * hw + p] - mu; ss += d * d; }
                mean[c] += mu / batches.size();
                var[c] += ss / (m - 1) / batches.size(); // unbiased, as the running variance is kept
            }
        }
        for (int c = 0; c < 2; c++) {
            assertEquals(mean[c], bn.runningMean.toArray()[c], 1e-5);
            assertEquals(var[c], bn.runningVar.toArray()[c], 1e-4);
        }
        assertEquals(7f, bn.numBatchesTracked.item(), "the batch count is left as it was");
        assertFalse(bn.isTraining(), "left in evaluation mode");
    }
}
