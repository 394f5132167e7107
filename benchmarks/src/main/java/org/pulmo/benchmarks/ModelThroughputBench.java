package org.pulmo.benchmarks;

import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.TimeUnit;
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
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.CommandLineOptionException;
import org.openjdk.jmh.runner.options.CommandLineOptions;
import org.pulmo.backend.Backends;
import org.pulmo.cuda.CudaBackend;
import org.pulmo.tensor.Device;

/**
 * End-to-end throughput: a training step (forward + loss + backward + SGD step) and inference of DPN-92-SE
 * (4 classes), MA-Net on ResNet-50 (pairs, 2 classes) and ResNet-50 (1000 classes), through the library's
 * own training code path ({@link ModelWorkload}: ModelRegistry, Losses or MA-Net's loss, Sgd,
 * MemoryScope.Steps). One op = one step or one forward of the whole batch; images/s = images per step / time,
 * where an MA-Net pair counts as two images (both pass through the backbone; pairs/s is half of it).
 *
 * <p>Parameters: {@code model}; {@code device} cpu or cuda; {@code size} "small" (batch 4 at 112 x 112, for a
 * CPU) or "paper" (GPU: training batch 32 for DPN-92-SE and ResNet-50, 16 pairs for MA-Net; inference batch
 * 64; 224 x 224), or "BxS"; {@code precision} tf32 (the CUDA backend's default) or fp32 (strict), ignored on
 * the CPU (a cpu row's precision means nothing); {@code recorded} false or true: the training step or the inference
 * recorded once as a CUDA graph and replayed ({@link org.pulmo.optim.CapturedStep}; cuda only: true with device=cpu is
 * refused, since the CPU backend runs every op as it is called). Each op ends with a result read back to the host, so
 * device time is all in. Every -p value is checked before JMH forks ({@link #OPEN}).
 *
 * <p>images/s: {@code java --add-modules jdk.incubator.vector -cp benchmarks/target/benchmarks.jar org.pulmo.benchmarks.ModelThroughputBench}
 * <br>GPU: {@code ... ModelThroughputBench -p device=cuda -p size=paper} (without a usable GPU the cuda runs are skipped with the reason)
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 2, time = 5)
@Measurement(iterations = 3, time = 10)
@Fork(value = 1, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xss4m", "-Xmx8g"})
public class ModelThroughputBench {

    @State(Scope.Benchmark)
    public abstract static class Workload {
        @Param({"dpn92-se", "manet-resnet50", "resnet50"}) public String model;
        @Param({"cpu"}) public String device;
        @Param({"small"}) public String size;
        @Param({"tf32"}) public String precision;
        @Param({"false"}) public String recorded;
        ModelWorkload w;

        abstract ModelWorkload.Pass pass();

        /** Whether the step or the inference is recorded (CUDA graphs). */
        boolean recorded() {
            if (!recorded.equals("true") && !recorded.equals("false"))
                throw new IllegalArgumentException("recorded must be true or false, got " + recorded);
            if (recorded.equals("true") && device.equals("cpu"))   // the row would say recorded=true of an ordinary step
                throw new IllegalArgumentException("recorded=true needs device=cuda: the cpu backend runs every op as it is called, so nothing is recorded");
            return recorded.equals("true");
        }

        @Setup(Level.Trial) public void setup() {
            if (!precision.equals("tf32") && !precision.equals("fp32"))
                throw new IllegalArgumentException("precision must be tf32 or fp32, got " + precision);
            w = new ModelWorkload(model, pass(), ModelWorkload.Size.of(size, model, pass()), device, precision.equals("fp32"), recorded());
            System.out.println(w.describe());
            List<Double> ms = settle(() -> {
                long t0 = System.nanoTime();
                w.run();
                return (System.nanoTime() - t0) / 1e6;
            });
            System.out.println("untimed steps before JMH's warm-up (ms): " + ms.stream().map(x -> String.format(java.util.Locale.ROOT, "%.0f", x)).toList());
        }

        @TearDown(Level.Trial) public void tearDown() { w.close(); }
    }

    public static class Train extends Workload {
        @Override ModelWorkload.Pass pass() { return ModelWorkload.Pass.TRAIN; }
    }

    public static class Infer extends Workload {
        @Override ModelWorkload.Pass pass() { return ModelWorkload.Pass.INFER; }
    }

    @Benchmark public float trainStep(Train st) { return st.w.trainStep(); }

    @Benchmark public float inference(Infer st) { return st.w.infer(); }

    /** Untimed steps run in the set-up: at least {@value #SETTLE_MIN}, at most {@value #SETTLE_MAX}. */
    static final int SETTLE_MIN = 2, SETTLE_MAX = 6;

    /**
     * Runs {@code step} (which returns its own time) until two steps in a row took within 10 % of each other, at least
     * {@link #SETTLE_MIN} and at most {@link #SETTLE_MAX} times; returns the times. The first steps fill the host's array
     * pools and the device allocator's cache, choose cuDNN's algorithms and wait for the JIT; a step of several seconds
     * (the papers' 224 x 224 on a CPU) fits JMH's 5 s warm-up iterations only once or twice, so without these it would
     * be timed cold. At the small size they cost well under a second.
     */
    static List<Double> settle(java.util.function.DoubleSupplier step) {
        List<Double> ms = new ArrayList<>();
        while (ms.size() < SETTLE_MAX) {
            ms.add(step.getAsDouble());
            int k = ms.size();
            if (k >= SETTLE_MIN && Math.abs(ms.get(k - 1) - ms.get(k - 2)) <= 0.1 * Math.max(ms.get(k - 1), ms.get(k - 2))) break;
        }
        return ms;
    }

    /** The parameters whose values are not {@code @Param}'s list: any registered model, a device, a size, both precisions. */
    static final Params.Open OPEN = (name, value) -> switch (name) {
        case "model" -> { org.pulmo.models.ModelRegistry.entry(value); yield true; }
        case "device" -> {   // as main and the set-up compare it: "cpu", "cuda" or "cuda:N", lower case
            Device d = Device.parse(value);
            if (!value.equals(d.toString()) && !value.equals("cuda")) throw new IllegalArgumentException("write it " + d);
            yield true;
        }
        case "size" -> { ModelWorkload.Size.of(value, "resnet50", ModelWorkload.Pass.TRAIN); yield true; }
        case "precision" -> { if (!value.equals("tf32") && !value.equals("fp32")) throw new IllegalArgumentException("not tf32 or fp32"); yield true; }
        case "recorded" -> { if (!value.equals("true") && !value.equals("false")) throw new IllegalArgumentException("not true or false"); yield true; }
        default -> false;
    };

    /** Images per op of a JMH result of this class (its benchmark method and @Params). */
    static double imagesPerOp(RunResult r) {
        var p = r.getParams();
        ModelWorkload.Pass pass = p.getBenchmark().endsWith("inference") ? ModelWorkload.Pass.INFER : ModelWorkload.Pass.TRAIN;
        String model = p.getParam("model");
        return ModelWorkload.imagesPerStep(model, ModelWorkload.Size.of(p.getParam("size"), model, pass).batch());
    }

    /**
     * Runs JMH with the given options and prints images/s per fork and their median. A cuda run without a
     * usable GPU is skipped with the reason (the cpu runs still go).
     */
    public static void main(String[] args) {
        Mains.run("ModelThroughputBench", () -> measure(args));
    }

    private static void measure(String[] args) throws RunnerException, CommandLineOptionException {
        CommandLineOptions cli = new CommandLineOptions(args);
        List<String> devices = new ArrayList<>(cli.getParameter("device").orElse(List.of("cpu")));
        String why = Backends.unavailableReason(Device.cuda(0));
        // -l, -h and the like answer without a GPU; a run with nothing left to measure is not one to exit 0 from
        if (devices.stream().anyMatch(d -> d.startsWith("cuda")) && why != null && !Rates.onlyAsks(args)) {
            devices.removeIf(d -> d.startsWith("cuda"));
            if (devices.isEmpty()) throw Mains.refuse("nothing measured: no usable GPU for -p device=cuda: " + why);
            System.out.println("ModelThroughputBench: cuda runs skipped, no usable GPU: " + why);
            args = withDevices(args, devices);
        }
        if (cli.getParameter("recorded").orElse(List.of()).contains("true") && devices.contains("cpu"))
            throw Mains.refuse("-p recorded=true needs -p device=cuda alone: the CPU backend runs every op as it is called, so nothing is recorded");
        if (Rates.run(ModelThroughputBench.class, args, OPEN, "images/s", ModelThroughputBench::imagesPerOp).isEmpty()) return;   // it listed or helped
        if (devices.contains("cuda") && Backends.of(Device.cuda(0)) instanceof CudaBackend cuda) {
            // with -f 0 the models ran in this JVM: the algorithms cuDNN chose for their convolutions (forked runs leave none here)
            var plans = cuda.convolutionAlgorithms();
            if (!plans.isEmpty()) System.out.println("cuDNN convolution algorithms chosen (" + plans.size() + "):\n  " + String.join("\n  ", plans));
        }
    }

    /** The arguments with every "-p device=..." replaced by one listing {@code devices}. */
    static String[] withDevices(String[] args, Collection<String> devices) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < args.length; i++) {
            if (args[i].equals("-p") && i + 1 < args.length && args[i + 1].startsWith("device=")) { i++; continue; }
            out.add(args[i]);
        }
        out.add("-p");
        out.add("device=" + String.join(",", devices));
        return out.toArray(String[]::new);
    }
}
