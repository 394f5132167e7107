package org.pulmo.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import org.junit.jupiter.api.Test;

/**
 * MemoryScope's bookkeeping on the CPU, with a stand-in device storage that registers itself and counts its
 * releases (the CUDA storage does the same against the real allocator; its test is gpu-tagged).
 */
class MemoryScopeTest {

    /** A device-like storage: registers with the open scope, counts live instances. */
    static final class FakeDeviceStorage extends Storage {
        static int live;
        private boolean released;

        FakeDeviceStorage(long size) {
            super(size);
            live++;
            MemoryScope.register(this);
        }

        static Tensor tensor(int... shape) { return Tensor.wrap(new FakeDeviceStorage(Shapes.numel(shape)), shape); }

        @Override public Device device() { return Device.CPU; }

        @Override public void release() {
            if (released) throw new IllegalStateException("released twice");
            released = true;
            live--;
        }

        @Override public boolean isReleased() { return released; }
    }

    @Test void plainScopeReleasesAllButKept() {
        FakeDeviceStorage.live = 0;
        Tensor outside = FakeDeviceStorage.tensor(3);
        Tensor kept;
        try (MemoryScope s = MemoryScope.open()) {
            FakeDeviceStorage.tensor(4);
            Tensor t = FakeDeviceStorage.tensor(5);
            kept = s.keep(FakeDeviceStorage.tensor(2));
            s.keep(t.reshape(5)); // a view keeps its storage
            assertEquals(1, s.ownedCount());
        }
        assertEquals(3, FakeDeviceStorage.live); // outside, t, kept
        assertFalse(outside.storage().isReleased());
        assertFalse(kept.storage().isReleased());
    }

    @Test void nestedScopesHandKeptStoragesOutward() {
        FakeDeviceStorage.live = 0;
        try (MemoryScope outer = MemoryScope.open()) {
            try (MemoryScope inner = MemoryScope.open()) {
                inner.keep(FakeDeviceStorage.tensor(1));
                FakeDeviceStorage.tensor(1);
            }
            assertEquals(1, FakeDeviceStorage.live);
            assertEquals(1, outer.ownedCount());
        }
        assertEquals(0, FakeDeviceStorage.live);
    }

    @Test void scopesMustCloseInOrderAndSkipWhatWasReleasedEarly() {
        MemoryScope outer = MemoryScope.open();
        MemoryScope inner = MemoryScope.open();
        assertThrows(IllegalStateException.class, outer::close);
        Tensor early = FakeDeviceStorage.tensor(1);
        early.storage().release(); // freed by its creator (a workspace): the scope does not free it again
        inner.close();
        outer.close();
        assertFalse(MemoryScope.isOpen());
    }

    /**
     * On the CPU the scope tracks op outputs (their arrays go back to HostArrays) but never a tensor made from
     * the caller's data; a released output refuses use with a message saying why, a kept one stays valid.
     */
    @Test void hostOpOutputsAreReleasedCallerTensorsAreNot() {
        Tensor a = Tensor.randn(new Rng(1), 4, 4), b = Tensor.ones(4, 4), y, kept;
        float[] expected = a.matmul(b).toArray();
        try (MemoryScope s = MemoryScope.open()) {
            y = a.matmul(b);
            kept = s.keep(a.add(b).matmul(b));
            assertEquals(2, s.ownedCount()); // y and a + b; the kept product left the list
            assertArrayEquals(expected, y.toArray());
        }
        assertFalse(a.storage().isReleased() || b.storage().isReleased() || kept.storage().isReleased());
        assertTrue(y.storage().isReleased());
        IllegalStateException e = assertThrows(IllegalStateException.class, y::toArray);
        assertTrue(e.getMessage().contains("released when the MemoryScope"), e.getMessage());
        assertEquals(16, kept.toArray().length);
    }

    /**
     * A training loop in miniature: a parameter, a gradient replaced every step, a momentum buffer made in
     * the first step, temporaries. Live storages after every step: the state alone.
     */
    @Test void stepsKeepTheStateAndFreeLastStepsGradients() {
        FakeDeviceStorage.live = 0;
        Tensor param = FakeDeviceStorage.tensor(8);             // made before the loop, as Module.to(device) does
        Tensor[] grad = new Tensor[1], buf = new Tensor[1];
        MemoryScope.Steps steps = new MemoryScope.Steps(() -> {
            List<Tensor> state = new ArrayList<>(List.of(param));
            if (grad[0] != null) state.add(grad[0]);
            if (buf[0] != null) state.add(buf[0]);
            return state;
        });
        List<Integer> liveAfter = new ArrayList<>();
        for (int step = 0; step < 5; step++) {
            try (MemoryScope s = steps.open()) {
                grad[0] = null;                                  // zeroGrad drops last step's gradient
                for (int i = 0; i < 3; i++) FakeDeviceStorage.tensor(8); // activations, saved tensors
                grad[0] = FakeDeviceStorage.tensor(8);           // backward's new gradient
                if (buf[0] == null) buf[0] = FakeDeviceStorage.tensor(8);
            }
            liveAfter.add(FakeDeviceStorage.live);
        }
        assertEquals(List.of(3, 3, 3, 3, 3), liveAfter);        // param, grad, buf
        assertEquals(2, steps.heldCount());                      // grad and buf came from steps
        assertFalse(grad[0].storage().isReleased());
        assertTrue(!param.storage().isReleased() && !buf[0].storage().isReleased());
    }

    /**
     * A host op's output made in a scope belongs to that thread: another thread is refused (naming both threads) while
     * the scope may still hand its array to the next op, and may use it once kept past the outermost scope. Tensors
     * made outside every scope go to any thread.
     */
    @Test void aScopedHostTensorIsRefusedOnOtherThreadsUntilKeptPastTheOutermostScope() throws Exception {
        Tensor a = Tensor.randn(new Rng(2), 8), b = Tensor.ones(8);
        float[] expected = a.add(b).toArray();
        Tensor outside = a.add(b);   // no scope open: nobody releases it
        assertArrayEquals(expected, onAnotherThread(outside::toArray));
        Tensor y, kept;
        try (MemoryScope outer = MemoryScope.open()) {
            try (MemoryScope inner = MemoryScope.open()) {
                y = a.add(b);
                kept = inner.keep(a.add(b));   // to the outer scope: still this thread's
                Tensor yy = y;
                ExecutionException e = assertThrows(ExecutionException.class, () -> onAnotherThread(yy::toArray));
                assertTrue(e.getCause() instanceof IllegalStateException
                    && e.getCause().getMessage().contains("thread '" + Thread.currentThread().getName() + "'")
                    && e.getCause().getMessage().contains("thread 'other'"), e.getCause().toString());
            }
            Tensor k = kept;
            assertThrows(ExecutionException.class, () -> onAnotherThread(k::toArray));
            outer.keep(kept);   // past the outermost scope: no scope will release it
        }
        assertArrayEquals(expected, onAnotherThread(kept::toArray));
        assertArrayEquals(expected, kept.toArray());
        assertTrue(y.storage().isReleased());
    }

    /**
     * A training loop on its own thread: what its Steps keep as training state (a gradient, a momentum buffer made in
     * a step) is readable on other threads after the step (a checkpoint saved by the caller, the gradient logged);
     * what a step made and did not keep is released and refused.
     */
    @Test void whatStepsKeepAsStateIsReadableOnOtherThreads() throws Exception {
        Tensor w = Tensor.of(new float[] {1, 2, 3}, 3).requiresGrad(true);
        Tensor[] momentum = new Tensor[1], temporary = new Tensor[1];
        MemoryScope.Steps steps = new MemoryScope.Steps(() -> java.util.Arrays.asList(w, w.grad(), momentum[0]));
        Thread trainer = new Thread(() -> {
            for (int step = 0; step < 3; step++)
                try (MemoryScope s = steps.open()) {
                    w.zeroGrad();
                    w.mul(w).sum().backward();                                    // w.grad = 2w, made in the step
                    momentum[0] = momentum[0] == null ? w.grad().mul(1f) : momentum[0].mul(0.9f).add(w.grad());
                    temporary[0] = w.add(w);                                      // not state: released
                }
        }, "trainer");
        trainer.start();
        trainer.join();
        assertArrayEquals(new float[] {2, 4, 6}, w.grad().toArray());
        assertArrayEquals(new float[] {2 * 2.71f, 4 * 2.71f, 6 * 2.71f}, momentum[0].toArray(), 1e-5f);
        assertTrue(temporary[0].storage().isReleased());
        assertThrows(IllegalStateException.class, temporary[0]::toArray);
    }

    private static float[] onAnotherThread(java.util.concurrent.Callable<float[]> task) throws Exception {
        var pool = java.util.concurrent.Executors.newSingleThreadExecutor(r -> new Thread(r, "other"));
        try {
            return pool.submit(task).get(30, java.util.concurrent.TimeUnit.SECONDS);
        } finally {
            pool.shutdownNow();
        }
    }
}
