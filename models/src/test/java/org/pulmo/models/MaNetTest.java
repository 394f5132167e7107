package org.pulmo.models;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.pulmo.models.ModelChecks.assertCount;
import static org.pulmo.models.ModelChecks.assertShape;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.pulmo.autograd.GradCheck;
import org.pulmo.autograd.GradMode;
import org.pulmo.models.MaNet.FusionAttention;
import org.pulmo.models.MaNet.LossMode;
import org.pulmo.models.MaNet.MutexAttention;
import org.pulmo.models.MaNet.Options;
import org.pulmo.nn.BatchNorm;
import org.pulmo.tensor.Rng;
import org.pulmo.tensor.Tensor;

class MaNetTest {

    @Test void parameterCountOnResNet50EqualsTheReference() {
        MaNet m = MaNet.resnet50(2, Options.DEFAULT, new Rng(1));
        assertCount(30_152_286, m);
        assertEquals(23_512_130, m.backbone().parameterCount());
        long fab = m.namedParameters().entrySet().stream().filter(e -> e.getKey().startsWith("fab.")).mapToLong(e -> e.getValue().numel()).sum();
        assertEquals(6_640_156, fab);
        assertTrue(m.stateDict().containsKey("backbone.layer1.0.conv1.weight"));
        assertTrue(m.stateDict().containsKey("fab.4.fc_b.bias"));
        assertTrue(m.stateDict().containsKey("fab.0.bn2.running_var"));
        assertEquals(2048 / 16, m.fab(4).reduced);
        // FAB off (Table 8): the backbone alone
        assertCount(23_512_130, MaNet.resnet50(2, Options.DEFAULT.withFab(false), new Rng(1)));
    }

    @Test void mabByHand() {
        // one channel, three positions: D = (1, 1, 4), A_D = softmax(D), F_am = A_D * F_rem
        Tensor fRei = Tensor.of(new float[] {1, 2, 3}, 1, 1, 1, 3), fRem = Tensor.of(new float[] {0, 1, 1}, 1, 1, 1, 3);
        float[] out = new MutexAttention().forward(fRei, fRem).toArray();
        double e1 = Math.E, e4 = Math.exp(4), z = 2 * e1 + e4;
        assertArrayEquals(new float[] {0f, (float) (e1 / z), (float) (e4 / z)}, out, 1e-6f);
    }

    @Test void mabSoftmaxIsPerChannelOverPositions() {
        Tensor fRei = Tensor.randn(new Rng(1), 2, 3, 4, 5), fRem = Tensor.ones(2, 3, 4, 5);
        Tensor aD = new MutexAttention().forward(fRei, fRem); // with F_rem = 1, F_am is the attention itself
        float[] sums = aD.sum(new int[] {2, 3}, false).toArray();
        for (float s : sums) assertEquals(1f, s, 1e-5f);
    }

    @Test void mabGradientCheck() {
        Rng rng = new Rng(7);
        Tensor fRei = GradCheck.spaced(rng, 2, 3, 3, 4).requiresGrad(true);
        Tensor fRem = GradCheck.spaced(rng, 2, 3, 3, 4).requiresGrad(true);
        MutexAttention mab = new MutexAttention();
        GradCheck.assertGradients(in -> mab.forward(in.get(0), in.get(1)), fRei, fRem);
    }

    /**
     * The attention map as a constant in backward: the same F_am, and for a random upstream gradient g the gradient is
     * A_D (.) g on F_rem and nothing on F_rei; A_D from the op page's float64 reference (F_am of the pair
     * (F_rei - F_rem + 1, 1), whose D is the same and whose F_am is A_D itself).
     */
    @Test void mabWithConstantMapHasTheSameValuesAndOnlyTheProductsGradient() {
        Rng rng = new Rng(8);
        int[] shape = {2, 3, 3, 4};
        Tensor fRei = Tensor.randn(rng, shape).requiresGrad(true), fRem = Tensor.randn(rng, shape).requiresGrad(true);
        Tensor g = Tensor.randn(rng, shape);
        MutexAttention mab = new MutexAttention();
        Tensor out = mab.forwardConstantMap(fRei, fRem);
        assertArrayEquals(mab.forward(fRei, fRem).toArray(), out.toArray(), 1e-6f);
        out.mul(g).sum().backward();
        float[] aD = org.pulmo.ops.Mab.referenceForward(fRei.detach().sub(fRem.detach()).add(1f).toArray(), Tensor.ones(shape).toArray(), 6, 12)[0];
        float[] gv = g.toArray(), expected = new float[aD.length];
        for (int i = 0; i < aD.length; i++) expected[i] = aD[i] * gv[i];
        assertArrayEquals(expected, fRem.grad().toArray(), 1e-6f);
        assertNull(fRei.grad(), "no gradient may reach F_rei through a constant attention map");
        // and the differentiated MAB does send one to F_rei, so the switch changes what backward computes
        Tensor fRei2 = fRei.detach().requiresGrad(true);
        mab.forward(fRei2, fRem.detach()).mul(g).sum().backward();
        assertTrue(java.util.Arrays.stream(toDoubles(fRei2.grad().toArray())).anyMatch(v -> Math.abs(v) > 1e-4));
    }

    private static double[] toDoubles(float[] a) {
        double[] d = new double[a.length];
        for (int i = 0; i < a.length; i++) d[i] = a[i];
        return d;
    }

    /** MA-Net with the attention map constant: the same training forward, a different backbone gradient. */
    @Test void attentionGradientSwitchChangesOnlyTheBackward() {
        float[][] grads = new float[2][];
        float[][] logits = new float[2][];
        for (int k = 0; k < 2; k++) {
            MaNet m = new MaNet(new ResNet(ResNet.RESNET18, 2, new Rng(51)),
                new Options(true, true, LossMode.CE, 16, false, k == 0), new Rng(54));
            m.train();
            Rng rng = new Rng(9);
            Tensor x = Tensor.randn(rng, 2, 3, 32, 32), mu = Tensor.randn(rng, 2, 3, 32, 32);
            MaNet.PairOutput po = m.forwardPair(x, mu);
            logits[k] = po.logitsM().toArray();
            m.loss(po, Tensor.of(new float[] {0, 1}, 2), Tensor.of(new float[] {1, 0}, 2)).total().backward();
            grads[k] = m.backbone().namedParameters().get("conv1.weight").grad().toArray();
        }
        // the same function; the fused kernel and the composed ops round differently, and MAB's softmax of squared
        // differences amplifies that through the network (float32 against float64: docs/REPRODUCTION.md)
        assertArrayEquals(logits[0], logits[1], 1e-2f);
        double diff = 0, norm = 0, normConstant = 0;
        for (int i = 0; i < grads[0].length; i++) {
            diff = Math.max(diff, Math.abs(grads[0][i] - grads[1][i]));
            norm = Math.max(norm, Math.abs(grads[0][i]));
            normConstant = Math.max(normConstant, Math.abs(grads[1][i]));
        }
        System.out.println("attention gradient switch: max |conv1 grad| differentiated " + norm + ", constant map " + normConstant + ", difference " + diff);
        assertTrue(diff > 0.1 * norm, "the attention map's gradient must change the backbone's gradient: " + diff + " of " + norm);
    }

    /** F_am and F_rem whose sum F_mix has well separated values in each plane, so the global max has no near-ties. */
    private static Tensor[] fabInputs(Rng rng, int... shape) {
        Tensor mix = GradCheck.spacedBy(rng, 0.05f, shape);
        Tensor fAm = Tensor.randn(rng, shape);
        Tensor fRem = mix.sub(fAm).copy();
        return new Tensor[] {fAm.requiresGrad(true), fRem.requiresGrad(true)};
    }

    private static void randomizeRunningStats(FusionAttention fab, Rng rng) {
        ModelChecks.randomizeBatchNorms(fab, rng, 0.5f);
    }

    @Test void fabEqualsTheEquationsComputedByHand() {
        Rng rng = new Rng(3);
        int n = 2, c = 32, h = 3, w = 3;
        FusionAttention fab = new FusionAttention(c, 16, rng);
        randomizeRunningStats(fab, rng);
        fab.eval();
        Tensor[] in = fabInputs(rng, n, c, h, w);
        float[] got;
        try (var g = GradMode.noGrad()) { got = fab.forward(in[0], in[1]).toArray(); }
        float[] am = in[0].toArray(), rem = in[1].toArray();
        int cr = fab.reduced;
        for (int s = 0; s < n; s++) {
            double[] v = new double[c];
            for (int ch = 0; ch < c; ch++) {                                  // eq. 6-7
                double sum = 0, max = Double.NEGATIVE_INFINITY;
                for (int p = 0; p < h * w; p++) {
                    int i = (s * c + ch) * h * w + p;
                    double mix = am[i] + rem[i];
                    sum += mix;
                    max = Math.max(max, mix);
                }
                v[ch] = sum / (h * w) + max;
            }
            double[] z1 = bnRelu(fab.bn1, linear(fab.fc1.weight.toArray(), fab.fc1.bias.toArray(), v, c));   // eq. 8
            double[] z = bnRelu(fab.bn2, linear(fab.fc2.weight.toArray(), fab.fc2.bias.toArray(), z1, cr));
            double[] mm = linear(fab.fcA.weight.toArray(), fab.fcA.bias.toArray(), z, c);                     // eq. 9
            double[] nn = linear(fab.fcB.weight.toArray(), fab.fcB.bias.toArray(), z, c);
            for (int ch = 0; ch < c; ch++) {
                double a = Math.exp(mm[ch]) / (Math.exp(mm[ch]) + Math.exp(nn[ch]));                         // eq. 10
                for (int p = 0; p < h * w; p++) {
                    int i = (s * c + ch) * h * w + p;
                    assertEquals(a * am[i] + (1 - a) * rem[i], got[i], 1e-5, "element " + i);                 // eq. 11
                }
            }
        }
    }

    private static double[] linear(float[] w, float[] b, double[] x, int out) {
        double[] y = new double[out];
        for (int o = 0; o < out; o++) {
            double s = b[o];
            for (int i = 0; i < x.length; i++) s += w[o * x.length + i] * x[i];
            y[o] = s;
        }
        return y;
    }

    private static double[] bnRelu(BatchNorm bn, double[] x) {
        float[] rm = bn.runningMean.toArray(), rv = bn.runningVar.toArray(), g = bn.weight.toArray(), b = bn.bias.toArray();
        double[] y = new double[x.length];
        for (int i = 0; i < x.length; i++) y[i] = Math.max(0, (x[i] - rm[i]) / Math.sqrt(rv[i] + bn.eps) * g[i] + b[i]);
        return y;
    }

    @Test void fabGradientCheckEvalMode() {
        Rng rng = new Rng(11);
        FusionAttention fab = new FusionAttention(32, 16, rng);
        randomizeRunningStats(fab, rng);
        fab.eval();
        Tensor[] in = fabInputs(rng, 2, 32, 2, 3);
        List<Tensor> all = new ArrayList<>(List.of(in));
        all.addAll(fab.parameters());
        GradCheck.assertGradients(GradCheck.Options.DEFAULT.allowingZeroGradient(), x -> fab.forward(x.get(0), x.get(1)), all.toArray(Tensor[]::new));
    }

    @Test void fabGradientCheckTrainModeInDirections() {
        Rng rng = new Rng(12);
        FusionAttention fab = new FusionAttention(16, 4, rng);
        fab.train();
        Tensor[] in = fabInputs(rng, 6, 16, 2, 2);
        List<Tensor> all = new ArrayList<>(List.of(in));
        all.addAll(fab.parameters());
        GradCheck.checkDirections(x -> fab.forward(x.get(0), x.get(1)), GradCheck.Options.DEFAULT.withTolerance(2e-2, 2e-3), 8,
            all.toArray(Tensor[]::new)).assertOk();
    }

    @Test void gradientCheckHasTeeth() {
        // A FAB whose gate is used the wrong way round in backward only: forward as eq. 11, but the gradient flows
        // through (1 - a) F_am + a F_rem. The check must fail.
        Rng rng = new Rng(13);
        FusionAttention fab = new FusionAttention(16, 4, rng);
        randomizeRunningStats(fab, rng);
        fab.eval();
        Tensor[] in = fabInputs(rng, 2, 16, 2, 2);
        var r = GradCheck.check(x -> {
            Tensor right = fab.forward(x.get(0), x.get(1)), wrong = fab.forward(x.get(1), x.get(0));
            return wrong.add(right.detach().sub(wrong.detach())); // value of right, gradient of wrong
        }, in);
        assertFalse(r.ok());
    }

    @Test void inferenceEqualsThePlainBackbone() {
        ResNet resnet = new ResNet(ResNet.RESNET50, 2, new Rng(21));
        MaNet manet = MaNet.resnet50(2, Options.DEFAULT, new Rng(22));
        Tensor x = Tensor.randn(new Rng(23), 1, 3, 64, 64);
        resnet.eval();
        manet.eval();
        try (var g = GradMode.noGrad()) {
            assertNotEquals(resnet.forward(x).toArray()[0], manet.forward(x).toArray()[0]); // different weights so far
            manet.backbone().loadStateDict(resnet.stateDict());                               // same weights, strict
            assertArrayEquals(resnet.forward(x).toArray(), manet.forward(x).toArray());
            // and the pair forward's main path gives the same logits, whatever the mutex image
            var out = manet.forwardPair(x, Tensor.randn(new Rng(24), 1, 3, 64, 64));
            assertArrayEquals(resnet.forward(x).toArray(), out.logitsX().toArray());
        }
    }

    @Test void pairForwardBackwardOnResNet50() {
        MaNet m = MaNet.resnet50(2, Options.DEFAULT, new Rng(31));
        Tensor x = Tensor.randn(new Rng(32), 2, 3, 64, 64), mu = Tensor.randn(new Rng(33), 2, 3, 64, 64);
        m.train();
        var out = m.forwardPair(x, mu);
        assertShape(new int[] {2, 2}, out.logitsX());
        assertShape(new int[] {2, 2}, out.logitsM());
        assertShape(new int[] {2, 2048, 2, 2}, out.featM());
        var loss = m.loss(out, Tensor.of(new float[] {0, 1}, 2), Tensor.of(new float[] {1, 0}, 2));
        assertEquals(1f, loss.a1() + loss.a2(), 1e-6f);
        assertEquals(loss.a1() * loss.ce() + loss.a2() * loss.cs(), loss.total().item(), 1e-5f);
        loss.total().backward();
        ModelChecks.assertGradients(m);
    }

    @Test void pairForwardBackwardOnDenseNet169() {
        MaNet m = MaNet.densenet169(2, Options.DEFAULT.withLoss(LossMode.CE_CS), new Rng(41));
        Tensor x = Tensor.randn(new Rng(42), 2, 3, 64, 64), mu = Tensor.randn(new Rng(43), 2, 3, 64, 64);
        m.train();
        var out = m.forwardPair(x, mu);
        assertShape(new int[] {2, 1664, 2, 2}, out.featX());
        var loss = m.loss(out, Tensor.of(new float[] {0, 1}, 2), Tensor.of(new float[] {1, 0}, 2));
        assertEquals(loss.ce() + loss.cs(), loss.total().item(), 1e-5f);
        loss.total().backward();
        ModelChecks.assertGradients(m);
    }

    @Test void ablationSwitches() {
        // 64 x 64: the last map is 2 x 2 (at 1 x 1 with N = 2 every training-mode BN output is +-1 and gradients vanish)
        Tensor x = Tensor.randn(new Rng(52), 2, 3, 64, 64), mu = Tensor.randn(new Rng(53), 2, 3, 64, 64);
        Tensor yx = Tensor.of(new float[] {0, 1}, 2), ym = Tensor.of(new float[] {1, 0}, 2);
        for (boolean mab : new boolean[] {false, true})
            for (boolean fab : new boolean[] {false, true}) {
                MaNet m = new MaNet(new ResNet(ResNet.RESNET18, 2, new Rng(51)), new Options(mab, fab, LossMode.CE, 16), new Rng(54));
                if (!fab) assertNull(m.fab(0));
                m.train();
                var loss = m.loss(m.forwardPair(x, mu), yx, ym);
                assertEquals(loss.ce(), loss.total().item(), 1e-6f);
                loss.total().backward();
                ModelChecks.assertGradients(m);
            }
        // with both off the mutex path is the plain backbone on m
        MaNet plain = new MaNet(new ResNet(ResNet.RESNET18, 2, new Rng(51)), new Options(false, false, LossMode.CE, 16), new Rng(54));
        plain.eval();
        try (var g = GradMode.noGrad()) {
            assertArrayEquals(plain.forward(mu).toArray(), plain.forwardPair(x, mu).logitsM().toArray());
        }
    }

    @Test void runningStatisticsFollowTheMainPathUnlessAsked() {
        // inference runs the main path alone: by default the pair forward moves the backbone's running statistics
        // exactly as a plain training forward of x alone does; with mutexRunningStats both paths move them
        Tensor x = Tensor.randn(new Rng(55), 2, 3, 64, 64), mu = Tensor.randn(new Rng(56), 2, 3, 64, 64).mul(2f);
        MaNet pairOnly = new MaNet(new ResNet(ResNet.RESNET18, 2, new Rng(51)), Options.DEFAULT, new Rng(54));
        MaNet both = new MaNet(new ResNet(ResNet.RESNET18, 2, new Rng(51)), Options.DEFAULT.withMutexRunningStats(true), new Rng(54));
        ResNet plain = new ResNet(ResNet.RESNET18, 2, new Rng(51));
        pairOnly.train();
        both.train();
        plain.train();
        try (var g = GradMode.noGrad()) {
            pairOnly.forwardPair(x, mu);
            both.forwardPair(x, mu);
            plain.forward(x);
        }
        var expected = plain.namedBuffers();
        var got = pairOnly.backbone().namedBuffers();
        var moved = both.backbone().namedBuffers();
        int differing = 0;
        for (var e : expected.entrySet()) {
            assertArrayEquals(e.getValue().toArray(), got.get(e.getKey()).toArray(), e.getKey());
            if (!java.util.Arrays.equals(e.getValue().toArray(), moved.get(e.getKey()).toArray())) differing++;
        }
        assertTrue(differing > expected.size() / 2, "with mutexRunningStats the mutex path moves the statistics too (" + differing + " buffers differ)");
    }

    /**
     * Both paths through each stage as one batch of 2N (the default) against two calls per stage: the same logits,
     * losses, running statistics and gradients, up to float32 summation order in the weight gradients (one sum over 2N
     * samples against two sums added). Batch statistics taken over both paths together would change every value.
     */
    @Test void pairedExecutionMatchesTwoCallsPerStage() {
        Tensor x = Tensor.randn(new Rng(57), 2, 3, 64, 64), mu = Tensor.randn(new Rng(58), 2, 3, 64, 64).mul(2f);
        Tensor yx = Tensor.of(new float[] {0, 1}, 2), ym = Tensor.of(new float[] {1, 0}, 2);
        for (Options o : new Options[] {Options.DEFAULT, Options.DEFAULT.withMutexRunningStats(true)}) {
            List<MaNet> nets = new ArrayList<>();
            List<MaNet.LossValue> losses = new ArrayList<>();
            List<MaNet.PairOutput> outs = new ArrayList<>();
            for (boolean paired : new boolean[] {false, true}) {
                MaNet m = new MaNet(new ResNet(ResNet.RESNET18, 2, new Rng(51)), o, new Rng(54));
                m.setPairedExecution(paired);
                m.train();
                MaNet.PairOutput out = m.forwardPair(x, mu);
                MaNet.LossValue loss = m.loss(out, yx, ym);
                loss.total().backward();
                nets.add(m);
                outs.add(out);
                losses.add(loss);
            }
            String what = "mutexRunningStats=" + o.mutexRunningStats();
            assertArrayEquals(outs.get(0).logitsX().toArray(), outs.get(1).logitsX().toArray(), 1e-5f, "logits x, " + what);
            assertArrayEquals(outs.get(0).logitsM().toArray(), outs.get(1).logitsM().toArray(), 1e-5f, "logits m, " + what);
            assertEquals(losses.get(0).total().item(), losses.get(1).total().item(), 1e-5f, "loss, " + what);
            var buffers = nets.get(1).namedBuffers();
            for (var e : nets.get(0).namedBuffers().entrySet())
                assertArrayEquals(e.getValue().toArray(), buffers.get(e.getKey()).toArray(), 1e-6f, e.getKey() + ", " + what);
            var params = nets.get(1).namedParameters();
            for (var e : nets.get(0).namedParameters().entrySet()) {
                float[] a = e.getValue().grad().toArray(), b = params.get(e.getKey()).grad().toArray();
                double diff = 0, norm = 1e-30;
                for (int i = 0; i < a.length; i++) { diff += (a[i] - b[i]) * (double) (a[i] - b[i]); norm += (double) a[i] * a[i]; }
                assertTrue(Math.sqrt(diff / norm) < 1e-3, e.getKey() + " gradient off by " + Math.sqrt(diff / norm) + ", " + what);
            }
        }
    }

    @Test void pairedExecutionByDefaultOnlyForSmallBatchesOnTheCpu() {
        MaNet m = new MaNet(new ResNet(ResNet.RESNET18, 2, new Rng(51)), Options.DEFAULT, new Rng(54));
        assertTrue(m.paired(Tensor.zeros(4, 3, 128, 128)));            // 65 536 pixels a path
        assertFalse(m.paired(Tensor.zeros(4, 3, 128, 129)));
        assertFalse(m.paired(Tensor.zeros(8, 3, 224, 224)));
        assertTrue(MaNet.pairedByDefault(new int[] {16, 3, 224, 224}, org.pulmo.tensor.Device.cuda(0)), "on a GPU one batch");
        System.setProperty("pulmo.manet.pairedOnGpu", "false");
        try {
            assertFalse(MaNet.pairedByDefault(new int[] {16, 3, 224, 224}, org.pulmo.tensor.Device.cuda(0)), "unless switched off");
        } finally {
            System.clearProperty("pulmo.manet.pairedOnGpu");
        }
        assertFalse(MaNet.pairedByDefault(new int[] {16, 3, 224, 224}, org.pulmo.tensor.Device.CPU));
        m.setPairedExecution(true);
        assertTrue(m.paired(Tensor.zeros(8, 3, 224, 224)));
        m.setPairedExecution(false);
        assertFalse(m.paired(Tensor.zeros(1, 3, 8, 8)));
        var e = assertThrows(IllegalArgumentException.class, () -> m.forwardPair(Tensor.zeros(2, 3, 32, 32), Tensor.zeros(1, 3, 32, 32)));
        assertTrue(e.getMessage().contains("[1, 3, 32, 32]"), e.getMessage());
    }

    @Test void singleInputForwardOfTheBlocksIsRefused() {
        assertThrows(UnsupportedOperationException.class, () -> new MutexAttention().forward(Tensor.ones(1, 1, 1, 1)));
    }
}
