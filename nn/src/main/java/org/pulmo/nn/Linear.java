package org.pulmo.nn;

import org.pulmo.tensor.Rng;
import org.pulmo.tensor.Tensor;

/**
 * y = x · weightᵀ + bias: x [.., in] -> [.., out]. weight is [out, in] as PyTorch stores it, so weights load
 * without a transpose. Init as torch.nn.Linear's default (kept by torchvision's ResNet): weight and bias
 * uniform in [-1/sqrt(in), 1/sqrt(in)).
 */
public final class Linear extends Module {
    public final int inFeatures, outFeatures;
    public final Tensor weight;
    public final Tensor bias; // null when built without bias

    public Linear(int inFeatures, int outFeatures, boolean bias, Rng rng) {
        if (inFeatures < 1 || outFeatures < 1)
            throw new IllegalArgumentException("Linear(" + inFeatures + ", " + outFeatures + "): both sizes must be at least 1"
                + (outFeatures < 1 ? " (a classifier needs at least one class)" : ""));
        this.inFeatures = inFeatures;
        this.outFeatures = outFeatures;
        float bound = (float) (1.0 / Math.sqrt(inFeatures));
        this.weight = registerParameter("weight", Init.uniform(rng, bound, outFeatures, inFeatures));
        this.bias = bias ? registerParameter("bias", Init.uniform(rng, bound, outFeatures)) : null;
    }

    public Linear(int inFeatures, int outFeatures, Rng rng) { this(inFeatures, outFeatures, true, rng); }

    @Override public Tensor forward(Tensor x) {
        if (x.dim() < 1 || x.shape()[x.dim() - 1] != inFeatures)
            throw new IllegalArgumentException("Linear(" + inFeatures + ", " + outFeatures + ") got input of shape "
                + java.util.Arrays.toString(x.shape()) + "; the last dim must be " + inFeatures);
        if (x.dim() == 1) return forward(x.unsqueeze(0)).squeeze(0);   // one sample [in] -> [out], as PyTorch's Linear
        Tensor y = org.pulmo.ops.LinearAlgebra.matmulTransposed(x, weight); // x · weightᵀ; dW comes out [out, in]
        return bias == null ? y : y.add(bias);
    }

    @Override protected String extraRepr() { return "in_features=" + inFeatures + ", out_features=" + outFeatures + (bias == null ? ", bias=false" : ""); }
}
