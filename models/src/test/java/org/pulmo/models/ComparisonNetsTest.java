package org.pulmo.models;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.pulmo.models.ModelChecks.assertShape;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.pulmo.autograd.GradCheck;
import org.pulmo.autograd.GradMode;
import org.pulmo.tensor.Rng;
import org.pulmo.tensor.Tensor;

/** DenseNet, VGG and Inception-v3: names, stage shapes, and VGG's adaptive pooling. */
class ComparisonNetsTest {

    @Test void densenet169StageShapesAt224() {
        DenseNet d = new DenseNet(DenseNet.DENSENET169, 1000, new Rng(1));
        d.eval();
        try (var g = GradMode.noGrad()) {
            List<Tensor> s = d.stages(Tensor.randn(new Rng(2), 1, 3, 224, 224));
            assertShape(new int[] {1, 64, 56, 56}, s.get(0));
            assertShape(new int[] {1, 128, 28, 28}, s.get(1));
            assertShape(new int[] {1, 256, 14, 14}, s.get(2));
            assertShape(new int[] {1, 640, 7, 7}, s.get(3));
            assertShape(new int[] {1, 1664, 7, 7}, s.get(4));
            assertArrayEquals(d.forward(Tensor.randn(new Rng(3), 1, 3, 64, 64)).toArray(),
                d.head(d.stages(Tensor.randn(new Rng(3), 1, 3, 64, 64)).get(4)).toArray());
        }
        assertArrayEquals(new int[] {64, 128, 256, 640, 1664}, d.stageChannels());
    }

    @Test void torchvisionNames() {
        Map<String, Tensor> dn = new DenseNet(DenseNet.DENSENET121, 10, new Rng(1)).stateDict();
        for (String k : List.of("features.conv0.weight", "features.norm0.running_mean", "features.denseblock1.denselayer1.norm1.weight",
                "features.denseblock1.denselayer6.conv2.weight", "features.transition3.conv.weight", "features.denseblock4.denselayer16.norm2.bias",
                "features.norm5.weight", "classifier.weight"))
            assertTrue(dn.containsKey(k), k);
        // (plain VGG-16's features.0 .. features.28 are checked by vggFeatureMapAt224)
        Map<String, Tensor> vggBn = new Vgg(Vgg.VGG16, true, 10, new Rng(1)).stateDict();
        for (String k : List.of("features.0.weight", "features.1.running_mean", "features.40.weight", "features.41.bias",
                "classifier.0.weight", "classifier.3.bias", "classifier.6.weight"))
            assertTrue(vggBn.containsKey(k), k);
        InceptionV3 inc = new InceptionV3(10, true, new Rng(1));
        Map<String, Tensor> in = inc.stateDict();
        for (String k : List.of("Conv2d_1a_3x3.conv.weight", "Conv2d_4a_3x3.bn.running_var", "Mixed_5b.branch_pool.conv.weight",
                "Mixed_6b.branch7x7dbl_5.conv.weight", "Mixed_7c.branch3x3dbl_3b.bn.weight", "AuxLogits.conv1.conv.weight", "AuxLogits.fc.bias", "fc.weight"))
            assertTrue(in.containsKey(k), k);
        assertArrayEquals(new int[] {128, 128, 1, 7}, in.get("Mixed_6b.branch7x7_2.conv.weight").shape());
        assertArrayEquals(new int[] {192, 128, 7, 1}, in.get("Mixed_6b.branch7x7_3.conv.weight").shape());
        assertEquals(1e-3f, inc.conv1a.bn.eps);
    }

    @Test void inceptionWithoutAuxMatchesTorchvisionsOtherCount() {
        assertEquals(23_834_568, new InceptionV3(1000, false, new Rng(1)).parameterCount());
    }

    @Test void inceptionShapesAt75() {
        InceptionV3 inc = new InceptionV3(5, true, new Rng(1));
        inc.eval();
        try (var g = GradMode.noGrad()) {
            assertShape(new int[] {1, 5}, inc.forward(Tensor.randn(new Rng(2), 1, 3, 75, 75)));
        }
    }

    @Test void adaptiveAvgPoolByHandAndGradient() {
        // 2 -> 3 cells: cell 0 covers input 0, cell 1 covers 0..1, cell 2 covers 1 (PyTorch's floor / ceil bounds)
        Tensor x = Tensor.of(new float[] {1, 3, 5, 7}, 1, 1, 2, 2);
        var pool = new Vgg.AdaptiveAvgPool2d(3, 3);
        assertArrayEquals(new float[] {1, 2, 3, 3, 4, 5, 5, 6, 7}, pool.forward(x).toArray(), 1e-6f);
        // 5 -> 3: cells 0..1, 1..3, 3..4
        Tensor y = Tensor.arange(5).reshape(1, 1, 1, 5);
        assertArrayEquals(new float[] {0.5f, 2f, 3.5f}, new Vgg.AdaptiveAvgPool2d(1, 3).forward(y).toArray(), 1e-6f);
        Tensor z = GradCheck.spaced(new Rng(4), 2, 3, 3, 2).requiresGrad(true);
        GradCheck.assertGradients(in -> new Vgg.AdaptiveAvgPool2d(7, 7).forward(in.get(0)), z);
        Tensor big = Tensor.randn(new Rng(5), 1, 2, 14, 14);
        assertArrayEquals(big.avgPool2d(2, 2, 0).toArray(), new Vgg.AdaptiveAvgPool2d(7, 7).forward(big).toArray(), 1e-6f);
    }

    @Test void vggFeatureMapAt224() {
        Vgg v = new Vgg(Vgg.VGG16, false, 3, new Rng(1));
        Map<String, Tensor> sd = v.stateDict();
        for (String k : List.of("features.0.weight", "features.2.weight", "features.28.bias", "classifier.6.weight"))
            assertTrue(sd.containsKey(k), k);
        v.eval();
        try (var g = GradMode.noGrad()) {
            assertShape(new int[] {1, 512, 7, 7}, v.features.forward(Tensor.randn(new Rng(2), 1, 3, 224, 224)));
        }
    }

    /** Mean 0 and standard deviation within 4 % of {@code std} over a weight's values (thousands of draws at least). */
    static void assertSpread(String name, Tensor w, double std) {
        float[] v = w.toArray();
        assertTrue(v.length >= 4096, name + " has too few values to judge");
        double sum = 0, sq = 0;
        for (float x : v) { sum += x; sq += (double) x * x; }
        double mean = sum / v.length, sd = Math.sqrt(sq / v.length - mean * mean);
        assertTrue(Math.abs(sd / std - 1) < 0.04 && Math.abs(mean) < 4 * std / Math.sqrt(v.length), name + ": mean " + mean + ", sd " + sd + ", expected sd " + std);
    }

    @Test void comparisonNetworksStartFromTorchvisionsInitialisation() {
        // DenseNet: kaiming_normal_ with fan_in (the 1x1 conv1 of the first layer: 64 in, 128 out; fan_out would give sqrt(2/128))
        Map<String, Tensor> dn = new DenseNet(DenseNet.DENSENET121, 10, new Rng(1)).stateDict();
        assertSpread("denselayer1.conv1", dn.get("features.denseblock1.denselayer1.conv1.weight"), Math.sqrt(2.0 / 64));
        assertSpread("denselayer1.conv2", dn.get("features.denseblock1.denselayer1.conv2.weight"), Math.sqrt(2.0 / (128 * 9)));
        assertSpread("transition3.conv", dn.get("features.transition3.conv.weight"), Math.sqrt(2.0 / 1024));
        assertArrayEquals(new float[10], dn.get("classifier.bias").toArray());
        // VGG: linear layers N(0, 0.01), zero bias
        Map<String, Tensor> vgg = new Vgg(Vgg.VGG16, false, 10, new Rng(1)).stateDict();
        assertSpread("classifier.3", vgg.get("classifier.3.weight"), 0.01);
        assertSpread("classifier.6", vgg.get("classifier.6.weight"), 0.01);
        assertArrayEquals(new float[4096], vgg.get("classifier.0.bias").toArray());
        assertSpread("features.28", vgg.get("features.28.weight"), Math.sqrt(2.0 / (512 * 9)));
        // Inception-v3: truncated normal, std 0.1 (all convs, fc), 0.001 (the aux head's fc)
        Map<String, Tensor> inc = new InceptionV3(10, true, new Rng(1)).stateDict();
        assertSpread("Conv2d_4a_3x3", inc.get("Conv2d_4a_3x3.conv.weight"), 0.1);
        assertSpread("AuxLogits.conv1", inc.get("AuxLogits.conv1.conv.weight"), 0.1);
        assertSpread("fc", inc.get("fc.weight"), 0.1);
        assertSpread("AuxLogits.fc", inc.get("AuxLogits.fc.weight"), 0.001);
    }

    @Test void truncatedNormalStaysInItsBounds() {
        float[] v = org.pulmo.nn.Init.truncatedNormal(new Rng(3), 1f, -0.5f, 1.5f, 20000).toArray();
        double sum = 0;
        for (float x : v) { assertTrue(x >= -0.5f && x <= 1.5f, "value " + x); sum += x; }
        // N(0, 1) truncated to [-0.5, 1.5]: mean (phi(-0.5) - phi(1.5)) / (Phi(1.5) - Phi(-0.5)) = 0.22255 / 0.62465 = 0.3563
        assertEquals(0.3563, sum / v.length, 0.015);
    }
}
