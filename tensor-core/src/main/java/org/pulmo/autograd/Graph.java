package org.pulmo.autograd;

import org.pulmo.tensor.Tensor;

/** Attaches a backward to a freshly computed tensor when grad mode is on and an input requires grad. */
public final class Graph {
    private Graph() {}

    /**
     * As {@link #record(String, Tensor, Node.Backward, Tensor...)} for an op of one input that can also add its
     * gradient into the input's pending gradient in place ({@link Node.Accumulate}: a slice).
     */
    public static Tensor recordAccumulating(String op, Tensor out, Node.Backward backward, Node.Accumulate accumulate, Tensor input) {
        if (!GradMode.isEnabled() || input == null || !input.requiresGrad()) return out;
        out.attachGradFn(new Node(op, new Tensor[] {input}, backward, accumulate));
        return out;
    }

    public static Tensor record(String op, Tensor out, Node.Backward backward, Tensor... inputs) {
        if (!GradMode.isEnabled()) return out;
        for (Tensor in : inputs) {
            if (in != null && in.requiresGrad()) {
                out.attachGradFn(new Node(op, inputs, backward));
                return out;
            }
        }
        return out;
    }
}
