package org.pulmo.benchmarks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.openjdk.jmh.results.RunResult;

/** Seconds per op from every JMH unit, medians, and the per-fork rate line, checked against hand-computed values. */
class RatesArithmeticTest {

    @Test void eachUnitGivesSecondsPerOp() {
        // a score of 4: 4 ops per unit of time is 1/4 of that unit per op; 4 units per op is 4 units
        assertEquals(0.25, Rates.secondsPerOp(4, "ops/s"), 1e-15);
        assertEquals(0.25e-3, Rates.secondsPerOp(4, "ops/ms"), 1e-18);
        assertEquals(0.25e-6, Rates.secondsPerOp(4, "ops/us"), 1e-21);
        assertEquals(0.25e-9, Rates.secondsPerOp(4, "ops/ns"), 1e-24);
        assertEquals(15.0, Rates.secondsPerOp(4, "ops/min"), 1e-12);
        assertEquals(4.0, Rates.secondsPerOp(4, "s/op"), 1e-15);
        assertEquals(4e-3, Rates.secondsPerOp(4, "ms/op"), 1e-18);
        assertEquals(4e-6, Rates.secondsPerOp(4, "us/op"), 1e-21);
        assertEquals(4e-9, Rates.secondsPerOp(4, "ns/op"), 1e-24);
        assertEquals(240.0, Rates.secondsPerOp(4, "min/op"), 1e-12);
    }

    @Test void theMedianOfAnEvenCountIsTheMeanOfTheMiddleTwo() {
        assertEquals(2.5, Rates.median(List.of(4.0, 1.0, 3.0, 2.0)), 0.0);
        assertEquals(3.0, Rates.median(List.of(5.0, 3.0, 1.0)), 0.0, "odd count, unsorted input");
        assertEquals(7.0, Rates.median(List.of(7.0)), 0.0);
        assertTrue(Double.isNaN(Rates.median(List.of())));
    }

    @Test void secondsArePrintedInTheirUnit() {
        assertEquals("2.500 s", Rates.formatSeconds(2.5));
        assertEquals("12.345 ms", Rates.formatSeconds(0.012345));
        assertEquals("42.0 us", Rates.formatSeconds(42e-6));
    }

    /** Two forks of a 32-image step, 10 ms and 30 ms: 3200 and 1066.7 images/s, median time 20 ms and median rate 2133.3. */
    @Test void theLineGivesEachForksRateAndTheMedians() {
        RunResult r = JmhRuns.averageTime("org.pulmo.benchmarks.ModelThroughputBench.trainStep",
            Map.of("model", "resnet50"), 10_000, 30_000);
        String line = Rates.line(r, "images/s", x -> 32, false);
        double fast = 32 / 0.010, slow = 32 / 0.030;
        assertTrue(line.startsWith("trainStep "), line);
        assertTrue(line.contains("20.000 ms/op"), line);
        assertTrue(line.contains(String.format(java.util.Locale.ROOT, " %.1f images/s", (fast + slow) / 2)), line);
        assertTrue(line.endsWith(String.format(java.util.Locale.ROOT, "[%.1f, %.1f]", fast, slow)), line);
    }

    /**
     * fmaPeak: per thread 12 independent chains of 2^24 float lanes of FMA each, a multiply and an add per lane, at any
     * vector width: a fork with 8 lanes (the launcher's 16) makes twice the steps, not half the FLOPs.
     */
    @Test void theFmaPeakCountsTwoFlopsPerLaneOfEachFmaAtAnyWidth() {
        assertEquals(3.0 * (1 << 24) * 12 * 2, SgemmBench.fmaPeakFlops(3), 0.0);
        for (int lanes : new int[] {4, 8, 16}) assertEquals(1 << 24, SgemmBench.peakSteps(lanes) * lanes, "lanes " + lanes);
        assertEquals(1 << 20, SgemmBench.peakSteps(16));
    }

    /** A unit Rates does not know is an error, never a score taken as seconds (a rate off by its unit's factor). */
    @Test void anUnknownScoreUnitIsAnErrorNotSeconds() {
        assertThrows(IllegalArgumentException.class, () -> Rates.secondsPerOp(4, "ops/hr"));
        assertThrows(IllegalArgumentException.class, () -> Rates.secondsPerOp(4, "op"));
    }

    @Test void exactlyOneSecondOrOneMillisecondIsPrintedInThatUnit() {
        assertEquals("1.000 s", Rates.formatSeconds(1.0));
        assertEquals("1.000 ms", Rates.formatSeconds(1e-3));
        assertEquals("999.0 us", Rates.formatSeconds(999e-6));
    }

    /** The parameters of a line: "key=value" pairs separated by one space, nothing after the last. */
    @Test void theParametersAreSpaceSeparatedWithNothingAfterTheLast() {
        assertEquals("model=resnet50", Rates.params(JmhRuns.averageTime("org.pulmo.benchmarks.ModelThroughputBench.trainStep",
            Map.of("model", "resnet50"), 1000)));
        Map<String, String> two = new LinkedHashMap<>();
        two.put("model", "resnet50");
        two.put("size", "paper");
        assertEquals("model=resnet50 size=paper", Rates.params(JmhRuns.averageTime("org.pulmo.benchmarks.ModelThroughputBench.trainStep",
            two, 1000)));
    }
}
