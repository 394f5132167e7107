package org.pulmo.cuda;

import org.pulmo.tensor.Tensor;

/**
 * The Strided3 struct of common.cuh as an int[53]: rank, shape[8], stride[3][8], offset[3], magic[8], shift[8],
 * narrow. Dims are coalesced first (size-1 dims drop; adjacent dims contiguous for every operand merge), so most
 * views reach the kernel as rank 1 or 2. The kernel divides by each shape as a multiply by {@code magic} and a shift
 * ({@link #divide}) when the element count is below 2^31 ({@code narrow}), since GPUs have no integer divider;
 * {@link #offsets} is the walk the kernel makes, in Java.
 */
final class StridedArgs {
    static final int MAX_RANK = 8;
    /** Where each field of the struct starts in the array. */
    static final int SHAPE = 1, STRIDE = SHAPE + MAX_RANK, OFFSET = STRIDE + 3 * MAX_RANK, MAGIC = OFFSET + 3,
        SHIFT = MAGIC + MAX_RANK, NARROW = SHIFT + MAX_RANK, LENGTH = NARROW + 1;

    private StridedArgs() {}

    /** Operands laid over {@code shape} (each tensor's strides broadcast to it: missing/size-1 dims get stride 0). */
    static int[] of(int[] shape, Tensor... ops) {
        int r = shape.length, n = ops.length;
        int[][] st = new int[n][r];
        int[] off = new int[3];
        for (int o = 0; o < n; o++) {
            int[] ts = ops[o].shape(), tst = ops[o].strides();
            int lead = r - ts.length;
            for (int d = 0; d < ts.length; d++) st[o][lead + d] = ts[d] == 1 && shape[lead + d] != 1 ? 0 : tst[d];
            off[o] = ops[o].offset();
        }
        int[] sh = new int[Math.max(r, 1)];
        int[][] cs = new int[n][Math.max(r, 1)];
        int k = 0;
        for (int i = 0; i < r; i++) {
            if (shape[i] == 1) continue;
            // merge into the previous dim where every operand walks on contiguously, and the merged size stays an int
            boolean merge = k > 0 && (long) sh[k - 1] * shape[i] <= Integer.MAX_VALUE;
            for (int o = 0; o < n && merge; o++) merge = cs[o][k - 1] == (long) st[o][i] * shape[i];
            if (merge) {
                sh[k - 1] *= shape[i];
                for (int o = 0; o < n; o++) cs[o][k - 1] = st[o][i];
            } else {
                sh[k] = shape[i];
                for (int o = 0; o < n; o++) cs[o][k] = st[o][i];
                k++;
            }
        }
        if (k == 0) { sh[0] = 1; k = 1; }
        if (k > MAX_RANK) throw new IllegalArgumentException("CUDA kernels take at most " + MAX_RANK + " non-mergeable dims, got " + k);
        int[] a = new int[LENGTH];
        a[0] = k;
        long count = 1;
        for (int d = 0; d < k; d++) {
            a[SHAPE + d] = sh[d];
            for (int o = 0; o < n; o++) a[STRIDE + o * MAX_RANK + d] = cs[o][d];
            if (d > 0) {   // the walk divides by every dim but the outermost
                int[] ms = magic(sh[d]);
                a[MAGIC + d] = ms[0];
                a[SHIFT + d] = ms[1];
            }
            count *= sh[d];
        }
        for (int o = 0; o < 3; o++) a[OFFSET + o] = off[o];
        a[NARROW] = count < 1L << 31 ? 1 : 0;
        return a;
    }

    /**
     * {magic, shift} for dividing by {@code d} (1 <= d < 2^31) as {@link #divide} does: shift = ceil(log2 d) and
     * magic = floor(2^32 (2^shift - d) / d) + 1, an unsigned 32-bit number (the round-up method of Granlund and
     * Montgomery, "Division by invariant integers using multiplication", PLDI 1994, as PyTorch's IntDivider uses it).
     */
    static int[] magic(int d) {
        if (d < 1) throw new IllegalArgumentException("divisor must be positive, got " + d);
        int shift = 0;
        while ((1L << shift) < d) shift++;
        long m = ((1L << 32) * ((1L << shift) - d)) / d + 1;
        if (m <= 0 || m > 0xffffffffL) throw new IllegalStateException("magic number of " + d + " does not fit 32 bits: " + m);
        return new int[] {(int) m, shift};
    }

    /**
     * u / d for 0 <= u < 2^31 from d's {@link #magic} numbers, as the kernels compute it: (umulhi(u, magic) + u) >> shift,
     * in unsigned 32-bit arithmetic.
     */
    static int divide(int u, int magic, int shift) {
        long hi = (Integer.toUnsignedLong(u) * Integer.toUnsignedLong(magic)) >>> 32;
        return (int) (((hi + u) & 0xffffffffL) >>> shift);
    }

    /** The element offsets of operands 0..2 for linear index i, as common.cuh's strided_offsets walks them. */
    static long[] offsets(int[] a, long i) {
        long[] off = {a[OFFSET], a[OFFSET + 1], a[OFFSET + 2]};
        int rank = a[0];
        for (int d = rank - 1; d > 0; d--) {
            long q, c;
            if (a[NARROW] == 1) {
                q = divide((int) i, a[MAGIC + d], a[SHIFT + d]);
                c = i - q * a[SHAPE + d];
            } else {
                q = i / a[SHAPE + d];
                c = i % a[SHAPE + d];
            }
            i = q;
            for (int o = 0; o < 3; o++) off[o] += c * a[STRIDE + o * MAX_RANK + d];
        }
        for (int o = 0; o < 3; o++) off[o] += i * a[STRIDE + o * MAX_RANK];
        return off;
    }
}
