package org.pulmo.backend.cpu;

import static org.pulmo.backend.cpu.Strided.array;

import org.pulmo.tensor.CpuStorage;
import org.pulmo.tensor.HostArrays;
import org.pulmo.tensor.Tensor;

/** Softmax and log-softmax along one dim, seen as [outer, D, inner]; the max is subtracted before exp. */
final class CpuSoftmax {
    private CpuSoftmax() {}

    static Tensor softmax(Tensor x, int dim, boolean log) {
        int[] s = x.shape();
        int d = s[dim], outer = 1, inner = 1;
        for (int i = 0; i < dim; i++) outer *= s[i];
        for (int i = dim + 1; i < s.length; i++) inner *= s[i];
        Tensor xc = x.contiguous();
        float[] xs = array(xc), y = HostArrays.zeroed(outer * d * inner);
        int xb = xc.offset(), in = inner;
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
        return Tensor.wrap(CpuStorage.pooled(y), s);
    }

    /** softmax: dx = y * (dy - sum(dy*y)); log-softmax: dx = dy - exp(y) * sum(dy). */
    static Tensor backward(Tensor y, Tensor dy, int dim, boolean log) {
        int[] s = y.shape();
        int d = s[dim], outer = 1, inner = 1;
        for (int i = 0; i < dim; i++) outer *= s[i];
        for (int i = dim + 1; i < s.length; i++) inner *= s[i];
        Tensor yc = y.contiguous(), gc = dy.contiguous();
        float[] ys = array(yc), gs = array(gc), dx = HostArrays.zeroed(outer * d * inner);
        int yb = yc.offset(), gb = gc.offset(), in = inner;
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
        return Tensor.wrap(CpuStorage.pooled(dx), s);
    }
}
