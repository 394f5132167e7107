package org.pulmo.nn.loss;

import org.pulmo.ops.Objectives;
import org.pulmo.tensor.Tensor;

/**
 * The losses of the two papers: the label check here, the shape checks and the computation in tensor-core's
 * {@link Objectives} (one op each with its own backward, checked by the gradient tests). Labels are class indices stored as exact floats, shape [N].
 */
public final class Losses {
    private Losses() {}

    /**
     * Mean cross-entropy of logits [N, C] against labels [N]: -(1/N) sum_i log softmax(x_i)[y_i]. The labels may be
     * on the host when the logits are on a device (the cheaper way: no read-back to check them).
     */
    public static Tensor crossEntropy(Tensor logits, Tensor labels) { return crossEntropy(logits, labels, null); }

    /**
     * Cross-entropy from logits [N, C] with optional class weights [C], with PyTorch's weighted mean:
     * L = sum_i w[y_i] * (-log p_i[y_i]) / sum_i w[y_i]. Without weights that is the plain mean over the batch.
     * log p comes from log-softmax (max subtracted before exp), never from log(softmax), which underflows.
     */
    public static Tensor crossEntropy(Tensor logits, Tensor labels, Tensor classWeights) {
        Objectives.checkCrossEntropyShapes(logits, labels, classWeights);
        int c = logits.shape()[1];
        // Labels on a device are read back to be checked, which drains the device's queue in the middle of the step:
        // the training loop passes the host's labels, which move to the logits' device below, after the check. While a
        // step is captured as a graph nothing can be read back, and its labels are an input buffer refilled at every
        // replay: the training loop checks each batch's labels on the host (checkLabels) before they are copied in.
        if (!labels.backend().capturing()) {
            float[] y = labels.toArray();
            checkLabels("crossEntropy", y, c);
            if (classWeights != null && classWeights.device().isCpu()) checkClassWeights(classWeights.toArray(), y);
        }
        // one op with its own backward: -(1/sum w) sum_i w[y_i] log_softmax(x_i)[y_i] (ce kernels on the GPU)
        Tensor idx = labels.detach().to(logits.device());
        Tensor w = classWeights == null ? null : classWeights.detach().to(logits.device()); // constants
        return Objectives.crossEntropy(logits, idx, w);
    }

    /**
     * Throws, naming {@code who}, the first label and its position, unless every label is a class index in [0, classes):
     * cross-entropy's own check, and the one a loop runs on the host where cross-entropy cannot read its labels back (a
     * step recorded as a CUDA graph, {@code org.pulmo.optim.CapturedStep}).
     */
    public static void checkLabels(String who, float[] labels, int classes) {
        for (int i = 0; i < labels.length; i++) {
            float y = labels[i];
            if (!(y >= 0 && y < classes && y == Math.rint(y)))
                throw new IllegalArgumentException(who + ": label " + y + " at position " + i + " is not a class index in [0, " + classes + ")");
        }
    }

    /**
     * Throws unless every class weight is a finite number >= 0 and the batch's labels {@code y} weigh more than 0 in
     * all (the weighted mean divides by that sum: 0 would give NaN, a negative weight a loss that training raises).
     */
    static void checkClassWeights(float[] w, float[] y) {
        for (int k = 0; k < w.length; k++)
            if (!(w[k] >= 0) || Float.isInfinite(w[k]))
                throw new IllegalArgumentException("crossEntropy: class weight " + w[k] + " of class " + k + " is not a finite number >= 0");
        double sum = 0;
        for (float label : y) sum += w[(int) label];
        if (!(sum > 0))
            throw new IllegalArgumentException("crossEntropy: the class weights " + java.util.Arrays.toString(w)
                + " give this batch's labels a total weight of 0, so its weighted mean is undefined");
    }

    /** The eps that keeps a zero vector's norm from dividing by zero (PyTorch's cosine_similarity uses 1e-8). */
    public static final float COSINE_EPS = 1e-8f;

    /**
     * Cosine similarity of a and b flattened per sample (MA-Net eq. 14), averaged over the batch:
     * (1/N) sum_n <a_n, b_n> / (max(|a_n|, eps) * max(|b_n|, eps)). a and b have the same shape [N, D, ...].
     * The eps clamps each norm separately, as {@code torch.nn.functional.cosine_similarity} does. Below eps the clamp is a
     * constant in backward (its derivative 0); PyTorch 1.13's gradient for such a sample differs, by about 1e-4 relative.
     */
    public static Tensor cosineSimilarity(Tensor a, Tensor b) { return cosineSimilarity(a, b, COSINE_EPS); }

    public static Tensor cosineSimilarity(Tensor a, Tensor b, float eps) {
        // one op with its own backward (cosine kernels on the GPU). max(|a_n|, eps) is computed as
        // sqrt(max(|a_n|^2, eps^2)), and its derivative is zero where the clamp holds, so a zero vector gives
        // a finite gradient (sqrt'(0) is infinite, and 0 * inf would be NaN).
        return Objectives.cosineSimilarity(a, b, eps);
    }
}
