package org.pulmo.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Random;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;
import org.junit.jupiter.api.Test;

/**
 * Lanes.sum adds a vector's stored lanes in the documented butterfly order, bit for bit: the order of the shuffle-and-add
 * butterfly the kernels ran on vectors before (rebuilt here with the Vector API), so that storing the lanes first
 * changed no result.
 */
class LanesTest {

    @Test void floatAndDoubleSumsFollowTheButterflyOrder() {
        Random rng = new Random(5);
        VectorSpecies<Float> fs = FloatVector.SPECIES_PREFERRED;
        int lf = fs.length(), ld = Lanes.D.length();
        for (int rep = 0; rep < 20_000; rep++) { // enough calls for C2 to compile Lanes.sum part way through
            float[] f = new float[lf];
            double[] d = new double[ld];
            // magnitudes spread over 2^-20 .. 2^20 so that a different order rounds differently
            for (int i = 0; i < lf; i++) f[i] = (float) ((rng.nextDouble() - 0.5) * Math.scalb(1.0, rng.nextInt(41) - 20));
            for (int i = 0; i < ld; i++) d[i] = (rng.nextDouble() - 0.5) * Math.scalb(1.0, rng.nextInt(81) - 40);
            float[] fStored = new float[3 + lf];   // at an offset, as the kernels store several vectors in one array
            System.arraycopy(f, 0, fStored, 3, lf);
            float fSum = Lanes.sum(fStored, 3, lf);
            double dSum = Lanes.sum(d.clone(), 0, ld);
            double[] fd = new double[lf];
            for (int i = 0; i < lf; i++) fd[i] = f[i];
            float fWant = (float) butterfly(fd, true);
            double dWant = butterfly(d, false);
            if (Float.floatToIntBits(fSum) != Float.floatToIntBits(fWant)) assertEquals(fWant, fSum, 0f, "float lanes, call " + rep);
            if (Double.doubleToLongBits(dSum) != Double.doubleToLongBits(dWant)) assertEquals(dWant, dSum, 0.0, "double lanes, call " + rep);
            if (rep % 100 == 0) {
                float fv = vectorButterfly(FloatVector.fromArray(fs, f, 0));
                if (Float.floatToIntBits(fv) != Float.floatToIntBits(fSum)) assertEquals(fv, fSum, 0f, "against the vector butterfly, call " + rep);
            }
        }
    }

    /** Several vectors stored one after another: each run summed on its own. */
    @Test void runsStoredOneAfterAnotherAreSummedEach() {
        int lf = FloatVector.SPECIES_PREFERRED.length();
        float[] a = new float[3 * lf];
        for (int i = 0; i < a.length; i++) a[i] = i / lf + 1;   // run k holds lf values of k + 1
        float[] out = new float[3];
        Lanes.sums(a, 3, lf, out);
        for (int k = 0; k < 3; k++) assertEquals((k + 1f) * lf, out[k], 0f, "run " + k);
    }

    /** The butterfly of shuffles and adds, lane 0 at the end: what Lanes.sum computed from a vector before. */
    private static float vectorButterfly(FloatVector v) {
        for (int h = v.length() / 2; h >= 1; h /= 2) {
            int step = h;
            v = v.add(v.rearrange(VectorShuffle.fromOp(v.species(), i -> i ^ step)));
        }
        return v.lane(0);
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
