package org.pulmo.benchmarks;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.pulmo.benchmarks.ModelWorkload.Pass;
import org.pulmo.benchmarks.ModelWorkload.Size;

class ModelWorkloadTest {

    @Test void maNetCountsTwoImagesPerPair() {
        assertEquals(32, ModelWorkload.imagesPerStep("manet-resnet50", 16));   // the paper's batch of 16 pairs
        assertEquals(32, ModelWorkload.imagesPerStep("dpn92-se", 32));
        assertEquals(4, ModelWorkload.imagesPerStep("resnet50", 4));
        assertTrue(ModelWorkload.isPairModel("manet-densenet169"));
        assertFalse(ModelWorkload.isPairModel("resnet50"));
    }

    @Test void sizesFollowThePapersOnTheGpuAndStaySmallOnTheCpu() {
        assertEquals(new Size(32, 224), Size.of("paper", "dpn92-se", Pass.TRAIN));
        assertEquals(new Size(16, 224), Size.of("paper", "manet-resnet50", Pass.TRAIN));
        assertEquals(new Size(32, 224), Size.of("paper", "resnet50", Pass.TRAIN));
        assertEquals(new Size(64, 224), Size.of("paper", "dpn92-se", Pass.INFER));
        assertEquals(new Size(64, 224), Size.of("paper", "manet-resnet50", Pass.INFER));   // 64 pairs, as the reference
        assertEquals(new Size(4, 112), Size.of("small", "manet-resnet50", Pass.TRAIN));
        assertEquals(new Size(8, 160), Size.of("8x160", "resnet50", Pass.INFER));
        assertThrows(IllegalArgumentException.class, () -> Size.of("huge", "resnet50", Pass.TRAIN));
    }

    @Test void maNetTrainingStepAndPairInferenceRun() {
        try (ModelWorkload w = new ModelWorkload("manet-resnet50", Pass.TRAIN, new Size(2, 32), "cpu", false)) {
            assertEquals(4, w.imagesPerStep());
            // the line printed beside the rates: 2 pairs are 2 x 2 = 4 images through the network
            assertTrue(w.describe().contains("batch 2 pairs at 32x32 (4 images per pass)"), w.describe());
            float first = w.trainStep(), second = w.trainStep();
            // MA-Net's total is re-weighted every step (a1, a2 of eq. 15-16 follow the losses), so it need not fall
            assertTrue(Float.isFinite(first) && Float.isFinite(second), first + ", " + second);
        }
        try (ModelWorkload w = new ModelWorkload("resnet50", Pass.TRAIN, new Size(4, 32), "cpu", false)) {
            float first = w.trainStep(), second = w.trainStep(), third = w.trainStep();
            // one fixed batch: steps that learn lower its cross-entropy (a step that does not update fails this)
            assertTrue(third < first, "the loss on the fixed batch falls: " + first + " -> " + second + " -> " + third);
        }
        try (ModelWorkload w = new ModelWorkload("resnet50", Pass.INFER, new Size(2, 32), "cpu", false)) {
            assertTrue(Float.isFinite(w.infer()));
            assertTrue(w.describe().contains("inference"), w.describe());
        }
    }

    /** Recorded steps where nothing can be recorded (the CPU): the ordinary step, the same losses, and a line saying why. */
    @Test void aRecordedWorkloadOnTheCpuRunsTheOrdinaryStep() {
        float[] plain = new float[3], recorded = new float[3];
        try (ModelWorkload w = new ModelWorkload("resnet50", Pass.TRAIN, new Size(2, 32), "cpu", false)) {
            for (int k = 0; k < 3; k++) plain[k] = w.trainStep();
        }
        try (ModelWorkload w = new ModelWorkload("resnet50", Pass.TRAIN, new Size(2, 32), "cpu", false, true)) {
            assertTrue(w.describe().contains("not recorded: the cpu backend"), w.describe());
            for (int k = 0; k < 3; k++) recorded[k] = w.trainStep();
            assertEquals(0, w.recordings());
        }
        assertArrayEquals(plain, recorded);
        try (ModelWorkload a = new ModelWorkload("manet-resnet50", Pass.INFER, new Size(2, 32), "cpu", false);
             ModelWorkload b = new ModelWorkload("manet-resnet50", Pass.INFER, new Size(2, 32), "cpu", false, true)) {
            assertEquals(a.infer(), b.infer(), "a recorded pair forward, run as the ordinary one on the CPU");
            assertTrue(b.describe().contains("not recorded"), b.describe());
        }
    }

    @Test void cudaWithoutADeviceFailsWithTheReasonOrRuns() {
        String why = org.pulmo.backend.Backends.unavailableReason(org.pulmo.tensor.Device.cuda(0));
        org.junit.jupiter.api.Assumptions.assumeTrue(why != null, "a GPU is usable here");
        IllegalStateException e = assertThrows(IllegalStateException.class,
            () -> new ModelWorkload("resnet50", Pass.TRAIN, new Size(2, 32), "cuda", false));
        assertTrue(e.getMessage().contains("not usable"), e.getMessage());
    }

    @Test void cudaIsDroppedFromTheDeviceParameter() {
        String[] args = {"-f", "1", "-p", "device=cpu,cuda", "-p", "model=resnet50"};
        assertArrayEquals(new String[] {"-f", "1", "-p", "model=resnet50", "-p", "device=cpu"},
            ModelThroughputBench.withDevices(args, List.of("cpu")));
    }

    /** "BxS" is exactly two numbers: a third part is refused, not dropped (8x224x3 is not a run at 8 x 224). */
    @Test void aSizeWithMoreThanTwoPartsIsRefused() {
        assertThrows(IllegalArgumentException.class, () -> Size.of("8x224x3", "resnet50", Pass.TRAIN));
        assertThrows(IllegalArgumentException.class, () -> Size.of("8", "resnet50", Pass.TRAIN));
    }
}
