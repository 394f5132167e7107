package org.pulmo.backend.cpu;

import org.pulmo.tensor.HostArrays;
import org.pulmo.tensor.Shapes;

/**
 * gather and scatter-add along one dim of contiguous row-major arrays (each from an offset), seen as
 * [outer, D, inner]; index values (exact floats) are checked. Results are new arrays.
 */
final class CpuIndex {
    private CpuIndex() {}

    private static int checkedIndex(float v, int size, int dim, int pos) {
        if (v < 0 || v >= size)
            throw new IndexOutOfBoundsException("index " + v + " at position " + pos + " is out of range [0, " + size + ") for dimension " + dim);
        if (Math.rint(v) != v)   // NaN too
            throw new IndexOutOfBoundsException("index " + v + " at position " + pos + " is not a whole number (indices are floats"
                + " holding integers) for dimension " + dim);
        return (int) v;
    }

    /** out [is] from x [xsShape] and index [is]. */
    static float[] gather(float[] xs, int xb, int[] xsShape, int dim, float[] ix, int ib, int[] is) {
        int outer = 1, inner = 1, di = is[dim], dx = xsShape[dim];
        for (int i = 0; i < dim; i++) outer *= is[i];
        for (int i = dim + 1; i < is.length; i++) inner *= is[i];
        float[] out = HostArrays.zeroed(outer * di * inner);
        for (int o = 0; o < outer; o++)
            for (int k = 0; k < di; k++)
                for (int j = 0; j < inner; j++) {
                    int p = (o * di + k) * inner + j;
                    out[p] = xs[xb + (o * dx + checkedIndex(ix[ib + p], dx, dim, p)) * inner + j];
                }
        return out;
    }

    /** out [shape] = zeros, then out[.. index ..] += src, from index [is] and src [is]. */
    static float[] scatterAdd(int[] shape, int dim, float[] ix, int ib, int[] is, float[] ss, int sb) {
        int outer = 1, inner = 1, di = is[dim], dx = shape[dim];
        for (int i = 0; i < dim; i++) outer *= is[i];
        for (int i = dim + 1; i < is.length; i++) inner *= is[i];
        float[] out = HostArrays.zeroed(Shapes.arrayLength(shape));
        for (int o = 0; o < outer; o++)
            for (int k = 0; k < di; k++)
                for (int j = 0; j < inner; j++) {
                    int p = (o * di + k) * inner + j;
                    out[(o * dx + checkedIndex(ix[ib + p], dx, dim, p)) * inner + j] += ss[sb + p];
                }
        return out;
    }
}
