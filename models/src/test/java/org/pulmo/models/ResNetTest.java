package org.pulmo.models;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.pulmo.models.ModelChecks.assertCount;
import static org.pulmo.models.ModelChecks.assertShape;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.pulmo.autograd.GradMode;
import org.pulmo.tensor.Rng;
import org.pulmo.tensor.Tensor;

class ResNetTest {

    @Test void parameterCountsEqualTorchvision() {
        // 1000-class counts of ResNet-18..152 are checked in ModelRegistryTest; MA-Net's backbone has 2 classes
        assertCount(23_512_130, new ResNet(ResNet.RESNET50, 2, new Rng(1)));
        assertCount(11_689_512 - 998 * 513, new ResNet(ResNet.RESNET18, 2, new Rng(1))); // 998 fewer fc rows of 512 + 1
    }

    @Test void namesAreTorchvisions() {
        Map<String, Tensor> sd = new ResNet(ResNet.RESNET50, 1000, new Rng(1)).stateDict();
        for (String k : List.of("conv1.weight", "bn1.running_var", "bn1.num_batches_tracked", "layer1.0.conv1.weight",
                "layer1.0.downsample.0.weight", "layer1.0.downsample.1.bias", "layer2.0.conv2.weight", "layer4.2.bn3.weight",
                "fc.weight", "fc.bias"))
            assertTrue(sd.containsKey(k), k);
        // torchvision resnet50's state dict has 320 entries (161 parameters, 159 buffers)
        assertEquals(320, sd.size());
        // v1.5: the stride sits on conv2 (3x3) of the first block of layer2
        ResNet r = new ResNet(ResNet.RESNET50, 1000, new Rng(1));
        var b = (ResNet.Bottleneck) r.layer2.get(0);
        assertEquals(1, b.conv1.params.strideH());
        assertEquals(2, b.conv2.params.strideH());
    }

    @Test void stageShapesAt224() {
        ResNet r = new ResNet(ResNet.RESNET50, 1000, new Rng(1));
        r.eval();
        try (var g = GradMode.noGrad()) {
            List<Tensor> s = r.stages(Tensor.randn(new Rng(2), 1, 3, 224, 224));
            assertShape(new int[] {1, 64, 56, 56}, s.get(0));
            assertShape(new int[] {1, 256, 56, 56}, s.get(1));
            assertShape(new int[] {1, 512, 28, 28}, s.get(2));
            assertShape(new int[] {1, 1024, 14, 14}, s.get(3));
            assertShape(new int[] {1, 2048, 7, 7}, s.get(4));
            assertShape(new int[] {1, 1000}, r.head(s.get(4)));
        }
    }

    @Test void resnet18StageWidths() {
        ResNet r = new ResNet(ResNet.RESNET18, 10, new Rng(1));
        r.eval();
        try (var g = GradMode.noGrad()) {
            List<Tensor> s = r.stages(Tensor.randn(new Rng(2), 1, 3, 64, 64));
            assertShape(new int[] {1, 64, 16, 16}, s.get(1));
            assertShape(new int[] {1, 512, 2, 2}, s.get(4));
        }
    }

    @Test void forwardEqualsStagesThenHead() {
        ResNet r = new ResNet(ResNet.RESNET18, 5, new Rng(3));
        r.eval();
        Tensor x = Tensor.randn(new Rng(4), 1, 3, 32, 32);
        try (var g = GradMode.noGrad()) {
            List<Tensor> s = r.stages(x);
            org.junit.jupiter.api.Assertions.assertArrayEquals(r.forward(x).toArray(), r.head(s.get(4)).toArray());
        }
    }
}
