package org.pulmo.autograd;

import org.pulmo.tensor.Tensor;

/**
 * One recorded operation of the graph: the inputs it read and the function that turns the gradient of its
 * output into gradients of its inputs. The function closes over whatever forward saved for it (a softmax,
 * a mask, the inputs); {@link #release()} drops it after backward so that memory goes back.
 */
public final class Node {

    /** Gradient of the op's output in, gradients of its inputs out (same order as inputs; null = none). */
    @FunctionalInterface
    public interface Backward {
        Tensor[] apply(Tensor gradOutput);
    }

    private final String op;
    private final Tensor[] inputs;
    private Backward backward;
    Tensor retainedBy; // a non-leaf output whose .grad should be kept (Tensor.retainGrad)

    public Node(String op, Tensor[] inputs, Backward backward) {
        this.op = op;
        this.inputs = inputs;
        this.backward = backward;
    }

    public String op() { return op; }

    public Tensor[] inputs() { return inputs; }

    Tensor[] apply(Tensor gradOutput) {
        if (backward == null)
            throw new IllegalStateException("backward through '" + op + "' a second time: the first backward() freed "
                + "the tensors it had saved; pass retainGraph=true to the first call to backward twice");
        return backward.apply(gradOutput);
    }

    void release() { backward = null; }

    public void retain(Tensor output) { this.retainedBy = output; }

    @Override public String toString() { return op; }
}
