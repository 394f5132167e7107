package org.pulmo.benchmarks;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.Map;
import org.pulmo.io.Checkpoint;
import org.pulmo.models.ModelRegistry;
import org.pulmo.nn.Module;
import org.pulmo.nn.loss.Losses;
import org.pulmo.optim.Sgd;
import org.pulmo.tensor.Rng;
import org.pulmo.tensor.Tensor;

/**
 * How long the training loop stands still for its end-of-epoch checkpoints: {@code last} every epoch and {@code best}
 * when it improved (every other epoch here), the model's weights and momentum buffers, each file fsync'd. Both ways,
 * alternating: {@link Checkpoint#saveEpoch} on the training thread, and {@link Checkpoint.Writer}, which encodes on the
 * training thread and writes while the next epoch trains. An epoch's training is stood in for by a sleep of
 * {@code TRAIN_MS} (on a GPU the host thread mostly waits for the device; the papers' X-ray epochs of DPN-92-SE take
 * about a second on the H200), so the writer thread has a core to itself, as it would there.
 *
 * <pre>java -cp benchmarks/target/benchmarks.jar org.pulmo.benchmarks.CheckpointWriteBench MODEL [EPOCHS] [TRAIN_MS] [DIR]</pre>
 * Prints, per way, the median and the largest time the loop was held per epoch, and the wall time per epoch.
 */
public final class CheckpointWriteBench {
    static final String USAGE = "usage: CheckpointWriteBench [MODEL [EPOCHS [TRAIN_MS [DIR]]]] (default resnet50 8 1000 and the temporary folder)";

    public static void main(String[] args) {
        if (Mains.asksHelp(args)) {
            System.out.println(USAGE);
            return;
        }
        Mains.run("CheckpointWriteBench", () -> measure(args));
    }

    private static void measure(String[] args) throws Exception {
        if (args.length > 4) throw Mains.refuse("at most 4 arguments, got " + args.length + "; " + USAGE);
        String model = args.length > 0 ? args[0] : "resnet50";
        int epochs = args.length > 1 ? Mains.wholeNumber("EPOCHS", args[1], 1) : 8;
        long trainMs = args.length > 2 ? Mains.wholeNumber("TRAIN_MS", args[2], 0) : 1000;
        if (!ModelRegistry.names().contains(model)) throw Mains.refuse("unknown model '" + model + "'; models: " + String.join(", ", ModelRegistry.names()));
        Path parent = args.length > 3 ? Path.of(args[3]) : Path.of(System.getProperty("java.io.tmpdir"));
        if (!Files.isDirectory(parent)) throw Mains.refuse("DIR " + parent + " is not a folder");
        Module net = ModelRegistry.create(model, ModelRegistry.entry(model).defaultClasses(), 32, 1L);
        Sgd sgd = Sgd.forModule(net, 0.01f, 0.9f, 1e-4f, false, false);
        // one step at 32 x 32 makes every momentum buffer (their size does not depend on the image size)
        int min = Math.max(32, ModelRegistry.entry(model).minSize());
        Tensor x = Tensor.randn(new Rng(1), 2, 3, min, min);
        Losses.crossEntropy(net.forward(x), Tensor.of(new float[] {0, 1}, 2)).backward();
        sgd.step();
        long bytes = 0;
        for (Tensor t : net.stateDict().values()) bytes += 4 * t.numel();
        for (Tensor t : sgd.stateDict().values()) bytes += 4 * t.numel();
        Path dir = Files.createTempDirectory(parent, "ckpt-bench");
        try {
            System.out.printf(Locale.ROOT, "%s: %.0f MB a checkpoint (weights, buffers, momentum), %d epochs of %d ms each way, files in %s%n",
                model, bytes / 1e6, epochs, trainMs, dir);
            for (int round = 0; round < 2; round++) {
                for (boolean background : new boolean[] {false, true}) {
                    double[] held = new double[epochs];
                    long t0 = System.nanoTime();
                    try (Checkpoint.Writer writer = new Checkpoint.Writer()) {
                        for (int e = 1; e <= epochs; e++) {
                            Thread.sleep(trainMs);                     // the epoch's training
                            int best = e - (e + 1) % 2;                // improved on odd epochs
                            long h = System.nanoTime();
                            if (background) writer.saveEpoch(dir.resolve("last.safetensors"), dir.resolve("best.safetensors"), best, net, sgd, e, e, Map.of(), Map.of());
                            else Checkpoint.saveEpoch(dir.resolve("last.safetensors"), dir.resolve("best.safetensors"), best, net, sgd, e, e, Map.of(), Map.of());
                            held[e - 1] = (System.nanoTime() - h) / 1e6;
                        }
                    }
                    double wall = (System.nanoTime() - t0) / 1e6 / epochs;
                    double[] sorted = held.clone();
                    Arrays.sort(sorted);
                    System.out.printf(Locale.ROOT, "round %d %-26s held per epoch: median %6.0f ms, max %6.0f ms; wall per epoch %6.0f ms (training %d)%n",
                        round + 1, background ? "Checkpoint.Writer:" : "Checkpoint.saveEpoch:", sorted[epochs / 2], sorted[epochs - 1], wall, trainMs);
                }
            }
        } finally {   // the files and the folder go, however the run ends
            try (var files = Files.list(dir)) {
                for (Path f : files.toList()) Files.deleteIfExists(f);
            }
            Files.deleteIfExists(dir);
        }
    }
}
