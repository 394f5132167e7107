package org.pulmo.explain;

import static org.junit.jupiter.api.Assertions.*;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.pulmo.autograd.GradMode;
import org.pulmo.models.Backbone;
import org.pulmo.models.ModelRegistry;
import org.pulmo.nn.Conv2d;
import org.pulmo.nn.Linear;
import org.pulmo.nn.Module;
import org.pulmo.tensor.Rng;
import org.pulmo.tensor.Tensor;

class GradCamTest {

    /**
     * A network with hand-set weights whose evidence sits where the test puts it: one stage, a 1 x 1 convolution
     * [N, 2, H, W] -> [N, 2, H, W] that copies its input (channel k is the evidence for class k), then the head:
     * global average pool and a linear layer without bias, logits y_0 = mean(A_0) - mean(A_1), y_1 = mean(A_1) -
     * mean(A_0). So for class 0, alpha = (+1, -1) / (H W) and Grad-CAM is ReLU(A_0 - A_1) normalised: exactly where
     * channel 0 outweighs channel 1.
     */
    static final class TwoRegions extends Module implements Backbone {
        final Conv2d conv = registerModule("conv", new Conv2d(2, 2, 1, new Rng(1)));
        final Linear fc = registerModule("fc", new Linear(2, 2, false, new Rng(2)));

        TwoRegions() {
            try (var ignored = GradMode.noGrad()) {
                conv.weight.copyFrom(Tensor.of(new float[] {1, 0, 0, 1}, 2, 2, 1, 1));
                fc.weight.copyFrom(Tensor.of(new float[] {1, -1, -1, 1}, 2, 2));
            }
        }

        @Override public int stageCount() { return 1; }
        @Override public int[] stageChannels() { return new int[] {2}; }
        @Override public Tensor stage(int i, Tensor x) { return conv.forward(x); }
        @Override public Tensor head(Tensor features) { return fc.forward(features.globalAvgPool()); }
        @Override public int numClasses() { return 2; }
        @Override public Tensor forward(Tensor x) { return head(stage(0, x)); }
    }

    /**
     * The map must show where the target class's evidence is: class 0's channel is bright in the top-left quarter
     * of an 8 x 8 image, class 1's in the bottom-right, both dim (0.1) elsewhere. Class 0's map is 1 on the
     * top-left quarter and 0 everywhere else, class 1's the mirror. (Any ReLU'd, normalised map has values in [0,
     * 1]; only the place tells a right map from a wrong one, such as one built with the gradient's sign flipped.)
     */
    @Test void mapPeaksWhereTheTargetClassEvidenceIs() {
        int s = 8;
        float[] px = new float[2 * s * s];
        for (int y = 0; y < s; y++)
            for (int x = 0; x < s; x++) {
                px[y * s + x] = (y < 4 && x < 4) ? 1f : 0.1f;              // channel 0: class 0's evidence, top left
                px[(s + y) * s + x] = (y >= 4 && x >= 4) ? 1f : 0.1f;      // channel 1: class 1's evidence, bottom right
            }
        Tensor img = Tensor.of(px, 1, 2, s, s);
        TwoRegions net = new TwoRegions();
        assertEquals(List.of("stage0"), GradCam.layers(net));
        for (int target = 0; target < 2; target++) {
            GradCam.Result r = GradCam.compute(net, img, null, target);
            assertEquals(s, r.height());
            assertEquals(s, r.width());
            assertEquals(target, r.targetClass());
            for (int y = 0; y < s; y++)
                for (int x = 0; x < s; x++) {
                    boolean inside = target == 0 ? y < 4 && x < 4 : y >= 4 && x >= 4;
                    assertEquals(inside ? 1f : 0f, r.map()[y * s + x], 1e-5f,
                        "class " + target + " at (" + y + ", " + x + "): " + (inside ? "its evidence" : "no evidence for it"));
                }
        }
    }

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

    /**
     * VGG-16 and Inception-v3 (two of the DPN-SENet paper's Table 1 networks): Grad-CAM runs their layers one by one
     * to keep a feature map's gradient, which must give the model's own probabilities; each layer's map has that
     * layer's resolution and gets a gradient for some class.
     */
    @Test void vggAndInceptionHaveMapsAtEveryLayerAndTheModelsProbabilities() {
        Object[][] cases = {
            {"vgg16-bn", 32, List.of("pool1", "pool2", "pool3", "pool4", "pool5"), new int[] {16, 8, 4, 2, 1}},
            {"inception-v3", 75, List.of("stem", "Mixed_5d", "Mixed_6e", "Mixed_7c"), new int[] {7, 7, 3, 1}}};
        for (Object[] c : cases) {
            String name = (String) c[0];
            int size = (Integer) c[1];
            Module net = ModelRegistry.create(name, 4, size, 5);
            net.eval();
            Tensor x = Tensor.randn(new Rng(4), 1, 3, size, size);
            float[] expected;
            try (var ignored = GradMode.noGrad()) { expected = net.forward(x).softmax(1).toArray(); }
            assertEquals(c[2], GradCam.layers(net), name);
            assertEquals(((List<?>) c[2]).getLast(), GradCam.defaultLayer(net), name);
            int[] side = (int[]) c[3];
            for (int i = 0; i < side.length; i++) {
                String layer = GradCam.layers(net).get(i);
                float max = 0;
                for (int target = 0; target < 4 && max < 1; target++) {   // the first class with positive evidence ends it
                    GradCam.Result r = GradCam.compute(net, x, layer, target);
                    assertArrayEquals(expected, r.probabilities(), 1e-5f, name + " " + layer);
                    assertEquals(side[i], r.height(), name + " " + layer);
                    assertEquals(side[i] * side[i], r.map().length, name + " " + layer);
                    for (float v : r.map()) { assertTrue(v >= 0 && v <= 1); max = Math.max(max, v); }
                }
                assertEquals(1f, max, 1e-6f, name + " " + layer + ": no gradient reached this layer for any class");
            }
        }
    }

    /**
     * A batch of two is refused (the map is of one image); afterwards each module is back in its own mode and each
     * parameter holds its own gradient (a caller's, between its backward and its optimizer step), not Grad-CAM's.
     */
    @Test void oneImageAtATimeAndTheModelKeepsItsModesAndGradients() {
        TwoRegions net = new TwoRegions();
        net.train();
        net.fc.eval();   // a caller's mixed modes, e.g. a frozen part
        Tensor callers = Tensor.randn(new Rng(5), 2, 2);
        net.fc.weight.setGrad(callers);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> GradCam.compute(net, Tensor.randn(new Rng(1), 2, 2, 8, 8), null, 0));
        assertTrue(e.getMessage().contains("[2, 2, 8, 8]"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> GradCam.compute(net, Tensor.randn(new Rng(1), 1, 2, 8, 8), null, 2));
        GradCam.compute(net, Tensor.randn(new Rng(1), 1, 2, 8, 8), null, 1);
        assertTrue(net.isTraining());
        assertTrue(net.conv.isTraining());
        assertFalse(net.fc.isTraining());
        assertSame(callers, net.fc.weight.grad());
        assertNull(net.conv.weight.grad());
    }
}
