package org.pulmo.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class DataBoundTest {
    /** The epoch line names the loader only where it took more than a tenth of the epoch. */
    @Test void theEpochLineNamesALoaderThatBoundsTheRun() {
        assertEquals("", Trainer.dataBound(0.9, 10));
        assertEquals("", Trainer.dataBound(1.0, 10));
        String note = Trainer.dataBound(4.4, 10);
        assertTrue(note.contains("waited 4.4 s of 10.0 for images") && note.contains("data-bound"), note);
    }

    /** The time left is the mean epoch so far times the epochs left, as h:mm:ss; nothing after the last epoch. */
    @Test void theEpochLineTellsTheTimeLeft() {
        assertEquals("  | about 0:01:30 left", Trainer.timeLeft(30, 2, 6));      // 15 s an epoch, 6 to go
        assertEquals("  | about 2:05:00 left", Trainer.timeLeft(75, 1, 100));    // 100 more epochs of 75 s
        assertEquals("", Trainer.timeLeft(30, 2, 0));
    }
}
