package org.pulmo.benchmarks;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
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
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.pulmo.backend.Backend;
import org.pulmo.backend.Backends;
import org.pulmo.cuda.CudaBackend;
import org.pulmo.cuda.CudaRuntime;
import org.pulmo.tensor.Device;
import org.pulmo.tensor.MemoryScope;
import org.pulmo.tensor.Rng;
import org.pulmo.tensor.Tensor;

/**
 * The CUDA backend's showcase kernels on MA-Net's shapes (batch 16, ResNet-50 stages 1-4):
 * MAB forward and backward as mab.cu's fused kernel, its three-launch naive version, and Backend's default
 * composed from primitive kernels; and GEMM as cuBLAS against the hand-written tiled SGEMM. Every
 * benchmark method synchronises the stream before returning, so the time is the GPU's work, not the launch;
 * outputs go back to the allocator through a {@link MemoryScope} per call. Inputs are allocated once per trial.
 *
 * <p>Useful traffic (what each version must at least move): MAB forward 12 B per element (read a, b, write
 * F_am), backward 20 B (read a, b, dF_am, write da, db); GB/s below is that traffic over the time, so the
 * versions compare on the same work (the target: 80% of the GPU's copy bandwidth for FUSED).
 * GEMM: 2 m n k FLOPs. Without a usable GPU the trial setup fails with the probe's reason; {@link #main}
 * prints it and runs nothing.
 * <p>{@code java -cp benchmarks/target/benchmarks.jar org.pulmo.benchmarks.GpuKernelsBench} (GB/s and GFLOP/s)
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xmx4g"})
public class GpuKernelsBench {

    static CudaBackend device() {
        String why = CudaRuntime.probe();
        if (why != null) throw new IllegalStateException("GpuKernelsBench needs a GPU: " + why);
        CudaBackend be = (CudaBackend) Backends.of(Device.cuda(0));
        be.setStrictFp32(true);
        return be;
    }

    /** Backend's composed defaults on the CUDA backend's primitive kernels (what a backend without fused kernels runs). */
    static Backend composed(CudaBackend be) {
        return (Backend) Proxy.newProxyInstance(Backend.class.getClassLoader(), new Class<?>[] {Backend.class},
            (InvocationHandler) (p, m, args) -> {
                try {
                    return m.isDefault() ? InvocationHandler.invokeDefault(p, m, args) : m.invoke(be, args);
                } catch (InvocationTargetException e) {
                    throw e.getCause();
                }
            });
    }

    public enum MabShape {
        STAGE1(16, 256, 56), STAGE2(16, 512, 28), STAGE3(16, 1024, 14), STAGE4(16, 2048, 7);

        final int n, c, hw;

        MabShape(int n, int c, int hw) { this.n = n; this.c = c; this.hw = hw; }

        long elements() { return (long) n * c * hw * hw; }
    }

    @State(Scope.Benchmark)
    public static class Mab {
        @Param({"FUSED", "NAIVE", "COMPOSED"}) public String version;
        @Param({"STAGE1", "STAGE2", "STAGE3", "STAGE4"}) public MabShape shape;
        CudaBackend be;
        Backend composed;
        Tensor a, b, g, lse;

        @Setup(Level.Trial) public void setup() {
            be = device();
            composed = composed(be);
            Rng rng = new Rng(1);
            int[] s = {shape.n, shape.c, shape.hw, shape.hw};
            a = Tensor.randn(rng, s).to(be.device());
            b = Tensor.randn(rng, s).to(be.device());
            g = Tensor.randn(rng, s).to(be.device());
            lse = be.mutexAttention(a, b)[1];
            be.runtime().synchronize();
        }

        @TearDown(Level.Trial) public void tearDown() {
            for (Tensor t : new Tensor[] {a, b, g, lse}) t.storage().release();
            be.emptyCache();
        }
    }

    @Benchmark public Object mabForward(Mab st) {
        try (MemoryScope s = MemoryScope.open()) {
            Tensor[] y = switch (st.version) {
                case "FUSED" -> st.be.mabForward(st.a, st.b, CudaBackend.MabVersion.FUSED);
                case "NAIVE" -> st.be.mabForward(st.a, st.b, CudaBackend.MabVersion.NAIVE);
                default -> st.composed.mutexAttention(st.a, st.b);
            };
            st.be.runtime().synchronize();
            return y;
        }
    }

    @Benchmark public Object mabBackward(Mab st) {
        try (MemoryScope s = MemoryScope.open()) {
            // the naive version has no backward of its own; it is timed as the composed one
            Tensor[] d = "FUSED".equals(st.version) ? st.be.mutexAttentionBackward(st.a, st.b, st.lse, st.g)
                : st.composed.mutexAttentionBackward(st.a, st.b, st.lse, st.g);
            st.be.runtime().synchronize();
            return d;
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

    /** Runs the benchmarks and prints GB/s (MAB) and GFLOP/s (GEMM) beside the times; without a GPU says why and stops. */
    public static void main(String[] args) throws RunnerException {
        String why = CudaRuntime.probe();
        if (why != null) {
            System.out.println("GpuKernelsBench skipped: no usable GPU: " + why);
            return;
        }
        var results = new Runner(new OptionsBuilder().include(GpuKernelsBench.class.getName() + ".*").build()).run();
        for (var r : results) {
            var p = r.getParams();
            double us = r.getPrimaryResult().getScore();
            String name = p.getBenchmark().substring(p.getBenchmark().lastIndexOf('.') + 1);
            if (name.startsWith("mab")) {
                long elems = MabShape.valueOf(p.getParam("shape")).elements();
                double bytes = elems * (name.equals("mabForward") ? 12.0 : 20.0);
                System.out.printf("%-12s %-9s %-7s %10.1f us %8.1f GB/s%n", name, p.getParam("version"), p.getParam("shape"), us, bytes / us / 1e3);
            } else {
                double n = Integer.parseInt(p.getParam("size"));
                System.out.printf("%-12s %-9s %-7s %10.1f us %8.1f GFLOP/s%n", name, p.getParam("version"), p.getParam("size"), us, 2 * n * n * n / us / 1e3);
            }
        }
    }
}
