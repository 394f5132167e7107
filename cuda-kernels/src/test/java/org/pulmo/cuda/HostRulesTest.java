package org.pulmo.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.pulmo.tensor.Tensor;

/** No GPU needed: the host-side rules that decide how a kernel or library call is made. */
class HostRulesTest {

    /** The fused MAB kernels also hold 256 B (forward) and 128 B (backward) of static shared memory. */
    @Test void mabCachesOnlyWhereDynamicPlusStaticSharedMemoryFitsIn48KiB() {
        assertTrue(MabKernels.mabCaches(56 * 56, false), "56 x 56 forward caches");
        assertTrue(MabKernels.mabCaches(56 * 56, true), "56 x 56 backward caches");
        assertFalse(MabKernels.mabCaches(64 * 64, true), "64 x 64 backward: 48 KiB dynamic + 128 B static is over the limit");
        assertTrue(MabKernels.mabCaches(64 * 64, false), "64 x 64 forward: 32 KiB + 256 B");
        assertFalse(MabKernels.mabCaches(64 * 96, false), "64 x 96 forward: 48 KiB dynamic + 256 B static is over the limit");
        assertTrue(MabKernels.mabCaches(64 * 96 - 64, false), "just under the limit");
    }

    /** CUDNN_BN_MIN_EPSILON is 0 since cuDNN 7.5: the models' eps of 1e-5f must reach cuDNN. */
    @Test void cudnnBatchNormTakesTheModelsEpsilon() {
        Tensor x = Tensor.zeros(2, 3, 4, 4);
        assertTrue(CudaBackend.cudnnCanNormalize(x, 1e-5f), "eps 1e-5f (ResNet, DenseNet, VGG, MA-Net)");
        assertTrue(CudaBackend.cudnnCanNormalize(x, 1e-3f), "eps 1e-3 (DPN)");
        assertFalse(CudaBackend.cudnnCanNormalize(Tensor.zeros(0, 3, 4, 4), 1e-5f), "empty batch");
        assertFalse(CudaBackend.cudnnCanNormalize(x, 1e-5f, Tensor.zeros(3, 2).transpose(0, 1)), "strided statistics");
    }

    /** MAB planes of up to 1024 values go to the warp-per-plane kernels, each lane holding K of them. */
    @Test void planesGoToTheWarpKernelsUpTo1024Values() {
        assertEquals(List.of(2, 2, 8, 8, 32, 32, 0), Arrays.stream(new int[] {1, 64, 65, 256, 257, 1024, 1025}).map(MabKernels::warpShare).boxed().toList());
        assertEquals(CudaBackend.MabVersion.WARP, MabKernels.shape(CudaBackend.MabVersion.FUSED, 49));
        assertEquals(CudaBackend.MabVersion.WARP, MabKernels.shape(CudaBackend.MabVersion.FUSED, 784));
        assertEquals(CudaBackend.MabVersion.BLOCK, MabKernels.shape(CudaBackend.MabVersion.FUSED, 56 * 56));
        assertEquals(CudaBackend.MabVersion.BLOCK, MabKernels.shape(CudaBackend.MabVersion.BLOCK, 49));
        assertThrows(IllegalArgumentException.class, () -> MabKernels.shape(CudaBackend.MabVersion.WARP, 1025));
    }

    @Test void rowKernelsTakeBlocksTheSizeOfTheirRows() {
        assertEquals(List.of(32, 32, 64, 64, 224, 256, 256, 256), Arrays.stream(new long[] {1, 32, 33, 49, 196, 784, 3136, 1L << 40})
            .mapToObj(CudaBackend::rowThreads).toList());
    }
}
