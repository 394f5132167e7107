package org.pulmo.autograd;

import org.pulmo.tensor.Shapes;
import org.pulmo.tensor.Storage;
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
    // what the op read, as it was then: backward refuses to run on values changed in place since (Storage.version)
    private final Storage[] inputStorages;
    private final int[] inputVersions;
    private Storage outputStorage;
    private int outputVersion;
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
        this.inputStorages = new Storage[inputs.length];
        this.inputVersions = new int[inputs.length];
        for (int i = 0; i < inputs.length; i++) {
            if (inputs[i] == null) continue;
            inputStorages[i] = inputs[i].storage();
            inputVersions[i] = inputStorages[i].version();
        }
    }

    /** Remembers the op's output as it is now (many backwards read it: exp, sigmoid, ReLU's mask); Tensor.attachGradFn. */
    public void recordOutput(Tensor output) {
        outputStorage = output.storage();
        outputVersion = outputStorage.version();
    }

    public String op() { return op; }

    public Tensor[] inputs() { return inputs; }

    Tensor[] apply(Tensor gradOutput) {
        if (backward == null)
            throw new IllegalStateException("backward through '" + op + "' a second time: the first backward() freed "
                + "the tensors it had saved; pass retainGraph=true to the first call to backward twice");
        return backward.apply(gradOutput);
    }

    /**
     * Refuses to differentiate through values changed in place after the op read them: a batch buffer refilled, a
     * parameter changed under noGrad(), a write through detach() before backward(). Stricter than PyTorch, which checks
     * only the tensors a node saved: here the op's inputs and output are checked, whether or not its backward happens to
     * read them (so {@code w.add(1).sum()} refuses a change of w that PyTorch lets pass). What this check sees is the
     * inputs and the output only: anything else a backward reads must be passed to {@link Graph#record} as an input (with
     * a null gradient), as cross-entropy's labels and weights, and batch norm's running statistics in evaluation, are. The
     * {@link Engine} checks every node of a graph before it computes any gradient.
     */
    void checkUnchanged() {
        if (backward == null) return;   // freed by an earlier backward: apply says so
        for (int i = 0; i < inputs.length; i++)
            if (inputStorages[i] != null && inputStorages[i].version() != inputVersions[i])
                throw changed("its input " + i + " of shape " + Shapes.str(inputs[i].shape()), inputStorages[i]);
        if (outputStorage != null && outputStorage.version() != outputVersion) throw changed("its output", outputStorage);
    }

    private IllegalStateException changed(String what, Storage s) {
        return new IllegalStateException("backward through '" + op + "': " + what + " was changed in place (" + s.lastChange()
            + ") after '" + op + "' read it; a graph any of whose tensors changed after the forward read them is refused,"
            + " since a gradient computed from them would use the new values; change a copy (Tensor.copy()), or make the"
            + " change after backward()");
    }

    /** Whether the op can add its gradient into its input's pending gradient in place ({@link Accumulate}). */
    boolean accumulates() { return accumulate != null && backward != null && inputs.length == 1; }

    void accumulateInto(Tensor gradOutput, Tensor inputGrad) { accumulate.into(gradOutput, inputGrad); }

    void release() {
        backward = null;
        accumulate = null;
        outputStorage = null;
    }

    public void retain(Tensor output) { this.retainedBy = output; }

    @Override public String toString() { return op; }
}
