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
import ai.djl.training.DefaultTrainingConfig;
import ai.djl.training.GradientCollector;
import ai.djl.training.Trainer;
import ai.djl.training.loss.Loss;
import ai.djl.training.optimizer.Optimizer;
import ai.djl.training.tracker.Tracker;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Locale;
import java.util.Random;
import org.pulmo.backend.Conv2dParams;
import org.pulmo.backend.cpu.CpuConv;
import org.pulmo.backend.cpu.Sgemm;
import org.pulmo.models.ModelRegistry;
import org.pulmo.nn.Module;
import org.pulmo.nn.loss.Losses;
import org.pulmo.optim.Sgd;
import org.pulmo.tensor.Rng;
import org.pulmo.tensor.Tensor;

/**
 * CPU side by side with DJL's PyTorch engine (libtorch 2.7.1), in one JVM: SGEMM 1024, dense 3x3 conv
 * forward (N=8, 128->128, 56x56), DPN-92's grouped 3x3 conv forward (N=8, C=96, 32 groups, 56x56) and a
 * ResNet-50 training step (batch 8, 224x224, SGD momentum 0.9). Each pair is warmed up, then measured in
 * interleaved rounds (Pulmo, DJL, Pulmo, DJL ...); the report gives the median time per call of each and
 * the ratio Pulmo/DJL (time; below 1 means Pulmo is faster). An FMA-rate control ({@link SgemmBench#fmaPeak})
 * and the load average are printed before and after.
 *
 * <p>Only compiled in the {@code djl} profile of the benchmarks module (see benchmarks/pom.xml):
 * <pre>
 * mvn -B -ntp -P djl -pl benchmarks -am -DskipTests compile dependency:build-classpath -Dmdep.outputFile=$PWD/djl-cp.txt
 * java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -Dai.djl.offline=true \
 *   -cp benchmarks/target/classes:$(cat djl-cp.txt) org.pulmo.benchmarks.DjlSideBySide [resnet steps, 0 to skip] [resnet warm-up steps]
 * </pre>
 */
public final class DjlSideBySide {
    private DjlSideBySide() {}

    public static void main(String[] args) throws Exception {
        int trainSteps = args.length > 0 ? Integer.parseInt(args[0]) : 3;
        int trainWarm = args.length > 1 ? Integer.parseInt(args[1]) : 2;
        System.out.printf(Locale.ROOT, "threads %d, load %s%n", Runtime.getRuntime().availableProcessors(), load());
        control("before");
        Engine engine = Engine.getEngine("PyTorch");
        System.out.println("DJL engine " + engine.getEngineName() + " " + engine.getVersion());
        try (NDManager mgr = engine.newBaseManager()) {
            sgemm(mgr, 1024);
            conv(mgr, "dense 3x3 fwd N=8 128->128 56x56", 8, 128, 56, 128, 1, 5, 11);
            conv(mgr, "grouped 3x3 fwd N=8 C=96 g=32 56x56", 8, 96, 56, 96, 32, 20, 11);
        }
        if (trainSteps > 0) resnet50(trainSteps, trainWarm);
        control("after");
        System.out.printf(Locale.ROOT, "load %s%n", load());
    }

    // ---- pairs ----

    private static void sgemm(NDManager mgr, int n) {
        float[] a = random(1, n * n), b = random(2, n * n), c = new float[n * n];
        NDArray da = mgr.create(a, new Shape(n, n)), db = mgr.create(b, new Shape(n, n));
        Runnable pulmo = () -> Sgemm.sgemm(false, false, n, n, n, a, 0, n, b, 0, n, 0f, c, 0, n);
        Runnable djl = () -> da.matMul(db).close();
        compare("sgemm " + n, 2.0 * n * n * n, pulmo, djl, 20, 15);
    }

    private static void conv(NDManager mgr, String name, int n, int ch, int hw, int cOut, int groups, int calls, int rounds) {
        int k = 3;
        Conv2dParams p = Conv2dParams.of(1, 1, 1, groups);
        float[] x = random(3, n * ch * hw * hw), w = random(4, cOut * (ch / groups) * k * k);
        NDArray dx = mgr.create(x, new Shape(n, ch, hw, hw));
        NDArray dw = mgr.create(w, new Shape(cOut, ch / groups, k, k));
        NDArray bias = mgr.zeros(new Shape(cOut));
        Shape one = new Shape(1, 1);
        Runnable pulmo = () -> CpuConv.forward(x, n, ch, hw, hw, w, cOut, k, k, p);
        Runnable djl = () -> Conv2d.conv2d(dx, dw, bias, one, one, one, groups).close();
        double flops = 2.0 * n * cOut * hw * hw * (ch / groups) * k * k;
        compare(name, flops, pulmo, djl, calls, rounds);
    }

    private static void resnet50(int steps, int warmSteps) {
        int batch = 8, size = 224, classes = 4;
        // Pulmo: as TrainingStepProfile
        Module model = ModelRegistry.create("resnet50", classes, size, 1L);
        model.train();
        Sgd sgd = Sgd.forModule(model, 0.01f, 0.9f, 1e-4f, false, false);
        Tensor x = Tensor.randn(new Rng(3), batch, 3, size, size);
        float[] y = new float[batch];
        for (int i = 0; i < batch; i++) y[i] = i % classes;
        Tensor labels = Tensor.of(y, batch);
        Runnable pulmo = () -> {
            Tensor loss = Losses.crossEntropy(model.forward(x), labels);
            sgd.zeroGrad();
            loss.backward();
            sgd.step();
        };
        // DJL: its ResNetV1 (basic model zoo), Trainer with SGD momentum 0.9, weight decay 1e-4
        Block block = ResNetV1.builder().setImageShape(new Shape(3, size, size)).setNumLayers(50).setOutSize(classes).build();
        try (Model djlModel = Model.newInstance("resnet50", "PyTorch")) {
            djlModel.setBlock(block);
            DefaultTrainingConfig cfg = new DefaultTrainingConfig(Loss.softmaxCrossEntropyLoss())
                .optOptimizer(Optimizer.sgd().setLearningRateTracker(Tracker.fixed(0.01f)).optMomentum(0.9f).optWeightDecays(1e-4f).build())
                .optDevices(new Device[] {Device.cpu()});
            try (Trainer trainer = djlModel.newTrainer(cfg)) {
                Shape xShape = new Shape(batch, 3, size, size);
                trainer.initialize(xShape);
                float[] xData = x.toArray();
                NDManager tm = trainer.getManager();
                Runnable djl = () -> {
                    try (NDManager sub = tm.newSubManager(); GradientCollector gc = trainer.newGradientCollector()) {
                        NDArray xs = sub.create(xData, xShape), ys = sub.create(y);
                        NDList pred = trainer.forward(new NDList(xs));
                        NDArray loss = trainer.getLoss().evaluate(new NDList(ys), pred);
                        gc.backward(loss);
                    }
                    trainer.step();
                };
                double[][] t = rounds(pulmo, djl, 1, steps, warmSteps);
                report("resnet50 train step b8 224x224", 0, t, batch);
                System.out.printf(Locale.ROOT, "  per round after %d warm-up, Pulmo s: %s%n  per round, DJL s:   %s%n", warmSteps,
                    Arrays.toString(Arrays.stream(t[0]).mapToObj(v -> String.format(Locale.ROOT, "%.3f", v)).toArray()),
                    Arrays.toString(Arrays.stream(t[1]).mapToObj(v -> String.format(Locale.ROOT, "%.3f", v)).toArray()));
            }
        }
    }

    // ---- timing ----

    private static void compare(String name, double flops, Runnable pulmo, Runnable djl, int calls, int rounds) {
        warm(pulmo, 3.0);
        warm(djl, 3.0);
        report(name, flops, rounds(pulmo, djl, calls, rounds, 1), 0);
    }

    private static void warm(Runnable r, double seconds) {
        long end = System.nanoTime() + (long) (seconds * 1e9);
        do r.run(); while (System.nanoTime() < end);
    }

    /** {@code rounds} rounds of (Pulmo x calls, DJL x calls) after {@code warmRounds} unmeasured; seconds per call. */
    private static double[][] rounds(Runnable pulmo, Runnable djl, int calls, int rounds, int warmRounds) {
        double[][] t = new double[2][rounds];
        for (int r = -warmRounds; r < rounds; r++) {
            double tp = time(pulmo, calls), td = time(djl, calls);
            if (r >= 0) { t[0][r] = tp; t[1][r] = td; }
        }
        return t;
    }

    private static double time(Runnable r, int calls) {
        long t0 = System.nanoTime();
        for (int i = 0; i < calls; i++) r.run();
        return (System.nanoTime() - t0) / 1e9 / calls;
    }

    private static void report(String name, double flops, double[][] t, int images) {
        double p = median(t[0]), d = median(t[1]);
        String rate = flops > 0
            ? String.format(Locale.ROOT, "Pulmo %.1f GFLOP/s, DJL %.1f GFLOP/s", flops / p / 1e9, flops / d / 1e9)
            : String.format(Locale.ROOT, "Pulmo %.2f images/s, DJL %.2f images/s", images / p, images / d);
        System.out.printf(Locale.ROOT, "%-40s Pulmo %9.3f ms  DJL %9.3f ms  Pulmo/DJL time %.2f  (%s; %d rounds, Pulmo min/max %.3f/%.3f, DJL min/max %.3f/%.3f ms)%n",
            name, p * 1e3, d * 1e3, p / d, rate, t[0].length,
            min(t[0]) * 1e3, max(t[0]) * 1e3, min(t[1]) * 1e3, max(t[1]) * 1e3);
    }

    private static void control(String when) {
        SgemmBench b = new SgemmBench();
        for (int i = 0; i < 20; i++) b.fmaPeak();
        double best = Double.MAX_VALUE;
        for (int i = 0; i < 10; i++) best = Math.min(best, time(b::fmaPeak, 1));
        System.out.printf(Locale.ROOT, "FMA control %s: %.1f GFLOP/s (best of 10)%n", when, SgemmBench.fmaPeakFlops() / best / 1e9);
    }

    private static String load() {
        try { return Files.readString(Path.of("/proc/loadavg")).trim(); } catch (Exception e) { return "?"; }
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
