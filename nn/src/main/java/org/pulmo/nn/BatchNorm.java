package org.pulmo.nn;

import org.pulmo.autograd.GradMode;
import org.pulmo.ops.Normalization;
import org.pulmo.tensor.Tensor;

/**
 * Batch normalisation (Ioffe and Szegedy, 2015) over [N, C, *] per channel: y = (x - mean) / sqrt(var + eps)
 * * weight + bias. In training the batch's mean and biased variance normalise, and the running estimates
 * move towards them: running = (1 - momentum) * running + momentum * batch, the variance unbiased
 * (times M / (M - 1), M values per channel), exactly PyTorch's rule. In evaluation the running estimates
 * normalise. Parameters weight [C] (init 1) and bias [C] (init 0); buffers running_mean [C] (0),
 * running_var [C] (1) and, optionally, num_batches_tracked (a scalar count of training batches, kept so that
 * PyTorch state dicts load strictly; stored as float, exact up to 2^24 batches).
 */
public abstract sealed class BatchNorm extends Module permits BatchNorm1d, BatchNorm2d {
    public final int numFeatures;
    public final float eps, momentum;
    public final Tensor weight, bias, runningMean, runningVar;
    public final Tensor numBatchesTracked; // null when not tracked

    protected BatchNorm(int numFeatures, float eps, float momentum, boolean trackBatches) {
        if (numFeatures < 1) throw new IllegalArgumentException("BatchNorm needs at least one feature, got " + numFeatures);
        this.numFeatures = numFeatures;
        this.eps = eps;
        this.momentum = momentum;
        this.weight = registerParameter("weight", Tensor.ones(numFeatures));
        this.bias = registerParameter("bias", Tensor.zeros(numFeatures));
        this.runningMean = registerBuffer("running_mean", Tensor.zeros(numFeatures));
        this.runningVar = registerBuffer("running_var", Tensor.ones(numFeatures));
        this.numBatchesTracked = trackBatches ? registerBuffer("num_batches_tracked", Tensor.zeros()) : null;
    }

    /** Throws unless x has the rank this layer accepts. */
    protected abstract void checkInput(Tensor x);

    @Override public Tensor forward(Tensor x) {
        countBatch(x);
        return Normalization.batchNorm(x, weight, bias, runningMean, runningVar, isTraining(), momentum, eps);
    }

    /**
     * relu(forward(x)) as one op: the same values and gradients as {@code forward(x).relu()}, but in training
     * the CPU backend applies the ReLU inside batch norm's passes instead of two passes of its own per direction.
     * For the conv-bn-relu and bn-relu-conv pairs of ResNet and DPN.
     */
    public Tensor forwardRelu(Tensor x) {
        countBatch(x);
        return Normalization.batchNormRelu(x, weight, bias, runningMean, runningVar, isTraining(), momentum, eps);
    }

    /** Checks x against this layer and, in training, counts the batch in num_batches_tracked. */
    private void countBatch(Tensor x) {
        checkInput(x);
        if (x.shape()[1] != numFeatures)
            throw new IllegalArgumentException(getClass().getSimpleName() + "(" + numFeatures + ") got input with "
                + x.shape()[1] + " channels, shape " + java.util.Arrays.toString(x.shape()));
        if (isTraining() && numBatchesTracked != null)
            try (var ignored = GradMode.noGrad()) { numBatchesTracked.addInPlace(Tensor.full(1f, numBatchesTracked.device()), 1f); }
    }

    @Override protected String extraRepr() { return numFeatures + ", eps=" + eps + ", momentum=" + momentum; }
}
