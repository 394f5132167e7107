package org.pulmo.cuda;

import org.pulmo.backend.Backend;
import org.pulmo.backend.BackendProvider;
import org.pulmo.tensor.Device;

/** ServiceLoader entry: the CUDA backend when {@link CudaRuntime#probe()} finds driver, device, cuDNN and kernels. */
public final class CudaBackendProvider implements BackendProvider {

    @Override public Device.Kind kind() { return Device.Kind.CUDA; }

    @Override public String unavailableReason(Device device) {
        if (device.kind() != Device.Kind.CUDA) return "not a CUDA device: " + device;
        String why = CudaRuntime.probe();
        if (why == null && device.index() != 0) return "only cuda:0 is supported (CUDA_VISIBLE_DEVICES chooses which GPU is cuda:0)";
        return why;   // said once by whoever falls back (Backends.bestAvailable) or refuses (--device cuda)
    }

    @Override public Backend create(Device device) {
        if (unavailableReason(device) != null) return null;
        return new CudaBackend(device);
    }
}
