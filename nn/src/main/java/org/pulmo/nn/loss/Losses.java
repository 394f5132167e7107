package org.pulmo.nn.loss;

import java.util.Arrays;
import org.pulmo.tensor.Tensor;

/**
 * The losses of the two papers, built from differentiable tensor ops (so their backward is the ops' backward,
 * checked by the gradient tests). Labels are class indices stored as exact floats, shape [N].
 */
public final class Losses {
    private Losses() {}

    /** Mean cross-entropy of logits [N, C] against labels [N]: -(1/N) sum_i log softmax(x_i)[y_i]. */
    public static Tensor crossEntropy(Tensor logits, Tensor labels) { return crossEntropy(logits, labels, null); }

    /**
     * Cross-entropy from logits [N, C] with optional class weights [C], with PyTorch's weighted mean:
     * L = sum_i w[y_i] * (-log p_i[y_i]) / sum_i w[y_i]. Without weights that is the plain mean over the batch.
     * log p comes from log-softmax (max subtracted before exp), never from log(softmax), which underflows.
     */
    public static Tensor crossEntropy(Tensor logits, Tensor labels, Tensor classWeights) {
        if (logits.dim() != 2)
            throw new IllegalArgumentException("crossEntropy needs logits [N, C], got " + Arrays.toString(logits.shape()));
        int n = logits.shape()[0], c = logits.shape()[1];
        if (labels.dim() != 1 || labels.shape()[0] != n)
            throw new IllegalArgumentException("crossEntropy: labels must be [" + n + "] for logits " + Arrays.toString(logits.shape())
                + ", got " + Arrays.toString(labels.shape()));
        for (float y : labels.toArray())
            if (!(y >= 0 && y < c && y == Math.rint(y)))
                throw new IllegalArgumentException("crossEntropy: label " + y + " is not a class index in [0, " + c + ")");
        Tensor idx = labels.detach().to(logits.device());
        Tensor picked = logits.logSoftmax(1).gather(1, idx.reshape(n, 1)).reshape(n); // log p_i[y_i], [N]
        if (classWeights == null) return picked.mean().neg();
        if (classWeights.dim() != 1 || classWeights.shape()[0] != c)
            throw new IllegalArgumentException("crossEntropy: class weights must be [" + c + "], got " + Arrays.toString(classWeights.shape()));
        Tensor w = classWeights.detach().to(logits.device()).gather(0, idx); // w[y_i], [N], constants
        return picked.mul(w).sum().neg().div(w.sum());
    }

    /** The eps that keeps a zero vector's norm from dividing by zero (PyTorch's cosine_similarity uses 1e-8). */
    public static final float COSINE_EPS = 1e-8f;

    /**
     * Cosine similarity of a and b flattened per sample (MA-Net eq. 14), averaged over the batch:
     * (1/N) sum_n <a_n, b_n> / (max(|a_n|, eps) * max(|b_n|, eps)). a and b have the same shape [N, ...].
     * The eps clamps each norm separately, as {@code torch.nn.functional.cosine_similarity} does.
     */
    public static Tensor cosineSimilarity(Tensor a, Tensor b) { return cosineSimilarity(a, b, COSINE_EPS); }

    public static Tensor cosineSimilarity(Tensor a, Tensor b, float eps) {
        if (!Arrays.equals(a.shape(), b.shape()) || a.dim() < 1)
            throw new IllegalArgumentException("cosineSimilarity needs two tensors of the same shape [N, ...], got "
                + Arrays.toString(a.shape()) + " and " + Arrays.toString(b.shape()));
        int n = a.shape()[0];
        Tensor af = a.reshape(n, -1), bf = b.reshape(n, -1);                    // [N, D]
        Tensor dot = af.mul(bf).sum(1, false);                                   // [N]
        // max(|a_n|, eps) as sqrt(max(|a_n|^2, eps^2)): clamping before the sqrt keeps backward finite for a
        // zero vector (sqrt'(0) is infinite, and 0 * inf would be NaN).
        Tensor floor = Tensor.full(eps * eps, n).to(a.device());
        Tensor na = af.square().sum(1, false).maximum(floor).sqrt();           // [N]
        Tensor nb = bf.square().sum(1, false).maximum(floor).sqrt();
        return dot.div(na.mul(nb)).mean();
    }
}
