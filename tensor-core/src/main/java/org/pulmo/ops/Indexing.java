package org.pulmo.ops;

import org.pulmo.autograd.Graph;
import org.pulmo.tensor.Shapes;
import org.pulmo.tensor.Tensor;

/** gather (pick one entry per row, as a loss picks the target class) and one-hot encoding. */
public final class Indexing {
    private Indexing() {}

    /**
     * out[i][j] = x[i][index[i][j]] for dim 1 (PyTorch's gather); index has x's shape except along dim.
     * Backward scatters g back: dx[i][index[i][j]] += g[i][j].
     */
    public static Tensor gather(Tensor x, int dim, Tensor index) {
        var be = Elementwise.backend("gather", x, index);
        int d = Shapes.dim(dim, x.dim(), "gather");
        int[] xs = x.shape(), is = index.shape();
        if (is.length != xs.length)
            throw new IllegalArgumentException("gather: index shape " + Shapes.str(is) + " and input shape " + Shapes.str(xs) + " differ in rank");
        for (int i = 0; i < xs.length; i++)
            if (i != d && is[i] != xs[i])
                throw new IllegalArgumentException("gather along dim " + d + ": index shape " + Shapes.str(is) + " must equal input shape " + Shapes.str(xs) + " outside that dim");
        Shapes.checkIndexable(xs[d], "gather: dim " + d + " of " + Shapes.str(xs));
        Tensor idx = index.detach();
        return Graph.record("gather", be.gather(x, d, idx), g -> new Tensor[] {be.scatterAdd(xs, d, idx, g), null}, x, index);
    }

    /** labels [N] of class indices (exact floats) -> [N, numClasses] with a 1 at each label. */
    public static Tensor oneHot(Tensor labels, int numClasses) {
        if (labels.dim() != 1) throw new IllegalArgumentException("oneHot: labels must be 1-D, got " + Shapes.str(labels.shape()));
        int n = labels.shape()[0];
        if (numClasses < 1) throw new IllegalArgumentException("oneHot: numClasses must be at least 1, got " + numClasses);
        Shapes.checkIndexable(numClasses, "oneHot: " + numClasses + " classes");
        var be = labels.backend();
        Tensor ones = Tensor.wrap(be.allocate(n), n, 1);
        be.fill(ones, 1f);
        return be.scatterAdd(new int[] {n, numClasses}, 1, Views.reshape(labels.detach(), n, 1), ones);
    }
}
