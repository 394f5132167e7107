package org.pulmo.metrics;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

class IntervalsTest {
    static final double Z2 = Intervals.Z95 * Intervals.Z95;

    @Test void wilsonMatchesItsClosedFormsAndPublishedValues() {
        // k = 0: [0, z^2 / (n + z^2)]; k = n: [n / (n + z^2), 1] (the score interval's ends solved by hand)
        Intervals.Interval none = Intervals.wilson(0, 10), all = Intervals.wilson(124, 124);
        assertEquals(0, none.low());
        assertEquals(Z2 / (10 + Z2), none.high(), 1e-12);
        assertEquals(124 / (124 + Z2), all.low(), 1e-12);
        assertEquals(1, all.high());
        // 5 of 10 by hand: centre 0.5, half-width z sqrt(1/40 + z^2/400) / (1 + z^2/10) = 0.2634
        Intervals.Interval half = Intervals.wilson(5, 10);
        assertEquals(0.2366, half.low(), 1e-4);
        assertEquals(0.7634, half.high(), 1e-4);
        // 81 of 263: [0.2553, 0.3662], Newcombe (1998)'s first example; and both ends solve the score equation
        Intervals.Interval i = Intervals.wilson(81, 263);
        assertEquals(0.2553, i.low(), 1e-4);
        assertEquals(0.3662, i.high(), 1e-4);
        for (double end : new double[] {i.low(), i.high()}) {
            // each end p solves (k/n - p)^2 = z^2 p (1 - p) / n
            double p = end, lhs = Math.pow(81.0 / 263 - p, 2), rhs = Z2 * p * (1 - p) / 263;
            assertEquals(lhs, rhs, 1e-12);
        }
        assertFalse(Intervals.wilson(0, 0).defined());
        assertThrows(IllegalArgumentException.class, () -> Intervals.wilson(5, 4));
    }

    @Test void wilsonCoversNearlyNinetyFivePercentWhereTheWaldIntervalDoesNot() {
        // exact coverage over Binomial(n, p) at accuracies these models reach, on a test set of xray-4class's size
        int n = 124;
        for (double p : new double[] {0.80, 0.90, 0.95, 0.98}) {
            double wilson = 0, wald = 0, pk = Math.pow(1 - p, n);   // P(k = 0)
            for (int k = 0; k <= n; k++) {
                if (k > 0) pk *= (double) (n - k + 1) / k * p / (1 - p);
                Intervals.Interval w = Intervals.wilson(k, n);
                if (w.low() <= p && p <= w.high()) wilson += pk;
                double q = (double) k / n, h = Intervals.Z95 * Math.sqrt(q * (1 - q) / n);
                if (q - h <= p && p <= q + h) wald += pk;
            }
            assertTrue(wilson > 0.925 && wilson < 0.975, "Wilson's coverage at p = " + p + ": " + wilson);
            if (p == 0.98) assertTrue(wald < 0.92, "the Wald interval's at p = 0.98: " + wald);   // why Wilson's is used
        }
    }

    @Test void delongMatchesAHandWorkedExample() {
        // positives 0.9, 0.6, 0.4; negatives 0.7, 0.4, 0.2. psi by hand: V10 = 1, 2/3, 1/2; V01 = 1/3, 5/6, 1;
        // AUC = 13/18; s10^2 = 7/108, s01^2 = 13/108; Var = (7/108 + 13/108) / 3 = 5/81
        Intervals.AucEstimate e = Intervals.delong(new double[] {0.9, 0.7, 0.6, 0.4, 0.4, 0.2}, new boolean[] {true, false, true, true, false, false});
        assertEquals(13.0 / 18, e.auc(), 1e-12);
        assertEquals(5.0 / 81, e.variance(), 1e-12);
        Intervals.Interval i = e.interval95();
        assertEquals(13.0 / 18 - Intervals.Z95 * Math.sqrt(5.0 / 81), i.low(), 1e-12);
        assertEquals(1, i.high());   // 0.72 + 0.49 is cut to 1
    }

    @Test void delongAgreesWithTheDefinitionAndTheRocCurveOnTiedScores() {
        Random r = new Random(11);
        for (int trial = 0; trial < 20; trial++) {
            int size = 5 + r.nextInt(60);
            double[] s = new double[size];
            boolean[] pos = new boolean[size];
            for (int i = 0; i < size; i++) {
                pos[i] = i < 2 || (i >= size - 2 ? false : r.nextBoolean());   // both classes, at least two of each
                s[i] = Math.round((r.nextGaussian() + (pos[i] ? 0.8 : 0)) * 4) / 4.0;   // coarse: many ties
            }
            if (count(pos, false) < 2) continue;
            Intervals.AucEstimate e = Intervals.delong(s, pos);
            assertEquals(RocCurve.of(s, pos).auc(), e.auc(), 1e-12);
            assertEquals(bruteForceVariance(s, pos), e.variance(), 1e-12);
        }
    }

    /** DeLong's variance straight from its definition, O(m n). */
    static double bruteForceVariance(double[] s, boolean[] pos) {
        int m = count(pos, true), n = count(pos, false);
        double[] v10 = new double[m], v01 = new double[n];
        for (int i = 0, a = 0; i < s.length; i++) {
            if (!pos[i]) continue;
            for (int j = 0, b = 0; j < s.length; j++) {
                if (pos[j]) continue;
                double psi = s[i] > s[j] ? 1 : s[i] == s[j] ? 0.5 : 0;
                v10[a] += psi / n;
                v01[b] += psi / m;
                b++;
            }
            a++;
        }
        return var(v10) / m + var(v01) / n;
    }

    static double var(double[] v) {
        double mean = 0, s = 0;
        for (double d : v) mean += d / v.length;
        for (double d : v) s += (d - mean) * (d - mean);
        return s / (v.length - 1);
    }

    static int count(boolean[] b, boolean value) {
        int c = 0;
        for (boolean x : b) if (x == value) c++;
        return c;
    }

    @Test void delongIsUndefinedWithoutBothClasses() {
        assertTrue(Double.isNaN(Intervals.delong(new double[] {0.1, 0.2}, new boolean[] {true, true}).auc()));
        Intervals.AucEstimate one = Intervals.delong(new double[] {0.1, 0.2, 0.3}, new boolean[] {true, false, false});
        assertEquals(0.0, one.auc());
        assertFalse(one.interval95().defined());   // one positive: no sample variance
    }

    @Test void mcnemarExactGivesTheBinomialTail() {
        // 1 against 9: 2 (C(10,0) + C(10,1)) / 2^10 = 22 / 1024
        assertEquals(22.0 / 1024, Intervals.mcnemarExact(1, 9), 1e-15);
        assertEquals(22.0 / 1024, Intervals.mcnemarExact(9, 1), 1e-15);
        // 0 against 6: 2 / 64
        assertEquals(2.0 / 64, Intervals.mcnemarExact(0, 6), 1e-15);
        // 3 against 5: 2 (1 + 8 + 28 + 56) / 256 = 186 / 256
        assertEquals(186.0 / 256, Intervals.mcnemarExact(3, 5), 1e-15);
        assertEquals(1, Intervals.mcnemarExact(4, 4));
        assertEquals(1, Intervals.mcnemarExact(0, 0));
        // past 2^-1074: near the normal approximation with continuity correction, (|b - c| - 1)^2 / (b + c) = 7.54
        double p = Intervals.mcnemarExact(600, 700), z = (100 - 1) / Math.sqrt(1300);
        double normal = 2 * (1 - phi(z));
        assertTrue(p > 0 && Math.abs(p - normal) < 0.05 * normal, p + " against the normal approximation's " + normal);
    }

    /** The standard normal distribution function (Zelen and Severo, 26.2.17: error below 7.5e-8). */
    static double phi(double x) {
        double t = 1 / (1 + 0.2316419 * x);
        double poly = t * (0.319381530 + t * (-0.356563782 + t * (1.781477937 + t * (-1.821255978 + t * 1.330274429))));
        return 1 - Math.exp(-x * x / 2) / Math.sqrt(2 * Math.PI) * poly;
    }

    @Test void theReportPrintsAndStoresTheIntervalsOfItsOwnCounts() {
        // 3 classes, 12 images: class 0 gets 4 of 4 right, class 1 3 of 4 (one called 2), class 2 2 of 4 (two called 0)
        int[] labels = {0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2};
        int[] predicted = {0, 0, 0, 0, 1, 1, 1, 2, 2, 2, 0, 0};
        float[][] p = new float[12][3];
        for (int i = 0; i < 12; i++) { p[i][predicted[i]] = 0.6f + 0.01f * i; p[i][(predicted[i] + 1) % 3] = 0.4f - 0.01f * i; }
        ClassificationReport report = new ClassificationReport(new Predictions(List.of("a", "b", "c"), p, labels, null), 0);
        assertEquals(Intervals.wilson(9, 12), report.accuracyInterval());
        assertEquals(Intervals.wilson(4, 6), report.precisionInterval(0));      // predicted a: 4 right of 6
        assertEquals(Intervals.wilson(3, 4), report.recallInterval(1));
        assertEquals(Intervals.wilson(6, 8), report.specificityInterval(0));    // 8 not a, 2 of them called a
        assertEquals(Intervals.wilson(9, 12).low(), report.values().get("accuracy_ci95_low"));
        String text = report.format("T");
        assertTrue(text.contains("95 % confidence intervals over these 12 images"), text);
        assertTrue(text.contains(Intervals.wilson(9, 12).percent()), text);
        assertTrue(text.contains(Intervals.wilson(2, 4).percent()), text);   // c's recall
    }
}
