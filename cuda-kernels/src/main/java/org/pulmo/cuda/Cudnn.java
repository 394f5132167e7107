package org.pulmo.cuda;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_DOUBLE;
import static java.lang.foreign.ValueLayout.JAVA_FLOAT;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * A small binding of cuDNN 9 on Java's Foreign Function &amp; Memory API: only the functions Pulmo calls
 * (handle and stream, tensor/filter/convolution/pooling descriptors, convolution forward and
 * both backwards, batch-norm training/inference/backward, pooling forward/backward). JCudnn's
 * Java classes stop at cuDNN 8, hence this.
 *
 * <p>Convolution algorithms are chosen once per shape and math mode and cached ({@link ConvPlan}): by
 * cudnnFindConvolution*AlgorithmEx, which runs the candidates on the first call's operands with a workspace
 * from the caching allocator, or by the v7 heuristics (system property {@code pulmo.cudnn.algo=find|heuristic},
 * default find; a failed find falls back to the heuristics). {@link #describePlans} lists what was chosen.
 *
 * <p>Every call's status is checked; a failure throws {@link CudaException} naming the call and
 * cudnnGetErrorString's text. Device pointers are raw addresses of allocator blocks. All data is NCHW
 * float32; {@link #setStrictFp32} picks CUDNN_FMA_MATH (no TF32 tensor cores; algorithms that report
 * tensor-op math are rejected) or CUDNN_DEFAULT_MATH (TF32 allowed on Ampere and newer). {@link #setDeterministic}
 * (or the system property {@code pulmo.cudnn.deterministic=true}) admits only algorithms cuDNN reports as
 * deterministic (CUDNN_DETERMINISTIC: no atomic accumulation, so the same operands give the same bits every run);
 * backward data ALGO_0 and backward filter ALGO_0 and ALGO_3 are the usual ones left out.
 */
public final class Cudnn implements AutoCloseable {
    private static final java.util.logging.Logger LOG = java.util.logging.Logger.getLogger(Cudnn.class.getName());
    // cudnn.h constants (cuDNN 9)
    static final int DATA_FLOAT = 0, TENSOR_NCHW = 0, CROSS_CORRELATION = 1;
    static final int DEFAULT_MATH = 0, TENSOR_OP_MATH = 1, TENSOR_OP_MATH_ALLOW_CONVERSION = 2, FMA_MATH = 3;
    static final int BATCHNORM_SPATIAL = 1;
    static final int POOLING_MAX = 0, POOLING_AVG_INCLUDE_PAD = 1, POOLING_AVG_EXCLUDE_PAD = 2, POOLING_MAX_DETERMINISTIC = 3, PROPAGATE_NAN = 1;
    /**
     * CUDNN_BN_MIN_EPSILON: cuDNN's batch norm rejects a smaller epsilon. It was 1e-5 before cuDNN 7.5 and is 0
     * since (cudnn_ops.h of cuDNN 9); as 1e-5 a float eps of 1e-5f (ResNet, DenseNet, VGG, MA-Net) compared
     * below it and cuDNN's batch norm was never used.
     */
    public static final double BN_MIN_EPSILON = 0.0;
    /** cudnnConvolution*AlgoPerf_t: {int algo; int status; float time; size_t memory; int determinism; int mathType; int reserved[3]}. */
    static final MemoryLayout PERF = MemoryLayout.structLayout(JAVA_INT.withName("algo"), JAVA_INT.withName("status"),
        JAVA_FLOAT.withName("time"), MemoryLayout.paddingLayout(4), JAVA_LONG.withName("memory"), JAVA_INT.withName("determinism"),
        JAVA_INT.withName("mathType"), MemoryLayout.sequenceLayout(3, JAVA_INT), MemoryLayout.paddingLayout(4));

    /** The library and its method handles, bound on first use (a failure here means "cuDNN missing"). */
    static final class Api {
        static final Linker LINKER = Linker.nativeLinker();
        static final SymbolLookup LIB = SymbolLookup.libraryLookup("libcudnn.so.9", Arena.global());
        private static final Map<String, MethodHandle> HANDLES = new HashMap<>();

        static synchronized MethodHandle fn(String name, MemoryLayout... args) {
            return HANDLES.computeIfAbsent(name, n -> LINKER.downcallHandle(
                LIB.find(n).orElseThrow(() -> new UnsatisfiedLinkError("libcudnn.so.9 has no symbol " + n)),
                FunctionDescriptor.of(JAVA_INT, args)));
        }

        static final MethodHandle GET_VERSION = LINKER.downcallHandle(LIB.find("cudnnGetVersion").orElseThrow(), FunctionDescriptor.of(JAVA_LONG));
        static final MethodHandle GET_ERROR_STRING = LINKER.downcallHandle(LIB.find("cudnnGetErrorString").orElseThrow(), FunctionDescriptor.of(ADDRESS, JAVA_INT));
    }

    private static final MemorySegment ONE, ZERO;
    static {
        Arena a = Arena.global();
        ONE = a.allocate(JAVA_FLOAT);
        ONE.set(JAVA_FLOAT, 0, 1f);
        ZERO = a.allocate(JAVA_FLOAT);
        ZERO.set(JAVA_FLOAT, 0, 0f);
    }

    /** Null when libcudnn.so.9 loads and a handle can be created, else why not. */
    static String probe() {
        try {
            long v = (long) Api.GET_VERSION.invoke();
            if (v < 90000) return "libcudnn.so.9 reports version " + v + ", need 9.x";
            try (Cudnn c = new Cudnn(0)) { return null; }
        } catch (Throwable t) {
            return t.getClass().getSimpleName() + ": " + t.getMessage();
        }
    }

    public static long version() {
        try { return (long) Api.GET_VERSION.invoke(); } catch (Throwable t) { throw new CudaException("cudnnGetVersion", t); }
    }

    static String errorString(int status) {
        try {
            MemorySegment s = (MemorySegment) Api.GET_ERROR_STRING.invoke(status);
            return s.reinterpret(256).getString(0);
        } catch (Throwable t) { return "CUDNN_STATUS_" + status; }
    }

    /** Calls cuDNN function {@code name} (args: MemorySegment, Integer, Long, Double) and checks the status. */
    static void call(String name, MemoryLayout[] sig, Object... args) {
        int st;
        try { st = (int) Api.fn(name, sig).invokeWithArguments(args); }
        catch (CudaException e) { throw e; }
        catch (Throwable t) { throw new CudaException("cuDNN call " + name + " could not be made: " + t, t); }
        if (st != 0) throw CudaException.of("cuDNN", name, st, errorString(st));
    }

    private static MemoryLayout[] sig(MemoryLayout... l) { return l; }

    private static MemorySegment ptr(long address) { return MemorySegment.ofAddress(address); }

    // ------------------------------------------------------------------ handle

    private final Arena arena = Arena.ofShared();
    private final MemorySegment handle;
    private boolean strictFp32;
    private boolean deterministic;
    private final Map<String, ConvPlan> plans = new LinkedHashMap<>();
    // The system properties are applied by CudaBackend, not read here: a handle is also made to probe whether cuDNN
    // works, and a mistyped property must be refused as such, not taken for a missing cuDNN (and CUDA left for the CPU).
    private AlgoSearch algoSearch = AlgoSearch.FIND;

    /** A handle bound to {@code stream} (a CUstream address; 0 = the default stream). */
    public Cudnn(long stream) {
        MemorySegment out = arena.allocate(ADDRESS);
        call("cudnnCreate", sig(ADDRESS), out);
        handle = out.get(ADDRESS, 0);
        if (stream != 0) call("cudnnSetStream", sig(ADDRESS, ADDRESS), handle, ptr(stream));
    }

    /** Strict FP32 (parity tests) or TF32 tensor-core math (default, training speed); plans are cached per mode. */
    public synchronized void setStrictFp32(boolean strict) { strictFp32 = strict; }

    public boolean strictFp32() { return strictFp32; }

    /**
     * Only deterministic convolution algorithms (cuDNN's own report of each), or the fastest whatever they are
     * (default); plans are cached per setting, so switching back and forth reuses the choices made for each.
     */
    public synchronized void setDeterministic(boolean on) { deterministic = on; }

    public synchronized boolean deterministic() { return deterministic; }

    /** The system property {@code pulmo.cudnn.deterministic} ({@code true} or {@code false}), default false. */
    static boolean deterministicFromProperty() {
        String v = System.getProperty("pulmo.cudnn.deterministic", "false").trim().toLowerCase(java.util.Locale.ROOT);
        return switch (v) {
            case "true" -> true;
            case "false", "" -> false;
            default -> throw new IllegalArgumentException("system property pulmo.cudnn.deterministic must be true or false, got '" + v + "'");
        };
    }

    @Override public synchronized void close() {
        for (ConvPlan p : plans.values()) p.destroy();
        plans.clear();
        call("cudnnDestroy", sig(ADDRESS), handle);
        arena.close();
    }

    // ------------------------------------------------------------------ descriptors

    /** Calls a cudnnCreate*Descriptor function and returns the new descriptor. */
    static MemorySegment create(String fn) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(ADDRESS);
            call(fn, sig(ADDRESS), out);
            return out.get(ADDRESS, 0);
        }
    }

    /** A 4-d NCHW float tensor descriptor (the caller destroys it). */
    MemorySegment tensor4d(int n, int c, int h, int w) {
        MemorySegment d = create("cudnnCreateTensorDescriptor");
        call("cudnnSetTensor4dDescriptor", sig(ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT), d, TENSOR_NCHW, DATA_FLOAT, n, c, h, w);
        return d;
    }

    static void destroyTensor(MemorySegment d) { call("cudnnDestroyTensorDescriptor", sig(ADDRESS), d); }

    MemorySegment filter4d(int k, int c, int h, int w) {
        MemorySegment d = create("cudnnCreateFilterDescriptor");
        call("cudnnSetFilter4dDescriptor", sig(ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT), d, DATA_FLOAT, TENSOR_NCHW, k, c, h, w);
        return d;
    }

    // ------------------------------------------------------------------ convolution

    /** How convolution algorithms are chosen: measured by cuDNN's find (default) or taken from its heuristics. */
    public enum AlgoSearch {
        /** cudnnFindConvolution*AlgorithmEx: every applicable algorithm is run once on the real operands and timed. */
        FIND,
        /** cudnnGetConvolution*Algorithm_v7: cuDNN's heuristics rank the algorithms without running them. */
        HEURISTIC;

        /** The system property {@code pulmo.cudnn.algo} ({@code find} or {@code heuristic}), default find. */
        public static AlgoSearch fromProperty() {
            String v = System.getProperty("pulmo.cudnn.algo", "find").trim();
            return switch (v.toLowerCase(java.util.Locale.ROOT)) {
                case "find", "" -> FIND;
                case "heuristic", "heuristics" -> HEURISTIC;
                default -> throw new IllegalArgumentException("system property pulmo.cudnn.algo must be find or heuristic, got '" + v + "'");
            };
        }
    }

    /** The upper bound on the workspace a convolution algorithm may use: {@code pulmo.cudnn.workspaceMiB}, default 1024 MiB. */
    static long workspaceLimitBytes() {
        String v = System.getProperty("pulmo.cudnn.workspaceMiB", "1024").trim();
        try {
            long mib = Long.parseLong(v);
            if (mib < 0) throw new NumberFormatException();
            return mib << 20;
        } catch (NumberFormatException e) {
            throw new IllegalArgumentException("system property pulmo.cudnn.workspaceMiB must be a non-negative number of MiB, got '" + v + "'");
        }
    }

    /** The three passes of a convolution, with cudnn.h's algorithm names (enum order) for each. */
    public enum Direction {
        FORWARD("forward", "IMPLICIT_GEMM", "IMPLICIT_PRECOMP_GEMM", "GEMM", "DIRECT", "FFT", "FFT_TILING", "WINOGRAD", "WINOGRAD_NONFUSED"),
        BACKWARD_DATA("backward data", "ALGO_0", "ALGO_1", "FFT", "FFT_TILING", "WINOGRAD", "WINOGRAD_NONFUSED"),
        BACKWARD_FILTER("backward filter", "ALGO_0", "ALGO_1", "FFT", "ALGO_3", "WINOGRAD", "WINOGRAD_NONFUSED", "FFT_TILING");

        final String label;
        final String[] algoNames;

        Direction(String label, String... algoNames) { this.label = label; this.algoNames = algoNames; }

        /** CUDNN_CONVOLUTION_*_ALGO_COUNT: how many results to ask for. */
        int algoCount() { return algoNames.length; }

        public String algoName(int algo) { return algo >= 0 && algo < algoNames.length ? algoNames[algo] : "ALGO_" + algo; }
    }

    /** One row of cudnnConvolution{Fwd,BwdData,BwdFilter}AlgoPerf_t (the three structs share this layout). */
    record Perf(int algo, int status, float timeMs, long memory, int determinism, int mathType) {}

    /** The first {@code n} rows of a perf-result array as written by cuDNN. */
    static List<Perf> readPerf(MemorySegment perf, int n) {
        List<Perf> out = new ArrayList<>(n);
        for (int i = 0; i < n; i++) {
            MemorySegment r = perf.asSlice(i * PERF.byteSize(), PERF.byteSize());
            out.add(new Perf(r.get(JAVA_INT, 0), r.get(JAVA_INT, 4), r.get(JAVA_FLOAT, 8), r.get(JAVA_LONG, 16),
                r.get(JAVA_INT, 24), r.get(JAVA_INT, 28)));
        }
        return out;
    }

    static String mathName(int mathType) {
        return switch (mathType) {
            case DEFAULT_MATH -> "default math (TF32 allowed)";
            case TENSOR_OP_MATH -> "tensor-op math";
            case TENSOR_OP_MATH_ALLOW_CONVERSION -> "tensor-op math (conversion allowed)";
            case FMA_MATH -> "FMA math";
            default -> "math type " + mathType;
        };
    }

    /** Whether a cudnnMathType_t lets cuDNN use tensor cores (TF32 for float data). */
    static boolean tensorOpMath(int mathType) { return mathType == TENSOR_OP_MATH || mathType == TENSOR_OP_MATH_ALLOW_CONVERSION; }

    /** CUDNN_DETERMINISTIC, cudnnDeterminism_t's value for an algorithm that gives the same bits on every run. */
    static final int DETERMINISTIC = 1;

    /**
     * Whether a result may be used, workspace aside: it succeeded, and does not use tensor-op math in strict FP32, and
     * is deterministic when only deterministic algorithms are admitted.
     */
    static boolean admissible(Perf r, boolean strictFp32, boolean deterministic) {
        return r.status() == 0 && !(strictFp32 && tensorOpMath(r.mathType())) && !(deterministic && r.determinism() != DETERMINISTIC);
    }

    /**
     * The algorithm to use from cuDNN's results (both find and heuristics sort them best first): the first one
     * that is {@link #admissible} and fits in {@code workspaceLimit} bytes. Null when none qualifies.
     */
    static Perf choose(List<Perf> results, boolean strictFp32, boolean deterministic, long workspaceLimit) {
        for (Perf r : results)
            if (admissible(r, strictFp32, deterministic) && r.memory() <= workspaceLimit) return r;
        return null;
    }

    /** Gives out a device block of at least {@code bytes} (null for 0); the caller releases it. */
    @FunctionalInterface
    interface Workspaces { CudaStorage allocate(long bytes); }

    /** The algorithm chosen for one direction of one convolution shape, with its own convolution descriptor (math type as chosen). */
    public final class Choice {
        public final Direction direction;
        /** The algorithm (cudnn.h enum of its direction) and the cudnnMathType_t set on this choice's descriptor. */
        public final int algo, mathType;
        public final long workspaceBytes;
        /** cuDNN's measured time in ms (find), or -1 (heuristics do not measure). */
        public final float timeMs;
        /** "find", "heuristic", or "heuristic (find failed: ...)". */
        public final String how;
        final MemorySegment conv;
        /**
         * The candidates cuDNN's heuristics rank ahead of the first one within the workspace limit that were left out
         * for wanting more workspace than it ({@code pulmo.cudnn.workspaceMiB}; not timed by find), as "ALGO SIZE, ...",
         * or "": whether the limit may cost speed, in a log of the choices.
         */
        public String beyondLimit = "";

        Choice(Direction direction, Perf perf, int mathType, long workspaceBytes, MemorySegment conv, String how) {
            this.direction = direction;
            this.algo = perf.algo();
            this.mathType = mathType;
            this.workspaceBytes = workspaceBytes;
            this.timeMs = how.equals("find") ? perf.timeMs() : -1f;
            this.conv = conv;
            this.how = how;
        }

        @Override public String toString() {
            return direction.label + " " + direction.algoName(algo) + " (" + how + (timeMs >= 0 ? String.format(java.util.Locale.ROOT, ", %.3f ms", timeMs) : "")
                + ", workspace " + CudaAllocator.human(workspaceBytes) + ", " + mathName(mathType) + ")"
                + (beyondLimit.isEmpty() ? "" : "; ranked ahead but beyond the workspace limit: " + beyondLimit);
        }
    }

    /**
     * Descriptors of one convolution shape in one math mode, and the algorithm of each direction, chosen the
     * first time that direction runs (find needs the real operands, which only that call has) and kept.
     */
    final class ConvPlan {
        final String key;
        final MemorySegment x, w, y;
        final org.pulmo.backend.Conv2dParams params;
        final boolean strict, deterministic;
        final Choice[] choices = new Choice[3];

        ConvPlan(String key, int[] xs, int[] ws, int[] ys, org.pulmo.backend.Conv2dParams p, boolean strict, boolean deterministic) {
            this.key = key;
            this.params = p;
            this.strict = strict;
            this.deterministic = deterministic;
            x = tensor4d(xs[0], xs[1], xs[2], xs[3]);
            w = filter4d(ws[0], ws[1], ws[2], ws[3]);
            y = tensor4d(ys[0], ys[1], ys[2], ys[3]);
        }

        /** A convolution descriptor of this plan's geometry with {@code mathType}. */
        MemorySegment convDesc(int mathType) {
            MemorySegment conv = create("cudnnCreateConvolutionDescriptor");
            org.pulmo.backend.Conv2dParams p = params;
            call("cudnnSetConvolution2dDescriptor", sig(ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT),
                conv, p.padH(), p.padW(), p.strideH(), p.strideW(), p.dilationH(), p.dilationW(), CROSS_CORRELATION, DATA_FLOAT);
            call("cudnnSetConvolutionGroupCount", sig(ADDRESS, JAVA_INT), conv, p.groups());
            call("cudnnSetConvolutionMathType", sig(ADDRESS, JAVA_INT), conv, mathType);
            return conv;
        }

        void destroy() {
            destroyTensor(x);
            destroyTensor(y);
            call("cudnnDestroyFilterDescriptor", sig(ADDRESS), w);
            for (Choice c : choices) if (c != null) call("cudnnDestroyConvolutionDescriptor", sig(ADDRESS), c.conv);
        }
    }

    /** The plan of this shape in the current math mode (cached per shape and mode; algorithms chosen on first use). */
    synchronized ConvPlan plan(int[] xs, int[] ws, int[] ys, org.pulmo.backend.Conv2dParams p) {
        String key = "x " + java.util.Arrays.toString(xs) + " w " + java.util.Arrays.toString(ws) + " " + p + (strictFp32 ? " strict FP32" : " TF32")
            + (deterministic ? " deterministic" : "");
        boolean strict = strictFp32, det = deterministic;
        return plans.computeIfAbsent(key, k -> new ConvPlan(k, xs, ws, ys, p, strict, det));
    }

    /** How algorithms are chosen for plans made from now on (plans already made keep theirs). */
    public synchronized void setAlgoSearch(AlgoSearch search) { algoSearch = search; }

    public synchronized AlgoSearch algoSearch() { return algoSearch; }

    /** One line per cached plan and direction that has run: the shape, mode, algorithm, how it was chosen, workspace. */
    public synchronized List<String> describePlans() {
        List<String> out = new ArrayList<>();
        for (ConvPlan pl : plans.values())
            for (Choice c : pl.choices) if (c != null) out.add(pl.key + ": " + c);
        return out;
    }

    private java.util.function.BooleanSupplier recording = () -> false;

    /**
     * While {@code recording} says so (a CUDA graph is being captured) no algorithm is chosen: finding one runs and times
     * the candidates, which waits for the stream and would break the capture (and leave the fallback heuristic choice
     * cached for good); the first call of a shape and direction then fails, naming it, and the capture with it.
     */
    void refuseChoicesWhile(java.util.function.BooleanSupplier recording) { this.recording = recording; }

    /** The choice of {@code d} for {@code pl}, made now (find on the given operands, else heuristics) when it is the first call. */
    private synchronized Choice choice(ConvPlan pl, Direction d, long a, long b, long out, Workspaces workspaces) {
        Choice c = pl.choices[d.ordinal()];
        if (c == null && recording.getAsBoolean())
            throw new IllegalStateException("cuDNN: the convolution " + pl.key + " (" + d + ") is first met while a step is being recorded as a"
                + " CUDA graph; its algorithm is chosen in an ordinary step (run one with the same shapes first)");
        if (c == null) c = pl.choices[d.ordinal()] = choose(pl, d, a, b, out, workspaces);
        return c;
    }

    /**
     * Heuristics first (cheap; they also say how much workspace each candidate wants); then, in find mode,
     * cuDNN runs and times the candidates on the real operands with a workspace from the allocator as large
     * as the largest qualifying candidate needs (at most the limit). A find that fails in any way (a status,
     * no workspace memory, no qualifying result) falls back to the heuristic choice and says so.
     */
    private Choice choose(ConvPlan pl, Direction d, long a, long b, long out, Workspaces workspaces) {
        long limit = workspaceLimitBytes();
        int requestMath = pl.strict ? FMA_MATH : DEFAULT_MATH;
        MemorySegment probe = pl.convDesc(requestMath);
        List<Perf> heuristic;
        try (Arena tmp = Arena.ofConfined()) {
            MemorySegment perf = tmp.allocate(PERF, d.algoCount()), count = tmp.allocate(JAVA_INT);
            String fn = switch (d) {
                case FORWARD -> "cudnnGetConvolutionForwardAlgorithm_v7";
                case BACKWARD_DATA -> "cudnnGetConvolutionBackwardDataAlgorithm_v7";
                case BACKWARD_FILTER -> "cudnnGetConvolutionBackwardFilterAlgorithm_v7";
            };
            MemorySegment[] descs = descriptorsInCallOrder(pl, d, probe);
            call(fn, sig(ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS),
                handle, descs[0], descs[1], descs[2], descs[3], d.algoCount(), count, perf);
            heuristic = readPerf(perf, count.get(JAVA_INT, 0));
        }
        Perf best = null;
        String how = "heuristic";
        if (algoSearch == AlgoSearch.FIND) {
            try {
                best = find(pl, d, probe, heuristic, limit, a, b, out, workspaces);
                how = "find";
                if (best == null) how = "heuristic (find returned no usable algorithm)";
            } catch (RuntimeException e) {
                how = "heuristic (find failed: " + e.getMessage() + ")";
            }
            if (best == null) LOG.warning("cuDNN " + d.label + " algorithm for " + pl.key + ": " + how);
        }
        if (best == null) best = choose(heuristic, pl.strict, pl.deterministic, limit);
        if (best == null) {
            call("cudnnDestroyConvolutionDescriptor", sig(ADDRESS), probe);
            throw new CudaException("cuDNN offers no usable convolution " + d.label + " algorithm for " + pl.key
                + (pl.strict ? " without tensor-op math" : "") + (pl.deterministic ? " that is deterministic" : "") + " within a workspace of "
                + CudaAllocator.human(limit) + "; heuristics returned " + heuristic);
        }
        call("cudnnDestroyConvolutionDescriptor", sig(ADDRESS), probe);
        // Strict FP32 runs with CUDNN_FMA_MATH whatever the result reports (CUDNN_DEFAULT_MATH would permit TF32 on Ampere+).
        int math = pl.strict ? FMA_MATH : best.mathType();
        MemorySegment conv = pl.convDesc(math);
        long ws = workspaceSize(pl, d, conv, best.algo());
        Choice choice = new Choice(d, best, math, ws, conv, how);
        choice.beyondLimit = beyondLimit(heuristic, limit, pl.strict, pl.deterministic, d);
        return choice;
    }

    /**
     * The candidates, in the heuristics' ranking, ahead of the first that {@link #choose} would take within the limit,
     * that would run but want more workspace than the limit (name and workspace); "" when none.
     */
    static String beyondLimit(List<Perf> ranked, long limit, boolean strictFp32, boolean deterministic, Direction d) {
        StringBuilder sb = new StringBuilder();
        for (Perf r : ranked) {
            if (!admissible(r, strictFp32, deterministic)) continue;
            if (r.memory() <= limit) break;   // the first that fits: what is ranked after it could not have been preferred
            sb.append(sb.isEmpty() ? "" : ", ").append(d.algoName(r.algo())).append(' ').append(CudaAllocator.human(r.memory()));
        }
        return sb.toString();
    }

    /** The descriptors in the order the heuristic, find and workspace-size calls of {@code d} take them. */
    private static MemorySegment[] descriptorsInCallOrder(ConvPlan pl, Direction d, MemorySegment conv) {
        return switch (d) {
            case FORWARD -> new MemorySegment[] {pl.x, pl.w, conv, pl.y};
            case BACKWARD_DATA -> new MemorySegment[] {pl.w, pl.y, conv, pl.x};
            case BACKWARD_FILTER -> new MemorySegment[] {pl.x, pl.y, conv, pl.w};
        };
    }

    private Perf find(ConvPlan pl, Direction d, MemorySegment conv, List<Perf> heuristic, long limit, long a, long b, long out,
                      Workspaces workspaces) {
        // As much workspace as the most demanding candidate wants (by the heuristics' report and by asking), within the limit.
        long wsBytes = 0;
        for (Perf h : heuristic) {
            if (!admissible(h, pl.strict, pl.deterministic)) continue;
            long need = h.memory();
            try { need = Math.max(need, workspaceSize(pl, d, conv, h.algo())); }
            catch (CudaException e) { continue; } // not supported for this shape: find will say so too
            if (need <= limit) wsBytes = Math.max(wsBytes, need);
        }
        CudaStorage ws = workspaces.allocate(wsBytes);
        try (Arena tmp = Arena.ofConfined()) {
            MemorySegment perf = tmp.allocate(PERF, d.algoCount()), count = tmp.allocate(JAVA_INT);
            long wsAddr = ws == null ? 0L : ws.address();
            MemoryLayout[] s = sig(ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS, ADDRESS, JAVA_LONG);
            switch (d) {
                case FORWARD -> call("cudnnFindConvolutionForwardAlgorithmEx", s,
                    handle, pl.x, ptr(a), pl.w, ptr(b), conv, pl.y, ptr(out), d.algoCount(), count, perf, ptr(wsAddr), wsBytes);
                case BACKWARD_DATA -> call("cudnnFindConvolutionBackwardDataAlgorithmEx", s,
                    handle, pl.w, ptr(a), pl.y, ptr(b), conv, pl.x, ptr(out), d.algoCount(), count, perf, ptr(wsAddr), wsBytes);
                case BACKWARD_FILTER -> call("cudnnFindConvolutionBackwardFilterAlgorithmEx", s,
                    handle, pl.x, ptr(a), pl.y, ptr(b), conv, pl.w, ptr(out), d.algoCount(), count, perf, ptr(wsAddr), wsBytes);
            }
            return choose(readPerf(perf, count.get(JAVA_INT, 0)), pl.strict, pl.deterministic, wsBytes);
        } finally {
            // Not cached: each search's workspace is sized for its shape's most demanding candidate (up to the 1 GiB
            // limit), so later requests never match it and, cached, these blocks piled up (54.7 GiB held after
            // DPN-92-SE's first epoch on an H200).
            if (ws != null) ws.releaseToDriver();
        }
    }

    private long workspaceSize(ConvPlan pl, Direction d, MemorySegment conv, int algo) {
        String fn = switch (d) {
            case FORWARD -> "cudnnGetConvolutionForwardWorkspaceSize";
            case BACKWARD_DATA -> "cudnnGetConvolutionBackwardDataWorkspaceSize";
            case BACKWARD_FILTER -> "cudnnGetConvolutionBackwardFilterWorkspaceSize";
        };
        MemorySegment[] descs = descriptorsInCallOrder(pl, d, conv);
        try (Arena tmp = Arena.ofConfined()) {
            MemorySegment size = tmp.allocate(JAVA_LONG);
            call(fn, sig(ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_INT, ADDRESS), handle, descs[0], descs[1], descs[2], descs[3], algo, size);
            return size.get(JAVA_LONG, 0);
        }
    }

    /** y = conv(x, w), the algorithm chosen on first use of this plan; workspace from {@code workspaces}. */
    void convForward(ConvPlan pl, long x, long w, long y, Workspaces workspaces) {
        convolve("cudnnConvolutionForward", pl, Direction.FORWARD, pl.x, x, pl.w, w, pl.y, y, workspaces);
    }

    void convBackwardData(ConvPlan pl, long w, long dy, long dx, Workspaces workspaces) {
        convolve("cudnnConvolutionBackwardData", pl, Direction.BACKWARD_DATA, pl.w, w, pl.y, dy, pl.x, dx, workspaces);
    }

    void convBackwardFilter(ConvPlan pl, long x, long dy, long dw, Workspaces workspaces) {
        convolve("cudnnConvolutionBackwardFilter", pl, Direction.BACKWARD_FILTER, pl.x, x, pl.y, dy, pl.w, dw, workspaces);
    }

    /**
     * One of the three convolution calls, which share a signature: (handle, 1, aDesc, a, bDesc, b, conv, algo,
     * workspace, bytes, 0, outDesc, out). The direction's algorithm is chosen on first use; the workspace is held
     * only for the call.
     */
    private void convolve(String fn, ConvPlan pl, Direction d, MemorySegment aDesc, long a, MemorySegment bDesc, long b,
                          MemorySegment outDesc, long out, Workspaces workspaces) {
        Choice c = choice(pl, d, a, b, out, workspaces);
        CudaStorage ws = workspaces.allocate(c.workspaceBytes);
        try {
            call(fn, sig(ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, JAVA_LONG, ADDRESS, ADDRESS, ADDRESS),
                handle, ONE, aDesc, ptr(a), bDesc, ptr(b), c.conv, c.algo, ptr(addr(ws)), c.workspaceBytes, ZERO, outDesc, ptr(out));
        } finally { if (ws != null) ws.release(); }
    }

    private static long addr(CudaStorage s) { return s == null ? 0L : s.address(); }

    // ------------------------------------------------------------------ batch normalisation (spatial, [N, C, H, W])

    /** Training forward: y, and (saved for backward) the batch mean and inverse std; running stats updated. */
    public void batchNormTraining(int[] s, long x, long y, long scale, long bias, double momentum, long runningMean,
                                  long runningVar, double eps, long saveMean, long saveInvStd) {
        MemorySegment xd = tensor4d(s[0], s[1], s[2], s[3]), bn = tensor4d(1, s[1], 1, 1);
        try {
            call("cudnnBatchNormalizationForwardTraining", sig(ADDRESS, JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS,
                    ADDRESS, ADDRESS, JAVA_DOUBLE, ADDRESS, ADDRESS, JAVA_DOUBLE, ADDRESS, ADDRESS),
                handle, BATCHNORM_SPATIAL, ONE, ZERO, xd, ptr(x), xd, ptr(y), bn, ptr(scale), ptr(bias), momentum,
                ptr(runningMean), ptr(runningVar), eps, ptr(saveMean), ptr(saveInvStd));
        } finally { destroyTensor(xd); destroyTensor(bn); }
    }

    public void batchNormInference(int[] s, long x, long y, long scale, long bias, long mean, long var, double eps) {
        MemorySegment xd = tensor4d(s[0], s[1], s[2], s[3]), bn = tensor4d(1, s[1], 1, 1);
        try {
            call("cudnnBatchNormalizationForwardInference", sig(ADDRESS, JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS,
                    ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_DOUBLE),
                handle, BATCHNORM_SPATIAL, ONE, ZERO, xd, ptr(x), xd, ptr(y), bn, ptr(scale), ptr(bias), ptr(mean), ptr(var), eps);
        } finally { destroyTensor(xd); destroyTensor(bn); }
    }

    public void batchNormBackward(int[] s, long x, long dy, long dx, long scale, long dScale, long dBias, double eps,
                                  long saveMean, long saveInvStd) {
        MemorySegment xd = tensor4d(s[0], s[1], s[2], s[3]), bn = tensor4d(1, s[1], 1, 1);
        try {
            call("cudnnBatchNormalizationBackward", sig(ADDRESS, JAVA_INT, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS,
                    ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_DOUBLE, ADDRESS, ADDRESS),
                handle, BATCHNORM_SPATIAL, ONE, ZERO, ONE, ZERO, xd, ptr(x), xd, ptr(dy), xd, ptr(dx), bn, ptr(scale),
                ptr(dScale), ptr(dBias), eps, ptr(saveMean), ptr(saveInvStd));
        } finally { destroyTensor(xd); destroyTensor(bn); }
    }

    // ------------------------------------------------------------------ pooling

    private MemorySegment poolDesc(int mode, int kH, int kW, int pH, int pW, int sH, int sW) {
        MemorySegment d = create("cudnnCreatePoolingDescriptor");
        call("cudnnSetPooling2dDescriptor", sig(ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT),
            d, mode, PROPAGATE_NAN, kH, kW, pH, pW, sH, sW);
        return d;
    }

    /** Pooling forward (mode POOLING_*); xs and ys are NCHW shapes. */
    public void poolForward(int mode, org.pulmo.backend.Pool2dParams p, int[] xs, int[] ys, long x, long y) {
        MemorySegment pd = poolDesc(mode, p.kH(), p.kW(), p.padH(), p.padW(), p.strideH(), p.strideW());
        MemorySegment xd = tensor4d(xs[0], xs[1], xs[2], xs[3]), yd = tensor4d(ys[0], ys[1], ys[2], ys[3]);
        try {
            call("cudnnPoolingForward", sig(ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS),
                handle, pd, ONE, xd, ptr(x), ZERO, yd, ptr(y));
        } finally {
            destroyTensor(xd); destroyTensor(yd);
            call("cudnnDestroyPoolingDescriptor", sig(ADDRESS), pd);
        }
    }

    public void poolBackward(int mode, org.pulmo.backend.Pool2dParams p, int[] xs, int[] ys, long y, long dy, long x, long dx) {
        MemorySegment pd = poolDesc(mode, p.kH(), p.kW(), p.padH(), p.padW(), p.strideH(), p.strideW());
        MemorySegment xd = tensor4d(xs[0], xs[1], xs[2], xs[3]), yd = tensor4d(ys[0], ys[1], ys[2], ys[3]);
        try {
            call("cudnnPoolingBackward", sig(ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS),
                handle, pd, ONE, yd, ptr(y), yd, ptr(dy), xd, ptr(x), ZERO, xd, ptr(dx));
        } finally {
            destroyTensor(xd); destroyTensor(yd);
            call("cudnnDestroyPoolingDescriptor", sig(ADDRESS), pd);
        }
    }
}
