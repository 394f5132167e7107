package org.pulmo.nn;

import org.pulmo.tensor.Tensor;

/** [N, C, H, W] -> [N, C]: the max of each channel plane (ties share the gradient evenly, as PyTorch's amax; its AdaptiveMaxPool2d(1) gives it to one of them). */
public final class GlobalMaxPool extends Module {
    @Override public Tensor forward(Tensor x) { return x.globalMaxPool(); }
}
