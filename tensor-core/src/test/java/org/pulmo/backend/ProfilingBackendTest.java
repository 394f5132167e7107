package org.pulmo.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Proxy;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
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

    /**
     * On a device each outermost call waits for the device (so that its time is the device's): a stand-in device backend
     * (the CPU's, counting synchronize calls) waits once per successful op, and not after an op that threw.
     */
    @Test void onADeviceEveryOpWaitsForTheDeviceOnce() {
        Backend cpu = Backends.cpu();
        AtomicInteger waits = new AtomicInteger();
        Backend device = (Backend) Proxy.newProxyInstance(Backend.class.getClassLoader(), new Class<?>[] {Backend.class}, (p, m, args) -> {
            if (m.getName().equals("synchronize")) { waits.incrementAndGet(); return null; }
            try { return m.invoke(cpu, args); } catch (java.lang.reflect.InvocationTargetException e) { throw e.getCause(); }
        });
        ProfilingBackend profile = new ProfilingBackend(device, false, true);
        Backend profiled = profile.proxy();
        Rng rng = new Rng(4);
        Tensor a = Tensor.randn(rng, 2, 3), b = Tensor.randn(rng, 3, 4);
        profiled.matmul(a, b, false, false);
        profiled.matmul(a, b, false, false);
        assertEquals(2, waits.get());
        assertThrows(RuntimeException.class, () -> profiled.matmul(a, a, false, false), "shapes [2, 3] x [2, 3] do not multiply");
        assertEquals(2, waits.get(), "a failed op is not waited for");
        assertEquals(0, new ProfilingBackend(device, false, false).proxy().matmul(a, b, false, false).dim() - 2);
        assertEquals(2, waits.get(), "the CPU's profile never waits");
        java.util.Map<Backend, Integer> byBackend = new java.util.HashMap<>();   // as Sgd groups parameters by backend
        byBackend.put(profiled, 1);
        assertEquals(1, byBackend.get(profiled));
        assertTrue(profiled.equals(profiled) && !profiled.equals(device));
        assertEquals(2, waits.get(), "hashCode and equals are not ops: no wait");
        assertTrue(profile.entries().stream().noneMatch(e -> e.method().equals("hashCode") || e.method().equals("equals")),
            profile.entries().toString());
        // a profile that waits for every op cannot record work (CUDA graphs): it says so, and refuses with the same reason
        assertTrue(profiled.captureUnsupported().contains("waits for every op"), profiled.captureUnsupported());
        UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class, () -> profiled.capture(() -> {}));
        assertEquals(profiled.captureUnsupported(), e.getMessage());
        assertTrue(!profiled.capturing(), "asking whether it records is not refused (cross-entropy asks)");
    }

    @Test void byShapeKeepsOneRowPerArgumentShapes() {
        Map<String, Long> calls = callsWhileProfiling(true);
        assertEquals(2L, calls.get("matmul [2, 3] [3, 4]"), calls.toString());
        assertEquals(1L, calls.get("matmul [3, 4] [4, 3]"), calls.toString());
        assertTrue(calls.keySet().stream().noneMatch("matmul"::equals), calls.toString());
    }

    /**
     * Where the backend counts the bytes it allocates, each row sums its outermost calls' allocations once (a nested call's
     * bytes belong to the call around it); the CPU, which keeps no count, reports -1 and no column.
     */
    @Test void bytesAllocatedAreSummedPerRowWhereTheBackendCountsThem() {
        Backend cpu = Backends.cpu();
        long[] allocated = {0};
        Backend counting = (Backend) Proxy.newProxyInstance(Backend.class.getClassLoader(), new Class<?>[] {Backend.class}, (p, m, args) -> {
            if (m.getName().equals("allocatedBytes")) return allocated[0];
            try {
                Object r = m.invoke(cpu, args);
                if (r instanceof Tensor t) allocated[0] += 4 * t.numel();
                return r;
            } catch (java.lang.reflect.InvocationTargetException e) { throw e.getCause(); }
        });
        ProfilingBackend profile = new ProfilingBackend(counting, false, false);
        Backend profiled = profile.proxy();
        Rng rng = new Rng(5);
        Tensor a = Tensor.randn(rng, 2, 3), b = Tensor.randn(rng, 3, 4);
        profiled.matmul(a, b, false, false);
        profiled.matmul(a, b, false, false);   // [2, 4] twice: 64 bytes
        profiled.fill(a, 1f);                  // in place: none
        Map<String, Long> bytes = profile.entries().stream().collect(Collectors.toMap(ProfilingBackend.Entry::method, ProfilingBackend.Entry::bytes));
        assertEquals(64L, bytes.get("matmul"), bytes.toString());
        assertEquals(0L, bytes.get("fill"), bytes.toString());
        assertTrue(profile.table().contains("alloc MB"), profile.table());

        ProfilingBackend onCpu = Backends.startCpuProfile(false);
        try {
            a.matmul(b);
        } finally {
            Backends.stopCpuProfile();
        }
        assertTrue(onCpu.entries().stream().allMatch(e -> e.bytes() == -1), onCpu.entries().toString());
        assertTrue(!onCpu.table().contains("alloc MB"), onCpu.table());
    }
}
