package org.pulmo.tensor;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** Statistical properties of Rng's normal samples: the moments, and no correlation within a Box-Muller pair. */
class RngTest {

    /** Sample correlation of x[i] and x[i + lag] over the pairs that start at multiples of step. */
    private static double correlation(double[] x, int lag, int step) {
        double sa = 0, sb = 0, saa = 0, sbb = 0, sab = 0;
        int k = 0;
        for (int i = 0; i + lag < x.length; i += step, k++) {
            double a = x[i], b = x[i + lag];
            sa += a; sb += b; saa += a * a; sbb += b * b; sab += a * b;
        }
        double cov = sab / k - sa / k * sb / k;
        return cov / Math.sqrt((saa / k - sa / k * sa / k) * (sbb / k - sb / k * sb / k));
    }

    /**
     * 20000 normal draws: mean 0 and variance 1 within a few standard errors, and no correlation between the two values
     * of one Box-Muller pair (draws 2k and 2k + 1) or between neighbours generally (standard error of each ~0.01).
     */
    @Test
    void normalsHaveUnitMomentsAndBoxMullerPairsAreUncorrelated() {
        Rng rng = new Rng(2024);
        double[] z = new double[20000];
        double sum = 0, sq = 0;
        for (int i = 0; i < z.length; i++) { z[i] = rng.nextGaussian(); sum += z[i]; sq += z[i] * z[i]; }
        double mean = sum / z.length, var = sq / z.length - mean * mean;
        assertEquals(0, mean, 0.03, "mean");
        assertEquals(1, var, 0.05, "variance");
        double pair = correlation(z, 1, 2), across = correlation(z, 1, 1);
        assertTrue(Math.abs(pair) < 0.05, "correlation within Box-Muller pairs " + pair);
        assertTrue(Math.abs(across) < 0.05, "correlation of neighbouring draws " + across);
    }
}
