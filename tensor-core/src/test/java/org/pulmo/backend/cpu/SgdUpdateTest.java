package org.pulmo.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.Proxy;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.pulmo.backend.Backend;
import org.pulmo.tensor.Rng;
import org.pulmo.tensor.Tensor;

/** The CPU's fused SGD step gives bit for bit what the interface's composed default gives. */
class SgdUpdateTest {
    private final Backend cpu = new CpuBackend();

    /** The CPU backend with every default method of Backend left as the interface wrote it. */
    private final Backend composed = (Backend) Proxy.newProxyInstance(Backend.class.getClassLoader(), new Class<?>[] {Backend.class},
        (InvocationHandler) (proxy, m, args) -> m.isDefault() ? InvocationHandler.invokeDefault(proxy, m, args) : m.invoke(cpu, args));

    @Test void fusedEqualsComposedForEveryOption() {
        for (float wd : new float[] {0f, 1e-2f})
            for (float momentum : new float[] {0f, 0.9f})
                for (float dampening : new float[] {0f, 0.25f})
                    for (boolean nesterov : new boolean[] {false, true})
                        for (boolean first : new boolean[] {true, false}) {
                            if (nesterov && (momentum == 0f || dampening != 0f)) continue;
                            String what = "wd " + wd + " momentum " + momentum + " dampening " + dampening + " nesterov " + nesterov + " first " + first;
                            Tensor[] a = state(), b = state();
                            cpu.sgdUpdate(a[0], a[1], a[2], first, 0.1f, momentum, dampening, wd, nesterov);
                            composed.sgdUpdate(b[0], b[1], b[2], first, 0.1f, momentum, dampening, wd, nesterov);
                            assertArrayEquals(b[0].toArray(), a[0].toArray(), "parameter, " + what);
                            assertArrayEquals(b[2].toArray(), a[2].toArray(), "momentum buffer, " + what);
                            assertNotEquals(Arrays.toString(state()[0].toArray()), Arrays.toString(a[0].toArray()), "the step changed nothing, " + what);
                        }
    }

    @Test void nonContiguousParametersTakeTheComposedPath() {
        Tensor[] a = state(), b = state();
        Tensor pa = a[0].transpose(0, 1), ga = a[1].transpose(0, 1), ba = a[2].transpose(0, 1);
        cpu.sgdUpdate(pa, ga, ba, false, 0.1f, 0.9f, 0f, 1e-2f, false);
        composed.sgdUpdate(b[0].transpose(0, 1), b[1].transpose(0, 1), b[2].transpose(0, 1), false, 0.1f, 0.9f, 0f, 1e-2f, false);
        assertArrayEquals(b[0].toArray(), a[0].toArray());
    }

    /** {parameter, gradient, momentum buffer}, the same values on every call. */
    private static Tensor[] state() {
        Rng rng = new Rng(11);
        return new Tensor[] {Tensor.randn(rng, 37, 41), Tensor.randn(rng, 37, 41), Tensor.randn(rng, 37, 41)};
    }
}
