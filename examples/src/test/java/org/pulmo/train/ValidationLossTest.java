package org.pulmo.train;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pulmo.data.Augmentation;
import org.pulmo.tensor.Device;

/**
 * The validation loss of an epoch is the mean cross-entropy over the validation images, whatever batches they came in:
 * with the evaluation-mode logits fixed by {@link TrainerBestAndResumeTest.Scripted} (5 for class 0, 0 for class 1, every
 * image of class 0), each image's loss is -log(e^5 / (e^5 + 1)) = log(1 + e^-5), and so is their mean.
 */
class ValidationLossTest {

    /** 40 validation images come in batches of 32 and 8; the mean over images is log(1 + e^-5), not a mean of batch means. */
    @Test void validationLossIsTheMeanOverImages(@TempDir Path dir) throws IOException {
        int[] valLabels = new int[40];   // all class 0
        Trainer.Settings s = new Trainer.Settings("scripted", List.of("a", "b"), 1, 4, 0.001f, 0.9f, 0f, "constant", 8,
            Augmentation.NONE, 7, dir, false, 1, false, null, Device.CPU, null);
        Trainer.Result r = new Trainer(s, new TrainerBestAndResumeTest.Scripted(), new TrainerBestAndResumeTest.Tiny(new int[] {0, 1, 0, 1, 0, 1, 0, 1}),
            new TrainerBestAndResumeTest.Tiny(valLabels), new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8), false).run();
        History.Row row = r.history().rows().getFirst();
        assertEquals(Math.log1p(Math.exp(-5)), row.valLoss(), 1e-6);
        assertEquals(1.0, row.valAcc(), 1e-12);
    }
}
