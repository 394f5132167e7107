package org.pulmo.examples;

import org.pulmo.backend.Backends;
import org.pulmo.cuda.CudaBackend;
import org.pulmo.models.Dpn;
import org.pulmo.models.MaNet;
import org.pulmo.models.ResNet;
import org.pulmo.nn.Module;
import org.pulmo.nn.loss.Losses;
import org.pulmo.optim.Sgd;
import org.pulmo.tensor.Device;
import org.pulmo.tensor.MemoryScope;
import org.pulmo.tensor.Rng;
import org.pulmo.tensor.Tensor;

/**
 * Three SGD training steps of DPN-92-SE, MA-Net (ResNet-50, on pairs) and ResNet-50 on {@code cuda:0}, each step in
 * a {@link MemoryScope.Steps} scope as the Trainer runs them, printing the device's in-use bytes after every step:
 * {@code STEP model=NAME step=K inUse=BYTES}. Run by {@link MockGpuLaneTest} in a child JVM whose library path
 * holds the mock CUDA driver, cuDNN and cuBLAS, so the numbers the kernels "compute" are garbage and never read
 * here; what counts is that no call fails (an exception ends the JVM with a non-zero code) and that memory stays
 * flat once the first step has made the gradients and momentum buffers.
 *
 * <p>Arguments: {@code [steps] [imageSize] [batch]}, default 3, 64, 4.
 */
public final class MockGpuSteps {
    private MockGpuSteps() {}

    /** One model's training step: forward and loss on the device batch; returns the scalar to differentiate. */
    private interface Step {
        Tensor loss(Module model, Tensor x, Tensor m, Tensor yX, Tensor yM);
    }

    private static final Step CLASSIFIER = (model, x, m, yX, yM) -> Losses.crossEntropy(model.forward(x), yX);

    /** MA-Net on a pair (x, its mutex image m of the other class), as the Trainer's pair step. */
    private static final Step MANET_PAIR = (model, x, m, yX, yM) -> {
        MaNet net = (MaNet) model;
        return net.loss(net.forwardPair(x, m), yX, yM).total();
    };

    public static void main(String[] args) {
        int steps = args.length > 0 ? Integer.parseInt(args[0]) : 3;
        int size = args.length > 1 ? Integer.parseInt(args[1]) : 64;
        int batch = args.length > 2 ? Integer.parseInt(args[2]) : 4;
        Device dev = Device.cuda(0);
        CudaBackend be = (CudaBackend) Backends.of(dev);
        String only = args.length > 3 ? args[3] : "";   // one model by name, for measuring it alone
        if (only.isEmpty() || only.equals("dpn92-se")) run("dpn92-se", Dpn.dpn92se(4, new Rng(1)), 4, CLASSIFIER, be, steps, size, batch);
        if (only.isEmpty() || only.equals("ma-net-resnet50"))
            run("ma-net-resnet50", MaNet.resnet50(2, MaNet.Options.DEFAULT, new Rng(2)), 2, MANET_PAIR, be, steps, size, batch);
        if (only.isEmpty() || only.equals("resnet50")) run("resnet50", new ResNet(ResNet.RESNET50, 2, new Rng(3)), 2, CLASSIFIER, be, steps, size, batch);
        System.out.println("DONE " + be.memoryStats());
    }

    private static void run(String name, Module model, int classes, Step step, CudaBackend be, int steps, int size, int batch) {
        Device dev = be.device();
        Rng rng = new Rng(7);
        model.to(dev);
        model.train();
        Sgd sgd = Sgd.forModule(model, 0.01f, 0.9f, 1e-4f, false, false);
        float[] labelsX = new float[batch], labelsM = new float[batch];
        for (int i = 0; i < batch; i++) {
            labelsX[i] = i % classes;
            labelsM[i] = (i + 1) % classes;   // the mutex partner is of another class
        }
        MemoryScope.Steps scopes = new MemoryScope.Steps(() -> sgd.trainingState(model));
        for (int k = 1; k <= steps; k++) {
            be.runtime().allocator().resetPeak();
            long forwardPeak;
            try (MemoryScope ignored = scopes.open()) {
                Tensor x = Tensor.randn(rng, batch, 3, size, size).to(dev), m = Tensor.randn(rng, batch, 3, size, size).to(dev);
                Tensor yX = Tensor.of(labelsX, batch).to(dev), yM = Tensor.of(labelsM, batch).to(dev);
                Tensor loss = step.loss(model, x, m, yX, yM);
                loss.item();   // the host read the Trainer makes each step (its value is garbage under the mock)
                forwardPeak = be.memoryStats().peakInUseBytes();
                sgd.zeroGrad();
                loss.backward();
                sgd.step();
            }
            var st = be.memoryStats();
            // reserved: what the driver holds for the allocator (in use + cached), the figure a GPU's memory must fit
            System.out.printf("STEP model=%s step=%d inUse=%d peak=%d reserved=%d forwardPeak=%d%n", name, k, st.inUseBytes(),
                st.peakInUseBytes(), st.reservedBytes(), forwardPeak);
        }
        // Give the model's memory back (weights, buffers, gradients, momentum), so that the next model starts from
        // an empty allocator and the mock sees every block freed once.
        for (Tensor t : sgd.trainingState(model)) if (!t.storage().isReleased()) t.storage().release();
        be.emptyCache();
        System.out.printf("FREED model=%s inUse=%d%n", name, be.memoryStats().inUseBytes());
    }
}
