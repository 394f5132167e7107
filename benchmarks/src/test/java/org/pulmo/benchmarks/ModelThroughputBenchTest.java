package org.pulmo.benchmarks;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Iterator;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The untimed steps before JMH's warm-up go on until two in a row agree within 10 %, between 2 and 6 of them. */
class ModelThroughputBenchTest {
    private static List<Double> settle(Double... times) {
        Iterator<Double> it = List.of(times).iterator();
        return ModelThroughputBench.settle(it::next);
    }

    @Test void stepsRunUntilTwoInARowAgree() {
        assertEquals(List.of(9000.0, 5000.0, 4000.0, 3900.0), settle(9000.0, 5000.0, 4000.0, 3900.0, 3900.0, 3900.0), "cold steps are not the last");
        assertEquals(List.of(100.0, 105.0), settle(100.0, 105.0, 1.0), "at least two, and no more once settled");
        assertEquals(List.of(100.0, 50.0, 100.0, 50.0, 100.0, 50.0), settle(100.0, 50.0, 100.0, 50.0, 100.0, 50.0, 1.0), "never more than six");
        assertEquals(List.of(100.0, 112.0, 120.0), settle(100.0, 112.0, 120.0), "12 apart of 112 is not settled; 8 of 120 is");
    }

    @Test void tenPercentOfTheLongerStepCountsAsSettled() {
        assertEquals(List.of(90.0, 100.0), settle(90.0, 100.0, 1.0), "10 apart of 100: exactly 10 %, settled");
        assertEquals(List.of(100.0, 110.5), settle(100.0, 110.5, 1.0), "10.5 apart of 110.5 is within 10 % of the longer step");
    }
}
