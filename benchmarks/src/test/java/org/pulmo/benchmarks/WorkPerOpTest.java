package org.pulmo.benchmarks;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The work a benchmark's rate divides by its time: bytes moved, FLOPs, images; each counted here from its definition. */
class WorkPerOpTest {

    @Test void elementwiseKernelsCountEveryTensorTheyReadAndWrite() {
        long e = 32L * 336 * 56 * 56, slice = 32L * 80 * 56 * 56;   // DPN_CONV2: the whole map, and the 80 appended channels
        var shape = GpuKernelsBench.EwShape.DPN_CONV2;
        assertEquals(4 * (e + e), GpuKernelsBench.Ew.bytes("RELU", shape), "reads x, writes y");
        assertEquals(4 * (2 * e + e), GpuKernelsBench.Ew.bytes("RELU_BACKWARD", shape), "reads x and dy, writes dx");
        assertEquals(4 * (2 * e + e), GpuKernelsBench.Ew.bytes("ADD_RELU", shape), "reads a and b, writes y");
        assertEquals(4 * (slice + slice), GpuKernelsBench.Ew.bytes("SLICE_COPY", shape), "reads the part, writes the slice");
        assertEquals(4 * (2 * slice + slice), GpuKernelsBench.Ew.bytes("SLICE_AXPY", shape), "reads slice and part, writes the slice");
    }

    @Test void gpuKernelsWorkIsGigabytesOrGigaflops() {
        long e1 = 16L * 256 * 56 * 56;
        assertEquals(2 * 4.0 * e1 / 1e9, GpuKernelsBench.gigaWork(JmhRuns.averageTime("org.pulmo.benchmarks.GpuKernelsBench.copy",
            Map.of("version", "MEMCPY", "shape", "STAGE1"), 40)), 1e-12, "a copy reads and writes every float");
        assertEquals(2.0 * 512 * 512 * 512 / 1e9, GpuKernelsBench.gigaWork(JmhRuns.averageTime("org.pulmo.benchmarks.GpuKernelsBench.sgemm",
            Map.of("version", "CUBLAS", "size", "512"), 40)), 1e-12, "a multiply and an add per m n k");
        assertEquals(4.0 * 6 * e1 / 1e9, GpuKernelsBench.gigaWork(JmhRuns.averageTime("org.pulmo.benchmarks.GpuKernelsBench.mabForwardBackward",
            Map.of("version", "FUSED", "shape", "STAGE1"), 40)), 1e-12);
    }

    @Test void modelImagesPerOpCountPairsTwiceAndUseThePassBatch() {
        // the papers' sizes: training 16 pairs for MA-Net, 32 for the others; inference 64 (MA-Net: 64 pairs)
        assertEquals(2 * 64, ModelThroughputBench.imagesPerOp(JmhRuns.averageTime("org.pulmo.benchmarks.ModelThroughputBench.inference",
            Map.of("model", "manet-resnet50", "size", "paper"), 1000)), 0.0);
        assertEquals(2 * 16, ModelThroughputBench.imagesPerOp(JmhRuns.averageTime("org.pulmo.benchmarks.ModelThroughputBench.trainStep",
            Map.of("model", "manet-resnet50", "size", "paper"), 1000)), 0.0);
        assertEquals(64, ModelThroughputBench.imagesPerOp(JmhRuns.averageTime("org.pulmo.benchmarks.ModelThroughputBench.inference",
            Map.of("model", "resnet50", "size", "paper"), 1000)), 0.0);
    }

    /**
     * A convolution's FLOPs: a multiply and an add per output element, per input channel of its group, per kernel tap, for
     * every image of the batch; GFLOP is 1e9 FLOPs. The elementwise kernels' GB are 1e9 bytes.
     */
    @Test void convolutionFlopsCountTheBatchAndOnlyTheGroupsChannels() {
        // DPN-92 conv2_x: batch 8, 96 -> 96 channels at 56 x 56 (3 x 3, stride 1, padding 1), 32 groups of 3 input channels
        double grouped = 2.0 * 8 * 96 * 56 * 56 * 3 * 9;
        assertEquals(grouped, Conv2dBench.Layer.DPN92_G32_C96_56.flops(), 0.0);
        assertEquals(2.0 * 8 * 64 * 56 * 56 * 64 * 9, Conv2dBench.Layer.RESNET50_LAYER1_3X3.flops(), 0.0, "dense: all 64 input channels");
        assertEquals(grouped / 1e9, GpuKernelsBench.gigaWork(JmhRuns.averageTime("org.pulmo.benchmarks.GpuKernelsBench.conv",
            Map.of("layer", "DPN92_G32_C96_56"), 40)), 1e-12);
        long e = 32L * 336 * 56 * 56;   // DPN_CONV2
        assertEquals(4.0 * (e + e) / 1e9, GpuKernelsBench.gigaWork(JmhRuns.averageTime("org.pulmo.benchmarks.GpuKernelsBench.elementwise",
            Map.of("op", "RELU", "shape", "DPN_CONV2"), 40)), 1e-12, "reads x, writes y: GB of 1e9 bytes");
    }

    /** SgemmBench's GFLOP/s: 2 n^3 FLOPs a GEMM of size n; the FMA peak's FLOPs on the fork's threads, not this JVM's. */
    @Test void sgemmBenchCountsTwoNCubedAndThePeakOnTheForksThreads() {
        assertEquals(2.0 * 256 * 256 * 256, SgemmBench.flopsPerOp(JmhRuns.averageTime("org.pulmo.benchmarks.SgemmBench.sgemm",
            Map.of("size", "256"), 1000)), 0.0);
        int threads = Runtime.getRuntime().availableProcessors() + 2;
        assertEquals(SgemmBench.fmaPeakFlops(threads), SgemmBench.flopsPerOp(JmhRuns.averageTime("org.pulmo.benchmarks.SgemmBench.fmaPeak",
            Map.of(), List.of("-Dpulmo.threads=" + threads), 1000)), 0.0);
    }

    /**
     * AttentionBench's GB/s: MAB forward reads a and b and writes F_am (3 maps of N C H W floats) and one log-sum-exp per
     * plane, at the result's shape and batch; GB is 1e9 bytes.
     */
    @Test void attentionBenchCountsTheBytesOfTheResultsShapeAndBatch() {
        long e = 16L * 512 * 28 * 28, planes = 16L * 512;   // MANET_STAGE2 at the paper's batch of 16
        assertEquals(4.0 * (3 * e + planes) / 1e9, AttentionBench.gigaBytes(JmhRuns.averageTime("org.pulmo.benchmarks.AttentionBench.mabForward",
            Map.of("shape", "MANET_STAGE2", "batch", "paper"), 1000)), 1e-12);
        assertEquals(4.0 * (3 * 3L * 512 * 28 * 28 + 3 * 512) / 1e9, AttentionBench.gigaBytes(JmhRuns.averageTime(
            "org.pulmo.benchmarks.AttentionBench.mabForward", Map.of("shape", "MANET_STAGE2", "batch", "3"), 1000)), 1e-12, "a batch given as a number");
    }
}
