package org.pulmo.backend.cpu;

import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;

/**
 * Splits loops over the machine's cores with a small pool of persistent daemon workers.
 *
 * <p>Why not ForkJoin: a 256x256 SGEMM takes ~150 us on two cores, and waking a parked ForkJoin worker costs
 * tens of microseconds. Here each worker spins for a short while after finishing a job (so back-to-back
 * calls, as in a network's forward pass, hand off in well under a microsecond) and only then parks.
 *
 * <p>The calling thread runs chunk 0 itself. Calls made from inside a body, or while another thread holds
 * the pool, run inline on the caller: correct, just not parallel. The first exception thrown by any chunk
 * is rethrown to the caller after every chunk has finished.
 *
 * <p>Thread count: {@code -Dpulmo.threads=N}, default {@code availableProcessors()}; a value that is not a whole number
 * of at least 1 is refused by the command line ({@link Threads#property}) and, in a program, logged and replaced by the
 * default.
 */
public final class Parallel {
    private Parallel() {}

    @FunctionalInterface
    public interface RangeBody { void run(int start, int end); }

    private static final int THREADS = threadsOrDefault();

    /** {@code -Dpulmo.threads}, read without starting the pool (this class's initialisation starts it). */
    public static final class Threads {
        private Threads() {}

        /**
         * {@code -Dpulmo.threads} as a thread count, or 0 when it is not set; an {@link IllegalArgumentException} naming
         * the value when it is not a whole number of at least 1.
         */
        public static int property() {
            String v = System.getProperty("pulmo.threads");
            if (v == null) return 0;
            int n = parse(v);
            if (n >= 1) return n;
            throw new IllegalArgumentException("-Dpulmo.threads=" + v + ": give a whole number of CPU threads, at least 1");
        }

        /** A value of {@code -Dpulmo.threads} as a count (surrounding blanks allowed), or 0 when it is not one. */
        public static int parse(String value) {
            try {
                int n = Integer.parseInt(value.trim());
                return Math.max(n, 0);
            } catch (NumberFormatException notANumber) {
                return 0;
            }
        }
    }

    private static int threadsOrDefault() {
        int cores = Math.max(1, Runtime.getRuntime().availableProcessors());
        try {
            int n = Threads.property();
            return n > 0 ? n : cores;
        } catch (IllegalArgumentException e) {
            java.util.logging.Logger.getLogger(Parallel.class.getName()).warning(e.getMessage() + "; using " + cores);
            return cores;
        }
    }
    /** Below this much work (n * costPerItem, roughly "flops") a loop runs on the calling thread. */
    private static final long MIN_PARALLEL_WORK = 32_768;
    /** How long an idle worker spins before parking. Spinning makes the next hand-off cheap. */
    private static final long SPIN_NANOS = 200_000;

    private static final AtomicBoolean BUSY = new AtomicBoolean();
    private static final Worker[] WORKERS = new Worker[THREADS - 1];

    // The job being run; written by the owner of BUSY before workers are released (volatile seq publishes it).
    private static RangeBody jobBody;
    private static int jobN, jobChunks;
    private static final AtomicInteger PENDING = new AtomicInteger();
    private static final AtomicReference<Throwable> ERROR = new AtomicReference<>();

    static {
        for (int i = 0; i < WORKERS.length; i++) {
            WORKERS[i] = new Worker(i + 1);
            WORKERS[i].start();
        }
    }

    public static int threads() { return THREADS; }

    /** Runs body over [0, n) in at most threads() contiguous chunks; inline when n*costPerItem is small. */
    public static void forRange(int n, long costPerItem, RangeBody body) {
        if (n <= 0) return;
        if (THREADS == 1 || n == 1 || (long) n * Math.max(1, costPerItem) < MIN_PARALLEL_WORK
                || Thread.currentThread() instanceof Worker || !BUSY.compareAndSet(false, true)) {
            body.run(0, n);
            return;
        }
        try {
            int chunks = Math.min(THREADS, n);
            jobBody = body;
            jobN = n;
            jobChunks = chunks;
            ERROR.set(null);
            PENDING.set(chunks - 1);
            for (int c = 1; c < chunks; c++) WORKERS[c - 1].release();
            runChunk(0);
            awaitWorkers();
            jobBody = null;
            Throwable t = ERROR.getAndSet(null);
            if (t instanceof RuntimeException r) throw r;
            if (t instanceof Error e) throw e;
            if (t != null) throw new RuntimeException(t);
        } finally {
            BUSY.set(false);
        }
    }

    private static void runChunk(int c) {
        int s = (int) ((long) jobN * c / jobChunks), e = (int) ((long) jobN * (c + 1) / jobChunks);
        try {
            if (s < e) jobBody.run(s, e);
        } catch (Throwable t) {
            ERROR.compareAndSet(null, t);
        }
    }

    private static void awaitWorkers() {
        int spins = 0;
        while (PENDING.get() != 0) {
            if (++spins < 1 << 16) Thread.onSpinWait();
            else if (spins < 1 << 17) Thread.yield();
            else LockSupport.parkNanos(10_000);
        }
    }

    private static final class Worker extends Thread {
        private final int chunk;
        private volatile long seq;        // bumped by the caller to hand over a job
        private volatile boolean sleeping;
        private long seen;

        Worker(int chunk) {
            super("pulmo-cpu-" + chunk);
            this.chunk = chunk;
            setDaemon(true);
        }

        void release() {
            seq = seq + 1;                 // only the BUSY owner writes seq
            if (sleeping) LockSupport.unpark(this);
        }

        @Override public void run() {
            while (true) {
                awaitJob();
                seen = seq;
                runChunk(chunk);
                PENDING.decrementAndGet();
            }
        }

        private void awaitJob() {
            long start = System.nanoTime();
            int spins = 0;
            while (seq == seen) {
                Thread.onSpinWait();
                if ((++spins & 255) == 0 && System.nanoTime() - start > SPIN_NANOS) {
                    sleeping = true;
                    // Re-check after announcing: either release() sees sleeping, or we see the new seq.
                    while (seq == seen) LockSupport.park(this);
                    sleeping = false;
                    return;
                }
            }
        }
    }
}
