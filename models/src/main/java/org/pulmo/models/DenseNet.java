package org.pulmo.models;

import java.util.ArrayList;
import java.util.List;
import org.pulmo.autograd.GradMode;
import org.pulmo.nn.AvgPool2d;
import org.pulmo.nn.BatchNorm2d;
import org.pulmo.nn.Conv2d;
import org.pulmo.nn.Init;
import org.pulmo.nn.Linear;
import org.pulmo.nn.MaxPool2d;
import org.pulmo.nn.Module;
import org.pulmo.nn.ReLU;
import org.pulmo.tensor.Rng;
import org.pulmo.tensor.Tensor;

/**
 * Huang, Liu, van der Maaten and Weinberger, "Densely Connected Convolutional Networks" (CVPR 2017), Table 1
 * (DenseNet-BC: bottleneck 1x1 to 4k channels, compression 0.5 in transitions), in torchvision's layout and
 * names ({@code features.conv0}, {@code features.denseblock1.denselayer1.norm1}, {@code features.transition1.conv},
 * {@code features.norm5}, {@code classifier}). Growth rate k = 32, 64 initial features.
 *
 * <p>Each dense layer reads the concatenation of every earlier feature map of its block and adds k new
 * channels: BN-ReLU-1x1 conv (to 4k) -> BN-ReLU-3x3 conv (to k). A transition halves the channels (1x1) and
 * the resolution (2x2 average pool).
 *
 * <p>Shapes for DenseNet-169 at 224 x 224: stem [N, 64, 56, 56]; block1 + transition1 [N, 128, 28, 28];
 * block2 + transition2 [N, 256, 14, 14]; block3 + transition3 [N, 640, 7, 7]; block4 + norm5 + ReLU
 * [N, 1664, 7, 7]; logits [N, numClasses]. Parameters at 1000 classes: DenseNet-121 7,978,856; 169 14,149,480;
 * 201 20,013,928 (torchvision's counts).
 */
public final class DenseNet extends Module implements Backbone {

    /** Layers per dense block (Table 1). */
    public record Config(String name, int growthRate, int initFeatures, int[] blocks) {}

    public static final Config DENSENET121 = new Config("densenet121", 32, 64, new int[] {6, 12, 24, 16});
    public static final Config DENSENET169 = new Config("densenet169", 32, 64, new int[] {6, 12, 32, 32});
    public static final Config DENSENET201 = new Config("densenet201", 32, 64, new int[] {6, 12, 48, 32});

    static final int BN_SIZE = 4; // bottleneck width = 4 * growth rate

    /** BN-ReLU-1x1 conv (to 4k) -> BN-ReLU-3x3 conv (to k): [N, in, H, W] -> [N, k, H, W]. */
    static final class DenseLayer extends Module {
        final BatchNorm2d norm1, norm2;
        final Conv2d conv1, conv2;

        DenseLayer(int in, int growth, Rng rng) {
            norm1 = registerModule("norm1", new BatchNorm2d(in));
            registerModule("relu1", new ReLU());
            conv1 = registerModule("conv1", new Conv2d(in, BN_SIZE * growth, 1, 1, 0, false, rng));
            norm2 = registerModule("norm2", new BatchNorm2d(BN_SIZE * growth));
            registerModule("relu2", new ReLU());
            conv2 = registerModule("conv2", new Conv2d(BN_SIZE * growth, growth, 3, 1, 1, false, rng));
        }

        @Override public Tensor forward(Tensor x) {
            Tensor bottleneck = conv1.forward(norm1.forwardRelu(x));
            return conv2.forward(norm2.forwardRelu(bottleneck));
        }
    }

    /** [N, in, H, W] -> [N, in + layers * k, H, W]: each layer's output is appended to what the next one reads. */
    static final class DenseBlock extends Module {
        final List<DenseLayer> layers = new ArrayList<>();

        DenseBlock(int layers, int in, int growth, Rng rng) {
            for (int i = 0; i < layers; i++) this.layers.add(registerModule("denselayer" + (i + 1), new DenseLayer(in + i * growth, growth, rng)));
        }

        @Override public Tensor forward(Tensor x) {
            List<Tensor> features = new ArrayList<>(List.of(x));
            for (DenseLayer l : layers) features.add(l.forward(features.size() == 1 ? x : Tensor.cat(features, 1)));
            return Tensor.cat(features, 1);
        }
    }

    /** BN-ReLU-1x1 conv (halve channels) -> 2x2/2 average pool. */
    static final class Transition extends Module {
        final BatchNorm2d norm;
        final Conv2d conv;
        final AvgPool2d pool;

        Transition(int in, int out, Rng rng) {
            norm = registerModule("norm", new BatchNorm2d(in));
            registerModule("relu", new ReLU());
            conv = registerModule("conv", new Conv2d(in, out, 1, 1, 0, false, rng));
            pool = registerModule("pool", new AvgPool2d(2, 2, 0));
        }

        @Override public Tensor forward(Tensor x) { return pool.forward(conv.forward(norm.forwardRelu(x))); }
    }

    /** {@code features}: conv0, norm0, relu0, pool0, denseblock1, transition1, ..., denseblock4, norm5. */
    static final class Features extends Module {
        final Conv2d conv0;
        final BatchNorm2d norm0, norm5;
        final MaxPool2d pool0;
        final DenseBlock[] blocks = new DenseBlock[4];
        final Transition[] transitions = new Transition[3];
        final int[] stageChannels = new int[5];

        Features(Config c, Rng rng) {
            conv0 = registerModule("conv0", new Conv2d(3, c.initFeatures, 7, 2, 3, false, rng));
            norm0 = registerModule("norm0", new BatchNorm2d(c.initFeatures));
            registerModule("relu0", new ReLU());
            pool0 = registerModule("pool0", new MaxPool2d(3, 2, 1));
            int nf = c.initFeatures;
            stageChannels[0] = nf;
            for (int i = 0; i < 4; i++) {
                blocks[i] = registerModule("denseblock" + (i + 1), new DenseBlock(c.blocks[i], nf, c.growthRate, rng));
                nf += c.blocks[i] * c.growthRate;
                if (i < 3) {
                    transitions[i] = registerModule("transition" + (i + 1), new Transition(nf, nf / 2, rng));
                    nf /= 2;
                }
                stageChannels[i + 1] = nf;
            }
            norm5 = registerModule("norm5", new BatchNorm2d(nf));
        }

        /**
         * Stem, then (block + transition) x 3, then block 4 + norm5; the ReLU after norm5 is applied by
         * {@link DenseNet#forward} and, in the stage-by-stage view, by {@link DenseNet#stage} (stage 4).
         */
        @Override public Tensor forward(Tensor x) {
            x = pool0.forward(norm0.forwardRelu(conv0.forward(x)));
            for (int i = 0; i < 3; i++) x = transitions[i].forward(blocks[i].forward(x));
            return norm5.forward(blocks[3].forward(x));
        }
    }

    public final Config config;
    public final int numClasses;
    final Features features;
    public final Linear classifier;

    public DenseNet(Config config, int numClasses, Rng rng) {
        this.config = config;
        this.numClasses = numClasses;
        features = registerModule("features", new Features(config, rng));
        classifier = registerModule("classifier", new Linear(features.stageChannels[4], numClasses, rng));
        // torchvision's DenseNet initialisation: convolutions Kaiming normal with fan_in (kaiming_normal_'s default;
        // ResNet's and nn's Conv2d use fan_out), batch norm 1 and 0, the classifier's bias 0 (its weight PyTorch's uniform).
        try (var ignored = GradMode.noGrad()) {
            for (Module m : namedModules().values())
                if (m instanceof Conv2d c) c.weight.copyFrom(Init.kaimingNormalFanIn(rng, c.weight.shape()));
            classifier.bias.fill(0f);
        }
    }

    @Override public int[] stageChannels() { return features.stageChannels.clone(); }

    @Override public int numClasses() { return numClasses; }

    /**
     * Stage 0: conv0-norm0-relu0-pool0; 1..3: dense block + transition; 4: dense block 4 + norm5 + ReLU. Departure: MA-Net
     * reports DenseNet-169 (Tables 5-6) without saying where its blocks sit; these are our stage boundaries (docs/FIDELITY.md).
     */
    @Override public Tensor stage(int i, Tensor x) {
        Features f = features;
        return switch (i) {
            case 0 -> f.pool0.forward(f.norm0.forwardRelu(f.conv0.forward(x)));
            case 1, 2, 3 -> f.transitions[i - 1].forward(f.blocks[i - 1].forward(x));
            case 4 -> f.norm5.forwardRelu(f.blocks[3].forward(x));
            default -> throw new IllegalArgumentException("DenseNet has stages 0..4, got " + i);
        };
    }

    public List<Tensor> stages(Tensor x) {
        List<Tensor> out = new ArrayList<>();
        for (int i = 0; i < 5; i++) out.add(x = stage(i, x));
        return out;
    }

    @Override public Tensor head(Tensor features) { return classifier.forward(features.globalAvgPool()); }

    @Override public Tensor forward(Tensor x) {
        Tensor f = features.forward(x).relu(); // [N, 1664, 7, 7] for DenseNet-169 (1024 / 1920 for 121 / 201)
        return head(f);                        // global average pool, classifier -> [N, numClasses]
    }
}
