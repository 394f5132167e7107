package org.pulmo.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.pulmo.backend.ReduceOp;
import org.pulmo.backend.cpu.Strided.View;
import org.pulmo.tensor.HostArrays;
import org.pulmo.tensor.Shapes;

/**
 * Reductions on arrays: one output element per combination of kept indices, summed in double for accuracy.
 * Results are row-major arrays of {@link #reducedShape}.
 */
final class CpuReduce {
    private CpuReduce() {}

    /** op over {@code dims} of the view x (dims sorted, distinct, non-negative). */
    static float[] reduce(ReduceOp op, View x, int[] dims) {
        int[] shape = x.shape(), strides = x.strides();
        int r = shape.length;
        boolean[] red = new boolean[r];
        for (int d : dims) red[d] = true;
        int nk = 0;
        for (int d = 0; d < r; d++) if (!red[d]) nk++;
        int[] kShape = new int[nk], kStr = new int[nk], rShape = new int[r - nk], rStr = new int[r - nk];
        for (int d = 0, k = 0, q = 0; d < r; d++) {
            if (red[d]) { rShape[q] = shape[d]; rStr[q++] = strides[d]; }
            else { kShape[k] = shape[d]; kStr[k++] = strides[d]; }
        }
        int outN = Shapes.arrayLength(kShape);
        long redN = Shapes.numel(rShape);
        if (redN == 0 && op != ReduceOp.SUM)
            throw new IllegalArgumentException(op.name().toLowerCase() + ": reduction over an empty dimension of shape " + Shapes.str(shape));
        float[] out = HostArrays.zeroed(outN);
        float[] xs = x.data();
        Strided.Layout inner = new Strided.Layout(rShape, new int[][] {rStr});
        int innerLen = inner.inner(), innerStride = inner.innerStride(0);
        long rows = inner.rows();
        Strided.Layout outer = new Strided.Layout(kShape, new int[][] {kStr});
        int oInner = outer.inner(), oStride = outer.innerStride(0);
        int base = x.offset();
        Parallel.forRange(outN, redN, (s, e) -> {
            float[] lanes = new float[S.length()];
            for (int o = s; o < e; o++) {
                int ob = base + outer.rowOffset(0, o / oInner) + (o % oInner) * oStride;
                double acc = op == ReduceOp.SUM ? 0 : op == ReduceOp.MAX ? Double.NEGATIVE_INFINITY : Double.POSITIVE_INFINITY;
                for (long row = 0; row < rows; row++) {
                    int p = ob + inner.rowOffset(0, row);
                    switch (op) {
                        case SUM -> {
                            // float partials over blocks of 256, added in double: after coalescing a row can be
                            // the whole tensor, and one float running sum over millions of values drifts by %
                            if (innerStride == 1) { acc += sumContiguous(xs, p, innerLen, lanes); continue; }
                            for (int i0 = 0; i0 < innerLen; i0 += 256) {
                                float part = 0f;
                                for (int i = i0, e1 = Math.min(innerLen, i0 + 256); i < e1; i++) part += xs[p + i * innerStride];
                                acc += part;
                            }
                        }
                        case MAX -> { for (int i = 0; i < innerLen; i++) acc = Math.max(acc, xs[p + i * innerStride]); }
                        case MIN -> { for (int i = 0; i < innerLen; i++) acc = Math.min(acc, xs[p + i * innerStride]); }
                    }
                }
                out[o] = (float) acc;
            }
        });
        return out;
    }

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;

    /**
     * The sum of xs[p, p + n) as {@link #reduce} sums a row, blocks of 256 added in double, each block's float partial
     * taken one vector at a time (lane l sums elements l, l + L, ...; the lanes then added in {@link Lanes#sum}'s fixed
     * order; {@code lanes} holds one vector's floats for that). A running float sum waits on each add before the next (about 4 cycles an element); the vector has L
     * independent sums, so a sum over a channel plane runs at memory speed (SE's squeeze over DPN-92's [8, 1048, 14, 14]
     * in a training step: 548 to 187 us a call on 2 threads).
     */
    static double sumContiguous(float[] xs, int p, int n, float[] lanes) {
        double acc = 0;
        for (int i0 = 0; i0 < n; i0 += 256) {
            int e1 = Math.min(n, i0 + 256), i = i0;
            float part = 0f;
            if (e1 - i0 >= 2 * S.length()) { // under two vectors the plain loop is as fast (16 values: 5.6 against 7.1 ns)
                FloatVector v = FloatVector.zero(S);
                for (int vEnd = i0 + S.loopBound(e1 - i0); i < vEnd; i += S.length()) v = v.add(FloatVector.fromArray(S, xs, p + i));
                v.intoArray(lanes, 0);
                part = Lanes.sum(lanes, 0, lanes.length);
            }
            for (; i < e1; i++) part += xs[p + i];
            acc += part;
        }
        return acc;
    }

    /** The shape of a reduction of {@code shape} over {@code dims}. */
    static int[] reducedShape(int[] shape, int[] dims, boolean keepdim) {
        boolean[] red = new boolean[shape.length];
        for (int d : dims) red[d] = true;
        return reducedShape(shape, red, keepdim);
    }

    static int[] reducedShape(int[] shape, boolean[] red, boolean keepdim) {
        int n = 0;
        for (int d = 0; d < shape.length; d++) if (keepdim || !red[d]) n++;
        int[] s = new int[n];
        for (int d = 0, k = 0; d < shape.length; d++) {
            if (!red[d]) s[k++] = shape[d];
            else if (keepdim) s[k++] = 1;
        }
        return s;
    }

    /** Throws unless dimension {@code dim} of {@code shape} has elements to take an arg-max or arg-min of. */
    static void checkArgReduce(ReduceOp op, int[] shape, int dim) {
        if (shape[dim] == 0) throw new IllegalArgumentException("arg" + op.name().toLowerCase() + ": empty dimension " + dim + " of shape " + Shapes.str(shape));
    }

    /**
     * The index (as a float) of the max (or min) along {@code dim} of a contiguous [shape] from xs[base], ties to the
     * first, NaN passed over (a row of NaN alone gives NaN, no index); row-major over the other dims
     * ({@link #reducedShape} with that dim dropped or kept as 1).
     */
    static float[] argReduce(ReduceOp op, float[] xs, int base, int[] shape, int dim) {
        checkArgReduce(op, shape, dim);
        int len = shape[dim];
        int outer = 1, inner = 1;
        for (int d = 0; d < dim; d++) outer *= shape[d];
        for (int d = dim + 1; d < shape.length; d++) inner *= shape[d];
        float[] out = HostArrays.zeroed(outer * inner);
        boolean max = op == ReduceOp.MAX;
        int fi = inner;
        Parallel.forRange(outer * inner, len, (s, e) -> {
            for (int o = s; o < e; o++) {
                int p = base + (o / fi) * len * fi + o % fi;
                int best = -1;
                float bv = 0;
                for (int i = 0; i < len; i++) {
                    float v = xs[p + i * fi];
                    if (v != v) continue;                                        // NaN: never the answer
                    if (best < 0 || (max ? v > bv : v < bv)) { bv = v; best = i; }
                }
                out[o] = best < 0 ? Float.NaN : best;
            }
        });
        return out;
    }
}
