package org.pulmo.train;

import java.util.ArrayList;
import java.util.List;
import org.pulmo.models.MaNet;
import org.pulmo.tensor.MemoryScope;
import org.pulmo.tensor.Tensor;

/**
 * What the training loop reads back from the device, gathered over several steps. Each step's loss, its
 * predictions and, for MA-Net, L_CE, L_CS, a1 and a2 stay on the device as small tensors kept past the step's
 * memory scope; they are read together when {@link #due()} says so (every {@link #READ_EVERY} steps, or once
 * {@link #READ_NANOS} have passed since the last read) and before anything leaves the loop (the epoch's end, a stop).
 *
 * <p>Why not every step: a read makes the host wait until the device has run everything queued, and the device then
 * idles until the host launches the next kernels. Without it the host runs ahead: it loads and copies the next batch
 * and launches its forward while the device still computes this step's backward. On the CPU a read costs nothing,
 * and the time rule makes it one read per step wherever steps take longer than {@link #READ_NANOS}.
 *
 * <p>A loss that is not finite is found at the read, and reported with the batch it came from; the steps after it
 * have already run on broken weights, which is harmless: the loop writes no checkpoint after a diverged loss.
 */
final class StepReadings {
    /** At most this many steps between two reads. */
    static final int READ_EVERY = 16;
    /** At most this long between two reads, so that the progress bar moves when steps are slow. */
    static final long READ_NANOS = 500_000_000L;

    /** One step's values, still on the device. {@code maNet}: L_CE, L_CS, a1, a2, or null. */
    private record Pending(int batch, int[] labels, Tensor loss, Tensor predictions, Tensor[] maNet) {}

    /** A non-finite loss, found at a read: the batch number (from 0) of the first such step and its value. */
    record Diverged(int batch, float loss) {}

    private final List<Pending> pending = new ArrayList<>();
    private long lastRead = System.nanoTime();
    /** Image-weighted sums of L_CE, L_CS, a1 and a2 over the steps read so far (MA-Net), and their images. */
    final double[] maNetSums = new double[4];
    long maNetImages;

    /**
     * What the loop reads of a step, still on the device: the loss, the predictions (argmax of {@code logits}) and, for
     * MA-Net ({@code maNet} not null), L_CE, L_CS, a1 and a2; 2 or 6 tensors. What a recorded step keeps as its outputs.
     */
    static Tensor[] values(Tensor loss, Tensor logits, MaNet.LossValue maNet) {
        Tensor l = loss.detach(), p = logits.detach().argmax(1, false);
        return maNet == null ? new Tensor[] {l, p} : new Tensor[] {l, p, maNet.lossCe(), maNet.lossCs(), maNet.weightCe(), maNet.weightCs()};
    }

    /**
     * Holds step {@code batch}'s {@link #values} until the next read, taking them out of {@code scope} so that its end
     * does not free them. {@code maNet}: the MA-Net loss parts, or null.
     */
    void add(MemoryScope scope, int batch, int[] labels, Tensor loss, Tensor logits, MaNet.LossValue maNet) {
        if (logits.dim() != 2 || logits.shape()[0] != labels.length)
            throw new IllegalArgumentException("step readings: logits " + java.util.Arrays.toString(logits.shape()) + " for "
                + labels.length + " labels");
        Tensor[] v = values(loss, logits, maNet);
        scope.keep(v);
        hold(batch, labels, v);
    }

    private void hold(int batch, int[] labels, Tensor[] v) {
        pending.add(new Pending(batch, labels, v[0], v[1], v.length == 6 ? java.util.Arrays.copyOfRange(v, 2, 6) : null));
    }

    /**
     * Holds step {@code batch}'s outputs of a recorded step ({@code org.pulmo.optim.CapturedStep}), its {@link #values},
     * as copies, since the next replay overwrites them. Must be called outside any memory scope (the copies are freed at
     * the read).
     */
    void addCopies(int batch, int[] labels, Tensor[] outputs) {
        if (outputs.length != 2 && outputs.length != 6)
            throw new IllegalArgumentException("step readings: a recorded step gives 2 or 6 outputs, got " + outputs.length);
        if (outputs[1].numel() != labels.length)
            throw new IllegalArgumentException("step readings: " + outputs[1].numel() + " predictions for " + labels.length + " labels");
        Tensor[] c = new Tensor[outputs.length];
        try (var ignored = org.pulmo.autograd.GradMode.noGrad()) {
            for (int i = 0; i < c.length; i++) c[i] = outputs[i].copy();
        } catch (RuntimeException | Error e) {
            for (Tensor t : c) if (t != null) free(t);
            throw e;
        }
        hold(batch, labels, c);
    }

    /** Whether the steps held are due to be read. */
    boolean due() { return pending.size() >= READ_EVERY || System.nanoTime() - lastRead >= READ_NANOS; }

    int size() { return pending.size(); }

    /**
     * Reads every step held (one wait for the device, at the first value) into {@code bar} and the MA-Net sums, in
     * step order, and frees their tensors. Returns the first step whose loss is not finite (the steps from it on
     * are not added to the bar), else null.
     */
    Diverged read(Progress bar) {
        try {
            for (Pending s : pending) {
                float l = s.loss().item();
                if (!Float.isFinite(l)) return new Diverged(s.batch(), l);
                int correct = correct(s.predictions().toArray(), s.labels());
                int n = s.labels().length;
                if (s.maNet() != null) {
                    for (int k = 0; k < 4; k++) maNetSums[k] += s.maNet()[k].item() * (double) n;
                    maNetImages += n;
                }
                bar.step(n, l, correct);
            }
            return null;
        } finally {
            release();
            lastRead = System.nanoTime();
        }
    }

    /** How many of {@code predicted} (class indices as floats) equal {@code labels}. */
    static int correct(float[] predicted, int[] labels) {
        int c = 0;
        for (int i = 0; i < labels.length; i++) if (predicted[i] == labels[i]) c++;   // NaN (a row of NaN logits) never counts
        return c;
    }

    /** Frees the tensors of the steps held without reading them. */
    void release() {
        for (Pending s : pending) {
            free(s.loss());
            free(s.predictions());
            if (s.maNet() != null) for (Tensor t : s.maNet()) free(t);
        }
        pending.clear();
    }

    private static void free(Tensor t) { if (!t.storage().isReleased()) t.storage().release(); }
}
