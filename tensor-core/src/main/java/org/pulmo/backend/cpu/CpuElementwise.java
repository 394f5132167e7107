package org.pulmo.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorMask;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.pulmo.backend.BinaryOp;
import org.pulmo.backend.UnaryOp;
import org.pulmo.backend.cpu.Strided.View;
import org.pulmo.tensor.HostArrays;
import org.pulmo.tensor.Shapes;

/**
 * Elementwise kernels over strided rows of arrays ({@link View}: data, offset, shape, strides). Each op has its own
 * tight loop (the switch sits outside the loop), with stride-1 and broadcast-scalar cases that the JIT vectorises.
 * Results are new row-major arrays of the output shape; copy, fill and addInPlace write into their destination view.
 */
final class CpuElementwise {
    private CpuElementwise() {}

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

    /** y [x's shape] = op(x). */
    static float[] unary(UnaryOp op, View x, float alpha) {
        int[] shape = x.shape();
        float[] out = HostArrays.uninitialized(Shapes.arrayLength(shape)); // every element is written
        float[] xs = x.data();
        int[][] strides = {x.strides(), Shapes.contiguousStrides(shape)};
        int sx = Strided.innerStrides(shape, strides)[0];
        Strided.forEachRow(shape, strides, new int[] {x.offset(), 0},
            (off, len) -> {
                float[] src = xs; // a strided row of x is gathered first, so each op keeps one stride-1 loop
                int xo = off[0];
                if (sx != 1) {
                    float[] tmp = new float[len];
                    for (int i = 0; i < len; i++) tmp[i] = xs[xo + i * sx];
                    src = tmp;
                    xo = 0;
                }
                unaryRow(op, alpha, src, xo, out, off[1], len);
            });
        return out;
    }

    static void unaryRow(UnaryOp op, float alpha, float[] x, int xo, float[] y, int yo, int n) {
        switch (op) {
            case NEG -> { for (int i = 0; i < n; i++) y[yo + i] = -x[xo + i]; }
            case EXP -> { for (int i = 0; i < n; i++) y[yo + i] = (float) Math.exp(x[xo + i]); }
            case LOG -> { for (int i = 0; i < n; i++) y[yo + i] = (float) Math.log(x[xo + i]); }
            case SQRT -> { for (int i = 0; i < n; i++) y[yo + i] = (float) Math.sqrt(x[xo + i]); }
            case ABS -> { for (int i = 0; i < n; i++) y[yo + i] = Math.abs(x[xo + i]); }
            case RELU -> reluRow(x, xo, y, yo, n);
            case SIGMOID -> {
                for (int i = 0; i < n; i++) {
                    float v = x[xo + i]; // stable on both sides: never exp of a large positive number
                    y[yo + i] = v >= 0 ? (float) (1.0 / (1.0 + Math.exp(-v))) : (float) (Math.exp(v) / (1.0 + Math.exp(v)));
                }
            }
            case TANH -> { for (int i = 0; i < n; i++) y[yo + i] = (float) Math.tanh(x[xo + i]); }
            case SQUARE -> { for (int i = 0; i < n; i++) { float v = x[xo + i]; y[yo + i] = v * v; } }
            case RECIPROCAL -> { for (int i = 0; i < n; i++) y[yo + i] = 1f / x[xo + i]; }
            case STEP -> stepRow(x, xo, y, yo, n);
            case SIGN -> { for (int i = 0; i < n; i++) y[yo + i] = Math.signum(x[xo + i]); }
            case POW -> { for (int i = 0; i < n; i++) y[yo + i] = (float) Math.pow(x[xo + i], alpha); }
            case SCALE -> { for (int i = 0; i < n; i++) y[yo + i] = alpha * x[xo + i]; }
            case ADD_SCALAR -> { for (int i = 0; i < n; i++) y[yo + i] = x[xo + i] + alpha; }
        }
    }

    /** c [shape] = a op b, shape the broadcast of a's and b's shapes ({@link #broadcastShape}). */
    static float[] binary(BinaryOp op, View a, View b, int[] shape) {
        float[] out = HostArrays.uninitialized(Shapes.arrayLength(shape)); // every element is written
        int[][] strides = {Shapes.broadcastStrides(a.shape(), a.strides(), shape),
            Shapes.broadcastStrides(b.shape(), b.strides(), shape), Shapes.contiguousStrides(shape)};
        int[] inner = Strided.innerStrides(shape, strides);
        float[] as = a.data(), bs = b.data();
        Strided.forEachRow(shape, strides, new int[] {a.offset(), b.offset(), 0},
            (off, len) -> binaryRow(op, as, off[0], inner[0], bs, off[1], inner[1], out, off[2], len));
        return out;
    }

    /** The output shape of {@link #binary}: the broadcast of the operands' shapes (or an error naming op). */
    static int[] broadcastShape(BinaryOp op, int[] a, int[] b) { return Shapes.broadcast(a, b, op.name().toLowerCase()); }

    static void binaryRow(BinaryOp op, float[] a, int ao, int sa, float[] b, int bo, int sb, float[] c, int co, int n) {
        if (sa == 1 && sb == 1) {
            switch (op) {
                case ADD -> { for (int i = 0; i < n; i++) c[co + i] = a[ao + i] + b[bo + i]; return; }
                case SUB -> { for (int i = 0; i < n; i++) c[co + i] = a[ao + i] - b[bo + i]; return; }
                case MUL -> { for (int i = 0; i < n; i++) c[co + i] = a[ao + i] * b[bo + i]; return; }
                case DIV -> { for (int i = 0; i < n; i++) c[co + i] = a[ao + i] / b[bo + i]; return; }
                case MAX -> { for (int i = 0; i < n; i++) c[co + i] = Math.max(a[ao + i], b[bo + i]); return; }
                case MIN -> { for (int i = 0; i < n; i++) c[co + i] = Math.min(a[ao + i], b[bo + i]); return; }
                case RELU_BACKWARD -> { reluBackwardRow(a, ao, b, bo, c, co, n); return; }
                default -> { }
            }
        } else if (sa == 1 && sb == 0) {
            float s = b[bo];
            switch (op) {
                case ADD -> { for (int i = 0; i < n; i++) c[co + i] = a[ao + i] + s; return; }
                case SUB -> { for (int i = 0; i < n; i++) c[co + i] = a[ao + i] - s; return; }
                case MUL -> { for (int i = 0; i < n; i++) c[co + i] = a[ao + i] * s; return; }
                case DIV -> { for (int i = 0; i < n; i++) c[co + i] = a[ao + i] / s; return; }
                default -> { }
            }
        } else if (sa == 0 && sb == 1) {
            float s = a[ao];
            switch (op) {
                case ADD -> { for (int i = 0; i < n; i++) c[co + i] = s + b[bo + i]; return; }
                case SUB -> { for (int i = 0; i < n; i++) c[co + i] = s - b[bo + i]; return; }
                case MUL -> { for (int i = 0; i < n; i++) c[co + i] = s * b[bo + i]; return; }
                case DIV -> { for (int i = 0; i < n; i++) c[co + i] = s / b[bo + i]; return; }
                default -> { }
            }
        }
        switch (op) {
            case ADD -> { for (int i = 0; i < n; i++) c[co + i] = a[ao + i * sa] + b[bo + i * sb]; }
            case SUB -> { for (int i = 0; i < n; i++) c[co + i] = a[ao + i * sa] - b[bo + i * sb]; }
            case MUL -> { for (int i = 0; i < n; i++) c[co + i] = a[ao + i * sa] * b[bo + i * sb]; }
            case DIV -> { for (int i = 0; i < n; i++) c[co + i] = a[ao + i * sa] / b[bo + i * sb]; }
            case MAX -> { for (int i = 0; i < n; i++) c[co + i] = Math.max(a[ao + i * sa], b[bo + i * sb]); }
            case MIN -> { for (int i = 0; i < n; i++) c[co + i] = Math.min(a[ao + i * sa], b[bo + i * sb]); }
            case POW -> { for (int i = 0; i < n; i++) c[co + i] = (float) Math.pow(a[ao + i * sa], b[bo + i * sb]); }
            case GT -> { for (int i = 0; i < n; i++) c[co + i] = a[ao + i * sa] > b[bo + i * sb] ? 1f : 0f; }
            case GE -> { for (int i = 0; i < n; i++) c[co + i] = a[ao + i * sa] >= b[bo + i * sb] ? 1f : 0f; }
            case EQ -> { for (int i = 0; i < n; i++) c[co + i] = a[ao + i * sa] == b[bo + i * sb] ? 1f : 0f; }
            case RELU_BACKWARD -> { for (int i = 0; i < n; i++) c[co + i] = b[bo + i * sb] > 0f ? a[ao + i * sa] : 0f; }
        }
    }

    /** y[i] = max(a[ao + i] + b[bo + i], 0) for i < n, split over the threads: ADD's rounding, then RELU's max. */
    static void addRelu(float[] a, int ao, float[] b, int bo, float[] y, int n) {
        int chunk = 1 << 14;
        Parallel.forRange((n + chunk - 1) / chunk, chunk, (s0, e0) -> {
            int i = s0 * chunk, end = Math.min(n, e0 * chunk);
            for (int vEnd = i + S.loopBound(end - i); i < vEnd; i += S.length())
                FloatVector.fromArray(S, a, ao + i).add(FloatVector.fromArray(S, b, bo + i)).max(0f).intoArray(y, i);
            for (; i < end; i++) y[i] = Math.max(a[ao + i] + b[bo + i], 0f);
        });
    }

    /** y = max(x, 0) with Math.max's NaN rule (NaN stays NaN), one vector at a time. */
    private static void reluRow(float[] x, int xo, float[] y, int yo, int n) {
        int i = 0;
        for (int end = S.loopBound(n); i < end; i += S.length())
            FloatVector.fromArray(S, x, xo + i).max(0f).intoArray(y, yo + i);
        for (; i < n; i++) y[yo + i] = Math.max(x[xo + i], 0f);
    }

    /**
     * y = x > 0 ? 1 : 0 (NaN gives 0): a masked blend per vector. As a scalar loop the JIT kept the branch, which random
     * signs mispredict half the time: 5.3 ms for [8, 64, 56, 56] (LayerOpsBench reluBackward's STEP, RESULTS.md), ten
     * times a copy's time.
     */
    private static void stepRow(float[] x, int xo, float[] y, int yo, int n) {
        FloatVector zero = FloatVector.zero(S), one = FloatVector.broadcast(S, 1f);
        int i = 0;
        for (int end = S.loopBound(n); i < end; i += S.length())
            zero.blend(one, FloatVector.fromArray(S, x, xo + i).compare(VectorOperators.GT, 0f)).intoArray(y, yo + i);
        for (; i < n; i++) y[yo + i] = x[xo + i] > 0 ? 1f : 0f;
    }

    /**
     * c = b > 0 ? a : 0 (a = dy, b = the ReLU's output), stride 1: a masked blend per vector. The general
     * strided loop keeps i*stride indexing, which the JIT leaves scalar; this op runs once per ReLU per step.
     */
    private static void reluBackwardRow(float[] a, int ao, float[] b, int bo, float[] c, int co, int n) {
        FloatVector zero = FloatVector.zero(S);
        int i = 0;
        for (int end = S.loopBound(n); i < end; i += S.length()) {
            FloatVector g = FloatVector.fromArray(S, a, ao + i);
            VectorMask<Float> on = FloatVector.fromArray(S, b, bo + i).compare(VectorOperators.GT, 0f);
            zero.blend(g, on).intoArray(c, co + i);
        }
        for (; i < n; i++) c[co + i] = b[bo + i] > 0f ? a[ao + i] : 0f;
    }

    /** dst = src (src broadcasts). */
    static void copy(View src, View dst) {
        int[] shape = dst.shape();
        Shapes.broadcast(src.shape(), shape, "copy");
        int[][] strides = {Shapes.broadcastStrides(src.shape(), src.strides(), shape), dst.strides()};
        checkBroadcastTarget(src.shape(), shape, "copy");
        int[] inner = Strided.innerStrides(shape, strides);
        float[] s = src.data(), d = dst.data();
        Strided.forEachRow(shape, strides, new int[] {src.offset(), dst.offset()}, (off, len) -> {
            int si = inner[0], di = inner[1];
            if (si == 1 && di == 1) System.arraycopy(s, off[0], d, off[1], len);
            else if (si == 0 && di == 1) java.util.Arrays.fill(d, off[1], off[1] + len, s[off[0]]);
            else for (int i = 0; i < len; i++) d[off[1] + i * di] = s[off[0] + i * si];
        });
    }

    static void fill(View dst, float v) {
        eachRow(dst, (d, at, stride, len) -> {
            if (stride == 1) java.util.Arrays.fill(d, at, at + len, v);
            else for (int i = 0; i < len; i++) d[at + i * stride] = v;
        });
    }

    /** One row of a single operand: its array, the row's first index, the stride along it and its length. */
    private interface Row { void row(float[] data, int at, int stride, int len); }

    /** body on every row of dst (split over the threads as {@link Strided#forEachRow} splits them). */
    private static void eachRow(View dst, Row body) {
        int[] shape = dst.shape();
        int[][] strides = {dst.strides()};
        int stride = Strided.innerStrides(shape, strides)[0];
        float[] d = dst.data();
        Strided.forEachRow(shape, strides, new int[] {dst.offset()}, (off, len) -> body.row(d, off[0], stride, len));
    }

    /** dst += alpha * src (src broadcasts to dst). */
    static void addInPlace(View dst, View src, float alpha) {
        int[] shape = dst.shape();
        checkBroadcastTarget(src.shape(), shape, "addInPlace");
        int[][] strides = {Shapes.broadcastStrides(src.shape(), src.strides(), shape), dst.strides()};
        int[] inner = Strided.innerStrides(shape, strides);
        float[] s = src.data(), d = dst.data();
        Strided.forEachRow(shape, strides, new int[] {src.offset(), dst.offset()}, (off, len) -> {
            int si = inner[0], di = inner[1], so = off[0], dof = off[1];
            if (si == 1 && di == 1) for (int i = 0; i < len; i++) d[dof + i] += alpha * s[so + i];
            else if (si == 0 && di == 1) { // a broadcast source (a mean's gradient): one value per row, hoisted
                float v = alpha * s[so];
                for (int i = 0; i < len; i++) d[dof + i] += v;
            } else for (int i = 0; i < len; i++) d[dof + i * di] += alpha * s[so + i * si];
        });
    }

    /** dst += v, every element. */
    static void addScalarInPlace(View dst, float v) {
        eachRow(dst, (d, at, stride, len) -> { for (int i = 0; i < len; i++) d[at + i * stride] += v; });
    }

    private static void checkBroadcastTarget(int[] src, int[] dst, String op) {
        int[] b = Shapes.broadcast(src, dst, op);
        if (!java.util.Arrays.equals(b, dst))
            throw new IllegalArgumentException(op + ": source of shape " + Shapes.str(src) + " does not broadcast to destination shape " + Shapes.str(dst));
    }
}
