package org.pulmo.cuda;

import static jcuda.driver.JCudaDriver.cuMemAlloc;
import static jcuda.driver.JCudaDriver.cuMemFree;
import static jcuda.driver.JCudaDriver.cuMemsetD32Async;

import java.util.ArrayDeque;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUresult;

/**
 * A caching allocator of device memory, so that a training step does not call cuMemAlloc/cuMemFree per op.
 * Requests are rounded up to a size class: multiples of 512 B below 1 MiB, multiples of 2 MiB above. Freed
 * blocks go onto their size's free list and are handed out again to requests of the same class, or, from 1 MiB
 * on, of a class at least half their size; nothing is returned to the driver until {@link #emptyCache()} (or an
 * allocation that fails, which empties the cache and retries once before throwing {@link CudaOutOfMemoryException};
 * or a one-off block given back by {@link #freeToDriver}). In-use bytes count requests by class, so they do not
 * depend on which block served them; {@link Stats#reservedBytes} counts what the driver holds.
 *
 * <p>Blocks are only reused in stream order: every kernel runs on the runtime's single stream, so a block
 * freed by the host after enqueuing its last use may be handed to a later kernel on the same stream safely.
 *
 * <p>Every driver call first makes the runtime's context current on the calling thread (a tensor may be freed
 * by a thread that never launched a kernel). For tests, {@link #poisonWithNaN} (or
 * {@code -Dpulmo.cuda.poison=true}) fills every block handed out with NaN, so that a kernel that leaves part
 * of its output unwritten shows NaN instead of the zeros of fresh memory or a previous op's values; and
 * {@link #exactBlocks} (or {@code -Dpulmo.cuda.exactBlocks=true}) gives every request a driver allocation of exactly
 * its bytes, freed to the driver with it, so that a kernel that reads or writes past the end of its tensor leaves the
 * allocation, where compute-sanitizer's memcheck (or the emulated GPU's guard bands) sees it, instead of landing in
 * the slack of a size class or in a neighbour's cached block. In-use bytes are counted by size class either way.
 *
 * <p>While a {@link CudaGraph} is captured, every block handed out or freed joins the graph's {@link GraphPool}: the
 * graph reads and writes those addresses at every replay (a block made before the capture and freed during it may have
 * been read by the captured work first), so until the graph is closed they are never handed to anyone else. A block of
 * the pool that is freed (during the capture, or after it: a step's intermediate, a kept output given back) goes to the
 * pool's own free list, which only requests made during a capture of the same pool take blocks from. Nothing goes back
 * to the driver during a capture (that would wait for the stream): exact blocks and {@link #freeToDriver} join the pool
 * too. One graph lives at a time.
 */
public final class CudaAllocator {
    static final long SMALL_ROUND = 512, LARGE_ROUND = 2L << 20, LARGE = 1L << 20;

    /**
     * Bytes handed out and not yet freed (by size class of the request), bytes held in free lists, the most ever in
     * use, and {@code reservedBytes}: all the driver holds for this allocator (live blocks, which may be up to twice
     * their request, plus the cache), the figure a device's memory must fit.
     */
    public record Stats(long inUseBytes, long cachedBytes, long peakInUseBytes, long blocksInUse, long blocksCached, long driverAllocs,
                        long reservedBytes) {
        @Override public String toString() {
            return "in use " + human(inUseBytes) + " in " + blocksInUse + " blocks, cached " + human(cachedBytes) + " in "
                + blocksCached + " blocks, peak in use " + human(peakInUseBytes) + ", reserved " + human(reservedBytes) + ", "
                + driverAllocs + " cuMemAlloc calls";
        }
    }

    private final TreeMap<Long, ArrayDeque<CUdeviceptr>> free = new TreeMap<>();
    /** The pool of the graph being captured, or null. */
    private GraphPool capturing;
    /** The pools of the graphs not yet closed (at most one: see {@link #beginCapture}). */
    private final java.util.Set<GraphPool> livePools = java.util.Collections.newSetFromMap(new java.util.IdentityHashMap<>());
    /** Block -> the pool of the graph it belongs to, for every block of a graph not yet closed. */
    private final Map<CUdeviceptr, GraphPool> poolOf = new java.util.IdentityHashMap<>();
    /** Live block -> {its size, the size class of the request it serves, 1 for an exact block}. */
    private final Map<CUdeviceptr, long[]> live = new java.util.IdentityHashMap<>();
    private long inUse, liveBytes, cached, peak, blocksCached, driverAllocs;
    private final CudaRuntime rt;
    private volatile boolean poison = Boolean.getBoolean("pulmo.cuda.poison");
    private volatile boolean exact = Boolean.getBoolean("pulmo.cuda.exactBlocks");
    /** With {@code -Dpulmo.cuda.allocationSites=true}: live block -> where it was asked for (see {@link #liveBySite}). */
    private final Map<CUdeviceptr, String> sites = Boolean.getBoolean("pulmo.cuda.allocationSites") ? new java.util.IdentityHashMap<>() : null;
    /** A quiet NaN as the 32-bit pattern cuMemsetD32 writes. */
    static final int NAN_BITS = 0x7fc00000;

    CudaAllocator(CudaRuntime rt) { this.rt = rt; }

    /** Test switch: fill every block handed out from now on with NaN (see the class comment). */
    public void poisonWithNaN(boolean on) { poison = on; }

    public boolean poisoning() { return poison; }

    /**
     * Test switch: every request from now on gets its own driver allocation of exactly its bytes, given back to the
     * driver when freed (see the class comment); off, the cache serves them again. Blocks handed out before keep the
     * way they were made.
     */
    public void exactBlocks(boolean on) { exact = on; }

    public boolean exactBlocks() { return exact; }

    /** The size class of a request (bytes actually reserved). */
    public static long roundUp(long bytes) {
        long b = Math.max(bytes, 1);
        long r = b < LARGE ? SMALL_ROUND : LARGE_ROUND;
        return (b + r - 1) / r * r;
    }

    /**
     * A block for {@code bytes}: a cached one of its size class; for large requests (1 MiB and more) else the smallest
     * cached block of at most twice the class (shapes that vary by a few rows reuse each other's blocks instead of each
     * keeping its own); else a new one from the driver.
     */
    public synchronized CUdeviceptr allocate(long bytes) {
        long size = roundUp(bytes), block = exact ? Math.max(bytes, 1) : size;
        Taken t = capturing == null ? null : take(capturing.free, block, size);   // the graph's own free blocks first
        if (t != null) {
            capturing.freeBytes -= t.bytes();
            capturing.freeBlocks--;
        } else if (!exact) {
            t = take(free, block, size);
        }
        CUdeviceptr p = t == null ? null : t.block();
        if (t != null) block = t.bytes();
        if (p != null) {
            cached -= block;
            blocksCached--;
        } else {
            rt.makeCurrent();
            p = new CUdeviceptr();
            int st = cuMemAlloc(p, block);
            if (st == CUresult.CUDA_ERROR_OUT_OF_MEMORY) {
                emptyCache();
                st = cuMemAlloc(p, block);
                if (st == CUresult.CUDA_ERROR_OUT_OF_MEMORY)
                    throw new CudaOutOfMemoryException(bytes, stats(), CUresult.stringFor(st));
            }
            CudaRuntime.check(st, "cuMemAlloc(" + block + ")");
            driverAllocs++;
        }
        live.put(p, new long[] {block, size, exact ? 1 : 0});
        if (capturing != null && poolOf.put(p, capturing) == null) capturing.blocks++;
        if (sites != null) sites.put(p, site());
        inUse += size;
        liveBytes += block;
        peak = Math.max(peak, inUse);
        if (poison) {
            rt.makeCurrent();
            CudaRuntime.check(cuMemsetD32Async(p, NAN_BITS, block / Float.BYTES, rt.stream()), "cuMemsetD32Async(NaN poison)");
        }
        return p;
    }

    /** A block taken from a free list, and its bytes. */
    private record Taken(CUdeviceptr block, long bytes) {}

    /**
     * Takes a block from {@code lists} for a request of {@code size} (its class; {@code block} the bytes wanted): one of
     * exactly {@code block} bytes, or from 1 MiB on the smallest of at most twice the class; null when none fits.
     */
    private Taken take(TreeMap<Long, ArrayDeque<CUdeviceptr>> lists, long block, long size) {
        ArrayDeque<CUdeviceptr> list = lists.get(block);
        CUdeviceptr p = list == null ? null : list.poll();
        if (p != null) return new Taken(p, block);
        if (size < LARGE || exact) return null;
        for (var e : lists.subMap(size, false, 2 * size, true).entrySet()) {
            p = e.getValue().poll();
            if (p != null) return new Taken(p, e.getKey());
        }
        return null;
    }

    /**
     * Returns a block to its free list (no driver call): a graph's block to the graph's pool; an exact block (see
     * {@link #exactBlocks}) to the driver.
     */
    public synchronized void free(CUdeviceptr p) {
        long[] b = live.get(p);
        GraphPool pool = poolOf.get(p);
        boolean madeBefore = pool == null && capturing != null && b != null;
        if (madeBefore) {   // made before the capture: the captured work may read it
            pool = capturing;
            poolOf.put(p, pool);
            pool.blocks++;
        }
        if (pool != null) {
            long block = forget(p);
            cached += block;
            blocksCached++;
            pool.freeBytes += block;
            pool.freeBlocks++;
            // A block made before the capture holds what the captured work read; handed out again in the same capture, a
            // later node would overwrite it, and every replay but the first would read that instead. So it serves no
            // request of this capture (none comes after one, as each graph is captured once).
            (madeBefore ? pool.readBefore : pool.free).computeIfAbsent(block, k -> new ArrayDeque<>()).push(p);
            return;
        }
        if (b != null && b[2] == 1) { // an exact block: its own allocation, not one for the cache
            freeToDriver(p);
            return;
        }
        long block = forget(p);
        cached += block;
        blocksCached++;
        free.computeIfAbsent(block, k -> new ArrayDeque<>()).push(p);
    }

    /** Drops a live block from the accounts; returns its size. */
    private long forget(CUdeviceptr p) {
        if (sites != null) sites.remove(p);
        long[] b = live.remove(p);
        if (b == null) throw new IllegalStateException("free of a device pointer this allocator does not hold (double free?)");
        inUse -= b[1];
        liveBytes -= b[0];
        return b[0];
    }

    /**
     * Gives one block straight back to the driver instead of caching it, after the stream has finished with it: for
     * one-off sizes that no later request will match (cuDNN's algorithm search workspaces), which cached would only pile up.
     */
    public synchronized void freeToDriver(CUdeviceptr p) {
        if (poolOf.containsKey(p) || capturing != null) {   // the graph uses it at every replay
            free(p);
            return;
        }
        forget(p);
        rt.makeCurrent();
        rt.synchronize();
        CudaRuntime.check(cuMemFree(p), "cuMemFree");
    }

    /** Gives every cached block back to the driver (after the stream has finished with them). */
    public synchronized void emptyCache() {
        if (cached == 0 || capturing != null) return;   // nothing waits for the stream during a capture
        rt.makeCurrent();
        rt.synchronize();
        for (ArrayDeque<CUdeviceptr> list : free.values())
            for (CUdeviceptr p : list) CudaRuntime.check(cuMemFree(p), "cuMemFree");
        free.clear();
        cached = 0;   // but the free blocks of live graphs, which stay theirs
        blocksCached = 0;
        for (GraphPool g : livePools) {
            cached += g.freeBytes;
            blocksCached += g.freeBlocks;
        }
    }

    /**
     * Bytes in use (by size class) per allocation site, largest first, with {@code -Dpulmo.cuda.allocationSites=true}
     * (else empty): where the memory of, say, the end of a forward pass went. A site is the op that asked for the
     * block and the first model or layer method above it ({@code Views.cat <- Dpn$DualPath.cat}), found by a stack walk
     * per allocation, so the switch is for measuring, not for training runs.
     */
    public synchronized java.util.LinkedHashMap<String, Long> liveBySite() {
        java.util.Map<String, Long> bytes = new java.util.HashMap<>();
        if (sites != null) sites.forEach((p, s) -> bytes.merge(s, live.get(p)[1], Long::sum));
        java.util.LinkedHashMap<String, Long> sorted = new java.util.LinkedHashMap<>();
        bytes.entrySet().stream().sorted(Map.Entry.<String, Long>comparingByValue().reversed()).forEach(e -> sorted.put(e.getKey(), e.getValue()));
        return sorted;
    }

    private static final StackWalker WALKER = StackWalker.getInstance();

    /** The first frame in org.pulmo.ops (the op), and the first above it in org.pulmo.nn or org.pulmo.models. */
    private static String site() {
        return WALKER.walk(frames -> {
            String op = null, caller = null;
            for (var it = frames.iterator(); it.hasNext() && caller == null; ) {
                StackWalker.StackFrame f = it.next();
                String c = f.getClassName();
                String here = c.substring(c.lastIndexOf('.') + 1) + "." + f.getMethodName();
                if (op == null && c.startsWith("org.pulmo.ops.")) op = here;
                else if (op != null && (c.startsWith("org.pulmo.nn.") || c.startsWith("org.pulmo.models."))) caller = here;
                else if (op == null && (c.startsWith("org.pulmo.nn.") || c.startsWith("org.pulmo.models.") || c.startsWith("org.pulmo.optim."))) {
                    op = here;   // a layer or the optimiser allocating directly
                }
            }
            return op == null ? "(outside org.pulmo.ops)" : caller == null ? op : op + " <- " + caller;
        });
    }

    // ------------------------------------------------------------------ CUDA graphs

    /**
     * The blocks of one captured graph: every block handed out or freed while it was captured, whether in use or in the
     * pool's own free list. Reserved for the graph until {@link #releasePool}.
     */
    static final class GraphPool {
        private final TreeMap<Long, ArrayDeque<CUdeviceptr>> free = new TreeMap<>();
        /** Free blocks made before the capture and freed during it: the graph's, but never handed out (see {@link #free}). */
        private final TreeMap<Long, ArrayDeque<CUdeviceptr>> readBefore = new TreeMap<>();
        private long freeBytes, freeBlocks, blocks;

        /** Blocks that belong to the graph, and the bytes of those of them that are free (not in use by a tensor). */
        long blocks() { return blocks; }

        long freeBytes() { return freeBytes; }
    }

    /** Starts a capture: from now on every block handed out joins the returned pool (see the class comment). */
    synchronized GraphPool beginCapture() {
        if (capturing != null) throw new IllegalStateException("a CUDA graph is being captured already");
        // One live graph at a time: a block of one graph's pool that a second graph's work used and freed would go back
        // to the common cache when the first graph closes, while the second still uses it.
        if (!livePools.isEmpty())
            throw new IllegalStateException("another CUDA graph is still alive: close it before capturing a new one (one graph at a time)");
        capturing = new GraphPool();
        livePools.add(capturing);
        return capturing;
    }

    /** Ends the capture under way: blocks handed out or freed from now on are ordinary ones again. */
    synchronized void endCapture() { capturing = null; }

    /**
     * The graph of {@code pool} is gone: its free blocks join the common cache, and those still in use by tensors
     * become ordinary blocks, cached when freed. The caller has waited for the graph's last replay.
     */
    synchronized void releasePool(GraphPool pool) {
        for (var lists : List.of(pool.free, pool.readBefore)) {
            for (var e : lists.entrySet())
                for (CUdeviceptr p : e.getValue()) free.computeIfAbsent(e.getKey(), k -> new ArrayDeque<>()).push(p);
            lists.clear();
        }
        pool.freeBytes = 0;
        pool.freeBlocks = 0;
        poolOf.values().removeIf(q -> q == pool);
        livePools.remove(pool);
    }

    public synchronized Stats stats() { return new Stats(inUse, cached, peak, live.size(), blocksCached, driverAllocs, liveBytes + cached); }

    public synchronized void resetPeak() { peak = inUse; }

    static String human(long b) { return org.pulmo.backend.Backend.MemoryUse.human(b); }
}
