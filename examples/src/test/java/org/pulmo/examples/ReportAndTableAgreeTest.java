package org.pulmo.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.pulmo.metrics.ClassificationReport;
import org.pulmo.metrics.Predictions;

/** What {@code table} prints from metrics.json is what report.txt prints for the same evaluation, digit for digit. */
class ReportAndTableAgreeTest {
    /** n images of two classes, the first {@code correct} of them classified right. */
    private static Predictions predictions(List<String> classes, int n, int correct) {
        float[][] p = new float[n][];
        int[] y = new int[n];
        for (int i = 0; i < n; i++) {
            y[i] = i % 2;
            boolean right = i < correct;
            float first = (y[i] == 0) == right ? 0.8f - 0.001f * (i % 50) : 0.2f + 0.001f * (i % 50);
            p[i] = new float[] {first, 1 - first};
        }
        return new Predictions(classes, p, y, null);
    }

    @Test void tableRoundsFromTheValueTheReportRoundsFrom() {
        ClassificationReport report = new ClassificationReport(predictions(List.of("covid", "noncovid"), 258, 206));   // the CT test set's size
        assertTrue(report.format("t").lines().anyMatch(l -> l.startsWith("accuracy") && l.endsWith("79.84")), report.format("t"));
        JsonObject json = JsonParser.parseString(EvaluateCommand.metricsJson("test", report)).getAsJsonObject();
        assertEquals("79.84", TableCommand.percent(json.get("accuracy").getAsDouble()), "six significant digits gave 79.85");
        for (var e : report.values().entrySet())
            if (Double.isFinite(e.getValue()))
                assertEquals(String.format(Locale.ROOT, "%.2f", 100 * e.getValue()), TableCommand.percent(json.get(e.getKey()).getAsDouble()), e.getKey());
    }

    @Test void aFigureThatIsZeroOverZeroIsNamed() {
        float[][] p = {{0.9f, 0.05f, 0.05f}, {0.6f, 0.3f, 0.1f}, {0.2f, 0.7f, 0.1f}, {0.1f, 0.8f, 0.1f}};
        String text = new ClassificationReport(new Predictions(List.of("a", "b", "c"), p, new int[] {0, 0, 1, 2}, null)).format("t");
        assertTrue(text.contains("the precision of c (never predicted)"), text);
        String none = new ClassificationReport(new Predictions(List.of("a", "b"), new float[][] {{0.9f, 0.1f}, {0.2f, 0.8f}}, new int[] {0, 1}, null)).format("t");
        assertTrue(!none.contains("0/0"), none);
    }

    /** --binary names the class its columns are about: the one whose figures metrics.json repeats as binary_*, as evaluate chose it. */
    @Test void binaryColumnsNameTheirClass() {
        Map<String, Double> m = new HashMap<>(Map.of("COVID-negative_precision", 0.5, "COVID-negative_recall", 1.0,
            "COVID-positive_precision", 0.9, "COVID-positive_recall", 0.6, "binary_precision", 0.5, "binary_recall", 1.0));
        List<String> classes = List.of("COVID-negative", "COVID-positive");
        TableCommand.Entry old = new TableCommand.Entry("A", Path.of("a"), m, classes, null, "test");
        assertEquals("COVID-negative", TableCommand.binaryClass(List.of(old)), "a file written when evaluate took the first name with covid");
        Map<String, Double> now = new HashMap<>(m);
        now.put("binary_precision", 0.9);
        now.put("binary_recall", 0.6);
        TableCommand.Entry current = new TableCommand.Entry("B", Path.of("b"), now, classes, null, "test");
        assertEquals("COVID-positive", TableCommand.binaryClass(List.of(current)));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> TableCommand.binaryClass(List.of(old, current))).getMessage()
            .contains("positive classes differ"));
    }
}
