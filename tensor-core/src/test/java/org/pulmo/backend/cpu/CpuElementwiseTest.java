package org.pulmo.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Random;
import org.junit.jupiter.api.Test;
import org.pulmo.backend.BinaryOp;

/** The stride-1 rows (vector ReLU, STEP, ReLU backward, max, min) against plain loops. */
class CpuElementwiseTest {

    @Test
    void vectorReluMatchesMathMax() {
        Random rng = new Random(32);
        for (int n : new int[] {0, 3, 16, 33, 100}) {
            float[] x = new float[n + 1];
            for (int i = 0; i < x.length; i++) x[i] = i % 9 == 4 ? Float.NaN : i % 7 == 0 ? -0f : (float) rng.nextGaussian();
            float[] y = new float[n];
            CpuElementwise.unaryRow(org.pulmo.backend.UnaryOp.RELU, 0f, x, 1, y, 0, n);
            for (int i = 0; i < n; i++) assertEquals(Math.max(x[1 + i], 0f), y[i], "relu at " + i);
        }
    }

    /** STEP by vectors and a scalar tail: 1 above zero, 0 at -0, 0 and below, and 0 for NaN; what lies past the row untouched. */
    @Test
    void vectorStepIsOneAboveZeroOnly() {
        Random rng = new Random(33);
        for (int n : new int[] {0, 3, 16, 33, 100}) {
            float[] x = new float[n + 1];
            for (int i = 0; i < x.length; i++)
                x[i] = i % 9 == 4 ? Float.NaN : i % 7 == 0 ? -0f : i % 11 == 3 ? 0f : i % 13 == 5 ? Float.MIN_VALUE : (float) rng.nextGaussian();
            float[] y = new float[n + 1];
            y[n] = 7f;
            CpuElementwise.unaryRow(org.pulmo.backend.UnaryOp.STEP, 0f, x, 1, y, 0, n);
            for (int i = 0; i < n; i++) assertEquals(x[1 + i] > 0f ? 1f : 0f, y[i], "step at " + i + " of " + x[1 + i]);
            assertEquals(7f, y[n], "past the row");
        }
    }

    @Test
    void strideOneRowsMatchTheStridedLoop() {
        Random rng = new Random(31);
        for (BinaryOp op : new BinaryOp[] {BinaryOp.RELU_BACKWARD, BinaryOp.MAX, BinaryOp.MIN, BinaryOp.ADD}) {
            for (int n : new int[] {0, 1, 5, 15, 16, 17, 40, 100}) {
                float[] a = new float[n + 3], b = new float[n + 5];
                for (int i = 0; i < a.length; i++) a[i] = (float) rng.nextGaussian();
                for (int i = 0; i < b.length; i++) b[i] = i % 5 == 0 ? 0f : (float) rng.nextGaussian();
                float[] fast = new float[n + 2], general = new float[n + 2];
                CpuElementwise.binaryRow(op, a, 3, 1, b, 5, 1, fast, 2, n);
                // Stride 2 over a copy spread out: the general loop on the same values.
                float[] a2 = new float[2 * n + 3], b2 = new float[2 * n + 5];
                for (int i = 0; i < n; i++) { a2[3 + 2 * i] = a[3 + i]; b2[5 + 2 * i] = b[5 + i]; }
                CpuElementwise.binaryRow(op, a2, 3, 2, b2, 5, 2, general, 2, n);
                for (int i = 0; i < n + 2; i++) assertEquals(general[i], fast[i], op + " n=" + n + " at " + i);
                if (op == BinaryOp.RELU_BACKWARD)
                    for (int i = 0; i < n; i++) assertEquals(b[5 + i] > 0f ? a[3 + i] : 0f, fast[2 + i], "relu backward by hand at " + i);
            }
        }
    }
}
