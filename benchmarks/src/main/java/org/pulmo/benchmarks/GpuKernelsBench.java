package org.pulmo.benchmarks;

import java.util.Collection;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import jcuda.driver.JCudaDriver;
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
import org.pulmo.backend.Backend;
import org.pulmo.backend.Backends;
import org.pulmo.backend.Conv2dParams;
import org.pulmo.cuda.CudaBackend;
import org.pulmo.cuda.CudaRuntime;
import org.pulmo.cuda.CudaStorage;
import org.pulmo.tensor.Device;
import org.pulmo.tensor.MemoryScope;
import org.pulmo.tensor.Rng;
import org.pulmo.tensor.Tensor;

/**
 * The CUDA backend's showcase kernels on MA-Net's shapes (batch 16, ResNet-50 stages 1-4), against baselines:
 * <ul>
 * <li>MAB forward, backward and forward + backward as mab.cu's fused kernels as the backend picks them (FUSED: a
 *     warp per plane up to 1024 values, so at stages 2-4, else a block per plane), the block per plane at every
 *     stage (BLOCK, the kernel before the warp version), its three-launch naive
 *     version (NAIVE; its backward is the composed one), and Backend's default composed from the primitive
 *     elementwise, reduction and exp kernels (COMPOSED, {@link ComposedBackend});
 * <li>the GPU's copy bandwidth on the same element counts: a device-to-device {@code cuMemcpyDtoDAsync}
 *     (MEMCPY) and the backend's own copy kernel (KERNEL); the MAB target is at least 80 % of MEMCPY's GB/s;
 * <li>the elementwise kernels DPN-92-SE's step runs most, on its feature maps at batch 32 ({@link Ew}), in GB/s as a
 *     share of the largest copy's;
 * <li>GEMM as cuBLAS against the hand-written tiled SGEMM (2 m n k FLOPs);
 * <li>cuDNN convolution forward and both backwards on {@link Conv2dBench.Layer}'s layer shapes (GFLOP/s), printing
 *     the algorithm cuDNN chose for each direction (by find or heuristics, {@code -Dpulmo.cudnn.algo}) at the end of
 *     each trial.
 * </ul>
 * Every benchmark method synchronises the stream before returning, so the time is the GPU's work, not the
 * launch; outputs go back to the allocator through a {@link MemoryScope} per call. Inputs are allocated once
 * per trial and freed in the teardown. Strict FP32 throughout (cuBLAS and cuDNN without TF32).
 *
 * <p>Useful traffic (what each version must at least move, {@link AttentionBench.Traffic}): MAB forward reads
 * a, b and writes F_am and lse, 4 (3 E + N C) bytes for E elements; backward 4 (5 E + N C); forward +
 * backward as one op 4 * 6 E (PyTorch's reference counts the same); copy 2 * 4 E. GB/s is that traffic over the
 * time, so the versions compare on the same work.
 *
 * <p>Without a usable GPU {@link #main} prints the probe's reason and runs nothing (under plain JMH the trial
 * setups fail with that reason).
 * <p>{@code java --add-modules jdk.incubator.vector --enable-native-access=ALL-UNNAMED -cp benchmarks/target/benchmarks.jar org.pulmo.benchmarks.GpuKernelsBench [JMH options]}
 * (GB/s, % of copy bandwidth, GFLOP/s)
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--add-modules=jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xmx4g"})
public class GpuKernelsBench {

    static CudaBackend device() {
        String why = CudaRuntime.probe();
        if (why != null) throw new IllegalStateException("GpuKernelsBench needs a GPU: " + why);
        CudaBackend be = (CudaBackend) Backends.of(Device.cuda(0));
        be.setStrictFp32(true);
        return be;
    }

    public enum MabShape {
        STAGE1(16, 256, 56), STAGE2(16, 512, 28), STAGE3(16, 1024, 14), STAGE4(16, 2048, 7);

        final int n, c, hw;

        MabShape(int n, int c, int hw) { this.n = n; this.c = c; this.hw = hw; }

        long elements() { return (long) n * c * hw * hw; }

        int[] dims() { return new int[] {n, c, hw, hw}; }
    }

    @State(Scope.Benchmark)
    public static class Mab {
        @Param({"FUSED", "BLOCK", "NAIVE", "COMPOSED"}) public String version;
        @Param({"STAGE1", "STAGE2", "STAGE3", "STAGE4"}) public MabShape shape;
        CudaBackend be;
        Backend composed;
        Tensor a, b, g, lse;

        @Setup(Level.Trial) public void setup() {
            oneOf("version", version, "FUSED", "BLOCK", "NAIVE", "COMPOSED");
            be = device();
            composed = ComposedBackend.of(be);
            Rng rng = new Rng(1);
            a = Tensor.randn(rng, shape.dims()).to(be.device());
            b = Tensor.randn(rng, shape.dims()).to(be.device());
            g = Tensor.randn(rng, shape.dims()).to(be.device());
            lse = be.mabForward(a, b).lse();
            be.runtime().synchronize();
        }

        @TearDown(Level.Trial) public void tearDown() {
            for (Tensor t : new Tensor[] {a, b, g, lse}) t.storage().release();
            be.emptyCache();
        }

        Backend.MabOut forward() {
            return switch (version) {
                case "FUSED" -> be.mabForward(a, b, CudaBackend.MabVersion.FUSED);
                case "BLOCK" -> be.mabForward(a, b, CudaBackend.MabVersion.BLOCK);
                case "NAIVE" -> be.mabForward(a, b, CudaBackend.MabVersion.NAIVE);
                default -> composed.mabForward(a, b);
            };
        }

        /** The naive version has no backward of its own; it is timed as the composed one. */
        Backend.MabGrads backward(Tensor lse) {
            return switch (version) {
                case "FUSED" -> be.mabBackward(a, b, g, lse);
                case "BLOCK" -> be.mabBackward(a, b, g, lse, CudaBackend.MabVersion.BLOCK);
                default -> composed.mabBackward(a, b, g, lse);
            };
        }
    }

    @Benchmark public Object mabForward(Mab st) {
        try (MemoryScope s = MemoryScope.open()) {
            Backend.MabOut y = st.forward();
            st.be.runtime().synchronize();
            return y;
        }
    }

    @Benchmark public Object mabBackward(Mab st) {
        try (MemoryScope s = MemoryScope.open()) {
            Backend.MabGrads d = st.backward(st.lse);
            st.be.runtime().synchronize();
            return d;
        }
    }

    /** MA-Net's default backward, the attention map constant (mab.cu's mab_constant_map_backward, or composed). */
    @Benchmark public Object mabConstantMapBackward(Mab st) {
        try (MemoryScope s = MemoryScope.open()) {
            Tensor d = "FUSED".equals(st.version) || "BLOCK".equals(st.version) ? st.be.mabConstantMapBackward(st.a, st.b, st.g, st.lse)
                : st.composed.mabConstantMapBackward(st.a, st.b, st.g, st.lse);
            st.be.runtime().synchronize();
            return d;
        }
    }

    /** What a training step runs for one MAB: the forward, then the backward from its lse (PyTorch's "fwd+bwd"). */
    @Benchmark public Object mabForwardBackward(Mab st) {
        try (MemoryScope s = MemoryScope.open()) {
            Backend.MabOut y = st.forward();
            Backend.MabGrads d = st.backward(y.lse());
            st.be.runtime().synchronize();
            return d;
        }
    }

    @State(Scope.Benchmark)
    public static class Copy {
        @Param({"MEMCPY", "KERNEL"}) public String version;
        @Param({"STAGE1", "STAGE2", "STAGE3", "STAGE4"}) public MabShape shape;
        CudaBackend be;
        Tensor src, dst;

        @Setup(Level.Trial) public void setup() {
            oneOf("version", version, "MEMCPY", "KERNEL");
            be = device();
            src = Tensor.randn(new Rng(5), shape.dims()).to(be.device());
            dst = Tensor.zeros(shape.dims()).to(be.device());
            be.runtime().synchronize();
        }

        @TearDown(Level.Trial) public void tearDown() {
            src.storage().release();
            dst.storage().release();
            be.emptyCache();
        }
    }

    /** Device-to-device copy of one MAB-sized map: the bandwidth the MAB kernels are measured against. */
    @Benchmark public Object copy(Copy st) {
        if (st.version.equals("MEMCPY")) {
            long bytes = st.shape.elements() * Float.BYTES;
            int rc = JCudaDriver.cuMemcpyDtoDAsync(((CudaStorage) st.dst.storage()).pointer(), ((CudaStorage) st.src.storage()).pointer(),
                bytes, st.be.runtime().stream());
            if (rc != 0) throw new IllegalStateException("cuMemcpyDtoDAsync of " + bytes + " bytes failed: CUDA error " + rc);
        } else {
            st.be.copy(st.src, st.dst);
        }
        st.be.runtime().synchronize();
        return st.dst;
    }

    /** DPN-92-SE's feature maps at batch 32: conv2's concatenated input [32, 336, 56, 56] and conv5's [32, 2688, 7, 7]. */
    public enum EwShape {
        DPN_CONV2(32, 336, 56, 80), DPN_CONV5(32, 2688, 7, 640);

        final int n, c, hw, slice;   // slice: the channels a block appends, copied into [n, c, hw, hw] at channel c - slice

        EwShape(int n, int c, int hw, int slice) { this.n = n; this.c = c; this.hw = hw; this.slice = slice; }

        long elements() { return (long) n * c * hw * hw; }
    }

    /**
     * The elementwise kernels a DPN-92-SE step runs most (after the 64-bit index arithmetic went, to be set against the
     * copy bandwidth): RELU (ew_unary, after every cuDNN batch norm: 8 B per element), RELU_BACKWARD (ew_binary, 12 B),
     * ADD_RELU (ew_add_relu, ResNet's residual: 12 B), and the strided ones on a channel slice of a concatenation:
     * SLICE_COPY (ew_copy of [n, slice, h, w] into it: 8 B per element of the slice) and SLICE_AXPY (ew_axpy, a gradient
     * added into a slice: 12 B).
     */
    @State(Scope.Benchmark)
    public static class Ew {
        @Param({"RELU", "RELU_BACKWARD", "ADD_RELU", "SLICE_COPY", "SLICE_AXPY"}) public String op;
        @Param({"DPN_CONV2", "DPN_CONV5"}) public EwShape shape;
        CudaBackend be;
        Tensor a, b, whole, part, target;

        @Setup(Level.Trial) public void setup() {
            oneOf("op", op, "RELU", "RELU_BACKWARD", "ADD_RELU", "SLICE_COPY", "SLICE_AXPY");
            be = device();
            Rng rng = new Rng(7);
            int[] dims = {shape.n, shape.c, shape.hw, shape.hw};
            a = Tensor.randn(rng, dims).to(be.device());
            b = Tensor.randn(rng, dims).to(be.device());
            part = Tensor.randn(rng, shape.n, shape.slice, shape.hw, shape.hw).to(be.device());
            whole = Tensor.zeros(dims).to(be.device());
            target = whole.narrow(1, shape.c - shape.slice, shape.slice);
            be.runtime().synchronize();
        }

        @TearDown(Level.Trial) public void tearDown() {
            for (Tensor t : new Tensor[] {a, b, whole, part}) t.storage().release();
            be.emptyCache();
        }

        /** Bytes an op must at least move on a shape. */
        static long bytes(String op, EwShape shape) {
            long e = shape.elements(), s = (long) shape.n * shape.slice * shape.hw * shape.hw;
            return Float.BYTES * switch (op) {
                case "RELU" -> 2 * e;
                case "RELU_BACKWARD", "ADD_RELU" -> 3 * e;
                case "SLICE_COPY" -> 2 * s;
                default -> 3 * s;
            };
        }
    }

    @Benchmark public Object elementwise(Ew st) {
        try (MemoryScope s = MemoryScope.open()) {
            Object r = switch (st.op) {
                case "RELU" -> st.be.unary(org.pulmo.backend.UnaryOp.RELU, st.a, 0f);
                case "RELU_BACKWARD" -> st.be.binary(org.pulmo.backend.BinaryOp.RELU_BACKWARD, st.a, st.b);
                case "ADD_RELU" -> st.be.addRelu(st.a, st.b);
                case "SLICE_COPY" -> { st.be.copy(st.part, st.target); yield st.target; }
                default -> { st.be.addInPlace(st.target, st.part, 1f); yield st.target; }
            };
            st.be.runtime().synchronize();
            return r;
        }
    }

    @State(Scope.Benchmark)
    public static class Gemm {
        @Param({"CUBLAS", "KERNEL"}) public String version;
        /** m = n = k: 512 (an SE or FAB FC at batch 512), 2048 (ResNet-50's final FC width). */
        @Param({"512", "2048"}) public int size;
        CudaBackend be;
        Tensor a, b;

        @Setup(Level.Trial) public void setup() {
            oneOf("version", version, "CUBLAS", "KERNEL");
            be = device();
            be.gemm().forceKernel("KERNEL".equals(version));
            if ("CUBLAS".equals(version) && !be.gemm().usingCublas())
                throw new IllegalStateException("cuBLAS unavailable: " + be.gemm().cublasUnavailableReason());
            Rng rng = new Rng(2);
            a = Tensor.randn(rng, size, size).to(be.device());
            b = Tensor.randn(rng, size, size).to(be.device());
        }

        @TearDown(Level.Trial) public void tearDown() {
            be.gemm().forceKernel(false);
            a.storage().release();
            b.storage().release();
            be.emptyCache();
        }
    }

    @Benchmark public Object sgemm(Gemm st) {
        try (MemoryScope s = MemoryScope.open()) {
            Tensor c = st.be.matmul(st.a, st.b, false, false);
            st.be.runtime().synchronize();
            return c;
        }
    }

    @State(Scope.Benchmark)
    public static class Conv {
        @Param({"RESNET50_LAYER1_3X3", "DENSE_128_56", "DPN92_G32_C96_56", "DPN92_G32_C192_28"}) public Conv2dBench.Layer layer;
        @Param({"forward", "backwardInput", "backwardWeight"}) public String pass;
        CudaBackend be;
        Tensor x, w, dy;
        Conv2dParams p;

        @Setup(Level.Trial) public void setup() {
            be = device();
            Conv2dBench.Layer l = layer;
            p = l.params();
            Rng rng = new Rng(6);
            x = Tensor.randn(rng, l.n, l.c, l.h, l.w).to(be.device());
            w = Tensor.randn(rng, l.cOut, l.c / l.groups, l.k, l.k).to(be.device());
            dy = Tensor.randn(rng, l.n, l.cOut, p.outH(l.h, l.k), p.outW(l.w, l.k)).to(be.device());
        }

        @TearDown(Level.Trial) public void tearDown() {
            System.out.println(convPlans(be, layer));
            for (Tensor t : new Tensor[] {x, w, dy}) t.storage().release();
            be.emptyCache();
        }
    }

    @Benchmark public Object conv(Conv st) {
        try (MemoryScope s = MemoryScope.open()) {
            Tensor y = switch (st.pass) {
                case "forward" -> st.be.conv2d(st.x, st.w, st.p);
                case "backwardInput" -> st.be.conv2dBackwardInput(st.dy, st.w, st.x.shape(), st.p);
                case "backwardWeight" -> st.be.conv2dBackwardWeight(st.x, st.dy, st.w.shape(), st.p);
                default -> throw new IllegalArgumentException("pass " + st.pass);
            };
            st.be.runtime().synchronize();
            return y;
        }
    }

    /**
     * The cuDNN algorithms chosen for a benchmarked layer ({@link CudaBackend#convolutionAlgorithms}: algorithm,
     * how it was chosen, workspace, math), one line per direction that has run, under a heading naming the layer.
     */
    static String convPlans(CudaBackend be, Conv2dBench.Layer layer) {
        Conv2dBench.Layer l = layer;
        String shape = "x " + java.util.Arrays.toString(new int[] {l.n, l.c, l.h, l.w}) + " w "
            + java.util.Arrays.toString(new int[] {l.cOut, l.c / l.groups, l.k, l.k});
        StringBuilder b = new StringBuilder("cuDNN algorithms for " + layer + ":");
        for (String plan : be.convolutionAlgorithms()) if (plan.startsWith(shape)) b.append("\n  ").append(plan);
        return b.toString();
    }

    /**
     * A string @Param's value among those its code handles: another (a typo such as "fused") would otherwise time a
     * default path under the name typed.
     */
    static void oneOf(String param, String value, String... known) {
        if (!java.util.List.of(known).contains(value))
            throw new IllegalArgumentException("-p " + param + "=" + value + ": not one of " + String.join(", ", known));
    }

    /** Work per op of one result: bytes / 1e9 (MAB, copy) or FLOPs / 1e9 (GEMM, conv). */
    static double gigaWork(RunResult r) {
        var p = r.getParams();
        String name = p.getBenchmark().substring(p.getBenchmark().lastIndexOf('.') + 1);
        return switch (name) {
            case "copy" -> 2.0 * MabShape.valueOf(p.getParam("shape")).elements() * Float.BYTES / 1e9;
            case "elementwise" -> Ew.bytes(p.getParam("op"), EwShape.valueOf(p.getParam("shape"))) / 1e9;
            case "sgemm" -> 2 * Math.pow(Integer.parseInt(p.getParam("size")), 3) / 1e9;
            case "conv" -> Conv2dBench.Layer.valueOf(p.getParam("layer")).flops() / 1e9;
            default -> AttentionBench.Traffic.ofBenchmark(name).bytes(MabShape.valueOf(p.getParam("shape")).dims()) / 1e9;
        };
    }

    /**
     * Runs the benchmarks (JMH options as usual, e.g. {@code -rf json -rff kernels.json}) and prints the time,
     * GB/s (MAB, copy; MAB also as a share of MEMCPY's GB/s on the same shape) or GFLOP/s (GEMM, conv) of each;
     * without a GPU says why and stops.
     */
    public static void main(String[] args) {
        Mains.run("GpuKernelsBench", () -> measure(args));
    }

    private static void measure(String[] args) throws RunnerException, CommandLineOptionException {
        if (!Rates.onlyAsks(args)) {   // -l, -lp, -h and the like answer without a GPU
            String why = CudaRuntime.probe();
            if (why != null) throw Mains.refuse("nothing measured: no usable GPU: " + why);
        }
        Collection<RunResult> results = Rates.measure(GpuKernelsBench.class, args);   // this class's benchmarks only
        if (results.isEmpty()) return;   // it listed or helped
        Map<String, Double> copyGbs = new HashMap<>();
        for (RunResult r : results)
            if (r.getParams().getBenchmark().endsWith(".copy") && "MEMCPY".equals(r.getParams().getParam("version")))
                copyGbs.put(r.getParams().getParam("shape"), gigaWork(r) / secondsPerOp(r));
        System.out.println();
        for (RunResult r : results) {
            var p = r.getParams();
            String name = p.getBenchmark().substring(p.getBenchmark().lastIndexOf('.') + 1);
            double s = secondsPerOp(r), rate = gigaWork(r) / s;
            boolean flops = name.equals("sgemm") || name.equals("conv");
            String share = "";
            Double copy = name.startsWith("mab") ? copyGbs.get(p.getParam("shape"))
                : name.equals("elementwise") ? copyGbs.get(MabShape.STAGE1.name()) : null;   // the largest copy measured
            if (copy != null) share = String.format(Locale.ROOT, "  %5.1f%% of copy (%.0f GB/s)", 100 * rate / copy, copy);
            System.out.printf(Locale.ROOT, "%-19s %-44s %10.1f us %9.1f %s%s%n", name, Rates.params(r), s * 1e6, rate,
                flops ? "GFLOP/s" : "GB/s", share);
        }
    }

    private static double secondsPerOp(RunResult r) {
        return Rates.secondsPerOp(r.getPrimaryResult().getScore(), r.getPrimaryResult().getScoreUnit());
    }
}
