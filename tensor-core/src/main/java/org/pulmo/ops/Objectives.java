package org.pulmo.ops;

import org.pulmo.autograd.Graph;
import org.pulmo.backend.Backend;
import org.pulmo.tensor.Shapes;
import org.pulmo.tensor.Tensor;

/**
 * The papers' loss terms as single differentiable ops, one backend call forward and one backward (fused
 * kernels on CUDA, composed from primitives elsewhere): softmax cross-entropy (MA-Net eq. 12-13, and the
 * classification loss of every model) and the batch-mean cosine similarity (MA-Net eq. 14). nn's
 * {@code Losses} checks the arguments and calls these. The loss stays on the device: reading it is the
 * caller's choice (and the only host synchronisation of a training step).
 */
public final class Objectives {
    private Objectives() {}

    /**
     * Cross-entropy of logits [N, C] against labels [N] (class indices as exact floats, on the logits'
     * device), weighted by classWeights [C] or not (null), with PyTorch's weighted mean. Saves the logits,
     * labels, weights and the weight sum (a scalar); backward recomputes the softmax.
     */
    public static Tensor crossEntropy(Tensor logits, Tensor labels, Tensor classWeights) {
        checkCrossEntropyShapes(logits, labels, classWeights);
        Backend be = logits.backend();
        Backend.CrossEntropyOut out = be.crossEntropy(logits, labels, classWeights);
        Tensor wsum = out.wsum();
        // dx = g * w[y_i] / sum w * (softmax(x_i) - onehot(y_i)). The labels and weights are inputs too (no gradient): the
        // backward reads them, so a label buffer refilled before backward() is refused (Storage.version), not differentiated
        return Graph.record("crossEntropy", out.loss(),
            g -> new Tensor[] {be.crossEntropyBackward(logits, labels, classWeights, wsum, g), null, null}, logits, labels, classWeights);
    }

    /** Refuses logits other than [N, C], labels other than [N] and class weights other than [C], naming the shapes. */
    public static void checkCrossEntropyShapes(Tensor logits, Tensor labels, Tensor classWeights) {
        if (logits.dim() != 2)
            throw new IllegalArgumentException("crossEntropy needs logits [N, C], got " + Shapes.str(logits.shape()));
        int n = logits.shape()[0], c = logits.shape()[1];
        if (n == 0 || c == 0)
            throw new IllegalArgumentException("crossEntropy needs at least one sample and one class, got logits " + Shapes.str(logits.shape())
                + (n == 0 ? " (an empty batch has no mean loss)" : ""));
        if (labels.dim() != 1 || labels.shape()[0] != n)
            throw new IllegalArgumentException("crossEntropy: labels must be [" + n + "] for logits " + Shapes.str(logits.shape())
                + ", got " + Shapes.str(labels.shape()));
        if (classWeights != null && (classWeights.dim() != 1 || classWeights.shape()[0] != c))
            throw new IllegalArgumentException("crossEntropy: class weights must be [" + c + "], got " + Shapes.str(classWeights.shape()));
    }

    /**
     * Batch mean of the per-sample cosine similarity of a and b [N, ...] (each sample flattened), each norm
     * clamped at eps as torch.nn.functional.cosine_similarity does. Saves a, b and per-sample stats [N, 3].
     */
    public static Tensor cosineSimilarity(Tensor a, Tensor b, float eps) {
        if (!a.device().equals(b.device()))
            throw new IllegalArgumentException("cosineSimilarity: tensors on different devices: " + a.device() + " and " + b.device());
        if (!java.util.Arrays.equals(a.shape(), b.shape()) || a.dim() < 2 || a.shape()[0] == 0)
            throw new IllegalArgumentException("cosineSimilarity: takes two batches [N, D, ...] of one shape (each sample a vector),"
                + " N at least 1; got " + Shapes.str(a.shape()) + " and " + Shapes.str(b.shape())
                + (a.dim() == 1 && java.util.Arrays.equals(a.shape(), b.shape()) ? " (two vectors: give them as [1, " + a.shape()[0] + "])" : ""));
        Backend be = a.backend();
        Backend.CosineOut out = be.cosine(a, b, eps);
        Tensor stats = out.stats();
        // da_n = g/N (b_n / (na nb) - c_n a_n / na^2, that term only where |a_n| > eps), na = max(|a_n|, eps), nb likewise; db symmetrically
        return Graph.record("cosineSimilarity", out.c(), g -> {
            Backend.Grads d = be.cosineBackward(a, b, stats, g, eps);
            return new Tensor[] {a.requiresGrad() ? d.dA() : null, b.requiresGrad() ? d.dB() : null};
        }, a, b);
    }
}
