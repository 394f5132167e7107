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

    /**
     * Virtual threads: the context belongs to the OS thread (the carrier) a virtual thread runs on, which may change
     * after any pause, to a carrier that has never had the context made current. Here each virtual thread, after its
     * first upload, leaves its carrier without a current context (cuCtxSetCurrent(null): what a fresh carrier is) and
     * must still compute; a flag per virtual thread that skipped cuCtxSetCurrent then failed with
     * CUDA_ERROR_INVALID_CONTEXT. Eight of them, one at a time (as the backend is used: one thread at a time), pausing
     * between upload, kernels and download.
     */
    @Test void virtualThreadsOnCarriersWithoutTheContextKeepWorking() throws Exception {
        String why = CudaRuntime.probe();
        Assumptions.assumeTrue(why == null, () -> "no usable GPU: " + why);
        CudaBackend be = (CudaBackend) Backends.of(Device.cuda(0));
        Tensor onMain = Tensor.of(new float[] {1, 2, 3, 4}, 4).to(be.device());
        var oneAtATime = new java.util.concurrent.locks.ReentrantLock();   // a virtual thread waiting on it unmounts
        try (var pool = java.util.concurrent.Executors.newVirtualThreadPerTaskExecutor()) {
            java.util.List<java.util.concurrent.Future<float[]>> results = new java.util.ArrayList<>();
            for (int v = 0; v < 8; v++)
                results.add(pool.submit(() -> {
                    float[] last = null;
                    for (int i = 0; i < 5; i++) {
                        oneAtATime.lock();
                        try (MemoryScope scope = MemoryScope.open()) {
                            Tensor x = Tensor.of(new float[] {1, 2, 3, 4}, 4).to(be.device());
                            jcuda.driver.JCudaDriver.cuCtxSetCurrent(new jcuda.driver.CUcontext());   // as on a fresh carrier
                            Thread.sleep(2);   // unmounted: it may come back on another carrier
                            Tensor y = x.add(onMain).mul(x);
                            last = y.toArray();
                        } finally {
                            oneAtATime.unlock();
                        }
                    }
                    return last;
                }));
            for (var r : results) assertArrayEquals(new float[] {2, 8, 18, 32}, r.get(60, java.util.concurrent.TimeUnit.SECONDS));
        }
    }
}
