package org.pulmo.models;

import java.util.List;
import java.util.function.UnaryOperator;
import org.pulmo.autograd.GradMode;
import org.pulmo.backend.Conv2dParams;
import org.pulmo.nn.BatchNorm2d;
import org.pulmo.nn.Dropout;
import org.pulmo.nn.Init;
import org.pulmo.nn.Linear;
import org.pulmo.nn.Module;
import org.pulmo.ops.Convolution;
import org.pulmo.tensor.Rng;
import org.pulmo.tensor.Tensor;

/**
 * Szegedy, Vanhoucke, Ioffe, Shlens and Wojna, "Rethinking the Inception Architecture for Computer Vision"
 * (CVPR 2016), as torchvision releases it: torchvision's layout and names ({@code Conv2d_1a_3x3.conv},
 * {@code Mixed_5b.branch1x1.bn}, {@code AuxLogits.conv0}, {@code fc}). Every conv is a BasicConv2d: conv without bias,
 * BN (eps 1e-3), ReLU; the 7x7 and 3x3 factorised convs use 1x7 / 7x1 and 1x3 / 3x1 kernels.
 *
 * <p>Departure: torchvision's layout (that of the released TF-slim model) is not the paper's Table 1: the 35 x 35
 * modules keep a 1x1-5x5 branch where the paper's Fig. 5 replaces each 5x5 by two 3x3 ({@link InceptionA}), and
 * the stem after its first pool (1x1 to 80 channels, 3x3 to 192, max pool) is not Table 1's. It is kept so that
 * torchvision's weights load and the parameter counts match torchvision's (docs/FIDELITY.md).
 *
 * <p>Shapes at 299 x 299: stem [N, 192, 35, 35]; Mixed_5b..5d [N, 256/288/288, 35, 35]; Mixed_6a..6e
 * [N, 768, 17, 17]; Mixed_7a..7c [N, 1280/2048/2048, 8, 8]; logits [N, numClasses]. The smallest input is
 * 75 x 75 (the last maps are then 1 x 1). The auxiliary head (5x5/3 average pool, then a 5x5 conv) needs
 * the "17 x 17" grid at full size, i.e. inputs of at least 299 x 299; on smaller inputs it is skipped (its
 * logits are null), where torchvision would fail.
 *
 * <p>Parameters at 1000 classes: 27,161,264 with the auxiliary classifier (torchvision's
 * {@code inception_v3()}, the count we match by default), 23,834,568 without it.
 */
public final class InceptionV3 extends Module {

    /** Conv with an rectangular kernel [out, in, kH, kW], no bias (nn's Conv2d is square). */
    static final class Conv extends Module {
        final Tensor weight;
        final Conv2dParams params;

        Conv(int in, int out, int kH, int kW, int stride, int padH, int padW, Rng rng) {
            weight = registerParameter("weight", Init.kaimingNormalFanOut(rng, out, in, kH, kW));
            params = new Conv2dParams(stride, stride, padH, padW, 1, 1, 1);
        }

        @Override public Tensor forward(Tensor x) { return Convolution.conv2d(x, weight, null, params); }
    }

    /** conv (no bias) -> BN (eps 1e-3) -> ReLU. */
    static final class BasicConv2d extends Module {
        final Conv conv;
        final BatchNorm2d bn;

        BasicConv2d(int in, int out, int kH, int kW, int stride, int padH, int padW, Rng rng) {
            conv = registerModule("conv", new Conv(in, out, kH, kW, stride, padH, padW, rng));
            bn = registerModule("bn", new BatchNorm2d(out, 1e-3f, 0.1f, true));
        }

        @Override public Tensor forward(Tensor x) { return bn.forwardRelu(conv.forward(x)); }
    }

    /** Square kernel k, stride s, padding p. */
    static BasicConv2d conv(int in, int out, int k, int s, int p, Rng rng) { return new BasicConv2d(in, out, k, k, s, p, p, rng); }

    /** 1x7 ("1x" + n) kernel, keeping the size. */
    static BasicConv2d conv1xN(int in, int out, int n, Rng rng) { return new BasicConv2d(in, out, 1, n, 1, 0, n / 2, rng); }

    /** 7x1 kernel, keeping the size. */
    static BasicConv2d convNx1(int in, int out, int n, Rng rng) { return new BasicConv2d(in, out, n, 1, 1, n / 2, 0, rng); }

    /** 35 x 35 module: 1x1 | 1x1-5x5 | 1x1-3x3-3x3 | avg-pool-1x1 -> 64 + 64 + 96 + poolFeatures channels. */
    // Departure: torchvision's 35 x 35 module, not the paper's Fig. 5 (where each 5x5 is replaced by two 3x3): the 1x1-5x5
    // branch is kept beside the 1x1-3x3-3x3 one, so that torchvision's weights load (docs/FIDELITY.md).
    static final class InceptionA extends Module {
        final BasicConv2d b1x1, b5x5_1, b5x5_2, b3x3dbl_1, b3x3dbl_2, b3x3dbl_3, bPool;

        InceptionA(int in, int poolFeatures, Rng rng) {
            b1x1 = registerModule("branch1x1", conv(in, 64, 1, 1, 0, rng));
            b5x5_1 = registerModule("branch5x5_1", conv(in, 48, 1, 1, 0, rng));
            b5x5_2 = registerModule("branch5x5_2", conv(48, 64, 5, 1, 2, rng));
            b3x3dbl_1 = registerModule("branch3x3dbl_1", conv(in, 64, 1, 1, 0, rng));
            b3x3dbl_2 = registerModule("branch3x3dbl_2", conv(64, 96, 3, 1, 1, rng));
            b3x3dbl_3 = registerModule("branch3x3dbl_3", conv(96, 96, 3, 1, 1, rng));
            bPool = registerModule("branch_pool", conv(in, poolFeatures, 1, 1, 0, rng));
        }

        @Override public Tensor forward(Tensor x) {
            return Tensor.cat(1, b1x1.forward(x), b5x5_2.forward(b5x5_1.forward(x)),
                b3x3dbl_3.forward(b3x3dbl_2.forward(b3x3dbl_1.forward(x))), bPool.forward(x.avgPool2d(3, 1, 1)));
        }
    }

    /** Grid reduction 35 -> 17: 3x3/2 | 1x1-3x3-3x3/2 | max-pool 3x3/2 -> 384 + 96 + in channels. */
    static final class InceptionB extends Module {
        final BasicConv2d b3x3, b3x3dbl_1, b3x3dbl_2, b3x3dbl_3;

        InceptionB(int in, Rng rng) {
            b3x3 = registerModule("branch3x3", conv(in, 384, 3, 2, 0, rng));
            b3x3dbl_1 = registerModule("branch3x3dbl_1", conv(in, 64, 1, 1, 0, rng));
            b3x3dbl_2 = registerModule("branch3x3dbl_2", conv(64, 96, 3, 1, 1, rng));
            b3x3dbl_3 = registerModule("branch3x3dbl_3", conv(96, 96, 3, 2, 0, rng));
        }

        @Override public Tensor forward(Tensor x) {
            return Tensor.cat(1, b3x3.forward(x), b3x3dbl_3.forward(b3x3dbl_2.forward(b3x3dbl_1.forward(x))), x.maxPool2d(3, 2, 0));
        }
    }

    /** Fig. 6 (n = 7): 1x1 | 1x1-1x7-7x1 | 1x1-7x1-1x7-7x1-1x7 | avg-pool-1x1 -> 4 x 192 = 768 channels, 17 x 17. */
    static final class InceptionC extends Module {
        final BasicConv2d b1x1, b7x7_1, b7x7_2, b7x7_3, dbl_1, dbl_2, dbl_3, dbl_4, dbl_5, bPool;

        InceptionC(int in, int c7, Rng rng) {
            b1x1 = registerModule("branch1x1", conv(in, 192, 1, 1, 0, rng));
            b7x7_1 = registerModule("branch7x7_1", conv(in, c7, 1, 1, 0, rng));
            b7x7_2 = registerModule("branch7x7_2", conv1xN(c7, c7, 7, rng));
            b7x7_3 = registerModule("branch7x7_3", convNx1(c7, 192, 7, rng));
            dbl_1 = registerModule("branch7x7dbl_1", conv(in, c7, 1, 1, 0, rng));
            dbl_2 = registerModule("branch7x7dbl_2", convNx1(c7, c7, 7, rng));
            dbl_3 = registerModule("branch7x7dbl_3", conv1xN(c7, c7, 7, rng));
            dbl_4 = registerModule("branch7x7dbl_4", convNx1(c7, c7, 7, rng));
            dbl_5 = registerModule("branch7x7dbl_5", conv1xN(c7, 192, 7, rng));
            bPool = registerModule("branch_pool", conv(in, 192, 1, 1, 0, rng));
        }

        @Override public Tensor forward(Tensor x) {
            Tensor b7 = b7x7_3.forward(b7x7_2.forward(b7x7_1.forward(x)));
            Tensor dbl = dbl_5.forward(dbl_4.forward(dbl_3.forward(dbl_2.forward(dbl_1.forward(x)))));
            return Tensor.cat(1, b1x1.forward(x), b7, dbl, bPool.forward(x.avgPool2d(3, 1, 1)));
        }
    }

    /** Grid reduction 17 -> 8: 1x1-3x3/2 | 1x1-1x7-7x1-3x3/2 | max-pool 3x3/2 -> 320 + 192 + in channels. */
    static final class InceptionD extends Module {
        final BasicConv2d b3x3_1, b3x3_2, b7x7x3_1, b7x7x3_2, b7x7x3_3, b7x7x3_4;

        InceptionD(int in, Rng rng) {
            b3x3_1 = registerModule("branch3x3_1", conv(in, 192, 1, 1, 0, rng));
            b3x3_2 = registerModule("branch3x3_2", conv(192, 320, 3, 2, 0, rng));
            b7x7x3_1 = registerModule("branch7x7x3_1", conv(in, 192, 1, 1, 0, rng));
            b7x7x3_2 = registerModule("branch7x7x3_2", conv1xN(192, 192, 7, rng));
            b7x7x3_3 = registerModule("branch7x7x3_3", convNx1(192, 192, 7, rng));
            b7x7x3_4 = registerModule("branch7x7x3_4", conv(192, 192, 3, 2, 0, rng));
        }

        @Override public Tensor forward(Tensor x) {
            Tensor b3 = b3x3_2.forward(b3x3_1.forward(x));
            Tensor b7 = b7x7x3_4.forward(b7x7x3_3.forward(b7x7x3_2.forward(b7x7x3_1.forward(x))));
            return Tensor.cat(1, b3, b7, x.maxPool2d(3, 2, 0));
        }
    }

    /** Fig. 7: 1x1 | 1x1-(1x3, 3x1) | 1x1-3x3-(1x3, 3x1) | avg-pool-1x1 -> 320 + 768 + 768 + 192 = 2048, 8 x 8. */
    static final class InceptionE extends Module {
        final BasicConv2d b1x1, b3x3_1, b3x3_2a, b3x3_2b, dbl_1, dbl_2, dbl_3a, dbl_3b, bPool;

        InceptionE(int in, Rng rng) {
            b1x1 = registerModule("branch1x1", conv(in, 320, 1, 1, 0, rng));
            b3x3_1 = registerModule("branch3x3_1", conv(in, 384, 1, 1, 0, rng));
            b3x3_2a = registerModule("branch3x3_2a", conv1xN(384, 384, 3, rng));
            b3x3_2b = registerModule("branch3x3_2b", convNx1(384, 384, 3, rng));
            dbl_1 = registerModule("branch3x3dbl_1", conv(in, 448, 1, 1, 0, rng));
            dbl_2 = registerModule("branch3x3dbl_2", conv(448, 384, 3, 1, 1, rng));
            dbl_3a = registerModule("branch3x3dbl_3a", conv1xN(384, 384, 3, rng));
            dbl_3b = registerModule("branch3x3dbl_3b", convNx1(384, 384, 3, rng));
            bPool = registerModule("branch_pool", conv(in, 192, 1, 1, 0, rng));
        }

        @Override public Tensor forward(Tensor x) {
            Tensor b3 = b3x3_1.forward(x);
            b3 = Tensor.cat(1, b3x3_2a.forward(b3), b3x3_2b.forward(b3));
            Tensor dbl = dbl_2.forward(dbl_1.forward(x));
            dbl = Tensor.cat(1, dbl_3a.forward(dbl), dbl_3b.forward(dbl));
            return Tensor.cat(1, b1x1.forward(x), b3, dbl, bPool.forward(x.avgPool2d(3, 1, 1)));
        }
    }

    /** Auxiliary classifier on the 17 x 17 map: avg-pool 5x5/3 -> 1x1 (128) -> 5x5 (768) -> global pool -> fc. */
    static final class InceptionAux extends Module {
        final BasicConv2d conv0, conv1;
        final Linear fc;

        InceptionAux(int in, int numClasses, Rng rng) {
            conv0 = registerModule("conv0", conv(in, 128, 1, 1, 0, rng));
            conv1 = registerModule("conv1", conv(128, 768, 5, 1, 0, rng));
            fc = registerModule("fc", new Linear(768, numClasses, rng));
        }

        @Override public Tensor forward(Tensor x) {
            x = x.avgPool2d(5, 3, 0);                    // [N, 768, 5, 5] at 299
            x = conv1.forward(conv0.forward(x));         // [N, 768, 1, 1]
            return fc.forward(x.globalAvgPool());        // [N, numClasses]
        }
    }

    /** Main logits, and the auxiliary logits when the aux head exists (else null). */
    public record Outputs(Tensor logits, Tensor auxLogits) {}

    public final int numClasses;
    public final boolean auxLogits;
    final BasicConv2d conv1a, conv2a, conv2b, conv3b, conv4a;
    final List<Module> mixed5, mixed6, mixed7;
    final InceptionAux aux;
    final Dropout dropout;
    public final Linear fc;

    public InceptionV3(int numClasses, boolean auxLogits, Rng rng) {
        this.numClasses = numClasses;
        this.auxLogits = auxLogits;
        conv1a = registerModule("Conv2d_1a_3x3", conv(3, 32, 3, 2, 0, rng));
        conv2a = registerModule("Conv2d_2a_3x3", conv(32, 32, 3, 1, 0, rng));
        conv2b = registerModule("Conv2d_2b_3x3", conv(32, 64, 3, 1, 1, rng));
        conv3b = registerModule("Conv2d_3b_1x1", conv(64, 80, 1, 1, 0, rng));
        conv4a = registerModule("Conv2d_4a_3x3", conv(80, 192, 3, 1, 0, rng));
        mixed5 = List.of(
            registerModule("Mixed_5b", new InceptionA(192, 32, rng)),
            registerModule("Mixed_5c", new InceptionA(256, 64, rng)),
            registerModule("Mixed_5d", new InceptionA(288, 64, rng)));
        mixed6 = List.of(
            registerModule("Mixed_6a", new InceptionB(288, rng)),
            registerModule("Mixed_6b", new InceptionC(768, 128, rng)),
            registerModule("Mixed_6c", new InceptionC(768, 160, rng)),
            registerModule("Mixed_6d", new InceptionC(768, 160, rng)),
            registerModule("Mixed_6e", new InceptionC(768, 192, rng)));
        aux = auxLogits ? registerModule("AuxLogits", new InceptionAux(768, numClasses, rng)) : null;
        mixed7 = List.of(
            registerModule("Mixed_7a", new InceptionD(768, rng)),
            registerModule("Mixed_7b", new InceptionE(1280, rng)),
            registerModule("Mixed_7c", new InceptionE(2048, rng)));
        dropout = registerModule("dropout", new Dropout(0.5f, rng.fork()));
        fc = registerModule("fc", new Linear(2048, numClasses, rng));
        // torchvision's Inception-v3 initialisation: every conv and linear weight truncated normal in [-2, 2] with std 0.1,
        // the aux head's fc 0.001 (torchvision also marks the aux head's conv1 0.01, on the BasicConv2d, which its loop
        // never reads: 0.1 there too); batch norm 1 and 0, the linear biases PyTorch's default uniform.
        try (var ignored = GradMode.noGrad()) {
            for (Module m : namedModules().values()) {
                if (m instanceof Conv c) c.weight.copyFrom(Init.truncatedNormal(rng, 0.1f, -2, 2, c.weight.shape()));
                if (m instanceof Linear l)
                    l.weight.copyFrom(Init.truncatedNormal(rng, aux != null && l == aux.fc ? 0.001f : 0.1f, -2, 2, l.weight.shape()));
            }
        }
    }

    /**
     * Both heads; the aux head runs only when it exists, the model is training (as torchvision) and the grid is
     * large enough for it (at least 17 x 17, from inputs of 299 x 299 up).
     */
    public Outputs forwardWithAux(Tensor x) { return run(x, null, null); }

    /**
     * The feature maps {@link #forward(Tensor, String, UnaryOperator)} can hand out, in the order they are made: the stem's
     * output (after the second max pool, [N, 192, 35, 35] at 299) and the last module of each grid size (torchvision's
     * names: Mixed_5d [N, 288, 35, 35], Mixed_6e [N, 768, 17, 17], Mixed_7c [N, 2048, 8, 8]).
     */
    public static final List<String> STAGES = List.of("stem", "Mixed_5d", "Mixed_6e", "Mixed_7c");

    /**
     * The main logits, with {@code tap} applied to the feature map {@code stage} (one of {@link #STAGES}) and the rest of
     * the network run on what it returns: how Grad-CAM keeps a gradient of that map.
     */
    public Tensor forward(Tensor x, String stage, UnaryOperator<Tensor> tap) {
        if (!STAGES.contains(stage)) throw new IllegalArgumentException("Inception-v3 has no stage '" + stage + "'; choose one of " + STAGES);
        return run(x, stage, tap).logits();
    }

    private Outputs run(Tensor x, String stage, UnaryOperator<Tensor> tap) {
        x = conv2b.forward(conv2a.forward(conv1a.forward(x)));     // [N, 64, 147, 147] at 299
        x = x.maxPool2d(3, 2, 0);                                   // [N, 64, 73, 73]
        x = conv4a.forward(conv3b.forward(x));                      // [N, 192, 71, 71]
        x = x.maxPool2d(3, 2, 0);                                   // [N, 192, 35, 35]
        if ("stem".equals(stage)) x = tap.apply(x);
        for (Module m : mixed5) x = m.forward(x);                   // [N, 288, 35, 35]
        if ("Mixed_5d".equals(stage)) x = tap.apply(x);
        for (Module m : mixed6) x = m.forward(x);                   // [N, 768, 17, 17]
        if ("Mixed_6e".equals(stage)) x = tap.apply(x);
        Tensor auxOut = aux != null && isTraining() && x.shape()[2] >= 17 && x.shape()[3] >= 17 ? aux.forward(x) : null;
        for (Module m : mixed7) x = m.forward(x);                   // [N, 2048, 8, 8]
        if ("Mixed_7c".equals(stage)) x = tap.apply(x);
        x = dropout.forward(x.globalAvgPool());                     // [N, 2048]
        return new Outputs(fc.forward(x), auxOut);                  // [N, numClasses]
    }

    /** The main logits. */
    @Override public Tensor forward(Tensor x) { return forwardWithAux(x).logits(); }
}
