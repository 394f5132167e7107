package org.pulmo.benchmarks;

import java.util.List;
import java.util.concurrent.TimeUnit;
import org.pulmo.backend.Backend;
import org.pulmo.backend.BinaryOp;
import org.pulmo.backend.Pool2dParams;
import org.pulmo.backend.UnaryOp;
import org.pulmo.backend.Backends;
import org.pulmo.tensor.Rng;
import org.pulmo.tensor.Tensor;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The memory-bound ops of a CNN training step on the CPU backend, at ResNet-50 layer1's activation shape
 * [8, 64, 56, 56] (6.4 MB per tensor): ReLU and its backward, a residual add, a per-channel broadcast add,
 * batch-norm forward/backward and 3x3/2 max-pool forward/backward. GB/s = minimum bytes moved / time;
 * {@link #bytesPerOp} lists the bytes of each.
 *
 * <p>{@code java --add-modules jdk.incubator.vector -cp benchmarks/target/benchmarks.jar org.pulmo.benchmarks.LayerOpsBench -f 3 -wi 3 -i 5}
 * (GB/s per fork; plain JMH with {@code -jar benchmarks.jar LayerOpsBench})
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 3, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class LayerOpsBench {

    @Param({"8x64x56x56"})
    public String shape;

    private final Backend cpu = Backends.cpu();
    private Tensor x, y, dy, dyPooled, bias, mean, invStd, weight, beta, argmax;
    private int[] xShape;
    private final Pool2dParams pool = Pool2dParams.of(3, 2, 1);

    @Setup
    public void setup() {
        xShape = shape(shape);
        Rng rng = new Rng(7);
        x = Tensor.randn(rng, xShape);
        y = Tensor.randn(rng, xShape);
        dy = Tensor.randn(rng, xShape);
        int c = xShape[1];
        bias = Tensor.randn(rng, 1, c, 1, 1);
        weight = Tensor.rand(rng, 0.5f, 1.5f, c);
        beta = Tensor.randn(rng, c);
        Backend.Moments mv = cpu.batchNormStats(x);
        mean = mv.mean();
        invStd = cpu.unary(UnaryOp.POW, cpu.unary(UnaryOp.ADD_SCALAR, mv.var(), 1e-5f), -0.5f);
        argmax = cpu.maxPool2d(x, pool).argmax();
        dyPooled = Tensor.randn(rng, argmax.shape());
    }

    /** The {@code shape} parameter "NxCxHxW" as four sizes of at least 1, else an error naming the value. */
    static int[] shape(String value) {
        String[] p = value.split("x", -1);
        int[] s = new int[p.length];
        try {
            for (int i = 0; i < p.length; i++) s[i] = Integer.parseInt(p[i].trim());
        } catch (NumberFormatException e) {
            s = new int[0];
        }
        if (s.length != 4 || java.util.Arrays.stream(s).anyMatch(d -> d < 1))
            throw new IllegalArgumentException("shape must be NxCxHxW, four whole numbers of at least 1 (e.g. 8x64x56x56), got '" + value + "'");
        return s;
    }

    /** Minimum bytes each benchmark must read and write, for one [N, C, H, W] tensor of B bytes. */
    public static String bytesPerOp() {
        return "relu 2B, reluBackward 3B, reluBackwardFused 3B, add 3B, addChannelBias 2B, batchNormForward 3B (stats read x twice + write y),"
            + " batchNormBackward 5B (read x, dy twice, write dx), maxPoolForward 1.5B (read x, write y+argmax at 1/4 size each),"
            + " maxPoolBackward 1.5B (read dy+argmax at 1/4, write dx)";
    }

    /** Minimum traffic of each benchmark in tensors of the benchmark's shape (see {@link #bytesPerOp}). */
    static double tensorsMoved(String method) {
        return switch (method) {
            case "relu", "addChannelBias" -> 2;
            case "reluBackward", "reluBackwardFused", "add", "batchNormForward" -> 3;
            case "batchNormBackward" -> 5;
            case "maxPoolForward", "maxPoolBackward" -> 1.5;
            default -> throw new IllegalArgumentException("no traffic known for " + method);
        };
    }

    /** GB of minimum traffic of one op of {@code r}. */
    static double gigabytes(org.openjdk.jmh.results.RunResult r) {
        String name = r.getParams().getBenchmark();
        long elements = 1;
        for (String d : r.getParams().getParam("shape").split("x")) elements *= Long.parseLong(d);
        return tensorsMoved(name.substring(name.lastIndexOf('.') + 1)) * elements * Float.BYTES / 1e9;
    }

    /**
     * Runs JMH with the given options and prints GB/s of minimum traffic per fork and their median, with the tensor size
     * beside the machine's last-level cache where Linux tells it: data that fits the cache measures cache bandwidth.
     * {@code -p shape=32x64x56x56} (25.7 MB a tensor) goes past a 32 MiB cache.
     */
    public static void main(String[] args) {
        Mains.run("LayerOpsBench", () -> {
            Params.Open shapes = (name, value) -> { if (name.equals("shape")) shape(value); return name.equals("shape"); };
            if (Rates.run(LayerOpsBench.class, args, shapes, "GB/s", LayerOpsBench::gigabytes).isEmpty()) return;   // it listed or helped
            String llc = lastLevelCache();
            System.out.println("Traffic per op: " + bytesPerOp() + " (B: one tensor of the shape, 4 bytes an element); last-level cache here: "
                + (llc == null ? "unknown (Linux's /sys/devices/system/cpu/cpu0/cache is not readable)" : llc)
                + ": where an op's tensors fit in it, the figure is cache bandwidth, not memory's");
        });
    }

    /** The size of the largest CPU cache Linux lists (e.g. "32768K"), or null elsewhere. */
    static String lastLevelCache() {
        String best = null;
        long bestBytes = -1;
        for (int i = 0; i < 8; i++) {
            java.nio.file.Path f = java.nio.file.Path.of("/sys/devices/system/cpu/cpu0/cache/index" + i + "/size");
            try {
                if (!java.nio.file.Files.exists(f)) continue;
                String size = java.nio.file.Files.readString(f).trim();
                long bytes = cacheBytes(size);
                if (bytes > bestBytes) { best = size; bestBytes = bytes; }
            } catch (java.io.IOException e) {
                return best;
            }
        }
        return best;
    }

    /** Linux's cache size text ("48K", "32768K", "1M") in bytes; -1 for anything else. */
    static long cacheBytes(String size) {
        try {
            char unit = size.isEmpty() ? ' ' : Character.toUpperCase(size.charAt(size.length() - 1));
            long scale = unit == 'K' ? 1L << 10 : unit == 'M' ? 1L << 20 : unit == 'G' ? 1L << 30 : 1;
            return Long.parseLong(scale == 1 ? size : size.substring(0, size.length() - 1)) * scale;
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    @Benchmark public Tensor relu() { return Recycled.op(() -> cpu.unary(UnaryOp.RELU, x, 0)); }

    @Benchmark public Tensor reluBackward() { return Recycled.op(() -> cpu.binary(BinaryOp.MUL, dy, cpu.unary(UnaryOp.STEP, y, 0))); }

    /** The fused form autograd uses: dx = y > 0 ? dy : 0 in one binary op (3B). */
    @Benchmark public Tensor reluBackwardFused() { return Recycled.op(() -> cpu.binary(BinaryOp.RELU_BACKWARD, dy, y)); }

    @Benchmark public Tensor add() { return Recycled.op(() -> cpu.binary(BinaryOp.ADD, x, y)); }

    @Benchmark public Tensor addChannelBias() { return Recycled.op(() -> cpu.binary(BinaryOp.ADD, x, bias)); }

    @Benchmark public Tensor batchNormForward() {
        return Recycled.op(() -> cpu.batchNormApply(x, cpu.batchNormStats(x).mean(), invStd, weight, beta));
    }

    @Benchmark public Backend.BatchNormGrads batchNormBackward() { return Recycled.op(() -> cpu.batchNormBackward(dy, x, mean, invStd, weight)); }

    @Benchmark public Backend.MaxPoolOut maxPoolForward() { return Recycled.op(() -> cpu.maxPool2d(x, pool)); }

    @Benchmark public Tensor maxPoolBackward() {
        return Recycled.op(() -> cpu.maxPool2dBackward(dyPooled, argmax, xShape));
    }
}
