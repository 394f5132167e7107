package org.pulmo.benchmarks;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.lang.reflect.Method;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.pulmo.backend.Backend;

/** Every backend method has a kind in TrainingStepProfile's per-kind lines, the kinds torch_op_profile.py sums PyTorch's kernels into. */
class TrainingStepProfileTest {

    @Test void backendMethodsMapToTheProfilesKinds() {
        assertEquals("convolution", TrainingStepProfile.kindOf("conv2dBackwardWeight"));
        assertEquals("batch norm", TrainingStepProfile.kindOf("batchNormReluTrainingBackward [8, 64, 56, 56]"));
        assertEquals("optimiser", TrainingStepProfile.kindOf("sgdUpdateAll"));
        assertEquals("pooling", TrainingStepProfile.kindOf("maxPool2dTraining"));
        assertEquals("copy / cat", TrainingStepProfile.kindOf("allocateForOverwrite"));
        assertEquals("elementwise", TrainingStepProfile.kindOf("seScaleForward"));
        assertEquals("softmax / loss", TrainingStepProfile.kindOf("crossEntropyBackward"));
        // every op of the interface has a kind of its own ("other" only for what does no device work)
        List<String> notOps = List.of("device", "memoryUse", "resetPeakMemory", "synchronize", "launch", "halves",   // halves: two views, no device work
            "capture", "captureUnsupported", "capturing",   // recording work (CUDA graphs), not an op
            "strictFp32", "setStrictFp32", "deterministic", "setDeterministic");   // settings of the backend, not ops
        List<String> other = Arrays.stream(Backend.class.getMethods()).map(Method::getName).distinct()
            .filter(n -> !notOps.contains(n) && TrainingStepProfile.kindOf(n).equals("other")).sorted().toList();
        assertEquals(List.of(), other, "backend methods without a kind");
    }

    /** Each op lands in the kind torch_op_profile.py puts PyTorch's kernels for that op in, by shape rows as by method rows. */
    @Test void eachOpGoesToTheKindOfPyTorchsKernelsForIt() {
        assertEquals("matmul", TrainingStepProfile.kindOf("matmul"));
        assertEquals("reduction", TrainingStepProfile.kindOf("reduce"));
        assertEquals("reduction", TrainingStepProfile.kindOf("argReduce [4, 1000]"));
        assertEquals("copy / cat", TrainingStepProfile.kindOf("copy"));
        assertEquals("copy / cat", TrainingStepProfile.kindOf("fill"));
        assertEquals("copy / cat", TrainingStepProfile.kindOf("scatterAdd"));
        assertEquals("pooling", TrainingStepProfile.kindOf("avgPool2dBackward"));
        assertEquals("softmax / loss", TrainingStepProfile.kindOf("softmaxBackward"));
        assertEquals("softmax / loss", TrainingStepProfile.kindOf("cosine"));
        assertEquals("elementwise", TrainingStepProfile.kindOf("binary [2, 64, 56, 56] [2, 64, 56, 56]"));
        assertEquals("elementwise", TrainingStepProfile.kindOf("unary [2, 64, 56, 56]"));
        assertEquals("elementwise", TrainingStepProfile.kindOf("mabForward"));
        assertEquals("elementwise", TrainingStepProfile.kindOf("fabFuseBackward"));
        assertEquals("matmul", TrainingStepProfile.kindOf("matmul [4, 2048] [2048, 1000]"));
    }
}
