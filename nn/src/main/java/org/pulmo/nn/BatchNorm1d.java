package org.pulmo.nn;

import org.pulmo.tensor.Tensor;

/** {@link BatchNorm} over [N, C] or [N, C, L]. Defaults: eps 1e-5, momentum 0.1, num_batches_tracked kept. */
public final class BatchNorm1d extends BatchNorm {
    public BatchNorm1d(int numFeatures) { this(numFeatures, 1e-5f, 0.1f, true); }

    public BatchNorm1d(int numFeatures, float eps, float momentum, boolean trackBatches) { super(numFeatures, eps, momentum, trackBatches); }

    @Override protected void checkInput(Tensor x) {
        if (x.dim() != 2 && x.dim() != 3)
            throw new IllegalArgumentException("BatchNorm1d needs [N, C] or [N, C, L] input, got " + java.util.Arrays.toString(x.shape()));
    }
}
