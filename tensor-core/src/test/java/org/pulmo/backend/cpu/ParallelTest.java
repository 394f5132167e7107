package org.pulmo.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.concurrent.atomic.AtomicIntegerArray;
import org.junit.jupiter.api.Test;

class ParallelTest {

    @Test
    void coversEveryIndexExactlyOnce() {
        for (int n : new int[] {0, 1, 2, 3, 7, 64, 1001}) {
            for (long cost : new long[] {1, 1_000_000}) {
                AtomicIntegerArray hits = new AtomicIntegerArray(Math.max(n, 1));
                Parallel.forRange(n, cost, (s, e) -> {
                    for (int i = s; i < e; i++) hits.incrementAndGet(i);
                });
                for (int i = 0; i < n; i++) assertEquals(1, hits.get(i), "n=" + n + " cost=" + cost + " index " + i);
            }
        }
    }

    @Test
    void manyBackToBackCalls() {
        // Exercises the spin / park hand-off: results of every call must be visible to the caller.
        long[] sums = new long[2000];
        for (int call = 0; call < sums.length; call++) {
            long[] parts = new long[Parallel.threads() + 1];
            int c = call;
            Parallel.forRange(Parallel.threads(), 1_000_000, (s, e) -> {
                for (int i = s; i < e; i++) parts[i] = (long) c * 1000 + i;
            });
            for (long p : parts) sums[call] += p;
        }
        int t = Parallel.threads();
        for (int call = 0; call < sums.length; call++) {
            assertEquals((long) call * 1000 * t + (long) t * (t - 1) / 2, sums[call], "call " + call);
        }
    }

    @Test
    void nestedCallsRunInline() {
        AtomicIntegerArray hits = new AtomicIntegerArray(16 * 16);
        Parallel.forRange(16, 1_000_000, (s, e) -> {
            for (int i = s; i < e; i++) {
                int row = i;
                Parallel.forRange(16, 1_000_000, (s2, e2) -> {
                    for (int j = s2; j < e2; j++) hits.incrementAndGet(row * 16 + j);
                });
            }
        });
        for (int i = 0; i < 256; i++) assertEquals(1, hits.get(i), "index " + i);
    }

    @Test
    void exceptionsPropagateFromAnyChunk() {
        int n = 4 * Parallel.threads();
        for (int bad : new int[] {0, n - 1}) {
            IllegalStateException boom = new IllegalStateException("chunk with " + bad);
            IllegalStateException thrown = assertThrows(IllegalStateException.class, () ->
                    Parallel.forRange(n, 1_000_000, (s, e) -> {
                        if (bad >= s && bad < e) throw boom;
                    }));
            assertSame(boom, thrown);
        }
        // The pool still works after a failure.
        AtomicIntegerArray hits = new AtomicIntegerArray(n);
        Parallel.forRange(n, 1_000_000, (s, e) -> { for (int i = s; i < e; i++) hits.incrementAndGet(i); });
        for (int i = 0; i < n; i++) assertEquals(1, hits.get(i));
    }
}
