package org.pulmo.models;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.api.Test;
import org.pulmo.nn.Module;
import org.pulmo.tensor.Rng;
import org.pulmo.tensor.Tensor;

/**
 * Every registered model: the exact parameter count of its reference implementation (torchvision, timm, or
 * ../shared/anchors/models_ref.py) and one training step on a small input with a gradient reaching every
 * parameter and no NaN.
 */
class ModelRegistryTest {

    /** name -> {classes, parameters}. */
    static final Map<String, long[]> COUNTS = new LinkedHashMap<>();

    static {
        COUNTS.put("dpn92-se", new long[] {1000, 42_376_895});        // models_ref.py
        COUNTS.put("dpn92-se-resid", new long[] {1000, 42_049_624});  // 37,668,392 + SE on bw: sum over blocks of 2 bw^2/16 + bw/16 + bw
        COUNTS.put("dpn92", new long[] {1000, 37_668_392});           // timm / models_ref.py
        COUNTS.put("dpn68", new long[] {1000, 12_611_602});           // timm
        COUNTS.put("dpn98", new long[] {1000, 61_570_728});           // timm
        COUNTS.put("dpn107", new long[] {1000, 86_917_800});          // timm
        COUNTS.put("dpn131", new long[] {1000, 79_254_504});          // timm
        COUNTS.put("resnet18", new long[] {1000, 11_689_512});        // torchvision
        COUNTS.put("resnet34", new long[] {1000, 21_797_672});
        COUNTS.put("resnet50", new long[] {1000, 25_557_032});
        COUNTS.put("resnet101", new long[] {1000, 44_549_160});
        COUNTS.put("resnet152", new long[] {1000, 60_192_808});
        COUNTS.put("densenet121", new long[] {1000, 7_978_856});
        COUNTS.put("densenet169", new long[] {1000, 14_149_480});
        COUNTS.put("densenet201", new long[] {1000, 20_013_928});
        COUNTS.put("vgg16", new long[] {1000, 138_357_544});
        COUNTS.put("vgg16-bn", new long[] {1000, 138_365_992});
        COUNTS.put("inception-v3", new long[] {1000, 27_161_264});    // torchvision, with aux logits
        COUNTS.put("manet-resnet50", new long[] {2, 30_152_286});     // models_ref.py: 23,512,130 + FAB 6,640,156
        // DenseNet-169 at 2 classes (14,149,480 - 998 * 1665 = 12,487,810) + FABs on 64, 128, 256, 640, 1664 channels
        // (C^2 + 3 C C' + 5 C + 3 C' each, C' = C / 16: 3,890,884)
        COUNTS.put("manet-densenet169", new long[] {2, 16_378_694});
    }

    static Stream<String> names() { return ModelRegistry.names().stream(); }

    @Test void everyRegisteredModelHasAnExpectedCount() {
        assertEquals(COUNTS.keySet(), new java.util.LinkedHashSet<>(ModelRegistry.names()));
    }

    @ParameterizedTest @MethodSource("names")
    void exactParameterCountThenOneTrainingStep(String name) {
        long[] expected = COUNTS.get(name);
        Module model = ModelRegistry.create(name, (int) expected[0], ModelRegistry.entry(name).defaultSize(), 7L);
        assertEquals(expected[1], model.parameterCount(), name);

        // forward + backward on two small images (Inception: 75 x 75, its smallest input)
        int size = model instanceof InceptionV3 ? 75 : 64;
        Tensor x = Tensor.randn(new Rng(1), 2, 3, size, size);
        if (model instanceof MaNet manet) {
            Tensor m = Tensor.randn(new Rng(2), 2, 3, size, size);
            ModelChecks.assertGradientReachesEveryParameter(model, in -> {
                var out = manet.forwardPair(in, m);
                return manet.loss(out, Tensor.of(new float[] {0, 1}, 2), Tensor.of(new float[] {1, 0}, 2)).total().reshape(1);
            }, x);
        } else if (model instanceof InceptionV3 inc) {
            // the aux head needs the 17 x 17 grid of a 299 x 299 input: fed here directly with such a map (N = 3,
            // so that its last BN, on 1 x 1 maps, sees more than two values per channel)
            Tensor grid = Tensor.randn(new Rng(3), 3, 768, 17, 17);
            Tensor out = ModelChecks.assertGradientReachesEveryParameter(model, in -> {
                var o = inc.forwardWithAux(in);
                assertEquals(null, o.auxLogits());
                return Tensor.cat(0, o.logits().reshape(-1), inc.aux.forward(grid).reshape(-1));
            }, x);
            assertEquals(2 * expected[0] + 3 * expected[0], out.shape()[0]);
        } else {
            Tensor out = ModelChecks.assertGradientReachesEveryParameter(model, model::forward, x);
            ModelChecks.assertShape(new int[] {2, (int) expected[0]}, out);
        }
    }

    @Test void refusesUnknownNamesAndTooSmallInputs() {
        assertThrows(IllegalArgumentException.class, () -> ModelRegistry.create("resnet51", 10));
        IllegalArgumentException upper = assertThrows(IllegalArgumentException.class, () -> ModelRegistry.create("DPN92-SE", 4));
        org.junit.jupiter.api.Assertions.assertTrue(upper.getMessage().endsWith("did you mean 'dpn92-se'?"), upper.getMessage());
        assertThrows(IllegalArgumentException.class, () -> ModelRegistry.create("inception-v3", 10, 64, 0));
        assertEquals(4, ModelRegistry.entry("dpn92-se").defaultClasses());
        assertEquals(299, ModelRegistry.entry("inception-v3").defaultSize());
        assertTrue(ModelRegistry.names().contains("manet-densenet169"));
    }
}
