package org.pulmo.ops;

import org.pulmo.autograd.GradMode;
import org.pulmo.autograd.Graph;
import org.pulmo.backend.Backend;
import org.pulmo.backend.BinaryOp;
import org.pulmo.tensor.Shapes;
import org.pulmo.tensor.Tensor;

/**
 * Batch normalisation (Ioffe and Szegedy, 2015) over [N, C, *] per channel, as one fused op with its own
 * backward, plus the per-channel statistics as a differentiable op of their own.
 */
public final class Normalization {
    private Normalization() {}

    private static void check(Tensor x, String op) {
        if (x.dim() < 2) throw new IllegalArgumentException(op + " needs [N, C, ...] input, got " + Shapes.str(x.shape()));
    }

    /** x is [N, C, ...], every per-channel tensor is [C], and training has more than one value per channel. */
    private static void checkArguments(String op, Tensor x, boolean training, Tensor... perChannel) {
        check(x, op);
        int c = x.shape()[1];
        for (Tensor t : perChannel)
            if (t != null && (t.dim() != 1 || t.shape()[0] != c))
                throw new IllegalArgumentException(op + ": per-channel tensor of shape " + Shapes.str(t.shape())
                    + " does not match input " + Shapes.str(x.shape()) + " with " + c + " channels");
        if (training && x.numel() / c < 2)
            throw new IllegalArgumentException(op + " in training needs more than one value per channel, got input " + Shapes.str(x.shape())
                + " (a batch of one 1 x 1 map: normalise in evaluation mode, or use a batch of 2 or more)");
    }

    /** [1, C, 1, ...] so that a per-channel vector broadcasts against x. */
    static int[] channelShape(Tensor x) {
        int[] s = new int[x.dim()];
        java.util.Arrays.fill(s, 1);
        s[1] = x.shape()[1];
        return s;
    }

    /**
     * mean [C] and var [C] (biased) over every axis but 1, both differentiable. With M values per channel:
     * d mean / dx = 1/M;  d var / dx = 2 (x - mean) / M  (the path through the mean vanishes: sum(x - mean) = 0).
     */
    public static Backend.Moments batchNormStats(Tensor x) {
        check(x, "batchNormStats");
        var be = x.backend();
        Backend.Moments mv = be.batchNormStats(x);
        int[] xs = x.shape(), cs = channelShape(x);
        float invM = (float) (x.shape()[1] / (double) x.numel());
        Tensor meanV = mv.mean().detach();
        Tensor mean = Graph.record("bnMean", mv.mean(), g -> new Tensor[] {
            Views.expand(Views.reshape(Elementwise.scale(g, invM), cs), xs)}, x);
        // the mean is an input of var's node too (no gradient): its backward reads it, and the caller holds it (the mean output)
        Tensor var = Graph.record("bnVar", mv.var(), g -> new Tensor[] {
            Elementwise.mul(Elementwise.sub(x, Views.reshape(meanV, cs)), Views.reshape(Elementwise.scale(g, 2 * invM), cs)), null}, x, meanV);
        return new Backend.Moments(mean, var);
    }

    /**
     * y = (x - mean) / sqrt(var + eps) * weight + bias per channel. In training the batch statistics are used
     * ({@code Backend.batchNormTraining}) and the running ones move towards them in place: running = (1 - momentum) * running + momentum * batch,
     * with the unbiased variance (times M / (M - 1)), as PyTorch does. In evaluation the running statistics
     * are used and are constants for backward. weight and bias may be null (no affine part).
     */
    public static Tensor batchNorm(Tensor x, Tensor weight, Tensor bias, Tensor runningMean, Tensor runningVar,
                                   boolean training, float momentum, float eps) {
        checkArguments("batchNorm", x, training, weight, bias, runningMean, runningVar);
        if (training) return trainingOp("batchNorm", false, x, weight, bias, runningMean, runningVar, momentum, eps);
        if (runningMean == null || runningVar == null) {
            throw new IllegalArgumentException("batchNorm in evaluation needs running statistics");
        }
        var be = x.backend();
        Backend.BatchNormOut out = be.batchNormInference(x, weight, bias, runningMean, runningVar, eps);
        Tensor y = out.y(), meanS = out.mean(), invStdS = out.invStd();
        int[] cs = channelShape(x);
        int[] redDims = new int[x.dim() - 1];
        for (int i = 0, k = 0; i < x.dim(); i++) if (i != 1) redDims[k++] = i;
        // the running statistics too: backward reads them (through mean and invStd), so a training forward that moves them
        // before this op's backward makes it refuse (Storage.version) rather than differentiate at the new values
        Tensor[] inputs = {x, weight, bias, runningMean, runningVar};
        // evaluation: y = x * k + t with constants k = invStd * weight, so dx = g * k
        return Graph.record("batchNormEval", y, g -> {
            Tensor k = Views.reshape(weight == null ? invStdS : be.binary(BinaryOp.MUL, invStdS, weight), cs);
            Tensor dx = be.binary(BinaryOp.MUL, g, k);
            Tensor dbias = bias != null ? Reductions.sum(g, redDims, false) : null;
            Tensor dweight = null;
            if (weight != null) {
                Tensor xhat = be.binary(BinaryOp.MUL, be.binary(BinaryOp.SUB, x, Views.reshape(meanS, cs)), Views.reshape(invStdS, cs));
                dweight = Reductions.sum(be.binary(BinaryOp.MUL, g, xhat), redDims, false);
            }
            return new Tensor[] {dx, dweight, dbias, null, null};
        }, inputs);
    }

    /**
     * relu(batchNorm(x, ...)), the pair most convolution blocks open with (ResNet's conv-bn-relu, DPN's bn-relu-
     * conv). In training it is one op with one backward ({@code Backend.batchNormReluTraining}): on the CPU the
     * ReLU costs no pass of its own in either direction, and the gradients are bit for bit those of the two ops
     * run one after the other. In evaluation it is simply the two ops.
     */
    public static Tensor batchNormRelu(Tensor x, Tensor weight, Tensor bias, Tensor runningMean, Tensor runningVar,
                                       boolean training, float momentum, float eps) {
        if (!training) return Elementwise.relu(batchNorm(x, weight, bias, runningMean, runningVar, false, momentum, eps));
        checkArguments("batchNormRelu", x, true, weight, bias, runningMean, runningVar);
        return trainingOp("batchNormRelu", true, x, weight, bias, runningMean, runningVar, momentum, eps);
    }

    /**
     * Training-mode batch norm (with ReLU after it when relu) of x [2N, C, ...] taken as two batches [N, C, ...]
     * stacked along dimension 0, each normalised with its own batch statistics: the values and gradients of
     * {@link #batchNorm} (or {@link #batchNormRelu}) on each half, concatenated, as one op whose backward writes one
     * dx. The first half moves the running statistics when they are given, the second too when secondMovesRunning.
     * For two paths through shared layers run as one batch (MA-Net): the convolutions between the batch norms see
     * the whole 2N batch. Two narrow views and a cat through autograd would give the same result, but their backward
     * zero-fills two full-size gradients and sums them.
     */
    public static Tensor batchNormPaired(Tensor x, Tensor weight, Tensor bias, Tensor runningMean, Tensor runningVar,
                                         boolean secondMovesRunning, float momentum, float eps, boolean relu) {
        String name = relu ? "batchNormReluPaired" : "batchNormPaired";
        checkArguments(name, x, true, weight, bias, runningMean, runningVar);
        int n = x.shape()[0];
        if (n % 2 != 0 || x.numel() / x.shape()[1] / 2 < 2)
            throw new IllegalArgumentException(name + " needs an even batch of two halves with more than one value per channel each, got input " + Shapes.str(x.shape()));
        var be = x.backend();
        Backend.PairedBatchNormOut out;
        try (var ignored = GradMode.noGrad()) {
            out = be.batchNormTrainingPaired(x, weight, bias, runningMean, runningVar, secondMovesRunning, momentum, eps, relu);
        }
        runningStatisticsMoved(runningMean, runningVar, momentum);
        Tensor y = out.y(), yv = y.detach();
        return Graph.record(name, y, g -> {
            Backend.BatchNormGrads d = be.batchNormTrainingPairedBackward(g, x, yv, out, weight, bias, eps, relu);
            return gradients(d, weight, bias);
        }, x, weight, bias);
    }

    /**
     * The training op of batchNorm (relu false) and batchNormRelu: the backend's forward with batch statistics
     * (the running ones move in place, outside the graph) and its backward from the saved mean and invStd.
     */
    private static Tensor trainingOp(String name, boolean relu, Tensor x, Tensor weight, Tensor bias, Tensor runningMean,
                                     Tensor runningVar, float momentum, float eps) {
        var be = x.backend();
        Backend.BatchNormOut out;
        try (var ignored = GradMode.noGrad()) {
            out = relu ? be.batchNormReluTraining(x, weight, bias, runningMean, runningVar, momentum, eps)
                       : be.batchNormTraining(x, weight, bias, runningMean, runningVar, momentum, eps);
        }
        runningStatisticsMoved(runningMean, runningVar, momentum);
        Tensor y = out.y(), yv = y.detach(), mean = out.mean(), invStd = out.invStd();
        return Graph.record(name, y, g -> {
            Backend.BatchNormGrads d = relu ? be.batchNormReluTrainingBackward(g, x, yv, mean, invStd, weight, bias, eps)
                              : be.batchNormTrainingBackward(g, x, mean, invStd, weight, eps);
            return gradients(d, weight, bias);
        }, x, weight, bias);
    }

    /** A training forward moved the running statistics in place (momentum 0 leaves them): an evaluation graph that read them is stale. */
    private static void runningStatisticsMoved(Tensor runningMean, Tensor runningVar, float momentum) {
        if (momentum == 0f) return;
        for (Tensor t : new Tensor[] {runningMean, runningVar}) if (t != null) t.storage().markChanged("batch norm's running statistics");
    }

    /** The op's gradients {dx, dWeight, dBias}, null for an absent weight or bias. */
    private static Tensor[] gradients(Backend.BatchNormGrads d, Tensor weight, Tensor bias) {
        return new Tensor[] {d.dx(), weight != null ? d.dWeight() : null, bias != null ? d.dBias() : null};
    }
}
