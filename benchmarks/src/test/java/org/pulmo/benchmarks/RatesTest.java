package org.pulmo.benchmarks;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The FMA peak's FLOPs are counted with the forked JVM's threads: before, the launcher's own count was used, so
 * {@code -jvmArgsAppend -Dpulmo.threads=1} on a 2-core machine reported twice the real GFLOP/s.
 */
class RatesTest {
    @Test void theForksThreadsComeFromItsJvmArguments() {
        assertEquals(2, Rates.threads(List.of("-Xmx4g"), 2), "none given: the machine's processors");
        assertEquals(1, Rates.threads(List.of("-Dpulmo.threads=4", "-Xss4m", "-Dpulmo.threads=1"), 2), "the last one, as the JVM takes it");
        assertEquals(2, Rates.threads(List.of("-Dpulmo.threads=x"), 2), "a bad value: the default, as Parallel");
        assertEquals(2, Rates.threads(List.of("-Dpulmo.threads=0"), 2), "not a count of threads: the default, as Parallel");
        assertEquals(SgemmBench.fmaPeakFlops(2) / 2, SgemmBench.fmaPeakFlops(1), 0.0);
    }

    @Test void everyTimeUnitJmhOffersIsRead() {
        for (String unit : List.of("ops/s", "ops/ms", "ops/us", "ops/ns", "ops/min", "s/op", "ms/op", "us/op", "ns/op", "min/op"))
            assertEquals(true, Rates.secondsPerOp(2, unit) > 0, unit);
        assertEquals(120.0, Rates.secondsPerOp(2, "min/op"), 0.0);
        assertEquals(0.5e-9, Rates.secondsPerOp(2, "ops/ns"), 1e-24);
    }

    /** The JVM keeps the last -Dpulmo.threads; a bad last one is read as absent (the processors), not as the one before it. */
    @Test void aBadLastValueMeansTheProcessorsNotAnEarlierValue() {
        assertEquals(2, Rates.threads(List.of("-Dpulmo.threads=1", "-Dpulmo.threads=x"), 2));
        assertEquals(3, Rates.threads(List.of("-Dpulmo.threads=x", "-Dpulmo.threads=3"), 2));
    }

    /** forkThreads reads the result's own JVM arguments (what the fork ran with), not the launcher's processors. */
    @Test void theForksThreadsAreReadFromTheResult() {
        int n = Runtime.getRuntime().availableProcessors() + 3;   // a count this machine's processors cannot give
        var r = JmhRuns.averageTime("org.pulmo.benchmarks.SgemmBench.fmaPeak", Map.of(), List.of("-Xmx1g", "-Dpulmo.threads=" + n), 1000);
        assertEquals(n, Rates.forkThreads(r));
        var none = JmhRuns.averageTime("org.pulmo.benchmarks.SgemmBench.fmaPeak", Map.of(), List.of("-Xmx1g"), 1000);
        assertEquals(Runtime.getRuntime().availableProcessors(), Rates.forkThreads(none));
    }

    /**
     * Every spelling of N counts as many threads as Parallel starts for it: a decimal count, blanks around it allowed;
     * anything else (octal and hex spellings, 0, a negative count, too large a number) the processors.
     */
    @Test void theThreadCountIsReadAsParallelReadsIt() {
        String[] spelt = {"3", "010", "0x4", "#6", "+5", "-2", "0", " 4", "4 ", "x", "", "99999999999"};
        int[] parallel = {3, 10, 7, 7, 5, 7, 7, 4, 4, 7, 7, 7};
        for (int i = 0; i < spelt.length; i++) {
            String n = spelt[i];
            int p = org.pulmo.backend.cpu.Parallel.Threads.parse(n);
            assertEquals(parallel[i], p >= 1 ? p : 7, () -> "Parallel, -Dpulmo.threads=" + n);
            assertEquals(parallel[i], Rates.threads(List.of("-Dpulmo.threads=" + n), 7), () -> "-Dpulmo.threads=" + n);
        }
        assertEquals(7, Rates.threads(List.of("-Dpulmo.threads=3", "-Dpulmo.threads"), 7), "a bare one last: the property is \"\", as absent");
    }

    /** JMH's result file holds its scores alone; the rates go beside it, named after it, with what the lines print. */
    @Test void theRatesGoBesideJmhsResultFileAsJson() throws Exception {
        var cli = new org.openjdk.jmh.runner.options.CommandLineOptions("-rf", "json", "-rff", "out/sgemm.json");
        assertEquals(java.nio.file.Path.of("out/sgemm.rates.json"), Rates.ratesFile(cli));
        assertEquals(java.nio.file.Path.of("jmh-result.rates.json"), Rates.ratesFile(new org.openjdk.jmh.runner.options.CommandLineOptions("-rf", "json")));
        assertEquals(java.nio.file.Path.of("jmh-result.csv.rates.json"), Rates.ratesFile(new org.openjdk.jmh.runner.options.CommandLineOptions("-rf", "csv")));
        assertEquals(java.nio.file.Path.of("out.csv.rates.json"), Rates.ratesFile(new org.openjdk.jmh.runner.options.CommandLineOptions("-rff", "out.csv")));
        assertEquals(null, Rates.ratesFile(new org.openjdk.jmh.runner.options.CommandLineOptions("-f", "1")));
        // 2 GFLOP an op, forks at 1000 and 4000 us: 2000 and 500 GFLOP/s, median 1250, median time 2500 us
        var r = JmhRuns.averageTime("org.pulmo.benchmarks.SgemmBench.sgemm", Map.of("size", "1000"), List.of(), 1000, 4000);
        @SuppressWarnings("unchecked")
        var rows = (List<Map<String, Object>>) Json.parse(Rates.ratesJson(List.of(r), "GFLOP/s", x -> 2.0));
        assertEquals(1, rows.size());
        Map<String, Object> row = rows.get(0);
        assertEquals("org.pulmo.benchmarks.SgemmBench.sgemm", row.get("benchmark"));
        assertEquals(Map.of("size", "1000"), row.get("params"));
        assertEquals("GFLOP/s", row.get("unit"));
        assertEquals(1250.0, (Double) row.get("median"), 1e-9);
        assertEquals(List.of(2000.0, 500.0), row.get("forks"));
        assertEquals(2.5e-3, (Double) row.get("seconds_per_op"), 1e-12);
    }

    /** GB/s are printed beside a copy's, counted alike (read plus write), of arrays past the caches unless the heap is small. */
    @Test void theCopyBesideGigabytesCountsAsTheyDo() {
        assertEquals(64 << 20, Rates.copyFloats(16L << 30));
        assertEquals((256 << 20) / 8 / 4, Rates.copyFloats(256L << 20), "an eighth of the heap in each array");
        double gbs = Rates.copyBandwidth(1 << 20, 0, 50_000_000L);
        assertEquals(true, gbs > 0.1 && gbs < 1e5, "8 MiB moved per copy: " + gbs + " GB/s");
        assertEquals(true, Rates.copyLine(41.26, 2).startsWith("Copy bandwidth of this JVM right after the run, 2 threads: 41.3 GB/s"));
    }

    /** The peak printed beside a run's GFLOP/s says how many threads it counts and that it is this JVM's. */
    @Test void thePeakLineNamesItsThreadsAndItsJvm() {
        assertEquals(true, SgemmBench.peakLine(412.34, 2).startsWith("FMA peak of this JVM right after the run, 2 threads: 412.3 GFLOP/s"));
        assertEquals(true, SgemmBench.peakLine(205, 1).contains(", 1 thread: 205.0 GFLOP/s"));
    }
}
