package org.pulmo.cuda;

import static jcuda.driver.JCudaDriver.cuGraphDestroy;
import static jcuda.driver.JCudaDriver.cuGraphExecDestroy;
import static jcuda.driver.JCudaDriver.cuGraphInstantiate;
import static jcuda.driver.JCudaDriver.cuGraphLaunch;
import static jcuda.driver.JCudaDriver.cuMemAllocHost;
import static jcuda.driver.JCudaDriver.cuMemFreeHost;

import java.lang.foreign.Arena;
import java.lang.foreign.SymbolLookup;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import jcuda.Pointer;
import jcuda.driver.CUgraph;
import jcuda.driver.CUgraphExec;
import jcuda.driver.CUresult;
import org.pulmo.backend.Backend;

/**
 * A CUDA graph: the device work that some host code queues on the runtime's stream, recorded once (stream capture)
 * and then launched again as a whole with one call, {@link #replay()}. A training step of DPN-92-SE queues some 1,300
 * hand-written kernels and several hundred cuDNN calls, each a JNI call and a driver launch on the host; replayed, the
 * step costs the host one launch, and the device runs the kernels back to back with the driver's own, lower, per-kernel
 * cost.
 *
 * <p>What a graph fixes at capture, and so what the captured code must not depend on changing: every address (the
 * inputs, parameters, gradients and intermediates: the allocator keeps every block handed out during the capture for
 * the graph, {@link CudaAllocator.GraphPool}), every scalar kernel argument (a learning rate), every shape, and every
 * value copied from the host (copied once into pinned host memory that the graph copies from at every replay, see
 * {@link Staging}), and every cached device buffer the work reads (the optimiser's parameter table, kept until the graph
 * closes). Nothing may be read back during a capture: a read ({@code item()}, {@code toArray()}, a
 * synchronisation) fails with an error naming who asked, since the values do not exist until the graph is launched.
 * {@code org.pulmo.optim.CapturedStep} builds a training step on this.
 *
 * <p>Needs a driver with the graph entry points (CUDA 10 on; every CUDA 13 driver has them); {@link #unavailableReason}
 * says why not otherwise (the mock driver of the CPU test lanes has none; the emulated GPU has them).
 */
public final class CudaGraph implements Backend.Captured {
    private static final String[] ENTRY_POINTS = {"cuStreamBeginCapture_v2", "cuStreamEndCapture", "cuGraphInstantiateWithFlags",
        "cuGraphLaunch", "cuGraphExecDestroy", "cuGraphDestroy", "cuMemAllocHost_v2", "cuMemFreeHost"};
    private static volatile String unavailable;
    private static volatile boolean probed;

    private final CudaRuntime rt;
    private final CUgraph graph;
    private final CUgraphExec exec;
    private final CudaAllocator.GraphPool pool;
    private final Staging staging;
    private final long kernels;
    private boolean closed;

    private CudaGraph(CudaRuntime rt, CUgraph graph, CUgraphExec exec, CudaAllocator.GraphPool pool, Staging staging, long kernels) {
        this.rt = rt;
        this.graph = graph;
        this.exec = exec;
        this.pool = pool;
        this.staging = staging;
        this.kernels = kernels;
    }

    /**
     * Null when graphs can be captured here (CUDA usable, the driver has the entry points, not switched off by
     * {@code -Dpulmo.cuda.graphs=false}), else why not. Looks the symbols up without calling JCuda: JCuda's native
     * library calls a missing driver function as an unresolved symbol, which ends the JVM.
     */
    public static String unavailableReason() {
        if (!probed) {
            synchronized (CudaGraph.class) {
                if (!probed) {
                    unavailable = probe();
                    probed = true;
                }
            }
        }
        return unavailable;
    }

    private static String probe() {
        if ("false".equals(System.getProperty("pulmo.cuda.graphs"))) return "CUDA graphs switched off (-Dpulmo.cuda.graphs=false)";
        String cuda = CudaRuntime.probe();
        if (cuda != null) return cuda;
        try (Arena a = Arena.ofConfined()) {
            SymbolLookup driver = SymbolLookup.libraryLookup("libcuda.so.1", a);
            List<String> missing = new ArrayList<>();
            for (String s : ENTRY_POINTS) if (driver.find(s).isEmpty()) missing.add(s);
            return missing.isEmpty() ? null : "the CUDA driver (libcuda.so.1) has no " + String.join(", ", missing);
        } catch (RuntimeException e) {
            return "libcuda.so.1 cannot be opened: " + e.getMessage();
        }
    }

    /**
     * Records what {@code work} queues on the stream into a graph, without running it. Throws what {@code work} threw
     * (after ending the capture and giving everything back), or a {@link CudaException} when the driver could not make a
     * graph of it; the stream is usable either way.
     */
    public static CudaGraph capture(CudaRuntime rt, Runnable work) {
        String why = unavailableReason();
        if (why != null) throw new CudaException("cannot capture a CUDA graph: " + why);
        CudaAllocator allocator = rt.allocator();
        // Nothing can go back to the driver during a capture, so an allocation that fails there cannot be retried after
        // emptying the cache: empty it first (its blocks would be the graph's anyway).
        allocator.emptyCache();
        Staging staging = new Staging();
        CudaAllocator.GraphPool pool = allocator.beginCapture();
        long launchesBefore = rt.counters().launches();
        CUgraph graph = new CUgraph();
        int ended;
        try {
            rt.beginCapture(staging);
        } catch (RuntimeException | Error e) {
            allocator.endCapture();
            allocator.releasePool(pool);
            staging.free();
            throw e;
        }
        Throwable failure = null;
        try {
            work.run();
        } catch (RuntimeException | Error e) {
            failure = e;
        } finally {
            ended = rt.endCapture(graph);
            allocator.endCapture();
        }
        CUgraphExec exec = null;
        if (failure == null && ended == CUresult.CUDA_SUCCESS) {
            exec = new CUgraphExec();
            int st = cuGraphInstantiate(exec, graph, 0);
            if (st != CUresult.CUDA_SUCCESS) {
                exec = null;
                failure = CudaException.of("CUDA", "cuGraphInstantiate", st, CUresult.stringFor(st));
            }
        } else if (failure == null) {
            failure = CudaException.of("CUDA", "cuStreamEndCapture (the captured work used something a graph cannot hold)", ended,
                CUresult.stringFor(ended));
        }
        if (failure != null) {
            if (ended == CUresult.CUDA_SUCCESS) cuGraphDestroy(graph);
            allocator.releasePool(pool);
            staging.free();
            if (failure instanceof RuntimeException r) throw r;
            throw (Error) failure;
        }
        return new CudaGraph(rt, graph, exec, pool, staging, rt.counters().launches() - launchesBefore);
    }

    /** Launches the graph on the stream (queued, as any launch: nothing waits). */
    @Override public void replay() {
        if (closed) throw new IllegalStateException("replay of a closed CUDA graph");
        rt.makeCurrent();
        CudaRuntime.check(cuGraphLaunch(exec, rt.stream()), "cuGraphLaunch");
        rt.countGraphLaunch();
    }

    /** The hand-written kernels the graph launches (cuDNN's and cuBLAS's not counted). */
    public long kernels() { return kernels; }

    /** Blocks of device memory the graph holds (in use by tensors or kept free for it). */
    public long blocks() { return pool.blocks(); }

    /**
     * Waits for the graph's last replay, destroys it and gives its memory back: blocks still in use by tensors (kept
     * outputs) become ordinary blocks, the rest go to the allocator's cache.
     */
    @Override public void close() {
        if (closed) return;
        closed = true;
        try {
            rt.synchronize();   // throws when the device has failed: the graph is destroyed all the same
        } finally {
            try {
                rt.makeCurrent();   // synchronize may have thrown before making the context current on this thread
            } catch (RuntimeException e) {
                // the destroys below then fail quietly on a dead context; the error that brought us here is the one to see
            }
            cuGraphExecDestroy(exec);
            cuGraphDestroy(graph);
            rt.allocator().releasePool(pool);
            staging.free();
        }
    }

    /** The error for a read back from the device during a capture, naming who asked. */
    static String readBackDuringCapture(String caller) {
        return "the device was asked to finish its work (" + caller + ") while a CUDA graph was being captured: nothing can be read"
            + " back during a capture, since nothing has run yet; read the graph's outputs after replay()";
    }

    /**
     * Pinned host copies of the arrays copied to the device during a capture. The graph's copy node reads the same
     * host address at every replay, so the bytes must stay where they are and as they were: a Java array moves with the
     * garbage collector and is reused by its owner; this copy lives until the graph is closed.
     */
    static final class Staging {
        /** The thread that captures: while it does, work queued by any other would land in its graph. */
        final Thread owner = Thread.currentThread();
        private final List<Pointer> blocks = new ArrayList<>();
        private final List<CudaStorage> kept = new ArrayList<>();

        /** Holds a reference to {@code s} (already retained) until the graph goes. */
        void keep(CudaStorage s) { kept.add(s); }

        private Pointer allocate(long bytes) {
            Pointer p = new Pointer();
            CudaRuntime.check(cuMemAllocHost(p, Math.max(bytes, 1)), "cuMemAllocHost(" + bytes + ")");
            blocks.add(p);
            return p;
        }

        Pointer copyOf(float[] src, long count) {
            Pointer p = allocate(count * Float.BYTES);
            p.getByteBuffer(0, count * Float.BYTES).order(ByteOrder.nativeOrder()).asFloatBuffer().put(src, 0, (int) count);
            return p;
        }

        Pointer copyOf(long[] src) {
            Pointer p = allocate((long) src.length * Long.BYTES);
            p.getByteBuffer(0, (long) src.length * Long.BYTES).order(ByteOrder.nativeOrder()).asLongBuffer().put(src);
            return p;
        }

        Pointer copyOf(int[] src) {
            Pointer p = allocate((long) src.length * Integer.BYTES);
            p.getByteBuffer(0, (long) src.length * Integer.BYTES).order(ByteOrder.nativeOrder()).asIntBuffer().put(src);
            return p;
        }

        void free() {
            for (Pointer p : blocks) cuMemFreeHost(p);
            blocks.clear();
            for (CudaStorage s : kept) s.release();
            kept.clear();
        }
    }
}
