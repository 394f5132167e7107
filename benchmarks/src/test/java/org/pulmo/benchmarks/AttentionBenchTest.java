package org.pulmo.benchmarks;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.lang.reflect.Method;
import org.junit.jupiter.api.Test;
import org.openjdk.jmh.annotations.Benchmark;
import org.pulmo.backend.Backend;
import org.pulmo.backend.Backends;
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
        assertEquals(7, n);
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

    /** FUSED and COMPOSED time the same computation: their results agree on a small random input. */
    @Test void fusedAndComposedCompute() {
        Backend fused = AttentionBench.backend("FUSED"), composed = AttentionBench.backend("COMPOSED");
        assertEquals(Backends.cpu(), fused);
        Rng rng = new Rng(11);
        Tensor a = Tensor.randn(rng, 2, 3, 4, 5), b = Tensor.randn(rng, 2, 3, 4, 5), dy = Tensor.randn(rng, 2, 3, 4, 5);
        Tensor z1 = Tensor.randn(rng, 2, 3), z2 = Tensor.randn(rng, 2, 3), s = Tensor.rand(rng, 0.1f, 0.9f, 2, 3);
        Tensor[] mf = fused.mutexAttention(a, b), mc = composed.mutexAttention(a, b);
        close(mf[0], mc[0]);
        close(mf[1], mc[1]);
        Tensor[] bf = fused.mutexAttentionBackward(a, b, mf[1], dy), bc = composed.mutexAttentionBackward(a, b, mf[1], dy);
        close(bf[0], bc[0]);
        close(bf[1], bc[1]);
        close(fused.channelScale(a, s), composed.channelScale(a, s));
        Tensor[] sf = fused.channelScaleBackward(a, s, dy), sc = composed.channelScaleBackward(a, s, dy);
        close(sf[0], sc[0]);
        close(sf[1], sc[1]);
        close(fused.fabFuse(a, b, z1, z2), composed.fabFuse(a, b, z1, z2));
        Tensor[] ff = fused.fabFuseBackward(a, b, z1, z2, dy), fc = composed.fabFuseBackward(a, b, z1, z2, dy);
        for (int i = 0; i < 4; i++) close(ff[i], fc[i]);
    }

    private static void close(Tensor x, Tensor y) {
        float[] p = x.toArray(), q = y.toArray();
        assertEquals(q.length, p.length);
        for (int i = 0; i < p.length; i++) assertEquals(q[i], p[i], 1e-5f + 1e-4f * Math.abs(q[i]), "element " + i);
    }
}
