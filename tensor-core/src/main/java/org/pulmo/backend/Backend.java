package org.pulmo.backend;

import org.pulmo.tensor.Device;
import org.pulmo.tensor.Storage;
import org.pulmo.tensor.Tensor;

/**
 * The raw compute of one device: no graph, no gradients. The ops in {@code org.pulmo.ops} pair each forward
 * with its backward and call only this interface, so nothing above it branches on the device. Every backend is
 * tested against the plain-loop references on the op pages ({@link org.pulmo.ops.Mab}, {@link org.pulmo.ops.SeScale},
 * {@link org.pulmo.ops.FabFuse}, {@link org.pulmo.ops.Convolution}) and, for the other ops, against the CPU backend.
 *
 * <p>Inputs may be any view (strided, offset, broadcast with zero strides); outputs are new contiguous
 * tensors on this backend's device unless a method says it writes in place. Shapes are NCHW for images and
 * OIHW for convolution weights. Integer results (argmax, indices) are stored as exact float values.
 */
public interface Backend {

    // ---- what the multi-output methods return (named fields instead of positional arrays) ----

    /** Max pooling's output y and argmax, the flat index (h*W + w) within each input plane of each max; argmax is null where a backend's backward needs none (see {@link #maxPool2dTraining}). */
    record MaxPoolOut(Tensor y, Tensor argmax) {}

    /** Per-channel mean [C] and biased variance [C] over every axis but 1. */
    record Moments(Tensor mean, Tensor var) {}

    /** The per-channel statistics batch norm normalises with and keeps for backward: mean [C] and invStd [C] = (var + eps)^-1/2. */
    record BatchStats(Tensor mean, Tensor invStd) {}

    /** Batch norm's output y and the statistics it used ({@link BatchStats}): the batch's in training, the running ones in evaluation. */
    record BatchNormOut(Tensor y, Tensor mean, Tensor invStd) {}

    /** Batch norm's gradients: dx, dWeight [C] and dBias [C]. */
    record BatchNormGrads(Tensor dx, Tensor dWeight, Tensor dBias) {}

    /** {@link #batchNormTrainingPaired}'s output y [2N, C, *] and the statistics of each half. */
    record PairedBatchNormOut(Tensor y, BatchStats first, BatchStats second) {}

    /** Cross-entropy's loss [] and the weight sum wsum [] = sum_i w[y_i] its backward needs. */
    record CrossEntropyOut(Tensor loss, Tensor wsum) {}

    /** The batch-mean cosine c [], per-sample stats [N, 3] = (dot, max(|a_n|, eps), max(|b_n|, eps)) for backward, and cos [N]. */
    record CosineOut(Tensor c, Tensor stats, Tensor cos) {}

    /** The gradients of a two-input op: dA and dB. */
    record Grads(Tensor dA, Tensor dB) {}

    Device device();

    /**
     * Waits until the device has run everything queued so far: a device backend's ops return once their work is
     * queued, so this is what a timing of device work (a profile, a benchmark's step) must end with. Nothing to
     * wait for on the CPU, whose ops return when done.
     */
    default void synchronize() {}

    // ---- recorded work (CUDA graphs) ----
    /** Device work recorded by {@link #capture}, launched again as a whole by {@link #replay}. */
    interface Captured extends AutoCloseable {
        /** Queues the recorded work once more, on the same memory. */
        void replay();

        /** Frees the recording (after its last replay has run); its memory goes back to the backend. */
        @Override void close();
    }

    /** Null when {@link #capture} can record work here, else why not (one line, for a log). */
    default String captureUnsupported() { return "the " + device() + " backend runs every op as it is called; only cuda records work"; }

    /**
     * Records the device work {@code work} queues, without running it, for {@link Captured#replay}. While it runs nothing
     * may be read back (no {@code item()}, {@code toArray()} or {@link #synchronize}), and every address, shape, scalar
     * argument and host value it uses is fixed into the recording. Throws {@link UnsupportedOperationException} with
     * {@link #captureUnsupported} where that is not null.
     */
    default Captured capture(Runnable work) { throw new UnsupportedOperationException(captureUnsupported()); }

    /** Whether this backend is recording work now ({@link #capture}): then nothing can be read back. */
    default boolean capturing() { return false; }

    // ---- memory ----
    /**
     * Device memory in bytes: in use now, the most in use since the backend started or since the last
     * {@link #resetPeakMemory()}, and held from the device (in use plus what a caching allocator keeps for reuse).
     */
    record MemoryUse(long inUseBytes, long peakInUseBytes, long heldBytes) {
        /** One line: "in use 1.20 GiB (1288490188 B), peak 3.40 GiB, held from the driver 4.00 GiB". */
        public String summary() {
            return "in use " + human(inUseBytes) + " (" + inUseBytes + " B), peak " + human(peakInUseBytes) + ", held from the driver " + human(heldBytes);
        }

        /** A byte count in B, KiB, MiB or GiB. */
        public static String human(long b) {
            if (b < 1024) return b + " B";
            if (b < 1L << 20) return String.format(java.util.Locale.ROOT, "%.1f KiB", b / 1024.0);
            if (b < 1L << 30) return String.format(java.util.Locale.ROOT, "%.1f MiB", b / (double) (1L << 20));
            return String.format(java.util.Locale.ROOT, "%.2f GiB", b / (double) (1L << 30));
        }
    }

    /** This backend's device memory now, or null where it keeps no account (the CPU). */
    default MemoryUse memoryUse() { return null; }

    /** Starts a new peak: {@link MemoryUse#peakInUseBytes()} counts from the memory in use now (a training epoch's own peak). */
    default void resetPeakMemory() {}

    /**
     * Whether float32 convolutions and matrix products run in full FP32 (true) or may use TF32 tensor cores, which
     * keep 10 of float32's 23 mantissa bits in the products (false: a GPU's default here, as cuDNN's convolutions are
     * in PyTorch). The CPU always computes in FP32.
     */
    default boolean strictFp32() { return true; }

    /** Chooses {@link #strictFp32()} where the device has TF32; a backend without it computes in FP32 either way. */
    default void setStrictFp32(boolean strict) {}

    /**
     * Whether every op gives the same bits for the same inputs, run after run. The CPU always does (its sums are cut
     * by the shape, never by the threads); on cuda it holds, for the ops a training step uses, once
     * {@link #setDeterministic} has left out cuDNN's convolution algorithms that sum with atomics.
     */
    default boolean deterministic() { return true; }

    /** Asks for {@link #deterministic()} where the backend has a faster way that is not; a no-op where it always is. */
    default void setDeterministic(boolean on) {}

    /**
     * Bytes of tensor storage this backend has handed out so far, summed over every allocation (freed or not; scratch
     * space such as convolution workspaces left out), or -1 where it keeps no count (the CPU). The difference of two
     * readings is what the ops between them allocated: new outputs are written in full, so it is a lower bound on the
     * memory traffic they cost, a figure that does not depend on the device ({@link ProfilingBackend} reports it per op).
     */
    default long allocatedBytes() { return -1; }

    /** Zero-filled storage of {@code numel} floats. */
    Storage allocate(long numel);

    /**
     * Storage of {@code numel} floats for a caller that writes every one of them before reading any (a
     * concatenation's output): its contents are unspecified. The default is {@link #allocate}; the CPU backend
     * skips the zero fill.
     */
    default Storage allocateForOverwrite(long numel) { return allocate(numel); }

    /** Copies {@code data} (row-major) into a new tensor of this device. */
    Tensor fromArray(float[] data, int[] shape);

    /** The tensor's values in row-major order of its shape. */
    float[] toArray(Tensor t);

    /** dst[...] = src[...]; same shape; dst may be any non-overlapping view, src may broadcast. */
    void copy(Tensor src, Tensor dst);

    void fill(Tensor dst, float value);

    /** dst += alpha * src in place; src broadcasts to dst's shape. */
    void addInPlace(Tensor dst, Tensor src, float alpha);

    /**
     * dst += value in place, every element. The default adds a one-element tensor of the value (on a device: a fill and
     * an add, and an allocation); a backend that can do it in one pass overrides it.
     */
    default void addScalarInPlace(Tensor dst, float value) { addInPlace(dst, Tensor.full(value, dst.device()), 1f); }

    // ---- elementwise ----
    Tensor unary(UnaryOp op, Tensor x, float alpha);

    Tensor binary(BinaryOp op, Tensor a, Tensor b);

    // ---- reductions ----
    /** Reduces over {@code dims} (sorted, distinct, non-negative). */
    Tensor reduce(ReduceOp op, Tensor x, int[] dims, boolean keepdim);

    /**
     * Index of the max (or min) along {@code dim} (of at least one element), as exact floats; ties go to the first, NaN is
     * passed over, and a run of NaN alone gives NaN.
     */
    Tensor argReduce(ReduceOp op, Tensor x, int dim, boolean keepdim);

    // ---- linear algebra ----
    /** op(a)·op(b) over the last two dims; leading (batch) dims of a and b are equal. */
    Tensor matmul(Tensor a, Tensor b, boolean transA, boolean transB);

    // ---- convolution ----
    Tensor conv2d(Tensor x, Tensor w, Conv2dParams p);

    Tensor conv2dBackwardInput(Tensor dy, Tensor w, int[] xShape, Conv2dParams p);

    Tensor conv2dBackwardWeight(Tensor x, Tensor dy, int[] wShape, Conv2dParams p);

    // ---- pooling ----
    /** y and argmax: argmax holds the flat index (h*W + w) within each input plane of the chosen element. */
    MaxPoolOut maxPool2d(Tensor x, Pool2dParams p);

    Tensor maxPool2dBackward(Tensor dy, Tensor argmax, int[] xShape);

    Tensor avgPool2d(Tensor x, Pool2dParams p);

    Tensor avgPool2dBackward(Tensor dy, int[] xShape, Pool2dParams p);

    /**
     * The max-pool forward of a training step: y, and as argmax whatever
     * {@link #maxPool2dBackward(Tensor, Tensor, Tensor, Tensor, Pool2dParams)} needs besides x and y. The
     * default is {@link #maxPool2d}; a backend whose backward works from x and y (cuDNN) returns a null argmax.
     */
    default MaxPoolOut maxPool2dTraining(Tensor x, Pool2dParams p) { return maxPool2d(x, p); }

    /** dx of {@link #maxPool2dTraining} from dy, the input x, the output y and its argmax (may be null, see there). */
    default Tensor maxPool2dBackward(Tensor dy, Tensor x, Tensor y, Tensor argmax, Pool2dParams p) {
        return maxPool2dBackward(dy, argmax, x.shape());
    }

    // ---- softmax ----
    /** softmax (or log-softmax) along dim, max-subtracted. */
    Tensor softmax(Tensor x, int dim, boolean log);

    /** dx from y = softmax(x) (or log-softmax) and dy. */
    Tensor softmaxBackward(Tensor y, Tensor dy, int dim, boolean log);

    // ---- batch normalisation over [N, C, *] per channel ----
    /** mean [C] and biased var [C] over every axis but 1. */
    Moments batchNormStats(Tensor x);

    /** y = (x - mean[c]) * invStd[c] * weight[c] + bias[c]. */
    Tensor batchNormApply(Tensor x, Tensor mean, Tensor invStd, Tensor weight, Tensor bias);

    /** dx, dWeight, dBias of batchNormApply with batch statistics (mean and invStd depend on x). */
    BatchNormGrads batchNormBackward(Tensor dy, Tensor x, Tensor mean, Tensor invStd, Tensor weight);

    /**
     * The training forward of batch norm over [N, C, *]: y, mean [C] and invStd [C] = (biased var + eps)^-1/2,
     * the last two kept for {@link #batchNormTrainingBackward}. When runningMean and runningVar are both given
     * they move towards the batch in place, once: running = (1 - momentum) running + momentum batch, with the
     * unbiased variance (times M / (M - 1), M values per channel), as PyTorch does. weight and bias may be
     * null. The default composes {@link #batchNormStats} and {@link #batchNormApply}; a backend may do it in
     * one call (cuDNN's forward training).
     */
    default BatchNormOut batchNormTraining(Tensor x, Tensor weight, Tensor bias, Tensor runningMean, Tensor runningVar,
                                           float momentum, float eps) {
        BatchStats st = batchNormTrainingStats(x, runningMean, runningVar, momentum, eps);
        return new BatchNormOut(batchNormApply(x, st.mean(), st.invStd(), weight, bias), st.mean(), st.invStd());
    }

    /**
     * The statistics half of {@link #batchNormTraining}: mean [C] and invStd [C] of the batch, with the running
     * statistics moved as described there (when both are given).
     */
    default BatchStats batchNormTrainingStats(Tensor x, Tensor runningMean, Tensor runningVar, float momentum, float eps) {
        Moments mv = batchNormStats(x);
        Tensor invStd = batchNormInvStd(mv.var(), eps);
        if (runningMean != null && runningVar != null) {
            long m = x.numel() / x.shape()[1];
            float unbias = (float) (m / (double) (m - 1));
            addInPlace(runningMean, runningMean, -momentum);
            addInPlace(runningMean, mv.mean(), momentum);
            addInPlace(runningVar, runningVar, -momentum);
            addInPlace(runningVar, mv.var(), momentum * unbias);
        }
        return new BatchStats(mv.mean(), invStd);
    }

    /**
     * {@link #batchNormTraining} followed by ReLU, the pair that opens most convolution blocks: y = max(bn, 0),
     * mean, invStd. The default runs the two ops; the CPU backend applies the ReLU in batch norm's own pass. The
     * normalised values before the ReLU are read once, by it, and their memory goes back at once rather than at the
     * end of the step (a device backend: its ops are queued in order, so the block is reused only after the ReLU).
     */
    default BatchNormOut batchNormReluTraining(Tensor x, Tensor weight, Tensor bias, Tensor runningMean, Tensor runningVar,
                                               float momentum, float eps) {
        BatchNormOut out = batchNormTraining(x, weight, bias, runningMean, runningVar, momentum, eps);
        Tensor y = unary(UnaryOp.RELU, out.y(), 0f);
        out.y().releaseUnlessShared(x, y, out.mean(), out.invStd());
        return new BatchNormOut(y, out.mean(), out.invStd());
    }

    /**
     * dx, dWeight, dBias of {@link #batchNormReluTraining} from dy and its output y: ReLU's backward (dy where
     * y > 0, else 0) then {@link #batchNormTrainingBackward}, which the default runs as two ops (the masked gradient's
     * memory going back after its one use). A backend that fuses them may recompute the mask from x, weight and bias
     * instead of reading y.
     */
    default BatchNormGrads batchNormReluTrainingBackward(Tensor dy, Tensor x, Tensor y, Tensor mean, Tensor invStd,
                                                         Tensor weight, Tensor bias, float eps) {
        Tensor g = binary(BinaryOp.RELU_BACKWARD, dy, y);
        BatchNormGrads d = batchNormTrainingBackward(g, x, mean, invStd, weight, eps);
        g.releaseUnlessShared(dy, x, y, d.dx(), d.dWeight(), d.dBias());
        return d;
    }

    /** dx, dWeight, dBias of {@link #batchNormTraining} run with {@code eps}; the default is {@link #batchNormBackward}. */
    default BatchNormGrads batchNormTrainingBackward(Tensor dy, Tensor x, Tensor mean, Tensor invStd, Tensor weight, float eps) {
        return batchNormBackward(dy, x, mean, invStd, weight);
    }

    /**
     * max(a + b, 0) for a and b of one shape: a residual sum and the ReLU after it. The default runs {@link #binary}
     * ADD then {@link #unary} RELU; the CPU backend does both in one pass, with the same float operations.
     */
    default Tensor addRelu(Tensor a, Tensor b) { return unary(UnaryOp.RELU, binary(BinaryOp.ADD, a, b), 0f); }

    /**
     * Training batch norm (then ReLU when relu) of x [2N, C, *] taken as two batches [N, C, *] stacked along
     * dimension 0, each normalised with its own statistics: {@link #batchNormTraining} (or
     * {@link #batchNormReluTraining}) on each half, their outputs in one y [2N, C, *]. The running statistics move
     * for the first half when given, and for the second half too when secondMovesRunning. The default makes the two
     * calls and copies their outputs into y; a backend may write y in place.
     */
    default PairedBatchNormOut batchNormTrainingPaired(Tensor x, Tensor weight, Tensor bias, Tensor runningMean, Tensor runningVar,
                                                       boolean secondMovesRunning, float momentum, float eps, boolean relu) {
        Tensor[] xh = halves(x.contiguous());
        Tensor rm2 = secondMovesRunning ? runningMean : null, rv2 = secondMovesRunning ? runningVar : null;
        BatchNormOut a = relu ? batchNormReluTraining(xh[0], weight, bias, runningMean, runningVar, momentum, eps)
                              : batchNormTraining(xh[0], weight, bias, runningMean, runningVar, momentum, eps);
        BatchNormOut b = relu ? batchNormReluTraining(xh[1], weight, bias, rm2, rv2, momentum, eps)
                              : batchNormTraining(xh[1], weight, bias, rm2, rv2, momentum, eps);
        return new PairedBatchNormOut(stacked(a.y(), b.y(), x.shape()), new BatchStats(a.mean(), a.invStd()), new BatchStats(b.mean(), b.invStd()));
    }

    /**
     * dx [2N, C, *], dWeight and dBias of {@link #batchNormTrainingPaired} from dy and its output y: each half's
     * {@link #batchNormTrainingBackward} (or {@link #batchNormReluTrainingBackward}) with its own statistics, dx in
     * one tensor, the parameter gradients summed over the halves.
     */
    default BatchNormGrads batchNormTrainingPairedBackward(Tensor dy, Tensor x, Tensor y, PairedBatchNormOut stats, Tensor weight,
                                                           Tensor bias, float eps, boolean relu) {
        Tensor[] gh = halves(dy.contiguous()), xh = halves(x.contiguous()), yh = halves(y);
        BatchStats sa = stats.first(), sb = stats.second();
        BatchNormGrads a = relu ? batchNormReluTrainingBackward(gh[0], xh[0], yh[0], sa.mean(), sa.invStd(), weight, bias, eps)
                                : batchNormTrainingBackward(gh[0], xh[0], sa.mean(), sa.invStd(), weight, eps);
        BatchNormGrads b = relu ? batchNormReluTrainingBackward(gh[1], xh[1], yh[1], sb.mean(), sb.invStd(), weight, bias, eps)
                                : batchNormTrainingBackward(gh[1], xh[1], sb.mean(), sb.invStd(), weight, eps);
        return new BatchNormGrads(stacked(a.dx(), b.dx(), x.shape()), weight != null ? binary(BinaryOp.ADD, a.dWeight(), b.dWeight()) : null,
            bias != null ? binary(BinaryOp.ADD, a.dBias(), b.dBias()) : null);
    }

    /** first and second [N, ...] copied into one new [2N, ...] tensor of the given shape; their storage is released. */
    private Tensor stacked(Tensor first, Tensor second, int[] shape) {
        Tensor out = Tensor.wrap(allocateForOverwrite(first.numel() + second.numel()), shape);
        Tensor[] h = halves(out);
        copy(first, h[0]);
        copy(second, h[1]);
        first.storage().release();
        second.storage().release();
        return out;
    }

    /** The two halves along dimension 0 of a contiguous t [2N, ...], as views of its storage. */
    static Tensor[] halves(Tensor t) {
        int[] shape = t.shape();
        shape[0] /= 2;
        long half = t.numel() / 2;
        return new Tensor[] {Tensor.view(t.storage(), shape, t.strides(), t.offset()),
            Tensor.view(t.storage(), shape, t.strides(), (int) (t.offset() + half))};
    }

    /**
     * The evaluation forward of batch norm with the running statistics: y, mean = runningMean (detached) and
     * invStd [C] = (runningVar + eps)^-1/2 (for the backward, where the statistics are constants). The default
     * composes {@link #unary} and {@link #batchNormApply}.
     */
    default BatchNormOut batchNormInference(Tensor x, Tensor weight, Tensor bias, Tensor runningMean, Tensor runningVar, float eps) {
        Tensor invStd = batchNormInvStd(runningVar, eps), mean = runningMean.detach();
        return new BatchNormOut(batchNormApply(x, mean, invStd, weight, bias), mean, invStd);
    }

    /** invStd[C] = (var + eps)^-1/2, as every batch-norm method here computes it from a variance. */
    default Tensor batchNormInvStd(Tensor var, float eps) {
        return unary(UnaryOp.POW, unary(UnaryOp.ADD_SCALAR, var, eps), -0.5f);
    }

    // ---- optimiser ----
    /**
     * One SGD step on one parameter, in place, by PyTorch's rule: d = g + weightDecay * p; with momentum,
     * buf = d on the first step, else buf = momentum * buf + (1 - dampening) * d, and the direction is
     * d + momentum * buf (Nesterov) or buf; finally p -= lr * direction. buf is unused (may be null) when
     * momentum is 0. This default composes other methods; a backend may fuse it into one pass.
     */
    default void sgdUpdate(Tensor p, Tensor g, Tensor buf, boolean firstStep, float lr, float momentum, float dampening,
                           float weightDecay, boolean nesterov) {
        Tensor d = weightDecay != 0f ? binary(BinaryOp.ADD, g, unary(UnaryOp.SCALE, p, weightDecay)) : g;
        if (momentum != 0f) {
            if (firstStep) copy(d, buf);
            else {
                copy(unary(UnaryOp.SCALE, buf, momentum), buf);
                addInPlace(buf, d, 1f - dampening);
            }
            d = nesterov ? binary(BinaryOp.ADD, d, unary(UnaryOp.SCALE, buf, momentum)) : buf;
        }
        addInPlace(p, d, -lr);
    }

    /**
     * One SGD step on many parameters, each by {@link #sgdUpdate}'s rule: parameter i with gradient {@code grads[i]},
     * momentum buffer {@code buffers[i]} (null when momentum is 0), {@code firstStep[i]} and {@code weightDecay[i]}.
     * This default updates them one by one; a device may update them all in one launch (the optimiser's step is
     * otherwise one launch per parameter: hundreds a step).
     */
    default void sgdUpdateAll(java.util.List<Tensor> params, java.util.List<Tensor> grads, java.util.List<Tensor> buffers,
                              boolean[] firstStep, float lr, float momentum, float dampening, float[] weightDecay, boolean nesterov) {
        for (int i = 0; i < params.size(); i++)
            sgdUpdate(params.get(i), grads.get(i), buffers.get(i), firstStep[i], lr, momentum, dampening, weightDecay[i], nesterov);
    }

    // ---- the papers' fused ops ----
    // Each op's page in org.pulmo.ops (Mab, SeScale, FabFuse) has its equations, its plain-loop reference (the
    // ground truth of every test) and where its kernels live. The defaults below compose the primitives above:
    // they are the execution path of a backend without a fused kernel, not references. The CPU backend overrides
    // them with one-pass loops (CpuFused), the CUDA backend with mab.cu and se_fab.cu. Maps are [N, C, H, W],
    // per-channel values [N, C], both any view. Arguments are the op's inputs, then the output's gradient, then
    // what the forward kept.

    /** MAB's output F_am [N, C, H, W] and lse [N, C] = log sum_hw e^D per plane, all its backward needs besides the inputs. */
    record MabOut(Tensor fAm, Tensor lse) {}

    /** MAB's input gradients dF_rei, dF_rem [N, C, H, W]. */
    record MabGrads(Tensor dFRei, Tensor dFRem) {}

    /** SE scale's input gradients du [N, C, H, W] and ds [N, C]. */
    record SeScaleGrads(Tensor du, Tensor ds) {}

    /** FAB fusion's input gradients dF_am, dF_rem [N, C, H, W] and dM, dN [N, C]. */
    record FabGrads(Tensor dFAm, Tensor dFRem, Tensor dM, Tensor dN) {}

    /**
     * MA-Net's mutex attention block ({@link org.pulmo.ops.Mab}, eq. 3-5), per (sample, channel) plane:
     * D = (F_rei - F_rem)^2, P = softmax of D over the H*W positions, F_am = P (.) F_rem; lse = log sum_hw e^D, so
     * that {@link #mabBackward} rebuilds P = e^(D - lse) and the [N, C, H, W] softmax is never kept. The default
     * composes primitives (max-subtracted softmax): the path of a backend without a fused kernel, not a reference
     * (that is {@link org.pulmo.ops.Mab#referenceForward}).
     */
    default MabOut mabForward(Tensor fRei, Tensor fRem) {
        int[] s = fRei.shape();
        Tensor d = unary(UnaryOp.SQUARE, binary(BinaryOp.SUB, fRei, fRem), 0f);             // eq. 3
        Tensor m = reduce(ReduceOp.MAX, d, new int[] {2, 3}, true);                        // max-subtracted softmax
        Tensor e = unary(UnaryOp.EXP, binary(BinaryOp.SUB, d, m), 0f);
        Tensor sum = reduce(ReduceOp.SUM, e, new int[] {2, 3}, true);
        Tensor fAm = binary(BinaryOp.MUL, binary(BinaryOp.DIV, e, sum), fRem);            // eq. 4 and 5
        Tensor lse = binary(BinaryOp.ADD, m, unary(UnaryOp.LOG, sum, 0f));
        return new MabOut(fAm, Tensor.wrap(lse.storage(), s[0], s[1]));
    }

    /**
     * dF_rei and dF_rem of {@link #mabForward} from dF_am and its lse: with P = e^(D - lse) and dP = dF_am (.) F_rem,
     * dD = P (.) (dP - sum_hw P (.) dP), dF_rei = 2 (F_rei - F_rem) (.) dD, dF_rem = dF_am (.) P - dF_rei.
     *
     * <p>In a peaked plane, where one position k holds nearly all of P (P_k > {@link #MAB_DOMINANT}; at most one
     * position can), dP_k - sum_hw P (.) dP cancels and float32 keeps few of its bits; since sum_hw P = 1 it equals
     * dP_k sum_{j != k} P_j - sum_{j != k} P_j dP_j, which is what position k uses here (and in every fused kernel).
     * The default composes primitives, for a backend without a fused kernel; the reference is
     * {@link org.pulmo.ops.Mab#referenceBackward}.
     */
    default MabGrads mabBackward(Tensor fRei, Tensor fRem, Tensor dFAm, Tensor lse) {
        int[] hw = {2, 3};
        Tensor t = binary(BinaryOp.SUB, fRei, fRem);
        Tensor p = mabMap(t, lse);
        Tensor dP = binary(BinaryOp.MUL, dFAm, fRem);
        Tensor pdP = binary(BinaryOp.MUL, p, dP);
        Tensor dot = reduce(ReduceOp.SUM, pdP, hw, true);
        Tensor dominant = unary(UnaryOp.STEP, unary(UnaryOp.ADD_SCALAR, p, -MAB_DOMINANT), 0f); // 1 at P_k > 3/4, else 0
        Tensor others = unary(UnaryOp.ADD_SCALAR, unary(UnaryOp.SCALE, dominant, -1f), 1f); // 1 - dominant
        Tensor rest = reduce(ReduceOp.SUM, binary(BinaryOp.MUL, p, others), hw, true);
        Tensor restDot = reduce(ReduceOp.SUM, binary(BinaryOp.MUL, pdP, others), hw, true);
        Tensor diff = binary(BinaryOp.ADD,
            binary(BinaryOp.MUL, others, binary(BinaryOp.SUB, dP, dot)),
            binary(BinaryOp.MUL, dominant, binary(BinaryOp.SUB, binary(BinaryOp.MUL, dP, rest), restDot)));
        Tensor dD = binary(BinaryOp.MUL, p, diff);
        Tensor dFRei = binary(BinaryOp.MUL, dD, unary(UnaryOp.SCALE, t, 2f));
        Tensor dFRem = binary(BinaryOp.SUB, binary(BinaryOp.MUL, dFAm, p), dFRei);
        return new MabGrads(dFRei, dFRem);
    }

    /**
     * dF_rem = dF_am (.) P of MAB with its attention map P = e^(D - lse) a constant in backward
     * ({@link org.pulmo.ops.Mab#mabConstantMap}); dF_rei is zero and not computed. The default composes primitives;
     * the reference is {@link org.pulmo.ops.Mab#referenceConstantMapBackward}.
     */
    default Tensor mabConstantMapBackward(Tensor fRei, Tensor fRem, Tensor dFAm, Tensor lse) {
        return binary(BinaryOp.MUL, dFAm, mabMap(binary(BinaryOp.SUB, fRei, fRem), lse));
    }

    /** MAB's attention map P = e^(t^2 - lse) [N, C, H, W] from t = F_rei - F_rem and lse [N, C], composed. */
    private Tensor mabMap(Tensor t, Tensor lse) {
        int[] s = t.shape();
        Tensor lse4 = lse.detach().reshape(s[0], s[1], 1, 1);
        return unary(UnaryOp.EXP, binary(BinaryOp.SUB, unary(UnaryOp.SQUARE, t, 0f), lse4), 0f);
    }

    /** The softmax weight above which a position is its plane's one dominant position in {@link #mabBackward}. */
    float MAB_DOMINANT = 0.75f;

    /**
     * SE's channel scale ({@link org.pulmo.ops.SeScale}, Hu et al. eq. 4): y = u (.) s[n, c], u [N, C, H, W],
     * s [N, C]. The default, one broadcasting multiply, is already a single pass.
     */
    default Tensor seScaleForward(Tensor u, Tensor s) {
        int[] us = u.shape();
        return binary(BinaryOp.MUL, u, s.detach().reshape(us[0], us[1], 1, 1));
    }

    /**
     * du = dy (.) s[n, c] and ds [N, C] = sum_hw dy (.) u of {@link #seScaleForward}. The default composes primitives,
     * for a backend without a fused kernel; the reference is {@link org.pulmo.ops.SeScale#referenceBackward}.
     */
    default SeScaleGrads seScaleBackward(Tensor u, Tensor s, Tensor dy) {
        int[] us = u.shape();
        Tensor du = binary(BinaryOp.MUL, dy, s.detach().reshape(us[0], us[1], 1, 1));
        Tensor ds = reduce(ReduceOp.SUM, binary(BinaryOp.MUL, dy, u), new int[] {2, 3}, false);
        return new SeScaleGrads(du, ds);
    }

    /**
     * MA-Net's FAB fusion ({@link org.pulmo.ops.FabFuse}, eq. 10-11): a = e^M / (e^M + e^N) = sigmoid(M - N) per
     * (n, c), and F_fm = a F_am + (1 - a) F_rem. F_am, F_rem [B, C, H, W]; M, N [B, C] (B the batch). The default composes
     * primitives, for a backend without a fused kernel; the reference is {@link org.pulmo.ops.FabFuse#referenceForward}.
     */
    default Tensor fabFuseForward(Tensor fAm, Tensor fRem, Tensor m, Tensor n) {
        int[] s = fAm.shape();
        Tensor a = unary(UnaryOp.SIGMOID, binary(BinaryOp.SUB, m, n), 0f);
        Tensor a4 = Tensor.wrap(a.storage(), s[0], s[1], 1, 1);
        Tensor rest = Tensor.wrap(unary(UnaryOp.ADD_SCALAR, unary(UnaryOp.NEG, a, 0f), 1f).storage(), s[0], s[1], 1, 1);
        return binary(BinaryOp.ADD, binary(BinaryOp.MUL, a4, fAm), binary(BinaryOp.MUL, rest, fRem));
    }

    /**
     * dF_am = a dF_fm, dF_rem = (1 - a) dF_fm, dM = a (1 - a) sum_hw dF_fm (F_am - F_rem), dN = -dM of
     * {@link #fabFuseForward}. The default composes primitives, for a backend without a fused kernel; the reference
     * is {@link org.pulmo.ops.FabFuse#referenceBackward}.
     */
    default FabGrads fabFuseBackward(Tensor fAm, Tensor fRem, Tensor m, Tensor n, Tensor dFFm) {
        int[] s = fAm.shape();
        Tensor a = unary(UnaryOp.SIGMOID, binary(BinaryOp.SUB, m, n), 0f);
        Tensor rest = unary(UnaryOp.ADD_SCALAR, unary(UnaryOp.NEG, a, 0f), 1f);
        Tensor dFAm = binary(BinaryOp.MUL, dFFm, Tensor.wrap(a.storage(), s[0], s[1], 1, 1));
        Tensor dFRem = binary(BinaryOp.MUL, dFFm, Tensor.wrap(rest.storage(), s[0], s[1], 1, 1));
        Tensor dA = reduce(ReduceOp.SUM, binary(BinaryOp.MUL, dFFm, binary(BinaryOp.SUB, fAm, fRem)), new int[] {2, 3}, false);
        Tensor dM = binary(BinaryOp.MUL, dA, binary(BinaryOp.MUL, a, rest));
        return new FabGrads(dFAm, dFRem, dM, unary(UnaryOp.NEG, dM, 0f));
    }

    /**
     * Softmax cross-entropy with PyTorch's weighted mean: loss = sum_i w[y_i] (log sum_j e^x[i, j] - x[i, y_i])
     * / sum_i w[y_i], for logits [N, C], labels [N] (class indices as exact floats) and class weights [C]
     * (null: w = 1, the plain batch mean). Returns loss [] and wsum [] = sum_i w[y_i], both on this device, so
     * that nothing comes to the host.
     */
    default CrossEntropyOut crossEntropy(Tensor logits, Tensor labels, Tensor weights) {
        int n = logits.shape()[0];
        Tensor logP = gather(softmax(logits, 1, true), 1, labels.detach().reshape(n, 1));     // log p_i[y_i], max-subtracted
        Tensor wi = classWeightPerRow(labels, weights);
        Tensor wsum = reduce(ReduceOp.SUM, wi, new int[] {0}, false);
        Tensor num = reduce(ReduceOp.SUM, binary(BinaryOp.MUL, Tensor.wrap(logP.storage(), n), wi), new int[] {0}, false);
        return new CrossEntropyOut(unary(UnaryOp.NEG, binary(BinaryOp.DIV, num, wsum), 0f), wsum);
    }

    /** dlogits [N, C] = dLoss * w[y_i] / wsum * (softmax(x_i) - onehot(y_i)); dLoss a [] tensor of this device. */
    default Tensor crossEntropyBackward(Tensor logits, Tensor labels, Tensor weights, Tensor wsum, Tensor dLoss) {
        int n = logits.shape()[0], c = logits.shape()[1];
        Tensor idx = labels.detach().reshape(n, 1);
        Tensor ones = Tensor.wrap(allocate(n), n, 1);
        fill(ones, 1f);
        Tensor diff = binary(BinaryOp.SUB, softmax(logits, 1, false), scatterAdd(new int[] {n, c}, 1, idx, ones));
        Tensor rowScale = binary(BinaryOp.DIV, binary(BinaryOp.MUL, classWeightPerRow(labels, weights), dLoss), wsum);
        return binary(BinaryOp.MUL, diff, Tensor.wrap(rowScale.storage(), n, 1));
    }

    /** w[y_i] per row [N] (ones without weights). */
    private Tensor classWeightPerRow(Tensor labels, Tensor weights) {
        int n = labels.shape()[0];
        if (weights != null) return gather(weights, 0, labels);
        Tensor ones = Tensor.wrap(allocate(n), n);
        fill(ones, 1f);
        return ones;
    }

    /**
     * Batch mean of the cosine similarity of a_n and b_n, each sample flattened (MA-Net eq. 14):
     * c = (1/N) sum_n <a_n, b_n> / (max(|a_n|, eps) max(|b_n|, eps)), a and b [N, ...] of one shape.
     * Returns c [], stats [N, 3] = (<a_n, b_n>, max(|a_n|, eps), max(|b_n|, eps)) for backward, and cos [N].
     */
    default CosineOut cosine(Tensor a, Tensor b, float eps) {
        int n = a.shape()[0];
        Tensor af = a.detach().reshape(n, -1), bf = b.detach().reshape(n, -1);
        Tensor floor = Tensor.wrap(allocate(1));
        fill(floor, eps * eps);
        int[] rows = {1};
        Tensor dot = reduce(ReduceOp.SUM, binary(BinaryOp.MUL, af, bf), rows, false);
        // max(|a|, eps) as sqrt(max(|a|^2, eps^2)), as nn's Losses.cosineSimilarity composes it
        Tensor na = unary(UnaryOp.SQRT, binary(BinaryOp.MAX, reduce(ReduceOp.SUM, unary(UnaryOp.SQUARE, af, 0f), rows, false), floor), 0f);
        Tensor nb = unary(UnaryOp.SQRT, binary(BinaryOp.MAX, reduce(ReduceOp.SUM, unary(UnaryOp.SQUARE, bf, 0f), rows, false), floor), 0f);
        Tensor cos = binary(BinaryOp.DIV, dot, binary(BinaryOp.MUL, na, nb));
        Tensor stats = Tensor.wrap(allocate(3L * n), n, 3);
        Tensor[] parts = {dot, na, nb};
        for (int k = 0; k < 3; k++) copy(Tensor.wrap(parts[k].storage(), n, 1), stats.narrow(1, k, 1));
        Tensor c = unary(UnaryOp.SCALE, reduce(ReduceOp.SUM, cos, new int[] {0}, false), 1f / n);
        return new CosineOut(c, stats, cos);
    }

    /**
     * da and db of {@link #cosine} from dc [] with c_n = <a_n, b_n> / (na nb):
     * da_n = dc/N (b_n / (na nb) - c_n a_n / na^2), the second term only where |a_n| > eps (else na is the
     * constant eps); db symmetrically.
     */
    default Grads cosineBackward(Tensor a, Tensor b, Tensor stats, Tensor dc, float eps) {
        int[] shape = a.shape();
        int n = shape[0];
        Tensor af = a.detach().reshape(n, -1), bf = b.detach().reshape(n, -1);
        Tensor dot = stats.narrow(1, 0, 1), na = stats.narrow(1, 1, 1), nb = stats.narrow(1, 2, 1); // [N, 1] views
        Tensor epsT = Tensor.wrap(allocate(1));
        fill(epsT, eps);
        Tensor g = unary(UnaryOp.SCALE, dc, 1f / n);
        Tensor inv = unary(UnaryOp.RECIPROCAL, binary(BinaryOp.MUL, na, nb), 0f);
        Tensor c = binary(BinaryOp.MUL, dot, inv);
        Tensor ka = binary(BinaryOp.MUL, binary(BinaryOp.GT, na, epsT), binary(BinaryOp.DIV, c, unary(UnaryOp.SQUARE, na, 0f)));
        Tensor kb = binary(BinaryOp.MUL, binary(BinaryOp.GT, nb, epsT), binary(BinaryOp.DIV, c, unary(UnaryOp.SQUARE, nb, 0f)));
        Tensor da = binary(BinaryOp.MUL, binary(BinaryOp.SUB, binary(BinaryOp.MUL, bf, inv), binary(BinaryOp.MUL, af, ka)), g);
        Tensor db = binary(BinaryOp.MUL, binary(BinaryOp.SUB, binary(BinaryOp.MUL, af, inv), binary(BinaryOp.MUL, bf, kb)), g);
        return new Grads(Tensor.wrap(da.storage(), shape), Tensor.wrap(db.storage(), shape));
    }

    // ---- indexing ----
    /** out[i][j][k] = x[i][index[i][j][k]][k] for dim 1, and so on (PyTorch's gather). */
    Tensor gather(Tensor x, int dim, Tensor index);

    /** zeros(shape) then out[...index...] += src (PyTorch's scatter_add); gather's backward. */
    Tensor scatterAdd(int[] shape, int dim, Tensor index, Tensor src);
}
