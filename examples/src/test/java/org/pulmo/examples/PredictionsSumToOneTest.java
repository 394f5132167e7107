package org.pulmo.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pulmo.data.DatasetException;

/**
 * A predictions.csv row is a softmax: its probabilities sum to 1 up to float rounding (a few 1e-7). A row a hundredth off
 * (0.76 + 0.25 = 1.01, an edited file) is not one, and is refused naming the line; float rounding passes.
 */
class PredictionsSumToOneTest {
    private static final String HEAD = "source,label,predicted,covid,normal\n";

    @Test void aRowAHundredthOffOneIsRefused(@TempDir Path dir) throws Exception {
        Path csv = dir.resolve("predictions.csv");
        Files.writeString(csv, HEAD + "\"a.png\",covid,covid,0.7500001,0.25\n");
        assertEquals(1, PlotCommand.predictions(csv).size(), "float rounding passes");
        Files.writeString(csv, HEAD + "\"a.png\",covid,covid,0.76,0.25\n");
        DatasetException e = assertThrows(DatasetException.class, () -> PlotCommand.predictions(csv));
        assertTrue(e.getMessage().contains("line 2: the class probabilities sum to 1.01, not 1"), e.getMessage());
    }
}
