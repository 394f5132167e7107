package org.pulmo.benchmarks;

import static org.junit.jupiter.api.Assertions.assertEquals;

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
}
