package org.pulmo.examples;

import org.pulmo.backend.Backends;
import org.pulmo.backend.Conv2dParams;
import org.pulmo.cuda.CudaBackend;
import org.pulmo.cuda.CudaRuntime;
import org.pulmo.tensor.Device;
import org.pulmo.tensor.Tensor;

/**
 * Run by {@link MockGpuLaneTest} in a child JVM whose library path holds the mock driver but no cuDNN. Prints
 * {@code PROBE <reason>}; with {@code -Dpulmo.cuda.allowWithoutCudnn=true} it then starts the backend, runs a few
 * hand-written kernels (elementwise, batch norm on its kernel path) and prints {@code KERNELS RAN}, then asks for a
 * convolution and prints {@code CONV REFUSED <message>}. Exits non-zero on anything else.
 */
public final class MockGpuWithoutCudnn {
    private MockGpuWithoutCudnn() {}

    public static void main(String[] args) {
        System.out.println("PROBE " + CudaRuntime.probe());
        System.out.println("CUDNN " + CudaRuntime.cudnnReason());
        if (!CudaRuntime.WITHOUT_CUDNN_ALLOWED) return;
        CudaBackend be = (CudaBackend) Backends.of(Device.cuda(0));
        Tensor x = Tensor.of(new float[] {1, 2, 3, 4, 5, 6, 7, 8}, 2, 1, 2, 2).to(be.device());
        x.add(x).toArray();
        be.batchNormTraining(x, null, null, null, null, 0.1f, 1e-5f);
        System.out.println("KERNELS RAN " + be.hasCudnn());
        try {
            be.conv2d(x, Tensor.zeros(1, 1, 1, 1).to(be.device()), new Conv2dParams(1, 1, 0, 0, 1, 1, 1));
            System.out.println("CONV RAN");
            System.exit(3);
        } catch (RuntimeException e) {
            System.out.println("CONV REFUSED " + e.getMessage());
        }
    }
}
