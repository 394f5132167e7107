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
 *
 * <p>A NaN or infinity in a training batch reaches the running estimates, as in PyTorch (checking would read the
 * device's statistics back in every step), and every later evaluation gives NaN: {@code org.pulmo.io.Checkpoint}
 * refuses to save or load such buffers, naming the tensor, and the training loop stops on the batch's non-finite loss.
 */
public abstract sealed class BatchNorm extends Module permits BatchNorm1d, BatchNorm2d {
    public final int numFeatures;
    public final float eps, momentum;
    public final Tensor weight, bias, runningMean, runningVar;
    public final Tensor numBatchesTracked; // null when not tracked

    protected BatchNorm(int numFeatures, float eps, float momentum, boolean trackBatches) {
        if (numFeatures < 1) throw new IllegalArgumentException("BatchNorm needs at least one feature, got " + numFeatures);
        // eps keeps 1 / sqrt(var + eps) finite on a constant channel; momentum blends the running statistics, so past 1
        // they would leave the range of the batches' own
        if (!(eps > 0) || Float.isInfinite(eps))
            throw new IllegalArgumentException("BatchNorm(" + numFeatures + "): eps must be a positive number, got " + eps);
        if (!(momentum >= 0 && momentum <= 1))
            throw new IllegalArgumentException("BatchNorm(" + numFeatures + "): momentum must be in [0, 1], got " + momentum);
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

    @Override public Tensor forward(Tensor x) { return normalize(x, false); }

    /**
     * relu(forward(x)) as one op: the same values and gradients as {@code forward(x).relu()}, but in training
     * the CPU backend applies the ReLU inside batch norm's passes instead of two passes of its own per direction.
     * For the conv-bn-relu and bn-relu-conv pairs of ResNet and DPN.
     */
    public Tensor forwardRelu(Tensor x) { return normalize(x, true); }

    /**
     * relu(forward(x) + residual): ResNet's block ending (BN, add the shortcut, ReLU), with the same values and gradients
     * as {@code forward(x).addRelu(residual)}. Batch norm's output is given back as soon as the sum is made: neither
     * backward reads it (batch norm's reads x and its statistics, the ReLU's its own output), so a training step does
     * not hold one more activation of the block's output size per block until it ends (ResNet-50 at batch 32 and
     * 224 x 224: the forward's peak 4.13 -> 3.42 GB under the mock driver's counts).
     */
    public Tensor forwardAddRelu(Tensor x, Tensor residual) {
        Tensor y = normalize(x, false);
        Tensor out = y.addRelu(residual);
        y.releaseUnlessShared(x, residual, out);
        return out;
    }

    /** One batch, or in training inside a {@link #pairedBatches} scope the two halves of x, each as its own batch. */
    private Tensor normalize(Tensor x, boolean relu) {
        float pairing = PAIRED.get()[0];
        countBatch(x);
        if (pairing == UNPAIRED || !isTraining())
            return relu ? Normalization.batchNormRelu(x, weight, bias, trackedMean(), trackedVar(), isTraining(), momentumNow(), eps)
                : Normalization.batchNorm(x, weight, bias, trackedMean(), trackedVar(), isTraining(), momentumNow(), eps);
        boolean secondMoves = pairing == SECOND_OWN && trackedMean() != null;
        if (secondMoves) countBatch(x); // the second half is a batch of its own
        return Normalization.batchNormPaired(x, weight, bias, trackedMean(), trackedVar(), secondMoves, momentumNow(), eps, relu);
    }

    // ------------------------------------------------------------------ two batches in one, per thread

    private static final float UNPAIRED = 0f, SECOND_OWN = 1f, SECOND_FROZEN = 2f;
    /** This thread's pairing: UNPAIRED, or two halves with the second moving the running statistics or not. */
    private static final ThreadLocal<float[]> PAIRED = ThreadLocal.withInitial(() -> new float[] {UNPAIRED});

    /**
     * While the returned scope is open, training-mode batch norm on this thread takes its input [2N, ...] as two
     * batches [N, ...] stacked along dimension 0 and normalises each with its own batch statistics: the values and
     * gradients of two separate calls, first half then second. Running statistics move for the first half by the rule
     * in force and for the second half too, unless {@code freezeSecond}. MA-Net runs its two paths through the shared
     * backbone this way, as one batch of 2N for every convolution (larger GEMMs, one weight gradient) while each
     * path keeps its own batch statistics.
     */
    public static Scope pairedBatches(boolean freezeSecond) { return new Scope(PAIRED.get(), freezeSecond ? SECOND_FROZEN : SECOND_OWN); }

    /** Checks x against this layer and, in training, counts the batch in num_batches_tracked. */
    private void countBatch(Tensor x) {
        checkInput(x);
        if (x.shape()[1] != numFeatures)
            throw new IllegalArgumentException(getClass().getSimpleName() + "(" + numFeatures + ") got input with "
                + x.shape()[1] + " channels, shape " + java.util.Arrays.toString(x.shape()));
        if (isTraining() && x.numel() / numFeatures < 2)
            throw new IllegalArgumentException(getClass().getSimpleName() + "(" + numFeatures + ") in training needs more than one value"
                + " per channel to take batch statistics from, got input " + java.util.Arrays.toString(x.shape())
                + ": put the model in eval() to run one image, or train with a batch of 2 or more");
        if (isTraining() && numBatchesTracked != null && MOMENTUM.get()[0] != FROZEN)
            try (var ignored = GradMode.noGrad()) { numBatchesTracked.addInPlace(1f); }
    }

    // ------------------------------------------------------------------ running statistics, per thread

    private static final float OWN = Float.NaN, FROZEN = 0f;
    /** The running-statistics rule of training-mode batch norm on this thread: OWN (each layer's momentum), FROZEN, or a momentum. */
    private static final ThreadLocal<float[]> MOMENTUM = ThreadLocal.withInitial(() -> new float[] {OWN});

    /**
     * While the returned scope is open, training-mode batch norm on this thread still normalises with the batch's
     * statistics (and backpropagates through them) but leaves running_mean, running_var and num_batches_tracked
     * as they are. MA-Net's mutex path runs in one: inference runs the main path alone, so the running estimates
     * must describe the main path's activations only (see {@code MaNet.forwardPair}).
     */
    public static Scope freezeRunningStatistics() { return new Scope(MOMENTUM.get(), FROZEN); }

    /** {@link #freezeRunningStatistics()} when {@code freeze}, else a scope that changes nothing. */
    public static Scope freezeRunningStatistics(boolean freeze) {
        float[] rule = MOMENTUM.get();
        return new Scope(rule, freeze ? FROZEN : rule[0]);
    }

    /**
     * One of this thread's batch-norm rules (the running-statistics rule, the pairing) set to a value while the scope
     * is open; closing restores the previous value.
     */
    public static final class Scope implements AutoCloseable {
        private final float[] rule;
        private final float previous;
        private boolean closed;

        private Scope(float[] rule, float value) {
            this.rule = rule;
            this.previous = rule[0];
            rule[0] = value;
        }

        @Override public void close() {
            if (closed) return;
            closed = true;
            rule[0] = previous;
        }
    }

    /** The running mean to normalise with (evaluation) or to move (training); null in training while frozen. */
    private Tensor trackedMean() { return isTraining() && MOMENTUM.get()[0] == FROZEN ? null : runningMean; }

    private Tensor trackedVar() { return isTraining() && MOMENTUM.get()[0] == FROZEN ? null : runningVar; }

    private float momentumNow() {
        float m = MOMENTUM.get()[0];
        return Float.isNaN(m) || m == FROZEN ? momentum : m;
    }

    /**
     * Re-estimates the running mean and variance of every batch norm in {@code model} as the plain average of the
     * batch statistics of {@code batches} (the unbiased variance, as training keeps it), each batch run through
     * {@code forward} in training mode without gradients: the k-th batch enters with momentum 1/k, PyTorch's
     * {@code momentum=None}. Weights and num_batches_tracked are unchanged; the model is left in evaluation mode.
     * Returns the number of batches used. For diagnosis (are the running estimates those of the data the model is
     * evaluated on?) and for "precise BN" after training.
     */
    public static int recomputeRunningStatistics(Module model, Iterable<Tensor> batches, java.util.function.Function<Tensor, Tensor> forward) {
        java.util.List<BatchNorm> layers = new java.util.ArrayList<>();
        model.apply(m -> { if (m instanceof BatchNorm bn) layers.add(bn); });
        if (layers.isEmpty()) throw new IllegalArgumentException("recomputeRunningStatistics: the model has no batch norm layer");
        float[] tracked = new float[layers.size()];
        for (int i = 0; i < tracked.length; i++) if (layers.get(i).numBatchesTracked != null) tracked[i] = layers.get(i).numBatchesTracked.item();
        model.train();
        int k = 0;
        try (var ignored = GradMode.noGrad()) {
            for (BatchNorm bn : layers) { bn.runningMean.fill(0f); bn.runningVar.fill(0f); }
            for (Tensor x : batches) {
                k++;
                try (var rule = new Scope(MOMENTUM.get(), 1f / k)) { forward.apply(x); }
            }
        } finally {
            for (int i = 0; i < tracked.length; i++) if (layers.get(i).numBatchesTracked != null) layers.get(i).numBatchesTracked.fill(tracked[i]);
            model.eval();
        }
        if (k == 0) throw new IllegalArgumentException("recomputeRunningStatistics: no batches");
        return k;
    }

    @Override protected String extraRepr() { return numFeatures + ", eps=" + eps + ", momentum=" + momentum; }
}
