package org.pulmo.autograd;

/**
 * Whether operations record a graph for backward. Recording is on by default; inside
 * {@code try (var s = GradMode.noGrad()) { ... }} results carry no graph (evaluation, optimiser updates).
 *
 * <p>The mode belongs to the thread: a scope opened on one thread leaves work done on other threads (a parallel
 * stream's, an executor's) recording as before; open a scope in each of them. Closing a scope gives recording back to
 * the thread that opened it.
 */
public final class GradMode {
    private static final ThreadLocal<int[]> DISABLED = ThreadLocal.withInitial(() -> new int[1]);

    private GradMode() {}

    public static boolean isEnabled() { return DISABLED.get()[0] == 0; }

    /** A scope with recording switched off; scopes nest. */
    public static Scope noGrad() {
        int[] count = DISABLED.get();
        count[0]++;
        return new Scope(count);
    }

    public static final class Scope implements AutoCloseable {
        private final int[] count;   // the opening thread's
        private boolean closed;

        private Scope(int[] count) { this.count = count; }

        @Override public void close() {
            if (!closed) { closed = true; count[0]--; }
        }
    }
}
