package org.pulmo.backend;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.util.ServiceLoader;
import org.junit.jupiter.api.Test;
import org.pulmo.backend.cpu.CpuBackend;
import org.pulmo.backend.cpu.CpuBackendProvider;
import org.pulmo.tensor.Device;

/** The CPU backend comes through the same provider mechanism as every other backend. */
class BackendsTest {

    @Test void theCpuBackendIsFoundThroughItsProvider() {
        long cpuProviders = ServiceLoader.load(BackendProvider.class).stream()
            .filter(p -> p.type() == CpuBackendProvider.class).count();
        assertEquals(1, cpuProviders, "tensor-core registers exactly one CPU provider");
        assertInstanceOf(CpuBackend.class, Backends.cpu());
        assertSame(Backends.cpu(), Backends.of(Device.CPU));
        assertNull(Backends.unavailableReason(Device.CPU));
    }

    @Test void withoutACudaProviderCudaIsUnavailableWithAReason() {
        // tensor-core's tests have no cuda-kernels on the class path; the CPU provider does not answer for CUDA
        assertEquals("no CUDA backend on the class path", Backends.unavailableReason(Device.cuda(0)));
        assertEquals(Device.CPU, Backends.bestAvailable());
    }
}
