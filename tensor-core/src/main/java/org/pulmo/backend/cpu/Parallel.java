package org.pulmo.backend.cpu;

import java.util.concurrent.ForkJoinPool;
import java.util.stream.IntStream;

/** Splits loops over the machine's cores. Small loops run on the calling thread. */
public final class Parallel {
    private Parallel() {}

    @FunctionalInterface
    public interface RangeBody { void run(int start, int end); }

    public static int threads() { return Runtime.getRuntime().availableProcessors(); }

    /** Runs body over [0, n) in at most threads() contiguous chunks; inline when n*costPerItem is small. */
    public static void forRange(int n, long costPerItem, RangeBody body) {
        int t = threads();
        if (t == 1 || n < 2 || (long) n * costPerItem < 32_768) { body.run(0, n); return; }
        int chunks = Math.min(t, n);
        IntStream.range(0, chunks).parallel().forEach(c -> {
            int s = (int) ((long) n * c / chunks), e = (int) ((long) n * (c + 1) / chunks);
            if (s < e) body.run(s, e);
        });
    }
}
