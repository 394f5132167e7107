package org.pulmo.metrics;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.pulmo.tensor.Tensor;

/**
 * A model's class probabilities on a test set, with the true labels and (optionally) a group id per image:
 * {@code probabilities[i][k]} is the probability of class k for image i (rows sum to 1 after softmax),
 * {@code labels[i]} its true class, {@code groups[i]} its patient or null. Everything the papers' tables need
 * is computed from this: the {@link #confusionMatrix()} of the arg-max predictions, one-vs-rest
 * {@link #roc ROC curves}, and {@link #byGroup() patient-level} predictions.
 */
public record Predictions(List<String> classes, float[][] probabilities, int[] labels, String[] groups) {

    public Predictions {
        classes = List.copyOf(classes);
        int n = labels.length, k = classes.size();
        if (probabilities.length != n) throw new IllegalArgumentException(probabilities.length + " probability rows but " + n + " labels");
        if (groups != null && groups.length != n) throw new IllegalArgumentException(groups.length + " group ids but " + n + " labels");
        for (int i = 0; i < n; i++) {
            if (probabilities[i].length != k)
                throw new IllegalArgumentException("row " + i + " has " + probabilities[i].length + " probabilities for " + k + " classes");
            if (labels[i] < 0 || labels[i] >= k) throw new IllegalArgumentException("label " + labels[i] + " of image " + i + " outside " + k + " classes");
            for (int c = 0; c < k; c++)   // a NaN would read as class 0 in the arg-max and rank nowhere in a ROC curve
                if (!Float.isFinite(probabilities[i][c]))
                    throw new IllegalArgumentException("image " + i + ": probability " + probabilities[i][c] + " of class " + classes.get(c) + " is not finite");
        }
    }

    public int size() { return labels.length; }

    public int numClasses() { return classes.size(); }

    /** True when every image has a group id. */
    public boolean hasGroups() {
        if (groups == null || groups.length == 0) return false;
        for (String g : groups) if (g == null) return false;
        return true;
    }

    /** The arg-max class of each row (the first on ties). */
    public int[] predicted() {
        int[] p = new int[size()];
        for (int i = 0; i < p.length; i++) {
            float[] row = probabilities[i];
            int best = 0;
            for (int k = 1; k < row.length; k++) if (row[k] > row[best]) best = k;
            p[i] = best;
        }
        return p;
    }

    public ConfusionMatrix confusionMatrix() { return ConfusionMatrix.of(numClasses(), labels, predicted()); }

    /** One-vs-rest ROC curve of class k (for two classes, the binary curve with k as positive). */
    public RocCurve roc(int k) { return RocCurve.oneVsRest(probabilities, labels, k); }

    public double auc(int k) { return roc(k).auc(); }

    /** The 95 % interval of {@link #auc(int)} (DeLong; {@link Intervals}). */
    public Intervals.Interval aucInterval(int k) {
        RocCurve.Scores o = RocCurve.Scores.oneVsRest(probabilities, labels, k);
        return Intervals.delong(o.scores(), o.positive()).interval95();
    }

    /**
     * The mean of the one-vs-rest AUCs over the classes that have both positives and negatives here
     * (scikit-learn's {@code roc_auc_score(multi_class='ovr', average='macro')}). For two classes both AUCs
     * are equal, and this is the binary AUC.
     */
    public double macroAuc() {
        double s = 0;
        int n = 0;
        for (int k = 0; k < numClasses(); k++) {
            double a = auc(k);
            if (!Double.isNaN(a)) { s += a; n++; }
        }
        return n == 0 ? Double.NaN : s / n;
    }

    /**
     * Patient-level predictions: one row per group (in order of first appearance), its probabilities the mean
     * over the group's images, its label the images' common label. A group with mixed labels is an error.
     * Departure: MA-Net's "patient-level" (Sec. 3.1, Table 3) is a split by patient scored per slice; this per-patient
     * score is an addition of ours (docs/FIDELITY.md).
     */
    public Predictions byGroup() {
        if (!hasGroups()) throw new IllegalStateException("patient-level results need a group id for every image");
        Map<String, List<Integer>> members = new LinkedHashMap<>();
        for (int i = 0; i < size(); i++) members.computeIfAbsent(groups[i], g -> new ArrayList<>()).add(i);
        float[][] p = new float[members.size()][];
        int[] y = new int[members.size()];
        String[] g = new String[members.size()];
        int r = 0;
        for (Map.Entry<String, List<Integer>> e : members.entrySet()) {
            double[] mean = new double[numClasses()];
            int label = labels[e.getValue().getFirst()];
            for (int i : e.getValue()) {
                if (labels[i] != label)
                    throw new IllegalArgumentException("group '" + e.getKey() + "' has images of classes " + classes.get(label)
                        + " and " + classes.get(labels[i]) + "; patient-level results need one class per patient");
                for (int k = 0; k < mean.length; k++) mean[k] += probabilities[i][k];
            }
            p[r] = new float[mean.length];
            for (int k = 0; k < mean.length; k++) p[r][k] = (float) (mean[k] / e.getValue().size());
            y[r] = label;
            g[r] = e.getKey();
            r++;
        }
        return new Predictions(classes, p, y, g);
    }

    /** Collects predictions batch by batch: {@code add(softmax(logits) [N, K], labels, groups)}. */
    public static final class Builder {
        private final List<String> classes;
        private final List<float[]> rows = new ArrayList<>();
        private final List<Integer> labels = new ArrayList<>();
        private final List<String> groups = new ArrayList<>();

        public Builder(List<String> classes) { this.classes = List.copyOf(classes); }

        /** {@code probabilities} [N, K] on any device; {@code groups} may be null. */
        public Builder add(Tensor probabilities, int[] labels, String[] groups) {
            int[] s = probabilities.shape();
            if (s.length != 2 || s[1] != classes.size() || s[0] != labels.length)
                throw new IllegalArgumentException("expected probabilities [" + labels.length + ", " + classes.size() + "], got " + Arrays.toString(s));
            float[] flat = probabilities.contiguous().toArray();
            for (int i = 0; i < s[0]; i++) {
                rows.add(Arrays.copyOfRange(flat, i * s[1], (i + 1) * s[1]));
                this.labels.add(labels[i]);
                this.groups.add(groups == null ? null : groups[i]);
            }
            return this;
        }

        public Predictions build() {
            return new Predictions(classes, rows.toArray(float[][]::new), labels.stream().mapToInt(Integer::intValue).toArray(),
                groups.toArray(String[]::new));
        }
    }
}
