package org.pulmo.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.pulmo.tensor.Rng;
import org.pulmo.tensor.Tensor;

/** The per-method profile counts each call once, and with byShape keeps one row per argument shapes. */
class ProfilingBackendTest {

    private static Map<String, Long> callsWhileProfiling(boolean byShape) {
        Rng rng = new Rng(3);
        Tensor a = Tensor.randn(rng, 2, 3), b = Tensor.randn(rng, 3, 4), c = Tensor.randn(rng, 4, 3);
        ProfilingBackend profile = Backends.startCpuProfile(byShape);
        try {
            a.matmul(b);
            a.matmul(b);
            b.matmul(c);
        } finally {
            Backends.stopCpuProfile();
        }
        return profile.entries().stream().collect(Collectors.toMap(ProfilingBackend.Entry::method, ProfilingBackend.Entry::calls));
    }

    @Test void callsAreCountedPerMethod() {
        assertEquals(3L, callsWhileProfiling(false).get("matmul"), callsWhileProfiling(false).toString());
    }

    @Test void byShapeKeepsOneRowPerArgumentShapes() {
        Map<String, Long> calls = callsWhileProfiling(true);
        assertEquals(2L, calls.get("matmul [2, 3] [3, 4]"), calls.toString());
        assertEquals(1L, calls.get("matmul [3, 4] [4, 3]"), calls.toString());
        assertTrue(calls.keySet().stream().noneMatch("matmul"::equals), calls.toString());
    }
}
