package org.pulmo.nn;

import org.pulmo.tensor.Tensor;

/** {@link BatchNorm} over [N, C, H, W]. Defaults: eps 1e-5, momentum 0.1, num_batches_tracked kept (as PyTorch). */
public final class BatchNorm2d extends BatchNorm {
    public BatchNorm2d(int numFeatures) { this(numFeatures, 1e-5f, 0.1f, true); }

    public BatchNorm2d(int numFeatures, float eps, float momentum, boolean trackBatches) { super(numFeatures, eps, momentum, trackBatches); }

    @Override protected void checkInput(Tensor x) {
        if (x.dim() != 4) throw new IllegalArgumentException("BatchNorm2d needs [N, C, H, W] input, got " + java.util.Arrays.toString(x.shape()));
    }
}
