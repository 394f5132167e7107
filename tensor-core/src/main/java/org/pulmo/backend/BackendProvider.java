package org.pulmo.backend;

import org.pulmo.tensor.Device;

/**
 * A service (java.util.ServiceLoader, {@code META-INF/services/org.pulmo.backend.BackendProvider}) that supplies
 * the backend of one kind of device. Every backend comes this way, the CPU's included
 * ({@link org.pulmo.backend.cpu.CpuBackendProvider} in tensor-core, the CUDA backend's in cuda-kernels), so that
 * {@link Backends} names no implementation and the CPU kernels depend on this package, never the reverse.
 */
public interface BackendProvider {

    /** The kind of device this provider serves; {@link Backends} asks only the providers of a device's kind. */
    Device.Kind kind();

    /** Null when the device is usable, else a short reason (no driver, no device, cuDNN missing, ...). */
    String unavailableReason(Device device);

    /** The backend of {@code device}, or null if this provider does not serve it. */
    Backend create(Device device);
}
