package org.pulmo.metrics;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The report's numbers where the classes are not symmetric: MetricsTest's binary example has the same precision,
 * recall and specificity for both classes (all 75 %), so a number read for the wrong class or printed in the wrong
 * column passes there. Here every figure differs between the classes and between the columns.
 */
class ReportNumbersTest {
    static final double EPS = 1e-12;

    /**
     * Binary, covid = class 0. Covid scores of the 4 covid images 0.9, 0.8, 0.7, 0.3 (one missed); of the 6 normal
     * images 0.6, 0.55 (two false alarms), 0.4, 0.2, 0.1, 0.05. Confusion matrix {{3, 1}, {2, 4}}:
     * <pre>
     *   covid:  TP 3 FN 1 FP 2 TN 4   precision 3/5  recall 3/4  specificity 4/6  F1 6/9
     *   normal: TP 4 FN 2 FP 1 TN 3   precision 4/5  recall 4/6  specificity 3/4  F1 8/11
     * </pre>
     * AUC (both classes): of the 24 pairs, 0.9, 0.8, 0.7 beat all six negatives, 0.3 beats three: 21/24 = 0.875.
     */
    static Predictions asymmetric() {
        float[] covid = {0.9f, 0.8f, 0.7f, 0.3f, 0.6f, 0.55f, 0.4f, 0.2f, 0.1f, 0.05f};
        int[] y = {0, 0, 0, 0, 1, 1, 1, 1, 1, 1};
        float[][] p = new float[covid.length][];
        for (int i = 0; i < p.length; i++) p[i] = new float[] {covid[i], 1 - covid[i]};
        return new Predictions(List.of("covid", "normal"), p, y, null);
    }

    @Test void binaryLineIsAboutThePositiveClass() {
        Predictions pr = asymmetric();
        assertArrayEquals(new long[][] {{3, 1}, {2, 4}}, pr.confusionMatrix().table());
        Map<String, Double> covid = new ClassificationReport(pr, 0).values();
        assertEquals(3 / 5.0, covid.get("binary_precision"), EPS);
        assertEquals(3 / 4.0, covid.get("binary_recall"), EPS);
        assertEquals(4 / 6.0, covid.get("binary_specificity"), EPS);
        assertEquals(6 / 9.0, covid.get("binary_f1"), EPS);
        assertEquals(0.875, covid.get("binary_auc"), 1e-6);
        Map<String, Double> normal = new ClassificationReport(pr, 1).values();
        assertEquals(4 / 5.0, normal.get("binary_precision"), EPS);
        assertEquals(4 / 6.0, normal.get("binary_recall"), EPS);
        assertEquals(3 / 4.0, normal.get("binary_specificity"), EPS);
        assertEquals(8 / 11.0, normal.get("binary_f1"), EPS);
        // the printed binary line: accuracy, precision, recall, specificity, F1, AUC of covid
        String text = new ClassificationReport(pr, 0).format("t");
        List<String> lines = text.lines().toList();
        int head = lines.indexOf(lines.stream().filter(l -> l.startsWith("binary, positive class 'covid'")).findFirst().orElseThrow(() -> new AssertionError(text)));
        assertEquals(List.of("70.00", "60.00", "75.00", "66.67", "66.67", "87.50"), List.of(lines.get(head + 2).trim().split("\\s+")), text);
    }

    /** The per-class rows: precision, recall (sensitivity), specificity, F1, AUC, support, in the header's order. */
    @Test void perClassRowsPutEachNumberUnderItsHeader() {
        String text = new ClassificationReport(asymmetric(), 0).format("t");
        String header = text.lines().filter(l -> l.startsWith("class ")).findFirst().orElseThrow(() -> new AssertionError(text));
        assertTrue(header.matches("class\\s+precision\\s+recall \\(sensitivity\\)\\s+specificity\\s+F1\\s+AUC\\s+support"), header);
        assertEquals(List.of("covid", "60.00", "75.00", "66.67", "66.67", "87.50", "4"), row(text, "covid"));
        assertEquals(List.of("normal", "80.00", "66.67", "75.00", "72.73", "87.50", "6"), row(text, "normal"));
    }

    private static List<String> row(String text, String name) {
        return List.of(text.lines().filter(l -> l.startsWith(name + " ")).findFirst().orElseThrow(() -> new AssertionError(text)).trim().split("\\s+"));
    }

    /** Arg-max ties go to the first class, as the documentation says (and numpy's argmax does). */
    @Test void tiedProbabilitiesPredictTheFirstClass() {
        Predictions pr = new Predictions(List.of("a", "b", "c"),
            new float[][] {{0.4f, 0.4f, 0.2f}, {0.2f, 0.4f, 0.4f}, {0.5f, 0.5f, 0f}, {1 / 3f, 1 / 3f, 1 / 3f}}, new int[] {0, 1, 0, 0}, null);
        assertArrayEquals(new int[] {0, 1, 0, 0}, pr.predicted());
    }

    /** A class without test images has no AUC; the macro AUC is the mean over the others (scikit-learn's), not NaN. */
    @Test void macroAucSkipsAClassWithoutImages() {
        // classes a, b, c; no image of c. a vs rest: positives 0.8, 0.6; negatives 0.3, 0.7 -> 3 of 4 pairs = 0.75.
        // b vs rest: positives 0.5, 0.2 (prob. of b); negatives 0.1, 0.3 -> 3 of 4 = 0.75 ... computed below.
        float[][] p = {{0.8f, 0.1f, 0.1f}, {0.6f, 0.3f, 0.1f}, {0.3f, 0.5f, 0.2f}, {0.7f, 0.2f, 0.1f}};
        int[] y = {0, 0, 1, 1};
        Predictions pr = new Predictions(List.of("a", "b", "c"), p, y, null);
        assertTrue(Double.isNaN(pr.auc(2)), "no positives of c");
        double a = pr.auc(0), b = pr.auc(1);
        assertEquals(0.75, a, EPS);
        assertEquals(0.75, b, EPS);   // b's prob: positives 0.5, 0.2; negatives 0.1, 0.3 -> 0.5 wins 2, 0.2 wins 1
        assertEquals((a + b) / 2, pr.macroAuc(), EPS);
        Map<String, Double> v = new ClassificationReport(pr).values();
        assertFalse(Double.isNaN(v.get("macro_auc")), v.toString());
        assertTrue(new ClassificationReport(pr).format("t").lines().anyMatch(l -> l.startsWith("macro avg") && l.contains("75.00")));
    }

    /** Names that deny COVID ("no-covid", "NonCOVID", "COVID-negative", ...) are the negative class; the COVID class is positive whatever its index. */
    @Test void negativeCovidNamesAreNotThePositiveClass() {
        // {positive class's index, class names...}: the first two groups deny COVID before it, after it or joined to it
        // (those sorted first were taken as the positive class); the last, a COVID class's own qualifiers, deny nothing
        String[][] cases = {
            {"1", "no-covid", "covid"}, {"1", "no_covid", "covid"}, {"1", "non-covid", "covid"}, {"0", "COVID-19", "No-COVID"},
            {"1", "No-COVID", "normal"},   // no COVID class: the last
            {"1", "COVID-negative", "COVID-positive"}, {"1", "covid_neg", "covid_pos"}, {"1", "nocovid", "covid"},
            {"1", "not_covid", "covid"}, {"1", "NonCOVID", "COVID"}, {"1", "COVID19negative", "COVID19"}, {"0", "CT_COVID", "CT_NonCOVID"},
            {"0", "COVID-19", "normal", "viral pneumonia"}, {"1", "covid_free", "covid_pos"}, {"1", "covid_neg2", "covid"},
            {"1", "negcovid", "covid"}, {"1", "covid_not_detected", "covid_detected"},
            {"0", "covid_no_pneumonia", "healthy"}, {"0", "non_severe_covid", "healthy"}, {"0", "covid_non_severe", "healthy"}};
        for (String[] c : cases) {
            List<String> names = List.of(c).subList(1, c.length);
            assertEquals(Integer.parseInt(c[0]), ClassificationReport.defaultPositiveClass(names), names.toString());
        }
    }
}
