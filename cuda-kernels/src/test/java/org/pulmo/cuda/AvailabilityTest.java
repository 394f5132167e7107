package org.pulmo.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.InputStream;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.pulmo.backend.Backends;
import org.pulmo.tensor.Device;

/** No GPU needed: the fatbin resource, and availability reporting with its fall-back to the CPU. */
class AvailabilityTest {
    /** Every kernel the Java side launches by name. */
    static final List<String> EXPECTED = List.of(
        "ew_unary", "ew_binary", "ew_copy", "ew_copy_contiguous", "ew_fill", "ew_add_scalar", "ew_axpy", "ew_add_relu",
        "mab_naive_sqdiff", "mab_naive_softmax", "mab_naive_mul", "mab_fused_forward", "mab_fused_backward", "mab_constant_map_backward",
        "mab_warp_forward_2", "mab_warp_backward_2", "mab_warp_forward_8", "mab_warp_backward_8", "mab_warp_forward_32", "mab_warp_backward_32",
        "se_squeeze", "se_scale_forward", "se_scale_backward", "fab_squeeze", "fab_squeeze_backward", "fab_fuse_forward", "fab_fuse_backward",
        "reduce_rows", "arg_reduce_rows", "softmax_forward", "softmax_backward", "ce_forward", "ce_finish", "ce_backward",
        "cosine_forward", "cosine_backward", "sgd_momentum_multi", "sgemm_naive", "sgemm_tiled",
        "maxpool_forward", "maxpool_backward",
        "bn_stats", "bn_apply", "bn_backward_reduce", "bn_backward_dx", "gather_dim", "scatter_add_dim");

    @Test void fatbinHoldsEveryKernel() throws Exception {
        String why = CudaRuntime.kernelsReason();
        // every CI machine has nvcc: there a missing fatbin is a broken build, not a reason to skip
        if ("true".equals(System.getenv("CI")) && why != null) org.junit.jupiter.api.Assertions.fail("CI must build the kernels: " + why);
        Assumptions.assumeTrue(why == null, () -> "skipped: " + why);
        byte[] fatbin;
        try (InputStream in = CudaRuntime.class.getResourceAsStream(CudaRuntime.FATBIN)) { fatbin = in.readAllBytes(); }
        String text = new String(fatbin, java.nio.charset.StandardCharsets.ISO_8859_1);
        List<String> manifest = CudaRuntime.builtKernelNames();
        for (String k : EXPECTED) {
            assertTrue(manifest.contains(k), "the build's manifest lacks kernel " + k);
            assertTrue(text.contains(".entry " + k + "("), "no PTX entry for " + k + " in the fatbin");
            assertTrue(text.contains(".text." + k + "\0"), "no SASS section for " + k + " in the fatbin");
        }
        assertTrue(text.contains(".target sm_90"), "the PTX targets compute_90");
    }

    @Test void providerGivesAReasonOrTheBackend() {
        String why = Backends.unavailableReason(Device.cuda(0));
        if (why != null) {
            assertTrue(why.startsWith("no driver") || why.startsWith("no device") || why.startsWith("cuDNN missing")
                || why.startsWith("kernels not built") || why.startsWith("CUDA probe failed") || why.startsWith("GPU 0 has compute capability"),
                "unclear reason: " + why);
            assertEquals(Device.CPU, Backends.bestAvailable(), "falls back to the CPU");
        } else {
            assertEquals(Device.cuda(0), Backends.bestAvailable());
            assertNotNull(Backends.of(Device.cuda(0)));
        }
    }

    /**
     * A GPU the kernels were not built for (a T4, a GTX 1070) is named by the probe, so that --device auto falls back to
     * the CPU, where it used to be chosen and then fail loading the kernels: machine code runs on its major's later
     * minors, PTX on any later GPU.
     */
    @Test void aGpuTheKernelsWereNotBuiltForIsNamedBeforeItIsChosen() {
        List<String> built = List.of("sm_80", "sm_90", "compute_90");
        if (CudaRuntime.kernelsReason() == null) {   // the manifest's targets line, of the default or another build
            List<String> targets = CudaRuntime.builtTargets();
            assertTrue(!targets.isEmpty() && targets.stream().allMatch(t -> t.matches("(sm|compute)_\\d+"))
                && targets.stream().anyMatch(t -> t.startsWith("compute_")), "targets " + targets);
        }
        for (int[] runs : new int[][] {{8, 0}, {8, 6}, {8, 9}, {9, 0}, {10, 0}, {12, 0}})
            assertEquals(null, CudaRuntime.archReason(runs[0], runs[1], built), runs[0] + "." + runs[1]);
        String t4 = CudaRuntime.archReason(7, 5, built);
        assertTrue(t4.startsWith("GPU 0 has compute capability 7.5") && t4.contains("sm_80, sm_90, compute_90")
            && t4.contains("-Dpulmo.cuda.archs=75 -Dpulmo.cuda.ptx=75"), t4);
        String pascal = CudaRuntime.archReason(6, 1, built);
        assertTrue(pascal.contains("-Dpulmo.cuda.archs=61") && pascal.contains("CUDA 12"), pascal);
        assertTrue(!t4.contains("CUDA 12"), t4);
        assertEquals(null, CudaRuntime.archReason(7, 5, List.of("sm_75")));
        assertEquals(null, CudaRuntime.archReason(7, 5, List.of()), "no targets line: the driver decides");
        assertTrue(CudaRuntime.archReason(9, 0, List.of("sm_80")) != null, "sm_80 machine code does not run on 9.0");
    }

    @Test void probeIsCachedAndCheap() {
        long t0 = System.nanoTime();
        String a = CudaRuntime.probe(), b = CudaRuntime.probe();
        assertEquals(a, b);
        assertTrue(System.nanoTime() - t0 < 30_000_000_000L);
    }

    @Test void sizeClasses() {
        assertEquals(512, CudaAllocator.roundUp(1));
        assertEquals(1024, CudaAllocator.roundUp(513));
        assertEquals(2L << 20, CudaAllocator.roundUp((1L << 20) + 1));
        assertEquals(4L << 20, CudaAllocator.roundUp((2L << 20) + 1));
    }

    @Test void stridedArgsCoalesceABroadcastBias() {
        // [2, 3, 4, 5] + [1, 3, 1, 1]: x coalesces to 1 dim? No: the bias's strides break the merge at C.
        org.pulmo.tensor.Tensor x = org.pulmo.tensor.Tensor.zeros(2, 3, 4, 5), bias = org.pulmo.tensor.Tensor.zeros(1, 3, 1, 1);
        int[] a = StridedArgs.of(x.shape(), x, bias);
        assertEquals(3, a[0], "rank after coalescing: N, C, H*W");
        assertEquals(20, a[StridedArgs.SHAPE + 2]);
        assertEquals(0, a[StridedArgs.STRIDE + StridedArgs.MAX_RANK + 2], "bias stride over H*W is 0");
    }
}
