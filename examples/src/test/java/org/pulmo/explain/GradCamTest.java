package org.pulmo.explain;

import static org.junit.jupiter.api.Assertions.*;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.pulmo.autograd.GradMode;
import org.pulmo.models.ModelRegistry;
import org.pulmo.nn.Module;
import org.pulmo.tensor.Rng;
import org.pulmo.tensor.Tensor;

class GradCamTest {

    /**
     * DPN at every layer: Grad-CAM runs the blocks on the concatenated stage outputs, which must give the
     * model's own probabilities, and each stage output must get a gradient (a map that is not all zero).
     */
    @Test void dpnStagesHaveMapsAndTheModelsProbabilities() {
        Module dpn = ModelRegistry.create("dpn68", 3, 64, 11);
        dpn.eval();
        Tensor x = Tensor.randn(new Rng(3), 1, 3, 64, 64);
        float[] expected;
        try (var ignored = GradMode.noGrad()) { expected = dpn.forward(x).softmax(1).toArray(); }
        List<String> layers = GradCam.layers(dpn);
        assertEquals(List.of("stage0", "stage1", "stage2", "stage3", "stage4", "conv5_bn_ac"), layers);
        assertEquals("conv5_bn_ac", GradCam.defaultLayer(dpn));
        int[] side = {16, 16, 8, 4, 2, 2};  // 64 -> stem /4 -> conv2 16, conv3 8, conv4 4, conv5 2
        for (int i = 0; i < layers.size(); i++) {
            // A map can be all zero for one class (only negative evidence, cut by the ReLU), but not for every
            // class unless no gradient reaches the layer.
            float max = 0;
            for (int target = 0; target < 3; target++) {
                GradCam.Result r = GradCam.compute(dpn, x, layers.get(i), target);
                assertArrayEquals(expected, r.probabilities(), 1e-5f, layers.get(i));
                assertEquals(side[i], r.height(), layers.get(i));
                assertEquals(side[i] * side[i], r.map().length);
                for (float v : r.map()) { assertTrue(v >= 0 && v <= 1); max = Math.max(max, v); }
            }
            assertEquals(1f, max, 1e-6f, layers.get(i) + ": no gradient reached this layer for any class");
        }
    }
}
