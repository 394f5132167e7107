package org.pulmo.nn;

import org.pulmo.backend.Pool2dParams;
import org.pulmo.ops.Pooling;
import org.pulmo.tensor.Tensor;

/** Max over k x k windows of [N, C, H, W] (floor mode, as PyTorch's default). */
public final class MaxPool2d extends Module {
    public final Pool2dParams params;

    public MaxPool2d(int kernel, int stride, int padding) { this.params = Pool2dParams.of(kernel, stride, padding); }

    /** stride = kernel, no padding. */
    public MaxPool2d(int kernel) { this(kernel, kernel, 0); }

    @Override public Tensor forward(Tensor x) { return Pooling.maxPool2d(x, params); }

    @Override protected String extraRepr() { return "kernel_size=" + params.kH() + ", stride=" + params.strideH() + ", padding=" + params.padH(); }
}
