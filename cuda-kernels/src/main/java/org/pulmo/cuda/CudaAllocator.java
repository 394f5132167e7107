package org.pulmo.cuda;

import static jcuda.driver.JCudaDriver.cuMemAlloc;
import static jcuda.driver.JCudaDriver.cuMemFree;

import java.util.ArrayDeque;
import java.util.Map;
import java.util.TreeMap;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUresult;

/**
 * A caching allocator of device memory, so that a training step does not call cuMemAlloc/cuMemFree per op.
 * Requests are rounded up to a size class: multiples of 512 B below 1 MiB, multiples of 2 MiB above. Freed
 * blocks go onto their class's free list and are handed out again to requests of the same class; nothing is
 * returned to the driver until {@link #emptyCache()} (or an allocation that fails, which empties the cache
 * and retries once before throwing {@link CudaOutOfMemoryException}).
 *
 * <p>Blocks are only reused in stream order: every kernel runs on the runtime's single stream, so a block
 * freed by the host after enqueuing its last use may be handed to a later kernel on the same stream safely.
 */
public final class CudaAllocator {
    static final long SMALL_ROUND = 512, LARGE_ROUND = 2L << 20, LARGE = 1L << 20;

    /** Bytes handed out and not yet freed; bytes held in free lists; the most ever in use. */
    public record Stats(long inUseBytes, long cachedBytes, long peakInUseBytes, long blocksInUse, long blocksCached, long driverAllocs) {
        @Override public String toString() {
            return "in use " + human(inUseBytes) + " in " + blocksInUse + " blocks, cached " + human(cachedBytes) + " in "
                + blocksCached + " blocks, peak in use " + human(peakInUseBytes) + ", " + driverAllocs + " cuMemAlloc calls";
        }
    }

    private final Map<Long, ArrayDeque<CUdeviceptr>> free = new TreeMap<>();
    private final Map<CUdeviceptr, Long> live = new java.util.IdentityHashMap<>();
    private long inUse, cached, peak, blocksCached, driverAllocs;
    private volatile boolean poison = Boolean.getBoolean("pulmo.cuda.poison");

    /** The size class of a request (bytes actually reserved). */
    public static long roundUp(long bytes) {
        long b = Math.max(bytes, 1);
        long r = b < LARGE ? SMALL_ROUND : LARGE_ROUND;
        return (b + r - 1) / r * r;
    }

    public synchronized CUdeviceptr allocate(long bytes) {
        long size = roundUp(bytes);
        ArrayDeque<CUdeviceptr> list = free.get(size);
        CUdeviceptr p = list == null ? null : list.poll();
        if (p != null) {
            cached -= size;
            blocksCached--;
        } else {
            p = new CUdeviceptr();
            int st = cuMemAlloc(p, size);
            if (st == CUresult.CUDA_ERROR_OUT_OF_MEMORY) {
                emptyCache();
                st = cuMemAlloc(p, size);
                if (st == CUresult.CUDA_ERROR_OUT_OF_MEMORY)
                    throw new CudaOutOfMemoryException(bytes, stats(), CUresult.stringFor(st));
            }
            CudaRuntime.check(st, "cuMemAlloc(" + size + ")");
            driverAllocs++;
        }
        live.put(p, size);
        inUse += size;
        peak = Math.max(peak, inUse);
        return p;
    }

    /** Returns a block to its free list (no driver call). */
    public synchronized void free(CUdeviceptr p) {
        Long size = live.remove(p);
        if (size == null) throw new IllegalStateException("free of a device pointer this allocator does not hold (double free?)");
        inUse -= size;
        cached += size;
        blocksCached++;
        free.computeIfAbsent(size, k -> new ArrayDeque<>()).push(p);
    }

    /** Gives every cached block back to the driver (after the stream has finished with them). */
    public synchronized void emptyCache() {
        if (cached == 0) return;
        CudaRuntime.get().synchronize();
        for (ArrayDeque<CUdeviceptr> list : free.values())
            for (CUdeviceptr p : list) CudaRuntime.check(cuMemFree(p), "cuMemFree");
        free.clear();
        cached = 0;
        blocksCached = 0;
    }

    public synchronized Stats stats() { return new Stats(inUse, cached, peak, live.size(), blocksCached, driverAllocs); }

    public synchronized void resetPeak() { peak = inUse; }

    /** Test switch: fill every block handed out with NaN, so that a kernel that skips part of its output shows. */
    public void poisonWithNaN(boolean on) { poison = on; }

    public boolean poisoning() { return poison; }

    static String human(long b) {
        if (b < 1024) return b + " B";
        if (b < 1L << 20) return String.format("%.1f KiB", b / 1024.0);
        if (b < 1L << 30) return String.format("%.1f MiB", b / (double) (1L << 20));
        return String.format("%.2f GiB", b / (double) (1L << 30));
    }
}
