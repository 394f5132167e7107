package org.pulmo.cuda;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Supplier;
import org.pulmo.models.Dpn;
import org.pulmo.models.ModelRegistry;
import org.pulmo.models.PortableInit;
import org.pulmo.models.ResNet;
import org.pulmo.nn.Module;
import org.pulmo.tensor.Device;
import org.pulmo.tensor.Rng;
import org.pulmo.tensor.Tensor;

/**
 * How far a training step's gradients move when the input moves by one float rounding: the floor under any
 * CPU-against-GPU tolerance, since two float32 implementations differ at least by their rounding. Runs {@code steps}
 * steps of {@link TrainingStepParity} on the CPU twice, on a batch and on the same batch with about half of its
 * pixels moved by one ulp (x * (1 + 1e-7 u), u uniform in [-1, 1]), and prints per step the loss of both and the
 * gradients' relative L2 difference by parameter kind (median, 90th percentile, max).
 *
 * <p>{@code java -cp <cuda-kernels test class path> org.pulmo.cuda.TrainModeConditioning MODEL BATCH SIZE STEPS [eval]}
 * with MODEL one of resnet50 (Pulmo's initialisation), resnet50p (the PyTorch anchor's portable initialisation and
 * inputs), dpn92se, manet (portable, pairs), manetc (the same pairs with a contrast and brightness of their own,
 * {@link WholeModelParityTest#perSampleContrast}). {@code -Dinput=FILE} (a safetensors file with x [N, 3, S, S] and labels
 * y [N]) replaces a classifier's random batch with pictures, e.g. the demo data's. Used to set
 * {@link WholeModelParityTest}'s train-mode tolerance (benchmarks/RESULTS.md has the figures).
 */
public final class TrainModeConditioning {
    private TrainModeConditioning() {}

    static Tensor jitter(Tensor x, long seed) {
        float[] v = x.toArray(), u = Tensor.rand(new Rng(seed), 0f, 1f, v.length).toArray();
        for (int i = 0; i < v.length; i++) v[i] = v[i] * (1f + 1e-7f * (2 * u[i] - 1));
        return Tensor.of(v, x.shape());
    }

    private static float[] labels(int n, int classes, int shift) {
        float[] y = new float[n];
        for (int i = 0; i < n; i++) y[i] = (i + shift) % classes;
        return y;
    }

    public static void main(String[] a) {
        String which = a[0];
        int batch = Integer.parseInt(a[1]), size = Integer.parseInt(a[2]), steps = Integer.parseInt(a[3]);
        boolean train = !(a.length > 4 && a[4].equals("eval"));
        long seed = 20240601L;   // the PyTorch anchor's
        Rng rng = new Rng(93);
        Supplier<Module> build;
        List<Tensor> b;
        TrainingStepParity.Forward fwd = TrainingStepParity.CLASSIFIER;
        switch (which) {
            case "resnet50" -> {
                build = () -> new ResNet(ResNet.RESNET50, 2, new Rng(11));
                b = List.of(Tensor.randn(rng, batch, 3, size, size), Tensor.of(labels(batch, 2, 0), batch));
            }
            case "resnet50p" -> {
                build = () -> { Module m = ModelRegistry.create("resnet50", 2, size, 0L); PortableInit.apply(m, seed); return m; };
                b = List.of(PortableInit.uniform(seed, "input.x", -1, 1, batch, 3, size, size), Tensor.of(labels(batch, 2, 0), batch));
            }
            case "dpn92se" -> {
                build = () -> Dpn.dpn92se(4, new Rng(9));
                b = List.of(Tensor.randn(rng, batch, 3, size, size), Tensor.of(labels(batch, 4, 0), batch));
            }
            case "manet", "manetc" -> {
                build = () -> { Module m = ModelRegistry.create("manet-resnet50", 2, size, 0L); PortableInit.apply(m, seed); return m; };
                Tensor x = PortableInit.uniform(seed, "input.x", -1, 1, batch, 3, size, size), m = PortableInit.uniform(seed, "input.m", -1, 1, batch, 3, size, size);
                if (which.equals("manetc")) { x = WholeModelParityTest.perSampleContrast(x); m = WholeModelParityTest.perSampleContrast(m); }
                b = List.of(x, m, Tensor.of(labels(batch, 2, 0), batch), Tensor.of(labels(batch, 2, 1), batch));
                fwd = TrainingStepParity.MANET_PAIR;
            }
            default -> throw new IllegalArgumentException("model: resnet50, resnet50p, dpn92se, manet or manetc, not " + which);
        }
        String file = System.getProperty("input");   // a safetensors file with x [N, 3, S, S] and labels y [N]: real pictures
        if (file != null && fwd == TrainingStepParity.CLASSIFIER) {
            try {
                var t = org.pulmo.io.Safetensors.read(java.nio.file.Path.of(file)).tensors();
                b = List.of(t.get("x"), t.get("y"));
            } catch (java.io.IOException e) { throw new java.io.UncheckedIOException(e); }
        }
        List<Tensor> jittered = new ArrayList<>(b);
        jittered.set(0, jitter(b.get(0), 5));
        long t0 = System.nanoTime();
        var ra = TrainingStepParity.run("exact", build.get(), Device.CPU, train, b, fwd, steps, null);
        var rb = TrainingStepParity.run("jittered", build.get(), Device.CPU, train, jittered, fwd, steps, null);
        for (int s = 0; s < steps; s++) {
            System.out.printf(Locale.ROOT, "%s %s mode, batch %d at %d, step %d: loss %.8f vs %.8f%n", which, train ? "train" : "eval",
                batch, size, s + 1, ra.get(s).outputs().get("loss")[0], rb.get(s).outputs().get("loss")[0]);
            Map<String, List<Double>> groups = new TreeMap<>();
            for (var e : ra.get(s).grads().entrySet()) {
                String k = e.getKey();
                String g = k.contains("bn") || k.contains("downsample.1") ? "bn " + (k.endsWith("bias") ? "bias" : "weight")
                    : k.startsWith("fc") || k.contains("classifier") ? "classifier" : "conv and other";
                // a bias right before a batch norm (MA-Net's FAB) against its weight's gradient, as the comparison measures it
                double floor = Math.max(1e-7, TrainingStepParity.biasFloor(ra.get(s).grads(), k));
                groups.computeIfAbsent(g, x -> new ArrayList<>()).add(TrainingStepParity.relL2(rb.get(s).grads().get(k), e.getValue(), floor));
            }
            groups.forEach((g, v) -> {
                Collections.sort(v);
                System.out.printf(Locale.ROOT, "    %-15s n=%3d  gradient relL2 median %.1e  p90 %.1e  max %.1e%n", g, v.size(),
                    v.get(v.size() / 2), v.get((int) (v.size() * 0.9)), v.getLast());
            });
        }
        System.out.printf(Locale.ROOT, "%.1f s%n", (System.nanoTime() - t0) / 1e9);
    }
}
