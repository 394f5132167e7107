package org.pulmo.benchmarks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.CommandLineOptions;

/**
 * A benchmark main that cannot measure ends with one line and a non-zero exit code, never a stack trace: a malformed
 * JMH command line, refused arguments, a run in which every benchmark failed, and anything unexpected.
 */
class MainsTest {
    /** The exit code and what went to stderr. */
    private record Ended(int code, String err) {}

    private static Ended end(Mains.Body body) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        int code = Mains.outcome("SomeBench", body, new PrintStream(bytes, true, StandardCharsets.UTF_8));
        return new Ended(code, bytes.toString(StandardCharsets.UTF_8));
    }

    @Test void eachWayOfFailingIsOneLineAndItsExitCode() {
        assertEquals(new Ended(0, ""), end(() -> {}));

        Ended badOption = end(() -> new CommandLineOptions("-f", "oo"));   // JMH's own parse error
        assertEquals(2, badOption.code());
        assertEquals("SomeBench: Cannot parse argument 'oo' of option f (-h lists JMH's options)\n", badOption.err());

        Ended refused = end(() -> { throw Mains.refuse("BATCH must be at least 1, got -4"); });
        assertEquals(new Ended(2, "SomeBench: BATCH must be at least 1, got -4\n"), refused);

        Ended none = end(() -> { throw new RunnerException("no benchmark of SomeBench produced a result (see above)"); });
        assertEquals(new Ended(1, "SomeBench: nothing measured: no benchmark of SomeBench produced a result (see above)\n"), none);

        Ended noMatch = end(() -> { throw new org.openjdk.jmh.runner.NoBenchmarksException(); });   // its message is null
        assertEquals(2, noMatch.code());
        assertTrue(noMatch.err().startsWith("SomeBench: no benchmark of this class matches the names given"), noMatch.err());

        Ended bug = end(() -> { throw new IllegalStateException("a bug"); });
        assertEquals(1, bug.code());
        assertTrue(bug.err().startsWith("SomeBench: unexpected java.lang.IllegalStateException: a bug"), bug.err());
        assertEquals(1, bug.err().lines().count(), "one line, no stack trace: " + bug.err());
    }

    @Test void wholeNumbersAreCheckedAndNamed() {
        assertEquals(7, Mains.wholeNumber("STEPS", " 7", 1));
        assertEquals("BATCH must be a whole number, got 'four'", assertThrows(Mains.Refused.class, () -> Mains.wholeNumber("BATCH", "four", 1)).getMessage());
        assertEquals("WARMUP must be at least 0, got -1", assertThrows(Mains.Refused.class, () -> Mains.wholeNumber("WARMUP", "-1", 0)).getMessage());
    }

    @Test void layerOpsShapesAreFourPositiveSizes() {
        assertEquals(4, LayerOpsBench.shape("8x64x56x56").length);
        for (String bad : new String[] {"8x64x56", "8xAx56x56", "8x64x56x56x1", "0x64x56x56", "", "8x64x56x"})
            assertTrue(assertThrows(IllegalArgumentException.class, () -> LayerOpsBench.shape(bad)).getMessage().contains("'" + bad + "'"), bad);
    }

    /** -lp with a method name lists that method of the class run, not every class's method of that name in the jar. */
    @Test void listingWithParametersKeepsToTheClass() throws Exception {
        PrintStream out = System.out;
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(bytes, true, StandardCharsets.UTF_8));
            assertTrue(Rates.measure(Conv2dBench.class, new String[] {"conv", "-lp"}).isEmpty());
        } finally {
            System.setOut(out);
        }
        String listed = bytes.toString(StandardCharsets.UTF_8);
        assertTrue(listed.contains("org.pulmo.benchmarks.Conv2dBench.conv"), listed);
        assertFalse(listed.contains("GpuKernelsBench"), listed);
    }

    /** Out of memory: one line naming the heap in MiB (2^20 bytes), exit code 1; not "unexpected", no stack trace. */
    @Test void runningOutOfMemoryIsOneLineNamingTheHeapInMib() {
        long mib = Runtime.getRuntime().maxMemory() / (1024 * 1024);
        Ended oom = end(() -> { throw new OutOfMemoryError("Java heap space"); });
        assertEquals(new Ended(1, "SomeBench: out of memory with a heap of " + mib + " MiB: a smaller batch or size, or a larger -Xmx\n"), oom);
    }

    @Test void theMinimumItselfIsAccepted() {
        assertEquals(0, Mains.wholeNumber("WARMUP", "0", 0));
        assertEquals(1, Mains.wholeNumber("STEPS", "1", 1));
    }

    /** The largest cache Linux lists is the last level's, whatever its index: sizes compared in bytes, not as text. */
    @Test void cacheSizesAreReadInBytes() {
        assertEquals(48L << 10, LayerOpsBench.cacheBytes("48K"));
        assertEquals(32L << 20, LayerOpsBench.cacheBytes("32768K"));
        assertEquals(1L << 20, LayerOpsBench.cacheBytes("1M"));
        assertEquals(-1, LayerOpsBench.cacheBytes("big"));
        assertTrue(LayerOpsBench.cacheBytes("1M") > LayerOpsBench.cacheBytes("512K"));
    }
}
