package org.pulmo.train;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.pulmo.data.Augmentation;
import org.pulmo.tensor.Device;

/** The checkpoint metadata {@link Trainer#describe} writes, read back as values the run was given. */
class TrainerDescribeTest {

    /**
     * Before any validation (a stop during epoch 1) there is no best yet: best epoch 0 and best accuracy -1, not an
     * accuracy of 0 that no epoch reached; {@link CheckpointMetadata#check} takes both back.
     */
    @Test void noBestYetIsEpochZeroAndMinusOne() {
        Trainer.Settings s = new Trainer.Settings("resnet18", List.of("a", "b"), 3, 8, 0.01f, 0.9f, 1e-4f, "STEP:1:0.5", 32, Augmentation.NONE, 7L,
            Path.of("run"), false, 1, false, null, Device.CPU, null);
        Map<String, String> m = Trainer.describe(s, 0, -1);
        assertEquals("0", m.get("best_epoch"));
        assertEquals(-1.0, Double.parseDouble(m.get("best_val_acc")));
        assertEquals("step:1:0.5", m.get("schedule"));
        assertEquals("a\nb", m.get("classes"));
        assertEquals("3", m.get("epochs"));
        assertDoesNotThrow(() -> CheckpointMetadata.check(Path.of("run/interrupted.safetensors"), m));

        Map<String, String> later = Trainer.describe(s, 2, 0.75);
        assertEquals("2", later.get("best_epoch"));
        assertEquals(0.75, Double.parseDouble(later.get("best_val_acc")));
    }
}
