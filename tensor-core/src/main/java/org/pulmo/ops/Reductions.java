package org.pulmo.ops;

import java.util.Arrays;
import org.pulmo.autograd.Graph;
import org.pulmo.backend.BinaryOp;
import org.pulmo.backend.ReduceOp;
import org.pulmo.tensor.Shapes;
import org.pulmo.tensor.Tensor;

/** sum, mean, max, min over dims (with keepdim) and argmax/argmin. */
public final class Reductions {
    private Reductions() {}

    static int[] normalise(int[] dims, int rank, String op) {
        int[] d = new int[dims.length];
        for (int i = 0; i < dims.length; i++) d[i] = Shapes.dim(dims[i], rank, op);
        Arrays.sort(d);
        for (int i = 1; i < d.length; i++)
            if (d[i] == d[i - 1]) throw new IllegalArgumentException(op + ": dimension " + d[i] + " repeated in " + Shapes.str(dims));
        return d;
    }

    /** The gradient of a reduced tensor, reshaped with the reduced dims as 1 and broadcast back to shape. */
    private static Tensor spread(Tensor g, int[] shape, int[] dims) {
        int[] kept = shape.clone();
        for (int d : dims) kept[d] = 1;
        return Views.expand(Views.reshape(g, kept), shape);
    }

    // y = sum x;  dx = g broadcast back
    public static Tensor sum(Tensor x, int[] dims, boolean keepdim) {
        int[] d = normalise(dims, x.dim(), "sum"), shape = x.shape();
        Tensor y = x.backend().reduce(ReduceOp.SUM, x, d, keepdim);
        return Graph.record("sum", y, g -> new Tensor[] {spread(g, shape, d)}, x);
    }

    // y = sum x / n;  dx = g / n broadcast back
    public static Tensor mean(Tensor x, int[] dims, boolean keepdim) {
        int[] d = normalise(dims, x.dim(), "mean"), shape = x.shape();
        long n = 1;
        for (int i : d) n *= shape[i];
        if (n == 0) throw new IllegalArgumentException("mean over an empty dimension of shape " + Shapes.str(shape));
        float inv = 1f / n;
        Tensor y = x.backend().unary(org.pulmo.backend.UnaryOp.SCALE, x.backend().reduce(ReduceOp.SUM, x, d, keepdim), inv);
        return Graph.record("mean", y, g -> new Tensor[] {spread(Elementwise.scale(g, inv), shape, d)}, x);
    }

    public static Tensor max(Tensor x, int[] dims, boolean keepdim) { return extreme(ReduceOp.MAX, x, dims, keepdim); }

    public static Tensor min(Tensor x, int[] dims, boolean keepdim) { return extreme(ReduceOp.MIN, x, dims, keepdim); }

    // y = max x;  dx = g where x equals the max, split evenly among ties (as PyTorch's amax)
    private static Tensor extreme(ReduceOp op, Tensor x, int[] dims, boolean keepdim) {
        String name = op.name().toLowerCase();
        int[] d = normalise(dims, x.dim(), name), shape = x.shape();
        Tensor y = x.backend().reduce(op, x, d, keepdim);
        Tensor yv = y.detach();
        return Graph.record(name, y, g -> {
            var be = x.backend();
            Tensor mask = be.binary(BinaryOp.EQ, x, spread(yv, shape, d));
            Tensor count = be.reduce(ReduceOp.SUM, mask, d, true);
            Tensor share = Elementwise.div(spread(g, shape, d), Views.expand(count, shape));
            return new Tensor[] {Elementwise.mul(share, mask)};
        }, x);
    }

    /** Index of the maximum along dim (first on ties, NaN passed over, NaN for a run of NaN alone), as exact floats; not differentiable. */
    public static Tensor argmax(Tensor x, int dim, boolean keepdim) { return argReduce(ReduceOp.MAX, "argmax", x, dim, keepdim); }

    public static Tensor argmin(Tensor x, int dim, boolean keepdim) { return argReduce(ReduceOp.MIN, "argmin", x, dim, keepdim); }

    /** The index of {@code op}'s pick along dim, refused where that index would not be exact as a float32. */
    private static Tensor argReduce(ReduceOp op, String name, Tensor x, int dim, boolean keepdim) {
        int d = Shapes.dim(dim, x.dim(), name);
        if (x.shape()[d] == 0) throw new IllegalArgumentException(name + ": empty dimension " + d + " of shape " + Shapes.str(x.shape()));
        Shapes.checkIndexable(x.shape()[d], name + ": dim " + d + " of " + Shapes.str(x.shape()));
        return x.backend().argReduce(op, x, d, keepdim);
    }
}
