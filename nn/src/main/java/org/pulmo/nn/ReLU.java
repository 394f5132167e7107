package org.pulmo.nn;

import org.pulmo.tensor.Tensor;

/** max(x, 0) elementwise, any shape. */
public final class ReLU extends Module {
    @Override public Tensor forward(Tensor x) { return x.relu(); }
}
