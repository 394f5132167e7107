package org.pulmo.tensor;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;

/**
 * Float arrays for CPU tensors, reused from one training step to the next.
 *
 * <p><b>Why.</b> A ResNet-50 step at batch 8, 224x224 creates about 700 MB of activations and gradients,
 * arrays of up to 25 MB each. A fresh {@code new float[n]} of that size is a humongous object the heap
 * often has to commit again: the kernel faults its pages in one 4 KiB page at a time (about 110 000 page
 * faults, 0.27 s of system time per step on the 2-core reference host, 15 % of the step), then Java zeroes
 * it, and only then does the op write its result. A step creates the same sizes as the one before, so the
 * arrays it gave back are exactly the ones the next step needs.
 *
 * <p><b>How.</b> Backend ops take their output arrays here ({@link #zeroed}, {@link #uninitialized}) and
 * wrap them in a pooled {@link CpuStorage}, which registers with the open {@link MemoryScope} exactly as a
 * device storage does. When a training step's scope closes, the storages it does not keep are released and
 * their arrays come back here ({@link #giveBack}); using such a tensor afterwards throws. Outside a scope
 * nothing is ever given back and the garbage collector reclaims arrays as before.
 *
 * <p><b>Bounds.</b> An array that waits through a whole step after the one it came back in without being asked for
 * (the shapes changed: a smaller last batch, evaluation at another size) is dropped for the garbage collector
 * ({@link #endStep}; with several training loops at once, counted in the steps of all of them), and the pool never holds more than {@code pulmo.cpu.poolMiB} (default: 7/8 of the maximum
 * heap). When the heap cannot hold a new array, the pool is emptied and the allocation tried once more, so
 * pooled arrays never cause an OutOfMemoryError that the same run without the pool would not have had. The cap is
 * high on purpose: a step needs all of its arrays again, and with a cap below its working set (it was half the
 * heap) DPN-92-SE at batch 8, 224 x 224 (about 4.5 GB of arrays) dropped the excess every step and allocated it
 * afresh, which cost 10 % of its step time and let the heap grow to hold the garbage (benchmarks/RESULTS.md).
 * Thread-safe; ops take arrays on the calling thread, a few hundred per step.
 */
public final class HostArrays {
    private HostArrays() {}

    private static final long CAP_BYTES = Long.getLong("pulmo.cpu.poolMiB", Runtime.getRuntime().maxMemory() / 8 * 7 >> 20) << 20;

    /** One pooled array and the step count when it came back. */
    private record Entry(float[] array, long step) {}

    private static final Map<Integer, ArrayDeque<Entry>> FREE = new HashMap<>();
    private static long pooledBytes, step, reused, created;

    /** An array of {@code n} zeros: from the pool, zero-filled, when one of that length waits there. */
    public static float[] zeroed(int n) {
        float[] a = take(n);
        if (a == null) return fresh(n);
        java.util.Arrays.fill(a, 0f);
        return a;
    }

    /** An array of {@code n} floats with arbitrary contents, for an op that writes every element. */
    public static float[] uninitialized(int n) {
        float[] a = take(n);
        return a != null ? a : fresh(n);
    }

    private static float[] fresh(int n) {
        synchronized (FREE) { created++; }
        // The pool may hold the memory this needs (arrays of other sizes, from a batch or image size no longer in
        // use): withRoom hands all of it to the garbage collector and tries once more before giving up.
        return withRoom(() -> new float[n]);
    }

    /**
     * {@code allocate}'s result, for a large allocation outside the pool (a checkpoint's bytes): where the heap cannot
     * hold it, the pool is emptied and it is tried once more, as the pool's own arrays are.
     */
    public static <T> T withRoom(java.util.function.Supplier<T> allocate) {
        try {
            return allocate.get();
        } catch (OutOfMemoryError e) {
            if (clear() == 0) throw e;
            return allocate.get();
        }
    }

    /** Drops every pooled array for the garbage collector; returns the bytes dropped. */
    public static long clear() {
        synchronized (FREE) {
            long dropped = pooledBytes;
            FREE.clear();
            pooledBytes = 0;
            return dropped;
        }
    }

    private static float[] take(int n) {
        synchronized (FREE) {
            ArrayDeque<Entry> q = FREE.get(n);
            if (q == null || q.isEmpty()) return null;
            Entry e = q.pollLast(); // the most recently returned: likeliest still in cache
            pooledBytes -= 4L * n;
            reused++;
            return e.array();
        }
    }

    /**
     * Takes back an array no tensor uses any more: a released pooled storage's, or an output a caller of a
     * kernel (CpuConv) is done with. The caller must not touch it afterwards.
     */
    public static void giveBack(float[] a) {
        synchronized (FREE) {
            if (pooledBytes + 4L * a.length > CAP_BYTES) return; // over the cap: the GC takes it
            FREE.computeIfAbsent(a.length, k -> new ArrayDeque<>()).addLast(new Entry(a, step));
            pooledBytes += 4L * a.length;
        }
    }

    /** The loops ({@link MemoryScope.Steps}) that ended the last {@code RECENT.length} steps, most recent at {@code step % length}. */
    private static final long[] RECENT = new long[16];

    /**
     * Called when a step of training loop {@code loop} ends: drops the arrays that no step asked for since the one
     * before. Where k loops run at once in this JVM (two trainings on two threads), their steps interleave and each
     * loop's step spans k of these calls; an array then waits 2k - 1 calls (one loop: the step it came back in and the
     * next), which gives every loop its next step to ask for it where the loops take turns. Counted in calls alone, an
     * array a loop gave back was dropped before that loop came round again: 912 arrays made afresh a round of two loops
     * against 142. A loop several times faster than another still ends enough steps to expire the slow one's arrays
     * (they are then made afresh, as before); a loop that has finished counts for its last 16 step ends.
     */
    static void endStep(long loop) {
        synchronized (FREE) {
            step++;
            RECENT[(int) (step % RECENT.length)] = loop;
            int loops = (int) java.util.Arrays.stream(RECENT).filter(id -> id != 0).distinct().count();
            long oldest = step - (2L * loops - 1);   // one loop: kept if it came back in the step just ended
            for (Iterator<ArrayDeque<Entry>> it = FREE.values().iterator(); it.hasNext(); ) {
                ArrayDeque<Entry> q = it.next();
                while (!q.isEmpty() && q.peekFirst().step() < oldest) pooledBytes -= 4L * q.pollFirst().array().length;
                if (q.isEmpty()) it.remove();
            }
        }
    }

    /** Bytes waiting in the pool now. */
    public static long pooledBytes() { synchronized (FREE) { return pooledBytes; } }

    /** Arrays handed out from the pool and arrays newly created since the JVM started (for tests and logs). */
    public static long[] counts() { synchronized (FREE) { return new long[] {reused, created}; } }
}
