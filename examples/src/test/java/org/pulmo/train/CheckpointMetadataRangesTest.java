package org.pulmo.train;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.pulmo.io.SafetensorsException;

/**
 * The edges of what {@link CheckpointMetadata#check} lets through: every value {@code pulmo train} writes (an image side
 * of 1 to 4096, a best accuracy of -1 before the first epoch, a rate or weight decay of 0) passes, and the value just past
 * each edge is refused naming its field.
 */
class CheckpointMetadataRangesTest {
    private static final Path FILE = Path.of("run/last.safetensors");

    private static void accepted(String key, String value) {
        assertDoesNotThrow(() -> CheckpointMetadata.check(FILE, Map.of(key, value)), key + " = " + value);
    }

    private static void refused(String key, String value) {
        SafetensorsException e = assertThrows(SafetensorsException.class, () -> CheckpointMetadata.check(FILE, Map.of(key, value)), key + " = " + value);
        assertTrue(e.getMessage().contains("'" + key + "'"), e.getMessage());
    }

    /** A whole number as pulmo train writes it: " 1" passed here and then stopped a resume with "For input string". */
    @Test void wholeNumbersAreTakenAsWritten() {
        accepted("epoch", "1");
        refused("epoch", " 1");
        refused("epoch", "1 ");
    }

    /** An image side is 1 to 4096 pixels: 0 would make every resize empty. */
    @Test void imageSideFromOneToTheLimit() {
        accepted("image_size", "1");
        accepted("image_size", Integer.toString(CheckpointMetadata.MAX_IMAGE_SIZE));
        refused("image_size", "0");
        refused("image_size", Integer.toString(CheckpointMetadata.MAX_IMAGE_SIZE + 1));
    }

    /** -1 is what a checkpoint written before any validation holds (Double.toString(-1) = "-1.0"); other negatives are not accuracies. */
    @Test void bestAccuracyIsMinusOneOrAFraction() {
        accepted("best_val_acc", "-1.0");
        accepted("best_val_acc", "0.0");
        accepted("best_val_acc", "1.0");
        refused("best_val_acc", "-0.5");
        refused("best_val_acc", "1.01");
    }

    /** Rates and decays are finite and not negative; 0 (no momentum, no decay) is a setting train accepts. */
    @Test void optimiserNumbersAreFiniteAndNotNegative() {
        accepted("momentum", "0.0");
        accepted("weight_decay", "0.0");
        accepted("base_lr", "0.01");
        refused("base_lr", "Infinity");
        refused("base_lr", "NaN");
        refused("momentum", "-0.1");
        refused("weight_decay", "-1.0E-4");
    }
}
