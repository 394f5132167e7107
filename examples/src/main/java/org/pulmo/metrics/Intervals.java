package org.pulmo.metrics;

import java.util.Arrays;
import java.util.Comparator;
import java.util.Locale;

/**
 * How far a test-set figure could move with another draw of test images of the same kind: 95 % confidence intervals
 * and a paired test between two models. A test part of 124 X-rays (xray-4class) or 258 CT slices (ct-sarscov2) holds an
 * accuracy near 85 % only to about +-4-6 points, wider than most gaps between the rows of the papers' ablation tables,
 * so {@code evaluate} and {@code table} print these beside the numbers.
 *
 * <p>They measure test-set sampling alone: another seed or another split moves a result too (docs/REPRODUCTION.md
 * compares seeds for that), and neighbouring CT slices of one patient are not independent draws, so on an image-level
 * split of CT slices the true uncertainty is larger than these intervals say.
 * <ul>
 *   <li>A proportion (accuracy, precision, recall, specificity), k of n: the Wilson score interval (Wilson 1927;
 *       Agresti and Coull 1998), which unlike p +- 1.96 sqrt(p(1-p)/n) stays inside [0, 1] and keeps its coverage at
 *       p near 0 or 1, where these models' numbers lie.</li>
 *   <li>An AUC: DeLong, DeLong and Clarke-Pearson (1988), its variance from the structural components (computed from
 *       midranks, Sun and Xu 2014), the normal interval cut to [0, 1]. A perfect separation (AUC 1) has variance 0, so its
 *       interval is [1, 1]: no method says more from one test set.</li>
 *   <li>Two models on the same images: McNemar's exact test (two-sided binomial test on the images that exactly one
 *       of them classifies correctly; images both get right or both get wrong say nothing about which is better).</li>
 * </ul>
 */
public final class Intervals {
    private Intervals() {}

    /** z of a two-sided 95 % normal interval: the 0.975 quantile of the standard normal. */
    static final double Z95 = 1.959963984540054;

    /** A closed interval of fractions; NaN ends where it is undefined (no images to count). */
    public record Interval(double low, double high) {
        public static final Interval UNDEFINED = new Interval(Double.NaN, Double.NaN);

        public boolean defined() { return !Double.isNaN(low) && !Double.isNaN(high); }

        /** As percentages with one decimal, "[79.2, 88.0]"; "n/a" when undefined. */
        public String percent() {
            return defined() ? String.format(Locale.ROOT, "[%.1f, %.1f]", 100 * low, 100 * high) : "n/a";
        }
    }

    /** Wilson's 95 % score interval of a proportion {@code k} of {@code n}; undefined for n = 0. */
    public static Interval wilson(long k, long n) {
        if (k < 0 || k > n) throw new IllegalArgumentException("a proportion needs 0 <= k <= n, got " + k + " of " + n);
        if (n == 0) return Interval.UNDEFINED;
        double p = (double) k / n, z2 = Z95 * Z95;
        double denominator = 1 + z2 / n;
        double centre = (p + z2 / (2.0 * n)) / denominator;
        double half = Z95 * Math.sqrt(p * (1 - p) / n + z2 / (4.0 * n * n)) / denominator;
        // the ends are exact at k = 0 and k = n (centre -+ half cancel to 0 or 1 up to rounding)
        return new Interval(k == 0 ? 0 : Math.max(0, centre - half), k == n ? 1 : Math.min(1, centre + half));
    }

    /**
     * The Mann-Whitney AUC of {@code scores} against {@code positive} (ties count half, as {@link RocCurve#auc()}) and
     * DeLong's estimate of its variance. Undefined (NaN, NaN) when either class is absent; the variance is NaN with a
     * single image of a class (a sample variance needs two).
     */
    public record AucEstimate(double auc, double variance) {
        /** The 95 % normal interval auc +- z sqrt(variance), cut to [0, 1]. */
        public Interval interval95() {
            if (Double.isNaN(auc) || Double.isNaN(variance)) return Interval.UNDEFINED;
            double half = Z95 * Math.sqrt(variance);
            return new Interval(Math.max(0, auc - half), Math.min(1, auc + half));
        }
    }

    /**
     * DeLong's AUC and variance. With m positives X_i and n negatives Y_j, psi(x, y) = 1 if x > y, 1/2 if equal, else 0:
     * V10_i = (1/n) sum_j psi(X_i, Y_j), V01_j = (1/m) sum_i psi(X_i, Y_j), AUC = mean V10 = mean V01, and
     * Var(AUC) = s10^2 / m + s01^2 / n with the sample variances (denominators m - 1, n - 1) of V10 and V01. V10 and V01
     * come from midranks in O(N log N): V10_i = (R_i - R^X_i) / n, with R_i the midrank of X_i among all scores and
     * R^X_i its midrank among the positives; V01_j = 1 - (R_j - R^Y_j) / m.
     */
    public static AucEstimate delong(double[] scores, boolean[] positive) {
        if (scores.length != positive.length) throw new IllegalArgumentException(scores.length + " scores but " + positive.length + " labels");
        int m = 0;
        for (boolean p : positive) if (p) m++;
        int n = scores.length - m;
        if (m == 0 || n == 0) return new AucEstimate(Double.NaN, Double.NaN);
        double[] x = new double[m], y = new double[n];
        for (int i = 0, a = 0, b = 0; i < scores.length; i++) {
            if (Double.isNaN(scores[i])) throw new IllegalArgumentException("score " + i + " is NaN");
            if (positive[i]) x[a++] = scores[i]; else y[b++] = scores[i];
        }
        double[] all = new double[m + n];
        System.arraycopy(x, 0, all, 0, m);
        System.arraycopy(y, 0, all, m, n);
        double[] rAll = midranks(all), rX = midranks(x), rY = midranks(y);
        double[] v10 = new double[m], v01 = new double[n];
        double auc = 0;
        for (int i = 0; i < m; i++) { v10[i] = (rAll[i] - rX[i]) / n; auc += v10[i]; }
        auc /= m;
        for (int j = 0; j < n; j++) v01[j] = 1 - (rAll[m + j] - rY[j]) / m;
        double variance = m < 2 || n < 2 ? Double.NaN : sampleVariance(v10) / m + sampleVariance(v01) / n;
        return new AucEstimate(auc, variance);
    }

    /** Ranks 1..N of {@code v} in ascending order, tied values sharing the mean of their ranks. */
    static double[] midranks(double[] v) {
        Integer[] order = new Integer[v.length];
        for (int i = 0; i < order.length; i++) order[i] = i;
        Arrays.sort(order, Comparator.comparingDouble(i -> v[i]));
        double[] r = new double[v.length];
        for (int a = 0; a < order.length; ) {
            int b = a;
            while (b + 1 < order.length && v[order[b + 1]] == v[order[a]]) b++;
            double mid = (a + b) / 2.0 + 1;   // ranks a+1 .. b+1 share their mean
            for (int t = a; t <= b; t++) r[order[t]] = mid;
            a = b + 1;
        }
        return r;
    }

    private static double sampleVariance(double[] v) {
        double mean = 0;
        for (double d : v) mean += d;
        mean /= v.length;
        double s = 0;
        for (double d : v) s += (d - mean) * (d - mean);
        return s / (v.length - 1);
    }

    /**
     * McNemar's exact two-sided p-value for two classifiers on the same images: {@code onlyFirst} images only the first
     * gets right, {@code onlySecond} only the second. Under "equally accurate" each of those b + c images is equally
     * likely to fall either way, so p = min(1, 2 P(Binomial(b + c, 1/2) <= min(b, c))); 1 when b + c = 0.
     */
    public static double mcnemarExact(long onlyFirst, long onlySecond) {
        if (onlyFirst < 0 || onlySecond < 0) throw new IllegalArgumentException("negative counts " + onlyFirst + ", " + onlySecond);
        long n = onlyFirst + onlySecond, k = Math.min(onlyFirst, onlySecond);
        if (n == 0) return 1;
        // sum_{i <= k} C(n, i) / 2^n in logarithms (2^-n underflows from n = 1075); terms grow with i up to n/2 >= k,
        // so the largest is the last, and the sum is taken relative to it
        double logLast = logChoose(n, k) - n * Math.log(2), sum = 0, term = 1;
        for (long i = k; i >= 0; i--) {
            sum += term;
            term *= (double) i / (n - i + 1);   // C(n, i-1) / C(n, i) = i / (n - i + 1)
            if (term < 1e-18 * sum) break;
        }
        return Math.min(1, 2 * Math.exp(logLast + Math.log(sum)));
    }

    /** log C(n, k) as a sum of logarithms (exact enough for the test sets here: n up to millions). */
    static double logChoose(long n, long k) {
        k = Math.min(k, n - k);
        double s = 0;
        for (long i = 1; i <= k; i++) s += Math.log((double) (n - k + i) / i);
        return s;
    }
}
