package org.pulmo.examples;

import org.pulmo.backend.Backends;
import org.pulmo.cuda.CudaBackend;
import org.pulmo.models.Dpn;
import org.pulmo.models.MaNet;
import org.pulmo.models.ResNet;
import org.pulmo.nn.Module;
import org.pulmo.nn.loss.Losses;
import org.pulmo.optim.CapturedStep;
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
 * <p>Each STEP line also gives what the step asked of the device (launches of the hand-written kernels, bytes
 * zero-filled, bytes of tensor storage allocated, synchronisations, copies each way, SGD table uploads so far) and its
 * wall time in parts: the batch's
 * copies, forward, backward, SGD with the scope's end and the closing synchronisation. Nothing inside a step waits
 * for the device, so on a real GPU ({@code benchmarks/gpu-op-profile.sh}) the parts are the host's queueing time and
 * the total is the device's step: the two side by side tell whether the host or the kernels bound it.
 *
 * <p>Arguments: {@code [steps] [imageSize] [batch] [model]}, default 3, 64, 4, all three models.
 *
 * <p>With {@code -Dpulmo.steps.recorded=true} each step is a {@link CapturedStep} instead (the first ordinary, then
 * recorded once and replayed), printing {@code RECORDED model=NAME step=K ms=... launches=... graphLaunches=...}: on the
 * emulated GPU with {@code EMU_NO_COMPUTE=1} (graphs work, nothing is computed) the host's time for an ordinary and a
 * recorded step side by side.
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
        if (Boolean.getBoolean("pulmo.steps.recorded")) {
            recorded(name, model, classes, step, be, steps, size, batch);
            return;
        }
        Device dev = be.device();
        Rng rng = new Rng(7);
        Sgd sgd = trainOn(model, dev);
        float[] labelsX = labels(batch, classes, 0), labelsM = labels(batch, classes, 1);   // the mutex partner: another class
        MemoryScope.Steps scopes = new MemoryScope.Steps(() -> sgd.trainingState(model));
        for (int k = 1; k <= steps; k++) {
            be.runtime().allocator().resetPeak();
            Tensor hostX = Tensor.randn(rng, batch, 3, size, size);
            Tensor hostM = step == MANET_PAIR ? Tensor.randn(rng, batch, 3, size, size) : null;   // the mutex images: MA-Net only
            long forwardPeak, t0 = System.nanoTime();   // the step from here: the batch's copies to the device on
            var before = be.runtime().counters();
            long[] t = new long[4];
            try (MemoryScope ignored = scopes.open()) {
                Tensor x = hostX.to(dev), m = hostM == null ? null : hostM.to(dev);
                Tensor yX = Tensor.of(labelsX, batch), yM = Tensor.of(labelsM, batch);   // the host's, as the Trainer passes them
                t[0] = System.nanoTime();
                Tensor loss = step.loss(model, x, m, yX, yM);   // not read back: the Trainer reads every few steps
                t[1] = System.nanoTime();
                forwardPeak = be.memoryStats().peakInUseBytes();
                if (Boolean.getBoolean("pulmo.cuda.allocationSites") && k == steps) {   // what the forward left for backward
                    System.out.println("LIVE after the forward of step " + k + ", by allocation site (MB):");
                    be.runtime().allocator().liveBySite().entrySet().stream().limit(40)
                        .forEach(e -> System.out.printf(java.util.Locale.ROOT, "  %9.1f  %s%n", e.getValue() / 1e6, e.getKey()));
                }
                sgd.zeroGrad();
                loss.backward();
                t[2] = System.nanoTime();
                sgd.step();
            }
            be.runtime().synchronize();
            t[3] = System.nanoTime();
            var c = be.runtime().counters().minus(before);
            var st = be.memoryStats();
            // reserved: what the driver holds for the allocator (in use + cached), the figure a GPU's memory must fit;
            // ms: the step's wall time in parts (copies of the batch, forward with the loss read, backward, SGD and the
            // scope's end), and the host's requests of the device; under the mock driver that is the Java side alone
            System.out.printf(java.util.Locale.ROOT, "STEP model=%s step=%d inUse=%d peak=%d reserved=%d forwardPeak=%d ms=%.1f"
                + " (copy %.1f, forward %.1f, backward %.1f, sgd %.1f) launches=%d zeroFillMB=%d tensorMB=%d syncs=%d toDevice=%d toHost=%d sgdTables=%d%n", name, k,
                st.inUseBytes(), st.peakInUseBytes(), st.reservedBytes(), forwardPeak, (t[3] - t0) / 1e6, (t[0] - t0) / 1e6,
                (t[1] - t[0]) / 1e6, (t[2] - t[1]) / 1e6, (t[3] - t[2]) / 1e6, c.launches(), c.zeroFilledBytes() >> 20, c.tensorBytes() / 1_000_000, c.syncs(), c.copiesToDevice(), c.copiesToHost(),
                be.sgdTableUploads());
        }
        // Give the model's memory back (weights, buffers, gradients, momentum), so that the next model starts from
        // an empty allocator and the mock sees every block freed once.
        for (Tensor t : sgd.trainingState(model)) if (!t.storage().isReleased()) t.storage().release();
        be.emptyCache();
        System.out.printf("FREED model=%s inUse=%d%n", name, be.memoryStats().inUseBytes());
    }

    /** The model on {@code dev} in training mode, and its optimiser (the Trainer's settings). */
    private static Sgd trainOn(Module model, Device dev) {
        model.to(dev);
        model.train();
        return Sgd.forModule(model, 0.01f, 0.9f, 1e-4f, false, false);
    }

    /** Labels (i + shift) mod classes for a batch. */
    private static float[] labels(int batch, int classes, int shift) {
        float[] y = new float[batch];
        for (int i = 0; i < batch; i++) y[i] = (i + shift) % classes;
        return y;
    }

    /** The same steps through a {@link CapturedStep}: the host's time per step, the wait for the device included. */
    private static void recorded(String name, Module model, int classes, Step step, CudaBackend be, int steps, int size, int batch) {
        Device dev = be.device();
        Rng rng = new Rng(7);
        Sgd sgd = trainOn(model, dev);
        float[] labelsX = labels(batch, classes, 0), labelsM = labels(batch, classes, 1);
        Tensor yX = Tensor.of(labelsX, batch), yM = Tensor.of(labelsM, batch);
        int[] image = {batch, 3, size, size}, labels = {batch};
        boolean pairs = step == MANET_PAIR;   // the classifiers take no mutex batch: one image copy per step, as the Trainer
        try (CapturedStep cs = new CapturedStep(dev, sgd, new MemoryScope.Steps(() -> sgd.trainingState(model)), 1, in -> {
            Tensor loss = pairs ? step.loss(model, in[0], in[1], in[2], in[3]) : step.loss(model, in[0], null, in[1], null);
            sgd.zeroGrad();
            loss.backward();
            sgd.step();
            return new Tensor[] {loss.detach()};
        }, pairs ? new int[][] {image, image, labels, labels} : new int[][] {image, labels})) {
            Tensor hostX = Tensor.randn(rng, image), hostM = Tensor.randn(rng, image);
            for (int k = 1; k <= steps; k++) {
                // the batch's copies alone, as the step makes them (under the mock a host memcpy, nothing like a GPU's)
                long c0 = System.nanoTime();
                try (MemoryScope ignored = MemoryScope.open()) {
                    hostX.to(dev);
                    if (pairs) hostM.to(dev);
                }
                be.runtime().synchronize();
                long copyNanos = System.nanoTime() - c0;
                var before = be.runtime().counters();
                long t0 = System.nanoTime();
                if (pairs) cs.step(hostX, hostM, yX, yM);
                else cs.step(hostX, yX);
                be.runtime().synchronize();
                var c = be.runtime().counters().minus(before);
                System.out.printf(java.util.Locale.ROOT, "RECORDED model=%s step=%d ms=%.2f (copies alone %.2f) launches=%d graphLaunches=%d recording=%s%n",
                    name, k, (System.nanoTime() - t0) / 1e6, copyNanos / 1e6, c.launches(), c.graphLaunches(),
                    cs.recording() ? "yes" : "no: " + cs.whyNotRecorded());
            }
        }
        for (Tensor t : sgd.trainingState(model)) if (!t.storage().isReleased()) t.storage().release();
        be.emptyCache();
    }
}
