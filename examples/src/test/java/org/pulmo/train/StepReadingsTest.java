package org.pulmo.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.pulmo.models.MaNet;
import org.pulmo.tensor.MemoryScope;
import org.pulmo.tensor.Tensor;

/** The training loop's deferred reads: values, order, the first non-finite loss, and what the step scopes free. */
class StepReadingsTest {

    private static Progress bar() { return new Progress(new PrintStream(new ByteArrayOutputStream()), false, "t", 10); }

    /** Logits [n, 2] whose argmax is {@code predicted[i]}, made in the open scope (pooled output of an op). */
    private static Tensor logits(int... predicted) {
        float[] d = new float[predicted.length * 2];
        for (int i = 0; i < predicted.length; i++) d[2 * i + predicted[i]] = 1f;
        return Tensor.of(d, predicted.length, 2).mul(1f);
    }

    @Test void readsEveryStepsLossAndAccuracyInOrder() {
        StepReadings r = new StepReadings();
        MemoryScope.Steps steps = new MemoryScope.Steps(List::of);
        float[] losses = {0.9f, 0.7f, 0.4f};
        int[][] labels = {{0, 1}, {1, 1}, {0, 0}};
        int[][] predicted = {{0, 0}, {1, 1}, {1, 1}};   // 1, 2 and 0 correct
        for (int k = 0; k < 3; k++)
            try (MemoryScope s = steps.open()) {
                r.add(s, k, labels[k], Tensor.scalar(losses[k]).mul(1f), logits(predicted[k]), null);
            }
        assertEquals(3, r.size());
        Progress bar = bar();
        assertNull(r.read(bar));
        assertEquals(0, r.size());
        assertEquals((0.9 + 0.7 + 0.4) / 3, bar.loss(), 1e-6);
        assertEquals(3 / 6.0, bar.accuracy(), 1e-12);
        assertEquals(6, bar.images());
    }

    @Test void keptValuesOutliveTheirStepAndAreFreedByTheRead() {
        StepReadings r = new StepReadings();
        MemoryScope.Steps steps = new MemoryScope.Steps(List::of);
        Tensor loss, logits;
        try (MemoryScope s = steps.open()) {
            loss = Tensor.scalar(0.5f).mul(1f);
            logits = logits(1, 0);
            Tensor other = logits.mul(2f);
            r.add(s, 0, new int[] {1, 0}, loss, logits, null);
            s.close();
            assertTrue(other.storage().isReleased(), "the step's other outputs go back at its end");
        }
        assertFalse(loss.storage().isReleased(), "the loss is kept for the read");
        r.read(bar());
        assertTrue(loss.storage().isReleased(), "the read gives the kept loss back");
    }

    @Test void theFirstNonFiniteLossIsReportedWithItsBatchAndLaterStepsAreNotCounted() {
        StepReadings r = new StepReadings();
        MemoryScope.Steps steps = new MemoryScope.Steps(List::of);
        float[] losses = {0.5f, 0.6f, Float.NaN, Float.POSITIVE_INFINITY, 0.1f};
        for (int k = 0; k < losses.length; k++)
            try (MemoryScope s = steps.open()) {
                r.add(s, 10 + k, new int[] {0}, Tensor.scalar(losses[k]).mul(1f), logits(0), null);
            }
        Progress bar = bar();
        StepReadings.Diverged d = r.read(bar);
        assertNotNull(d);
        assertEquals(12, d.batch());
        assertTrue(Float.isNaN(d.loss()));
        assertEquals(2, bar.images(), "the steps before the first NaN are counted, none after it");
        assertEquals(0, r.size(), "everything held is freed even when the read stops early");
    }

    @Test void maNetLossPartsAreAveragedOverImages() {
        StepReadings r = new StepReadings();
        MemoryScope.Steps steps = new MemoryScope.Steps(List::of);
        float[][] parts = {{1.2f, 0.3f, 0.25f, 0.75f}, {0.8f, 0.1f, 0.5f, 0.5f}};
        int[] images = {2, 4};
        for (int k = 0; k < 2; k++)
            try (MemoryScope s = steps.open()) {
                float[] p = parts[k];
                MaNet.LossValue lv = new MaNet.LossValue(Tensor.scalar(p[0] * p[2] + p[1] * p[3]).mul(1f), Tensor.scalar(p[0]).mul(1f),
                    Tensor.scalar(p[1]).mul(1f), Tensor.scalar(p[2]).mul(1f), Tensor.scalar(p[3]).mul(1f));
                r.add(s, k, new int[images[k]], lv.total(), logits(new int[images[k]]), lv);
            }
        assertNull(r.read(bar()));
        assertEquals(6, r.maNetImages);
        for (int j = 0; j < 4; j++)
            assertEquals((parts[0][j] * 2 + parts[1][j] * 4) / 6.0, r.maNetSums[j] / r.maNetImages, 1e-6, "part " + j);
    }

    @Test void dueAfterReadEverySteps() {
        StepReadings r = new StepReadings();
        MemoryScope.Steps steps = new MemoryScope.Steps(List::of);
        List<Boolean> due = new ArrayList<>();
        for (int k = 0; k < StepReadings.READ_EVERY; k++) {
            try (MemoryScope s = steps.open()) {
                r.add(s, k, new int[] {0}, Tensor.scalar(1f).mul(1f), logits(0), null);
            }
            due.add(r.due());
        }
        // the time rule may make an earlier step due on a slow machine; the count rule makes the last one due always
        assertTrue(due.getLast(), "due after " + StepReadings.READ_EVERY + " steps");
        r.read(bar());
        assertEquals(0, r.size());
        try (MemoryScope s = steps.open()) {
            assertThrows(IllegalArgumentException.class, () -> r.add(s, 0, new int[] {0}, Tensor.scalar(1f).mul(1f), logits(0, 1), null),
                "logits of 2 images against 1 label are refused");
        }
    }
}
