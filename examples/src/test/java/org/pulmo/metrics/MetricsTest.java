package org.pulmo.metrics;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.pulmo.tensor.Tensor;

/** Metrics against confusion matrices and ROC areas worked out by hand. */
class MetricsTest {
    static final double EPS = 1e-12;

    /**
     * Rows actual, columns predicted:
     * <pre>
     *        A  B  C
     *   A    5  1  0     A: TP 5 FN 1 FP 2 TN 12
     *   B    2  3  1     B: TP 3 FN 3 FP 3 TN 11
     *   C    0  2  6     C: TP 6 FN 2 FP 1 TN 11
     * </pre>
     */
    static ConfusionMatrix handMatrix() {
        return ConfusionMatrix.fromCounts(new long[][] {{5, 1, 0}, {2, 3, 1}, {0, 2, 6}});
    }

    @Test void perClassMetricsByHand() {
        ConfusionMatrix m = handMatrix();
        assertEquals(20, m.total());
        assertEquals(14 / 20.0, m.accuracy(), EPS);
        long[][] tpFnFpTn = {{5, 1, 2, 12}, {3, 3, 3, 11}, {6, 2, 1, 11}};
        for (int k = 0; k < 3; k++)
            assertArrayEquals(tpFnFpTn[k], new long[] {m.truePositives(k), m.falseNegatives(k), m.falsePositives(k), m.trueNegatives(k)});
        double[] precision = {5 / 7.0, 3 / 6.0, 6 / 7.0}, recall = {5 / 6.0, 3 / 6.0, 6 / 8.0};
        double[] specificity = {12 / 14.0, 11 / 14.0, 11 / 12.0}, f1 = {10 / 13.0, 6 / 12.0, 12 / 15.0}; // F1 = 2TP / (2TP + FP + FN)
        for (int k = 0; k < 3; k++) {
            assertEquals(precision[k], m.precision(k), EPS);
            assertEquals(recall[k], m.recall(k), EPS);
            assertEquals(recall[k], m.sensitivity(k), EPS);
            assertEquals(specificity[k], m.specificity(k), EPS);
            assertEquals(f1[k], m.f1(k), EPS);
        }
        assertEquals((5 / 7.0 + 0.5 + 6 / 7.0) / 3, m.macroPrecision(), EPS);
        assertEquals((5 / 6.0 + 0.5 + 0.75) / 3, m.macroRecall(), EPS);
        assertEquals((12 / 14.0 + 11 / 14.0 + 11 / 12.0) / 3, m.macroSpecificity(), EPS);
        assertEquals((10 / 13.0 + 0.5 + 0.8) / 3, m.macroF1(), EPS);
        assertEquals(8, m.support(2));
    }

    @Test void builtFromLabelsAndZeroDivision() {
        ConfusionMatrix m = ConfusionMatrix.of(3, new int[] {0, 0, 1, 1, 1}, new int[] {0, 1, 1, 1, 0});
        assertArrayEquals(new long[][] {{1, 1, 0}, {1, 2, 0}, {0, 0, 0}}, m.table());
        // Class 2 never occurs and is never predicted: its ratios are 0 (scikit-learn's zero_division=0) ...
        assertEquals(0, m.precision(2));
        assertEquals(0, m.recall(2));
        assertEquals(0, m.f1(2));
        assertEquals(1, m.specificity(2)); // ... but it has 5 true negatives and no false positive
        assertEquals((0.5 + 2 / 3.0 + 0) / 3, m.macroPrecision(), EPS);
        assertThrows(IllegalArgumentException.class, () -> m.add(3, 0));
    }

    /**
     * Positives score 0.9, 0.8, 0.6, 0.6; negatives 0.7, 0.6, 0.3, 0.2. Mann-Whitney: of the 16 pairs the
     * positive wins 4 + 4 + 2 + 2 and ties 2 (0.6 vs 0.6, counted half): AUC = 13 / 16.
     */
    @Test void rocWithTiesByHand() {
        double[] s = {0.9, 0.8, 0.6, 0.6, 0.7, 0.6, 0.3, 0.2};
        boolean[] pos = {true, true, true, true, false, false, false, false};
        RocCurve roc = RocCurve.of(s, pos);
        assertArrayEquals(new double[] {0, 0, 0, 0.25, 0.5, 0.75, 1}, roc.fpr(), EPS);
        assertArrayEquals(new double[] {0, 0.25, 0.5, 0.5, 1, 1, 1}, roc.tpr(), EPS);   // the 0.6 tie: one diagonal step
        assertArrayEquals(new double[] {Double.POSITIVE_INFINITY, 0.9, 0.8, 0.7, 0.6, 0.3, 0.2}, roc.thresholds(), EPS);
        assertEquals(13 / 16.0, roc.auc(), EPS);
        boolean[] none = new boolean[8];
        assertTrue(Double.isNaN(RocCurve.of(s, none).auc()), "no positives: AUC undefined");
    }

    /**
     * A confident two-class model: float32's softmax gives class 1 a probability of exactly 1 on every image (1 - p under
     * half a float's step) while class 0's tiny probabilities still differ. Scored by p, class 1's images would all tie
     * and its AUC would be 0.5 against class 0's real one; scored by log-odds both classes get the AUC of the logits.
     */
    @Test void saturatedProbabilitiesGiveBothClassesTheAucOfTheLogits() {
        float[] margin = {31f, 27f, 29.5f, 24f, 33f, 26f, 30f, 28f};   // logit of class 1 minus that of class 0
        int[] labels = {1, 0, 1, 0, 1, 1, 0, 0};
        float[][] p = new float[margin.length][];
        boolean[] isOne = new boolean[margin.length];
        double[] logit = new double[margin.length];
        for (int i = 0; i < p.length; i++) {
            float e = (float) Math.exp(-margin[i]);   // softmax of (0, margin) in float, as the model computes it
            p[i] = new float[] {e / (1f + e), 1f / (1f + e)};
            assertEquals(1f, p[i][1], "the test needs class 1's probability rounded to 1");
            isOne[i] = labels[i] == 1;
            logit[i] = margin[i];
        }
        Predictions pr = new Predictions(List.of("covid", "noncovid"), p, labels, null);
        double expected = RocCurve.of(logit, isOne).auc();   // 12 pairs of 16 won by class 1's images
        assertEquals(12 / 16.0, expected, EPS);
        assertEquals(expected, pr.auc(1), EPS, "class 1");
        assertEquals(expected, pr.auc(0), EPS, "class 0");
        assertEquals(expected, pr.macroAuc(), EPS);
        var ci = pr.aucInterval(0);
        assertTrue(ci.low() < expected && expected < ci.high(), "DeLong's interval around the same AUC, not the tie's [50, 50]: " + ci);
    }

    @Test void aucEqualsMannWhitneyOnRandomTiedScores() {
        Random rnd = new Random(12);
        for (int trial = 0; trial < 20; trial++) {
            int n = 5 + rnd.nextInt(40);
            double[] s = new double[n];
            boolean[] pos = new boolean[n];
            for (int i = 0; i < n; i++) { s[i] = rnd.nextInt(6) / 5.0; pos[i] = rnd.nextBoolean(); }
            pos[0] = true;
            pos[1] = false;
            double wins = 0;
            long pairs = 0;
            for (int i = 0; i < n; i++) for (int j = 0; j < n; j++)
                if (pos[i] && !pos[j]) { pairs++; wins += s[i] > s[j] ? 1 : s[i] == s[j] ? 0.5 : 0; }
            assertEquals(wins / pairs, RocCurve.of(s, pos).auc(), 1e-12, "trial " + trial);
        }
    }

    @Test void oneVsRestAndPatientLevel() {
        List<String> classes = List.of("covid", "normal", "viral");
        float[][] p = {
            {0.7f, 0.2f, 0.1f}, // p1, covid
            {0.3f, 0.6f, 0.1f}, // p1, covid (wrong alone; the patient mean [0.5, 0.4, 0.1] is right)
            {0.1f, 0.55f, 0.35f}, // p2, normal
            {0.2f, 0.3f, 0.5f}, // p3, viral
            {0.1f, 0.5f, 0.4f}, // p3, viral (wrong alone; mean [0.15, 0.4, 0.45] is right)
        };
        int[] y = {0, 0, 1, 2, 2};
        Predictions pr = new Predictions(classes, p, y, new String[] {"p1", "p1", "p2", "p3", "p3"});
        assertArrayEquals(new int[] {0, 1, 1, 2, 1}, pr.predicted());
        assertEquals(3 / 5.0, pr.confusionMatrix().accuracy(), EPS);
        // covid vs rest: positives 0.7, 0.3; negatives 0.1, 0.2, 0.1 -> all 6 pairs won -> 1.
        assertEquals(1.0, pr.auc(0), EPS);
        // normal vs rest: positive 0.55; negatives 0.2, 0.6, 0.3, 0.5 -> 3 of 4 pairs won.
        assertEquals(0.75, pr.auc(1), EPS);
        // viral vs rest: positives 0.5, 0.4; negatives 0.1, 0.1, 0.35 -> 1.
        assertEquals(1.0, pr.auc(2), EPS);
        assertEquals((1 + 0.75 + 1) / 3, pr.macroAuc(), EPS);

        Predictions patients = pr.byGroup();
        assertEquals(3, patients.size());
        assertArrayEquals(new String[] {"p1", "p2", "p3"}, patients.groups());
        assertArrayEquals(new float[] {0.5f, 0.4f, 0.1f}, patients.probabilities()[0], 1e-6f);
        assertArrayEquals(new int[] {0, 1, 2}, patients.predicted());
        assertEquals(1.0, patients.confusionMatrix().accuracy(), EPS);

        Predictions mixed = new Predictions(classes, p, y, new String[] {"p1", "p1", "p1", "p3", "p3"});
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, mixed::byGroup);
        assertTrue(e.getMessage().contains("'p1'"), e.getMessage());
        assertThrows(IllegalStateException.class, () -> new Predictions(classes, p, y, null).byGroup());
    }

    @Test void builderCollectsBatches() {
        Predictions.Builder b = new Predictions.Builder(List.of("a", "b"));
        b.add(Tensor.of(new float[] {0.9f, 0.1f, 0.4f, 0.6f}, 2, 2), new int[] {0, 1}, null);
        b.add(Tensor.of(new float[] {0.3f, 0.7f}, 1, 2), new int[] {0}, null);
        Predictions p = b.build();
        assertEquals(3, p.size());
        assertArrayEquals(new int[] {0, 1, 1}, p.predicted());
        assertThrows(IllegalArgumentException.class, () -> b.add(Tensor.of(new float[] {1, 0, 0}, 1, 3), new int[] {0}, null));
    }

    @Test void reportInThePapersLayout() {
        // Binary, covid positive: 4 covid (3 found), 4 noncovid (1 false alarm); two patients per class.
        float[] covidProb = {0.9f, 0.8f, 0.7f, 0.4f, 0.6f, 0.3f, 0.2f, 0.1f};
        int[] y = {0, 0, 0, 0, 1, 1, 1, 1};
        float[][] p = new float[8][];
        for (int i = 0; i < 8; i++) p[i] = new float[] {covidProb[i], 1 - covidProb[i]};
        Predictions pr = new Predictions(List.of("covid", "noncovid"), p, y, new String[] {"a", "a", "b", "b", "c", "c", "d", "d"});
        ClassificationReport r = new ClassificationReport(pr);
        assertEquals(0, r.positiveClass());
        Map<String, Double> v = r.values();
        assertEquals(6 / 8.0, v.get("accuracy"), EPS);
        assertEquals(3 / 4.0, v.get("binary_precision"), EPS);
        assertEquals(3 / 4.0, v.get("binary_recall"), EPS);
        assertEquals(3 / 4.0, v.get("binary_specificity"), EPS);
        assertEquals(15 / 16.0, v.get("binary_auc"), EPS); // only 0.4 < 0.6 loses
        assertEquals(v.get("covid_auc"), v.get("noncovid_auc"), 1e-6);
        String text = r.format("CT test set");
        assertTrue(text.contains("CT test set: 8 images, 2 classes (values in %)"), text);
        assertTrue(text.contains("recall (sensitivity)") && text.contains("specificity") && text.contains("macro avg"), text);
        assertTrue(text.contains("75.00") && text.contains("93.75"), text);
        assertTrue(text.contains("confusion matrix (rows: actual, columns: predicted)"), text);
        assertTrue(text.contains("patient level (mean probability per patient): 4 patients"), text);
        // Patients: a [0.85], b [0.55], c [0.45], d [0.15] -> all right.
        assertEquals(1.0, r.patientLevel().values().get("accuracy"), EPS);
        String matrix = ClassificationReport.formatMatrix(r.confusionMatrix(), pr.classes());
        assertTrue(matrix.lines().toList().get(1).matches("covid\\s+3\\s+1"), matrix);
        assertNull(new ClassificationReport(new Predictions(pr.classes(), p, y, null)).patientLevel());
        assertEquals(1, ClassificationReport.defaultPositiveClass(List.of("noncovid", "covid")));
        assertEquals(2, ClassificationReport.defaultPositiveClass(List.of("a", "b", "c")));
    }

    /** A NaN probability read as class 0 in the arg-max (and ranked nowhere in a ROC curve); it is refused naming the image. */
    @Test void aProbabilityThatIsNotFiniteIsRefusedNamingTheImage() {
        float[][] p = {{0.2f, 0.8f}, {Float.NaN, Float.NaN}};
        String m = assertThrows(IllegalArgumentException.class, () -> new Predictions(List.of("covid", "normal"), p, new int[] {1, 0}, null)).getMessage();
        assertEquals("image 1: probability NaN of class covid is not finite", m);
    }
}
