package org.pulmo.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;

/** The CPU array pool behind MemoryScope: reuse, zeroing, and dropping what no step asks for. */
class HostArraysTest {

    @Test void aReturnedArrayComesBackZeroedOrAsIs() {
        int n = 1237; // a length no other test in this JVM uses
        float[] a = HostArrays.uninitialized(n);
        java.util.Arrays.fill(a, 3f);
        HostArrays.giveBack(a);
        float[] b = HostArrays.zeroed(n);
        assertSame(a, b);
        for (float v : b) assertEquals(0f, v);
        b[5] = 7f;
        HostArrays.giveBack(b);
        float[] c = HostArrays.uninitialized(n);
        assertSame(a, c);
        assertEquals(7f, c[5]); // not cleared: for ops that write every element
    }

    @Test void arraysNoStepAskedForAreDropped() {
        int n = 1291;
        float[] a = HostArrays.uninitialized(n);
        for (int i = 0; i < 16; i++) HostArrays.endStep(-1);   // one loop running: the other tests' loops are forgotten
        HostArrays.giveBack(a);
        HostArrays.endStep(-1); // the step it came back in ends
        HostArrays.endStep(-1); // a whole step passes without asking for length n
        assertNotSame(a, HostArrays.uninitialized(n));
    }

    /** Two loops whose steps interleave: an array waits for the next step of each loop, and is dropped after. */
    @Test void twoLoopsAtOnceKeepAnArrayUntilEachHasHadItsNextStep() {
        int n = 1303;
        for (int i = 0; i < 16; i++) HostArrays.endStep(i % 2 == 0 ? -2 : -3);
        float[] a = HostArrays.uninitialized(n);
        HostArrays.giveBack(a);   // in a step of loop -2
        HostArrays.endStep(-2);   // the step it came back in
        HostArrays.endStep(-3);   // one loop alone would drop it here: a whole step passed without asking
        HostArrays.endStep(-2);   // loop -2's next step
        float[] b = HostArrays.uninitialized(n);
        assertTrue(a == b, "asked for in loop -3's next step");   // (assertSame would print both arrays)
        HostArrays.giveBack(b);
        for (int i = 0; i < 4; i++) HostArrays.endStep(i % 2 == 0 ? -3 : -2);
        assertTrue(a != HostArrays.uninitialized(n), "neither loop asked for it in two steps of each");
    }

    /**
     * A small heap (-Xmx64m, the default pool cap of 7/8 of it, 56 MB) in a child JVM: 40 MB of arrays wait in the pool, then a step asks for 36 MB of
     * another size. That only fits once the pool lets go of its arrays, which it must do rather than fail.
     */
    @Test void aFullPoolGivesWayInsteadOfRunningOutOfMemory() throws Exception {
        List<String> cmd = List.of(java.nio.file.Path.of(System.getProperty("java.home"), "bin", "java").toString(),
            "-Xmx64m", "-XX:+UseSerialGC", "-cp", System.getProperty("java.class.path"), SmallHeap.class.getName());
        Process child = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(child.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertTrue(child.waitFor(60, java.util.concurrent.TimeUnit.SECONDS), "child JVM did not finish");
        assertEquals(0, child.exitValue(), out);
        assertTrue(out.contains("allocated 9000000 floats with 0 bytes pooled"), out);
    }

    /** The child of the test above. */
    public static final class SmallHeap {
        public static void main(String[] args) {
            try (MemoryScope s = MemoryScope.open()) {
                for (int i = 0; i < 4; i++) CpuStorage.zeroed(2_500_000); // 4 x 10 MB, released into the pool below
            }
            if (HostArrays.pooledBytes() < 40_000_000L) throw new AssertionError("pool holds " + HostArrays.pooledBytes());
            float[] big = HostArrays.uninitialized(9_000_000);            // 36 MB: fits only without the pooled 40 MB
            System.out.println("allocated " + big.length + " floats with " + HostArrays.pooledBytes() + " bytes pooled");
        }
    }

    /**
     * Training steps on the CPU inside MemoryScope.Steps: from the second step on the ops' outputs come from the
     * pool, the results are the same as the first step's, and the state (parameter, gradient) is never released.
     */
    @Test void stepsReuseTheirOwnArraysAndComputeTheSame() {
        Tensor w = Tensor.randn(new Rng(2), 6, 5).requiresGrad(true), x = Tensor.randn(new Rng(3), 7, 6);
        MemoryScope.Steps steps = new MemoryScope.Steps(() -> w.grad() == null ? List.of(w) : List.of(w, w.grad()));
        float[][] grads = new float[3][];
        long[] before = null;
        for (int step = 0; step < 3; step++) {
            if (step == 1) before = HostArrays.counts();
            try (MemoryScope s = steps.open()) {
                w.zeroGrad();
                x.matmul(w).relu().mul(x.matmul(w)).sum().backward();
                grads[step] = w.grad().toArray();
            }
            assertTrue(!w.storage().isReleased() && !w.grad().storage().isReleased());
        }
        long[] after = HostArrays.counts();
        assertTrue(after[0] - before[0] >= 8, "reused " + (after[0] - before[0]) + " arrays in two steps");
        assertArrayEquals(grads[0], grads[1]);
        assertArrayEquals(grads[0], grads[2]);
    }
}
