package org.pulmo.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.pulmo.backend.Backends;
import org.pulmo.tensor.Device;
import org.pulmo.tensor.MemoryScope;
import org.pulmo.tensor.Tensor;

/**
 * CUDA contexts are current per thread: every driver call the backend makes (allocation, free, launch, copy,
 * emptying the cache) must work from a thread that has never touched the GPU, as JMH's benchmark threads and
 * data-loader threads are.
 */
@Tag("gpu")
class ThreadContextTest {

    @Test void freshThreadsAllocateComputeFreeAndEmptyTheCache() throws Exception {
        String why = CudaRuntime.probe();
        Assumptions.assumeTrue(why == null, () -> "no usable GPU: " + why);
        CudaBackend be = (CudaBackend) Backends.of(Device.cuda(0));
        Tensor onMain = Tensor.of(new float[] {1, 2, 3, 4}, 4).to(be.device());
        for (int round = 0; round < 3; round++) {
            AtomicReference<Throwable> failure = new AtomicReference<>();
            AtomicReference<float[]> result = new AtomicReference<>();
            Thread t = new Thread(() -> {
                try (MemoryScope scope = MemoryScope.open()) {
                    Tensor x = Tensor.of(new float[] {1, 2, 3, 4}, 4).to(be.device());   // upload and allocate
                    Tensor big = Tensor.zeros(3 << 20).to(be.device());                  // a large block: cuMemAlloc
                    Tensor y = x.add(onMain).mul(x);                                       // kernels
                    result.set(y.toArray());                                               // download
                    assertEquals(3 << 20, big.numel());
                } catch (Throwable e) { failure.set(e); }
            }, "fresh-thread-" + round);
            t.start();
            t.join();
            Thread free = new Thread(be::emptyCache, "fresh-thread-free-" + round);                // cuMemFree
            free.setUncaughtExceptionHandler((th, e) -> failure.set(e));
            free.start();
            free.join();
            if (failure.get() != null) throw new AssertionError("on a fresh thread: " + failure.get(), failure.get());
            assertArrayEquals(new float[] {2, 8, 18, 32}, result.get());
        }
        assertEquals(4, onMain.toArray().length, "the main thread's tensor is still usable");
    }
}
