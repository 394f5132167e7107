package org.pulmo.cuda;

import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.opentest4j.AssertionFailedError;
import org.pulmo.tensor.Tensor;

/** The collecting comparison of GpuParityTest has teeth: it reports every failing case, then fails. Runs everywhere. */
class MismatchesTest {
    @Test void passesWhenEveryCaseIsWithinTolerance() {
        Mismatches m = new Mismatches("t");
        assertTrue(m.close(new float[] {1f, -2f, Float.NaN}, new float[] {1.000001f, -2f, Float.NaN}, 1e-5, 1e-4, "ok"));
        assertTrue(m.close(new float[] {0f}, new float[] {-0f}, 0, 0, "signed zero"));
        m.run("no throw", () -> m.check(true, "holds"));
        assertEquals(3, m.cases());
        assertDoesNotThrow(m::assertNone);
    }

    /** Three wrong cases among good ones: one failure names all three, with indices, values and max error. */
    @Test void reportsEveryFailingCaseThenFails() {
        Mismatches m = new Mismatches("parity");
        float[] want = new float[20];
        for (int i = 0; i < 20; i++) want[i] = i + 0.5f;
        float[] skipped = want.clone(), offByOne = want.clone();
        for (int i = 10; i < 20; i++) skipped[i] = Float.NaN; // a kernel that wrote half its output into a poisoned block
        offByOne[7] += 1f;
        assertTrue(m.close(want, want.clone(), 0, 0, "good [20]"));
        assertFalse(m.close(want, skipped, 1e-5, 1e-4, "half written [2, 10]"));
        assertFalse(m.close(want, offByOne, 1e-5, 1e-4, "off by one [20]"));
        m.run("launch [4]", () -> { throw new IllegalStateException("cuLaunchKernel failed"); });
        assertTrue(m.close(want, want.clone(), 0, 0, "good after the failures"));
        AssertionFailedError e = assertThrows(AssertionFailedError.class, m::assertNone);
        String msg = e.getMessage();
        assertTrue(msg.startsWith("parity: 3 of 5 cases failed"), msg);
        assertTrue(msg.contains("half written [2, 10]: 10 of 20 elements differ"), msg);
        assertTrue(msg.contains("[10] expected 10.5 actual NaN, [11] expected 11.5 actual NaN"), msg);
        assertTrue(msg.contains("max abs error NaN at [10]"), msg);
        assertTrue(msg.contains("off by one [20]: 1 of 20 elements differ"), msg);
        assertTrue(msg.contains("max abs error 1.0 at [7]; first: [7] expected 7.5 actual 8.5"), msg);
        assertTrue(msg.contains("launch [4]: threw java.lang.IllegalStateException: cuLaunchKernel failed"), msg);
        assertFalse(msg.contains("good"), msg);
    }

    @Test void listsTheFirstFewMismatchesButCountsThemAll() {
        Mismatches m = new Mismatches("t");
        float[] got = new float[100];
        Arrays.fill(got, 2f);
        m.close(new float[100], got, 1e-6, 1e-5, "all wrong");
        String f = m.failures().get(0);
        assertTrue(f.contains("100 of 100 elements differ"), f);
        assertTrue(f.contains("[4] expected 0.0 actual 2.0, ..."), f);
        assertFalse(f.contains("[5] expected"), f);
    }

    @Test void lengthsShapesAndConditionsAreCases() {
        Mismatches m = new Mismatches("t");
        assertFalse(m.close(new float[3], new float[2], 0, 0, "short"));
        assertFalse(m.close(Tensor.zeros(2, 3), Tensor.zeros(3, 2), 0, 0, "transposed"));
        assertFalse(m.check(false, "plan chosen by find"));
        assertEquals(3, m.cases());
        assertEquals(java.util.List.of("short: length 2, expected 3", "transposed: shape [3, 2], expected [2, 3]", "plan chosen by find"),
            m.failures());
        assertThrows(AssertionFailedError.class, m::assertNone);
    }

    /** Pass and fail follow |a - b| <= atol + rtol |b|, as ReferenceTest.close. */
    @Test void toleranceIsAbsolutePlusRelativeToTheExpectedValue() {
        Mismatches m = new Mismatches("t");
        assertTrue(m.close(new float[] {1000f}, new float[] {1000.09f}, 1e-5, 1e-4, "inside rtol"));
        assertFalse(m.close(new float[] {1000f}, new float[] {1000.2f}, 1e-5, 1e-4, "outside rtol"));
        assertFalse(m.close(new float[] {1f}, new float[] {Float.POSITIVE_INFINITY}, 1e-5, 1e-4, "infinite"));
        assertFalse(m.close(new float[] {Float.NaN}, new float[] {1f}, 1e-5, 1e-4, "NaN expected"));
    }
}
