package org.pulmo.benchmarks;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.GradientCollector;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.lang.management.ManagementFactory;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import org.pulmo.backend.Backend;
import org.pulmo.backend.Backends;
import org.pulmo.backend.Conv2dParams;
import org.pulmo.backend.cpu.Parallel;
import org.pulmo.backend.cpu.Sgemm;
import org.pulmo.models.ModelRegistry;
import org.pulmo.models.ModelSummary;
import org.pulmo.tensor.Rng;
import org.pulmo.tensor.Tensor;

/**
 * CPU side by side with DJL's PyTorch engine (libtorch 2.7.1). Two modes, each in its own JVM:
 *
 * <ul>
 *   <li>{@code ops}: SGEMM 1024 and three 3x3 convolutions (batch 8, stride 1, pad 1) in forward,
 *       backward-input and backward-weight: dense 128->128 at 56x56 and DPN-92's grouped convs (32 groups)
 *       at C=96 56x56 and C=192 28x28. Everything of one op is measured in interleaved rounds in one JVM
 *       (Pulmo, DJL, Pulmo, DJL ...; each sample is a few calls, about 0.1 s, with a 30 ms pause between
 *       samples so that neither side's spinning workers steal from the other); the report gives the
 *       median time per call and the ratio Pulmo/DJL (time; below 1 means Pulmo is faster).
 *   <li>{@code models [runs] [steps] [warm-up steps] [sizes] [models]}: the training step (forward, loss, backward,
 *       SGD momentum 0.9, weight decay 1e-4) of ResNet-50, DPN-92-SE and MA-Net (pairs, adaptive loss) at batch 8,
 *       224x224 and batch 4, 112x112 (MA-Net: pairs), DJL's side written with DJL's functional layers and NDArray ops
 *       in {@link DjlModels} on a copy of Pulmo's weights. Per model and size a check child first runs both on the
 *       same weights and batch and prints their relative errors against DJL in float64; then each side runs
 *       alone in a child JVM, alternating Pulmo, DJL, Pulmo, DJL ... {@code runs} times; each child warms up, times
 *       its steps one by one and reports its peak resident memory (VmHWM). Prints a table: images/s (median over
 *       runs of the batch's images / median step time), the time ratio Pulmo/DJL, peak RSS.
 * </ul>
 *
 * <p>Pulmo's convolutions go through {@link Backend#conv2d}, {@link Backend#conv2dBackwardInput} and
 * {@link Backend#conv2dBackwardWeight} of the CPU backend. DJL has no public convolution backward, so its
 * backward is taken from autograd inside a {@link GradientCollector}: {@code y = conv(x, w)},
 * {@code backward(sum(y * g))} with a fixed random {@code g} (so {@code dy = g}), with only {@code x}
 * requiring a gradient (backward-input), only {@code w} (backward-weight), or both. Each such sample
 * contains a forward and the elementwise chain {@code sum(y * g)} and its backward; both are timed on
 * their own in the same rounds (the chain on a leaf of y's shape) and subtracted round by round. The
 * report gives the subtracted figure and, in brackets, the ratio with the chain left in DJL's time. Once
 * per shape the DJL gradients are checked against Pulmo's (largest difference over largest magnitude).
 *
 * <p>Threads: Pulmo's pool has its default size ({@code availableProcessors()}, 2 here); libtorch's intra-op
 * threads are set to the same number with {@code torch::set_num_threads}; both are printed.
 *
 * <p>Only compiled in the {@code djl} Maven profile of the benchmarks module (see benchmarks/pom.xml). The
 * whole comparison with the FMA control and the load: {@code benchmarks/djl-side-by-side.sh}; by hand:
 * <pre>
 * mvn -B -ntp -P djl -pl benchmarks -am -DskipTests compile dependency:build-classpath -Dmdep.outputFile=$PWD/benchmarks/target/djl-cp.txt
 * java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Dai.djl.offline=true \
 *   -cp benchmarks/target/classes:$(cat benchmarks/target/djl-cp.txt) org.pulmo.benchmarks.DjlSideBySide ops
 * java ... (same) org.pulmo.benchmarks.DjlSideBySide models 3 4 2
 * </pre>
 */
public final class DjlSideBySide {
    private DjlSideBySide() {}

    /** Seconds each timed sample lasts (calls per sample are calibrated after warm-up). */
    private static final double SAMPLE_SECONDS = 0.1;
    /** Pause between samples: libgomp's and Pulmo's idle workers spin for a while after each op. */
    private static final long PAUSE_MS = 30;
    private static final int ROUNDS = 11;
    private static final double WARM_SECONDS = 1.5;

    /** A 3x3 convolution, stride 1, padding 1: input [n, c, hw, hw], c output channels, groups. */
    private record ConvShape(String name, int n, int c, int hw, int groups) {
        double flops() { return 2.0 * n * c * hw * hw * (c / groups) * 9; }
    }

    private static final List<ConvShape> CONVS = List.of(
        new ConvShape("dense 3x3 N=8 128->128 56x56", 8, 128, 56, 1),
        new ConvShape("DPN-92 grouped 3x3 N=8 C=96 g=32 56x56", 8, 96, 56, 32),
        new ConvShape("DPN-92 grouped 3x3 N=8 C=192 g=32 28x28", 8, 192, 28, 32));

    public static void main(String[] args) throws Exception {
        String mode = args.length > 0 ? args[0] : "ops";
        boolean child = mode.equals("check") || mode.startsWith("step-");
        int a1 = args.length > 1 && !child ? Integer.parseInt(args[1]) : -1;
        int a2 = args.length > 2 && !child ? Integer.parseInt(args[2]) : -1;
        int a3 = args.length > 3 ? Integer.parseInt(args[3]) : -1;
        switch (mode) {
            case "ops" -> ops();
            case "models" -> {
                // models [runs] [steps] [warm-up steps] [sizes, comma-separated] [models, comma-separated]
                List<String> sizes = args.length > 4 ? List.of(args[4].split(",")) : STEP_SIZES;
                List<String> models = args.length > 5 ? List.of(args[5].split(",")) : ModelWorkload.MODELS;
                modelsAlternating(a1 > 0 ? a1 : 3, a2 > 0 ? a2 : 4, a3 >= 0 ? a3 : 2, sizes, models);
            }
            case "check" -> check(args[1], args[2]);
            case "step-pulmo" -> stepPulmo(args[1], args[2], a3, Integer.parseInt(args[4]));
            case "step-djl" -> stepDjl(args[1], args[2], a3, Integer.parseInt(args[4]));
            default -> throw new IllegalArgumentException("mode " + mode + ": expected ops, or models [runs] [steps] [warm-up steps] [sizes] [models]");
        }
        if (failures > 0) System.exit(3);
    }

    // ---- ops: SGEMM and conv, one JVM, interleaved ----

    private static void ops() throws InterruptedException {
        System.out.printf(Locale.ROOT, "cores %d, load %s%n", Runtime.getRuntime().availableProcessors(), load());
        control("before");
        Engine engine = djlEngine();
        try (NDManager mgr = engine.newBaseManager()) {
            sgemm(mgr, 1024);
            for (ConvShape s : CONVS) conv(engine, mgr, s);
        }
        control("after");
        System.out.printf(Locale.ROOT, "load %s%n", load());
    }

    /** The PyTorch engine with libtorch's intra-op threads set to Pulmo's pool size. */
    private static Engine djlEngine() {
        Engine engine = Engine.getEngine("PyTorch");
        JniUtils.setNumThreads(Parallel.threads());
        System.out.printf(Locale.ROOT, "DJL engine %s %s; threads: Pulmo pool %d, libtorch intra-op %d, inter-op %d%n",
            engine.getEngineName(), engine.getVersion(), Parallel.threads(), JniUtils.getNumThreads(), JniUtils.getNumInteropThreads());
        return engine;
    }

    private static void sgemm(NDManager mgr, int n) throws InterruptedException {
        float[] a = random(1, n * n), b = random(2, n * n), c = new float[n * n];
        NDArray da = mgr.create(a, new Shape(n, n)), db = mgr.create(b, new Shape(n, n));
        Runnable pulmo = () -> Sgemm.sgemm(false, false, n, n, n, a, 0, n, b, 0, n, 0f, c, 0, n);
        Runnable djl = () -> da.matMul(db).close();
        double[][] t = interleave(List.of(pulmo, djl));
        row("SGEMM " + n + " (NDArray.matMul)", 2.0 * n * n * n, t[0], t[1], null);
    }

    private static void conv(Engine engine, NDManager mgr, ConvShape s) throws InterruptedException {
        int n = s.n, c = s.c, hw = s.hw, groups = s.groups;
        Conv2dParams p = Conv2dParams.of(1, 1, 1, groups);
        int[] xShape = {n, c, hw, hw}, wShape = {c, c / groups, 3, 3}, yShape = {n, c, hw, hw};
        float[] xData = random(3, n * c * hw * hw), wData = random(4, c * (c / groups) * 9), gData = random(5, n * c * hw * hw);

        // Pulmo: the CPU backend's three passes
        Backend be = Backends.cpu();
        Tensor x = Tensor.of(xData, xShape), w = Tensor.of(wData, wShape), dy = Tensor.of(gData, yShape);
        Runnable pFwd = () -> sink(be.conv2d(x, w, p));
        Runnable pDx = () -> sink(be.conv2dBackwardInput(dy, w, xShape, p));
        Runnable pDw = () -> sink(be.conv2dBackwardWeight(x, dy, wShape, p));

        // DJL: forward without bias; backward through autograd of sum(y * g)
        NDArray dX = mgr.create(xData, shape(xShape)), dW = mgr.create(wData, shape(wShape)), dG = mgr.create(gData, shape(yShape));
        NDArray dY0 = djlConv(dX, dW, groups);
        Runnable dFwd = () -> djlConv(dX, dW, groups).close();
        Runnable dChain = () -> {
            try (NDManager sub = mgr.newSubManager(); GradientCollector gc = engine.newGradientCollector()) {
                gc.backward(leaf(dY0, sub).mul(dG).sum());
            }
        };
        Runnable dAutoDx = () -> djlGrads(engine, mgr, dX, dW, dG, groups, true, false, null);
        Runnable dAutoDw = () -> djlGrads(engine, mgr, dX, dW, dG, groups, false, true, null);
        Runnable dAutoBoth = () -> djlGrads(engine, mgr, dX, dW, dG, groups, true, true, null);

        // The two sides compute the same thing (and DJL's gradients do not accumulate between calls)
        float[][] djlGrad = new float[2][];
        djlGrads(engine, mgr, dX, dW, dG, groups, true, true, djlGrad);
        djlGrads(engine, mgr, dX, dW, dG, groups, true, true, djlGrad);
        System.out.printf(Locale.ROOT, "%s: check against DJL, max|diff|/max|DJL|: y %.1e, dx %.1e, dw %.1e%n", s.name,
            relDiff(be.conv2d(x, w, p).toArray(), dY0.toFloatArray()),
            relDiff(be.conv2dBackwardInput(dy, w, xShape, p).toArray(), djlGrad[0]),
            relDiff(be.conv2dBackwardWeight(x, dy, wShape, p).toArray(), djlGrad[1]));

        double[][] t = interleave(List.of(pFwd, pDx, pDw, dFwd, dChain, dAutoDx, dAutoDw, dAutoBoth));
        double[] fwd = t[3], chain = t[4];
        double[] dDx = minus(t[5], fwd, chain), dDw = minus(t[6], fwd, chain), dAll = minus(t[7], chain);
        double[] pAll = new double[ROUNDS];
        for (int r = 0; r < ROUNDS; r++) pAll[r] = t[0][r] + t[1][r] + t[2][r];
        double flops = s.flops();
        row(s.name + " forward", flops, t[0], fwd, null);
        row(s.name + " backward-input", flops, t[1], dDx, minus(t[5], fwd));
        row(s.name + " backward-weight", flops, t[2], dDw, minus(t[6], fwd));
        row(s.name + " fwd+dx+dw", 3 * flops, pAll, dAll, t[7]);
        System.out.printf(Locale.ROOT, "  DJL raw medians (ms): fwd %.3f, chain sum(y*g)+backward %.3f, autograd dx %.3f, dw %.3f, dx+dw %.3f%n",
            median(fwd) * 1e3, median(chain) * 1e3, median(t[5]) * 1e3, median(t[6]) * 1e3, median(t[7]) * 1e3);
        dY0.close();
        dX.close();
        dW.close();
        dG.close();
    }

    private static NDArray djlConv(NDArray x, NDArray w, int groups) {
        Shape one = new Shape(1, 1);
        return Conv2d.conv2d(x, w, null, one, one, one, groups).singletonOrThrow();
    }

    /**
     * One autograd pass: y = conv(x, w), backward of sum(y * g). {@code x} and {@code w} enter as fresh leaves
     * (detached views, no copy) so that every call starts without a gradient and none is accumulated.
     */
    private static void djlGrads(Engine engine, NDManager mgr, NDArray x, NDArray w, NDArray g, int groups,
                                 boolean wantDx, boolean wantDw, float[][] out) {
        try (NDManager sub = mgr.newSubManager(); GradientCollector gc = engine.newGradientCollector()) {
            NDArray xi = wantDx ? leaf(x, sub) : x, wi = wantDw ? leaf(w, sub) : w;
            NDArray y = djlConv(xi, wi, groups);
            y.attach(sub);
            gc.backward(y.mul(g).sum());
            if (out != null) {
                out[0] = xi.getGradient().toFloatArray();
                out[1] = wi.getGradient().toFloatArray();
            }
        }
    }

    private static NDArray leaf(NDArray a, NDManager sub) {
        NDArray v = a.stopGradient();
        v.attach(sub);
        v.setRequiresGradient(true);
        return v;
    }

    // ---- training steps of the papers' models: separate JVMs ----

    /** The default sizes of the step comparison ("BATCHxSIDE"; MA-Net: pairs); the default models: {@link ModelWorkload#MODELS}. */
    private static final List<String> STEP_SIZES = List.of("8x224", "4x112");

    /** One model at one size: per side the step times of each run (null: the child crashed) and peak RSS. */
    private record StepRuns(String model, String size, List<double[]> pulmo, List<double[]> djl,
                            List<Double> pulmoRssMb, List<Double> djlRssMb, String check) {}

    /**
     * For each size and model: a check child (both libraries on the same weights and batch, against DJL's float64 run;
     * see {@link #check}), then {@code runs} pairs of timing children, Pulmo and DJL in turn,
     * each alone on the machine with {@code warm} untimed and {@code steps} timed steps. Ends with the table.
     */
    private static void modelsAlternating(int runs, int steps, int warm, List<String> sizes, List<String> models) throws Exception {
        System.out.printf(Locale.ROOT, "training steps (forward, loss, backward, SGD momentum 0.9, weight decay 1e-4) of %s at %s;"
            + " %d runs per side, alternating, each a fresh JVM with %d warm-up + %d timed steps; load %s%n",
            models, sizes, runs, warm, steps, load());
        double peak = control("before");
        List<StepRuns> all = new ArrayList<>();
        for (String size : sizes)
            for (String model : models) {
                Child check = child("check", model, size, "0", "0");
                StepRuns sr = new StepRuns(model, size, new ArrayList<>(), new ArrayList<>(), new ArrayList<>(), new ArrayList<>(),
                    check.ok() ? check.checkLine : "check crashed (exit " + check.rc + ")");
                if (!check.ok() || check.checkFailed) failures++;
                for (int r = 0; r < runs; r++) {
                    Child p = child("step-pulmo", model, size, Integer.toString(steps), Integer.toString(warm));
                    Child d = child("step-djl", model, size, Integer.toString(steps), Integer.toString(warm));
                    sr.pulmo.add(p.times);
                    sr.djl.add(d.times);
                    if (p.rssMb > 0) sr.pulmoRssMb.add(p.rssMb);
                    if (d.rssMb > 0) sr.djlRssMb.add(d.rssMb);
                    if (p.times == null || d.times == null) failures++;
                }
                all.add(sr);
            }
        peak = Math.max(peak, control("after"));
        System.out.println();
        System.out.printf(Locale.ROOT, "In-run FMA peak (the larger control): %.1f GFLOP/s%n", peak);
        System.out.println("| model | batch x side | Pulmo images/s | DJL images/s | time ratio Pulmo/DJL | GFLOP/s Pulmo / DJL (% of peak) | peak RSS Pulmo / DJL (MB) | same weights, against DJL in float64: Pulmo / DJL float32 relative error |");
        System.out.println("|---|---|---:|---:|---:|---:|---:|---|");
        for (StepRuns sr : all) {
            ModelWorkload.Size size = ModelWorkload.Size.of(sr.size, sr.model, ModelWorkload.Pass.TRAIN);
            int images = ModelWorkload.imagesPerStep(sr.model, size.batch());
            // a training step's arithmetic: forward, backward-input and backward-weight, 2 FLOP per MAC of the
            // convolutions and linear layers (ModelSummary; MA-Net's summary is of a whole pair); the rest uncounted
            double stepGflop = 3 * 2.0 * size.batch()
                * ModelSummary.of(sr.model, ModelRegistry.entry(sr.model).defaultClasses(), size.image()).totalMacs() / 1e9;
            List<Double> ratio = new ArrayList<>(), pRate = new ArrayList<>(), dRate = new ArrayList<>();
            double pBest = Double.MAX_VALUE, dBest = Double.MAX_VALUE; // each side's fastest child (its median step)
            for (int r = 0; r < sr.pulmo.size(); r++) {
                double[] pt = sr.pulmo.get(r), dt = sr.djl.get(r);
                if (pt != null) { pRate.add(images / median(pt)); pBest = Math.min(pBest, median(pt)); }
                if (dt != null) { dRate.add(images / median(dt)); dBest = Math.min(dBest, median(dt)); }
                if (pt != null && dt != null) ratio.add(median(pt) / median(dt));
            }
            String fastest = ratio.isEmpty() ? "" : String.format(Locale.ROOT, "; fastest children %.2f", pBest / dBest);
            String gf = pRate.isEmpty() || dRate.isEmpty() ? "-" : String.format(Locale.ROOT, "%.0f / %.0f (%.0f %% / %.0f %%)",
                stepGflop * median(pRate) / images, stepGflop * median(dRate) / images,
                100 * stepGflop * median(pRate) / images / peak, 100 * stepGflop * median(dRate) / images / peak);
            System.out.printf(Locale.ROOT, "| %s | %s%s | %s | %s | %s | %s | %s / %s | %s |%n", sr.model, sr.size,
                ModelWorkload.isPairModel(sr.model) ? " pairs" : "", rates(pRate), rates(dRate),
                ratio.isEmpty() ? "no run where both finished" : String.format(Locale.ROOT, "**%.2f** (%s%s)", median(ratio), spread(ratio), fastest), gf,
                sr.pulmoRssMb.isEmpty() ? "-" : String.format(Locale.ROOT, "%.0f", max(sr.pulmoRssMb)),
                sr.djlRssMb.isEmpty() ? "-" : String.format(Locale.ROOT, "%.0f", max(sr.djlRssMb)), sr.check);
        }
        System.out.println("(images/s: median over runs of batch images / median step time, MA-Net two images per pair; in brackets"
            + " each run's ratio, then the ratio of each side's fastest child, which a side slowed for minutes by the host"
            + " moves less than the median; GFLOP/s: 6 x the MACs of the convolutions and linear layers per step / the median step"
            + " time, against the in-run FMA peak; peak RSS: the largest VmHWM of a side's children, the whole JVM)");
        System.out.printf(Locale.ROOT, "load %s%n", load());
    }

    private static String rates(List<Double> r) {
        return r.isEmpty() ? "crashed in every run" : String.format(Locale.ROOT, "%.2f", median(r));
    }

    private static String spread(List<Double> r) {
        StringBuilder b = new StringBuilder();
        for (double v : r) b.append(b.isEmpty() ? "" : ", ").append(String.format(Locale.ROOT, "%.2f", v));
        return b.toString();
    }

    private static double max(List<Double> v) { return v.stream().mapToDouble(Double::doubleValue).max().orElse(0); }

    /** Child JVMs or comparisons that failed in this run; main exits with 3 when there were any, after printing everything. */
    private static int failures;

    private static double median(List<Double> v) { return median(v.stream().mapToDouble(Double::doubleValue).toArray()); }

    /** What a child printed that the parent reads: its step times (s), peak RSS (MB) and check line. */
    private static final class Child {
        int rc;
        double[] times;
        double rssMb;
        String checkLine;
        boolean checkFailed;

        boolean ok() { return rc == 0; }
    }

    /**
     * Runs this class in a fresh JVM (same java, JVM options and class path) and reads its report. A child that
     * dies (libtorch has died with SIGFPE inside oneDNN's brgemm 1x1 backward on some CPUs) is reported as crashed
     * and the comparison goes on. DJL children run with the serial collector and small heap free ratios, so that the
     * Java heap used to build the weights (a Pulmo model) is given back before the steps and not counted as DJL's;
     * Pulmo's timing children with the JVM options of ./pulmo (system property pulmo.bench.javaOptions).
     */
    private static Child child(String mode, String... args) throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add(ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        cmd.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments());
        if (mode.equals("step-djl")) cmd.addAll(List.of("-XX:+UseSerialGC", "-XX:MinHeapFreeRatio=5", "-XX:MaxHeapFreeRatio=10"));
        if (mode.equals("step-pulmo")) // as ./pulmo runs it (scripts/java-options, passed on by djl-side-by-side.sh)
            for (String o : System.getProperty("pulmo.bench.javaOptions", "").trim().split("\\s+")) if (!o.isEmpty()) cmd.add(o);
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), DjlSideBySide.class.getName(), mode));
        cmd.addAll(List.of(args));
        Process proc = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        Child c = new Child();
        try (BufferedReader out = new BufferedReader(new InputStreamReader(proc.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line; (line = out.readLine()) != null; ) {
                System.out.println("  [" + mode + " " + String.join(" ", args) + "] " + line);
                if (line.startsWith("step seconds:"))
                    c.times = Arrays.stream(line.substring("step seconds:".length()).trim().split(" ")).mapToDouble(Double::parseDouble).toArray();
                if (line.startsWith("peak rss MB:")) c.rssMb = Double.parseDouble(line.substring("peak rss MB:".length()).trim());
                if (line.startsWith("check:")) {
                    c.checkLine = line.substring("check:".length()).trim();
                    c.checkFailed = line.contains("FAILED");
                }
            }
        }
        c.rc = proc.waitFor();
        if (c.rc != 0 || (c.times == null && !mode.equals("check"))) {
            System.out.printf(Locale.ROOT, "  [%s %s] crashed: exit %d%s%s%n", mode, String.join(" ", args), c.rc,
                c.rc > 128 ? " (signal " + (c.rc - 128) + ")" : "", c.times == null ? ", no step times" : "");
            c.times = null;
        }
        return c;
    }

    private static ModelWorkload workload(String model, String size) {
        return new ModelWorkload(model, ModelWorkload.Pass.TRAIN, ModelWorkload.Size.of(size, model, ModelWorkload.Pass.TRAIN), "cpu", true);
    }

    /** Pulmo's step as the CLI's Trainer runs it ({@link ModelWorkload#trainStep}). */
    private static void stepPulmo(String model, String size, int steps, int warm) {
        ModelWorkload w = workload(model, size);
        System.out.printf(Locale.ROOT, "Pulmo %s, pool threads %d, load %s%n", w.describe(), Parallel.threads(), load());
        timeSteps(w::trainStep, steps, warm);
        System.out.printf(Locale.ROOT, "peak rss MB: %.0f%n", peakRssMb());
    }

    /** A model's weights and batch as DJL arrays: copied from a fresh Pulmo workload (the same seeds as Pulmo's side). */
    private static final class DjlStep {
        final String model;
        final DataType type;
        final DjlModels.Weights weights;
        final float[] x, m;
        final Shape xShape;
        final NDArray oneHotX, oneHotM;
        final NDManager base;

        DjlStep(ModelWorkload w, NDManager base, DataType type) {
            this.model = w.model;
            this.base = base;
            this.type = type;
            weights = new DjlModels.Weights(w.net(), base, 1e-4f, type);
            ModelWorkload.Inputs in = w.inputs();
            x = in.x();
            m = in.m();
            xShape = shape(in.imageShape());
            int classes = ModelRegistry.entry(model).defaultClasses();
            oneHotX = DjlModels.oneHot(base, in.y(), classes).toType(type, false);
            oneHotM = DjlModels.oneHot(base, in.yM(), classes).toType(type, false);
        }

        private NDArray input(NDManager sub, float[] data) {
            NDArray a = sub.create(data, xShape);
            return type == DataType.FLOAT32 ? a : a.toType(type, false);
        }

        /** Forward and loss in {@code sub}; logits (both paths' for MA-Net) added to {@code logits} when given. */
        NDArray loss(NDManager sub, List<float[]> logits) {
            NDArray xs = input(sub, x);
            if (model.startsWith("manet")) {
                DjlModels.Pair p = DjlModels.maNet(weights, xs, input(sub, m));
                if (logits != null) {
                    logits.add(DjlModels.floats(p.logitsX()));
                    logits.add(DjlModels.floats(p.logitsM()));
                }
                return DjlModels.maNetLoss(p, oneHotX, oneHotM);
            }
            NDArray out = model.startsWith("dpn") ? DjlModels.dpn(weights, org.pulmo.models.Dpn.DPN92, xs) : DjlModels.resnet50(weights, xs);
            if (logits != null) logits.add(DjlModels.floats(out));
            return DjlModels.crossEntropy(out, oneHotX);
        }

        /** Forward, loss, backward and (when {@code update}) SGD (lr 0.01, momentum 0.9) with DJL; returns the loss. */
        double step(Engine engine, List<float[]> logits, boolean update) {
            double value;
            try (NDManager sub = base.newSubManager()) {
                try (GradientCollector gc = engine.newGradientCollector()) {
                    NDArray loss = loss(sub, logits);
                    value = DjlModels.value(loss);
                    gc.backward(loss);
                }
                if (update) weights.sgdStep(sub, 0.01f, 0.9f);
            }
            return value;
        }

        float[] gradient(String name) { return DjlModels.floats(weights.params.get(name).value().getGradient()); }
    }

    private static void stepDjl(String model, String size, int steps, int warm) throws Exception {
        Engine engine = djlEngine();
        try (NDManager base = engine.newBaseManager()) {
            DjlStep s = new DjlStep(workload(model, size), base, DataType.FLOAT32);
            System.gc();                      // the Pulmo model that gave the weights is garbage now
            System.out.printf(Locale.ROOT, "DJL %s (DjlModels), rss after set-up %.0f MB, load %s%n", model, rssMb("VmRSS"), load());
            timeSteps(() -> s.step(engine, null, true), steps, warm);
        }
        System.out.printf(Locale.ROOT, "peak rss MB: %.0f%n", peakRssMb());
    }

    /**
     * Both libraries on the same weights and batch, before any timing, against a float64 run of DJL's version: the
     * relative error (max |a - ref| / max |ref|) of Pulmo's and of DJL's float32 logits, loss and three gradients
     * (first convolution, one in the middle, the classifier) and, judged, every parameter's gradient, printed
     * "Pulmo / DJL". FAILED when Pulmo's logits or loss are off by more than max(1e-4, 4 x DJL's float32 error),
     * when its median gradient error (relative L2) over all parameters is above max(1e-2, 2 x DJL's), when more
     * than 5 % of the gradients are off by more than max(1e-2, 4 x DJL's), or when one is off by more than
     * max(0.25, 4 x DJL's): the two float32 libraries sum in different orders, and how far that moves a result
     * depends on the model and on chance (MA-Net's softmax over squared feature differences amplifies it, and a
     * rounding that flips one ReLU deep in DPN-92 changes that layer's gradient), while a wrong or missing term is
     * off by order one. A gradient that is zero in float64 (a bias before a batch norm) is judged against the scale of
     * a typical gradient of its size instead of its own norm. -Dpulmo.bench.checkAll=true prints every gradient's errors.
     */
    private static void check(String model, String size) {
        Engine engine = djlEngine();
        ModelWorkload w = workload(model, size);
        try (NDManager base = engine.newBaseManager()) {
            DjlStep s32 = new DjlStep(w, base, DataType.FLOAT32), s64 = new DjlStep(w, base, DataType.FLOAT64);
            List<float[]> p = new ArrayList<>(), d32 = new ArrayList<>(), d64 = new ArrayList<>();
            float pLoss = w.forwardBackward(p);
            double loss32 = s32.step(engine, d32, false), loss64 = s64.step(engine, d64, false);
            Comparison c = new Comparison();
            for (int i = 0; i < p.size(); i++)
                c.add(p.size() > 1 ? (i == 0 ? "logits x" : "logits m") : "logits", p.get(i), d32.get(i), d64.get(i), 1e-4);
            c.add("loss", new float[] {pLoss}, new float[] {(float) loss32}, new float[] {(float) loss64}, 1e-4);
            for (String name : DjlModels.checkedGradients(model)) c.add("grad " + name, pulmoGrad(w, name), s32.gradient(name), s64.gradient(name));
            // Every parameter's gradient. One float32 rounding can flip a ReLU or max-pool decision deep in the
            // network, which changes that element's gradient outright, so single gradients of deep layers are a
            // few times off float64 in either library, by chance (DPN-92-SE at 8 x 224: up to 5x DJL's error in
            // one layer, 0.4-1.0x in another, as KC changed; 2-3 % of its gradients beyond max(1e-2, 4 x DJL's); its
            // median relative L2 error 0.4-0.7x DJL's at 4 x 64, 2 x 96 and 4 x 112 but 2.7x at 2 x 64, where DJL's
            // was 1.7e-3, against 4.8e-3 to 1.2e-2 at the other sizes). So the gradients are judged as a whole, by
            // relative L2 error: the median may not be above max(1e-2, 2x DJL's), at most 5 % of them
            // beyond max(1e-2, 4 x DJL's) (a term off in one kind of layer: every bias, say), and none above
            // max(0.25, 4 x DJL's) (a wrong backward).
            List<String> names = new ArrayList<>();
            for (var e : w.net().namedParameters().entrySet()) if (e.getValue().grad() != null) names.add(e.getKey());
            // A gradient that is zero by construction (a bias feeding a batch norm, whose mean removes it) is float32
            // noise in both libraries, 1e-9 against a float64 1e-17: its relative error says nothing. So the
            // reference norm is floored at 1e-2 of what a typical gradient of that many elements measures (the
            // median over all parameters of the float64 root mean square per element): such a gradient is judged by
            // its absolute error against the typical scale, and a bug that makes it non-zero still fails.
            float[][] ref = new float[names.size()][];
            double[] rms = new double[names.size()];
            for (int i = 0; i < names.size(); i++) {
                ref[i] = s64.gradient(names.get(i));
                rms[i] = l2(ref[i]) / Math.sqrt(ref[i].length);
            }
            double typicalRms = median(rms);
            double[] ep = new double[names.size()], ed = new double[names.size()];
            int worst = 0, beyond = 0, floored = 0;
            for (int i = 0; i < names.size(); i++) {
                float[] r64 = ref[i];
                double floor = 1e-2 * typicalRms * Math.sqrt(r64.length);
                boolean small = l2(r64) < floor;
                if (small) floored++;
                ep[i] = relL2(pulmoGrad(w, names.get(i)), r64, floor);
                ed[i] = relL2(s32.gradient(names.get(i)), r64, floor);
                if (ep[i] / Math.max(ed[i], 1e-12) > ep[worst] / Math.max(ed[worst], 1e-12)) worst = i;
                if (Boolean.getBoolean("pulmo.bench.checkAll"))
                    System.out.printf(Locale.ROOT, "  grad %-50s Pulmo %.1e  DJL %.1e%s%n", names.get(i), ep[i], ed[i], small ? "  (against the typical scale)" : "");
                if (ep[i] > Math.max(0.25, 4 * ed[i])) c.fail("grad " + names.get(i) + " " + fmt(ep[i]) + " / " + fmt(ed[i]));
                if (ep[i] > Math.max(1e-2, 4 * ed[i])) beyond++;
            }
            double mp = median(ep), md = median(ed);
            if (mp > Math.max(1e-2, 2 * md)) c.fail("median gradient error " + fmt(mp) + " / " + fmt(md));
            if (beyond > 0.05 * names.size()) c.fail(beyond + " gradients beyond max(1e-2, 4 x DJL)");
            System.out.printf(Locale.ROOT, "check: against float64, Pulmo / DJL float32: %s; all %d gradients (relative L2): median %s / %s, "
                    + "%d beyond max(1e-2, 4 x DJL), %d judged against the typical scale (zero in float64), furthest from DJL's %s %s / %s%s%n",
                c.text, names.size(), fmt(mp), fmt(md), beyond, floored,
                names.get(worst), fmt(ep[worst]), fmt(ed[worst]), c.failed ? " FAILED (" + c.why + ")" : "");
        }
    }

    private static float[] pulmoGrad(ModelWorkload w, String name) { return w.net().namedParameters().get(name).grad().toArray(); }

    private static String fmt(double v) { return String.format(Locale.ROOT, "%.1e", v); }

    /**
     * Error lines of a check: Pulmo's and DJL's float32 results against DJL's float64 one. Logits and loss fail when
     * Pulmo's error is above max(1e-4, 4 x DJL's); gradients are judged in {@link #check}.
     */
    private static final class Comparison {
        String text = "", why = "";
        boolean failed;

        void add(String what, float[] pulmo, float[] djl32, float[] djl64, double floor) {
            double ep = relDiff(pulmo, djl64), ed = relDiff(djl32, djl64);
            boolean bad = ep > Math.max(floor, 4 * ed);
            if (bad) fail(what + " above max(" + fmt(floor) + ", 4 x DJL)");
            append(what, ep, ed, bad);
        }

        /** A named gradient, shown; judged with all the others. */
        void add(String what, float[] pulmo, float[] djl32, float[] djl64) { append(what, relDiff(pulmo, djl64), relDiff(djl32, djl64), false); }

        private void append(String what, double ep, double ed, boolean bad) {
            text += (text.isEmpty() ? "" : ", ") + what + " " + fmt(ep) + " / " + fmt(ed) + (bad ? " (!)" : "");
        }

        void fail(String reason) {
            failed = true;
            why += (why.isEmpty() ? "" : "; ") + reason;
        }
    }

    /** Peak resident memory of this JVM so far (VmHWM), MB. */
    private static double peakRssMb() { return rssMb("VmHWM"); }

    private static double rssMb(String field) {
        try {
            for (String line : Files.readAllLines(Path.of("/proc/self/status")))
                if (line.startsWith(field + ":")) return Double.parseDouble(line.replaceAll("[^0-9]", "")) / 1024;
        } catch (Exception e) {
            return -1;
        }
        return -1;
    }

    private static void timeSteps(Runnable step, int steps, int warm) {
        StringBuilder w = new StringBuilder("warm-up seconds:");
        for (int i = 0; i < warm; i++) w.append(String.format(Locale.ROOT, " %.3f", time(step, 1)));
        System.out.println(w);
        StringBuilder t = new StringBuilder("step seconds:");
        for (int i = 0; i < steps; i++) t.append(String.format(Locale.ROOT, " %.3f", time(step, 1)));
        System.out.println(t);
        System.out.printf(Locale.ROOT, "load %s%n", load());
    }

    // ---- timing ----

    /**
     * Warms each runnable up, calibrates its calls per sample to about {@link #SAMPLE_SECONDS}, then runs
     * {@link #ROUNDS} rounds of one sample of each in turn. Returns seconds per call, [runnable][round].
     */
    private static double[][] interleave(List<Runnable> rs) throws InterruptedException {
        int[] calls = new int[rs.size()];
        for (int i = 0; i < rs.size(); i++) {
            Runnable r = rs.get(i);
            long end = System.nanoTime() + (long) (WARM_SECONDS * 1e9);
            do r.run(); while (System.nanoTime() < end);
            calls[i] = (int) Math.max(1, Math.round(SAMPLE_SECONDS / time(r, 1)));
            Thread.sleep(PAUSE_MS);
        }
        double[][] t = new double[rs.size()][ROUNDS];
        for (int round = 0; round < ROUNDS; round++)
            for (int i = 0; i < rs.size(); i++) {
                t[i][round] = time(rs.get(i), calls[i]);
                Thread.sleep(PAUSE_MS);
            }
        return t;
    }

    private static double time(Runnable r, int calls) {
        long t0 = System.nanoTime();
        for (int i = 0; i < calls; i++) r.run();
        return (System.nanoTime() - t0) / 1e9 / calls;
    }

    /** a - b - c ... per round. */
    private static double[] minus(double[] a, double[]... bs) {
        double[] d = a.clone();
        for (double[] b : bs) for (int i = 0; i < d.length; i++) d[i] -= b[i];
        return d;
    }

    /** One line: medians, ratio Pulmo/DJL, rates; {@code djlWithChain} (if given) is DJL's time with the chain kept. */
    private static void row(String name, double flops, double[] pulmo, double[] djl, double[] djlWithChain) {
        double p = median(pulmo), d = median(djl);
        String alt = djlWithChain == null ? "" : String.format(Locale.ROOT, " [%.2f with the chain]", p / median(djlWithChain));
        System.out.printf(Locale.ROOT, "%-60s Pulmo %8.3f ms  DJL %8.3f ms  Pulmo/DJL %.2f%s  (GFLOP/s Pulmo %.1f, DJL %.1f; Pulmo min/max %.3f/%.3f, DJL %.3f/%.3f ms)%n",
            name, p * 1e3, d * 1e3, p / d, alt, flops / p / 1e9, flops / d / 1e9,
            min(pulmo) * 1e3, max(pulmo) * 1e3, min(djl) * 1e3, max(djl) * 1e3);
    }

    /** The in-run FMA peak of Pulmo's pool, GFLOP/s (best of 10), printed and returned. */
    private static double control(String when) {
        SgemmBench b = new SgemmBench();
        for (int i = 0; i < 20; i++) b.fmaPeak();
        double best = Double.MAX_VALUE;
        for (int i = 0; i < 10; i++) best = Math.min(best, time(b::fmaPeak, 1));
        double gflops = SgemmBench.fmaPeakFlops(org.pulmo.backend.cpu.Parallel.threads()) / best / 1e9;   // measured in this JVM
        System.out.printf(Locale.ROOT, "FMA control %s: %.1f GFLOP/s (best of 10), load %s%n", when, gflops, load());
        return gflops;
    }

    private static String load() {
        try { return Files.readString(Path.of("/proc/loadavg")).trim(); } catch (Exception e) { return "?"; }
    }

    private static volatile Object sinkHole;

    private static void sink(Object o) { sinkHole = o; }

    private static Shape shape(int[] s) { return new Shape(Arrays.stream(s).asLongStream().toArray()); }

    private static double relDiff(float[] a, float[] ref) {
        double diff = 0, mag = 0;
        for (int i = 0; i < ref.length; i++) {
            diff = Math.max(diff, Math.abs(a[i] - ref[i]));
            mag = Math.max(mag, Math.abs(ref[i]));
        }
        if (a.length != ref.length) throw new IllegalStateException("lengths " + a.length + " vs " + ref.length);
        return diff / mag;
    }

    /** ||a - ref|| / max(||ref||, floor) (2-norms, in double): less moved than {@link #relDiff} by one flipped element. */
    private static double relL2(float[] a, float[] ref, double floor) {
        if (a.length != ref.length) throw new IllegalStateException("lengths " + a.length + " vs " + ref.length);
        double diff = 0;
        for (int i = 0; i < ref.length; i++) {
            double d = (double) a[i] - ref[i];
            diff += d * d;
        }
        return Math.sqrt(diff) / Math.max(l2(ref), floor);
    }

    private static double l2(float[] v) {
        double s = 0;
        for (float x : v) s += (double) x * x;
        return Math.sqrt(s);
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    private static double min(double[] v) { return Arrays.stream(v).min().orElse(0); }

    private static double max(double[] v) { return Arrays.stream(v).max().orElse(0); }

    private static float[] random(long seed, int size) {
        Random rng = new Random(seed);
        float[] a = new float[size];
        for (int i = 0; i < size; i++) a[i] = rng.nextFloat() - 0.5f;
        return a;
    }
}
