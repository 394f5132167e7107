package org.pulmo.benchmarks;

import java.util.function.Supplier;
import org.pulmo.tensor.HostArrays;
import org.pulmo.tensor.MemoryScope;

/**
 * Runs a CPU op in a benchmark the way a training step runs it: its outputs go back to {@code HostArrays}
 * when the call ends and the next call reuses them. Without this, every call of a JMH method takes fresh
 * arrays, and for a 25 MB output the kernel's page faults (and Java's zeroing) cost more than the op:
 * a benchmark would time memory the training loop never allocates.
 */
final class Recycled {
    private Recycled() {}

    /** The op inside its own MemoryScope: the returned tensors are already released (a Blackhole only keeps the reference). */
    static <T> T op(Supplier<T> op) {
        try (MemoryScope ignored = MemoryScope.open()) {
            return op.get();
        }
    }

    /** Gives an output array of a kernel called directly (CpuConv) back to the pool; returns it for the Blackhole. */
    static float[] array(float[] out) {
        HostArrays.giveBack(out);
        return out;
    }
}
