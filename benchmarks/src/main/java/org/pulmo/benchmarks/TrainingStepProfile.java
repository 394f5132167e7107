package org.pulmo.benchmarks;

import java.util.Locale;
import org.pulmo.backend.Backends;
import org.pulmo.backend.ProfilingBackend;

/**
 * Where a training step spends its time: trains a registered model for a few SGD steps on random data
 * (the step of {@link ModelWorkload}, i.e. the CLI's: MA-Net on pairs with its own loss, the others with
 * cross-entropy) and prints images/s and, on the CPU, the share of each backend method (conv2d,
 * batchNormBackward, binary, ...). Answers whether elementwise ops, batch norm and pooling, rather than GEMM
 * and convolution, bound the step. On a device (cuda) the timed steps run unprofiled, and then as many steps again
 * through the profile, in which every op waits for the device to finish it: the table is the device's time per
 * method (each call padded by one launch and one wait), and the line after it says how much of a step the host
 * spends outside the ops.
 *
 * <p>{@code java --add-modules jdk.incubator.vector -cp benchmarks/target/benchmarks.jar
 * org.pulmo.benchmarks.TrainingStepProfile [model] [batch] [size] [steps] [warm-up steps] [device]} (default
 * resnet50 4 112 3 1 cpu; models as {@link ModelThroughputBench}, e.g. dpn92-se, manet-resnet50 (batch = pairs,
 * two images each), resnet50). Ops called once per step (the stem's max-pool) are still partly interpreted or
 * C1-compiled after one warm-up step; the Vector API code in them is very slow until C2 compiles it, so more
 * warm-up steps show the steady state of a long training run. {@code -Dprofile.byShape=true} gives one row per
 * method and argument shapes, i.e. per layer kind; {@code -Dpulmo.cuda.strictFp32=true} profiles a device in strict
 * FP32 instead of TF32.
 */
public final class TrainingStepProfile {
    private TrainingStepProfile() {}

    /**
     * The kind of op a backend method is, in the kinds benchmarks/torch_op_profile.py sums PyTorch's kernels into, so
     * that the two profiles can be set side by side (benchmarks/gpu-op-profile.sh). A {@code byShape} row's method is
     * its first word.
     */
    static String kindOf(String method) {
        String m = method.split(" ", 2)[0];
        if (m.startsWith("sgd")) return "optimiser";
        if (m.startsWith("batchNorm")) return "batch norm";
        if (m.startsWith("conv2d")) return "convolution";
        if (m.equals("matmul")) return "matmul";
        if (m.contains("Pool")) return "pooling";
        if (m.startsWith("softmax") || m.startsWith("crossEntropy") || m.startsWith("cosine")) return "softmax / loss";
        if (m.equals("reduce") || m.equals("argReduce")) return "reduction";
        if (m.equals("copy") || m.equals("fill") || m.startsWith("allocate") || m.equals("fromArray") || m.equals("toArray")
            || m.equals("gather") || m.equals("scatterAdd")) return "copy / cat";
        if (m.equals("unary") || m.equals("binary") || m.equals("addInPlace") || m.equals("addScalarInPlace") || m.equals("addRelu") || m.startsWith("seScale")
            || m.startsWith("mab") || m.startsWith("fab")) return "elementwise";
        return "other";
    }

    static final String USAGE = "usage: TrainingStepProfile [MODEL [BATCH [SIZE [STEPS [WARMUP [DEVICE]]]]]] (default: resnet50 4 112 3 1 cpu)";

    /** The arguments refused, with why and the usage line (exit code 2). */
    private static Mains.Refused refuse(String why) { return Mains.refuse(why + "; " + USAGE); }

    public static void main(String[] args) {
        if (Mains.asksHelp(args)) {
            System.out.println(USAGE);
            return;
        }
        Mains.run("TrainingStepProfile", () -> profile(args));
    }

    private static void profile(String[] args) {
        if (args.length > 6) throw refuse("at most 6 arguments, got " + args.length);
        String name = args.length > 0 ? args[0] : "resnet50";
        int batch, size, steps, warmup;
        try {
            batch = args.length > 1 ? Mains.wholeNumber("BATCH", args[1], 1) : 4;
            size = args.length > 2 ? Mains.wholeNumber("SIZE", args[2], 1) : 112;
            steps = args.length > 3 ? Mains.wholeNumber("STEPS", args[3], 1) : 3;
            warmup = args.length > 4 ? Mains.wholeNumber("WARMUP", args[4], 0) : 1;
        } catch (Mains.Refused e) {
            throw refuse(e.getMessage());
        }
        String device = args.length > 5 ? args[5] : "cpu";
        boolean cpu = device.equals("cpu");
        org.pulmo.tensor.Device dev;
        try {
            dev = org.pulmo.tensor.Device.parse(device);
        } catch (IllegalArgumentException e) {
            throw refuse("DEVICE: " + e.getMessage());
        }
        String unusable = cpu ? null : Backends.unavailableReason(dev);
        if (unusable != null) throw Mains.refuse("nothing measured: " + device + " is not usable: " + unusable);
        ModelWorkload made;
        try {
            made = new ModelWorkload(name, ModelWorkload.Pass.TRAIN, new ModelWorkload.Size(batch, size), device, Boolean.getBoolean("pulmo.cuda.strictFp32"));
        } catch (IllegalArgumentException e) {   // an unknown model, a size the model cannot take: the message, not a stack trace
            throw refuse(e.getMessage());
        }
        try (ModelWorkload w = made) {
            if (warmup > 0) {
                try {
                    w.trainStep();   // the first warm-up step: where the batch is too small for a batch norm, the arguments are at fault
                } catch (IllegalArgumentException e) {
                    throw refuse("BATCH " + batch + " x SIZE " + size + ": " + e.getMessage());
                }
            }
            for (int s = 1; s < warmup; s++) w.trainStep(); // warm-up: JIT and first-touch allocation
            boolean byShape = Boolean.getBoolean("profile.byShape");
            ProfilingBackend profile = cpu ? Backends.startProfile(dev, byShape) : null;   // a device's: after the timed steps
            long[] gc0 = gcCountAndMillis();
            long t0 = System.nanoTime();
            for (int s = 0; s < steps; s++) w.trainStep();
            double secs = (System.nanoTime() - t0) / 1e9;
            if (cpu) Backends.stopProfile(dev);
            long[] gc1 = gcCountAndMillis();
            System.out.printf(Locale.ROOT, "%s, %d steps after %d warm-up, CPU kernels on %s: %.3f s/step, %.2f images/s%s%n",
                w.describe(), steps, warmup, org.pulmo.backend.cpu.CpuBackend.describe(), secs / steps,
                w.imagesPerStep() * steps / secs, ModelWorkload.isPairModel(name) ? String.format(Locale.ROOT, " (%.2f pairs/s)", batch * steps / secs) : "");
            if (!cpu) {
                profile = Backends.startProfile(dev, byShape);
                t0 = System.nanoTime();
                try {
                    for (int s = 0; s < steps; s++) w.trainStep();
                } finally {
                    Backends.stopProfile(dev);
                }
                secs = (System.nanoTime() - t0) / 1e9;
                System.out.printf(Locale.ROOT, "%d more steps with every op waiting for the device: %.3f s/step%n", steps, secs / steps);
                // what each profiled call carries besides its kernels: one launch and one wait, timed on a 1-element fill
                org.pulmo.backend.Backend be = Backends.of(dev);
                org.pulmo.tensor.Tensor one = org.pulmo.tensor.Tensor.full(0f, dev, 1);
                for (int i = 0; i < 50; i++) { be.fill(one, 1f); be.synchronize(); }
                long w0 = System.nanoTime();
                for (int i = 0; i < 500; i++) { be.fill(one, 1f); be.synchronize(); }
                double us = (System.nanoTime() - w0) / 1e3 / 500;
                one.storage().release();
                System.out.printf(Locale.ROOT, "a launch and a wait cost about %.1f us here (a 1-element fill): a row's calls x that is"
                    + " the profile's own overhead in its total, not kernel time%n", us);
            }
            System.out.print(profile.table());
            double outside = secs * 1e3 - profile.entries().stream().mapToLong(ProfilingBackend.Entry::nanos).sum() / 1e6;
            System.out.printf(Locale.ROOT, "outside backend calls (graph, optimiser bookkeeping, allocation): %.1f ms over the %d profiled"
                + " steps, as the table above; %.1f ms a step%n", outside, steps, outside / steps);
            // a collection stops every thread, and its pause lands in whichever row (or the gap) was allocating when the
            // young generation filled, often a call that takes a fresh output array: read small rows beside this line
            System.out.printf(Locale.ROOT, "garbage collection during the %d timed steps: %d collections, %d ms (%.1f ms a step), counted in"
                + " the rows or the gap above where each one came%n", steps, gc1[0] - gc0[0], gc1[1] - gc0[1], (gc1[1] - gc0[1]) / (double) steps);
            // per kind of op, in benchmarks/torch_op_profile.py's kinds, one line each: "KIND <kind> <ms per step> <calls per
            // step>", and on a device "<MB allocated per step>" after them (new tensors: outputs and dense copies)
            java.util.Map<String, double[]> kinds = new java.util.TreeMap<>();
            for (ProfilingBackend.Entry e : profile.entries()) {
                double[] k = kinds.computeIfAbsent(kindOf(e.method()), x -> new double[3]);
                k[0] += e.nanos() / 1e6 / steps;
                k[1] += (double) e.calls() / steps;
                k[2] += e.bytes() / 1e6 / steps;
            }
            boolean bytes = profile.entries().stream().allMatch(e -> e.bytes() >= 0);
            System.out.println("Per kind of op (benchmarks/op_profile_table.py reads these): KIND <kind> <ms per step> <calls per step>"
                + (bytes ? " <MB allocated per step>" : ""));
            kinds.forEach((k, v) -> System.out.printf(Locale.ROOT, "KIND %s %.3f %.1f%s%n", k.replace(' ', '_'), v[0], v[1],
                bytes ? String.format(Locale.ROOT, " %.1f", v[2]) : ""));
            if (Backends.of(dev) instanceof org.pulmo.cuda.CudaBackend cuda) {
                // cuDNN's choices for this model: how many, and every one that left a faster-ranked candidate out for the
                // workspace limit (pulmo.cudnn.workspaceMiB)
                java.util.List<String> plans = cuda.convolutionAlgorithms();
                java.util.List<String> limited = plans.stream().filter(l -> l.contains("beyond the workspace limit")).toList();
                System.out.printf(Locale.ROOT, "cuDNN: %d convolution choices, %d with a candidate ranked ahead but beyond the workspace limit%n",
                    plans.size(), limited.size());
                limited.forEach(l -> System.out.println("  " + l));
            }
            // the step's time is read beside what the machine could do in the same minute (a shared host varies twofold)
            if (cpu) System.out.println(SgemmBench.peakLine(SgemmBench.peakHere(), org.pulmo.backend.cpu.Parallel.threads()));
        }
    }

    /** Collections and their accumulated time (ms) so far, over all of this JVM's collectors. */
    private static long[] gcCountAndMillis() {
        long n = 0, ms = 0;
        for (java.lang.management.GarbageCollectorMXBean b : java.lang.management.ManagementFactory.getGarbageCollectorMXBeans()) {
            n += Math.max(0, b.getCollectionCount());
            ms += Math.max(0, b.getCollectionTime());
        }
        return new long[] {n, ms};
    }
}
