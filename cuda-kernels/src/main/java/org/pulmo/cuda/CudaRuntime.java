package org.pulmo.cuda;

import static jcuda.driver.JCudaDriver.*;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.SymbolLookup;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.logging.Logger;
import jcuda.NativePointerObject;
import jcuda.Pointer;
import jcuda.driver.CUcontext;
import jcuda.driver.CUdevice;
import jcuda.driver.CUdeviceptr;
import jcuda.driver.CUfunction;
import jcuda.driver.CUmodule;
import jcuda.driver.CUresult;
import jcuda.driver.CUstream;
import jcuda.driver.CUstreamCaptureMode;
import jcuda.driver.JCudaDriver;

/**
 * The CUDA driver-API runtime of device 0 through JCuda: the primary context, one compute stream (cuDNN and
 * cuBLAS are bound to it too), the kernel module loaded from the fatbin resource, kernel launches and
 * host/device copies. Created once, on first use, after {@link #probe()} found everything in place.
 *
 * <p>Probing is cheap and cannot crash the JVM: it looks for libcuda.so.1 and libcudnn.so.9 with
 * {@link SymbolLookup#libraryLookup} (which only dlopens them) before any JCuda native is loaded, and catches
 * every Throwable from loading JCuda's natives.
 */
public final class CudaRuntime {
    private static final Logger LOG = Logger.getLogger(CudaRuntime.class.getName());
    public static final String FATBIN = "/org/pulmo/cuda/pulmo_kernels.fatbin";
    public static final String MANIFEST = "/org/pulmo/cuda/pulmo_kernels.txt";
    public static final String ABSENT = "/org/pulmo/cuda/pulmo_kernels.absent";

    private static volatile String probeResult;
    private static volatile boolean probed;
    private static volatile CudaRuntime instance;

    private final CUdevice device = new CUdevice();
    private final CUcontext context = new CUcontext();
    private final CUstream stream = new CUstream();
    private final CUmodule module = new CUmodule();
    private final Map<String, CUfunction> functions = new ConcurrentHashMap<>();
    private final CudaAllocator allocator = new CudaAllocator(this);
    private final String deviceName;
    private final int smCount;

    // ------------------------------------------------------------------ probing

    /** Null when CUDA is usable (driver, device, cuDNN, kernels), else the reason. Cached after the first call. */
    public static String probe() {
        if (!probed) {
            synchronized (CudaRuntime.class) {
                if (!probed) {
                    String r;
                    try { r = probeOnce(); }
                    catch (Throwable t) { r = "CUDA probe failed: " + t; }
                    probeResult = r;
                    probed = true;
                }
            }
        }
        return probeResult;
    }

    /** Whether the shared library can be dlopened (no JCuda involved). */
    static boolean libraryPresent(String name) {
        try (Arena a = Arena.ofConfined()) {
            SymbolLookup.libraryLookup(name, a);
            return true;
        } catch (Throwable t) {
            return false;
        }
    }

    /** Null when the kernels resource is there, else why not (from the build's .absent note). */
    public static String kernelsReason() {
        if (CudaRuntime.class.getResource(FATBIN) != null) return null;
        try (InputStream in = CudaRuntime.class.getResourceAsStream(ABSENT)) {
            if (in != null) return "kernels not built: " + new String(in.readAllBytes()).trim();
        } catch (IOException e) { /* fall through */ }
        return "kernels not built: no " + FATBIN + " resource on the class path";
    }

    private static String probeOnce() {
        if (!libraryPresent("libcuda.so.1")) return "no driver: libcuda.so.1 not found (no NVIDIA driver installed)";
        String kernels = kernelsReason();
        if (kernels != null) return kernels;
        if (!libraryPresent("libcudnn.so.9") && !WITHOUT_CUDNN_ALLOWED) return "cuDNN missing: libcudnn.so.9 not found on the library path";
        try {
            JCudaDriver.setExceptionsEnabled(false);
            int st = cuInit(0);
            if (st != CUresult.CUDA_SUCCESS) return "no driver: cuInit failed with " + CUresult.stringFor(st);
            int[] n = {0};
            st = cuDeviceGetCount(n);
            if (st != CUresult.CUDA_SUCCESS) return "no device: cuDeviceGetCount failed with " + CUresult.stringFor(st);
            if (n[0] == 0) return "no device: the driver reports 0 CUDA devices";
            // a GPU the kernels were not built for fails at cuModuleLoadData, after --device auto has chosen it: said here
            CUdevice d0 = new CUdevice();
            int[] major = {0}, minor = {0};
            if (cuDeviceGet(d0, 0) == CUresult.CUDA_SUCCESS
                    && cuDeviceGetAttribute(major, jcuda.driver.CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR, d0) == CUresult.CUDA_SUCCESS
                    && cuDeviceGetAttribute(minor, jcuda.driver.CUdevice_attribute.CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR, d0) == CUresult.CUDA_SUCCESS) {
                String arch = archReason(major[0], minor[0], builtTargets());
                if (arch != null) return arch;
            }
        } catch (Throwable t) {
            return "no driver: JCuda natives failed to load (" + t + ")";
        }
        String cudnn = cudnnReason();
        if (cudnn != null && !WITHOUT_CUDNN_ALLOWED) return "cuDNN missing: " + cudnn;
        return null;
    }

    /**
     * {@code -Dpulmo.cuda.allowWithoutCudnn=true}: the backend starts even where cuDNN cannot be loaded, so that the
     * hand-written kernels can be tested on their own; convolution and pooling then fail with a message naming
     * the reason, and batch norm runs on the hand-written kernels. Off by default: training needs cuDNN.
     */
    public static final boolean WITHOUT_CUDNN_ALLOWED = Boolean.getBoolean("pulmo.cuda.allowWithoutCudnn");

    private static volatile String cudnnReason;
    private static volatile boolean cudnnProbed;

    /** Null when cuDNN 9 loads and a handle can be made, else why not (cached; needs the driver initialised). */
    public static String cudnnReason() {
        if (!cudnnProbed) {
            synchronized (CudaRuntime.class) {
                if (!cudnnProbed) {
                    String r;
                    try { r = libraryPresent("libcudnn.so.9") ? Cudnn.probe() : "libcudnn.so.9 not found on the library path"; }
                    catch (Throwable t) { r = t.toString(); }
                    cudnnReason = r;
                    cudnnProbed = true;
                }
            }
        }
        return cudnnReason;
    }

    /** The runtime; throws with the probe's reason when CUDA is not usable. */
    public static CudaRuntime get() {
        CudaRuntime r = instance;
        if (r != null) return r;
        synchronized (CudaRuntime.class) {
            if (instance == null) {
                String why = probe();
                if (why != null) throw new IllegalStateException("CUDA is not usable: " + why);
                instance = new CudaRuntime();
            }
            return instance;
        }
    }

    // ------------------------------------------------------------------ set-up

    private CudaRuntime() {
        check(cuInit(0), "cuInit");
        check(cuDeviceGet(device, 0), "cuDeviceGet(0)");
        check(cuDevicePrimaryCtxRetain(context, device), "cuDevicePrimaryCtxRetain");
        check(cuCtxSetCurrent(context), "cuCtxSetCurrent");
        check(cuStreamCreate(stream, 0), "cuStreamCreate");
        byte[] image;
        try (InputStream in = CudaRuntime.class.getResourceAsStream(FATBIN)) {
            image = in.readAllBytes();
        } catch (IOException | NullPointerException e) {
            throw new CudaException("cannot read " + FATBIN, e);
        }
        check(cuModuleLoadData(module, image), "cuModuleLoadData(" + FATBIN + ")");
        byte[] name = new byte[256];
        check(cuDeviceGetName(name, name.length, device), "cuDeviceGetName");
        int end = 0;
        while (end < name.length && name[end] != 0) end++;
        deviceName = new String(name, 0, end);
        int[] v = {0};
        check(cuDeviceGetAttribute(v, jcuda.driver.CUdevice_attribute.CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, device), "cuDeviceGetAttribute(SM count)");
        smCount = v[0];
        LOG.info("CUDA device 0: " + deviceName + ", " + smCount + " SMs; kernels from " + FATBIN);
    }

    public String deviceName() { return deviceName; }

    public int smCount() { return smCount; }

    public CUstream stream() { return stream; }

    public CudaAllocator allocator() { return allocator; }

    /**
     * Makes the context current on the calling thread. CUDA contexts are current per thread: a driver call on a
     * thread that never made it current fails with CUDA_ERROR_INVALID_CONTEXT (JMH's forked benchmark threads,
     * a data-loader thread freeing a tensor). Cheap after the first call on a thread (one ThreadLocal read). A virtual
     * thread is made current at every call: the context belongs to the carrier (the OS thread), and a virtual thread
     * may run on another carrier after any pause, where a flag of its own would say "current" wrongly.
     */
    public void makeCurrent() {
        if (Thread.currentThread().isVirtual()) {
            check(cuCtxSetCurrent(context), "cuCtxSetCurrent");
            return;
        }
        if (currentOnThisThread.get()) return;
        check(cuCtxSetCurrent(context), "cuCtxSetCurrent");
        currentOnThisThread.set(Boolean.TRUE);
    }

    private final ThreadLocal<Boolean> currentOnThisThread = ThreadLocal.withInitial(() -> Boolean.FALSE);

    public void synchronize() {
        if (staging != null) throw new IllegalStateException(CudaGraph.readBackDuringCapture(callerOutsideCuda()));
        makeCurrent();
        long t0 = System.nanoTime();
        check(cuStreamSynchronize(stream), "cuStreamSynchronize");
        syncs++;
        syncNanos += System.nanoTime() - t0;
        if (TRACE_SYNCS) traceSync();
    }

    // ------------------------------------------------------------------ counters

    /**
     * What the host has asked of the device so far: launches of the hand-written kernels (cuDNN and cuBLAS calls
     * launch kernels of their own, not counted here), bytes zero-filled, stream synchronisations (each one drains the
     * queue: the device idles until the host launches again) and the nanoseconds the host spent blocked in them,
     * host-to-device and device-to-host copies. Differences of two readings count a training step's host costs
     * ({@code MockGpuSteps}, {@code scripts/gpu-verify.sh}); the counts are the host's decisions, the same on the mock
     * driver as on a GPU, the blocked time is the device's only on a GPU. {@code tensorBytes}: bytes of tensor
     * storage handed out (every op's new outputs and the dense copies it makes of strided inputs; not cuDNN's
     * workspaces or the optimiser's tables), a lower bound on what the step writes to device memory, comparable with
     * the bytes of new tensors PyTorch's ops allocate for the same step ({@code benchmarks/torch_op_profile.py}).
     */
    public record Counters(long launches, long syncs, long syncNanos, long copiesToDevice, long copiesToHost, long zeroFilledBytes,
                           long tensorBytes, long graphLaunches) {
        public Counters minus(Counters o) {
            return new Counters(launches - o.launches, syncs - o.syncs, syncNanos - o.syncNanos, copiesToDevice - o.copiesToDevice,
                copiesToHost - o.copiesToHost, zeroFilledBytes - o.zeroFilledBytes, tensorBytes - o.tensorBytes, graphLaunches - o.graphLaunches);
        }
    }

    // plain fields: the runtime is driven by one thread at a time (the training loop), so these are exact there and
    // only approximate if several threads launch at once
    private long launches, syncs, syncNanos, copiesToDevice, copiesToHost, zeroFilledBytes, tensorBytes, graphLaunches;

    /**
     * Debug switch: {@code -Dpulmo.cuda.traceSyncs=true} logs, for every stream synchronisation, the first frames
     * outside this package that asked for it (a loss read, a label check, a copy), to find what drains the queue.
     */
    static final boolean TRACE_SYNCS = Boolean.getBoolean("pulmo.cuda.traceSyncs");

    private static void traceSync() { System.err.println("[pulmo-sync] " + callerOutsideCuda()); }

    /** The first four frames outside this package's runtime, backend and allocator: who asked the device for something. */
    static String callerOutsideCuda() {
        List<String> frames = StackWalker.getInstance().walk(s -> s.map(f -> f.getClassName().replaceFirst(".*\\.", "") + "." + f.getMethodName()
                + ":" + f.getLineNumber())
            .dropWhile(f -> f.startsWith("CudaRuntime.") || f.startsWith("CudaBackend.") || f.startsWith("CudaAllocator."))
            .limit(4).toList());
        return String.join(" < ", frames);
    }

    public Counters counters() {
        return new Counters(launches, syncs, syncNanos, copiesToDevice, copiesToHost, zeroFilledBytes, tensorBytes, graphLaunches);
    }

    // ------------------------------------------------------------------ CUDA graphs (see CudaGraph)

    /** The pinned host copies of the capture under way, or null when the stream is not being captured. */
    private volatile CudaGraph.Staging staging;

    /** Whether the stream is being captured into a {@link CudaGraph}. */
    public boolean capturing() { return staging != null; }

    void beginCapture(CudaGraph.Staging s) {
        makeCurrent();
        check(cuStreamBeginCapture(stream, CUstreamCaptureMode.CU_STREAM_CAPTURE_MODE_RELAXED), "cuStreamBeginCapture");
        staging = s;
    }

    /** Ends the capture; the graph, or the driver's status when it could not make one (the graph is then null). */
    int endCapture(jcuda.driver.CUgraph graph) {
        staging = null;
        return cuStreamEndCapture(stream, graph);
    }

    /**
     * Refuses work from a thread other than the capturing one while a capture is under way: the launches, copies and
     * memsets queued here (cuDNN and cuBLAS calls, which run on the training thread, are not checked).
     */
    private void checkCapturer() {
        CudaGraph.Staging st = staging;
        Thread t = st == null ? null : st.owner;
        if (t != null && t != Thread.currentThread())
            throw new IllegalStateException("CUDA work queued by thread " + Thread.currentThread().getName() + " while thread " + t.getName()
                + " captures the stream into a CUDA graph: it would become part of that graph");
    }

    /** Keeps {@code s} allocated until the graph being captured is closed (a cached table the graph reads at every replay). */
    void keepUntilGraphCloses(CudaStorage s) {
        if (staging != null) staging.keep(s.retain());
    }

    void countGraphLaunch() { graphLaunches++; }

    /** Counts a tensor storage of {@code bytes} handed out (see {@link Counters#tensorBytes}). */
    void countTensorBytes(long bytes) { tensorBytes += bytes; }

    /** {@link Counters#tensorBytes} so far, without building a reading (the profile asks twice per op). */
    long tensorBytes() { return tensorBytes; }

    // ------------------------------------------------------------------ kernels

    public CUfunction function(String name) {
        return functions.computeIfAbsent(name, n -> {
            CUfunction f = new CUfunction();
            check(cuModuleGetFunction(f, module, n), "cuModuleGetFunction(" + n + ")");
            return f;
        });
    }

    /**
     * Launches kernel {@code name} on the stream. Arguments: Integer, Long, Float, a CUdeviceptr (or null for a
     * null pointer), a CudaStorage, or an int[] passed by value as a struct ({@link StridedArgs}).
     */
    public void launch(String name, int gridX, int gridY, int gridZ, int block, int sharedBytes, Object... args) {
        // no blocks (an empty batch: a block per plane or row of none): nothing to compute, and the driver refuses a
        // grid with a zero extent (CUDA_ERROR_INVALID_VALUE)
        if (gridX == 0 || gridY == 0 || gridZ == 0) return;
        Pointer[] ps = new Pointer[args.length];
        for (int i = 0; i < args.length; i++) ps[i] = argPointer(args[i]);
        makeCurrent();
        checkCapturer();
        launches++;
        check(cuLaunchKernel(function(name), gridX, gridY, gridZ, block, 1, 1, sharedBytes, stream, Pointer.to(ps), null),
            "cuLaunchKernel(" + name + ", grid " + gridX + "x" + gridY + "x" + gridZ + ", block " + block + ")");
        if (SYNC_LAUNCHES && staging == null) afterLaunch(name, gridX + "x" + gridY + "x" + gridZ, String.valueOf(block), sharedBytes);
    }

    /**
     * Debug switch: {@code -Dpulmo.cuda.syncLaunches=true} (or {@code CUDA_LAUNCH_BLOCKING=1} in the environment)
     * synchronises after every kernel launch, so that a fault is reported by the launch that caused it, naming the
     * kernel and its launch shape, instead of surfacing at the next unrelated synchronisation.
     */
    static final boolean SYNC_LAUNCHES = Boolean.getBoolean("pulmo.cuda.syncLaunches") || "1".equals(System.getenv("CUDA_LAUNCH_BLOCKING"));

    private void afterLaunch(String name, String grid, String block, int sharedBytes) {
        int st = cuStreamSynchronize(stream);
        if (st != CUresult.CUDA_SUCCESS)
            throw CudaException.of("CUDA", "kernel " + name + " (grid " + grid + ", block " + block + ", " + sharedBytes
                + " B dynamic shared memory) failed during execution", st, CUresult.stringFor(st));
    }

    public void launch2d(String name, int gridX, int gridY, int gridZ, int blockX, int blockY, Object... args) {
        if (gridX == 0 || gridY == 0 || gridZ == 0) return;   // as launch: nothing to compute, and the driver refuses it
        if (gridY > 65535 || gridZ > 65535)   // the device's limits in y and z (x reaches 2^31 - 1)
            throw new IllegalArgumentException(name + ": grid " + gridX + "x" + gridY + "x" + gridZ + " is past the 65535 blocks a grid may have in y and z");
        Pointer[] ps = new Pointer[args.length];
        for (int i = 0; i < args.length; i++) ps[i] = argPointer(args[i]);
        makeCurrent();
        checkCapturer();
        launches++;
        check(cuLaunchKernel(function(name), gridX, gridY, gridZ, blockX, blockY, 1, 0, stream, Pointer.to(ps), null),
            "cuLaunchKernel(" + name + ", grid " + gridX + "x" + gridY + "x" + gridZ + ", block " + blockX + "x" + blockY + ")");
        if (SYNC_LAUNCHES && staging == null) afterLaunch(name, gridX + "x" + gridY + "x" + gridZ, blockX + "x" + blockY, 0);
    }

    /** A grid-stride launch over n elements: 256 threads, enough blocks to fill the GPU a few times over. */
    public void launchElements(String name, long n, Object... args) {
        int blocks = (int) Math.max(1, Math.min((n + 255) / 256, (long) smCount * 32));
        launch(name, blocks, 1, 1, 256, 0, args);
    }

    private static Pointer argPointer(Object a) {
        return switch (a) {
            case null -> Pointer.to(new CUdeviceptr());
            case Integer i -> Pointer.to(new int[] {i});
            case Long l -> Pointer.to(new long[] {l});
            case Float f -> Pointer.to(new float[] {f});
            case Boolean b -> Pointer.to(new int[] {b ? 1 : 0});
            case CUdeviceptr p -> Pointer.to(p);
            case CudaStorage s -> Pointer.to(s.pointer());
            case int[] struct -> Pointer.to(struct);
            default -> throw new IllegalArgumentException("unsupported kernel argument " + a.getClass());
        };
    }

    // ------------------------------------------------------------------ copies

    // Host-to-device copies from Java arrays need no synchronisation of ours. JCuda hands the driver the array itself
    // (pinned in the heap for the duration of the call), and a copy from pageable memory is staged before the call
    // returns, so the array may move or change as soon as the call is back, and the copy itself is stream-ordered after
    // the kernels before it. A synchronisation here drained the queue at every batch. The driver itself may still wait:
    // the CUDA 12/13 documentation of the async copies says a transfer from pageable memory "might be synchronous with
    // respect to host" and that, staging it, "the driver may synchronize with the stream" ("API synchronization
    // behavior"). If a GPU profile shows the host waiting here (the batch upload of each step, after the step before
    // has been queued), the fix is a pinned staging buffer per input, reused only once an event says its last copy ended.
    // During a capture the array is first copied into pinned host memory that lives as long as the graph, since the graph
    // copies from the same host address at every replay (CudaGraph.Staging).

    public void copyToDevice(float[] src, CUdeviceptr dst, long count) {
        makeCurrent();
        checkCapturer();
        copiesToDevice++;
        Pointer from = staging == null ? Pointer.to(src) : staging.copyOf(src, count);
        check(cuMemcpyHtoDAsync(dst, from, count * Float.BYTES, stream), "cuMemcpyHtoDAsync");
    }

    public void copyToHost(CUdeviceptr src, float[] dst, long count) {
        makeCurrent();
        synchronize();
        copiesToHost++;
        check(cuMemcpyDtoH(Pointer.to(dst), src, count * Float.BYTES), "cuMemcpyDtoH");
    }

    public void copyToDevice(long[] src, CUdeviceptr dst) {
        makeCurrent();
        checkCapturer();
        copiesToDevice++;
        Pointer from = staging == null ? Pointer.to(src) : staging.copyOf(src);
        check(cuMemcpyHtoDAsync(dst, from, (long) src.length * Long.BYTES, stream), "cuMemcpyHtoDAsync");
    }

    public void copyToDevice(int[] src, CUdeviceptr dst) {
        makeCurrent();
        checkCapturer();
        copiesToDevice++;
        Pointer from = staging == null ? Pointer.to(src) : staging.copyOf(src);
        check(cuMemcpyHtoDAsync(dst, from, (long) src.length * Integer.BYTES, stream), "cuMemcpyHtoDAsync");
    }

    public void memsetZero(CUdeviceptr p, long floats) {
        makeCurrent();
        checkCapturer();
        zeroFilledBytes += floats * Float.BYTES;
        check(cuMemsetD32Async(p, 0, floats, stream), "cuMemsetD32Async");
    }

    /** ptr + elements * 4, as a new pointer object (views with an offset). */
    public static CUdeviceptr offset(CUdeviceptr p, long elements) {
        return elements == 0 ? p : (CUdeviceptr) p.withByteOffset(elements * Float.BYTES);
    }

    /** The numeric device address (for cuDNN through the FFM binding and the SGD parameter table). */
    public static long address(NativePointerObject p) {
        return NativeAddress.of(p);
    }

    static void check(int status, String call) {
        if (status != CUresult.CUDA_SUCCESS) throw CudaException.of("CUDA", call, status, CUresult.stringFor(status));
    }

    /**
     * The targets the fatbin was built for, from its manifest's "# targets:" line ({@code sm_80}, {@code sm_90},
     * {@code compute_90} by default; -Dpulmo.cuda.archs and -Dpulmo.cuda.ptx at build time choose others); empty when unknown.
     */
    static List<String> builtTargets() {
        try (InputStream in = CudaRuntime.class.getResourceAsStream(MANIFEST)) {
            if (in == null) return List.of();
            for (String line : new String(in.readAllBytes()).split("\n"))
                if (line.startsWith("# targets:")) return List.of(line.substring("# targets:".length()).trim().split("\\s*,\\s*"));
        } catch (IOException e) { throw new CudaException("cannot read " + MANIFEST, e); }
        return List.of();
    }

    /**
     * Null when a GPU of compute capability major.minor runs one of {@code targets}, else why not: machine code for
     * sm_XY runs on X.Y and later minors of X (sm_80 on 8.6), PTX for compute_XY is compiled by the driver for X.Y and
     * any later GPU. Unknown targets (no manifest line) are not held against the GPU.
     */
    static String archReason(int major, int minor, List<String> targets) {
        if (targets.isEmpty()) return null;
        int cc = 10 * major + minor;
        for (String t : targets) {
            try {
                if (t.startsWith("sm_")) {
                    int a = Integer.parseInt(t.substring(3));
                    if (a / 10 == major && a % 10 <= minor) return null;
                } else if (t.startsWith("compute_") && Integer.parseInt(t.substring(8)) <= cc) return null;
            } catch (NumberFormatException e) {
                return null;   // a target this check does not know (sm_90a): let the driver decide
            }
        }
        String built = "GPU 0 has compute capability " + major + "." + minor + ", and the kernels were built for " + String.join(", ", targets) + " only";
        return built + ": build them for it with mvn -Dpulmo.cuda.archs=" + cc + " -Dpulmo.cuda.ptx=" + cc + " -DskipTests install"
            + (cc < 75 ? " and an nvcc that still targets " + major + "." + minor + " (CUDA 12's; CUDA 13 builds for 7.5 and later)" : "");
    }

    /** The kernel names the build validated into the fatbin (from its manifest); empty when not built. */
    public static List<String> builtKernelNames() {
        List<String> out = new ArrayList<>();
        try (InputStream in = CudaRuntime.class.getResourceAsStream(MANIFEST)) {
            if (in == null) return out;
            for (String line : new String(in.readAllBytes()).split("\n"))
                if (!line.isBlank() && !line.startsWith("#")) out.add(line.trim());
        } catch (IOException e) { throw new CudaException("cannot read " + MANIFEST, e); }
        return out;
    }

    /** Reads a JCuda pointer's native address plus byte offset (both protected in JCuda, so by reflection). */
    static final class NativeAddress {
        private static final java.lang.reflect.Method NATIVE, OFFSET;
        static {
            try {
                NATIVE = NativePointerObject.class.getDeclaredMethod("getNativePointer");
                OFFSET = Pointer.class.getDeclaredMethod("getByteOffset");
                NATIVE.setAccessible(true);
                OFFSET.setAccessible(true);
            } catch (ReflectiveOperationException e) { throw new ExceptionInInitializerError(e); }
        }

        private NativeAddress() {}

        static long of(NativePointerObject p) {
            try { return (long) NATIVE.invoke(p) + (p instanceof Pointer q ? (long) OFFSET.invoke(q) : 0L); }
            catch (ReflectiveOperationException e) { throw new CudaException("cannot read a JCuda pointer's address", e); }
        }
    }
}
