package org.pulmo.models;

import java.util.ArrayList;
import java.util.List;
import org.pulmo.nn.BatchNorm2d;
import org.pulmo.nn.Conv2d;
import org.pulmo.nn.Linear;
import org.pulmo.nn.MaxPool2d;
import org.pulmo.nn.Module;
import org.pulmo.nn.Sequential;
import org.pulmo.tensor.Rng;
import org.pulmo.tensor.Tensor;

/**
 * He, Zhang, Ren and Sun, "Deep Residual Learning for Image Recognition" (CVPR 2016), Table 1, in torchvision's
 * layout ("ResNet v1.5"): in a bottleneck the stride sits on the 3x3 conv, not on the first 1x1 as in the
 * paper. Parameter names are torchvision's ({@code conv1}, {@code bn1}, {@code layer1.0.conv1.weight},
 * {@code layer2.0.downsample.0}, {@code fc}), so torchvision weights load by name.
 *
 * <p>Shapes (224 x 224 input, ResNet-50): stem [N, 64, 56, 56], layer1 [N, 256, 56, 56], layer2
 * [N, 512, 28, 28], layer3 [N, 1024, 14, 14], layer4 [N, 2048, 7, 7], logits [N, numClasses]. ResNet-18/34 have
 * 64, 128, 256, 512 channels at the four layers.
 *
 * <p>Parameters at 1000 classes: ResNet-18 11,689,512; 34 21,797,672; 50 25,557,032; 101 44,549,160;
 * 152 60,192,808 (torchvision's counts).
 */
public final class ResNet extends Module implements Backbone {

    /** Table 1: blocks per layer, and whether blocks are bottlenecks (expansion 4) or basic (expansion 1). */
    public record Config(String name, boolean bottleneck, int[] blocks) {
        public int expansion() { return bottleneck ? 4 : 1; }
    }

    public static final Config RESNET18 = new Config("resnet18", false, new int[] {2, 2, 2, 2});
    public static final Config RESNET34 = new Config("resnet34", false, new int[] {3, 4, 6, 3});
    public static final Config RESNET50 = new Config("resnet50", true, new int[] {3, 4, 6, 3});
    public static final Config RESNET101 = new Config("resnet101", true, new int[] {3, 4, 23, 3});
    public static final Config RESNET152 = new Config("resnet152", true, new int[] {3, 8, 36, 3});

    // ------------------------------------------------------------------ helpers

    static Conv2d conv3x3(int in, int out, int stride, Rng rng) { return new Conv2d(in, out, 3, stride, 1, false, rng); }

    static Conv2d conv1x1(int in, int out, int stride, Rng rng) { return new Conv2d(in, out, 1, stride, 0, false, rng); }

    // ------------------------------------------------------------------ blocks

    /** ResNet-18/34 block: x -> 3x3 (stride) -> BN -> ReLU -> 3x3 -> BN, plus the shortcut, then ReLU. */
    static final class BasicBlock extends Module {
        final Conv2d conv1, conv2;
        final BatchNorm2d bn1, bn2;
        final Sequential downsample; // 1x1 conv (stride) + BN when the shape changes, else null (identity)

        BasicBlock(int in, int width, int stride, Rng rng) {
            conv1 = registerModule("conv1", conv3x3(in, width, stride, rng));
            bn1 = registerModule("bn1", new BatchNorm2d(width));
            conv2 = registerModule("conv2", conv3x3(width, width, 1, rng));
            bn2 = registerModule("bn2", new BatchNorm2d(width));
            downsample = stride != 1 || in != width
                ? registerModule("downsample", new Sequential(conv1x1(in, width, stride, rng), new BatchNorm2d(width))) : null;
        }

        @Override public Tensor forward(Tensor x) {
            Tensor identity = downsample == null ? x : downsample.forward(x);
            Tensor out = bn1.forwardRelu(conv1.forward(x));
            return bn2.forwardAddRelu(conv2.forward(out), identity);   // relu(bn2(conv2(out)) + identity)
        }
    }

    /**
     * ResNet-50/101/152 block: 1x1 (reduce to width) -> 3x3 (stride) -> 1x1 (expand to 4 * width), BN after each,
     * ReLU after the first two and after the sum with the shortcut.
     * Departure from the paper (torchvision v1.5): the stride is on the 3x3 (conv2), not on conv1.
     */
    static final class Bottleneck extends Module {
        final Conv2d conv1, conv2, conv3;
        final BatchNorm2d bn1, bn2, bn3;
        final Sequential downsample;

        Bottleneck(int in, int width, int stride, Rng rng) {
            int out = width * 4;
            conv1 = registerModule("conv1", conv1x1(in, width, 1, rng));
            bn1 = registerModule("bn1", new BatchNorm2d(width));
            conv2 = registerModule("conv2", conv3x3(width, width, stride, rng)); // v1.5: stride here
            bn2 = registerModule("bn2", new BatchNorm2d(width));
            conv3 = registerModule("conv3", conv1x1(width, out, 1, rng));
            bn3 = registerModule("bn3", new BatchNorm2d(out));
            downsample = stride != 1 || in != out
                ? registerModule("downsample", new Sequential(conv1x1(in, out, stride, rng), new BatchNorm2d(out))) : null;
        }

        @Override public Tensor forward(Tensor x) {
            Tensor identity = downsample == null ? x : downsample.forward(x);
            Tensor out = bn1.forwardRelu(conv1.forward(x));
            out = bn2.forwardRelu(conv2.forward(out));
            return bn3.forwardAddRelu(conv3.forward(out), identity);   // relu(bn3(conv3(out)) + identity)
        }
    }

    // ------------------------------------------------------------------ network

    public final Config config;
    public final int numClasses;
    public final Conv2d conv1;
    public final BatchNorm2d bn1;
    public final MaxPool2d maxpool;
    public final Sequential layer1, layer2, layer3, layer4;
    public final Linear fc;

    public ResNet(Config config, int numClasses, Rng rng) {
        this.config = config;
        this.numClasses = numClasses;
        conv1 = registerModule("conv1", new Conv2d(3, 64, 7, 2, 3, false, rng));
        bn1 = registerModule("bn1", new BatchNorm2d(64));
        maxpool = registerModule("maxpool", new MaxPool2d(3, 2, 1));
        int[] in = {64};
        layer1 = registerModule("layer1", layer(in, 64, config.blocks[0], 1, rng));
        layer2 = registerModule("layer2", layer(in, 128, config.blocks[1], 2, rng));
        layer3 = registerModule("layer3", layer(in, 256, config.blocks[2], 2, rng));
        layer4 = registerModule("layer4", layer(in, 512, config.blocks[3], 2, rng));
        fc = registerModule("fc", new Linear(512 * config.expansion(), numClasses, rng));
    }

    /** One layer (stage): the first block changes stride/width, the rest keep it. in[0] is updated to the output width. */
    private Sequential layer(int[] in, int width, int blocks, int stride, Rng rng) {
        Sequential s = new Sequential();
        for (int b = 0; b < blocks; b++) {
            int st = b == 0 ? stride : 1;
            s.add(config.bottleneck ? new Bottleneck(in[0], width, st, rng) : new BasicBlock(in[0], width, st, rng));
            in[0] = width * config.expansion();
        }
        return s;
    }

    @Override public int[] stageChannels() {
        int e = config.expansion();
        return new int[] {64, 64 * e, 128 * e, 256 * e, 512 * e};
    }

    @Override public int numClasses() { return numClasses; }

    @Override public Tensor stage(int i, Tensor x) {
        return switch (i) {
            case 0 -> maxpool.forward(bn1.forwardRelu(conv1.forward(x))); // stem ("layer0")
            case 1 -> layer1.forward(x);
            case 2 -> layer2.forward(x);
            case 3 -> layer3.forward(x);
            case 4 -> layer4.forward(x);
            default -> throw new IllegalArgumentException("ResNet has stages 0..4, got " + i);
        };
    }

    /** Outputs of the stem and of layer1..layer4 (the shapes in the class comment). */
    public List<Tensor> stages(Tensor x) {
        List<Tensor> out = new ArrayList<>();
        for (int i = 0; i < 5; i++) out.add(x = stage(i, x));
        return out;
    }

    @Override public Tensor head(Tensor features) { return fc.forward(features.globalAvgPool()); }

    @Override public Tensor forward(Tensor x) {
        x = stage(0, x); // [N, 64, 56, 56]    conv1 7x7/2, bn1, relu, maxpool 3x3/2
        x = stage(1, x); // [N, 256, 56, 56]   (64 for ResNet-18/34)
        x = stage(2, x); // [N, 512, 28, 28]
        x = stage(3, x); // [N, 1024, 14, 14]
        x = stage(4, x); // [N, 2048, 7, 7]
        return head(x);  // [N, numClasses]    global average pool, fc
    }
}
