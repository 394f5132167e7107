package org.pulmo.cuda;

import org.pulmo.tensor.Tensor;

/**
 * The Strided3 struct of common.cuh as an int[36]: rank, shape[8], stride[3][8], offset[3]. Dims are
 * coalesced first (size-1 dims drop; adjacent dims contiguous for every operand merge), so most views reach
 * the kernel as rank 1 or 2.
 */
final class StridedArgs {
    static final int MAX_RANK = 8;

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
            boolean merge = k > 0;
            for (int o = 0; o < n && merge; o++) merge = cs[o][k - 1] == st[o][i] * shape[i];
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
        int[] a = new int[1 + MAX_RANK + 3 * MAX_RANK + 3];
        a[0] = k;
        for (int d = 0; d < k; d++) {
            a[1 + d] = sh[d];
            for (int o = 0; o < n; o++) a[1 + MAX_RANK + o * MAX_RANK + d] = cs[o][d];
        }
        for (int o = 0; o < 3; o++) a[1 + MAX_RANK + 3 * MAX_RANK + o] = off[o];
        return a;
    }
}
