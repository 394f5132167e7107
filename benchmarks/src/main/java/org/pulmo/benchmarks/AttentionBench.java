package org.pulmo.benchmarks;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.CommandLineOptionException;
import org.pulmo.autograd.GradMode;
import org.pulmo.backend.Backend;
import org.pulmo.backend.Backends;
import org.pulmo.tensor.Rng;
import org.pulmo.tensor.Tensor;

/**
 * The attention ops of the two papers on the CPU backend, forward and backward, on the models' real shapes:
 * MA-Net's mutex attention (MAB, {@link org.pulmo.ops.Mab}, eq. 3-5: softmax over H*W of (F_rei - F_rem)^2 per
 * sample and channel, times F_rem) and FAB fusion ({@link org.pulmo.ops.FabFuse}, eq. 10-11) on the ResNet-50 stage outputs [16, 256, 56, 56] .. [16, 2048, 7, 7], and
 * Squeeze-and-Excitation's squeeze (channel mean) and channel scale ({@link org.pulmo.ops.SeScale}) on DPN-92-SE's block outputs
 * [32, 272, 56, 56] .. [32, 2176, 7, 7] (bw + inc channels; batch 32, 224 x 224). {@code batch} "paper" is the
 * papers' batch (16 pairs for MA-Net, 32 for DPN-92-SE), "small" is 2 (MA-Net) or 4 (DPN), which a 2-core CPU
 * finishes quickly. {@code impl}: FUSED is the CPU backend's one-pass kernel, COMPOSED the same computation from
 * primitive elementwise, reduction and exp ops (Backend's default methods, {@link ComposedBackend}).
 *
 * <p>GB/s = minimum traffic / time, the inputs read once and the outputs written once ({@link Traffic});
 * e.g. MAB forward reads a, b and writes F_am and lse [N, C]: 4 (3 N C H W + N C) bytes.
 *
 * <p>JMH's own report: {@code java --add-modules jdk.incubator.vector -jar benchmarks/target/benchmarks.jar AttentionBench -f 3 -wi 3 -i 5}
 * <br>GB/s, median of forks: {@code java --add-modules jdk.incubator.vector -cp benchmarks/target/benchmarks.jar org.pulmo.benchmarks.AttentionBench -f 3 -wi 3 -i 5 -p batch=small}
 * <br>fused vs composed interleaved in one JVM (a busy host): {@code ... org.pulmo.benchmarks.AttentionBench --interleaved small 15}
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 3, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xmx6g"})
public class AttentionBench {

    /** A feature map's channels and side at 224 x 224 input; the batch comes from the {@code batch} parameter. */
    public enum MapShape {
        /** MA-Net on ResNet-50: the outputs of Res-Layer1..4, where MAB and FAB run. */
        MANET_STAGE1(256, 56, 16), MANET_STAGE2(512, 28, 16), MANET_STAGE3(1024, 14, 16), MANET_STAGE4(2048, 7, 16),
        /** DPN-92-SE: the last 1x1 conv's output of a block (bw + inc channels), where SE runs, per stage conv2..conv5. */
        DPN92SE_CONV2(272, 56, 32), DPN92SE_CONV3(544, 28, 32), DPN92SE_CONV4(1048, 14, 32), DPN92SE_CONV5(2176, 7, 32);

        final int c, hw, paperBatch;

        MapShape(int c, int hw, int paperBatch) { this.c = c; this.hw = hw; this.paperBatch = paperBatch; }

        /** "paper": the paper's batch; "small": 2 pairs for MA-Net, 4 images for DPN-92-SE; or a number. */
        int batch(String batch) {
            return switch (batch) {
                case "paper" -> paperBatch;
                case "small" -> paperBatch == 16 ? 2 : 4;
                default -> Integer.parseInt(batch);
            };
        }

        int[] shape(String batch) { return new int[] {batch(batch), c, hw, hw}; }

        /**
         * This shape for a benchmark of {@code model}'s op ("MANET" or "DPN92SE"); the benchmarks share the parameter name
         * {@code shape}, so {@code -p shape=...} reaches both kinds: a shape of the other model is refused, not timed.
         */
        MapShape of(String model, String op) {
            if (!name().startsWith(model + "_"))
                throw new IllegalArgumentException("shape " + this + " is not one of " + model + "'s: the " + op + " benchmarks take "
                    + Arrays.stream(values()).filter(v -> v.name().startsWith(model + "_")).toList());
            return this;
        }
    }

    /**
     * Minimum bytes of each op: {@code maps} tensors of N*C*H*W floats and {@code perChannel} tensors of N*C
     * floats, each read or written once. MAB_FORWARD_BACKWARD is the whole training use of MAB as one op (read
     * a, b, dF_am; write F_am, da, db), the count PyTorch's reference benchmark uses for its "fwd+bwd".
     */
    public enum Traffic {
        MAB_FORWARD(3, 1), MAB_BACKWARD(5, 1), MAB_FORWARD_BACKWARD(6, 0), MAB_CONSTANT_MAP_BACKWARD(4, 1),
        SE_SQUEEZE(1, 1), SE_SCALE_FORWARD(2, 1), SE_SCALE_BACKWARD(3, 2),
        FAB_FORWARD(3, 2), FAB_BACKWARD(5, 4);

        final int maps, perChannel;

        Traffic(int maps, int perChannel) { this.maps = maps; this.perChannel = perChannel; }

        long bytes(int n, int c, int h, int w) {
            long planes = (long) n * c;
            return Float.BYTES * (maps * planes * h * w + perChannel * planes);
        }

        long bytes(int[] s) { return bytes(s[0], s[1], s[2], s[3]); }

        /** The traffic of a benchmark method of this class or of GpuKernelsBench, by its name. */
        static Traffic ofBenchmark(String method) {
            return switch (method) {
                case "mabForward" -> MAB_FORWARD;
                case "mabBackward" -> MAB_BACKWARD;
                case "mabForwardBackward" -> MAB_FORWARD_BACKWARD;
                case "mabConstantMapBackward" -> MAB_CONSTANT_MAP_BACKWARD;
                case "seSqueeze" -> SE_SQUEEZE;
                case "seScaleForward" -> SE_SCALE_FORWARD;
                case "seScaleBackward" -> SE_SCALE_BACKWARD;
                case "fabForward" -> FAB_FORWARD;
                case "fabBackward" -> FAB_BACKWARD;
                default -> throw new IllegalArgumentException("no traffic model for benchmark " + method);
            };
        }
    }

    static Backend backend(String impl) {
        Backend cpu = Backends.cpu();
        return switch (impl) {
            case "FUSED" -> cpu;
            case "COMPOSED" -> ComposedBackend.of(cpu);
            default -> throw new IllegalArgumentException("impl must be FUSED or COMPOSED, got " + impl);
        };
    }

    @State(Scope.Benchmark)
    public static class Mab {
        @Param({"MANET_STAGE1", "MANET_STAGE2", "MANET_STAGE3", "MANET_STAGE4"}) public MapShape shape;
        @Param({"paper", "small"}) public String batch;
        @Param({"FUSED", "COMPOSED"}) public String impl;
        Backend be;
        Tensor a, b, dy, lse;

        @Setup(Level.Trial) public void setup() {
            shape.of("MANET", "Mab");
            be = backend(impl);
            Rng rng = new Rng(1);
            int[] s = shape.shape(batch);
            a = Tensor.randn(rng, s);
            b = Tensor.randn(rng, s);
            dy = Tensor.randn(rng, s);
            lse = Backends.cpu().mabForward(a, b).lse();
        }
    }

    @Benchmark public Backend.MabOut mabForward(Mab st) { return Recycled.op(() -> st.be.mabForward(st.a, st.b)); }

    @Benchmark public Backend.MabGrads mabBackward(Mab st) { return Recycled.op(() -> st.be.mabBackward(st.a, st.b, st.dy, st.lse)); }

    /** MA-Net's default backward: the attention map constant, dF_rem = dF_am (.) P only (Mab.mabConstantMap). */
    @Benchmark public Tensor mabConstantMapBackward(Mab st) { return Recycled.op(() -> st.be.mabConstantMapBackward(st.a, st.b, st.dy, st.lse)); }

    @State(Scope.Benchmark)
    public static class Squeeze {
        @Param({"DPN92SE_CONV2", "DPN92SE_CONV3", "DPN92SE_CONV4", "DPN92SE_CONV5"}) public MapShape shape;
        @Param({"paper", "small"}) public String batch;
        Tensor x;

        @Setup(Level.Trial) public void setup() {
            shape.of("DPN92SE", "Squeeze");
            x = Tensor.randn(new Rng(2), shape.shape(batch));
        }
    }

    /** SE's squeeze as SqueezeExcitation runs it: the mean of each channel plane, [N, C, H, W] -> [N, C]. */
    @Benchmark public Tensor seSqueeze(Squeeze st) {
        try (var ignored = GradMode.noGrad()) {
            return Recycled.op(st.x::globalAvgPool);
        }
    }

    @State(Scope.Benchmark)
    public static class Se {
        @Param({"DPN92SE_CONV2", "DPN92SE_CONV3", "DPN92SE_CONV4", "DPN92SE_CONV5"}) public MapShape shape;
        @Param({"paper", "small"}) public String batch;
        @Param({"FUSED", "COMPOSED"}) public String impl;
        Backend be;
        Tensor x, s, dy;

        @Setup(Level.Trial) public void setup() {
            shape.of("DPN92SE", "Se");
            be = backend(impl);
            Rng rng = new Rng(3);
            int[] xs = shape.shape(batch);
            x = Tensor.randn(rng, xs);
            s = Tensor.rand(rng, 0.05f, 0.95f, xs[0], xs[1]);   // a sigmoid gate
            dy = Tensor.randn(rng, xs);
        }
    }

    @Benchmark public Tensor seScaleForward(Se st) { return Recycled.op(() -> st.be.seScaleForward(st.x, st.s)); }

    @Benchmark public Backend.SeScaleGrads seScaleBackward(Se st) { return Recycled.op(() -> st.be.seScaleBackward(st.x, st.s, st.dy)); }

    @State(Scope.Benchmark)
    public static class Fab {
        @Param({"MANET_STAGE1", "MANET_STAGE2", "MANET_STAGE3", "MANET_STAGE4"}) public MapShape shape;
        @Param({"paper", "small"}) public String batch;
        @Param({"FUSED", "COMPOSED"}) public String impl;
        Backend be;
        Tensor x1, x2, z1, z2, dy;

        @Setup(Level.Trial) public void setup() {
            shape.of("MANET", "Fab");
            be = backend(impl);
            Rng rng = new Rng(4);
            int[] s = shape.shape(batch);
            x1 = Tensor.randn(rng, s);
            x2 = Tensor.randn(rng, s);
            z1 = Tensor.randn(rng, s[0], s[1]);
            z2 = Tensor.randn(rng, s[0], s[1]);
            dy = Tensor.randn(rng, s);
        }
    }

    @Benchmark public Tensor fabForward(Fab st) { return Recycled.op(() -> st.be.fabFuseForward(st.x1, st.x2, st.z1, st.z2)); }

    @Benchmark public Backend.FabGrads fabBackward(Fab st) { return Recycled.op(() -> st.be.fabFuseBackward(st.x1, st.x2, st.z1, st.z2, st.dy)); }

    /**
     * FUSED against COMPOSED interleaved in one JVM, for a host too busy for separate JMH runs to compare:
     * after {@code max(50, rounds / 3 + 2)} unmeasured calls of each, {@code rounds} rounds each call both once (order
     * alternating); prints the median ms of each, the ratio composed / fused (above 1: fused faster) and the
     * fused GB/s.
     */
    static void interleaved(String batch, int rounds) {
        AttentionBench bench = new AttentionBench();
        System.out.printf(Locale.ROOT, "%-16s %-14s %-18s %10s %10s %8s %8s%n", "op", "shape", "[N, C, H, W]", "fused ms", "composed", "ratio", "GB/s");
        for (String op : List.of("mabForward", "mabBackward", "mabConstantMapBackward", "fabForward", "fabBackward", "seScaleForward", "seScaleBackward")) {
            for (MapShape shape : MapShape.values()) {
                boolean maNet = shape.name().startsWith("MANET");
                if (maNet == op.startsWith("se")) continue;
                Supplier<Object>[] calls = pair(bench, op, shape, batch);
                // At least 50 unmeasured calls: a new shape can send the fused kernels back through the JIT, and stage 3's
                // MAB forward ([2, 1024, 14, 14]) read 2.4 ms after 5 unmeasured calls (rounds 9) and 5.5 ms after 20,
                // against 0.38 ms once warm (rounds 45: the median of 45 calls after 17).
                int warm = Math.max(50, rounds / 3 + 2);
                for (int i = 0; i < warm; i++) { calls[0].get(); calls[1].get(); }
                double[][] ms = new double[2][rounds];
                for (int r = 0; r < rounds; r++) {
                    for (int k = 0; k < 2; k++) {
                        int v = (r + k) % 2;
                        long t0 = System.nanoTime();
                        calls[v].get();
                        ms[v][r] = (System.nanoTime() - t0) / 1e6;
                    }
                }
                double f = median(ms[0]), c = median(ms[1]);
                int[] dims = shape.shape(batch);
                System.out.printf(Locale.ROOT, "%-16s %-14s %-18s %10.3f %10.3f %8.2f %8.1f%n", op, shape, Arrays.toString(dims), f, c, c / f,
                    Traffic.ofBenchmark(op).bytes(dims) / (f * 1e-3) / 1e9);
            }
        }
    }

    @SuppressWarnings("unchecked")
    private static Supplier<Object>[] pair(AttentionBench b, String op, MapShape shape, String batch) {
        Supplier<Object>[] calls = new Supplier[2];
        for (int v = 0; v < 2; v++) {
            String impl = v == 0 ? "FUSED" : "COMPOSED";
            if (op.startsWith("mab")) {
                Mab st = new Mab();
                st.shape = shape; st.batch = batch; st.impl = impl;
                st.setup();
                calls[v] = switch (op) {
                    case "mabForward" -> () -> b.mabForward(st);
                    case "mabBackward" -> () -> b.mabBackward(st);
                    default -> () -> b.mabConstantMapBackward(st);
                };
            } else if (op.startsWith("fab")) {
                Fab st = new Fab();
                st.shape = shape; st.batch = batch; st.impl = impl;
                st.setup();
                calls[v] = op.equals("fabForward") ? () -> b.fabForward(st) : () -> b.fabBackward(st);
            } else {
                Se st = new Se();
                st.shape = shape; st.batch = batch; st.impl = impl;
                st.setup();
                calls[v] = op.equals("seScaleForward") ? () -> b.seScaleForward(st) : () -> b.seScaleBackward(st);
            }
        }
        return calls;
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    /**
     * Runs JMH with the given options and prints GB/s of minimum traffic per fork and their median; or, with
     * {@code --interleaved [batch] [rounds]} (default small 15), {@link #interleaved}.
     */
    public static void main(String[] args) {
        Mains.run("AttentionBench", () -> measure(args));
    }

    private static void measure(String[] args) throws RunnerException, CommandLineOptionException {
        if (args.length > 0 && args[0].equals("--interleaved")) {
            String batch = args.length > 1 ? args[1] : "small";
            int rounds;
            try {
                rounds = args.length > 2 ? Integer.parseInt(args[2]) : 15;
            } catch (NumberFormatException e) {
                rounds = 0;
            }
            if (!List.of("small", "paper").contains(batch) || rounds < 1 || args.length > 3)
                throw Mains.refuse("usage: AttentionBench --interleaved [small|paper] [ROUNDS >= 1] (default small 15); got " + String.join(" ", args));
            interleaved(batch, rounds);
            return;
        }
        Rates.run(AttentionBench.class, forShapes(args), AttentionBench::checkBatch, "GB/s", AttentionBench::gigaBytes);
    }

    /** {@code batch}: paper, small or a whole number of at least 1 ({@link MapShape#batch}). */
    static boolean checkBatch(String name, String value) {
        if (!name.equals("batch")) return false;
        if (value.equals("paper") || value.equals("small")) return true;
        try {
            if (Integer.parseInt(value) >= 1) return true;   // as MapShape.batch parses it
        } catch (NumberFormatException e) {
            // refused below
        }
        throw new IllegalArgumentException("batch must be paper, small or a whole number of at least 1");
    }

    /**
     * {@code args} for a run of shapes of one model's op: MA-Net's shapes (MANET_*) reach the MAB and FAB benchmarks only,
     * DPN-92-SE's (DPN92SE_*) the SE ones (the benchmarks share the parameter name {@code shape}, and a benchmark given the
     * other model's shape fails in its set-up); both kinds in one run are refused. Without {@code -p shape}, or with
     * benchmarks named, {@code args} as they are.
     */
    static String[] forShapes(String[] args) throws CommandLineOptionException {
        var cli = new org.openjdk.jmh.runner.options.CommandLineOptions(args);
        java.util.Collection<String> shapes = cli.getParameter("shape").orElse(List.of());
        boolean manet = shapes.stream().anyMatch(s -> s.startsWith("MANET_")), dpn = shapes.stream().anyMatch(s -> s.startsWith("DPN92SE_"));
        if (manet && dpn)
            throw Mains.refuse("-p shape: MA-Net's shapes (MANET_*) and DPN-92-SE's (DPN92SE_*) in one run would give each benchmark the"
                + " other model's shapes too; run them apart");
        if (!cli.getIncludes().isEmpty() || !(manet || dpn)) return args;
        List<String> out = new java.util.ArrayList<>(List.of(args));
        out.add(java.util.regex.Pattern.quote(AttentionBench.class.getName() + ".") + (manet ? "(mab|fab)" : "se"));
        return out.toArray(String[]::new);
    }

    /** The bytes one op of a result's benchmark moves at its shape and batch ({@link Traffic}), in GB (1e9 bytes). */
    static double gigaBytes(RunResult r) {
        String name = r.getParams().getBenchmark();
        Traffic t = Traffic.ofBenchmark(name.substring(name.lastIndexOf('.') + 1));
        return t.bytes(MapShape.valueOf(r.getParams().getParam("shape")).shape(r.getParams().getParam("batch"))) / 1e9;
    }
}
