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
import java.util.HashMap;
import java.util.Map;

/**
 * A small binding of cuDNN 9 on Java's Foreign Function &amp; Memory API: only the functions Pulmo calls
 * (handle and stream, tensor/filter/convolution/pooling/activation descriptors, convolution forward and
 * both backwards with heuristically chosen and cached algorithms, batch-norm training/inference/backward,
 * pooling and activation forward/backward). JCudnn's Java classes stop at cuDNN 8, hence this.
 *
 * <p>Every call's status is checked; a failure throws {@link CudaException} naming the call and
 * cudnnGetErrorString's text. Device pointers are raw addresses of allocator blocks. All data is NCHW
 * float32; {@link #setStrictFp32} picks CUDNN_FMA_MATH (no TF32 tensor cores) or CUDNN_DEFAULT_MATH (TF32
 * allowed on Ampere and newer).
 */
public final class Cudnn implements AutoCloseable {
    // cudnn.h constants (cuDNN 9)
    static final int DATA_FLOAT = 0, TENSOR_NCHW = 0, CROSS_CORRELATION = 1;
    static final int DEFAULT_MATH = 0, FMA_MATH = 3;
    static final int BATCHNORM_SPATIAL = 1;
    static final int POOLING_MAX = 0, POOLING_AVG_INCLUDE_PAD = 1, POOLING_AVG_EXCLUDE_PAD = 2, PROPAGATE_NAN = 1;
    static final int ACTIVATION_SIGMOID = 0, ACTIVATION_RELU = 1, ACTIVATION_TANH = 2;
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
    private final Map<String, ConvPlan> plans = new HashMap<>();

    /** A handle bound to {@code stream} (a CUstream address; 0 = the default stream). */
    public Cudnn(long stream) {
        MemorySegment out = arena.allocate(ADDRESS);
        call("cudnnCreate", sig(ADDRESS), out);
        handle = out.get(ADDRESS, 0);
        if (stream != 0) call("cudnnSetStream", sig(ADDRESS, ADDRESS), handle, ptr(stream));
    }

    /** Strict FP32 (parity tests) or TF32 tensor-core math (default, training speed). Clears the plan cache. */
    public synchronized void setStrictFp32(boolean strict) {
        if (strict != strictFp32) { strictFp32 = strict; for (ConvPlan p : plans.values()) p.destroy(); plans.clear(); }
    }

    public boolean strictFp32() { return strictFp32; }

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

    /** Descriptors and algorithms of one convolution shape, chosen once by cuDNN's heuristics and cached. */
    final class ConvPlan {
        final MemorySegment x, w, y, conv;
        final int fwdAlgo, bwdDataAlgo, bwdFilterAlgo;
        final long fwdWs, bwdDataWs, bwdFilterWs;

        ConvPlan(int[] xs, int[] ws, int[] ys, org.pulmo.backend.Conv2dParams p) {
            x = tensor4d(xs[0], xs[1], xs[2], xs[3]);
            w = filter4d(ws[0], ws[1], ws[2], ws[3]);
            y = tensor4d(ys[0], ys[1], ys[2], ys[3]);
            conv = create("cudnnCreateConvolutionDescriptor");
            call("cudnnSetConvolution2dDescriptor", sig(ADDRESS, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT),
                conv, p.padH(), p.padW(), p.strideH(), p.strideW(), p.dilationH(), p.dilationW(), CROSS_CORRELATION, DATA_FLOAT);
            call("cudnnSetConvolutionGroupCount", sig(ADDRESS, JAVA_INT), conv, p.groups());
            call("cudnnSetConvolutionMathType", sig(ADDRESS, JAVA_INT), conv, strictFp32 ? FMA_MATH : DEFAULT_MATH);
            MemorySegment perf = arena.allocate(PERF, 8), count = arena.allocate(JAVA_INT), ws1 = arena.allocate(JAVA_LONG);
            call("cudnnGetConvolutionForwardAlgorithm_v7", sig(ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS),
                handle, x, w, conv, y, 8, count, perf);
            fwdAlgo = pick(perf, count.get(JAVA_INT, 0), "forward");
            call("cudnnGetConvolutionForwardWorkspaceSize", sig(ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_INT, ADDRESS),
                handle, x, w, conv, y, fwdAlgo, ws1);
            fwdWs = ws1.get(JAVA_LONG, 0);
            call("cudnnGetConvolutionBackwardDataAlgorithm_v7", sig(ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS),
                handle, w, y, conv, x, 8, count, perf);
            bwdDataAlgo = pick(perf, count.get(JAVA_INT, 0), "backward data");
            call("cudnnGetConvolutionBackwardDataWorkspaceSize", sig(ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_INT, ADDRESS),
                handle, w, y, conv, x, bwdDataAlgo, ws1);
            bwdDataWs = ws1.get(JAVA_LONG, 0);
            call("cudnnGetConvolutionBackwardFilterAlgorithm_v7", sig(ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, ADDRESS),
                handle, x, y, conv, w, 8, count, perf);
            bwdFilterAlgo = pick(perf, count.get(JAVA_INT, 0), "backward filter");
            call("cudnnGetConvolutionBackwardFilterWorkspaceSize", sig(ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_INT, ADDRESS),
                handle, x, y, conv, w, bwdFilterAlgo, ws1);
            bwdFilterWs = ws1.get(JAVA_LONG, 0);
        }

        /** The first algorithm (heuristics sort by expected speed) whose status is success. */
        private int pick(MemorySegment perf, int n, String what) {
            for (int i = 0; i < n; i++) {
                MemorySegment r = perf.asSlice(i * PERF.byteSize(), PERF.byteSize());
                if (r.get(JAVA_INT, 4) == 0) return r.get(JAVA_INT, 0);
            }
            throw new CudaException("cuDNN found no usable convolution " + what + " algorithm");
        }

        void destroy() {
            destroyTensor(x);
            destroyTensor(y);
            call("cudnnDestroyFilterDescriptor", sig(ADDRESS), w);
            call("cudnnDestroyConvolutionDescriptor", sig(ADDRESS), conv);
        }
    }

    synchronized ConvPlan plan(int[] xs, int[] ws, int[] ys, org.pulmo.backend.Conv2dParams p) {
        String key = java.util.Arrays.toString(xs) + java.util.Arrays.toString(ws) + p;
        return plans.computeIfAbsent(key, k -> new ConvPlan(xs, ws, ys, p));
    }

    /** y = conv(x, w); workspace: a device block of at least plan.fwdWs bytes (0 when none is needed). */
    void convForward(ConvPlan pl, long x, long w, long workspace, long y) {
        call("cudnnConvolutionForward", sig(ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, JAVA_LONG, ADDRESS, ADDRESS, ADDRESS),
            handle, ONE, pl.x, ptr(x), pl.w, ptr(w), pl.conv, pl.fwdAlgo, ptr(workspace), pl.fwdWs, ZERO, pl.y, ptr(y));
    }

    void convBackwardData(ConvPlan pl, long w, long dy, long workspace, long dx) {
        call("cudnnConvolutionBackwardData", sig(ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, JAVA_LONG, ADDRESS, ADDRESS, ADDRESS),
            handle, ONE, pl.w, ptr(w), pl.y, ptr(dy), pl.conv, pl.bwdDataAlgo, ptr(workspace), pl.bwdDataWs, ZERO, pl.x, ptr(dx));
    }

    void convBackwardFilter(ConvPlan pl, long x, long dy, long workspace, long dw) {
        call("cudnnConvolutionBackwardFilter", sig(ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, JAVA_INT, ADDRESS, JAVA_LONG, ADDRESS, ADDRESS, ADDRESS),
            handle, ONE, pl.x, ptr(x), pl.y, ptr(dy), pl.conv, pl.bwdFilterAlgo, ptr(workspace), pl.bwdFilterWs, ZERO, pl.w, ptr(dw));
    }

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

    // ------------------------------------------------------------------ pooling and activation

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

    private MemorySegment activationDesc(int mode) {
        MemorySegment d = create("cudnnCreateActivationDescriptor");
        call("cudnnSetActivationDescriptor", sig(ADDRESS, JAVA_INT, JAVA_INT, JAVA_DOUBLE), d, mode, PROPAGATE_NAN, 0.0);
        return d;
    }

    /** y = act(x) over n floats (viewed as [1, 1, 1, n]). */
    public void activationForward(int mode, long n, long x, long y) {
        MemorySegment ad = activationDesc(mode), td = tensor4d(1, 1, 1, Math.toIntExact(n));
        try {
            call("cudnnActivationForward", sig(ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS),
                handle, ad, ONE, td, ptr(x), ZERO, td, ptr(y));
        } finally { destroyTensor(td); call("cudnnDestroyActivationDescriptor", sig(ADDRESS), ad); }
    }

    public void activationBackward(int mode, long n, long y, long dy, long x, long dx) {
        MemorySegment ad = activationDesc(mode), td = tensor4d(1, 1, 1, Math.toIntExact(n));
        try {
            call("cudnnActivationBackward", sig(ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS, ADDRESS),
                handle, ad, ONE, td, ptr(y), td, ptr(dy), td, ptr(x), ZERO, td, ptr(dx));
        } finally { destroyTensor(td); call("cudnnDestroyActivationDescriptor", sig(ADDRESS), ad); }
    }
}
