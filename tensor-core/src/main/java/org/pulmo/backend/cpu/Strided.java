package org.pulmo.backend.cpu;

import org.pulmo.tensor.Shapes;

/**
 * Walks strided views row by row. Dims are coalesced first (adjacent dims that are contiguous for every
 * operand merge, size-1 dims drop), so that an NCHW tensor plus a [1, C, 1, 1] bias becomes N*C rows of
 * H*W contiguous elements against one scalar each.
 */
final class Strided {
    private Strided() {}

    /**
     * A strided view of a float array, as the CPU kernels take an operand that may be any view: element
     * (i_0, .., i_k) is {@code data[offset + sum_d i_d strides[d]]}. {@link CpuBackend} makes one from a tensor.
     */
    record View(float[] data, int offset, int[] shape, int[] strides) {}

    /** A layout after coalescing: shape plus one stride row per operand. */
    static final class Layout {
        final int[] shape;
        final int[][] strides;
        final int rank;

        Layout(int[] shape, int[][] strides) {
            int r = shape.length, ops = strides.length;
            int[] sh = new int[Math.max(r, 1)];
            int[][] st = new int[ops][Math.max(r, 1)];
            int k = 0;
            for (int i = 0; i < r; i++) {
                if (shape[i] == 1) continue;
                boolean merge = k > 0;
                for (int o = 0; o < ops && merge; o++) merge = st[o][k - 1] == strides[o][i] * shape[i];
                if (merge) {
                    sh[k - 1] *= shape[i];
                    for (int o = 0; o < ops; o++) st[o][k - 1] = strides[o][i];
                } else {
                    sh[k] = shape[i];
                    for (int o = 0; o < ops; o++) st[o][k] = strides[o][i];
                    k++;
                }
            }
            if (k == 0) { sh[0] = 1; k = 1; for (int o = 0; o < ops; o++) st[o][0] = 0; }
            this.rank = k;
            this.shape = java.util.Arrays.copyOf(sh, k);
            this.strides = new int[ops][];
            for (int o = 0; o < ops; o++) this.strides[o] = java.util.Arrays.copyOf(st[o], k);
        }

        int inner() { return shape[rank - 1]; }

        int innerStride(int op) { return strides[op][rank - 1]; }

        /** 0 for an empty tensor (a size-0 dim may be the inner one). */
        long rows() { return inner() == 0 ? 0 : Shapes.numel(shape) / inner(); }

        /** Element offset of operand {@code op} at the start of row {@code row}. */
        int rowOffset(int op, long row) {
            int off = 0;
            for (int d = rank - 2; d >= 0; d--) {
                int c = (int) (row % shape[d]);
                row /= shape[d];
                off += c * strides[op][d];
            }
            return off;
        }
    }

    @FunctionalInterface
    interface RowBody { void row(int[] offsets, int len); }

    /**
     * Calls body for every row with each operand's element offset (base offset included). Runs rows in
     * parallel when there is enough work.
     */
    static void forEachRow(int[] shape, int[][] strides, int[] baseOffsets, RowBody body) {
        Layout l = new Layout(shape, strides);
        int ops = strides.length;
        int rows = (int) l.rows(), inner = l.inner();
        if (rows == 0) return; // an empty tensor: nothing to visit (and no division by zero below)
        // Few long rows (a whole contiguous tensor is one row): cut each row into pieces so all cores work.
        int pieces = rows >= 4 * Parallel.threads() ? 1 : Math.max(1, Math.min(4 * Parallel.threads() / rows, inner / 4096));
        int chunk = (inner + pieces - 1) / pieces;
        int[] innerStride = new int[ops];
        for (int o = 0; o < ops; o++) innerStride[o] = l.innerStride(o);
        Parallel.forRange(rows * pieces, chunk, (s, e) -> {
            int[] offs = new int[ops];
            for (int t = s; t < e; t++) {
                int r = t / pieces, start = (t % pieces) * chunk, len = Math.min(chunk, inner - start);
                if (len <= 0) continue;
                for (int o = 0; o < ops; o++) offs[o] = baseOffsets[o] + l.rowOffset(o, r) + start * innerStride[o];
                body.row(offs, len);
            }
        });
    }

    /** Inner strides after coalescing (for kernels that specialise on stride 1 and 0). */
    static int[] innerStrides(int[] shape, int[][] strides) {
        Layout l = new Layout(shape, strides);
        int[] r = new int[strides.length];
        for (int o = 0; o < r.length; o++) r[o] = l.innerStride(o);
        return r;
    }
}
