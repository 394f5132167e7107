package org.pulmo.benchmarks;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import org.pulmo.backend.Backend;

/**
 * A backend whose fused ops are {@link Backend}'s composed defaults: every default method (mutex attention,
 * channel scale, FAB fusion, ...) runs the interface's own composition of primitive ops, and every primitive
 * goes to {@code be}. What a backend without fused kernels runs; the baseline the fused versions are timed against.
 */
final class ComposedBackend {
    private ComposedBackend() {}

    static Backend of(Backend be) {
        return (Backend) Proxy.newProxyInstance(Backend.class.getClassLoader(), new Class<?>[] {Backend.class},
            (InvocationHandler) (p, m, args) -> {
                try {
                    return m.isDefault() ? InvocationHandler.invokeDefault(p, m, args) : m.invoke(be, args);
                } catch (InvocationTargetException e) {
                    throw e.getCause();
                }
            });
    }
}
