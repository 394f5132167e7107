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

    /**
     * For an op of one input whose gradient is the output's gradient placed into a part of the input's shape (a slice):
     * adds gradOutput into that part of {@code inputGrad}, a whole gradient array of the input's shape, in place. The
     * walk ({@link Engine}) uses it when the input already has a pending gradient it may add into, instead of
     * {@link Backward#apply} making a zero-filled array of the input's shape to be summed with it.
     */
    @FunctionalInterface
    public interface Accumulate {
        void into(Tensor gradOutput, Tensor inputGrad);
    }

    private final String op;
    private final Tensor[] inputs;
    private Backward backward;
    private Accumulate accumulate;
    Tensor retainedBy; // a non-leaf output whose .grad should be kept (Tensor.retainGrad)

    public Node(String op, Tensor[] inputs, Backward backward) {
        this(op, inputs, backward, null);
    }

    public Node(String op, Tensor[] inputs, Backward backward, Accumulate accumulate) {
        this.op = op;
        this.inputs = inputs;
        this.backward = backward;
        this.accumulate = accumulate;
    }

    public String op() { return op; }

    public Tensor[] inputs() { return inputs; }

    Tensor[] apply(Tensor gradOutput) {
        if (backward == null)
            throw new IllegalStateException("backward through '" + op + "' a second time: the first backward() freed "
                + "the tensors it had saved; pass retainGraph=true to the first call to backward twice");
        return backward.apply(gradOutput);
    }

    /** Whether the op can add its gradient into its input's pending gradient in place ({@link Accumulate}). */
    boolean accumulates() { return accumulate != null && backward != null && inputs.length == 1; }

    void accumulateInto(Tensor gradOutput, Tensor inputGrad) { accumulate.into(gradOutput, inputGrad); }

    void release() {
        backward = null;
        accumulate = null;
    }

    public void retain(Tensor output) { this.retainedBy = output; }

    @Override public String toString() { return op; }
}
