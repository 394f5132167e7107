package org.pulmo.models;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;
import org.pulmo.autograd.GradMode;
import org.pulmo.models.Dpn.SePlacement;
import org.pulmo.nn.BatchNorm;
import org.pulmo.nn.Linear;
import org.pulmo.nn.Module;
import org.pulmo.nn.SqueezeExcitation;
import org.pulmo.tensor.Rng;
import org.pulmo.tensor.Tensor;

/**
 * Each block's forward against its definition written out with plain ops: convolutions through {@code Tensor.conv2d}
 * with the stride, padding and groups of the paper's table, batch norm (evaluation mode, random running statistics)
 * and squeeze-excitation evaluated elementwise from their formulas, concatenations in the published order. Catches
 * wiring that keeps every shape and parameter count: which half of a split feeds which path, the order of a
 * concatenation, where a ReLU or a gate sits, which conv carries the stride.
 */
class BlockWiringTest {

    // ------------------------------------------------------------------ plain reference pieces

    /** Random running statistics, scale and shift in every batch norm, then evaluation mode. */
    static void randomizeBatchNorms(Module m, Rng rng) {
        ModelChecks.randomizeBatchNorms(m, rng, 0.3f);
        m.eval();
    }

    /** (x - mean) / sqrt(var + eps) * gamma + beta per channel of [N, C, H, W], from the running statistics. */
    static Tensor bn(Tensor x, BatchNorm b) {
        int[] s = x.shape();
        int n = s[0], c = s[1], hw = s[2] * s[3];
        float[] v = x.toArray(), rm = b.runningMean.toArray(), rv = b.runningVar.toArray(), g = b.weight.toArray(), be = b.bias.toArray();
        float[] y = new float[v.length];
        for (int i = 0; i < n; i++)
            for (int ch = 0; ch < c; ch++)
                for (int p = 0; p < hw; p++) {
                    int k = (i * c + ch) * hw + p;
                    y[k] = (float) ((v[k] - rm[ch]) / Math.sqrt(rv[ch] + b.eps) * g[ch] + be[ch]);
                }
        return Tensor.of(y, s);
    }

    static Tensor bnRelu(Tensor x, BatchNorm b) { return bn(x, b).relu(); }

    /** Hu et al., Fig. 1: y = x * sigmoid(W2 relu(W1 mean_HW(x) + b1) + b2), per sample and channel. */
    static Tensor se(Tensor x, SqueezeExcitation se) {
        int[] s = x.shape();
        int n = s[0], c = s[1], hw = s[2] * s[3];
        float[] v = x.toArray(), y = new float[v.length];
        for (int i = 0; i < n; i++) {
            double[] z = new double[c];
            for (int ch = 0; ch < c; ch++) {
                double sum = 0;
                for (int p = 0; p < hw; p++) sum += v[(i * c + ch) * hw + p];
                z[ch] = sum / hw;
            }
            double[] h = affine(se.fc1, z);
            for (int j = 0; j < h.length; j++) h[j] = Math.max(0, h[j]);
            double[] gate = affine(se.fc2, h);
            for (int ch = 0; ch < c; ch++) {
                double a = 1 / (1 + Math.exp(-gate[ch]));
                for (int p = 0; p < hw; p++) y[(i * c + ch) * hw + p] = (float) (v[(i * c + ch) * hw + p] * a);
            }
        }
        return Tensor.of(y, s);
    }

    static double[] affine(Linear fc, double[] x) {
        float[] w = fc.weight.toArray(), b = fc.bias.toArray();
        double[] y = new double[fc.outFeatures];
        for (int o = 0; o < y.length; o++) {
            double s = b[o];
            for (int i = 0; i < x.length; i++) s += w[o * x.length + i] * x[i];
            y[o] = s;
        }
        return y;
    }

    static void assertClose(Tensor expected, Tensor actual, String what) {
        assertArrayEquals(expected.shape(), actual.shape(), what + ": shape");
        float[] e = expected.toArray(), a = actual.toArray();
        for (int i = 0; i < e.length; i++) assertEquals(e[i], a[i], 1e-4 + 1e-4 * Math.abs(e[i]), what + ": element " + i);
    }

    // ------------------------------------------------------------------ DPN

    /** BN-ReLU-conv (timm's BnActConv2d), with the kernel's padding k / 2. */
    static Tensor bnActConv(Tensor x, Dpn.BnActConv u, int stride, int groups) {
        int k = u.conv.weight.shape()[2];
        return bnRelu(x, u.bn).conv2d(u.conv.weight, null, stride, k / 2, 1, groups);
    }

    /**
     * A dual path block (Chen et al., Fig. 2(e)): the projection of the first block splits into the new residual
     * (first bw channels) and dense (next 2 inc) paths; the bottleneck 1x1 -> grouped 3x3 (the stage's stride) -> 1x1
     * reads both paths concatenated, its first bw channels are added to the residual path and its last inc appended
     * after the dense path. SE: on all bw + inc channels before the split (ALL), or on the residual part (RESID).
     */
    @Test void dualPathBlockEqualsItsDefinitionForEveryTypeAndSePlacement() {
        int bw = 16, inc = 4, r = 8, groups = 4, h = 6;
        for (Dpn.BlockType type : Dpn.BlockType.values())
            for (SePlacement place : SePlacement.values()) {
                String what = type + ", SE " + place;
                Rng rng = new Rng(100 + type.ordinal() * 3 + place.ordinal());
                int in = type == Dpn.BlockType.NORMAL ? bw + 3 * inc : 20;
                Dpn.DualPathBlock b = new Dpn.DualPathBlock(in, r, bw, inc, groups, type, place, rng);
                randomizeBatchNorms(b, rng);
                Tensor resid = Tensor.randn(rng, 2, type == Dpn.BlockType.NORMAL ? bw : in, h, h);
                Tensor dense = type == Dpn.BlockType.NORMAL ? Tensor.randn(rng, 2, 3 * inc, h, h) : null;
                int stride = type == Dpn.BlockType.DOWN ? 2 : 1;

                Tensor xIn = dense == null ? resid : Tensor.cat(1, resid, dense);
                Tensor newResid = resid, newDense = dense;
                if (type != Dpn.BlockType.NORMAL) {
                    Tensor proj = bnActConv(xIn, type == Dpn.BlockType.PROJ ? b.c1x1_w_s1 : b.c1x1_w_s2, stride, 1);
                    newResid = proj.narrow(1, 0, bw).contiguous();
                    newDense = proj.narrow(1, bw, 2 * inc).contiguous();
                }
                Tensor t = bnActConv(bnActConv(bnActConv(xIn, b.c1x1_a, 1, 1), b.c3x3_b, stride, groups), b.c1x1_c, 1, 1);
                if (place == SePlacement.ALL) t = se(t, b.se);
                Tensor out1 = t.narrow(1, 0, bw).contiguous(), out2 = t.narrow(1, bw, inc).contiguous();
                if (place == SePlacement.RESID) out1 = se(out1, b.se);
                Tensor expectedResid = newResid.add(out1), expectedDense = Tensor.cat(1, newDense, out2);

                try (var g = GradMode.noGrad()) {
                    Dpn.DualPath got = b.forward(new Dpn.DualPath(resid, dense));
                    assertClose(expectedResid, got.resid(), what + ", residual path");
                    assertClose(expectedDense, got.dense(), what + ", dense path");
                }
            }
    }

    // ------------------------------------------------------------------ ResNet

    /** He et al., Fig. 2 (left) with the stride on the first 3x3: relu(bn2(conv2(relu(bn1(conv1(x))))) + shortcut(x)). */
    @Test void basicBlockEqualsItsDefinition() {
        for (int stride : new int[] {1, 2}) {
            Rng rng = new Rng(200 + stride);
            int in = stride == 1 ? 6 : 4, width = 6;
            ResNet.BasicBlock b = new ResNet.BasicBlock(in, width, stride, rng);
            randomizeBatchNorms(b, rng);
            Tensor x = Tensor.randn(rng, 2, in, 6, 6);
            Tensor shortcut = stride == 1 ? x : bn(x.conv2d(b.downsample.namedParameters().get("0.weight"), null, stride, 0, 1, 1),
                (BatchNorm) b.downsample.get(1));
            Tensor y = bnRelu(x.conv2d(b.conv1.weight, null, stride, 1, 1, 1), b.bn1);
            Tensor expected = bn(y.conv2d(b.conv2.weight, null, 1, 1, 1, 1), b.bn2).add(shortcut).relu();
            try (var g = GradMode.noGrad()) { assertClose(expected, b.forward(x), "stride " + stride); }
        }
    }

    /**
     * Bottleneck, torchvision v1.5: 1x1 -> 3x3 (stride here) -> 1x1 (4 x width), BN after each, ReLU after the first two,
     * then relu(main + shortcut), the shortcut a strided 1x1 conv + BN when the shape changes.
     */
    @Test void bottleneckEqualsItsDefinition() {
        for (int stride : new int[] {1, 2}) {
            Rng rng = new Rng(210 + stride);
            int width = 3, in = stride == 1 ? 4 * width : 5;
            ResNet.Bottleneck b = new ResNet.Bottleneck(in, width, stride, rng);
            randomizeBatchNorms(b, rng);
            Tensor x = Tensor.randn(rng, 2, in, 6, 6);
            Tensor shortcut = b.downsample == null ? x : bn(x.conv2d(b.downsample.namedParameters().get("0.weight"), null, stride, 0, 1, 1),
                (BatchNorm) b.downsample.get(1));
            Tensor y = bnRelu(x.conv2d(b.conv1.weight, null, 1, 0, 1, 1), b.bn1);
            y = bnRelu(y.conv2d(b.conv2.weight, null, stride, 1, 1, 1), b.bn2);
            Tensor expected = bn(y.conv2d(b.conv3.weight, null, 1, 0, 1, 1), b.bn3).add(shortcut).relu();
            try (var g = GradMode.noGrad()) { assertClose(expected, b.forward(x), "stride " + stride); }
        }
    }

    // ------------------------------------------------------------------ DenseNet

    static Tensor denseLayer(Tensor x, DenseNet.DenseLayer l) {
        Tensor y = bnRelu(x, l.norm1).conv2d(l.conv1.weight, null, 1, 0, 1, 1);
        return bnRelu(y, l.norm2).conv2d(l.conv2.weight, null, 1, 1, 1, 1);
    }

    /**
     * Huang et al., eq. 2: layer l reads [x_0, x_1, ..., x_(l-1)] concatenated in that order and the block outputs
     * [x_0, ..., x_L]; a layer is BN-ReLU-1x1 conv (4k) -> BN-ReLU-3x3 conv (k); a transition BN-ReLU-1x1 conv -> 2x2
     * average pool.
     */
    @Test void denseBlockAndTransitionEqualTheirDefinitions() {
        Rng rng = new Rng(220);
        int in = 4, k = 3;
        DenseNet.DenseBlock block = new DenseNet.DenseBlock(3, in, k, rng);
        randomizeBatchNorms(block, rng);
        Tensor x = Tensor.randn(rng, 2, in, 4, 4);
        Tensor x1 = denseLayer(x, block.layers.get(0));
        Tensor x2 = denseLayer(Tensor.cat(1, x, x1), block.layers.get(1));
        Tensor x3 = denseLayer(Tensor.cat(1, x, x1, x2), block.layers.get(2));
        try (var g = GradMode.noGrad()) { assertClose(Tensor.cat(1, x, x1, x2, x3), block.forward(x), "dense block"); }

        DenseNet.Transition t = new DenseNet.Transition(in + 3 * k, 6, rng);
        randomizeBatchNorms(t, rng);
        Tensor z = Tensor.randn(rng, 2, in + 3 * k, 4, 4);
        Tensor expected = bnRelu(z, t.norm).conv2d(t.conv.weight, null, 1, 0, 1, 1).avgPool2d(2, 2, 0);
        try (var g = GradMode.noGrad()) { assertClose(expected, t.forward(z), "transition"); }
    }

    // ------------------------------------------------------------------ Inception-v3

    /**
     * Szegedy et al., Fig. 7, in torchvision's channel order: 1x1 (320) | 1x1 -> [1x3, 3x1] (384 + 384) |
     * 1x1 -> 3x3 -> [1x3, 3x1] (384 + 384) | 3x3 average pool -> 1x1 (192).
     */
    @Test void inceptionEConcatenatesItsBranchesInTorchvisionsOrder() {
        Rng rng = new Rng(230);
        InceptionV3.InceptionE e = new InceptionV3.InceptionE(8, rng);
        randomizeBatchNorms(e, rng);
        Tensor x = Tensor.randn(rng, 1, 8, 3, 3);
        try (var g = GradMode.noGrad()) {
            Tensor b3 = e.b3x3_1.forward(x), dbl = e.dbl_2.forward(e.dbl_1.forward(x));
            Tensor expected = Tensor.cat(1, e.b1x1.forward(x), e.b3x3_2a.forward(b3), e.b3x3_2b.forward(b3),
                e.dbl_3a.forward(dbl), e.dbl_3b.forward(dbl), e.bPool.forward(x.avgPool2d(3, 1, 1)));
            assertClose(expected, e.forward(x), "Mixed_7 block");
        }
    }
}
