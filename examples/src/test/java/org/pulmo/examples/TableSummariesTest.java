package org.pulmo.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.pulmo.metrics.Intervals;

/** The figures {@code pulmo table} derives from metrics.json rows, on small hand-worked cases. */
class TableSummariesTest {

    private static TableCommand.Entry entry(String label, double accuracy) {
        return new TableCommand.Entry(label, Path.of(label), Map.of("accuracy", accuracy), List.of("a", "b"), null, "test");
    }

    /**
     * A on seeds 1 and 2 at 80 % and 90 %, B at 80 % and 70 %: differences +0 and +20 points, mean +10; A is ahead on one
     * seed and level on the other (an equal accuracy is neither ahead nor behind).
     */
    @Test void seedBySeedCountsALevelSeedAsLevel() {
        List<TableCommand.Entry> entries = List.of(entry("A", 0.8), entry("B", 0.8), entry("A", 0.9), entry("B", 0.7));
        String s = TableCommand.seedBySeed(entries, List.of("seed 1", "seed 1", "seed 2", "seed 2"));
        assertTrue(s.contains("| A vs B | seed 1, seed 2 | +0.00, +20.00 | +10.00 | 1 / 1 / 0 |"), s);
    }

    /**
     * 57 of 100 images right is stored as the accuracy 0.57, and 0.57 * 100 is 56.99999999999999 in doubles: the interval
     * is still Wilson's of 57 of 100, the count rounded back, not cut to 56.
     */
    @Test void theAccuracyIntervalCountsTheImagesBackByRounding() {
        Map<String, Double> m = Map.of("accuracy", 57 / 100.0, "a_support", 60.0, "b_support", 40.0);
        assertEquals(Intervals.wilson(57, 100), TableCommand.accuracyInterval(m, List.of("a", "b")));
    }
}
