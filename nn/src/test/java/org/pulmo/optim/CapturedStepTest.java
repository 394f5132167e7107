package org.pulmo.optim;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.pulmo.nn.Linear;
import org.pulmo.nn.Module;
import org.pulmo.nn.ReLU;
import org.pulmo.nn.Sequential;
import org.pulmo.nn.loss.Losses;
import org.pulmo.tensor.Device;
import org.pulmo.tensor.MemoryScope;
import org.pulmo.tensor.Rng;
import org.pulmo.tensor.Tensor;

/**
 * {@link CapturedStep} where nothing can be recorded (the CPU): every step runs its body as ordinary code, with the
 * same result as the plain training loop, and the class's checks hold. Recording itself is tested on a GPU (and the
 * emulated one) by cuda-kernels' CudaGraphTest.
 */
class CapturedStepTest {

    private static Module model() {
        Rng rng = new Rng(3);
        return new Sequential(new Linear(6, 8, rng), new ReLU(), new Linear(8, 3, rng));
    }

    @Test void onTheCpuStepsRunAsTheOrdinaryLoopDoes() {
        Rng data = new Rng(9);
        Tensor[] xs = new Tensor[4], ys = new Tensor[4];
        for (int k = 0; k < 4; k++) {
            xs[k] = Tensor.randn(data, 5, 6);
            ys[k] = Tensor.of(new float[] {0, 1, 2, (k + 1) % 3, k % 3}, 5);
        }
        Module plain = model();
        Sgd sgdP = Sgd.forModule(plain, 0.1f, 0.9f, 1e-3f, false, false);
        MemoryScope.Steps scopes = new MemoryScope.Steps(() -> sgdP.trainingState(plain));
        float[] lossP = new float[4];
        for (int k = 0; k < 4; k++) {
            if (k == 2) sgdP.setLr(0.05f);
            try (MemoryScope ignored = scopes.open()) {
                sgdP.zeroGrad();
                Tensor loss = Losses.crossEntropy(plain.forward(xs[k]), ys[k]);
                loss.backward();
                sgdP.step();
                lossP[k] = loss.item();
            }
        }
        Module stepped = model();
        Sgd sgdC = Sgd.forModule(stepped, 0.1f, 0.9f, 1e-3f, false, false);
        float[] lossC = new float[4];
        try (CapturedStep step = new CapturedStep(Device.CPU, sgdC, new MemoryScope.Steps(() -> sgdC.trainingState(stepped)), 1, in -> {
            sgdC.zeroGrad();
            Tensor loss = Losses.crossEntropy(stepped.forward(in[0]), in[1]);
            loss.backward();
            sgdC.step();
            return new Tensor[] {loss.detach()};
        }, new int[] {5, 6}, new int[] {5})) {
            assertFalse(step.recording());
            assertTrue(step.whyNotRecorded().contains("cpu"), step.whyNotRecorded());
            for (int k = 0; k < 4; k++) {
                if (k == 2) sgdC.setLr(0.05f);
                lossC[k] = step.step(xs[k], ys[k])[0].item();
            }
            assertEquals(0, step.recordings());
        }
        assertArrayEquals(lossP, lossC, "the same losses, step for step");
        for (var e : plain.stateDict().entrySet())
            assertArrayEquals(e.getValue().toArray(), stepped.stateDict().get(e.getKey()).toArray(), e.getKey());
    }

    @Test void wrongInputsAndMisuseAreRefusedWithTheReason() {
        Module m = model();
        Sgd sgd = Sgd.forModule(m, 0.1f, 0.9f, 0f, false, false);
        MemoryScope.Steps scopes = new MemoryScope.Steps(() -> sgd.trainingState(m));
        java.util.function.Function<Tensor[], Tensor[]> body = in -> new Tensor[] {m.forward(in[0]).sum()};
        IllegalArgumentException none = assertThrows(IllegalArgumentException.class,
            () -> new CapturedStep(Device.CPU, sgd, scopes, 0, body, new int[] {5, 6}));
        assertTrue(none.getMessage().contains("eagerSteps"), none.getMessage());
        try (CapturedStep step = new CapturedStep(Device.CPU, sgd, scopes, 1, body, new int[] {5, 6})) {
            IllegalArgumentException shape = assertThrows(IllegalArgumentException.class, () -> step.step(Tensor.zeros(4, 6)));
            assertTrue(shape.getMessage().contains("[4, 6]") && shape.getMessage().contains("[5, 6]"), shape.getMessage());
            assertThrows(IllegalArgumentException.class, () -> step.step(Tensor.zeros(5, 6), Tensor.zeros(5)), "one input too many");
            try (MemoryScope ignored = MemoryScope.open()) {
                IllegalStateException inScope = assertThrows(IllegalStateException.class, () -> step.step(Tensor.zeros(5, 6)));
                assertTrue(inScope.getMessage().contains("MemoryScope"), inScope.getMessage());
            }
        }
        // the labels a recorded step's loop checks on the host, as cross-entropy does where it can read them
        IllegalArgumentException label = assertThrows(IllegalArgumentException.class,
            () -> org.pulmo.nn.loss.Losses.checkLabels("batch 7", new float[] {0, 2, 3}, 3));
        assertTrue(label.getMessage().contains("batch 7: label 3.0 at position 2"), label.getMessage());
        assertThrows(IllegalArgumentException.class, () -> org.pulmo.nn.loss.Losses.checkLabels("batch", new float[] {0.5f}, 3));
        org.pulmo.nn.loss.Losses.checkLabels("batch", new float[] {0, 1, 2}, 3);
    }
}
