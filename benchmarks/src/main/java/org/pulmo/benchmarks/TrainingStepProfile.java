package org.pulmo.benchmarks;

import java.util.Locale;
import org.pulmo.backend.Backends;
import org.pulmo.backend.ProfilingBackend;
import org.pulmo.models.ModelRegistry;
import org.pulmo.nn.Module;
import org.pulmo.nn.loss.Losses;
import org.pulmo.optim.Sgd;
import org.pulmo.tensor.Rng;
import org.pulmo.tensor.Tensor;

/**
 * Where a CPU training step spends its time: trains a registered model for a few SGD steps on random data
 * and prints images/s and the share of each backend method (conv2d, batchNormBackward, binary, ...).
 * Answers whether elementwise ops, batch norm and pooling, rather than GEMM and convolution, bound the step.
 *
 * <p>{@code java --add-modules jdk.incubator.vector -cp benchmarks/target/benchmarks.jar
 * org.pulmo.benchmarks.TrainingStepProfile [model] [batch] [size] [steps] [warm-up steps]} (default resnet50 4 112 3 1).
 * Ops called once per step (the stem's max-pool) are still partly interpreted or C1-compiled after one
 * warm-up step; the Vector API code in them is very slow until C2 compiles it, so more warm-up steps show
 * the steady state of a long training run.
 */
public final class TrainingStepProfile {
    private TrainingStepProfile() {}

    public static void main(String[] args) {
        String name = args.length > 0 ? args[0] : "resnet50";
        int batch = args.length > 1 ? Integer.parseInt(args[1]) : 4;
        int size = args.length > 2 ? Integer.parseInt(args[2]) : 112;
        int steps = args.length > 3 ? Integer.parseInt(args[3]) : 3;
        int warmup = args.length > 4 ? Integer.parseInt(args[4]) : 1;
        int classes = 4;
        Module model = ModelRegistry.create(name, classes, size, 1L);
        model.train();
        Sgd sgd = Sgd.forModule(model, 0.01f, 0.9f, 1e-4f, false, false);
        Rng rng = new Rng(3);
        Tensor x = Tensor.randn(rng, batch, 3, size, size);
        float[] y = new float[batch];
        for (int i = 0; i < batch; i++) y[i] = i % classes;
        Tensor labels = Tensor.of(y, batch);
        for (int s = 0; s < warmup; s++) step(model, sgd, x, labels); // warm-up: JIT and first-touch allocation
        ProfilingBackend profile = Backends.startCpuProfile();
        long t0 = System.nanoTime();
        for (int s = 0; s < steps; s++) step(model, sgd, x, labels);
        double secs = (System.nanoTime() - t0) / 1e9;
        Backends.stopCpuProfile();
        System.out.printf(Locale.ROOT, "%s, batch %d, %dx%d, %d steps after %d warm-up on %d threads: %.3f s/step, %.2f images/s%n",
            name, batch, size, size, steps, warmup, Runtime.getRuntime().availableProcessors(), secs / steps, batch * steps / secs);
        System.out.print(profile.table());
        System.out.printf(Locale.ROOT, "outside backend calls (graph, optimiser bookkeeping, allocation): %.1f ms%n",
            secs * 1e3 - profile.entries().stream().mapToLong(ProfilingBackend.Entry::nanos).sum() / 1e6);
    }

    private static void step(Module model, Sgd sgd, Tensor x, Tensor labels) {
        Tensor loss = Losses.crossEntropy(model.forward(x), labels);
        sgd.zeroGrad();
        loss.backward();
        sgd.step();
    }
}
