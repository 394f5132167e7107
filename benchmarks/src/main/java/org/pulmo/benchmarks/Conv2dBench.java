package org.pulmo.benchmarks;

import java.util.Random;
import java.util.concurrent.TimeUnit;
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
import org.pulmo.backend.Conv2dParams;
import org.pulmo.backend.cpu.CpuConv;

/**
 * CpuConv on the layer shapes that dominate the models, batch 8, each pass separately. One op of any
 * pass = 2 * N * Cout * outH * outW * (C/groups) * kH * kW FLOPs ({@link Layer#flops}). Baselines
 * (libtorch on the same machine): dense 3x3 128->128 at 56x56, 300-395 GFLOP/s; DPN-92's grouped 3x3,
 * 21-68 GFLOP/s.
 *
 * <p>JMH's own report (ms/op): {@code java --add-modules jdk.incubator.vector -jar benchmarks/target/benchmarks.jar Conv2dBench -f 3 -wi 3 -i 5}
 * <br>GFLOP/s, median of forks: {@code java --add-modules jdk.incubator.vector -cp benchmarks/target/benchmarks.jar org.pulmo.benchmarks.Conv2dBench -f 3 -wi 3 -i 5}
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 3, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector", "-Xmx4g"})
public class Conv2dBench {

    /** A conv layer: input [n, c, h, w], cOut filters of k x k, stride 1, padding k/2, groups. */
    public enum Layer {
        /** ResNet-50 layer1, the 3x3 of each bottleneck. */
        RESNET50_LAYER1_3X3(8, 64, 56, 56, 64, 3, 1),
        /** A dense 3x3 at twice the width: the libtorch comparison shape. */
        DENSE_128_56(8, 128, 56, 56, 128, 3, 1),
        /** DPN-92 conv2_x grouped 3x3: 32 groups of 3 channels. */
        DPN92_G32_C96_56(8, 96, 56, 56, 96, 3, 32),
        /** DPN-92 conv3_x grouped 3x3: 32 groups of 6 channels. */
        DPN92_G32_C192_28(8, 192, 28, 28, 192, 3, 32),
        /** DPN-92 conv4_x grouped 3x3: 32 groups of 12 channels (20 blocks: the stage with most of them). */
        DPN92_G32_C384_14(8, 384, 14, 14, 384, 3, 32),
        /** DPN-92 conv5_x grouped 3x3: 32 groups of 24 channels. */
        DPN92_G32_C768_7(8, 768, 7, 7, 768, 3, 32),
        /** DPN-92 conv4_x 1x1 expand (c1x1_c, 20 blocks): 384 channels to bw + inc = 1048. */
        DPN92_1X1_C384_14(8, 384, 14, 14, 1048, 1, 1),
        /** DPN-92 conv4_x 1x1 reduce (c1x1_a) of a mid-stage input: 1288 concatenated channels to 384. */
        DPN92_1X1_C1288_14(8, 1288, 14, 14, 384, 1, 1);

        final int n, c, h, w, cOut, k, groups;

        Layer(int n, int c, int h, int w, int cOut, int k, int groups) {
            this.n = n; this.c = c; this.h = h; this.w = w; this.cOut = cOut; this.k = k; this.groups = groups;
        }

        Conv2dParams params() { return Conv2dParams.of(1, k / 2, 1, groups); }

        double flops() {
            Conv2dParams p = params();
            return 2.0 * n * cOut * p.outH(h, k) * p.outW(w, k) * (c / groups) * k * k;
        }
    }

    @Param({"RESNET50_LAYER1_3X3", "DENSE_128_56", "DPN92_G32_C96_56", "DPN92_G32_C192_28", "DPN92_G32_C384_14", "DPN92_G32_C768_7",
        "DPN92_1X1_C384_14", "DPN92_1X1_C1288_14"})
    public Layer layer;

    @Param({"forward", "backwardInput", "backwardWeight"})
    public String pass;

    private float[] x, w, dy;
    private Conv2dParams p;

    @Setup
    public void setup() {
        Random rng = new Random(1);
        p = layer.params();
        x = random(rng, layer.n * layer.c * layer.h * layer.w);
        w = random(rng, layer.cOut * (layer.c / layer.groups) * layer.k * layer.k);
        dy = random(rng, layer.n * layer.cOut * p.outH(layer.h, layer.k) * p.outW(layer.w, layer.k));
    }

    private static float[] random(Random rng, int size) {
        float[] a = new float[size];
        for (int i = 0; i < size; i++) a[i] = rng.nextFloat() - 0.5f;
        return a;
    }

    @Benchmark
    public float[] conv() {
        Layer l = layer;
        return Recycled.array(switch (pass) {
            case "forward" -> CpuConv.forward(x, l.n, l.c, l.h, l.w, w, l.cOut, l.k, l.k, p);
            case "backwardInput" -> CpuConv.backwardInput(dy, l.n, l.c, l.h, l.w, w, l.cOut, l.k, l.k, p);
            case "backwardWeight" -> CpuConv.backwardWeight(x, dy, l.n, l.c, l.h, l.w, l.cOut, l.k, l.k, p);
            default -> throw new IllegalArgumentException("pass must be forward, backwardInput or backwardWeight, got '" + pass + "'");
        });
    }

    public static void main(String[] args) {
        Mains.run("Conv2dBench", () -> {
            if (SgemmBench.printGflops(Conv2dBench.class, args, r -> Layer.valueOf(r.getParams().getParam("layer")).flops()).isEmpty())
                return;   // it listed or helped
            System.out.println("GFLOP/s count a direct convolution's multiply-adds; where Winograd runs (stride-1 3x3) it does fewer, so those"
                + " rows can exceed SgemmBench fmaPeak.");
        });
    }
}
