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
 * plot and table read the predictions.csv evaluate writes; one evaluate could not have written (an edited or damaged
 * file) is refused naming the line, not drawn: probabilities that do not sum to 1 (by as little as a hundredth), an
 * image twice (it would weigh twice in the ROC), a predicted class that is none of the columns, a column twice. Before,
 * all of these were plotted.
 */
class PredictionsFileTest {
    private static final String HEAD = "source,label,predicted,covid,normal\n";

    @Test void aFileEvaluateCouldNotHaveWrittenIsRefusedNamingTheLine(@TempDir Path dir) throws Exception {
        Path csv = dir.resolve("predictions.csv");
        Files.writeString(csv, HEAD + "\"a.png\",covid,covid,0.75,0.25\n\"b.png\",normal,covid,0.5000001,0.4999999\n");
        assertEquals(2, PlotCommand.predictions(csv).size(), "evaluate's own rounding passes");
        String[][] cases = {
            {HEAD + "\"a.png\",covid,covid,0.9,0.9\n", "line 2: the class probabilities sum to 1.8, not 1"},
            {HEAD + "\"a.png\",covid,covid,0.76,0.25\n", "line 2: the class probabilities sum to 1.01, not 1"},   // a hundredth off
            {HEAD + "\"a.png\",covid,covid,0.75,0.25\n\"a.png\",covid,covid,0.75,0.25\n", "lines 2 and 3: the image a.png twice"},
            {HEAD + "\"a.png\",covid,zebra,0.75,0.25\n", "line 2: predicted class 'zebra' is none of the classes [covid, normal]"},
            {"source,label,predicted,covid,covid\n\"a.png\",covid,covid,0.75,0.25\n", "line 1: column 'covid' comes twice"}};
        for (String[] c : cases) {
            Files.writeString(csv, c[0]);
            DatasetException e = assertThrows(DatasetException.class, () -> PlotCommand.predictions(csv));
            assertTrue(e.getMessage().startsWith(csv + (c[1].startsWith("line ") || c[1].startsWith("lines ") ? " " : ": ") + c[1]), e.getMessage());
        }
    }
}
