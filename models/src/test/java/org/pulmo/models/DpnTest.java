package org.pulmo.models;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.pulmo.models.ModelChecks.assertCount;
import static org.pulmo.models.ModelChecks.assertShape;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.pulmo.autograd.GradMode;
import org.pulmo.models.Dpn.SePlacement;
import org.pulmo.tensor.Rng;
import org.pulmo.tensor.Tensor;

class DpnTest {

    @Test void dpn92CountsEqualTheReference() {
        // (DPN-92 at 1000 classes, 37,668,392, and the other DPNs are checked in ModelRegistryTest)
        assertCount(34_990_148, new Dpn(Dpn.DPN92, SePlacement.NONE, 4, new Rng(1)));
        Dpn se = new Dpn(Dpn.DPN92, SePlacement.ALL, 1000, new Rng(1));
        assertCount(42_376_895, se);
        long seParams = se.namedParameters().entrySet().stream().filter(e -> e.getKey().contains(".se.")).mapToLong(e -> e.getValue().numel()).sum();
        assertEquals(4_708_503, seParams);
        assertCount(39_698_651, Dpn.dpn92se(4, new Rng(1)));
    }

    @Test void classifierStartsAsALinearLayer() {
        Dpn m = new Dpn(Dpn.DPN68, SePlacement.NONE, 4, new Rng(5));
        float bound = (float) (1 / Math.sqrt(m.numFeatures()));
        float max = 0;
        for (float v : m.classifier.weight.toArray()) max = Math.max(max, Math.abs(v));
        for (float v : m.classifier.bias.toArray()) max = Math.max(max, Math.abs(v));
        assertTrue(max <= bound, "classifier values must lie in +-1/sqrt(fan_in) = " + bound + ", max |w| = " + max);
        assertTrue(max > bound / 2, "classifier looks uninitialised: max |w| = " + max);
    }

    @Test void namesAreTimms() {
        Map<String, Tensor> sd = new Dpn(Dpn.DPN92, SePlacement.ALL, 4, new Rng(1)).stateDict();
        for (String k : List.of("features.conv1_1.conv.weight", "features.conv1_1.bn.running_mean", "features.conv2_1.c1x1_w_s1.bn.weight",
                "features.conv2_1.c1x1_w_s1.conv.weight", "features.conv3_1.c1x1_w_s2.conv.weight", "features.conv4_20.c3x3_b.conv.weight",
                "features.conv5_3.c1x1_c.conv.weight", "features.conv2_2.se.fc1.weight", "features.conv2_2.se.fc2.bias",
                "features.conv5_bn_ac.bn.weight", "classifier.weight", "classifier.bias"))
            assertTrue(sd.containsKey(k), k);
        assertEquals(4 * 2688, sd.get("classifier.weight").numel());
        assertEquals(1e-3f, new Dpn(Dpn.DPN92, SePlacement.NONE, 4, new Rng(1)).features.conv1_1.bn.eps);
    }

    @Test void dpn92StageShapesAt224() {
        Dpn d = new Dpn(Dpn.DPN92, SePlacement.ALL, 4, new Rng(1));
        d.eval();
        try (var g = GradMode.noGrad()) {
            Tensor x = Tensor.randn(new Rng(2), 1, 3, 224, 224);
            List<Tensor> s = d.stages(x);
            assertShape(new int[] {1, 64, 56, 56}, s.get(0));
            assertShape(new int[] {1, 336, 56, 56}, s.get(1));
            assertShape(new int[] {1, 704, 28, 28}, s.get(2));
            assertShape(new int[] {1, 1552, 14, 14}, s.get(3));
            assertShape(new int[] {1, 2688, 7, 7}, s.get(4));
        }
    }

    @Test void seResidPlacementGatesTheResidualPartOnly() {
        Dpn d = new Dpn(Dpn.DPN92, SePlacement.RESID, 4, new Rng(1));
        assertEquals(256, d.features.stages.get(0).get(0).se.channels);
        Dpn a = new Dpn(Dpn.DPN92, SePlacement.ALL, 4, new Rng(1));
        assertEquals(256 + 16, a.features.stages.get(0).get(0).se.channels);
        // both train on a tiny input
        ModelChecks.assertGradientReachesEveryParameter(d, d::forward, Tensor.randn(new Rng(5), 2, 3, 32, 32));
    }

    @Test void blockOnConcatenatedInputEqualsPairForm() {
        Dpn.DualPathBlock b = new Dpn.DualPathBlock(48, 8, 32, 4, 4, Dpn.BlockType.NORMAL, SePlacement.ALL, new Rng(3));
        b.eval();
        Tensor resid = Tensor.randn(new Rng(4), 1, 32, 5, 5), dense = Tensor.randn(new Rng(5), 1, 16, 5, 5);
        try (var g = GradMode.noGrad()) {
            Tensor viaPair = b.forward(new Dpn.DualPath(resid, dense)).cat();
            Tensor viaCat = b.forward(Tensor.cat(1, resid, dense));
            assertShape(new int[] {1, 32 + 20, 5, 5}, viaPair);
            org.junit.jupiter.api.Assertions.assertArrayEquals(viaPair.toArray(), viaCat.toArray());
        }
    }

    /**
     * Inside a step's memory scope a block gives its SE output back as soon as the two paths are made (neither the sum's
     * nor the concatenation's backward reads it); its forward and backward then equal those of the same block outside
     * any scope, where nothing is released, bit for bit: the released array goes back to the pool and is handed out again
     * NaN-filled before backward, so a backward that read it would show it. With SE on the residual part (whose
     * backward reads the block output) nothing is released.
     */
    @Test void aBlockGivesItsSeOutputBackAndKeepsItsGradients() {
        for (SePlacement se : new SePlacement[] {SePlacement.ALL, SePlacement.NONE, SePlacement.RESID}) {
            float[][] scoped = null, plain = null;
            for (boolean inScope : new boolean[] {true, false}) {
                Dpn.DualPathBlock b = new Dpn.DualPathBlock(48, 8, 32, 4, 4, Dpn.BlockType.NORMAL, se, new Rng(3));
                Tensor resid = Tensor.randn(new Rng(4), 2, 32, 5, 5).requiresGrad(true), dense = Tensor.randn(new Rng(5), 2, 16, 5, 5).requiresGrad(true);
                Tensor gr = Tensor.randn(new Rng(6), 2, 32, 5, 5), gd = Tensor.randn(new Rng(7), 2, 20, 5, 5);
                try (org.pulmo.tensor.MemoryScope scope = inScope ? org.pulmo.tensor.MemoryScope.open() : null) {
                    Dpn.DualPath out = b.forward(new Dpn.DualPath(resid, dense));
                    Tensor blockOutput = out.dense().gradFn().inputs()[1];   // the block output's dense part, a view of it
                    if (inScope) assertEquals(se != SePlacement.RESID, blockOutput.storage().isReleased(), se + ": released");
                    Tensor.full(Float.NaN, 2, 36, 5, 5).add(0f);              // the pool hands the array out again, NaN-filled
                    out.resid().mul(gr).sum().add(out.dense().mul(gd).sum()).backward();
                    float[][] r = {out.resid().toArray(), out.dense().toArray(), resid.grad().toArray(), dense.grad().toArray(),
                        b.c1x1_c.conv.weight.grad().toArray(), b.c1x1_a.bn.weight.grad().toArray()};
                    if (inScope) scoped = r; else plain = r;
                }
            }
            for (int i = 0; i < plain.length; i++) org.junit.jupiter.api.Assertions.assertArrayEquals(plain[i], scoped[i], se + ": array " + i);
        }
    }

    /**
     * A whole DPN (DPN-68, small) in a step's memory scope, where the blocks give back what no backward reads (their SE
     * outputs, and the paths of the block before), against the same network outside any scope: equal logits and
     * parameter gradients, bit for bit, with every released array handed out again NaN-filled before backward.
     */
    @Test void aNetworkThatGivesIntermediatesBackKeepsItsGradients() {
        float[][] scoped = null, plain = null;
        for (boolean inScope : new boolean[] {true, false}) {
            Dpn d = new Dpn(Dpn.DPN68, SePlacement.ALL, 3, new Rng(8));
            Tensor x = Tensor.randn(new Rng(9), 2, 3, 32, 32);
            try (org.pulmo.tensor.MemoryScope scope = inScope ? org.pulmo.tensor.MemoryScope.open() : null) {
                Tensor logits = d.forward(x);
                for (int i = 0; i < 8; i++) Tensor.full(Float.NaN, 2, 64 + 32 * i, 8, 8).add(0f); // reuse of released arrays
                org.pulmo.nn.loss.Losses.crossEntropy(logits, Tensor.of(new float[] {0, 2}, 2)).backward();
                List<float[]> r = new java.util.ArrayList<>();
                r.add(logits.toArray());
                d.namedParameters().values().forEach(p -> r.add(p.grad().toArray()));
                if (inScope) scoped = r.toArray(new float[0][]); else plain = r.toArray(new float[0][]);
            }
        }
        assertEquals(plain.length, scoped.length);
        for (int i = 0; i < plain.length; i++) org.junit.jupiter.api.Assertions.assertArrayEquals(plain[i], scoped[i], "array " + i);
    }
}
