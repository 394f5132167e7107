package org.pulmo.metrics;

/**
 * A K-class confusion matrix, rows = actual class, columns = predicted class ({@code count(actual, predicted)}),
 * and the per-class metrics read from it one-vs-rest. For class k:
 * <pre>
 *   TP = count(k, k)      FN = row k minus TP      FP = column k minus TP      TN = total - TP - FN - FP
 *   precision = TP / (TP + FP)      recall = sensitivity = TP / (TP + FN)      specificity = TN / (TN + FP)
 *   F1 = 2 precision recall / (precision + recall)
 * </pre>
 * A ratio whose denominator is 0 is taken as 0 (scikit-learn's {@code zero_division=0}; its default, "warn", gives the
 * same 0 with a warning; the report says which figures are 0/0), so macro averages, the unweighted means over classes,
 * stay comparable with the numbers published code prints.
 */
public final class ConfusionMatrix {
    private final long[][] counts;

    public ConfusionMatrix(int classes) {
        if (classes < 2) throw new IllegalArgumentException("a confusion matrix needs at least 2 classes, got " + classes);
        counts = new long[classes][classes];
    }

    /** The matrix of {@code actual[i]} against {@code predicted[i]}. */
    public static ConfusionMatrix of(int classes, int[] actual, int[] predicted) {
        if (actual.length != predicted.length)
            throw new IllegalArgumentException(actual.length + " actual labels but " + predicted.length + " predictions");
        ConfusionMatrix m = new ConfusionMatrix(classes);
        for (int i = 0; i < actual.length; i++) m.add(actual[i], predicted[i]);
        return m;
    }

    /** From a K x K table of counts, rows actual, columns predicted. */
    public static ConfusionMatrix fromCounts(long[][] table) {
        ConfusionMatrix m = new ConfusionMatrix(table.length);
        for (int a = 0; a < table.length; a++) {
            if (table[a].length != table.length) throw new IllegalArgumentException("confusion matrix must be square");
            for (int p = 0; p < table.length; p++) {
                if (table[a][p] < 0) throw new IllegalArgumentException("negative count at [" + a + "][" + p + "]");
                m.counts[a][p] = table[a][p];
            }
        }
        return m;
    }

    public void add(int actual, int predicted) {
        int k = counts.length;
        if (actual < 0 || actual >= k || predicted < 0 || predicted >= k)
            throw new IllegalArgumentException("label " + actual + " / prediction " + predicted + " outside " + k + " classes");
        counts[actual][predicted]++;
    }

    public int classes() { return counts.length; }

    public long count(int actual, int predicted) { return counts[actual][predicted]; }

    /** A copy of the table, rows actual, columns predicted. */
    public long[][] table() {
        long[][] t = new long[counts.length][];
        for (int i = 0; i < t.length; i++) t[i] = counts[i].clone();
        return t;
    }

    public long total() {
        long n = 0;
        for (long[] row : counts) for (long c : row) n += c;
        return n;
    }

    /** Images whose actual class is k (the row sum; "support"). */
    public long support(int k) {
        long n = 0;
        for (long c : counts[k]) n += c;
        return n;
    }

    public long truePositives(int k) { return counts[k][k]; }

    public long falseNegatives(int k) { return support(k) - counts[k][k]; }

    public long falsePositives(int k) {
        long n = 0;
        for (long[] row : counts) n += row[k];
        return n - counts[k][k];
    }

    public long trueNegatives(int k) { return total() - truePositives(k) - falseNegatives(k) - falsePositives(k); }

    /** Correct predictions / all predictions. */
    public double accuracy() {
        long correct = 0;
        for (int k = 0; k < counts.length; k++) correct += counts[k][k];
        return ratio(correct, total());
    }

    public double precision(int k) { return ratio(truePositives(k), truePositives(k) + falsePositives(k)); }

    /** Recall, which the medical papers call sensitivity. */
    public double recall(int k) { return ratio(truePositives(k), truePositives(k) + falseNegatives(k)); }

    public double sensitivity(int k) { return recall(k); }

    public double specificity(int k) { return ratio(trueNegatives(k), trueNegatives(k) + falsePositives(k)); }

    public double f1(int k) {
        double p = precision(k), r = recall(k);
        return p + r == 0 ? 0 : 2 * p * r / (p + r);
    }

    public double macroPrecision() { double s = 0; for (int k = 0; k < classes(); k++) s += precision(k); return s / classes(); }

    public double macroRecall() { double s = 0; for (int k = 0; k < classes(); k++) s += recall(k); return s / classes(); }

    public double macroSpecificity() { double s = 0; for (int k = 0; k < classes(); k++) s += specificity(k); return s / classes(); }

    /** The mean of the per-class F1 scores (scikit-learn's {@code f1_score(average='macro')}). */
    public double macroF1() { double s = 0; for (int k = 0; k < classes(); k++) s += f1(k); return s / classes(); }

    private static double ratio(long num, long den) { return den == 0 ? 0 : (double) num / den; }

    @Override public String toString() { return java.util.Arrays.deepToString(counts); }
}
