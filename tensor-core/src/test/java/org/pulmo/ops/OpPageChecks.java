package org.pulmo.ops;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import org.pulmo.backend.Backend;
import org.pulmo.backend.Backends;
import org.pulmo.tensor.Tensor;

/** What the op pages' tests share: the composed defaults as a backend, and |expected - actual| <= atol + rtol |expected|. */
final class OpPageChecks {
    private OpPageChecks() {}

    /**
     * The CPU backend with every default method left as the interface composes it (no fused overrides): the
     * execution path of a backend without fused kernels, tested against the same references as the fused loops.
     */
    static final Backend COMPOSED = (Backend) Proxy.newProxyInstance(Backend.class.getClassLoader(), new Class<?>[] {Backend.class},
        (InvocationHandler) (p, m, args) -> {
            try {
                return m.isDefault() ? InvocationHandler.invokeDefault(p, m, args) : m.invoke(Backends.cpu(), args);
            } catch (InvocationTargetException e) {
                throw e.getCause();
            }
        });

    static Tensor leaf(Tensor t) { return t.requiresGrad(true); }

    static void close(Tensor expected, Tensor actual, double atol, double rtol, String what) {
        assertArrayEquals(expected.shape(), actual.shape(), what + ": shape");
        close(expected.toArray(), actual, atol, rtol, what);
    }

    /** A reference's row-major values against a tensor's. */
    static void close(float[] expected, Tensor actual, double atol, double rtol, String what) {
        close(expected, actual.toArray(), atol, rtol, what);
    }

    static void close(float[] e, float[] a, double atol, double rtol, String what) {
        assertEquals(e.length, a.length, what + ": length");
        for (int i = 0; i < e.length; i++)
            if (!(Math.abs(e[i] - a[i]) <= atol + rtol * Math.abs(e[i])))
                throw new AssertionError(what + ": first mismatch at " + i + ": expected " + e[i] + ", actual " + a[i]);
    }

    static double dot(float[] x, float[] y) {
        double s = 0;
        for (int i = 0; i < x.length; i++) s += (double) x[i] * y[i];
        return s;
    }
}
