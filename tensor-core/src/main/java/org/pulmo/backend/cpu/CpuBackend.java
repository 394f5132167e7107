package org.pulmo.backend.cpu;

import org.pulmo.backend.Backend;
import org.pulmo.backend.BinaryOp;
import org.pulmo.backend.Conv2dParams;
import org.pulmo.backend.Pool2dParams;
import org.pulmo.backend.ReduceOp;
import org.pulmo.backend.UnaryOp;
import org.pulmo.backend.cpu.Strided.View;
import org.pulmo.tensor.CpuStorage;
import org.pulmo.tensor.Device;
import org.pulmo.tensor.HostArrays;
import org.pulmo.tensor.Shapes;
import org.pulmo.tensor.Storage;
import org.pulmo.tensor.Tensor;

/**
 * The pure-Java backend: multi-threaded over all cores, GEMM and convolution on packed Vector API kernels
 * ({@link Sgemm}, {@link CpuConv}), the rest in the Cpu* kernel classes beside this one. The kernels take arrays,
 * offsets and shapes (or a strided {@link Strided.View}) and never see a tensor: this class is the one adapter,
 * which reads a tensor's array, makes strided inputs dense where a kernel needs them, and wraps the kernels'
 * output arrays as tensors. Registered by {@link CpuBackendProvider}.
 */
public final class CpuBackend implements Backend {

    // ---- the adapter between tensors and the array kernels ----

    /** The float array behind a CPU tensor (a view's elements start at its offset). */
    private static float[] array(Tensor t) {
        if (!(t.storage() instanceof CpuStorage s))
            throw new IllegalArgumentException("CPU backend given a tensor on " + t.device());
        return s.data();
    }

    /** The tensor as a strided view of its array, for the kernels that walk any view. */
    private static View view(Tensor t) {
        // the kernels walk a view with int positions: an expand()ed view can have more elements than its storage and an int counts
        Shapes.arrayLength(t.numel(), () -> "a tensor of shape " + Shapes.str(t.shape()) + " (a view; contiguous() would not fit either)");
        return new View(array(t), t.offset(), t.shape(), t.strides());
    }

    /** A kernel's output array (pooled, as every op output) as a tensor of the given shape. */
    private static Tensor wrap(float[] data, int... shape) { return Tensor.wrap(CpuStorage.pooled(data), shape); }

    @Override public Device device() { return Device.CPU; }

    /** "CpuBackend[2 threads, 256-bit vectors]": what the CPU kernels run on (a run's record names it). */
    @Override public String toString() { return "CpuBackend[" + describe() + "]"; }

    /** "2 threads, 256-bit vectors": the threads and the vector width the CPU kernels compute with. */
    public static String describe() {
        return Parallel.threads() + (Parallel.threads() == 1 ? " thread, " : " threads, ")
            + jdk.incubator.vector.FloatVector.SPECIES_PREFERRED.vectorBitSize() + "-bit vectors";
    }

    @Override public Storage allocate(long numel) { return CpuStorage.zeroed(arrayLength(numel)); }

    @Override public Storage allocateForOverwrite(long numel) { return CpuStorage.pooled(HostArrays.uninitialized(arrayLength(numel))); }

    /** numel as a Java array length, or a clear error. */
    private static int arrayLength(long numel) { return Shapes.arrayLength(numel, () -> "this tensor"); }

    @Override public Tensor fromArray(float[] data, int[] shape) { return Tensor.of(data, shape); }

    @Override public float[] toArray(Tensor t) {
        if (t.isContiguous()) {
            float[] a = array(t);
            int n = Shapes.arrayLength(t.shape());
            if (t.offset() == 0 && a.length == n) return a.clone();
            return java.util.Arrays.copyOfRange(a, t.offset(), t.offset() + n);
        }
        Tensor out = Tensor.wrap(new CpuStorage(Shapes.arrayLength(t.shape())), t.shape());
        CpuElementwise.copy(view(t), view(out));
        return array(out);
    }

    @Override public void copy(Tensor src, Tensor dst) { CpuElementwise.copy(view(src), view(dst)); }

    @Override public void fill(Tensor dst, float value) { CpuElementwise.fill(view(dst), value); }

    @Override public void addInPlace(Tensor dst, Tensor src, float alpha) { CpuElementwise.addInPlace(view(dst), view(src), alpha); }

    @Override public void addScalarInPlace(Tensor dst, float value) { CpuElementwise.addScalarInPlace(view(dst), value); }

    @Override public Tensor unary(UnaryOp op, Tensor x, float alpha) {
        View v = view(x);
        return wrap(CpuElementwise.unary(op, v, alpha), v.shape());
    }

    @Override public Tensor binary(BinaryOp op, Tensor a, Tensor b) {
        View av = view(a), bv = view(b);
        int[] shape = CpuElementwise.broadcastShape(op, av.shape(), bv.shape());
        return wrap(CpuElementwise.binary(op, av, bv, shape), shape);
    }

    /** One pass over contiguous operands of one shape (the default's two otherwise). */
    @Override public Tensor addRelu(Tensor a, Tensor b) {
        if (!a.isContiguous() || !b.isContiguous() || !java.util.Arrays.equals(a.shape(), b.shape())) return Backend.super.addRelu(a, b);
        int n = Shapes.arrayLength(a.shape());
        float[] y = HostArrays.uninitialized(n);
        CpuElementwise.addRelu(array(a), a.offset(), array(b), b.offset(), y, n);
        return wrap(y, a.shape());
    }

    @Override public Tensor reduce(ReduceOp op, Tensor x, int[] dims, boolean keepdim) {
        View v = view(x);
        float[] out = CpuReduce.reduce(op, v, dims);
        return wrap(out, CpuReduce.reducedShape(v.shape(), dims, keepdim));
    }

    @Override public Tensor argReduce(ReduceOp op, Tensor x, int dim, boolean keepdim) {
        int[] shape = x.shape();
        CpuReduce.checkArgReduce(op, shape, dim);
        Tensor c = x.isContiguous() ? x : x.copy();
        return wrap(CpuReduce.argReduce(op, array(c), c.offset(), shape, dim), CpuReduce.reducedShape(shape, new int[] {dim}, keepdim));
    }

    @Override public Tensor matmul(Tensor a, Tensor b, boolean transA, boolean transB) {
        int[] as = a.shape(), bs = b.shape();
        int r = as.length;
        int m = transA ? as[r - 1] : as[r - 2], k = transA ? as[r - 2] : as[r - 1];
        int n = transB ? bs[r - 2] : bs[r - 1];
        int batch = 1;
        for (int i = 0; i < r - 2; i++) batch *= as[i];
        // A 2-D operand that is the transpose of a dense matrix (Linear's weight.transpose(0, 1), and the same
        // view again in its backward) is read where it is stored, with its transpose flag flipped: copying
        // ResNet-50's 1000 x 2048 fc weight into the transposed layout cost more than the multiply.
        boolean aFlip = r == 2 && transposedDense(a), bFlip = r == 2 && transposedDense(b);
        Tensor ac = aFlip ? a : a.contiguous(), bc = bFlip ? b : b.contiguous();
        float[] ad = array(ac), bd = array(bc);
        int[] outShape = as.clone();
        outShape[r - 2] = m;
        outShape[r - 1] = n;
        // beta = 0 overwrites; an empty inner dimension (k = 0) sums nothing, so the product is zeros
        float[] c = k == 0 ? HostArrays.zeroed(Shapes.arrayLength(outShape)) : HostArrays.uninitialized(Shapes.arrayLength(outShape));
        if (k == 0) return Tensor.wrap(CpuStorage.pooled(c), outShape);
        int lda = aFlip ? as[0] : as[r - 1], ldb = bFlip ? bs[0] : bs[r - 1];
        for (int i = 0; i < batch; i++)
            Sgemm.sgemm(transA != aFlip, transB != bFlip, m, n, k, ad, ac.offset() + i * m * k, lda, bd, bc.offset() + i * k * n, ldb,
                0f, c, i * m * n, n);
        return Tensor.wrap(CpuStorage.pooled(c), outShape);
    }

    /** Whether a 2-D tensor [R, C] is the transpose of a dense row-major [C, R] matrix (strides 1 and R). */
    private static boolean transposedDense(Tensor t) {
        int[] sh = t.shape(), st = t.strides();
        return sh[0] > 1 && sh[1] > 1 && st[0] == 1 && st[1] == sh[0];
    }

    @Override public Tensor conv2d(Tensor x, Tensor w, Conv2dParams p) {
        int[] xs = x.shape(), ws = w.shape();
        // the output, and one image's unfolded input (GEMM's columns), must each fit one array (a cuDNN convolution need not)
        long oh = p.outH(xs[2], ws[2]), ow = p.outW(xs[3], ws[3]), out = (long) xs[0] * ws[0] * oh * ow, columns = (long) ws[1] * ws[2] * ws[3] * oh * ow;
        Shapes.arrayLength(out, () -> "conv2d's output [" + xs[0] + ", " + ws[0] + ", " + oh + ", " + ow + "] (" + p + ")");
        Shapes.arrayLength(columns, () -> "conv2d's unfolded input of one image (" + (long) ws[1] * ws[2] * ws[3] + " x " + oh + " x " + ow + ", " + p + ")");
        float[] y = CpuConv.forward(dense(x), xs[0], xs[1], xs[2], xs[3], dense(w), ws[0], ws[2], ws[3], p);
        return Tensor.wrap(CpuStorage.pooled(y), xs[0], ws[0], (int) oh, (int) ow);
    }

    @Override public Tensor conv2dBackwardInput(Tensor dy, Tensor w, int[] xShape, Conv2dParams p) {
        int[] ws = w.shape();
        float[] dx = CpuConv.backwardInput(dense(dy), xShape[0], xShape[1], xShape[2], xShape[3], dense(w), ws[0], ws[2], ws[3], p);
        return Tensor.wrap(CpuStorage.pooled(dx), xShape.clone());
    }

    @Override public Tensor conv2dBackwardWeight(Tensor x, Tensor dy, int[] wShape, Conv2dParams p) {
        int[] xs = x.shape();
        float[] dw = CpuConv.backwardWeight(dense(x), dense(dy), xs[0], xs[1], xs[2], xs[3], wShape[0], wShape[2], wShape[3], p);
        return Tensor.wrap(CpuStorage.pooled(dw), wShape.clone());
    }

    /** The values as an exactly-sized row-major array (no copy when the tensor already is one). */
    private float[] dense(Tensor t) {
        float[] a = array(t);
        if (t.isContiguous() && t.offset() == 0 && a.length == t.numel()) return a;
        return toArray(t);
    }

    @Override public MaxPoolOut maxPool2d(Tensor x, Pool2dParams p) {
        int[] s = x.shape(), os = {s[0], s[1], p.outH(s[2]), p.outW(s[3])};
        Tensor xc = x.contiguous();
        float[] y = HostArrays.zeroed(os[0] * os[1] * os[2] * os[3]), arg = HostArrays.zeroed(y.length);
        CpuPool.maxPool2d(array(xc), xc.offset(), s, p, y, arg);
        return new MaxPoolOut(wrap(y, os), wrap(arg, os));
    }

    @Override public Tensor maxPool2dBackward(Tensor dy, Tensor argmax, int[] xShape) {
        int[] ys = dy.shape();
        Tensor g = dy.contiguous(), a = argmax.contiguous();
        return wrap(CpuPool.maxPool2dBackward(array(g), g.offset(), ys, array(a), a.offset(), xShape), xShape.clone());
    }

    @Override public Tensor avgPool2d(Tensor x, Pool2dParams p) {
        int[] s = x.shape();
        Tensor xc = x.contiguous();
        return wrap(CpuPool.avgPool2d(array(xc), xc.offset(), s, p), s[0], s[1], p.outH(s[2]), p.outW(s[3]));
    }

    @Override public Tensor avgPool2dBackward(Tensor dy, int[] xShape, Pool2dParams p) {
        Tensor g = dy.contiguous();
        return wrap(CpuPool.avgPool2dBackward(array(g), g.offset(), xShape, p), xShape.clone());
    }

    @Override public Tensor softmax(Tensor x, int dim, boolean log) {
        int[] s = x.shape();
        Tensor xc = x.contiguous();
        return wrap(CpuSoftmax.softmax(array(xc), xc.offset(), s, dim, log), s);
    }

    @Override public Tensor softmaxBackward(Tensor y, Tensor dy, int dim, boolean log) {
        int[] s = y.shape();
        Tensor yc = y.contiguous(), gc = dy.contiguous();
        return wrap(CpuSoftmax.backward(array(yc), yc.offset(), array(gc), gc.offset(), s, dim, log), s);
    }

    @Override public Moments batchNormStats(Tensor x) {
        int[] shape = x.shape();
        int c = shape[1];
        Tensor xc = x.contiguous();
        float[] mean = new float[c], var = new float[c];
        CpuNorm.stats(array(xc), xc.offset(), shape, mean, var);
        return new Moments(wrap(mean, c), wrap(var, c));
    }

    @Override public Tensor batchNormApply(Tensor x, Tensor mean, Tensor invStd, Tensor weight, Tensor bias) {
        return batchNormApply(x, mean, invStd, weight, bias, false);
    }

    /** batchNormApply, then max(y, 0) in the same pass when relu. */
    private static Tensor batchNormApply(Tensor x, Tensor mean, Tensor invStd, Tensor weight, Tensor bias, boolean relu) {
        int[] shape = x.shape();
        float[] w = weight == null ? null : weight.toArray(), b = bias == null ? null : bias.toArray();
        Tensor xc = x.contiguous();
        return wrap(CpuNorm.apply(array(xc), xc.offset(), shape, mean.toArray(), invStd.toArray(), w, b, relu), shape);
    }

    @Override public BatchNormGrads batchNormBackward(Tensor dy, Tensor x, Tensor mean, Tensor invStd, Tensor weight) {
        return batchNormBackward(dy, x, mean, invStd, weight, null, false);
    }

    /** batchNormBackward, with ReLU's backward first when relu (its mask recomputed from x, weight and bias). */
    private static BatchNormGrads batchNormBackward(Tensor dy, Tensor x, Tensor mean, Tensor invStd, Tensor weight, Tensor bias,
                                                    boolean relu) {
        int[] shape = x.shape();
        int c = shape[1];
        float[] w = weight == null ? null : weight.toArray(), b = bias == null ? null : bias.toArray();
        Tensor xc = x.contiguous(), gc = dy.contiguous();
        float[] dw = HostArrays.zeroed(c), db = HostArrays.zeroed(c), dx = HostArrays.uninitialized(Shapes.arrayLength(shape));
        CpuNorm.backward(array(gc), gc.offset(), array(xc), xc.offset(), shape, mean.toArray(), invStd.toArray(), w, b, relu, dx, dw, db);
        return new BatchNormGrads(wrap(dx, shape), wrap(dw, c), wrap(db, c));
    }

    /** The default's statistics, then the normalisation and the ReLU in one pass (bit for bit the default's y). */
    @Override public BatchNormOut batchNormReluTraining(Tensor x, Tensor weight, Tensor bias, Tensor runningMean, Tensor runningVar,
                                                        float momentum, float eps) {
        BatchStats st = batchNormTrainingStats(x, runningMean, runningVar, momentum, eps);
        return new BatchNormOut(batchNormApply(x, st.mean(), st.invStd(), weight, bias, true), st.mean(), st.invStd());
    }

    /** Both halves' statistics as the default takes them; each half normalised straight into its half of one y. */
    @Override public PairedBatchNormOut batchNormTrainingPaired(Tensor x, Tensor weight, Tensor bias, Tensor runningMean, Tensor runningVar,
                                                                boolean secondMovesRunning, float momentum, float eps, boolean relu) {
        int[] shape = x.shape(), half = shape.clone();
        half[0] /= 2;
        int halfLen = (int) (x.numel() / 2);
        Tensor xc = x.contiguous();
        Tensor[] xh = Backend.halves(xc);
        BatchStats a = batchNormTrainingStats(xh[0], runningMean, runningVar, momentum, eps);
        BatchStats b = batchNormTrainingStats(xh[1], secondMovesRunning ? runningMean : null, secondMovesRunning ? runningVar : null, momentum, eps);
        float[] w = weight == null ? null : weight.toArray(), bs = bias == null ? null : bias.toArray();
        float[] y = HostArrays.uninitialized(2 * halfLen);
        CpuNorm.applyInto(array(xc), xc.offset(), half, a.mean().toArray(), a.invStd().toArray(), w, bs, relu, y, 0);
        CpuNorm.applyInto(array(xc), xc.offset() + halfLen, half, b.mean().toArray(), b.invStd().toArray(), w, bs, relu, y, halfLen);
        return new PairedBatchNormOut(wrap(y, shape), a, b);
    }

    /** Each half's fused backward (as {@link #batchNormReluTrainingBackward}) straight into its half of one dx; y is not read. */
    @Override public BatchNormGrads batchNormTrainingPairedBackward(Tensor dy, Tensor x, Tensor y, PairedBatchNormOut stats, Tensor weight,
                                                                    Tensor bias, float eps, boolean relu) {
        int[] shape = x.shape(), half = shape.clone();
        half[0] /= 2;
        int c = shape[1], halfLen = (int) (x.numel() / 2);
        float[] w = weight == null ? null : weight.toArray(), bs = bias == null ? null : bias.toArray();
        Tensor xc = x.contiguous(), gc = dy.contiguous();
        float[] dx = HostArrays.uninitialized(2 * halfLen), dw = HostArrays.zeroed(c), db = HostArrays.zeroed(c), dw2 = new float[c], db2 = new float[c];
        BatchStats sa = stats.first(), sb = stats.second();
        CpuNorm.backward(array(gc), gc.offset(), array(xc), xc.offset(), half, sa.mean().toArray(), sa.invStd().toArray(), w, bs, relu, dx, 0, dw, db);
        CpuNorm.backward(array(gc), gc.offset() + halfLen, array(xc), xc.offset() + halfLen, half, sb.mean().toArray(), sb.invStd().toArray(),
            w, bs, relu, dx, halfLen, dw2, db2);
        for (int i = 0; i < c; i++) { dw[i] += dw2[i]; db[i] += db2[i]; } // as the default's ADD of the two halves' gradients
        return new BatchNormGrads(wrap(dx, shape), wrap(dw, c), wrap(db, c));
    }

    /** ReLU's mask recomputed from x inside batch norm's backward (bit for bit the default's gradients); y is not read. */
    @Override public BatchNormGrads batchNormReluTrainingBackward(Tensor dy, Tensor x, Tensor y, Tensor mean, Tensor invStd,
                                                                 Tensor weight, Tensor bias, float eps) {
        return batchNormBackward(dy, x, mean, invStd, weight, bias, true);
    }

    /** The same float operations as the default, in the same order, fused into one pass per element. */
    @Override public void sgdUpdate(Tensor p, Tensor g, Tensor buf, boolean firstStep, float lr, float momentum,
                                    float dampening, float weightDecay, boolean nesterov) {
        boolean withBuf = momentum != 0f;
        if (!p.isContiguous() || !g.isContiguous() || (withBuf && !buf.isContiguous())
            || !java.util.Arrays.equals(p.shape(), g.shape())) {
            Backend.super.sgdUpdate(p, g, buf, firstStep, lr, momentum, dampening, weightDecay, nesterov);
            return;
        }
        float[] ps = array(p), gs = array(g), bs = withBuf ? array(buf) : null;
        int po = p.offset(), go = g.offset(), bo = withBuf ? buf.offset() : 0;
        float keep = 1f - dampening, step = -lr;
        Parallel.forRange(Shapes.arrayLength(p.shape()), 8, (s, e) -> {
            for (int i = s; i < e; i++) {
                float d = weightDecay != 0f ? gs[go + i] + weightDecay * ps[po + i] : gs[go + i];
                if (withBuf) {
                    float b = firstStep ? d : bs[bo + i] * momentum + keep * d;
                    bs[bo + i] = b;
                    d = nesterov ? d + momentum * b : b;
                }
                ps[po + i] = ps[po + i] + step * d;
            }
        });
    }

    // The papers' fused ops (pages: org.pulmo.ops.Mab, SeScale, FabFuse): CpuFused's one- or two-pass loops on
    // dense arrays instead of the composed defaults. Strided inputs are copied dense first; outputs are new.

    /** t itself when contiguous, else a contiguous copy (no graph). */
    private static Tensor contiguous(Tensor t) { return t.isContiguous() ? t : t.detach().contiguous(); }

    /** A new zero-filled tensor (pooled, as every op output). */
    private static Tensor zeros(int... shape) { return Tensor.wrap(CpuStorage.zeroed(Shapes.arrayLength(shape)), shape); }

    @Override public MabOut mabForward(Tensor fRei, Tensor fRem) {
        int[] s = fRei.shape();
        Tensor a = contiguous(fRei), b = contiguous(fRem), fAm = zeros(s), lse = zeros(s[0], s[1]);
        CpuFused.mabForward(array(a), a.offset(), array(b), b.offset(), s[0] * s[1], s[2] * s[3], array(fAm), array(lse));
        return new MabOut(fAm, lse);
    }

    @Override public MabGrads mabBackward(Tensor fRei, Tensor fRem, Tensor dFAm, Tensor lse) {
        int[] s = fRei.shape();
        Tensor a = contiguous(fRei), b = contiguous(fRem), g = contiguous(dFAm), l = contiguous(lse);
        Tensor dFRei = zeros(s), dFRem = zeros(s);
        CpuFused.mabBackward(array(a), a.offset(), array(b), b.offset(), array(g), g.offset(), array(l), l.offset(),
            s[0] * s[1], s[2] * s[3], array(dFRei), array(dFRem));
        return new MabGrads(dFRei, dFRem);
    }

    @Override public Tensor mabConstantMapBackward(Tensor fRei, Tensor fRem, Tensor dFAm, Tensor lse) {
        int[] s = fRei.shape();
        Tensor a = contiguous(fRei), b = contiguous(fRem), g = contiguous(dFAm), l = contiguous(lse);
        Tensor dFRem = wrap(HostArrays.uninitialized(Shapes.arrayLength(s)), s); // every element written
        CpuFused.mabConstantMapBackward(array(a), a.offset(), array(b), b.offset(), array(g), g.offset(), array(l), l.offset(),
            s[0] * s[1], s[2] * s[3], array(dFRem));
        return dFRem;
    }

    @Override public Tensor seScaleForward(Tensor u, Tensor s) {
        int[] us = u.shape();
        Tensor ud = contiguous(u), sd = contiguous(s);
        Tensor y = wrap(HostArrays.uninitialized(Shapes.arrayLength(us)), us); // every element written
        CpuFused.seScaleForward(array(ud), ud.offset(), array(sd), sd.offset(), us[0] * us[1], us[2] * us[3], array(y));
        return y;
    }

    @Override public SeScaleGrads seScaleBackward(Tensor u, Tensor s, Tensor dy) {
        int[] us = u.shape();
        Tensor ud = contiguous(u), sd = contiguous(s), g = contiguous(dy), ds = zeros(us[0], us[1]);
        Tensor du = wrap(HostArrays.uninitialized(Shapes.arrayLength(us)), us); // every element written
        CpuFused.seScaleBackward(array(ud), ud.offset(), array(sd), sd.offset(), array(g), g.offset(), us[0] * us[1], us[2] * us[3],
            array(du), array(ds));
        return new SeScaleGrads(du, ds);
    }

    @Override public Tensor fabFuseForward(Tensor fAm, Tensor fRem, Tensor m, Tensor n) {
        int[] s = fAm.shape();
        Tensor a = contiguous(fAm), b = contiguous(fRem), md = contiguous(m), nd = contiguous(n), fFm = zeros(s);
        CpuFused.fabFuseForward(array(a), a.offset(), array(b), b.offset(), array(md), md.offset(), array(nd), nd.offset(),
            s[0] * s[1], s[2] * s[3], array(fFm));
        return fFm;
    }

    @Override public FabGrads fabFuseBackward(Tensor fAm, Tensor fRem, Tensor m, Tensor n, Tensor dFFm) {
        int[] s = fAm.shape();
        Tensor a = contiguous(fAm), b = contiguous(fRem), md = contiguous(m), nd = contiguous(n), g = contiguous(dFFm);
        Tensor dFAm = zeros(s), dFRem = zeros(s), dM = zeros(s[0], s[1]), dN = zeros(s[0], s[1]);
        CpuFused.fabFuseBackward(array(a), a.offset(), array(b), b.offset(), array(md), md.offset(), array(nd), nd.offset(),
            array(g), g.offset(), s[0] * s[1], s[2] * s[3], array(dFAm), array(dFRem), array(dM), array(dN));
        return new FabGrads(dFAm, dFRem, dM, dN);
    }

    @Override public Tensor gather(Tensor x, int dim, Tensor index) {
        int[] is = index.shape();
        Tensor xc = x.contiguous(), ic = index.contiguous();
        return wrap(CpuIndex.gather(array(xc), xc.offset(), x.shape(), dim, array(ic), ic.offset(), is), is);
    }

    @Override public Tensor scatterAdd(int[] shape, int dim, Tensor index, Tensor src) {
        Tensor sc = src.contiguous(), ic = index.contiguous();
        return wrap(CpuIndex.scatterAdd(shape, dim, array(ic), ic.offset(), index.shape(), array(sc), sc.offset()), shape.clone());
    }
}
