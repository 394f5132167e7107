package org.pulmo.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.SplittableRandom;
import jdk.incubator.vector.FloatVector;
import org.junit.jupiter.api.Test;

/** The fused MAB's vector exp against Math.exp: relative error, exact points, and the clamped ends. */
class CpuFusedExpTest {
    private static final int L = FloatVector.SPECIES_PREFERRED.length();

    private static float[] exp(float[] x) {
        float[] y = new float[x.length];
        for (int i = 0; i < x.length; i += L) CpuFused.exp(FloatVector.fromArray(FloatVector.SPECIES_PREFERRED, x, i)).intoArray(y, i);
        return y;
    }

    @Test void withinTwoUlpOfMathExpOverTheNormalRange() {
        SplittableRandom rnd = new SplittableRandom(5);
        float[] x = new float[L * 4096];
        for (int i = 0; i < x.length; i++) x[i] = (float) (i < x.length / 2 ? rnd.nextDouble(-87, 88) : rnd.nextDouble(-10, 1));
        float[] y = exp(x);
        double worstUlps = 0;
        for (int i = 0; i < x.length; i++) {
            double want = Math.exp(x[i]);
            worstUlps = Math.max(worstUlps, Math.abs(y[i] - want) / Math.ulp((float) want));
        }
        assertTrue(worstUlps <= 2, "worst error " + worstUlps + " ulp");
    }

    @Test void exactAndClampedPoints() {
        float[] x = new float[L];
        x[1] = 1f;
        x[2] = -1000f;   // softmax of a far-off value: clamped to e^-87.3, not 0
        x[3] = Float.NEGATIVE_INFINITY;
        float[] y = exp(x);
        assertEquals(1f, y[0], 0f, "e^0");
        assertEquals((float) Math.E, y[1], Math.ulp((float) Math.E), "e^1");
        assertTrue(y[2] > 0 && y[2] < 2e-38f, "e^-1000 -> " + y[2]);
        assertEquals(y[2], y[3], 0f, "e^-inf clamps the same way");
    }
}
