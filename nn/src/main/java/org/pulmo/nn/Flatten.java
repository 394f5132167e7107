package org.pulmo.nn;

import org.pulmo.tensor.Tensor;

/** Merges dims startDim.. into one: [N, C, H, W] -> [N, C*H*W] with the default startDim 1. */
public final class Flatten extends Module {
    public final int startDim;

    public Flatten() { this(1); }

    public Flatten(int startDim) { this.startDim = startDim; }

    @Override public Tensor forward(Tensor x) { return x.flatten(startDim); }

    @Override protected String extraRepr() { return "start_dim=" + startDim; }
}
