package org.pulmo.autograd;

/**
 * Whether operations record a graph for backward. Recording is on by default; inside
 * {@code try (var s = GradMode.noGrad()) { ... }} results carry no graph (evaluation, optimiser updates).
 */
public final class GradMode {
    private static final ThreadLocal<int[]> DISABLED = ThreadLocal.withInitial(() -> new int[1]);

    private GradMode() {}

    public static boolean isEnabled() { return DISABLED.get()[0] == 0; }

    /** A scope with recording switched off; scopes nest. */
    public static Scope noGrad() {
        DISABLED.get()[0]++;
        return new Scope();
    }

    public static final class Scope implements AutoCloseable {
        private boolean closed;

        private Scope() {}

        @Override public void close() {
            if (!closed) { closed = true; DISABLED.get()[0]--; }
        }
    }
}
