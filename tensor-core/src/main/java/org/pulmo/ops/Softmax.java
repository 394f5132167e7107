package org.pulmo.ops;

import org.pulmo.autograd.Graph;
import org.pulmo.tensor.Shapes;
import org.pulmo.tensor.Tensor;

/** softmax and log-softmax along a dim. The output is saved: both backward formulas need only it. */
public final class Softmax {
    private Softmax() {}

    // y_i = e^(x_i - max) / sum_j e^(x_j - max);  dx = y * (g - sum(g * y))
    public static Tensor softmax(Tensor x, int dim) {
        int d = Shapes.dim(dim, x.dim(), "softmax");
        var be = x.backend();
        Tensor y = be.softmax(x, d, false);
        Tensor yv = y.detach();
        return Graph.record("softmax", y, g -> new Tensor[] {be.softmaxBackward(yv, g, d, false)}, x);
    }

    // y_i = x_i - max - log sum_j e^(x_j - max);  dx = g - e^y * sum(g)
    public static Tensor logSoftmax(Tensor x, int dim) {
        int d = Shapes.dim(dim, x.dim(), "logSoftmax");
        var be = x.backend();
        Tensor y = be.softmax(x, d, true);
        Tensor yv = y.detach();
        return Graph.record("logSoftmax", y, g -> new Tensor[] {be.softmaxBackward(yv, g, d, true)}, x);
    }
}
