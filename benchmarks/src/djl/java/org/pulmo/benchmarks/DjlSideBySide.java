package org.pulmo.benchmarks;

import ai.djl.Device;
import ai.djl.Model;
import ai.djl.basicmodelzoo.cv.classification.ResNetV1;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.nn.Block;
import ai.djl.nn.convolutional.Conv2d;
import ai.djl.pytorch.jni.JniUtils;
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.GradientCollector;
import ai.djl.training.Trainer;
import ai.djl.training.loss.Loss;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
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
import org.pulmo.nn.Module;
import org.pulmo.nn.loss.Losses;
import org.pulmo.optim.Sgd;
import org.pulmo.tensor.MemoryScope;
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
 *   <li>{@code resnet [runs] [steps] [warm-up steps]}: a ResNet-50 training step (batch 8, 224x224, SGD
 *       momentum 0.9, weight decay 1e-4), each side alone in a child JVM started by this one, alternating
 *       Pulmo, DJL, Pulmo, DJL ... {@code runs} times; each child warms up, then times its steps one by
 *       one. Reports images/s per run (batch / median step time) and the ratio of the medians over runs.
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
 * java ... (same) org.pulmo.benchmarks.DjlSideBySide resnet 4 5 4
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
        int a1 = args.length > 1 ? Integer.parseInt(args[1]) : -1;
        int a2 = args.length > 2 ? Integer.parseInt(args[2]) : -1;
        int a3 = args.length > 3 ? Integer.parseInt(args[3]) : -1;
        switch (mode) {
            case "ops" -> ops();
            case "resnet" -> resnetAlternating(a1 > 0 ? a1 : 4, a2 > 0 ? a2 : 5, a3 >= 0 ? a3 : 4);
            case "resnet-pulmo" -> resnetPulmo(a1, a2);
            case "resnet-djl" -> resnetDjl(a1, a2);
            default -> throw new IllegalArgumentException("mode " + mode + ": expected ops, resnet [runs] [steps] [warm-up steps]");
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

    // ---- ResNet-50 training step: separate JVMs ----

    private static final int BATCH = 8, SIZE = 224, CLASSES = 4;

    private static void resnetAlternating(int runs, int steps, int warm) throws Exception {
        System.out.printf(Locale.ROOT, "ResNet-50 train step, batch %d, %dx%d: %d runs per side, alternating, each a fresh JVM with %d warm-up + %d timed steps; load %s%n",
            BATCH, SIZE, SIZE, runs, warm, steps, load());
        control("before");
        List<double[]> pulmo = new ArrayList<>(), djl = new ArrayList<>();
        for (int r = 0; r < runs; r++) {
            pulmo.add(child("resnet-pulmo", steps, warm));
            djl.add(child("resnet-djl", steps, warm));
        }
        control("after");
        // a side whose child crashed (libtorch has died with SIGFPE inside oneDNN's brgemm 1x1 backward on some
        // CPUs) is reported as such; the other side's figures are still printed, and the ratio only from runs where
        // both sides finished
        List<Double> pRate = new ArrayList<>(), dRate = new ArrayList<>(), ratio = new ArrayList<>();
        for (int r = 0; r < runs; r++) {
            double[] pt = pulmo.get(r), dt = djl.get(r);
            if (pt != null) pRate.add(BATCH / median(pt));
            if (dt != null) dRate.add(BATCH / median(dt));
            if (pt != null && dt != null) ratio.add(median(pt) / median(dt));
            System.out.printf(Locale.ROOT, "run %d: Pulmo %s, DJL %s%n", r + 1, rate(pt), rate(dt));
        }
        String p = pRate.isEmpty() ? "crashed in every run" : String.format(Locale.ROOT, "%.2f images/s", median(pRate));
        String d = dRate.isEmpty() ? "crashed in every run" : String.format(Locale.ROOT, "%.2f images/s", median(dRate));
        String r = ratio.isEmpty() ? "no ratio (no run where both sides finished)"
            : String.format(Locale.ROOT, "Pulmo/DJL time %.2f over %d run(s) where both finished", median(ratio), ratio.size());
        System.out.printf(Locale.ROOT, "ResNet-50 train step b8 224x224: median over runs Pulmo %s, DJL %s; %s%n", p, d, r);
        System.out.printf(Locale.ROOT, "load %s%n", load());
        int crashed = (int) (pulmo.stream().filter(t -> t == null).count() + djl.stream().filter(t -> t == null).count());
        if (crashed > 0) {
            System.out.printf(Locale.ROOT, "%d of %d child runs crashed (see their lines above)%n", crashed, 2 * runs);
            failures++;
        }
    }

    /** Child JVMs or comparisons that failed in this run; main exits with 3 when there were any, after printing everything. */
    private static int failures;

    private static String rate(double[] times) {
        return times == null ? "crashed" : String.format(Locale.ROOT, "%.2f images/s (%.3f s/step)", BATCH / median(times), median(times));
    }

    private static double median(List<Double> v) { return median(v.stream().mapToDouble(Double::doubleValue).toArray()); }

    /** Runs this class in a fresh JVM (same java, JVM options and class path); returns its step times in s. */
    private static double[] child(String mode, int steps, int warm) throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add(ProcessHandle.current().info().command().orElse(Path.of(System.getProperty("java.home"), "bin", "java").toString()));
        cmd.addAll(ManagementFactory.getRuntimeMXBean().getInputArguments());
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), DjlSideBySide.class.getName(), mode,
            Integer.toString(steps), Integer.toString(warm)));
        Process proc = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        double[] times = null;
        try (BufferedReader out = new BufferedReader(new InputStreamReader(proc.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line; (line = out.readLine()) != null; ) {
                System.out.println("  [" + mode + "] " + line);
                if (line.startsWith("step seconds:"))
                    times = Arrays.stream(line.substring("step seconds:".length()).trim().split(" ")).mapToDouble(Double::parseDouble).toArray();
            }
        }
        int rc = proc.waitFor();
        if (rc != 0 || times == null) {
            System.out.printf(Locale.ROOT, "  [%s] crashed: exit %d%s%s%n", mode, rc, rc > 128 ? " (signal " + (rc - 128) + ")" : "",
                times == null ? ", no step times" : "");
            return null;
        }
        return times;
    }

    private static void resnetPulmo(int steps, int warm) {
        Module model = ModelRegistry.create("resnet50", CLASSES, SIZE, 1L); // as TrainingStepProfile
        model.train();
        Sgd sgd = Sgd.forModule(model, 0.01f, 0.9f, 1e-4f, false, false);
        Tensor x = Tensor.randn(new Rng(3), BATCH, 3, SIZE, SIZE);
        Tensor labels = Tensor.of(labels(), BATCH);
        System.out.printf(Locale.ROOT, "Pulmo resnet50, pool threads %d, load %s%n", Parallel.threads(), load());
        // each step in its own MemoryScope, as the Trainer runs it: the step's arrays are reused by the next
        MemoryScope.Steps scopes = new MemoryScope.Steps(() -> sgd.trainingState(model));
        timeSteps(() -> {
            try (MemoryScope ignored = scopes.open()) {
                Tensor loss = Losses.crossEntropy(model.forward(x), labels);
                sgd.zeroGrad();
                loss.backward();
                sgd.step();
            }
        }, steps, warm);
    }

    private static void resnetDjl(int steps, int warm) {
        Engine engine = djlEngine();
        // DJL's ResNetV1 (basic model zoo), Trainer with SGD momentum 0.9, weight decay 1e-4
        Block block = ResNetV1.builder().setImageShape(new Shape(3, SIZE, SIZE)).setNumLayers(50).setOutSize(CLASSES).build();
        try (Model djlModel = Model.newInstance("resnet50", engine.getEngineName())) {
            djlModel.setBlock(block);
            DefaultTrainingConfig cfg = new DefaultTrainingConfig(Loss.softmaxCrossEntropyLoss())
                .optOptimizer(Optimizer.sgd().setLearningRateTracker(Tracker.fixed(0.01f)).optMomentum(0.9f).optWeightDecays(1e-4f).build())
                .optDevices(new Device[] {Device.cpu()});
            try (Trainer trainer = djlModel.newTrainer(cfg)) {
                Shape xShape = new Shape(BATCH, 3, SIZE, SIZE);
                trainer.initialize(xShape);
                float[] xData = Tensor.randn(new Rng(3), BATCH, 3, SIZE, SIZE).toArray();
                float[] y = labels();
                NDManager tm = trainer.getManager();
                System.out.printf(Locale.ROOT, "DJL resnet50 (ResNetV1), load %s%n", load());
                timeSteps(() -> {
                    try (NDManager sub = tm.newSubManager(); GradientCollector gc = trainer.newGradientCollector()) {
                        NDArray xs = sub.create(xData, xShape), ys = sub.create(y);
                        NDList pred = trainer.forward(new NDList(xs));
                        gc.backward(trainer.getLoss().evaluate(new NDList(ys), pred));
                    }
                    trainer.step();
                }, steps, warm);
            }
        }
    }

    private static float[] labels() {
        float[] y = new float[BATCH];
        for (int i = 0; i < BATCH; i++) y[i] = i % CLASSES;
        return y;
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

    private static void control(String when) {
        SgemmBench b = new SgemmBench();
        for (int i = 0; i < 20; i++) b.fmaPeak();
        double best = Double.MAX_VALUE;
        for (int i = 0; i < 10; i++) best = Math.min(best, time(b::fmaPeak, 1));
        System.out.printf(Locale.ROOT, "FMA control %s: %.1f GFLOP/s (best of 10), load %s%n", when, SgemmBench.fmaPeakFlops() / best / 1e9, load());
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
