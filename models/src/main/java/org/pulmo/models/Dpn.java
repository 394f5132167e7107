package org.pulmo.models;

import java.util.ArrayList;
import java.util.List;
import org.pulmo.autograd.GradMode;
import org.pulmo.nn.BatchNorm2d;
import org.pulmo.nn.Conv2d;
import org.pulmo.nn.Init;
import org.pulmo.nn.MaxPool2d;
import org.pulmo.nn.Module;
import org.pulmo.nn.SqueezeExcitation;
import org.pulmo.tensor.Rng;
import org.pulmo.tensor.Tensor;

/**
 * Chen, Li, Xiao, Jin, Yan and Feng, "Dual Path Networks" (NeurIPS 2017), Table 1, and DPN-92-SE: the same
 * network with a squeeze-excitation (Hu et al. 2018) in every block. The DPN-SENet COVID-19 paper says only that
 * SE is introduced into DPN-92; one gate in every block, and where it sits, are our reading ({@link SePlacement}).
 *
 * <p>A dual path block keeps two paths side by side: a residual path of fixed width {@code bw} to which each
 * block adds its output (feature re-use, ResNet) and a densely connected path to which each block appends
 * {@code inc} new channels (feature exploration, DenseNet). Both are read together (concatenated) by the
 * block's bottleneck: pre-activation units BN-ReLU-conv (BN eps 1e-3) 1x1 -> grouped 3x3 -> 1x1, whose
 * {@code bw + inc} output channels are split into the residual part (added) and the dense part (appended).
 * The first block of each stage projects the concatenated input to {@code bw + 2*inc} channels, giving the
 * new residual and dense paths: with {@code c1x1_w_s1} (stride 1) in conv2, with {@code c1x1_w_s2} (stride 2)
 * in conv3..conv5.
 *
 * <p>Names follow timm's {@code dpn} ({@code features.conv1_1.conv}, {@code features.conv2_1.c1x1_w_s1.bn},
 * {@code features.conv3_1.c1x1_w_s2}, {@code features.conv5_bn_ac.bn}, {@code classifier}) so timm weights
 * load by name; the classifier is a 1x1 conv with bias. Departure from timm: {@code conv5_bn_ac} ends in ReLU,
 * as the original DPN, where timm uses ELU. The parameters are the same, so state dicts go both ways strictly, but
 * timm's default model computes other logits from them; {@code timm.create_model("dpn92", fc_act_layer="relu")}
 * computes this network's.
 *
 * <p>Shapes for DPN-92 at 224 x 224: stem [N, 64, 56, 56]; after conv2 (resid + dense concatenated)
 * [N, 256 + 80, 56, 56]; conv3 [N, 512 + 192, 28, 28]; conv4 [N, 1024 + 528, 14, 14]; conv5
 * [N, 2048 + 640, 7, 7]; logits [N, numClasses]. Parameters at 1000 classes: DPN-92 37,668,392; DPN-92-SE
 * 42,376,895; DPN-68 12,611,602; DPN-98 61,570,728; DPN-107 86,917,800; DPN-131 79,254,504.
 */
public final class Dpn extends Module {

    /**
     * DPN-92 and DPN-98 as Table 1 of the paper lays them out (per stage: the blocks, the 1x1-3x3-1x1 widths, the
     * groups G and the dense increment "(+k)"); DPN-68, DPN-107 and DPN-131, and the names k_r, k_sec and inc_sec,
     * as the authors' released code (which timm follows) has them. {@code small}: DPN-68's 3x3 stem and residual widths 64, 128, 256, 512 (the others
     * use a 7x7 stem and 256, 512, 1024, 2048). Bottleneck width of stage s (0..3) is {@code kR * 2^s}; each
     * block adds {@code incSec[s]} dense channels; stage s has {@code kSec[s]} blocks.
     */
    public record Config(String name, boolean small, int initFeatures, int kR, int groups, int[] kSec, int[] incSec) {}

    public static final Config DPN68 = new Config("dpn68", true, 10, 128, 32, new int[] {3, 4, 12, 3}, new int[] {16, 32, 32, 64});
    public static final Config DPN92 = new Config("dpn92", false, 64, 96, 32, new int[] {3, 4, 20, 3}, new int[] {16, 32, 24, 128});
    public static final Config DPN98 = new Config("dpn98", false, 96, 160, 40, new int[] {3, 6, 20, 3}, new int[] {16, 32, 32, 128});
    public static final Config DPN107 = new Config("dpn107", false, 128, 200, 50, new int[] {4, 8, 20, 3}, new int[] {20, 64, 64, 128});
    public static final Config DPN131 = new Config("dpn131", false, 128, 160, 40, new int[] {4, 8, 28, 3}, new int[] {16, 32, 32, 128});

    /**
     * Where the squeeze-excitation sits in a dual path block. {@code ALL} (our default for DPN-92-SE, the
     * "all" switch): on the whole output of the last 1x1 conv ({@code bw + inc} channels) before it is split,
     * so one gate recalibrates both the residual update and the new dense channels, as SE-ResNet and SE-ResNeXt
     * gate the residual branch's output before the identity is added (Hu et al., Fig. 3). {@code RESID} ("resid"):
     * on the residual part only ({@code bw} channels), the other natural reading; the dense part is appended
     * ungated. {@code NONE}: plain DPN.
     *
     * <p>Departure: the DPN-SENet paper says only that SE "is introduced into the DPN-92 network" (Sec. 3.2, its
     * Fig. 3, which the text does not describe); where in the block the gate sits, and that every block has one,
     * are our reading (docs/FIDELITY.md). A third reading, a gate on the block's output after the merge, is not
     * offered.
     */
    public enum SePlacement { NONE, ALL, RESID }

    static final float BN_EPS = 1e-3f;

    static BatchNorm2d bn(int c) { return new BatchNorm2d(c, BN_EPS, 0.1f, true); }

    // ------------------------------------------------------------------ helpers

    /** Stem unit (timm ConvNormAct): conv (no bias, padding k/2) -> BN -> ReLU. */
    static final class ConvBnAct extends Module {
        final Conv2d conv;
        final BatchNorm2d bn;

        ConvBnAct(int in, int out, int k, int stride, Rng rng) {
            conv = registerModule("conv", new Conv2d(in, out, k, stride, k / 2, false, rng));
            bn = registerModule("bn", bn(out));
        }

        @Override public Tensor forward(Tensor x) { return bn.forwardRelu(conv.forward(x)); }
    }

    /** Pre-activation unit (timm BnActConv2d): BN -> ReLU -> conv (no bias, padding k/2). */
    static final class BnActConv extends Module {
        final BatchNorm2d bn;
        final Conv2d conv;

        BnActConv(int in, int out, int k, int stride, int groups, Rng rng) {
            bn = registerModule("bn", bn(in));
            conv = registerModule("conv", new Conv2d(in, out, k, stride, k / 2, 1, groups, false, rng));
        }

        @Override public Tensor forward(Tensor x) { return conv.forward(bn.forwardRelu(x)); }
    }

    /** Final unit {@code conv5_bn_ac}: concat(resid, dense) -> BN -> ReLU. */
    static final class CatBnAct extends Module {
        final BatchNorm2d bn;

        CatBnAct(int in) { bn = registerModule("bn", bn(in)); }

        @Override public Tensor forward(Tensor x) { return bn.forwardRelu(x); }
    }

    /**
     * The two paths between blocks: residual [N, bw, H, W] and dense [N, (k + 2) * inc, H, W] after the stage's first k
     * blocks (the projection gives 2 * inc, each block appends inc; null before conv2_1).
     */
    public record DualPath(Tensor resid, Tensor dense) {
        /** What a block reads: both paths concatenated on channels (the stem output before the first block). */
        public Tensor cat() { return dense == null ? resid : Tensor.cat(1, resid, dense); }
    }

    // ------------------------------------------------------------------ block

    /** The three block types: the first of conv2 ({@code PROJ}), first of conv3..5 ({@code DOWN}), the rest. */
    enum BlockType { PROJ, DOWN, NORMAL }

    /**
     * One dual path block; input channels {@code in} = resid + dense, output bw + (dense + inc); {@code width} is the
     * bottleneck's channels (the 1x1 reduce and the grouped 3x3: k_r x 2^stage, k_r the released code's name for Table 1's conv2 width), not SE's ratio r.
     */
    static final class DualPathBlock extends Module {
        final int bw, inc;
        final BnActConv c1x1_w_s1, c1x1_w_s2, c1x1_a, c3x3_b, c1x1_c;
        final SqueezeExcitation se;
        final SePlacement sePlacement;

        DualPathBlock(int in, int width, int bw, int inc, int groups, BlockType type, SePlacement sePlacement, Rng rng) {
            this.bw = bw;
            this.inc = inc;
            this.sePlacement = sePlacement;
            int keyStride = type == BlockType.DOWN ? 2 : 1;
            // projection of the concatenated input to the new residual (bw) and dense (2 * inc) paths
            c1x1_w_s1 = type == BlockType.PROJ ? registerModule("c1x1_w_s1", new BnActConv(in, bw + 2 * inc, 1, 1, 1, rng)) : null;
            c1x1_w_s2 = type == BlockType.DOWN ? registerModule("c1x1_w_s2", new BnActConv(in, bw + 2 * inc, 1, 2, 1, rng)) : null;
            c1x1_a = registerModule("c1x1_a", new BnActConv(in, width, 1, 1, 1, rng));               // 1x1 reduce
            c3x3_b = registerModule("c3x3_b", new BnActConv(width, width, 3, keyStride, groups, rng)); // grouped 3x3
            c1x1_c = registerModule("c1x1_c", new BnActConv(width, bw + inc, 1, 1, 1, rng));          // 1x1 expand
            se = switch (sePlacement) {
                case NONE -> null;
                // Departure: the DPN-SENet paper gives no reduction ratio; r = 16 is Hu et al.'s default.
                case ALL -> registerModule("se", new SqueezeExcitation(bw + inc, 16, rng));
                case RESID -> registerModule("se", new SqueezeExcitation(bw, 16, rng));
            };
        }

        DualPath forward(DualPath x) {
            Tensor xIn = x.cat();                                   // [N, in, H, W]
            Tensor resid, dense;
            if (c1x1_w_s1 != null || c1x1_w_s2 != null) {
                Tensor xs = (c1x1_w_s1 != null ? c1x1_w_s1 : c1x1_w_s2).forward(xIn); // [N, bw + 2 inc, H', W']
                resid = xs.narrow(1, 0, bw);
                dense = xs.narrow(1, bw, 2 * inc);
            } else {
                resid = x.resid;
                dense = x.dense;
            }
            Tensor t = c1x1_c.forward(c3x3_b.forward(c1x1_a.forward(xIn))); // [N, bw + inc, H', W']
            // Departure: SE's place in the block is our reading (SePlacement, docs/FIDELITY.md); the paper names none.
            if (sePlacement == SePlacement.ALL) t = se.forward(t);           // SE on the whole output, before the split
            Tensor out1 = t.narrow(1, 0, bw), out2 = t.narrow(1, bw, inc);
            if (sePlacement == SePlacement.RESID) out1 = se.forward(out1);   // SE on the residual part only
            DualPath next = new DualPath(resid.add(out1), Tensor.cat(1, dense, out2)); // residual: sum; dense: concat
            // t is read by nothing more: the sum's and the concatenation's backwards need no values, and an SE on the
            // whole output reads its input. Given back now, not at the end of the step (DPN-92-SE, batch 32 at 224:
            // 1.15 GB of the forward's memory). With the SE on the residual part, that SE's backward reads t.
            if (sePlacement != SePlacement.RESID) t.releaseUnlessShared(xIn, resid, dense, next.resid(), next.dense());
            return next;
        }

        /** On the concatenated representation (resid first): for use outside a DPN. */
        @Override public Tensor forward(Tensor x) {
            boolean first = c1x1_w_s1 != null || c1x1_w_s2 != null;
            int c = x.shape()[1];
            DualPath in = first ? new DualPath(x, null) : new DualPath(x.narrow(1, 0, bw), x.narrow(1, bw, c - bw));
            return forward(in).cat();
        }
    }

    // ------------------------------------------------------------------ network

    /** {@code features}: conv1_1, conv1_pool, conv2_1 .. conv5_k, conv5_bn_ac, registered under timm's names. */
    static final class Features extends Module {
        final ConvBnAct conv1_1;
        final MaxPool2d conv1_pool;
        final List<List<DualPathBlock>> stages = new ArrayList<>();
        final CatBnAct conv5_bn_ac;
        final int outChannels;

        Features(Config c, SePlacement se, Rng rng) {
            conv1_1 = registerModule("conv1_1", new ConvBnAct(3, c.initFeatures, c.small ? 3 : 7, 2, rng));
            conv1_pool = registerModule("conv1_pool", new MaxPool2d(3, 2, 1));
            int in = c.initFeatures;
            for (int s = 0; s < 4; s++) {
                int bw = (c.small ? 64 : 256) << s;  // residual width: 256, 512, 1024, 2048 (64.. for DPN-68)
                int width = c.kR << s;                // bottleneck width: k_r * 2^s (Table 1's conv2 width, doubled per stage)
                int inc = c.incSec[s];
                List<DualPathBlock> blocks = new ArrayList<>();
                for (int b = 1; b <= c.kSec[s]; b++) {
                    BlockType type = b > 1 ? BlockType.NORMAL : s == 0 ? BlockType.PROJ : BlockType.DOWN;
                    blocks.add(registerModule("conv" + (s + 2) + "_" + b, new DualPathBlock(in, width, bw, inc, c.groups, type, se, rng)));
                    in = b == 1 ? bw + 3 * inc : in + inc;
                }
                stages.add(blocks);
            }
            outChannels = in;
            conv5_bn_ac = registerModule("conv5_bn_ac", new CatBnAct(in));
        }

        Tensor stem(Tensor x) { return conv1_pool.forward(conv1_1.forward(x)); }

        DualPath stage(int s, DualPath x) {
            for (DualPathBlock b : stages.get(s)) {
                DualPath next = b.forward(x);
                // The paths the block before made are read by nothing more once this block has read them: it copied them
                // into its input (cat) and summed or concatenated them (backwards that need no values). Given back now,
                // not at the end of the step (DPN-92-SE, batch 32 at 224: 1.4 GB of the forward's memory). Not the
                // stem's output (no dense path yet), which this block's batch norms read as their input.
                if (x.dense() != null) {
                    x.resid().releaseUnlessShared(next.resid(), next.dense());
                    x.dense().releaseUnlessShared(next.resid(), next.dense());
                }
                x = next;
            }
            return x;
        }

        @Override public Tensor forward(Tensor x) {
            DualPath p = new DualPath(stem(x), null);  // [N, 64, 56, 56]
            p = stage(0, p);                           // conv2: [N, 256 + 80, 56, 56]   (DPN-92)
            p = stage(1, p);                           // conv3: [N, 512 + 192, 28, 28]
            p = stage(2, p);                           // conv4: [N, 1024 + 528, 14, 14]
            p = stage(3, p);                           // conv5: [N, 2048 + 640, 7, 7]
            return conv5_bn_ac.forward(p.cat());       // [N, 2688, 7, 7]
        }
    }

    public final Config config;
    public final SePlacement sePlacement;
    public final int numClasses;
    final Features features;
    public final Conv2d classifier;

    public Dpn(Config config, SePlacement sePlacement, int numClasses, Rng rng) {
        this.config = config;
        this.sePlacement = sePlacement;
        this.numClasses = numClasses;
        features = registerModule("features", new Features(config, sePlacement, rng));
        classifier = registerModule("classifier", new Conv2d(features.outChannels, numClasses, 1, 1, 0, true, rng));
        // Departure: neither DPN paper gives an initialisation; the convolutions take torchvision's (Kaiming normal,
        // fan-out), where timm's DPN leaves PyTorch's default (Kaiming uniform, a = sqrt(5)).
        // The classifier is a linear layer in 1x1-conv form, so it starts as one (and as timm's DPN, whose
        // classifier keeps PyTorch's default conv init): uniform(-1/sqrt(fan_in), 1/sqrt(fan_in)) for weight
        // and bias. The torchvision conv init (Kaiming normal, fan_out = numClasses) would give std ~0.7 for
        // 4 classes and first logits of about +-50.
        float bound = (float) (1 / Math.sqrt(features.outChannels));
        try (var ignored = GradMode.noGrad()) {
            classifier.weight.copyFrom(Init.uniform(rng, bound, numClasses, features.outChannels, 1, 1));
            classifier.bias.copyFrom(Init.uniform(rng, bound, numClasses));
        }
    }

    /** DPN-92-SE of the DPN-SENet paper (SE on the whole output of each block's last 1x1 conv, r = 16: our reading, see {@link SePlacement}). */
    public static Dpn dpn92se(int numClasses, Rng rng) { return new Dpn(DPN92, SePlacement.ALL, numClasses, rng); }

    /** Channels after conv5_bn_ac (2688 for DPN-92). */
    public int numFeatures() { return features.outChannels; }

    /** The stem output and the concatenated dual path state after conv2 .. conv5 (before conv5_bn_ac). */
    public List<Tensor> stages(Tensor x) {
        List<Tensor> out = new ArrayList<>();
        DualPath p = new DualPath(features.stem(x), null);
        out.add(p.resid());
        for (int s = 0; s < 4; s++) out.add((p = features.stage(s, p)).cat());
        return out;
    }

    @Override public Tensor forward(Tensor x) {
        Tensor f = features.forward(x);                    // [N, 2688, 7, 7]
        int n = f.shape()[0], c = f.shape()[1];
        Tensor pooled = f.globalAvgPool().reshape(n, c, 1, 1); // [N, 2688, 1, 1]
        return classifier.forward(pooled).reshape(n, numClasses); // 1x1 conv classifier -> [N, numClasses]
    }
}
