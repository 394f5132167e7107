package org.pulmo.cuda;

import static org.junit.jupiter.api.Assertions.fail;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.pulmo.tensor.Tensor;

/**
 * The failures of one parity test, collected case by case and asserted once at the end, so that a first run
 * on a new GPU names every broken kernel and shape rather than only the first. Each failing case says what
 * was compared (op, shape), how many elements differ, the largest absolute error, and the first few
 * mismatches as index, expected, actual.
 *
 * <p>An element matches when {@code |expected - actual| <= atol + rtol * |expected|}, as
 * {@link ReferenceTest#close}, or when both are the same non-finite value (NaN, +-Inf). A NaN where a
 * finite value is expected always mismatches: that is how a kernel that skips part of its output shows when
 * the allocator poisons new blocks with NaN.
 */
final class Mismatches {
    /** Mismatching elements listed per case; the count and the max error cover all of them. */
    static final int SHOWN = 5;

    private final String test;
    private final List<String> failures = new ArrayList<>();
    private int cases;

    Mismatches(String test) { this.test = test; }

    /** One case: expected against actual element by element; returns whether it passed. */
    boolean close(float[] expected, float[] actual, double atol, double rtol, String what) {
        cases++;
        if (expected.length != actual.length) {
            failures.add(what + ": length " + actual.length + ", expected " + expected.length);
            return false;
        }
        int bad = 0, worstAt = -1;
        double worst = 0;
        StringBuilder first = new StringBuilder();
        for (int i = 0; i < expected.length; i++) {
            float e = expected[i], a = actual[i];
            double err = Math.abs((double) e - a);
            if (Float.compare(e, a) == 0 || err <= atol + rtol * Math.abs(e)) continue;
            if (bad < SHOWN) first.append(bad == 0 ? "" : ", ").append('[').append(i).append("] expected ").append(e).append(" actual ").append(a);
            bad++;
            if (worstAt < 0 || Double.isNaN(err) && !Double.isNaN(worst) || err > worst) { worst = err; worstAt = i; }
        }
        if (bad == 0) return true;
        failures.add(what + ": " + bad + " of " + expected.length + " elements differ (atol " + atol + ", rtol " + rtol + "), max abs error "
            + worst + " at [" + worstAt + "]; first: " + first + (bad > SHOWN ? ", ..." : ""));
        return false;
    }

    /** One case on tensors: the shapes must be equal, then the values as {@link #close(float[], float[], double, double, String)}. */
    boolean close(Tensor expected, Tensor actual, double atol, double rtol, String what) {
        if (!Arrays.equals(expected.shape(), actual.shape())) {
            cases++;
            failures.add(what + ": shape " + Arrays.toString(actual.shape()) + ", expected " + Arrays.toString(expected.shape()));
            return false;
        }
        return close(expected.toArray(), actual.toArray(), atol, rtol, what);
    }

    /** A case that is one condition (a count, a chosen algorithm, a precondition of the comparison). */
    boolean check(boolean ok, String what) {
        cases++;
        if (!ok) failures.add(what);
        return ok;
    }

    /**
     * Runs the comparisons of one case; an exception or assertion error inside (a failed launch, an index out
     * of range) is recorded as this case's failure and the test goes on with the next case.
     */
    void run(String what, Runnable body) {
        try {
            body.run();
        } catch (RuntimeException | AssertionError e) {
            cases++;
            failures.add(what + ": threw " + e);
        }
    }

    List<String> failures() { return List.copyOf(failures); }

    int cases() { return cases; }

    /** Fails with every recorded case, one per line, or returns when none failed. */
    void assertNone() {
        if (failures.isEmpty()) return;
        fail(test + ": " + failures.size() + " of " + cases + " cases failed:\n  " + String.join("\n  ", failures));
    }
}
