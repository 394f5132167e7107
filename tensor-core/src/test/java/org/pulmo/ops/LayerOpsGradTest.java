package org.pulmo.ops;

import static org.pulmo.autograd.GradCheck.assertGradients;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.pulmo.autograd.GradCheck;
import org.pulmo.backend.Conv2dParams;
import org.pulmo.backend.Pool2dParams;
import org.pulmo.tensor.Rng;
import org.pulmo.tensor.Tensor;

/** Gradient checks of matmul, softmax, conv2d, pooling, batch norm and gather. */
class LayerOpsGradTest {

    private static Tensor randn(Rng rng, int... shape) { return Tensor.randn(rng, shape).requiresGrad(true); }

    /** x · wᵀ with w as stored (a Linear layer): gradients, and w's gradient in w's own layout. */
    @Test void matmulTransposed() {
        Rng rng = new Rng(8);
        assertGradients(in -> LinearAlgebra.matmulTransposed(in.get(0), in.get(1)), randn(rng, 3, 4), randn(rng, 5, 4));
        assertGradients(in -> LinearAlgebra.matmulTransposed(in.get(0), in.get(1)), randn(rng, 2, 3, 4), randn(rng, 2, 4)); // N-D x 2-D
        assertGradients(in -> LinearAlgebra.matmulTransposed(in.get(0), in.get(1)), randn(rng, 20, 6), randn(rng, 7, 6)); // past the few-rows path
        Tensor x = randn(rng, 6, 4), w = randn(rng, 3, 4);
        Tensor y = LinearAlgebra.matmulTransposed(x, w);
        org.junit.jupiter.api.Assertions.assertArrayEquals(x.matmul(w.transpose(0, 1)).toArray(), y.toArray(), 1e-6f);
        y.backward(randn(rng, 6, 3));
        org.junit.jupiter.api.Assertions.assertTrue(w.grad().isContiguous(), "w's gradient in w's layout [3, 4]");
    }

    @Test void matmul() {
        Rng rng = new Rng(1);
        assertGradients(in -> in.get(0).matmul(in.get(1)), randn(rng, 3, 4), randn(rng, 4, 5));
        assertGradients(in -> in.get(0).matmul(in.get(1)), randn(rng, 2, 3, 4), randn(rng, 2, 4, 2));      // batched
        assertGradients(in -> in.get(0).matmul(in.get(1)), randn(rng, 2, 2, 3, 4), randn(rng, 4, 3));      // N-D x 2-D
        assertGradients(in -> in.get(0).matmul(in.get(1)), randn(rng, 2, 3, 2, 2), randn(rng, 2, 3, 2, 3)); // 4-D batched
        // strided operands (the transposed weight of a Linear layer)
        Tensor a = Tensor.randn(rng, 4, 3).transpose(0, 1).requiresGrad(true), b = Tensor.randn(rng, 5, 4).transpose(0, 1).requiresGrad(true);
        assertGradients(in -> in.get(0).matmul(in.get(1)), a, b);
        // the same with 20 rows: past the dot-product path for a few rows, into the packed GEMM
        assertGradients(in -> in.get(0).matmul(in.get(1)), Tensor.randn(rng, 6, 20).transpose(0, 1).requiresGrad(true),
                Tensor.randn(rng, 7, 6).transpose(0, 1).requiresGrad(true));
        // one operand constant
        Tensor w = Tensor.randn(rng, 4, 2);
        assertGradients(in -> in.get(0).matmul(w), randn(rng, 3, 4));
        assertGradients(in -> w.transpose(0, 1).matmul(in.get(0)), randn(rng, 4, 3));
    }

    @Test void softmaxAndLogSoftmax() {
        Rng rng = new Rng(2);
        for (int dim : new int[] {0, 1, 2, -1}) {
            Tensor x = randn(rng, 2, 3, 4);
            assertGradients(in -> in.get(0).softmax(dim), x);
            assertGradients(in -> in.get(0).logSoftmax(dim), x);
        }
        Tensor t = Tensor.randn(rng, 4, 3).transpose(0, 1).requiresGrad(true); // strided
        assertGradients(in -> in.get(0).softmax(1), t);
        assertGradients(in -> in.get(0).logSoftmax(0), t);
        // large logits: the max is subtracted, so nothing overflows
        Tensor big = Tensor.randn(rng, 2, 5).mul(30f).add(100f).detach().requiresGrad(true);
        assertGradients(in -> in.get(0).logSoftmax(1), big);
    }

    /** Checks x, w and (if given) bias of one convolution. */
    private static void checkConv(long seed, int[] xs, int[] ws, boolean bias, Conv2dParams p) {
        Rng rng = new Rng(seed);
        Tensor x = randn(rng, xs), w = Tensor.randn(rng, ws).mul(0.5f).detach().requiresGrad(true);
        if (bias) {
            Tensor b = randn(rng, ws[0]);
            assertGradients(in -> Convolution.conv2d(in.get(0), in.get(1), in.get(2), p), x, w, b);
        } else {
            assertGradients(in -> Convolution.conv2d(in.get(0), in.get(1), null, p), x, w);
        }
    }

    @Test void conv2dPlain() {
        checkConv(10, new int[] {2, 2, 5, 5}, new int[] {3, 2, 3, 3}, true, Conv2dParams.of(1, 0, 1, 1));
        checkConv(11, new int[] {1, 3, 4, 4}, new int[] {2, 3, 1, 1}, false, Conv2dParams.of(1, 0, 1, 1)); // 1x1
    }

    @Test void conv2dStridePaddingDilation() {
        checkConv(12, new int[] {2, 2, 6, 6}, new int[] {2, 2, 3, 3}, true, Conv2dParams.of(2, 1, 1, 1));
        checkConv(13, new int[] {1, 2, 7, 7}, new int[] {2, 2, 3, 3}, false, Conv2dParams.of(1, 2, 2, 1));
        checkConv(14, new int[] {1, 2, 7, 6}, new int[] {3, 2, 3, 3}, true, Conv2dParams.of(3, 1, 2, 1));
    }

    @Test void conv2dGroupsAndDepthwise() {
        checkConv(15, new int[] {2, 4, 5, 5}, new int[] {6, 2, 3, 3}, true, Conv2dParams.of(1, 1, 1, 2));   // groups 2
        checkConv(16, new int[] {1, 4, 5, 5}, new int[] {4, 1, 3, 3}, false, Conv2dParams.of(1, 1, 1, 4));  // depthwise
        checkConv(17, new int[] {1, 3, 6, 6}, new int[] {6, 1, 3, 3}, true, Conv2dParams.of(2, 1, 1, 3));   // depthwise x2
    }

    @Test void conv2dNonSquare() {
        // non-square input and kernel, different strides and paddings per axis
        checkConv(18, new int[] {1, 2, 5, 7}, new int[] {2, 2, 3, 2}, true, new Conv2dParams(2, 1, 1, 0, 1, 2, 1));
        checkConv(19, new int[] {2, 2, 4, 6}, new int[] {2, 1, 1, 3}, false, new Conv2dParams(1, 2, 0, 1, 1, 1, 2));
    }

    @Test void conv2dStridedInputAndTensorMethod() {
        Rng rng = new Rng(20);
        Tensor x = Tensor.randn(rng, 1, 2, 5, 4).transpose(2, 3).requiresGrad(true); // [1, 2, 4, 5], strided
        Tensor w = Tensor.randn(rng, 3, 3, 2, 2).permute(1, 0, 2, 3).requiresGrad(true); // [3, 3, 2, 2] strided
        Tensor w2 = Tensor.randn(rng, 2, 3, 2, 2).transpose(0, 1).requiresGrad(true);   // [3, 2, 2, 2]
        assertGradients(in -> in.get(0).conv2d(in.get(1), null, 1, 1, 1, 1), x, w2);
        Tensor xx = Tensor.randn(rng, 1, 3, 4, 4).requiresGrad(true);
        assertGradients(in -> in.get(0).conv2d(in.get(1), null, 2, 0, 1, 1), xx, w);
    }

    @Test void conv2dLargerByDirections() {
        // too many elements for the full Jacobian to be quick: random directions instead
        Rng rng = new Rng(21);
        Tensor x = randn(rng, 2, 8, 12, 12), w = Tensor.randn(rng, 16, 4, 3, 3).mul(0.3f).detach().requiresGrad(true);
        Tensor b = randn(rng, 16);
        GradCheck.checkDirections(in -> in.get(0).conv2d(in.get(1), in.get(2), 1, 1, 1, 2).tanh(),
            GradCheck.Options.DEFAULT, 4, x, w, b).assertOk();
    }

    @Test void maxPool2d() {
        Rng rng = new Rng(30);
        assertGradients(in -> in.get(0).maxPool2d(2, 2, 0), GradCheck.spaced(rng, 2, 2, 4, 4).requiresGrad(true));
        assertGradients(in -> in.get(0).maxPool2d(3, 2, 1), GradCheck.spaced(rng, 1, 2, 5, 5).requiresGrad(true));
        assertGradients(in -> in.get(0).maxPool2d(3, 1, 1), GradCheck.spaced(rng, 1, 1, 4, 5).requiresGrad(true)); // overlapping
        assertGradients(in -> Pooling.maxPool2d(in.get(0), new Pool2dParams(2, 3, 1, 2, 1, 1, true)),
            GradCheck.spaced(rng, 1, 2, 4, 5).requiresGrad(true)); // non-square window
        Tensor strided = GradCheck.spaced(rng, 1, 2, 5, 4).transpose(2, 3).requiresGrad(true);
        assertGradients(in -> in.get(0).maxPool2d(2, 2, 1), strided);
    }

    @Test void avgPool2d() {
        Rng rng = new Rng(31);
        assertGradients(in -> in.get(0).avgPool2d(2, 2, 0), randn(rng, 2, 2, 4, 4));
        assertGradients(in -> in.get(0).avgPool2d(3, 2, 1), randn(rng, 1, 2, 5, 5)); // count_include_pad
        assertGradients(in -> Pooling.avgPool2d(in.get(0), new Pool2dParams(3, 3, 2, 2, 1, 1, false)), randn(rng, 1, 2, 5, 5));
        assertGradients(in -> Pooling.avgPool2d(in.get(0), new Pool2dParams(3, 2, 1, 2, 1, 1, true)), randn(rng, 1, 1, 4, 5));
        Tensor strided = Tensor.randn(rng, 1, 2, 5, 4).transpose(2, 3).requiresGrad(true);
        assertGradients(in -> in.get(0).avgPool2d(3, 1, 1), strided);
    }

    @Test void globalPools() {
        Rng rng = new Rng(32);
        assertGradients(in -> in.get(0).globalAvgPool(), randn(rng, 2, 3, 3, 4));
        assertGradients(in -> in.get(0).globalMaxPool(), GradCheck.spaced(rng, 2, 3, 3, 4).requiresGrad(true));
    }

    @Test void batchNormTraining() {
        Rng rng = new Rng(40);
        for (int[] xs : new int[][] {{3, 2, 2, 3}, {5, 3}, {2, 2, 5}}) {
            int c = xs[1];
            Tensor x = randn(rng, xs), w = GradCheck.uniform(rng, 0.5f, 1.5f, c).requiresGrad(true), b = randn(rng, c);
            assertGradients(in -> Normalization.batchNorm(in.get(0), in.get(1), in.get(2), null, null, true, 0.1f, 1e-5f), x, w, b);
            assertGradients(in -> Normalization.batchNorm(in.get(0), null, null, null, null, true, 0.1f, 1e-5f), x);
            assertGradients(in -> Normalization.batchNorm(in.get(0), in.get(1), null, null, null, true, 0.1f, 1e-5f), x, w);
            assertGradients(in -> Normalization.batchNorm(in.get(0), null, in.get(1), null, null, true, 0.1f, 1e-5f), x, b);
        }
        // running statistics are updated in place but do not change the training output
        Tensor x = randn(rng, 4, 2, 3, 3), rm = Tensor.zeros(2), rv = Tensor.ones(2);
        Tensor w = randn(rng, 2), b = randn(rng, 2);
        assertGradients(in -> Normalization.batchNorm(in.get(0), in.get(1), in.get(2), rm, rv, true, 0.1f, 1e-5f), x, w, b);
        // strided input
        Tensor xt = Tensor.randn(rng, 3, 2, 4, 2).transpose(0, 2).requiresGrad(true); // [4, 2, 3, 2]
        assertGradients(in -> Normalization.batchNorm(in.get(0), in.get(1), in.get(2), null, null, true, 0.1f, 1e-5f), xt, w, b);
    }

    /** relu(batchNorm(x)) as one op, training and evaluation; inputs whose normalised values stay off the kink. */
    @Test void batchNormRelu() {
        Rng rng = new Rng(42);
        for (int[] xs : new int[][] {{3, 2, 2, 3}, {5, 3}}) {
            int c = xs[1];
            Tensor x = randn(rng, xs), w = GradCheck.uniform(rng, 0.5f, 1.5f, c).requiresGrad(true), b = randn(rng, c);
            Tensor v = Normalization.batchNorm(x.detach(), w.detach(), b.detach(), null, null, true, 0.1f, 1e-5f);
            for (float e : v.toArray()) org.junit.jupiter.api.Assertions.assertTrue(Math.abs(e) > 0.02f, "an input at the ReLU's kink: " + e);
            assertGradients(in -> Normalization.batchNormRelu(in.get(0), in.get(1), in.get(2), null, null, true, 0.1f, 1e-5f), x, w, b);
            assertGradients(in -> Normalization.batchNormRelu(in.get(0), null, null, null, null, true, 0.1f, 1e-5f), x);
        }
        Tensor rm = Tensor.randn(rng, 3), rv = GradCheck.uniform(rng, 0.5f, 2f, 3);
        Tensor x = randn(rng, 2, 3, 2, 2), w = randn(rng, 3), b = randn(rng, 3);
        assertGradients(in -> Normalization.batchNormRelu(in.get(0), in.get(1), in.get(2), rm, rv, false, 0.1f, 1e-5f), x, w, b);
    }

    /**
     * Batch norm of two stacked batches, each with its own statistics (and its ReLU version): gradients by finite
     * differences, values and running statistics as two separate calls on the halves. Statistics over the whole
     * batch (a paired op that forgot the halves) give other values.
     */
    @Test void batchNormPaired() {
        Rng rng = new Rng(47);
        for (int[] xs : new int[][] {{4, 2, 2, 3}, {6, 3}}) {
            int c = xs[1];
            Tensor x = randn(rng, xs), w = GradCheck.uniform(rng, 0.5f, 1.5f, c).requiresGrad(true), b = randn(rng, c);
            assertGradients(in -> Normalization.batchNormPaired(in.get(0), in.get(1), in.get(2), null, null, false, 0.1f, 1e-5f, false), x, w, b);
            assertGradients(in -> Normalization.batchNormPaired(in.get(0), null, null, null, null, false, 0.1f, 1e-5f, false), x);
            Tensor v = Normalization.batchNormPaired(x.detach(), w.detach(), b.detach(), null, null, false, 0.1f, 1e-5f, false);
            for (float e : v.toArray()) org.junit.jupiter.api.Assertions.assertTrue(Math.abs(e) > 0.02f, "an input at the ReLU's kink: " + e);
            assertGradients(in -> Normalization.batchNormPaired(in.get(0), in.get(1), in.get(2), null, null, false, 0.1f, 1e-5f, true), x, w, b);
        }
        Tensor x = randn(rng, 4, 3, 2, 2).detach(), w = randn(rng, 3).detach(), b = randn(rng, 3).detach();
        for (boolean relu : new boolean[] {false, true})
            for (boolean secondMoves : new boolean[] {false, true}) {
                Tensor rm = Tensor.randn(rng, 3), rv = GradCheck.uniform(rng, 0.5f, 2f, 3), rm2 = rm.copy(), rv2 = rv.copy();
                Tensor paired = Normalization.batchNormPaired(x, w, b, rm, rv, secondMoves, 0.1f, 1e-5f, relu);
                Tensor first = relu ? Normalization.batchNormRelu(x.narrow(0, 0, 2), w, b, rm2, rv2, true, 0.1f, 1e-5f)
                    : Normalization.batchNorm(x.narrow(0, 0, 2), w, b, rm2, rv2, true, 0.1f, 1e-5f);
                Tensor second = relu ? Normalization.batchNormRelu(x.narrow(0, 2, 2), w, b, secondMoves ? rm2 : null, secondMoves ? rv2 : null, true, 0.1f, 1e-5f)
                    : Normalization.batchNorm(x.narrow(0, 2, 2), w, b, secondMoves ? rm2 : null, secondMoves ? rv2 : null, true, 0.1f, 1e-5f);
                String what = "relu=" + relu + " secondMoves=" + secondMoves;
                org.junit.jupiter.api.Assertions.assertArrayEquals(Tensor.cat(0, first, second).toArray(), paired.toArray(), 1e-6f, what);
                org.junit.jupiter.api.Assertions.assertArrayEquals(rm2.toArray(), rm.toArray(), 1e-6f, "running mean " + what);
                org.junit.jupiter.api.Assertions.assertArrayEquals(rv2.toArray(), rv.toArray(), 1e-6f, "running var " + what);
            }
        Tensor whole = Normalization.batchNorm(x, w, b, null, null, true, 0.1f, 1e-5f);
        Tensor paired = Normalization.batchNormPaired(x, w, b, null, null, false, 0.1f, 1e-5f, false);
        org.junit.jupiter.api.Assertions.assertFalse(java.util.Arrays.equals(whole.toArray(), paired.toArray()), "the halves' statistics differ from the batch's");
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
            () -> Normalization.batchNormPaired(randn(rng, 3, 2, 2, 2), null, null, null, null, false, 0.1f, 1e-5f, false));
    }

    @Test void batchNormEval() {
        Rng rng = new Rng(41);
        Tensor rm = Tensor.randn(rng, 3), rv = GradCheck.uniform(rng, 0.5f, 2f, 3);
        Tensor x = randn(rng, 2, 3, 2, 2), w = randn(rng, 3), b = randn(rng, 3);
        assertGradients(in -> Normalization.batchNorm(in.get(0), in.get(1), in.get(2), rm, rv, false, 0.1f, 1e-5f), x, w, b);
        assertGradients(in -> Normalization.batchNorm(in.get(0), null, null, rm, rv, false, 0.1f, 1e-5f), x);
        assertGradients(in -> Normalization.batchNorm(in.get(0), null, in.get(1), rm, rv, false, 0.1f, 1e-5f), x, b);
        assertGradients(in -> Normalization.batchNorm(in.get(0), in.get(1), null, rm, rv, false, 0.1f, 1e-5f), x, w);
        // eval output does not depend on the batch: one sample alone gives the same values
        Tensor one = x.detach().narrow(0, 1, 1);
        org.junit.jupiter.api.Assertions.assertArrayEquals(
            Normalization.batchNorm(x.detach(), w.detach(), b.detach(), rm, rv, false, 0.1f, 1e-5f).narrow(0, 1, 1).toArray(),
            Normalization.batchNorm(one, w.detach(), b.detach(), rm, rv, false, 0.1f, 1e-5f).toArray(), 1e-6f);
    }

    @Test void batchNormStats() {
        Rng rng = new Rng(42);
        for (int[] xs : new int[][] {{3, 2, 2, 2}, {4, 3}}) {
            Tensor x = randn(rng, xs);
            GradCheck.checkMulti(in -> { var mv = in.get(0).batchNormStats(); return List.of(mv.mean(), mv.var()); }, GradCheck.Options.DEFAULT, x).assertOk();
            GradCheck.assertGradients(in -> in.get(0).batchNormStats().mean(), x);
            GradCheck.assertGradients(in -> in.get(0).batchNormStats().var(), x);
        }
    }

    /** var's backward reads the mean, which the caller holds: changed through detach() before a backward of var alone, it is refused. */
    @Test void batchNormStatsRefusesAMeanChangedBeforeBackward() {
        Tensor x = randn(new Rng(43), 4, 3).requiresGrad(true);
        var mv = x.batchNormStats();
        mv.mean().detach().fill(5f);
        org.junit.jupiter.api.Assertions.assertThrows(IllegalStateException.class, () -> mv.var().sum().backward());
    }

    @Test void gather() {
        Rng rng = new Rng(50);
        Tensor x = randn(rng, 3, 5);
        Tensor idx1 = Tensor.of(new float[] {4, 0, 2, 2, 1, 3}, 3, 2); // repeated index: gradients add up
        assertGradients(in -> in.get(0).gather(1, idx1), x);
        Tensor idx0 = Tensor.of(new float[] {2, 0, 1, 1, 0, 0, 1, 2, 2, 1}, 2, 5);
        assertGradients(in -> in.get(0).gather(0, idx0), x);
        Tensor xt = Tensor.randn(rng, 5, 3).transpose(0, 1).requiresGrad(true);
        assertGradients(in -> in.get(0).gather(1, idx1), xt);
        // the classic use: log-likelihood of the target class
        Tensor target = Tensor.of(new float[] {1, 4, 0}, 3, 1);
        assertGradients(in -> in.get(0).logSoftmax(1).gather(1, target).mean(), x);
    }
}
