package org.pulmo.backend.cpu;

import static org.pulmo.backend.cpu.Strided.array;

import org.pulmo.tensor.CpuStorage;
import org.pulmo.tensor.HostArrays;
import org.pulmo.tensor.Shapes;
import org.pulmo.tensor.Tensor;

/** gather and scatter-add along one dim, over [outer, D, inner] views; index values are checked. */
final class CpuIndex {
    private CpuIndex() {}

    private static int checkedIndex(float v, int size, int dim, int pos) {
        int i = (int) v;
        if (i != v || i < 0 || i >= size)
            throw new IndexOutOfBoundsException("index " + v + " at position " + pos + " is out of range [0, " + size + ") for dimension " + dim);
        return i;
    }

    static Tensor gather(Tensor x, int dim, Tensor index) {
        int[] is = index.shape(), xsShape = x.shape();
        int outer = 1, inner = 1, di = is[dim], dx = xsShape[dim];
        for (int i = 0; i < dim; i++) outer *= is[i];
        for (int i = dim + 1; i < is.length; i++) inner *= is[i];
        Tensor xc = x.contiguous(), ic = index.contiguous();
        float[] xs = array(xc), ix = array(ic), out = HostArrays.zeroed(outer * di * inner);
        int xb = xc.offset(), ib = ic.offset();
        for (int o = 0; o < outer; o++)
            for (int k = 0; k < di; k++)
                for (int j = 0; j < inner; j++) {
                    int p = (o * di + k) * inner + j;
                    out[p] = xs[xb + (o * dx + checkedIndex(ix[ib + p], dx, dim, p)) * inner + j];
                }
        return Tensor.wrap(CpuStorage.pooled(out), is);
    }

    static Tensor scatterAdd(int[] shape, int dim, Tensor index, Tensor src) {
        int[] is = index.shape();
        int outer = 1, inner = 1, di = is[dim], dx = shape[dim];
        for (int i = 0; i < dim; i++) outer *= is[i];
        for (int i = dim + 1; i < is.length; i++) inner *= is[i];
        Tensor sc = src.contiguous(), ic = index.contiguous();
        float[] ss = array(sc), ix = array(ic), out = HostArrays.zeroed((int) Shapes.numel(shape));
        int sb = sc.offset(), ib = ic.offset();
        for (int o = 0; o < outer; o++)
            for (int k = 0; k < di; k++)
                for (int j = 0; j < inner; j++) {
                    int p = (o * di + k) * inner + j;
                    out[(o * dx + checkedIndex(ix[ib + p], dx, dim, p)) * inner + j] += ss[sb + p];
                }
        return Tensor.wrap(CpuStorage.pooled(out), shape.clone());
    }
}
