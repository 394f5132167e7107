package org.pulmo.ops;

import java.util.Arrays;
import org.pulmo.autograd.Graph;
import org.pulmo.tensor.Shapes;
import org.pulmo.tensor.Tensor;

/** Matrix products: [.., M, K] x [.., K, N] -> [.., M, N]. */
public final class LinearAlgebra {
    private LinearAlgebra() {}

    /**
     * 2-D x 2-D, batched x batched (equal batch dims), or N-D x 2-D (a weight shared by every row of the
     * leading dims, as a Linear layer on [N, T, K] input).
     */
    public static Tensor matmul(Tensor a, Tensor b) {
        var be = Elementwise.backend("matmul", a, b);
        int[] as = a.shape(), bs = b.shape();
        if (as.length < 2 || bs.length < 2)
            throw new IllegalArgumentException("matmul needs at least 2-D operands, got " + Shapes.str(as) + " and " + Shapes.str(bs));
        if (as[as.length - 1] != bs[bs.length - 2])
            throw new IllegalArgumentException("matmul: inner sizes differ: " + Shapes.str(as) + " x " + Shapes.str(bs));
        if (bs.length == 2 && as.length > 2) {
            int k = as[as.length - 1];
            Tensor flat = Views.reshape(a, rows(as), k);
            int[] outShape = as.clone();
            outShape[as.length - 1] = bs[1];
            return Views.reshape(matmul(flat, b), outShape);
        }
        if (as.length != bs.length || !Arrays.equals(Arrays.copyOf(as, as.length - 2), Arrays.copyOf(bs, bs.length - 2)))
            throw new IllegalArgumentException("matmul: batch dims differ: " + Shapes.str(as) + " x " + Shapes.str(bs));
        Tensor y = be.matmul(a, b, false, false);
        // dA = g · Bᵀ,  dB = Aᵀ · g
        return Graph.record("matmul", y, g -> new Tensor[] {
            a.requiresGrad() ? be.matmul(g, b, false, true) : null,
            b.requiresGrad() ? be.matmul(a, g, true, false) : null}, a, b);
    }

    /** The rows of an N-D operand taken as a matrix: the product of all but its last size (not -1: with k = 0 it is not inferable). */
    private static int rows(int[] shape) { return Shapes.arrayLength(Arrays.copyOf(shape, shape.length - 1)); }

    /**
     * a [.., K] times bᵀ for b [N, K]: [.., N], a Linear layer's x · Wᵀ with W [out, in] as stored. The same values
     * as {@code matmul(a, b.transpose(0, 1))}, but b's gradient, gᵀ · a, comes out [N, K] in b's own layout: through a
     * transposed view it would be a transposed view of [K, N], which a parameter's .grad must copy.
     */
    public static Tensor matmulTransposed(Tensor a, Tensor b) {
        var be = Elementwise.backend("matmul", a, b);
        int[] as = a.shape(), bs = b.shape();
        if (as.length < 2 || bs.length != 2)
            throw new IllegalArgumentException("matmulTransposed needs an N-D (N >= 2) and a 2-D operand, got " + Shapes.str(as) + " and " + Shapes.str(bs));
        int k = as[as.length - 1];
        if (k != bs[1])
            throw new IllegalArgumentException("matmulTransposed: " + Shapes.str(as) + " x " + Shapes.str(bs) + "ᵀ: inner sizes differ");
        if (as.length > 2) {
            int[] outShape = as.clone();
            outShape[as.length - 1] = bs[0];
            return Views.reshape(matmulTransposed(Views.reshape(a, rows(as), k), b), outShape);
        }
        Tensor y = be.matmul(a, b, false, true);
        // dA = g · B,  dB = gᵀ · A
        return Graph.record("matmulTransposed", y, g -> new Tensor[] {
            a.requiresGrad() ? be.matmul(g, b, false, false) : null,
            b.requiresGrad() ? be.matmul(g, a, true, false) : null}, a, b);
    }
}
