package org.pulmo.nn;

import org.pulmo.tensor.Tensor;

/** 1 / (1 + e^-x) elementwise, any shape. */
public final class Sigmoid extends Module {
    @Override public Tensor forward(Tensor x) { return x.sigmoid(); }
}
