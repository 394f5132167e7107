package org.pulmo.metrics;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;

/**
 * A receiver operating characteristic curve: for every distinct score t, taken as a threshold from the highest
 * down, the point (false positive rate, true positive rate) of "positive when score >= t". The first point is
 * (0, 0) (threshold +infinity) and the last (1, 1). Tied scores move the curve diagonally in one step, so the
 * trapezoidal {@link #auc()} gives a tied positive-negative pair half a point, which makes it equal to the
 * Mann-Whitney statistic {@code P(score of a positive > score of a negative) + 0.5 P(equal)}.
 *
 * <p>Shape contract: {@code fpr}, {@code tpr} and {@code thresholds} have one entry per point, fpr and tpr
 * non-decreasing.
 */
public record RocCurve(double[] fpr, double[] tpr, double[] thresholds) {

    /** The curve of {@code scores} (higher = more positive) against the truth {@code positive}. */
    public static RocCurve of(double[] scores, boolean[] positive) {
        if (scores.length != positive.length) throw new IllegalArgumentException(scores.length + " scores but " + positive.length + " labels");
        long pos = 0;
        for (boolean p : positive) if (p) pos++;
        long neg = scores.length - pos;
        Integer[] order = new Integer[scores.length];
        for (int i = 0; i < order.length; i++) {
            if (Double.isNaN(scores[i])) throw new IllegalArgumentException("score " + i + " is NaN");
            order[i] = i;
        }
        Arrays.sort(order, Comparator.comparingDouble((Integer i) -> scores[i]).reversed());
        List<double[]> points = new ArrayList<>();
        points.add(new double[] {0, 0, Double.POSITIVE_INFINITY});
        long tp = 0, fp = 0;
        for (int j = 0; j < order.length; ) {
            double t = scores[order[j]];
            for (; j < order.length && scores[order[j]] == t; j++) { if (positive[order[j]]) tp++; else fp++; } // one step per tie group
            points.add(new double[] {neg == 0 ? Double.NaN : (double) fp / neg, pos == 0 ? Double.NaN : (double) tp / pos, t});
        }
        double[] f = new double[points.size()], r = new double[points.size()], th = new double[points.size()];
        for (int i = 0; i < f.length; i++) { f[i] = points.get(i)[0]; r[i] = points.get(i)[1]; th[i] = points.get(i)[2]; }
        return new RocCurve(f, r, th);
    }

    public static RocCurve of(float[] scores, boolean[] positive) {
        double[] d = new double[scores.length];
        for (int i = 0; i < d.length; i++) d[i] = scores[i];
        return of(d, positive);
    }

    /**
     * One-vs-rest curve of class k: the score is the predicted log-odds of k (the same order as its probability),
     * positive = actual class k. {@code probabilities} is [N][K].
     */
    public static RocCurve oneVsRest(float[][] probabilities, int[] labels, int k) {
        Scores o = Scores.oneVsRest(probabilities, labels, k);
        return of(o.scores(), o.positive());
    }

    /**
     * Scores and truth of a one-vs-rest question: the log-odds of class k, ln p_k - ln(sum of the other classes' p), and
     * whether the image is of class k. The log-odds rank images as p_k does, but a float32 softmax rounds p_k to exactly
     * 1 for every confident image of class k (1 - p_k below half a float's step), which would tie them all; the other
     * classes' probabilities, summed as they are rather than taken as 1 - p_k, keep them apart (down to a logit margin
     * of about 100, where they underflow to 0). For two classes the two scores are each other's negatives, so both
     * classes get the same AUC, as they must.
     */
    record Scores(double[] scores, boolean[] positive) {
        static Scores oneVsRest(float[][] probabilities, int[] labels, int k) {
            double[] s = new double[labels.length];
            boolean[] pos = new boolean[labels.length];
            for (int i = 0; i < labels.length; i++) { s[i] = logOdds(probabilities[i], k); pos[i] = labels[i] == k; }
            return new Scores(s, pos);
        }

        /** ln p_k - ln(sum over j != k of p_j): -infinity where p_k is 0, +infinity where the others are. */
        static double logOdds(float[] p, int k) {
            double rest = 0;
            for (int j = 0; j < p.length; j++) if (j != k) rest += p[j];
            return Math.log(p[k]) - Math.log(rest);
        }
    }

    /** Area under the curve by the trapezoidal rule; NaN when there are no positives or no negatives. */
    public double auc() {
        double a = 0;
        for (int i = 1; i < fpr.length; i++) a += (fpr[i] - fpr[i - 1]) * (tpr[i] + tpr[i - 1]) / 2;
        return a;
    }

    public int points() { return fpr.length; }
}
