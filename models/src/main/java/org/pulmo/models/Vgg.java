package org.pulmo.models;

import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;
import org.pulmo.autograd.GradMode;
import org.pulmo.nn.BatchNorm2d;
import org.pulmo.nn.Conv2d;
import org.pulmo.nn.Dropout;
import org.pulmo.nn.Init;
import org.pulmo.nn.Linear;
import org.pulmo.nn.MaxPool2d;
import org.pulmo.nn.Module;
import org.pulmo.nn.ReLU;
import org.pulmo.nn.Sequential;
import org.pulmo.tensor.Rng;
import org.pulmo.tensor.Tensor;

/**
 * Simonyan and Zisserman, "Very Deep Convolutional Networks for Large-Scale Image Recognition" (ICLR 2015),
 * Table 1 column D (VGG-16), optionally with BatchNorm after every conv (torchvision's {@code vgg16_bn}), in
 * torchvision's layout and names: {@code features.<i>} (convs with bias, ReLU, 2x2 max-pools; indices as in
 * torchvision, so {@code features.0.weight}, {@code features.28.bias}), {@code avgpool} (adaptive to 7 x 7),
 * {@code classifier.0/3/6} (4096, 4096, numClasses, with ReLU and dropout 0.5 between).
 *
 * <p>Shapes at 224 x 224: features [N, 512, 7, 7] -> avgpool [N, 512, 7, 7] -> flatten [N, 25088] -> logits
 * [N, numClasses]. Parameters at 1000 classes: 138,357,544 (VGG-16), 138,365,992 (VGG-16-BN).
 */
public final class Vgg extends Module {

    /** Table 1, column D: conv widths, 0 = 2x2 max-pool. */
    public static final int[] VGG16 = {64, 64, 0, 128, 128, 0, 256, 256, 256, 0, 512, 512, 512, 0, 512, 512, 512, 0};

    /**
     * Average pooling to a fixed output size (PyTorch's AdaptiveAvgPool2d): output cell o covers input rows
     * floor(o * in / out) .. ceil((o + 1) * in / out) - 1, so inputs smaller than the output repeat cells.
     * Computed as two small matrix products with the pooling matrices P_H [outH, H] and P_W [outW, W]:
     * y = P_H x P_Wᵀ per channel, whose backward is the matmul's.
     */
    public static final class AdaptiveAvgPool2d extends Module {
        public final int outH, outW;

        public AdaptiveAvgPool2d(int outH, int outW) { this.outH = outH; this.outW = outW; }

        /** [out, in] pooling matrix: row o averages the input cells of output cell o. */
        static Tensor poolingMatrix(int in, int out) {
            float[] p = new float[out * in];
            for (int o = 0; o < out; o++) {
                int start = Math.floorDiv(o * in, out), end = -Math.floorDiv(-(o + 1) * in, out); // floor, ceil
                for (int i = start; i < end; i++) p[o * in + i] = 1f / (end - start);
            }
            return Tensor.of(p, out, in);
        }

        @Override public Tensor forward(Tensor x) {
            int h = x.shape()[2], w = x.shape()[3];
            if (h == outH && w == outW) return x;
            if (h % outH == 0 && w % outW == 0 && h / outH == w / outW) return x.avgPool2d(h / outH, h / outH, 0);
            Tensor pw = poolingMatrix(w, outW).transpose(0, 1).contiguous().to(x.device()); // [W, outW]
            Tensor ph = poolingMatrix(h, outH).transpose(0, 1).contiguous().to(x.device()); // [H, outH]
            Tensor y = x.matmul(pw);                                       // [N, C, H, outW]
            y = y.transpose(2, 3).contiguous().matmul(ph);                // [N, C, outW, outH]
            return y.transpose(2, 3).contiguous();                        // [N, C, outH, outW]
        }

        @Override protected String extraRepr() { return "output_size=(" + outH + ", " + outW + ")"; }
    }

    public final boolean batchNorm;
    public final int numClasses;
    public final Sequential features, classifier;
    public final AdaptiveAvgPool2d avgpool;

    public Vgg(int[] config, boolean batchNorm, int numClasses, Rng rng) {
        this.batchNorm = batchNorm;
        this.numClasses = numClasses;
        features = registerModule("features", new Sequential());
        int in = 3;
        for (int v : config) {
            if (v == 0) { features.add(new MaxPool2d(2, 2, 0)); continue; }
            features.add(new Conv2d(in, v, 3, 1, 1, true, rng));
            if (batchNorm) features.add(new BatchNorm2d(v));
            features.add(new ReLU());
            in = v;
        }
        avgpool = registerModule("avgpool", new AdaptiveAvgPool2d(7, 7));
        classifier = registerModule("classifier", new Sequential(
            new Linear(512 * 7 * 7, 4096, rng), new ReLU(), new Dropout(0.5f, rng.fork()),
            new Linear(4096, 4096, rng), new ReLU(), new Dropout(0.5f, rng.fork()),
            new Linear(4096, numClasses, rng)));
        // torchvision's VGG initialisation: convolutions Kaiming normal fan_out with zero bias (nn's Conv2d), linear
        // layers N(0, 0.01) with zero bias.
        try (var ignored = GradMode.noGrad()) {
            for (Module m : classifier.namedModules().values())
                if (m instanceof Linear l) { l.weight.copyFrom(Init.normal(rng, 0.01f, l.weight.shape())); l.bias.fill(0f); }
        }
    }

    @Override public Tensor forward(Tensor x) {
        x = features.forward(x);          // [N, 512, 7, 7] at 224 x 224 (five 2x2 pools)
        x = avgpool.forward(x);           // [N, 512, 7, 7] whatever the input size
        return classifier.forward(x.flatten(1)); // [N, 25088] -> [N, numClasses]
    }

    /**
     * The feature maps {@link #forward(Tensor, String, UnaryOperator)} can hand out: each block's output after its max
     * pool, {@code pool1} .. {@code pool5} for VGG-16 ([N, 64, 112, 112] .. [N, 512, 7, 7] at 224 x 224).
     */
    public List<String> stages() {
        List<String> names = new ArrayList<>();
        for (int i = 0; i < features.size(); i++) if (features.get(i) instanceof MaxPool2d) names.add("pool" + (names.size() + 1));
        return names;
    }

    /**
     * The logits, with {@code tap} applied to the feature map {@code stage} (one of {@link #stages}) and the rest of the
     * network run on what it returns: how Grad-CAM keeps a gradient of that map.
     */
    public Tensor forward(Tensor x, String stage, UnaryOperator<Tensor> tap) {
        if (!stages().contains(stage)) throw new IllegalArgumentException("VGG has no stage '" + stage + "'; choose one of " + stages());
        for (int i = 0, pools = 0; i < features.size(); i++) {
            x = features.get(i).forward(x);
            if (features.get(i) instanceof MaxPool2d && stage.equals("pool" + ++pools)) x = tap.apply(x);
        }
        return classifier.forward(avgpool.forward(x).flatten(1));
    }
}
