package org.pulmo.cuda;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import jcuda.driver.CUdeviceptr;
import org.pulmo.backend.Backend;
import org.pulmo.backend.BinaryOp;
import org.pulmo.backend.Conv2dParams;
import org.pulmo.backend.Pool2dParams;
import org.pulmo.backend.ReduceOp;
import org.pulmo.backend.UnaryOp;
import org.pulmo.tensor.Device;
import org.pulmo.tensor.Shapes;
import org.pulmo.tensor.Tensor;

/**
 * The CUDA backend of device 0: cuDNN for convolutions (algorithms found once per shape and cached), batch
 * norm (training, inference, backward) and pooling, cuBLAS (or the sgemm kernel) for matmul, the
 * hand-written kernels of src/main/cuda for everything else, all on the runtime's one stream. Nothing here
 * synchronises the host except reads ({@link #toArray}) and uploads.
 *
 * <p>The papers' fused ops of {@link Backend} (mutex attention, channel scale, FAB fusion, softmax
 * cross-entropy, cosine similarity) and {@link #sgdUpdate} run hand-written kernels. Beyond Backend, the MAB
 * versions ({@link #mabForward}) and the SE and FAB squeezes are public methods here; {@link FusedSgd}
 * updates all parameters in one launch. {@link #setStrictFp32} switches cuDNN and cuBLAS between TF32 (default) and strict FP32.
 */
public final class CudaBackend implements Backend {
    private final Device device;
    private final CudaRuntime rt;
    private final Cudnn cudnn;
    private final String cudnnMissing;
    private final Gemm gemm;
    private final MabKernels mab;
    private final SeFabKernels seFab;
    private boolean strictFp32;

    public CudaBackend(Device device) {
        if (device.index() != 0) throw new IllegalArgumentException("only cuda:0 is supported, got " + device + " (CUDA_VISIBLE_DEVICES chooses which GPU is cuda:0)");
        // the system properties first: a bad value is refused naming the property, before any device work
        Cudnn.AlgoSearch search = Cudnn.AlgoSearch.fromProperty();
        boolean deterministic = Cudnn.deterministicFromProperty();
        this.device = device;
        this.rt = CudaRuntime.get();
        rt.makeCurrent();
        // Without cuDNN (allowed only by CudaRuntime.WITHOUT_CUDNN_ALLOWED, for kernel tests) batch norm runs on the
        // hand-written kernels and convolution and pooling refuse with the reason.
        this.cudnnMissing = CudaRuntime.cudnnReason();
        this.cudnn = cudnnMissing == null ? new Cudnn(CudaRuntime.address(rt.stream())) : null;
        if (cudnn != null) {
            cudnn.refuseChoicesWhile(rt::capturing);
            cudnn.setAlgoSearch(search);
            cudnn.setDeterministic(deterministic);
        }
        this.gemm = new Gemm(rt, false);
        this.mab = new MabKernels(this);
        this.seFab = new SeFabKernels(this);
        if (STRICT_FP32_BY_DEFAULT) setStrictFp32(true);
    }

    /** {@code -Dpulmo.cuda.strictFp32=true}: start in strict FP32 instead of TF32 (benchmark and profile runs). */
    static final boolean STRICT_FP32_BY_DEFAULT = Boolean.getBoolean("pulmo.cuda.strictFp32");

    public CudaRuntime runtime() { return rt; }

    public Gemm gemm() { return gemm; }

    /** cuDNN, with the context current on this thread; throws naming the reason when it could not be loaded. */
    public Cudnn cudnn() {
        if (cudnn == null)
            throw new CudaException("cuDNN is not loaded (" + cudnnMissing + "): convolution and pooling on cuda need libcudnn.so.9 on the library path");
        rt.makeCurrent();
        return cudnn;
    }

    /** Whether cuDNN is loaded (it always is unless -Dpulmo.cuda.allowWithoutCudnn=true let the backend start without it). */
    public boolean hasCudnn() { return cudnn != null; }

    /** Strict FP32 (parity tests) or TF32 tensor-core math in cuDNN and cuBLAS (the default). */
    @Override public void setStrictFp32(boolean strict) {
        strictFp32 = strict;
        if (cudnn != null) cudnn.setStrictFp32(strict);
        gemm.setStrictFp32(strict);
    }

    @Override public boolean strictFp32() { return strictFp32; }

    /**
     * cuDNN's deterministic convolution algorithms only ({@link Cudnn#setDeterministic}). cuBLAS gives the same bits on one
     * GPU model run after run, and so do the kernels here on the training path; two add with atomics and are not:
     * maxpool_backward (the argmax form, where pooling windows overlap; training pools through cuDNN in its deterministic
     * mode instead) and scatter_add_dim (where an index repeats).
     */
    @Override public void setDeterministic(boolean on) { if (cudnn != null) cudnn.setDeterministic(on); }

    @Override public boolean deterministic() { return cudnn == null || cudnn.deterministic(); }

    public CudaAllocator.Stats memoryStats() { return rt.allocator().stats(); }

    /** Gives the allocator's cached blocks back to the driver, and the optimiser's cached parameter tables first. */
    public void emptyCache() {
        sgdTables.close();
        rt.allocator().emptyCache();
    }

    @Override public MemoryUse memoryUse() {
        CudaAllocator.Stats st = memoryStats();
        return new MemoryUse(st.inUseBytes(), st.peakInUseBytes(), st.reservedBytes());
    }

    @Override public void resetPeakMemory() { rt.allocator().resetPeak(); }

    // ------------------------------------------------------------------ helpers

    @Override public Device device() { return device; }

    @Override public void synchronize() { rt.synchronize(); }

    @Override public String captureUnsupported() { return CudaGraph.unavailableReason(); }

    @Override public CudaGraph capture(Runnable work) { return CudaGraph.capture(rt, work); }

    @Override public boolean capturing() { return rt.capturing(); }

    @Override public CudaStorage allocate(long numel) {
        CudaStorage s = raw(numel);
        rt.memsetZero(s.pointer(), numel);
        return s;
    }

    /** Uninitialised, for a caller that writes every element (a concatenation's output): no zero fill. */
    @Override public CudaStorage allocateForOverwrite(long numel) { return raw(numel); }

    /** Uninitialised storage (every kernel that uses this writes all of it); every tensor's storage comes from here. */
    CudaStorage raw(long numel) {
        rt.countTensorBytes(numel * Float.BYTES);
        return new CudaStorage(numel, device, rt.allocator());
    }

    @Override public long allocatedBytes() { return rt.tensorBytes(); }

    /**
     * Threads of a kernel that gives one block to each row (a plane, a reduced line) of n values: reduce_rows,
     * arg_reduce_rows, se_squeeze, se_scale_backward, fab_squeeze, fab_fuse_backward. The row rounded up to whole warps,
     * at most 256: a 7x7 plane (DPN-92's and MA-Net's last stage) gets 64 threads instead of 256 of which 49 had work, so
     * an SM holds 32 such blocks instead of 8 (four times the loads in flight), and barriers span 2 warps instead of 8.
     */
    static int rowThreads(long n) {
        return (int) Math.min(256, Math.max(32, (n + 31) / 32 * 32));
    }

    /** Uninitialised storage that no MemoryScope takes over: the caller releases it (workspaces, FusedSgd's state). */
    CudaStorage rawUnscoped(long numel) { return new CudaStorage(numel, device, rt.allocator(), false); }

    Tensor empty(int... shape) { return Tensor.wrap(raw(Math.max(1, Shapes.numel(shape))), shape); }

    static CudaStorage storage(Tensor t) {
        if (!(t.storage() instanceof CudaStorage s)) throw new IllegalArgumentException("CUDA backend given a tensor on " + t.device());
        return s;
    }

    /** Device address of the tensor's first element. */
    static CUdeviceptr ptr(Tensor t) { return CudaRuntime.offset(storage(t).pointer(), t.offset()); }

    static long addr(Tensor t) { return CudaRuntime.address(ptr(t)); }

    /** The tensor itself when dense row-major, else a contiguous copy. */
    Tensor dense(Tensor t) {
        if (t.isContiguous()) return t;
        Tensor out = empty(t.shape());
        copy(t, out);
        return out;
    }

    /**
     * {@link #dense}, and at an address that is a multiple of 16 bytes, for cuDNN's convolutions: a plan (algorithm)
     * is chosen once per shape and reused, and one chosen on aligned operands (every allocation is) may need the alignment
     * (cuDNN 9 has CUDNN_STATUS_BAD_PARAM_MISALIGNED_POINTER), which a contiguous view starting inside a block (a channel
     * slice of a one-image batch) lacks. Such a view is copied; the copy is rare and costs one pass over the operand.
     */
    Tensor aligned(Tensor t) {
        Tensor d = dense(t);
        if ((addr(d) & 15) == 0 || d.numel() == 0) return d;
        Tensor out = empty(t.shape());
        copy(d, out);
        return out;
    }

    // ------------------------------------------------------------------ memory

    @Override public Tensor fromArray(float[] data, int[] shape) {
        Tensor t = empty(shape);
        if (data.length > 0) rt.copyToDevice(data, ptr(t), data.length);
        return t;
    }

    @Override public float[] toArray(Tensor t) {
        Tensor d = dense(t);
        float[] out = new float[org.pulmo.tensor.Shapes.arrayLength(t.numel(), () -> "the host copy of a cuda tensor of shape " + org.pulmo.tensor.Shapes.str(t.shape()))];
        if (out.length > 0) rt.copyToHost(ptr(d), out, out.length);
        return out;
    }

    @Override public void copy(Tensor src, Tensor dst) {
        long n = dst.numel();
        if (n == 0) return;
        if (src.isContiguous() && dst.isContiguous() && Arrays.equals(src.shape(), dst.shape())) {
            rt.launchElements("ew_copy_contiguous", n, n, ptr(src), ptr(dst));
            return;
        }
        int[] L = StridedArgs.of(dst.shape(), src, dst);
        rt.launchElements("ew_copy", n, n, L, storage(src).pointer(), storage(dst).pointer());
    }

    @Override public void fill(Tensor dst, float value) {
        long n = dst.numel();
        if (n == 0) return;
        rt.launchElements("ew_fill", n, n, StridedArgs.of(dst.shape(), dst), value, storage(dst).pointer());
    }

    @Override public void addInPlace(Tensor dst, Tensor src, float alpha) {
        long n = dst.numel();
        if (n == 0) return;
        rt.launchElements("ew_axpy", n, n, StridedArgs.of(dst.shape(), dst, src), alpha, storage(dst).pointer(), storage(src).pointer());
    }

    @Override public void addScalarInPlace(Tensor dst, float value) {
        long n = dst.numel();
        if (n == 0) return;
        rt.launchElements("ew_add_scalar", n, n, StridedArgs.of(dst.shape(), dst), value, storage(dst).pointer());
    }

    // ------------------------------------------------------------------ elementwise

    @Override public Tensor unary(UnaryOp op, Tensor x, float alpha) {
        Tensor y = empty(x.shape());
        long n = y.numel();
        if (n > 0) rt.launchElements("ew_unary", n, op.ordinal(), alpha, n, StridedArgs.of(x.shape(), x, y), storage(x).pointer(), storage(y).pointer());
        return y;
    }

    @Override public Tensor binary(BinaryOp op, Tensor a, Tensor b) {
        int[] shape = Shapes.broadcast(a.shape(), b.shape(), "binary " + op);
        Tensor y = empty(shape);
        long n = y.numel();
        if (n > 0) rt.launchElements("ew_binary", n, op.ordinal(), n, StridedArgs.of(shape, a, b, y),
            storage(a).pointer(), storage(b).pointer(), storage(y).pointer());
        return y;
    }

    /** A residual sum and its ReLU in one kernel (ew_add_relu): one output instead of the sum and then its ReLU. */
    @Override public Tensor addRelu(Tensor a, Tensor b) {
        if (!Arrays.equals(a.shape(), b.shape())) return Backend.super.addRelu(a, b);
        Tensor y = empty(a.shape());
        long n = y.numel();
        if (n > 0) rt.launchElements("ew_add_relu", n, n, StridedArgs.of(a.shape(), a, b, y), storage(a).pointer(), storage(b).pointer(),
            storage(y).pointer());
        return y;
    }

    // ------------------------------------------------------------------ reductions

    /** x with the kept dims first and the reduced ones last, dense: rows = kept numel, cols = reduced numel. */
    private Tensor keptFirst(Tensor x, int[] dims) {
        int r = x.dim();
        boolean[] red = new boolean[r];
        for (int d : dims) red[d] = true;
        int[] perm = new int[r];
        int k = 0;
        for (int i = 0; i < r; i++) if (!red[i]) perm[k++] = i;
        for (int i = 0; i < r; i++) if (red[i]) perm[k++] = i;
        return dense(x.detach().permute(perm));
    }

    private static int[] reducedShape(int[] shape, int[] dims, boolean keepdim) {
        boolean[] red = new boolean[shape.length];
        for (int d : dims) red[d] = true;
        return keepdim ? java.util.stream.IntStream.range(0, shape.length).map(i -> red[i] ? 1 : shape[i]).toArray()
            : java.util.stream.IntStream.range(0, shape.length).filter(i -> !red[i]).map(i -> shape[i]).toArray();
    }

    @Override public Tensor reduce(ReduceOp op, Tensor x, int[] dims, boolean keepdim) {
        int[] out = reducedShape(x.shape(), dims, keepdim);
        long rows = Shapes.numel(out), cols = rows == 0 ? 0 : x.numel() / Math.max(rows, 1);
        Tensor y = empty(out);
        if (rows == 0) return y;
        Tensor xp = keptFirst(x, dims);
        rt.launch("reduce_rows", (int) rows, 1, 1, rowThreads(cols), 0, op.ordinal(), cols, ptr(xp), ptr(y));
        return y;
    }

    @Override public Tensor argReduce(ReduceOp op, Tensor x, int dim, boolean keepdim) {
        int[] out = reducedShape(x.shape(), new int[] {dim}, keepdim);
        Tensor y = empty(out);
        long rows = Shapes.numel(out);
        if (rows == 0) return y;
        Tensor xp = keptFirst(x, new int[] {dim});
        rt.launch("arg_reduce_rows", (int) rows, 1, 1, rowThreads(x.shape()[dim]), 0, op == ReduceOp.MAX ? 1 : 0, (long) x.shape()[dim], ptr(xp), ptr(y));
        return y;
    }

    // ------------------------------------------------------------------ linear algebra

    @Override public Tensor matmul(Tensor a, Tensor b, boolean transA, boolean transB) {
        int[] as = a.shape(), bs = b.shape();
        int r = as.length;
        int m = transA ? as[r - 1] : as[r - 2], k = transA ? as[r - 2] : as[r - 1], n = transB ? bs[r - 2] : bs[r - 1];
        int batch = (int) (Shapes.numel(as) / Math.max(1, (long) as[r - 1] * as[r - 2]));
        int[] os = as.clone();
        os[r - 2] = m;
        os[r - 1] = n;
        Tensor c = empty(os);
        if (c.numel() == 0) return c;
        if (k == 0) { fill(c, 0f); return c; }
        gemm.sgemm(transA, transB, m, n, k, batch, ptr(dense(a)), ptr(dense(b)), ptr(c));
        return c;
    }

    // ------------------------------------------------------------------ convolution (cuDNN)

    /** Workspaces of cuDNN calls: unscoped blocks from the caching allocator that Cudnn releases after the call. */
    private CudaStorage workspace(long bytes) { return bytes == 0 ? null : rawUnscoped((bytes + 3) / 4); }

    @Override public Tensor conv2d(Tensor x, Tensor w, Conv2dParams p) {
        int[] xs = x.shape(), ws = w.shape();
        int[] ys = {xs[0], ws[0], p.outH(xs[2], ws[2]), p.outW(xs[3], ws[3])};
        Tensor y = empty(ys), xd = aligned(x), wd = aligned(w);
        Cudnn dnn = cudnn();
        dnn.convForward(dnn.plan(xs, ws, ys, p), addr(xd), addr(wd), addr(y), this::workspace);
        return y;
    }

    @Override public Tensor conv2dBackwardInput(Tensor dy, Tensor w, int[] xShape, Conv2dParams p) {
        Tensor dx = empty(xShape), gd = aligned(dy), wd = aligned(w);
        Cudnn dnn = cudnn();
        dnn.convBackwardData(dnn.plan(xShape, w.shape(), dy.shape(), p), addr(wd), addr(gd), addr(dx), this::workspace);
        return dx;
    }

    @Override public Tensor conv2dBackwardWeight(Tensor x, Tensor dy, int[] wShape, Conv2dParams p) {
        Tensor dw = empty(wShape), xd = aligned(x), gd = aligned(dy);
        Cudnn dnn = cudnn();
        dnn.convBackwardFilter(dnn.plan(x.shape(), wShape, dy.shape(), p), addr(xd), addr(gd), addr(dw), this::workspace);
        return dw;
    }

    /** The convolution algorithms chosen so far, one line per shape, math mode and direction (for benchmarks and logs). */
    public java.util.List<String> convolutionAlgorithms() { return cudnn == null ? java.util.List.of() : cudnn.describePlans(); }

    // ------------------------------------------------------------------ pooling
    // cuDNN for the training path (max-pool forward without argmax and backward from x and y; average pooling);
    // pool_norm_index.cu's maxpool kernels for Backend's argmax form (maxPool2d, maxPool2dBackward(dy, argmax)).

    @Override public MaxPoolOut maxPool2d(Tensor x, Pool2dParams p) {
        int[] s = x.shape();
        int oh = p.outH(s[2]), ow = p.outW(s[3]);
        Tensor xd = dense(x), y = empty(s[0], s[1], oh, ow), arg = empty(s[0], s[1], oh, ow);
        long n = y.numel();
        if (n > 0) rt.launchElements("maxpool_forward", n, n, s[2], s[3], oh, ow, p.kH(), p.kW(), p.strideH(), p.strideW(),
            p.padH(), p.padW(), ptr(xd), ptr(y), ptr(arg));
        return new MaxPoolOut(y, arg);
    }

    @Override public Tensor maxPool2dBackward(Tensor dy, Tensor argmax, int[] xShape) {
        Tensor dx = Tensor.wrap(allocate(Shapes.numel(xShape)), xShape.clone());
        int[] ys = dy.shape();
        long n = dy.numel();
        if (n > 0) rt.launchElements("maxpool_backward", n, n, xShape[2] * xShape[3], ys[2] * ys[3], ptr(dense(dy)), ptr(dense(argmax)), ptr(dx));
        return dx;
    }

    private static int[] pooledShape(int[] s, Pool2dParams p) { return new int[] {s[0], s[1], p.outH(s[2]), p.outW(s[3])}; }

    /** cudnnPoolingForward in deterministic max mode: y and no argmax (the backward finds the max again from x and y). */
    @Override public MaxPoolOut maxPool2dTraining(Tensor x, Pool2dParams p) {
        int[] s = x.shape(), ys = pooledShape(s, p);
        Tensor y = empty(ys);
        if (y.numel() > 0) cudnn().poolForward(Cudnn.POOLING_MAX_DETERMINISTIC, p, s, ys, addr(dense(x)), addr(y));
        return new MaxPoolOut(y, null);
    }

    /** cudnnPoolingBackward: dx from x, y, dy (the argmax, if any, is not needed). */
    @Override public Tensor maxPool2dBackward(Tensor dy, Tensor x, Tensor y, Tensor argmax, Pool2dParams p) {
        int[] s = x.shape();
        Tensor dx = empty(s);
        if (dx.numel() > 0) cudnn().poolBackward(Cudnn.POOLING_MAX_DETERMINISTIC, p, s, y.shape(), addr(dense(y)), addr(dense(dy)),
            addr(dense(x)), addr(dx));
        else fill(dx, 0f);
        return dx;
    }

    private static int avgMode(Pool2dParams p) { return p.countIncludePad() ? Cudnn.POOLING_AVG_INCLUDE_PAD : Cudnn.POOLING_AVG_EXCLUDE_PAD; }

    /** cudnnPoolingForward; with floor-mode windows (Pool2dParams) cuDNN's divisors equal the CPU backend's in both pad modes. */
    @Override public Tensor avgPool2d(Tensor x, Pool2dParams p) {
        int[] s = x.shape(), ys = pooledShape(s, p);
        Tensor y = empty(ys);
        if (y.numel() > 0) cudnn().poolForward(avgMode(p), p, s, ys, addr(dense(x)), addr(y));
        return y;
    }

    /**
     * cudnnPoolingBackward in average mode reads neither x nor y, but the call takes both: dy stands in for y
     * (same shape) and dx for x (same shape; written after, never read).
     */
    @Override public Tensor avgPool2dBackward(Tensor dy, int[] xShape, Pool2dParams p) {
        Tensor dx = empty(xShape), g = dense(dy);
        if (dx.numel() > 0 && g.numel() > 0) cudnn().poolBackward(avgMode(p), p, xShape, dy.shape(), addr(g), addr(g), addr(dx), addr(dx));
        else fill(dx, 0f);
        return dx;
    }

    // ------------------------------------------------------------------ softmax

    private static int[] outerDimInner(int[] s, int dim) {
        int outer = 1, inner = 1;
        for (int i = 0; i < dim; i++) outer *= s[i];
        for (int i = dim + 1; i < s.length; i++) inner *= s[i];
        return new int[] {outer, s[dim], inner};
    }

    @Override public Tensor softmax(Tensor x, int dim, boolean log) {
        int[] odi = outerDimInner(x.shape(), dim);
        Tensor y = empty(x.shape());
        long lines = (long) odi[0] * odi[2];
        if (lines > 0 && odi[1] > 0)
            rt.launch("softmax_forward", (int) ((lines + 255) / 256), 1, 1, 256, 0, log ? 1 : 0, odi[0], odi[1], odi[2], ptr(dense(x)), ptr(y));
        return y;
    }

    @Override public Tensor softmaxBackward(Tensor y, Tensor dy, int dim, boolean log) {
        int[] odi = outerDimInner(y.shape(), dim);
        Tensor dx = empty(y.shape());
        long lines = (long) odi[0] * odi[2];
        if (lines > 0 && odi[1] > 0)
            rt.launch("softmax_backward", (int) ((lines + 255) / 256), 1, 1, 256, 0, log ? 1 : 0, odi[0], odi[1], odi[2],
                ptr(dense(y)), ptr(dense(dy)), ptr(dx));
        return dx;
    }

    // ------------------------------------------------------------------ batch norm
    // cuDNN (spatial mode, [N, C, S, 1] views of [N, C, *]) for the training forward, its backward and the
    // inference forward; pool_norm_index.cu's bn_* kernels for Backend's split form (batchNormStats, Apply,
    // Backward) and wherever cuDNN cannot run: eps below CUDNN_BN_MIN_EPSILON, or strided running statistics.

    private static int spatial(int[] s) {
        int n = 1;
        for (int i = 2; i < s.length; i++) n *= s[i];
        return n;
    }

    @Override public Moments batchNormStats(Tensor x) {
        int[] s = x.shape();
        Tensor mean = empty(s[1]), var = empty(s[1]);
        rt.launch("bn_stats", s[1], 1, 1, 256, 0, s[0], s[1], spatial(s), ptr(dense(x)), ptr(mean), ptr(var));
        return new Moments(mean, var);
    }

    private static CUdeviceptr ptrOrNull(Tensor t) { return t == null ? null : ptr(t); }

    @Override public Tensor batchNormApply(Tensor x, Tensor mean, Tensor invStd, Tensor weight, Tensor bias) {
        int[] s = x.shape();
        Tensor y = empty(s);
        long n = y.numel();
        if (n > 0) rt.launchElements("bn_apply", n, n, s[1], spatial(s), ptr(dense(x)), ptr(dense(mean)), ptr(dense(invStd)),
            weight == null ? null : ptr(dense(weight)), bias == null ? null : ptr(dense(bias)), ptr(y));
        return y;
    }

    @Override public BatchNormGrads batchNormBackward(Tensor dy, Tensor x, Tensor mean, Tensor invStd, Tensor weight) {
        int[] s = x.shape();
        int S = spatial(s);
        Tensor dx = empty(s), dw = empty(s[1]), db = empty(s[1]);
        Tensor g = dense(dy), xd = dense(x), mu = dense(mean), is = dense(invStd), w = weight == null ? null : dense(weight);
        rt.launch("bn_backward_reduce", s[1], 1, 1, 256, 0, s[0], s[1], S, ptr(g), ptr(xd), ptr(mu), ptr(is), ptr(dw), ptr(db));
        long n = dx.numel();
        if (n > 0) rt.launchElements("bn_backward_dx", n, n, s[1], S, (long) s[0] * S, ptr(g), ptr(xd), ptr(mu), ptr(is),
            ptrOrNull(w), ptr(dw), ptr(db), ptr(dx));
        return new BatchNormGrads(dx, dw, db);
    }

    /** Whether cuDNN's batch norm can take this call: cuDNN loaded, eps at least CUDNN_BN_MIN_EPSILON, statistics dense. */
    private boolean cudnnBatchNorm(Tensor x, float eps, Tensor... perChannel) {
        return cudnn != null && cudnnCanNormalize(x, eps, perChannel);
    }

    /** The shape and epsilon conditions of cuDNN's spatial batch norm (the statistics must be dense). */
    static boolean cudnnCanNormalize(Tensor x, float eps, Tensor... perChannel) {
        if (eps < Cudnn.BN_MIN_EPSILON || x.dim() < 2 || x.numel() == 0) return false;
        for (Tensor t : perChannel) if (t != null && !t.isContiguous()) return false;
        return true;
    }

    /** [N, C, *] as the 4-d shape cuDNN's spatial batch norm takes: [N, C, S, 1]. */
    private static int[] bn4d(int[] s) { return new int[] {s[0], s[1], spatial(s), 1}; }

    /** The per-channel scale (weight) or shift (bias) as cuDNN needs it: the tensor, or a filled one when absent. */
    private Tensor perChannelOr(Tensor t, int c, float absent) {
        if (t != null) return dense(t);
        Tensor f = empty(c);
        fill(f, absent);
        return f;
    }

    /**
     * cudnnBatchNormalizationForwardTraining: y, the saved mean and inverse std, and, when both running
     * statistics are given, their update with exponentialAverageFactor = momentum (cuDNN uses the unbiased
     * variance there, as PyTorch and the default do). The update happens here and nowhere else.
     */
    @Override public BatchNormOut batchNormTraining(Tensor x, Tensor weight, Tensor bias, Tensor runningMean, Tensor runningVar,
                                                    float momentum, float eps) {
        if (!cudnnBatchNorm(x, eps, runningMean, runningVar))
            return Backend.super.batchNormTraining(x, weight, bias, runningMean, runningVar, momentum, eps);
        int c = x.shape()[1];
        Tensor y = empty(x.shape());
        BatchStats st = cudnnTraining(dense(x), y, perChannelOr(weight, c, 1f), perChannelOr(bias, c, 0f), runningMean, runningVar, momentum, eps);
        return new BatchNormOut(y, st.mean(), st.invStd());
    }

    /**
     * cuDNN's training batch norm of a dense x into y (a dense array or a dense part of one) with the per-channel scale
     * and shift as cuDNN takes them ({@link #perChannelOr}); the statistics it saved.
     */
    private BatchStats cudnnTraining(Tensor xd, Tensor y, Tensor scale, Tensor shift, Tensor runningMean, Tensor runningVar,
                                     float momentum, float eps) {
        int c = xd.shape()[1];
        boolean track = runningMean != null && runningVar != null;
        Tensor mean = empty(c), invStd = empty(c);
        cudnn().batchNormTraining(bn4d(xd.shape()), addr(xd), addr(y), addr(scale), addr(shift),
            track ? momentum : 0.0, track ? addr(runningMean) : 0L, track ? addr(runningVar) : 0L, eps, addr(mean), addr(invStd));
        return new BatchStats(mean, invStd);
    }

    /**
     * Each half normalised by cuDNN straight into its half of one y (the halves of [2N, C, *] are contiguous), then,
     * with relu, one ReLU over all of y: the values of the default (two calls, then a copy of both into y) without the
     * copy. MA-Net's two paths through every batch norm of its backbone.
     */
    @Override public PairedBatchNormOut batchNormTrainingPaired(Tensor x, Tensor weight, Tensor bias, Tensor runningMean, Tensor runningVar,
                                                                boolean secondMovesRunning, float momentum, float eps, boolean relu) {
        if (!cudnnBatchNorm(x, eps, runningMean, runningVar))
            return Backend.super.batchNormTrainingPaired(x, weight, bias, runningMean, runningVar, secondMovesRunning, momentum, eps, relu);
        int c = x.shape()[1];
        Tensor y = empty(x.shape()), scale = perChannelOr(weight, c, 1f), shift = perChannelOr(bias, c, 0f);
        Tensor[] xh = Backend.halves(dense(x)), yh = Backend.halves(y);
        BatchStats a = cudnnTraining(xh[0], yh[0], scale, shift, runningMean, runningVar, momentum, eps);
        BatchStats b = cudnnTraining(xh[1], yh[1], scale, shift, secondMovesRunning ? runningMean : null, secondMovesRunning ? runningVar : null,
            momentum, eps);
        if (relu) {
            Tensor r = unary(UnaryOp.RELU, y, 0f);
            y.storage().release();   // stream order: the ReLU has read it before a later kernel can reuse the block
            y = r;
        }
        return new PairedBatchNormOut(y, a, b);
    }

    /**
     * dx of both halves by cuDNN straight into one dx (with relu, one ReLU backward over all of dy first), the parameter
     * gradients summed over the halves: the default's values without its copy of the two dx halves into one.
     */
    @Override public BatchNormGrads batchNormTrainingPairedBackward(Tensor dy, Tensor x, Tensor y, PairedBatchNormOut stats, Tensor weight,
                                                                    Tensor bias, float eps, boolean relu) {
        if (!cudnnBatchNorm(x, eps)) return Backend.super.batchNormTrainingPairedBackward(dy, x, y, stats, weight, bias, eps, relu);
        int c = x.shape()[1];
        Tensor g = relu ? binary(BinaryOp.RELU_BACKWARD, dy, y) : dense(dy), dx = empty(x.shape()), w = perChannelOr(weight, c, 1f);
        Tensor[] gh = Backend.halves(g), xh = Backend.halves(dense(x)), dxh = Backend.halves(dx);
        Tensor[] dw = {empty(c), empty(c)}, db = {empty(c), empty(c)};
        BatchStats[] st = {stats.first(), stats.second()};
        for (int h = 0; h < 2; h++)
            cudnn().batchNormBackward(bn4d(xh[h].shape()), addr(xh[h]), addr(gh[h]), addr(dxh[h]), addr(w), addr(dw[h]), addr(db[h]), eps,
                addr(dense(st[h].mean())), addr(dense(st[h].invStd())));
        if (relu) g.storage().release();
        return new BatchNormGrads(dx, weight != null ? binary(BinaryOp.ADD, dw[0], dw[1]) : null, bias != null ? binary(BinaryOp.ADD, db[0], db[1]) : null);
    }

    /** cudnnBatchNormalizationBackward from the saved mean and inverse std (or the kernels where the forward used them). */
    @Override public BatchNormGrads batchNormTrainingBackward(Tensor dy, Tensor x, Tensor mean, Tensor invStd, Tensor weight, float eps) {
        if (!cudnnBatchNorm(x, eps)) return batchNormBackward(dy, x, mean, invStd, weight);
        int c = x.shape()[1];
        Tensor dx = empty(x.shape()), dw = empty(c), db = empty(c);
        cudnn().batchNormBackward(bn4d(x.shape()), addr(dense(x)), addr(dense(dy)), addr(dx), addr(perChannelOr(weight, c, 1f)),
            addr(dw), addr(db), eps, addr(dense(mean)), addr(dense(invStd)));
        return new BatchNormGrads(dx, dw, db);
    }

    /** cudnnBatchNormalizationForwardInference for y; mean and invStd (for the backward) as the default gives them. */
    @Override public BatchNormOut batchNormInference(Tensor x, Tensor weight, Tensor bias, Tensor runningMean, Tensor runningVar, float eps) {
        if (!cudnnBatchNorm(x, eps)) return Backend.super.batchNormInference(x, weight, bias, runningMean, runningVar, eps);
        int c = x.shape()[1];
        Tensor y = empty(x.shape());
        Tensor invStd = batchNormInvStd(runningVar, eps);
        cudnn().batchNormInference(bn4d(x.shape()), addr(dense(x)), addr(y), addr(perChannelOr(weight, c, 1f)), addr(perChannelOr(bias, c, 0f)),
            addr(dense(runningMean)), addr(dense(runningVar)), eps);
        return new BatchNormOut(y, runningMean.detach(), invStd);
    }

    // ------------------------------------------------------------------ optimiser

    /** One launch of sgd.cu's sgd_momentum_one per parameter; strided or mismatched operands take the composed default. */
    @Override public void sgdUpdate(Tensor p, Tensor g, Tensor buf, boolean firstStep, float lr, float momentum, float dampening,
                                    float weightDecay, boolean nesterov) {
        boolean withBuf = momentum != 0f;
        if (!p.isContiguous() || !g.isContiguous() || (withBuf && !buf.isContiguous()) || !Arrays.equals(p.shape(), g.shape())) {
            Backend.super.sgdUpdate(p, g, buf, firstStep, lr, momentum, dampening, weightDecay, nesterov);
            return;
        }
        long n = p.numel();
        if (n > 0) rt.launchElements("sgd_momentum_one", n, n, ptr(p), ptr(g), withBuf ? ptr(buf) : null, lr, momentum, dampening,
            weightDecay, nesterov ? 1 : 0, firstStep ? 1 : 0);
    }

    private final SgdTables sgdTables = new SgdTables(this);

    /** Parameter tables uploaded by {@link #sgdUpdateAll} so far (a steady training loop stops adding to this). */
    public long sgdTableUploads() { return sgdTables.uploads(); }

    /** Device bytes held by the kept SGD parameter tables: in use, besides the training state, once training has begun. */
    public long sgdTableBytes() { return sgdTables.bytes(); }

    /**
     * Every parameter in one launch of sgd.cu's sgd_momentum_multi ({@link SgdTables}); where some parameters take
     * their first step and others not, one launch for each group. Strided or mismatched operands take
     * {@link #sgdUpdate} one by one.
     */
    @Override public void sgdUpdateAll(List<Tensor> params, List<Tensor> grads, List<Tensor> buffers, boolean[] firstStep, float lr,
                                       float momentum, float dampening, float[] weightDecay, boolean nesterov) {
        boolean withBuf = momentum != 0f;
        List<Integer> dense = new ArrayList<>(params.size());
        for (int i = 0; i < params.size(); i++) {
            Tensor p = params.get(i), g = grads.get(i), b = buffers.get(i);
            boolean ok = p.isContiguous() && g.isContiguous() && (!withBuf || b.isContiguous()) && p.numel() == g.numel()
                && (!withBuf || p.numel() == b.numel()) && p.numel() > 0;
            if (ok) dense.add(i);
            else sgdUpdate(p, g, b, firstStep[i], lr, momentum, dampening, weightDecay[i], nesterov);
        }
        for (boolean first : new boolean[] {true, false})
            sgdTables.step(params, grads, buffers, weightDecay, dense.stream().filter(i -> firstStep[i] == first).mapToInt(i -> i).toArray(),
                lr, momentum, dampening, nesterov, first);
    }

    // ------------------------------------------------------------------ indexing

    private static void requireSameOuter(int[] a, int[] b, int dim, String op) {
        for (int i = 0; i < a.length; i++)
            if (i != dim && a[i] != b[i])
                throw new UnsupportedOperationException(op + " on CUDA needs index and data shapes equal outside dim " + dim
                    + ", got " + Arrays.toString(a) + " and " + Arrays.toString(b));
    }

    @Override public Tensor gather(Tensor x, int dim, Tensor index) {
        requireSameOuter(x.shape(), index.shape(), dim, "gather");
        int[] odi = outerDimInner(x.shape(), dim);
        Tensor out = empty(index.shape());
        long n = out.numel();
        if (n > 0) rt.launchElements("gather_dim", n, n, odi[1], index.shape()[dim], odi[2], ptr(dense(x)), ptr(dense(index)), ptr(out));
        return out;
    }

    @Override public Tensor scatterAdd(int[] shape, int dim, Tensor index, Tensor src) {
        requireSameOuter(shape, index.shape(), dim, "scatterAdd");
        int[] odi = outerDimInner(shape, dim);
        Tensor out = Tensor.wrap(allocate(Shapes.numel(shape)), shape.clone());
        long n = index.numel();
        if (n > 0) rt.launchElements("scatter_add_dim", n, n, odi[1], index.shape()[dim], odi[2], ptr(dense(index)), ptr(dense(src)), ptr(out));
        return out;
    }

    // ------------------------------------------------------------------ the papers' fused ops
    // Backend's mab*, seScale* and fabFuse* methods (op pages org.pulmo.ops.Mab, SeScale, FabFuse) run the kernels
    // of mab.cu (MabKernels) and se_fab.cu (SeFabKernels), so that MaNet and SqueezeExcitation use them without
    // naming the device.

    /** MAB forward (mab.cu's fused kernel): F_am and lse [N, C], what the backward needs. */
    @Override public MabOut mabForward(Tensor fRei, Tensor fRem) { return mabForward(fRei, fRem, MabVersion.FUSED); }

    /** MAB forward in the given version (the naive three launches are the fused kernel's baseline). */
    public MabOut mabForward(Tensor fRei, Tensor fRem, MabVersion version) { return mab.forward(fRei, fRem, version); }

    /** MAB fused backward: dF_rei and dF_rem from F_rei, F_rem, dF_am and the forward's lse. */
    @Override public MabGrads mabBackward(Tensor fRei, Tensor fRem, Tensor dFAm, Tensor lse) {
        return mabBackward(fRei, fRem, dFAm, lse, MabVersion.FUSED);
    }

    /** MAB backward in the given launch shape (BLOCK or WARP; FUSED picks as the forward does). */
    public MabGrads mabBackward(Tensor fRei, Tensor fRem, Tensor dFAm, Tensor lse, MabVersion version) {
        return mab.backward(fRei, fRem, dFAm, lse, version);
    }

    /** MAB's backward with its attention map constant (MA-Net's default): mab.cu's one-pass elementwise kernel. */
    @Override public Tensor mabConstantMapBackward(Tensor fRei, Tensor fRem, Tensor dFAm, Tensor lse) {
        return mab.constantMapBackward(fRei, fRem, dFAm, lse);
    }

    /**
     * MAB's kernels: NAIVE (three launches, the baseline), the fused kernel with a block per plane (BLOCK) or a warp per
     * plane (WARP, planes of at most 1024 values), and FUSED, the backend's choice: WARP where the plane fits, else BLOCK.
     */
    public enum MabVersion { NAIVE, BLOCK, WARP, FUSED }

    /** SE scale (se_scale_forward): y = u * s[n, c]. */
    @Override public Tensor seScaleForward(Tensor u, Tensor s) { return seFab.seScaleForward(u, s); }

    /** SE scale backward (se_scale_backward): du and ds [N, C]. */
    @Override public SeScaleGrads seScaleBackward(Tensor u, Tensor s, Tensor dy) { return seFab.seScaleBackward(u, s, dy); }

    /** FAB fusion (fab_fuse_forward, eq. 10-11): F_fm = a F_am + (1 - a) F_rem with a = e^M / (e^M + e^N) per (n, c). */
    @Override public Tensor fabFuseForward(Tensor fAm, Tensor fRem, Tensor m, Tensor n) { return seFab.fabFuseForward(fAm, fRem, m, n); }

    /** FAB fusion backward (fab_fuse_backward): dF_am, dF_rem, dM, dN. */
    @Override public FabGrads fabFuseBackward(Tensor fAm, Tensor fRem, Tensor m, Tensor n, Tensor dFFm) {
        return seFab.fabFuseBackward(fAm, fRem, m, n, dFFm);
    }

    // The squeezes of SE and FAB, kernels without a Backend method (SqueezeExcitation and MaNet pool with the
    // reductions); GpuParityTest holds them to org.pulmo.ops.reference.Reference.

    /** SE squeeze (se_squeeze): [N, C, H, W] -> channel means [N, C]. */
    public Tensor seSqueeze(Tensor x) { return seFab.seSqueeze(x); }

    /** FAB squeeze's outputs [N, C]: the plane means, maxima and the flat index h*W + w of each maximum (first of ties). */
    public record FabSqueezeOut(Tensor avg, Tensor max, Tensor argmax) {}

    /** FAB squeeze (fab_squeeze, eq. 7's two poolings in one read). */
    public FabSqueezeOut fabSqueeze(Tensor u) { return seFab.fabSqueeze(u); }

    public Tensor fabSqueezeBackward(int[] uShape, Tensor dAvg, Tensor dMax, Tensor arg) { return seFab.fabSqueezeBackward(uShape, dAvg, dMax, arg); }

    /** Softmax cross-entropy: loss [] (device scalar) and wsum [] from logits [N, C], labels [N], weights [C] or null. */
    @Override public CrossEntropyOut crossEntropy(Tensor logits, Tensor labels, Tensor weights) {
        int n = logits.shape()[0], c = logits.shape()[1];
        Tensor rowLoss = empty(n), rowW = empty(n), loss = empty(), wsum = empty();
        rt.launch("ce_forward", (n + 7) / 8, 1, 1, 256, 0, n, c, ptr(dense(logits)), ptr(dense(labels)),
            weights == null ? null : ptr(dense(weights)), ptr(rowLoss), ptr(rowW));
        rt.launch("ce_finish", 1, 1, 1, 256, 0, n, ptr(rowLoss), ptr(rowW), ptr(loss), ptr(wsum));
        return new CrossEntropyOut(loss, wsum);
    }

    @Override public Tensor crossEntropyBackward(Tensor logits, Tensor labels, Tensor weights, Tensor wsum, Tensor dLoss) {
        int n = logits.shape()[0], c = logits.shape()[1];
        Tensor dx = empty(n, c);
        rt.launch("ce_backward", (n + 7) / 8, 1, 1, 256, 0, n, c, ptr(dense(logits)), ptr(dense(labels)),
            weights == null ? null : ptr(dense(weights)), ptr(wsum), ptr(dense(dLoss)), ptr(dx));
        return dx;
    }

    /** Batch-mean cosine similarity of rows of a, b [N, ...]: c [] (as mean of cosRow), stats [N, 3], cosRow [N]. */
    @Override public CosineOut cosine(Tensor a, Tensor b, float eps) {
        int n = a.shape()[0];
        long d = a.numel() / n;
        Tensor stats = empty(n, 3), cosRow = empty(n);
        rt.launch("cosine_forward", n, 1, 1, 256, 0, d, eps, ptr(dense(a)), ptr(dense(b)), ptr(stats), ptr(cosRow));
        Tensor mean = reduce(ReduceOp.SUM, cosRow, new int[] {0}, false);
        return new CosineOut(unary(UnaryOp.SCALE, mean, 1f / n), stats, cosRow);
    }

    @Override public Grads cosineBackward(Tensor a, Tensor b, Tensor stats, Tensor dc, float eps) {
        int n = a.shape()[0];
        long d = a.numel() / n;
        Tensor da = empty(a.shape()), db = empty(a.shape());
        rt.launch("cosine_backward", n, 1, 1, 256, 0, n, d, eps, ptr(dense(a)), ptr(dense(b)), ptr(stats), ptr(dense(dc)), ptr(da), ptr(db));
        return new Grads(da, db);
    }

    @Override public String toString() {
        return "CudaBackend[" + rt.deviceName() + ", GEMM " + (gemm.usingCublas() ? "cuBLAS" : "sgemm kernel") + ", cuDNN " + Cudnn.version()
            + (strictFp32 ? ", strict FP32" : ", TF32") + (deterministic() ? ", deterministic" : "") + "]";
    }

}
