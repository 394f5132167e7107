package org.pulmo.backend.cpu;

import org.pulmo.backend.Backend;
import org.pulmo.backend.BackendProvider;
import org.pulmo.tensor.Device;

/** ServiceLoader entry of the CPU backend: always usable, one {@link CpuBackend} per JVM (it holds no state). */
public final class CpuBackendProvider implements BackendProvider {

    @Override public Device.Kind kind() { return Device.Kind.CPU; }

    @Override public String unavailableReason(Device device) { return device.isCpu() ? null : "not the CPU: " + device; }

    @Override public Backend create(Device device) { return device.isCpu() ? new CpuBackend() : null; }
}
