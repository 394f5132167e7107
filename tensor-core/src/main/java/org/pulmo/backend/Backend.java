package org.pulmo.backend;

import org.pulmo.tensor.Device;
import org.pulmo.tensor.Storage;
import org.pulmo.tensor.Tensor;

/**
 * The raw compute of one device: no graph, no gradients. The ops in {@code org.pulmo.ops} pair each forward
 * with its backward and call only this interface, so nothing above it branches on the device. The CPU
 * backend is the reference every other backend is tested against.
 *
 * <p>Inputs may be any view (strided, offset, broadcast with zero strides); outputs are new contiguous
 * tensors on this backend's device unless a method says it writes in place. Shapes are NCHW for images and
 * OIHW for convolution weights. Integer results (argmax, indices) are stored as exact float values.
 */
public interface Backend {

    Device device();

    // ---- memory ----
    /** Zero-filled storage of {@code numel} floats. */
    Storage allocate(long numel);

    /** Copies {@code data} (row-major) into a new tensor of this device. */
    Tensor fromArray(float[] data, int[] shape);

    /** The tensor's values in row-major order of its shape. */
    float[] toArray(Tensor t);

    /** dst[...] = src[...]; same shape; dst may be any non-overlapping view, src may broadcast. */
    void copy(Tensor src, Tensor dst);

    void fill(Tensor dst, float value);

    /** dst += alpha * src in place; src broadcasts to dst's shape. */
    void addInPlace(Tensor dst, Tensor src, float alpha);

    // ---- elementwise ----
    Tensor unary(UnaryOp op, Tensor x, float alpha);

    Tensor binary(BinaryOp op, Tensor a, Tensor b);

    // ---- reductions ----
    /** Reduces over {@code dims} (sorted, distinct, non-negative). */
    Tensor reduce(ReduceOp op, Tensor x, int[] dims, boolean keepdim);

    /** Index of the max (or min) along {@code dim}; ties go to the first. */
    Tensor argReduce(ReduceOp op, Tensor x, int dim, boolean keepdim);

    // ---- linear algebra ----
    /** op(a)·op(b) over the last two dims; leading (batch) dims of a and b are equal. */
    Tensor matmul(Tensor a, Tensor b, boolean transA, boolean transB);

    // ---- convolution ----
    Tensor conv2d(Tensor x, Tensor w, Conv2dParams p);

    Tensor conv2dBackwardInput(Tensor dy, Tensor w, int[] xShape, Conv2dParams p);

    Tensor conv2dBackwardWeight(Tensor x, Tensor dy, int[] wShape, Conv2dParams p);

    // ---- pooling ----
    /** {y, argmax}: argmax holds the flat index (h*W + w) within each input plane of the chosen element. */
    Tensor[] maxPool2d(Tensor x, Pool2dParams p);

    Tensor maxPool2dBackward(Tensor dy, Tensor argmax, int[] xShape);

    Tensor avgPool2d(Tensor x, Pool2dParams p);

    Tensor avgPool2dBackward(Tensor dy, int[] xShape, Pool2dParams p);

    // ---- softmax ----
    /** softmax (or log-softmax) along dim, max-subtracted. */
    Tensor softmax(Tensor x, int dim, boolean log);

    /** dx from y = softmax(x) (or log-softmax) and dy. */
    Tensor softmaxBackward(Tensor y, Tensor dy, int dim, boolean log);

    // ---- batch normalisation over [N, C, *] per channel ----
    /** {mean[C], biased var[C]} over every axis but 1. */
    Tensor[] batchNormStats(Tensor x);

    /** y = (x - mean[c]) * invStd[c] * weight[c] + bias[c]. */
    Tensor batchNormApply(Tensor x, Tensor mean, Tensor invStd, Tensor weight, Tensor bias);

    /** {dx, dweight, dbias} of batchNormApply with batch statistics (mean and invStd depend on x). */
    Tensor[] batchNormBackward(Tensor dy, Tensor x, Tensor mean, Tensor invStd, Tensor weight);

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

    // ---- indexing ----
    /** out[i][j][k] = x[i][index[i][j][k]][k] for dim 1, and so on (PyTorch's gather). */
    Tensor gather(Tensor x, int dim, Tensor index);

    /** zeros(shape) then out[...index...] += src (PyTorch's scatter_add); gather's backward. */
    Tensor scatterAdd(int[] shape, int dim, Tensor index, Tensor src);
}
