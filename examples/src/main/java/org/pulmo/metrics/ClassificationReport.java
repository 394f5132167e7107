package org.pulmo.metrics;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * The papers' result tables for one set of {@link Predictions}, as plain text and as named numbers.
 * <ul>
 *   <li>Per class (DPN-SENet paper's layout): precision, recall (sensitivity), specificity, F1, one-vs-rest
 *       AUC and support, then the macro averages and the accuracy;</li>
 *   <li>for two classes, one summary line (MA-Net paper's layout): accuracy, precision, recall
 *       (sensitivity), specificity, F1 and AUC of the positive class;</li>
 *   <li>95 % confidence intervals of precision, recall, specificity, AUC per class and of the accuracy, over the test
 *       images ({@link Intervals});</li>
 *   <li>the confusion matrix, rows actual, columns predicted;</li>
 *   <li>the same again per patient, when every image has a group id: each patient's slices' probabilities
 *       averaged into one prediction. (MA-Net's "patient-level" results, Table 3, are something else: a split by
 *       patient, scored per slice; with --group-pattern, Pulmo's split is by patient too, and the per-image report
 *       above is that reading.)</li>
 * </ul>
 * Values are printed as percentages with two decimals, as the papers print them.
 */
public final class ClassificationReport {
    private final Predictions predictions;
    private final ConfusionMatrix matrix;
    private final double[] auc;
    private final int positive;
    private final boolean patientLevel;

    /** {@code positiveClass} is the class the binary line is about (ignored for more than two classes). */
    public ClassificationReport(Predictions predictions, int positiveClass) { this(predictions, positiveClass, false); }

    private ClassificationReport(Predictions predictions, int positiveClass, boolean patientLevel) {
        this.patientLevel = patientLevel;
        this.predictions = predictions;
        this.matrix = predictions.confusionMatrix();
        this.auc = new double[predictions.numClasses()];
        for (int k = 0; k < auc.length; k++) auc[k] = predictions.auc(k);
        if (positiveClass < 0 || positiveClass >= predictions.numClasses())
            throw new IllegalArgumentException("positive class " + positiveClass + " outside " + predictions.numClasses() + " classes");
        this.positive = positiveClass;
    }

    /** With the positive class chosen by {@link #defaultPositiveClass}. */
    public ClassificationReport(Predictions predictions) { this(predictions, defaultPositiveClass(predictions.classes())); }

    /** Class names that metrics.json could not tell from other figures ("macro" would give macro_precision, ...). */
    public static final List<String> RESERVED_CLASS_NAMES = List.of("macro", "binary", "accuracy");

    /**
     * The first class whose name contains "covid" (any case) and does not deny it ({@link #deniesCovid}: non-covid,
     * NonCOVID, no_covid, not-covid, COVID-negative, covid_neg), else the last class (class 1 of two).
     */
    public static int defaultPositiveClass(List<String> classes) {
        for (int k = 0; k < classes.size(); k++) {
            String c = classes.get(k).toLowerCase(Locale.ROOT);
            if (c.contains("covid") && !deniesCovid(c)) return k;
        }
        return classes.size() - 1;
    }

    /**
     * Whether a lower-case class name says "not COVID", word by word (words are runs of letters and digits): no, non or
     * not right before a word that starts with covid (no_covid, Non-COVID-19, not-covid), or joined to it (noncovid,
     * nocovid, notcovid, negcovid), or "not detected"; or a word neg, neg2, negative or free, or covid joined to one of
     * them (COVID-negative, covid_neg, covid_free, covidneg). A COVID class's own qualifiers (covid_no_pneumonia,
     * non_severe_covid) deny nothing.
     */
    static boolean deniesCovid(String lower) {
        String[] w = lower.split("[^a-z0-9]+");
        for (int i = 0; i < w.length; i++) {
            boolean negation = w[i].equals("no") || w[i].equals("non") || w[i].equals("not");
            if (negation && i + 1 < w.length && (w[i + 1].startsWith("covid") || w[i].equals("not") && w[i + 1].equals("detected"))) return true;
            if (w[i].matches("neg\\d*|negative|free|(no|non|not|neg)covid.*|.*covid(19)?(neg\\d*|negative|free|notdetected)")) return true;
        }
        return false;
    }

    public Predictions predictions() { return predictions; }

    public ConfusionMatrix confusionMatrix() { return matrix; }

    public double auc(int k) { return auc[k]; }

    public double macroAuc() { return predictions.macroAuc(); }

    public int positiveClass() { return positive; }

    /** The patient-level report, or null when the predictions have no group ids or already are per patient. */
    public ClassificationReport patientLevel() {
        return predictions.hasGroups() && !patientLevel ? new ClassificationReport(predictions.byGroup(), positive, true) : null;
    }

    /**
     * The numbers by name, as fractions (not percentages), in table order: {@code accuracy}, {@code
     * macro_precision}, ..., {@code <class>_precision}, ..., and for two classes {@code binary_*}; for a JSON
     * or CSV file.
     */
    public Map<String, Double> values() {
        Map<String, Double> v = new LinkedHashMap<>();
        v.put("accuracy", matrix.accuracy());
        v.put("macro_precision", matrix.macroPrecision());
        v.put("macro_recall", matrix.macroRecall());
        v.put("macro_specificity", matrix.macroSpecificity());
        v.put("macro_f1", matrix.macroF1());
        v.put("macro_auc", macroAuc());
        for (int k = 0; k < matrix.classes(); k++) {
            String c = predictions.classes().get(k);
            v.put(c + "_precision", matrix.precision(k));
            v.put(c + "_recall", matrix.recall(k));
            v.put(c + "_specificity", matrix.specificity(k));
            v.put(c + "_f1", matrix.f1(k));
            v.put(c + "_auc", auc[k]);
            v.put(c + "_support", (double) matrix.support(k));
        }
        if (matrix.classes() == 2) {
            v.put("binary_precision", matrix.precision(positive));
            v.put("binary_recall", matrix.recall(positive));
            v.put("binary_specificity", matrix.specificity(positive));
            v.put("binary_f1", matrix.f1(positive));
            v.put("binary_auc", auc[positive]);
        }
        putInterval(v, "accuracy", accuracyInterval());
        if (matrix.classes() == 2) {
            putInterval(v, "binary_precision", precisionInterval(positive));
            putInterval(v, "binary_recall", recallInterval(positive));
            putInterval(v, "binary_specificity", specificityInterval(positive));
            putInterval(v, "binary_auc", aucInterval(positive));
        }
        return v;
    }

    private static void putInterval(Map<String, Double> v, String name, Intervals.Interval i) {
        v.put(name + "_ci95_low", i.low());
        v.put(name + "_ci95_high", i.high());
    }

    /** 95 % interval of the accuracy (Wilson; {@link Intervals}). */
    public Intervals.Interval accuracyInterval() {
        long correct = 0;
        for (int k = 0; k < matrix.classes(); k++) correct += matrix.truePositives(k);
        return Intervals.wilson(correct, matrix.total());
    }

    /** 95 % intervals of class k's precision, recall and specificity (Wilson) and one-vs-rest AUC (DeLong). */
    public Intervals.Interval precisionInterval(int k) { return Intervals.wilson(matrix.truePositives(k), matrix.truePositives(k) + matrix.falsePositives(k)); }

    public Intervals.Interval recallInterval(int k) { return Intervals.wilson(matrix.truePositives(k), matrix.support(k)); }

    public Intervals.Interval specificityInterval(int k) {
        return Intervals.wilson(matrix.trueNegatives(k), matrix.trueNegatives(k) + matrix.falsePositives(k));
    }

    public Intervals.Interval aucInterval(int k) { return predictions.aucInterval(k); }

    /**
     * A line naming the figures above that are 0/0 and printed as 0 (a class never predicted has no precision, one
     * absent from the images no recall), counted so in the macro averages; empty when there are none.
     */
    private String zeroOverZero(List<String> classes) {
        List<String> never = new java.util.ArrayList<>(), absent = new java.util.ArrayList<>();
        for (int k = 0; k < classes.size(); k++) {
            if (matrix.truePositives(k) + matrix.falsePositives(k) == 0) never.add(classes.get(k));
            if (matrix.support(k) == 0) absent.add(classes.get(k));
        }
        if (never.isEmpty() && absent.isEmpty()) return "";
        List<String> parts = new java.util.ArrayList<>();
        if (!never.isEmpty()) parts.add("the precision of " + String.join(", ", never) + " (never predicted)");
        if (!absent.isEmpty()) parts.add("the recall of " + String.join(", ", absent) + " (no image of it)");
        return String.format(Locale.ROOT, "(0/0, printed as 0.00 and counted as 0 in the macro averages, as scikit-learn's zero_division=0: %s)%n",
            String.join("; ", parts));
    }

    /** The tables as text (see the class comment); {@code title} heads them ("Test set", "DPN-92-SE", ...). */
    public String format(String title) {
        StringBuilder s = new StringBuilder();
        List<String> classes = predictions.classes();
        int w = Math.max(9, classes.stream().mapToInt(String::length).max().orElse(0));
        s.append(String.format(Locale.ROOT, "%s: %d %s, %d classes (values in %%)%n%n", title, matrix.total(),
            patientLevel ? "patients" : "images", matrix.classes()));
        String head = "%-" + w + "s  %9s  %20s  %11s  %8s  %8s  %7s%n";
        String row = "%-" + w + "s  %9s  %20s  %11s  %8s  %8s  %7s%n";
        s.append(String.format(Locale.ROOT, head, "class", "precision", "recall (sensitivity)", "specificity", "F1", "AUC", "support"));
        for (int k = 0; k < classes.size(); k++)
            s.append(String.format(Locale.ROOT, row, classes.get(k), pct(matrix.precision(k)), pct(matrix.recall(k)),
                pct(matrix.specificity(k)), pct(matrix.f1(k)), pct(auc[k]), matrix.support(k)));
        s.append(String.format(Locale.ROOT, row, "macro avg", pct(matrix.macroPrecision()), pct(matrix.macroRecall()),
            pct(matrix.macroSpecificity()), pct(matrix.macroF1()), pct(macroAuc()), matrix.total()));
        s.append(String.format(Locale.ROOT, "%-" + w + "s  %9s%n", "accuracy", pct(matrix.accuracy())));
        s.append(zeroOverZero(classes));
        if (matrix.classes() == 2) {
            s.append(String.format(Locale.ROOT, "%nbinary, positive class '%s':%n", classes.get(positive)));
            s.append(String.format(Locale.ROOT, "%9s  %9s  %20s  %11s  %8s  %8s%n", "accuracy", "precision", "recall (sensitivity)", "specificity", "F1", "AUC"));
            s.append(String.format(Locale.ROOT, "%9s  %9s  %20s  %11s  %8s  %8s%n", pct(matrix.accuracy()), pct(matrix.precision(positive)),
                pct(matrix.recall(positive)), pct(matrix.specificity(positive)), pct(matrix.f1(positive)), pct(auc[positive])));
        }
        s.append(String.format(Locale.ROOT, "%n95 %% confidence intervals over these %d %s (test-set sampling only: Wilson score for%n"
            + "proportions, DeLong for AUC; another seed or split moves the numbers too):%n", matrix.total(), patientLevel ? "patients" : "images"));
        String ci = "%-" + w + "s  %14s  %20s  %14s  %14s%n";
        s.append(String.format(Locale.ROOT, ci, "class", "precision", "recall (sensitivity)", "specificity", "AUC"));
        for (int k = 0; k < classes.size(); k++)
            s.append(String.format(Locale.ROOT, ci, classes.get(k), precisionInterval(k).percent(), recallInterval(k).percent(),
                specificityInterval(k).percent(), aucInterval(k).percent()));
        s.append(String.format(Locale.ROOT, "%-" + w + "s  %14s%n", "accuracy", accuracyInterval().percent()));
        s.append(String.format(Locale.ROOT, "%nconfusion matrix (rows: actual, columns: predicted)%n"));
        s.append(formatMatrix(matrix, classes));
        ClassificationReport patients = patientLevel();
        if (patients != null) s.append(String.format(Locale.ROOT, "%n")).append(patients.format(title + ", patient level (mean probability per patient)"));
        return s.toString();
    }

    /** The confusion matrix as a text table with class names on both axes. */
    public static String formatMatrix(ConfusionMatrix m, List<String> classes) {
        int w = Math.max(6, classes.stream().mapToInt(String::length).max().orElse(0));
        for (long[] r : m.table()) for (long c : r) w = Math.max(w, Long.toString(c).length());
        StringBuilder s = new StringBuilder(String.format(Locale.ROOT, "%-" + w + "s", "actual"));
        for (String c : classes) s.append(String.format(Locale.ROOT, "  %" + w + "s", c));
        s.append(System.lineSeparator());
        for (int a = 0; a < classes.size(); a++) {
            s.append(String.format(Locale.ROOT, "%-" + w + "s", classes.get(a)));
            for (int p = 0; p < classes.size(); p++) s.append(String.format(Locale.ROOT, "  %" + w + "d", m.count(a, p)));
            s.append(System.lineSeparator());
        }
        return s.toString();
    }

    /** A fraction as a percentage with two decimals; "n/a" for NaN (an AUC with one class absent). */
    static String pct(double v) { return Double.isNaN(v) ? "n/a" : String.format(Locale.ROOT, "%.2f", 100 * v); }

    @Override public String toString() { return format("Results"); }
}
