package org.pulmo.optim;

import java.util.Arrays;
import java.util.function.Function;
import org.pulmo.backend.Backend;
import org.pulmo.tensor.Device;
import org.pulmo.tensor.MemoryScope;
import org.pulmo.tensor.Tensor;

/**
 * A training step recorded once as device work and replayed for every batch of the same shapes ({@link Backend#capture};
 * CUDA graphs on a GPU): the host then launches one graph per step instead of a few thousand kernels and library calls.
 *
 * <p>The step's body (forward, loss, backward, the optimiser's step) runs on input buffers that this class owns on the
 * device; {@link #step} copies each batch into them, and the body's outputs (the loss, predictions) are buffers too,
 * rewritten by every step: copy what must outlive the next step. The outputs must be tensors the body made (or views of
 * them, such as {@code detach()}): this class frees them with the step, so never a parameter or an input. How a step goes:
 * <ol>
 *   <li>the first {@code eagerSteps} steps run the body as ordinary code: they make the momentum buffers, let cuDNN
 *       choose its algorithms and upload the optimiser's tables, work a capture cannot do (it cannot read anything
 *       back) and must not repeat (the first SGD step differs from the rest);</li>
 *   <li>the next step records the body (nothing runs while recording) and launches the recording;</li>
 *   <li>every later step launches it again, until the learning rate changes: the rate is a kernel argument fixed into
 *       the recording, so the step records the body anew (a step schedule does this a few times per run).</li>
 * </ol>
 * The body must do the same thing at every step: no host decisions on values (none can be read back while recording),
 * no host randomness (dropout masks drawn on the host would be replayed unchanged: {@code Dropout} refuses to be
 * recorded), no labels checked inside (a captured cross-entropy cannot read its labels back; check them on the host
 * before the copy with {@code Losses.checkLabels}), no optimiser state made inside (a parameter's first momentum buffer: the optimiser
 * refuses while recording). Besides the learning rate, which is watched and recorded anew when it changes, and the
 * backend's precision (TF32 or strict) and cuDNN's determinism, which are fixed into the recorded calls and watched too
 * (after a change one ordinary step chooses cuDNN's algorithms anew, then the next records), a recording fixes the model's
 * train/eval mode and the optimiser's buffers: after changing one of those, close this step and make a new one.
 *
 * <p>Where the backend cannot record ({@link Backend#captureUnsupported}: the CPU, a driver without graphs), or the
 * recording fails (one warning, with the driver's reason), every step runs the body as ordinary code, so a caller needs
 * no second path; {@link #recording()} says which it is.
 */
public final class CapturedStep implements AutoCloseable {
    private static final java.util.logging.Logger LOG = java.util.logging.Logger.getLogger(CapturedStep.class.getName());
    private final Backend backend;
    private final Sgd sgd;
    private final MemoryScope.Steps steps;
    private final Function<Tensor[], Tensor[]> body;
    private final Tensor[] inputs;
    private final int eagerSteps;
    private String unsupported;
    private Backend.Captured graph;
    private float recordedLr = Float.NaN;
    private boolean recordedStrictFp32, recordedDeterministic;
    private Tensor[] outputs;
    private long stepsRun, recordings;

    /**
     * A step on {@code device} whose body takes inputs of {@code inputShapes} (in that order) and returns the tensors to
     * keep past the step, the loss first. {@code steps} keeps the training state (as the training loop's own scopes);
     * {@code sgd} is the optimiser the body steps (its learning rate is watched). {@code eagerSteps}: steps run as
     * ordinary code before the first recording, at least 1. For work without an optimiser (a forward pass in evaluation
     * mode, without gradients), {@link #forward}.
     */
    public CapturedStep(Device device, Sgd sgd, MemoryScope.Steps steps, int eagerSteps, Function<Tensor[], Tensor[]> body, int[]... inputShapes) {
        if (eagerSteps < 1) throw new IllegalArgumentException("CapturedStep: eagerSteps must be at least 1 (the first SGD step makes the "
            + "momentum buffers), got " + eagerSteps);
        if (inputShapes.length == 0) throw new IllegalArgumentException("CapturedStep: a step needs at least one input");
        if (MemoryScope.isOpen()) throw new IllegalStateException(OUTSIDE_SCOPES);
        this.backend = org.pulmo.backend.Backends.of(device);
        this.sgd = sgd;
        this.steps = steps;
        this.body = body;
        this.eagerSteps = eagerSteps;
        this.unsupported = backend.captureUnsupported();
        this.inputs = new Tensor[inputShapes.length];
        for (int i = 0; i < inputShapes.length; i++) inputs[i] = Tensor.wrap(backend.allocate(Math.max(1, org.pulmo.tensor.Shapes.numel(inputShapes[i]))), inputShapes[i]);
    }

    /**
     * Work without an optimiser, such as inference: {@code body} on inputs of {@code inputShapes}, returning what to keep
     * (the logits), each step in a plain memory scope; one ordinary step (cuDNN's algorithm choices), then recorded once.
     * The body runs its own grad mode and the model's own train/eval mode, both fixed into the recording.
     */
    public static CapturedStep forward(Device device, Function<Tensor[], Tensor[]> body, int[]... inputShapes) {
        return new CapturedStep(device, null, null, 1, body, inputShapes);
    }

    private static final String OUTSIDE_SCOPES = "CapturedStep: make and step it outside any MemoryScope (its input and output"
        + " buffers outlive the steps, and it opens the steps' scopes itself)";

    /** Whether steps are recorded and replayed here (else {@link #whyNotRecorded} says why not). */
    public boolean recording() { return unsupported == null; }

    /** Null when steps are recorded and replayed, else why every step runs as ordinary code. */
    public String whyNotRecorded() { return unsupported; }

    /** Whether {@code batch} has the input shapes this step takes (in order), so that {@link #step} accepts it. */
    public boolean takes(Tensor... batch) { return batch.length == inputs.length && firstOtherShape(batch) < 0; }

    /** The first of {@code batch} (as many as the inputs) whose shape is not its input's, or -1. */
    private int firstOtherShape(Tensor[] batch) {
        for (int i = 0; i < batch.length; i++)
            if (!Arrays.equals(batch[i].shape(), inputs[i].shape())) return i;
        return -1;
    }

    /** Recordings made so far (the first, and one per change of the learning rate). */
    public long recordings() { return recordings; }

    /**
     * One training step on {@code batch} (host or device tensors of the input shapes, in order): copies them into the
     * input buffers, then runs, records or replays the body. Returns the body's outputs, valid until the next step; on a
     * device the work is queued, not finished (read the outputs when needed: that waits).
     */
    public Tensor[] step(Tensor... batch) {
        if (MemoryScope.isOpen()) throw new IllegalStateException(OUTSIDE_SCOPES);
        if (batch.length != inputs.length)
            throw new IllegalArgumentException("CapturedStep: " + batch.length + " inputs given, the step takes " + inputs.length);
        int i = firstOtherShape(batch);
        if (i >= 0)
            throw new IllegalArgumentException("CapturedStep: input " + i + " has shape " + Arrays.toString(batch[i].shape())
                + ", the recorded step takes " + Arrays.toString(inputs[i].shape()) + " (a step of another shape needs its own CapturedStep)");
        try (MemoryScope ignored = MemoryScope.open()) {   // the host batch's temporary device copies
            for (int k = 0; k < batch.length; k++) inputs[k].copyFrom(batch[k]);
        }
        stepsRun++;
        if (unsupported != null || stepsRun <= eagerSteps) {
            releaseOutputs();
            outputs = runBody();
            return outputs;
        }
        float lr = sgd == null ? Float.NaN : sgd.lr();
        boolean strictFp32 = backend.strictFp32(), deterministic = backend.deterministic();
        if (graph != null && (strictFp32 != recordedStrictFp32 || deterministic != recordedDeterministic)) {
            // Another precision or determinism: cuDNN chooses its algorithms anew, which waits for the device and so cannot
            // happen while recording. One ordinary step makes that choice; the next step records.
            closeGraph();   // its outputs go with it
            outputs = runBody();
            return outputs;
        }
        if (graph == null || (sgd != null && lr != recordedLr)) {
            closeGraph();
            releaseOutputs();   // the last ordinary step's
            recordedLr = lr;
            recordedStrictFp32 = strictFp32;
            recordedDeterministic = deterministic;
            try {
                graph = backend.capture(() -> outputs = runBody());
            } catch (RuntimeException e) {
                // Nothing recorded has run, so the step has not happened: it runs now as ordinary code, and so do all
                // later ones (a body that cannot be recorded once cannot be later either). A body that is simply wrong
                // throws again here.
                unsupported = "recording the step failed (" + e.getMessage() + "); steps run as ordinary code";
                LOG.warning(unsupported);
                releaseOutputs();   // the failed recording's, when its body got that far
                outputs = runBody();
                return outputs;
            }
            recordings++;
        }
        graph.replay();
        if (sgd != null) sgd.stepped();   // the replay changed the parameters as step() would have
        return outputs;
    }

    /** The body in one step's scope, its outputs kept past it. */
    private Tensor[] runBody() {
        try (MemoryScope scope = steps != null ? steps.open() : MemoryScope.open()) {
            Tensor[] out = body.apply(inputs);
            if (out == null || out.length == 0) throw new IllegalStateException("CapturedStep: the step's body returned no outputs");
            scope.keep(out);
            return out;
        }
    }

    private void releaseOutputs() {
        if (outputs == null) return;
        for (Tensor t : outputs) if (t != null && !t.storage().isReleased()) t.storage().release();
        outputs = null;
    }

    private void closeGraph() {
        if (graph == null) return;
        releaseOutputs();   // the recording's own: given back with it
        graph.close();
        graph = null;
    }

    /** Frees the recording, the input buffers and the last outputs (after the device has finished with them). */
    @Override public void close() {
        closeGraph();
        releaseOutputs();
        backend.synchronize();
        for (Tensor t : inputs) if (!t.storage().isReleased()) t.storage().release();
    }
}
