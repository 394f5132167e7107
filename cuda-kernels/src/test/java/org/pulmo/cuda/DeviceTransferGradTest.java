package org.pulmo.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.pulmo.tensor.Device;
import org.pulmo.tensor.Tensor;

/** Gradients flow back through {@code to(device)} in both directions, landing on the device of the leaf. */
@Tag("gpu")
class DeviceTransferGradTest {

    @Test void backwardThroughToCudaAndBack() {
        String why = CudaRuntime.probe();
        Assumptions.assumeTrue(why == null, () -> "no usable GPU: " + why);
        Tensor x = Tensor.of(new float[] {1, -2, 3, 0.5f}, 2, 2).requiresGrad(true);            // a CPU leaf
        Tensor y = x.to(Device.cuda(0)).square().mul(3f).to(Device.CPU).sum();                   // sum 3 x^2
        y.backward();
        assertEquals(Device.CPU, x.grad().device());
        assertArrayEquals(new float[] {6, -12, 18, 3}, x.grad().toArray(), 1e-6f);               // 6 x

        Tensor w = Tensor.of(new float[] {2, 4}, 2).to(Device.cuda(0)).requiresGrad(true);       // a GPU leaf
        w.to(Device.CPU).mul(Tensor.of(new float[] {5, 7}, 2)).sum().backward();
        assertEquals(Device.cuda(0), w.grad().device());
        assertArrayEquals(new float[] {5, 7}, w.grad().toArray(), 0f);
    }
}
