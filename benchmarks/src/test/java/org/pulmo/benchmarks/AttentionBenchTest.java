package org.pulmo.benchmarks;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.lang.reflect.Method;
import org.junit.jupiter.api.Test;
import org.openjdk.jmh.annotations.Benchmark;
import org.pulmo.backend.Backend;
import org.pulmo.backend.Backends;
import org.pulmo.ops.FabFuse;
import org.pulmo.ops.Mab;
import org.pulmo.ops.SeScale;
import org.pulmo.tensor.Rng;
import org.pulmo.tensor.Tensor;

class AttentionBenchTest {

    @Test void trafficCountsEachInputAndOutputOnce() {
        // [2, 3, 4, 5]: E = 120 map elements, P = 6 per-channel values, 4 bytes each
        assertEquals(4 * (3 * 120 + 6), AttentionBench.Traffic.MAB_FORWARD.bytes(2, 3, 4, 5));          // a, b -> F_am, lse
        assertEquals(4 * (5 * 120 + 6), AttentionBench.Traffic.MAB_BACKWARD.bytes(2, 3, 4, 5));         // a, b, dy, lse -> da, db
        assertEquals(4 * 6 * 120, AttentionBench.Traffic.MAB_FORWARD_BACKWARD.bytes(2, 3, 4, 5));       // PyTorch's 6 tensors
        assertEquals(4 * (120 + 6), AttentionBench.Traffic.SE_SQUEEZE.bytes(2, 3, 4, 5));
        assertEquals(4 * (2 * 120 + 6), AttentionBench.Traffic.SE_SCALE_FORWARD.bytes(2, 3, 4, 5));
        assertEquals(4 * (3 * 120 + 2 * 6), AttentionBench.Traffic.SE_SCALE_BACKWARD.bytes(2, 3, 4, 5));
        assertEquals(4 * (3 * 120 + 2 * 6), AttentionBench.Traffic.FAB_FORWARD.bytes(2, 3, 4, 5));
        assertEquals(4 * (5 * 120 + 4 * 6), AttentionBench.Traffic.FAB_BACKWARD.bytes(2, 3, 4, 5));
        assertEquals(4 * (4 * 120 + 6), AttentionBench.Traffic.MAB_CONSTANT_MAP_BACKWARD.bytes(2, 3, 4, 5)); // a, b, g, db; lse
        // MA-Net stage 1 forward: 3 maps of 16*256*56*56 floats, no int overflow
        assertEquals(4L * (3L * 12_845_056 + 4096), AttentionBench.Traffic.MAB_FORWARD.bytes(16, 256, 56, 56));
    }

    @Test void everyBenchmarkMethodHasATrafficModel() {
        int n = 0;
        for (Method m : AttentionBench.class.getDeclaredMethods()) {
            if (!m.isAnnotationPresent(Benchmark.class)) continue;
            AttentionBench.Traffic.ofBenchmark(m.getName());
            n++;
        }
        assertEquals(8, n);
        assertThrows(IllegalArgumentException.class, () -> AttentionBench.Traffic.ofBenchmark("relu"));
    }

    @Test void shapesAreThePapersStageOutputs() {
        assertArrayEquals(new int[] {16, 256, 56, 56}, AttentionBench.MapShape.MANET_STAGE1.shape("paper"));
        assertArrayEquals(new int[] {16, 2048, 7, 7}, AttentionBench.MapShape.MANET_STAGE4.shape("paper"));
        assertArrayEquals(new int[] {2, 1024, 14, 14}, AttentionBench.MapShape.MANET_STAGE3.shape("small"));
        assertArrayEquals(new int[] {32, 272, 56, 56}, AttentionBench.MapShape.DPN92SE_CONV2.shape("paper"));
        assertArrayEquals(new int[] {4, 2176, 7, 7}, AttentionBench.MapShape.DPN92SE_CONV5.shape("small"));
        assertArrayEquals(new int[] {8, 544, 28, 28}, AttentionBench.MapShape.DPN92SE_CONV3.shape("8"));
    }

    /** FUSED and COMPOSED time the same computation: both give the op pages' references on a small random input. */
    @Test void fusedAndComposedCompute() {
        Backend fused = AttentionBench.backend("FUSED"), composed = AttentionBench.backend("COMPOSED");
        assertEquals(Backends.cpu(), fused);
        Rng rng = new Rng(11);
        Tensor a = Tensor.randn(rng, 2, 3, 4, 5), b = Tensor.randn(rng, 2, 3, 4, 5), dy = Tensor.randn(rng, 2, 3, 4, 5);
        Tensor z1 = Tensor.randn(rng, 2, 3), z2 = Tensor.randn(rng, 2, 3), s = Tensor.rand(rng, 0.1f, 0.9f, 2, 3);
        float[] av = a.toArray(), bv = b.toArray(), gv = dy.toArray(), z1v = z1.toArray(), z2v = z2.toArray(), sv = s.toArray();
        float[][] mab = Mab.referenceForward(av, bv, 6, 20), dMab = Mab.referenceBackward(av, bv, gv, 6, 20);
        float[][] dSe = SeScale.referenceBackward(av, sv, gv, 20), dFab = FabFuse.referenceBackward(av, bv, z1v, z2v, gv, 20);
        for (Backend be : new Backend[] {fused, composed}) {
            Backend.MabOut m = be.mabForward(a, b);
            close(mab[0], m.fAm());
            close(mab[1], m.lse());
            Backend.MabGrads dm = be.mabBackward(a, b, dy, m.lse());
            close(dMab[0], dm.dFRei());
            close(dMab[1], dm.dFRem());
            close(Mab.referenceConstantMapBackward(av, bv, gv, 6, 20), be.mabConstantMapBackward(a, b, dy, m.lse()));
            close(SeScale.referenceForward(av, sv, 20), be.seScaleForward(a, s));
            Backend.SeScaleGrads ds = be.seScaleBackward(a, s, dy);
            close(dSe[0], ds.du());
            close(dSe[1], ds.ds());
            close(FabFuse.referenceForward(av, bv, z1v, z2v, 20), be.fabFuseForward(a, b, z1, z2));
            Backend.FabGrads df = be.fabFuseBackward(a, b, z1, z2, dy);
            Tensor[] dfParts = {df.dFAm(), df.dFRem(), df.dM(), df.dN()};
            for (int i = 0; i < 4; i++) close(dFab[i], dfParts[i]);
        }
    }

    /** -p shape=... reaches MA-Net's and DPN-92-SE's benchmarks alike: a shape of the other model is refused, not timed. */
    @Test void aShapeOfTheOtherModelIsRefused() {
        assertEquals(AttentionBench.MapShape.MANET_STAGE2, AttentionBench.MapShape.MANET_STAGE2.of("MANET", "Mab"));
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
            () -> AttentionBench.MapShape.DPN92SE_CONV5.of("MANET", "Mab"));
        assertTrue(e.getMessage().contains("DPN92SE_CONV5 is not one of MANET's") && e.getMessage().contains("MANET_STAGE4"), e.getMessage());
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> AttentionBench.MapShape.MANET_STAGE1.of("DPN92SE", "Se"));
    }

    private static void close(float[] q, Tensor x) {
        float[] p = x.toArray();
        assertEquals(q.length, p.length);
        for (int i = 0; i < p.length; i++) assertEquals(q[i], p[i], 1e-5f + 1e-4f * Math.abs(q[i]), "element " + i);
    }
}
