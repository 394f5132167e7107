package org.pulmo.nn;

import org.pulmo.tensor.Tensor;

/** [N, C, H, W] -> [N, C]: the mean of each channel plane (PyTorch's AdaptiveAvgPool2d(1) then flatten). */
public final class GlobalAvgPool extends Module {
    @Override public Tensor forward(Tensor x) { return x.globalAvgPool(); }
}
