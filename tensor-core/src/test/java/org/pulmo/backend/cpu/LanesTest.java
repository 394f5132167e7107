package org.pulmo.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Random;
import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

/** Lanes.sum adds in the documented butterfly order, bit for bit, whatever compiles it. */
class LanesTest {

    @Test void floatAndDoubleSumsFollowTheButterflyOrder() {
        Random rng = new Random(5);
        int lf = FloatVector.SPECIES_PREFERRED.length(), ld = Lanes.D.length();
        for (int rep = 0; rep < 20_000; rep++) { // enough calls for C2 to compile Lanes.sum part way through
            float[] f = new float[lf];
            double[] d = new double[ld];
            // magnitudes spread over 2^-20 .. 2^20 so that a different order rounds differently
            for (int i = 0; i < lf; i++) f[i] = (float) ((rng.nextDouble() - 0.5) * Math.scalb(1.0, rng.nextInt(41) - 20));
            for (int i = 0; i < ld; i++) d[i] = (rng.nextDouble() - 0.5) * Math.scalb(1.0, rng.nextInt(81) - 40);
            float fs = Lanes.sum(FloatVector.fromArray(FloatVector.SPECIES_PREFERRED, f, 0));
            double ds = Lanes.sum(DoubleVector.fromArray(Lanes.D, d, 0));
            double[] fd = new double[lf];
            for (int i = 0; i < lf; i++) fd[i] = f[i];
            float fWant = (float) butterfly(fd, true);
            double dWant = butterfly(d, false);
            if (Float.floatToIntBits(fs) != Float.floatToIntBits(fWant)) assertEquals(fWant, fs, 0f, "float lanes, call " + rep);
            if (Double.doubleToLongBits(ds) != Double.doubleToLongBits(dWant)) assertEquals(dWant, ds, 0.0, "double lanes, call " + rep);
        }
    }

    /**
     * The butterfly in scalar code: a[i] + a[i ^ h] for h = n/2 .. 1, lane 0 at the end; with roundToFloat every
     * sum is rounded to float, which gives exactly float addition (a double holds the sum of two floats closely
     * enough that rounding it to float is the correctly rounded float sum).
     */
    private static double butterfly(double[] x, boolean roundToFloat) {
        double[] a = x.clone();
        for (int h = a.length / 2; h >= 1; h /= 2) {
            double[] b = new double[a.length];
            for (int i = 0; i < a.length; i++) b[i] = roundToFloat ? (float) (a[i] + a[i ^ h]) : a[i] + a[i ^ h];
            a = b;
        }
        return a[0];
    }
}
