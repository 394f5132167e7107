package org.pulmo.benchmarks;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The FMA peak's FLOPs are counted with the forked JVM's threads: before, the launcher's own count was used, so
 * {@code -jvmArgsAppend -Dpulmo.threads=1} on a 2-core machine reported twice the real GFLOP/s.
 */
class RatesTest {
    @Test void theForksThreadsComeFromItsJvmArguments() {
        assertEquals(2, Rates.threads(List.of("-Xmx4g"), 2), "none given: the machine's processors");
        assertEquals(1, Rates.threads(List.of("-Dpulmo.threads=4", "-Xss4m", "-Dpulmo.threads=1"), 2), "the last one, as the JVM takes it");
        assertEquals(2, Rates.threads(List.of("-Dpulmo.threads=x"), 2), "a bad value: the default, as Integer.getInteger");
        assertEquals(1, Rates.threads(List.of("-Dpulmo.threads=0"), 2), "at least one, as Parallel");
        assertEquals(SgemmBench.fmaPeakFlops(2) / 2, SgemmBench.fmaPeakFlops(1), 0.0);
    }

    @Test void everyTimeUnitJmhOffersIsRead() {
        for (String unit : List.of("ops/s", "ops/ms", "ops/us", "ops/ns", "ops/min", "s/op", "ms/op", "us/op", "ns/op", "min/op"))
            assertEquals(true, Rates.secondsPerOp(2, unit) > 0, unit);
        assertEquals(120.0, Rates.secondsPerOp(2, "min/op"), 0.0);
        assertEquals(0.5e-9, Rates.secondsPerOp(2, "ops/ns"), 1e-24);
    }
}
