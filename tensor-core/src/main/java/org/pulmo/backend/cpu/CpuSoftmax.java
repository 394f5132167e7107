package org.pulmo.backend.cpu;

import org.pulmo.tensor.HostArrays;

/**
 * Softmax and log-softmax along one dim of a contiguous row-major array of the given shape (from an offset), seen as
 * [outer, D, inner]; the max is subtracted before exp. Results are new arrays of the same shape.
 */
final class CpuSoftmax {
    private CpuSoftmax() {}

    static float[] softmax(float[] xs, int xb, int[] s, int dim, boolean log) {
        int d = s[dim], outer = 1, inner = 1;
        for (int i = 0; i < dim; i++) outer *= s[i];
        for (int i = dim + 1; i < s.length; i++) inner *= s[i];
        float[] y = HostArrays.zeroed(outer * d * inner);
        int in = inner;
        Parallel.forRange(outer * inner, 3L * d, (s0, e0) -> {
            for (int o = s0; o < e0; o++) {
                int base = (o / in) * d * in + o % in;
                float m = Float.NEGATIVE_INFINITY;
                for (int k = 0; k < d; k++) m = Math.max(m, xs[xb + base + k * in]);
                double sum = 0;
                for (int k = 0; k < d; k++) {
                    float e = (float) Math.exp(xs[xb + base + k * in] - m);
                    if (!log) y[base + k * in] = e;
                    sum += e;
                }
                if (log) {
                    // (x - max) - log(sum), not x - (max + log(sum)): the float max + log(sum) would round
                    // log(sum) to the coarse spacing of large logits
                    float logSum = (float) Math.log(sum);
                    for (int k = 0; k < d; k++) y[base + k * in] = (xs[xb + base + k * in] - m) - logSum;
                } else {
                    float inv = (float) (1.0 / sum);
                    for (int k = 0; k < d; k++) y[base + k * in] *= inv;
                }
            }
        });
        return y;
    }

    /** softmax: dx = y * (dy - sum(dy*y)); log-softmax: dx = dy - exp(y) * sum(dy). */
    static float[] backward(float[] ys, int yb, float[] gs, int gb, int[] s, int dim, boolean log) {
        int d = s[dim], outer = 1, inner = 1;
        for (int i = 0; i < dim; i++) outer *= s[i];
        for (int i = dim + 1; i < s.length; i++) inner *= s[i];
        float[] dx = HostArrays.zeroed(outer * d * inner);
        int in = inner;
        Parallel.forRange(outer * inner, 3L * d, (s0, e0) -> {
            for (int o = s0; o < e0; o++) {
                int base = (o / in) * d * in + o % in;
                double dot = 0;
                for (int k = 0; k < d; k++) {
                    int i = base + k * in;
                    dot += log ? gs[gb + i] : gs[gb + i] * ys[yb + i];
                }
                float f = (float) dot;
                for (int k = 0; k < d; k++) {
                    int i = base + k * in;
                    dx[i] = log ? gs[gb + i] - (float) Math.exp(ys[yb + i]) * f : ys[yb + i] * (gs[gb + i] - f);
                }
            }
        });
        return dx;
    }
}
