package org.pulmo.autograd;

import org.pulmo.tensor.Tensor;

/** Attaches a backward to a freshly computed tensor when grad mode is on and an input requires grad. */
public final class Graph {
    private Graph() {}

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
