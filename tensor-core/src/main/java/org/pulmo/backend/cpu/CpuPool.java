package org.pulmo.backend.cpu;

import static org.pulmo.backend.cpu.Strided.array;

import org.pulmo.backend.Pool2dParams;
import org.pulmo.tensor.CpuStorage;
import org.pulmo.tensor.Tensor;

/** Max and average pooling over NCHW planes, one plane per task. */
final class CpuPool {
    private CpuPool() {}

    /** {y, argmax}; argmax = flat index h*W + w inside the input plane (kept for backward). */
    static Tensor[] maxPool2d(Tensor x, Pool2dParams p) {
        int[] s = x.shape();
        int n = s[0], c = s[1], h = s[2], w = s[3], oh = p.outH(h), ow = p.outW(w);
        Tensor xc = x.contiguous();
        float[] xs = array(xc);
        int xb = xc.offset();
        float[] y = new float[n * c * oh * ow], arg = new float[y.length];
        Parallel.forRange(n * c, (long) oh * ow * p.kH() * p.kW(), (s0, e0) -> {
            for (int pl = s0; pl < e0; pl++) {
                int xo = xb + pl * h * w, yo = pl * oh * ow;
                for (int i = 0; i < oh; i++) {
                    int h0 = i * p.strideH() - p.padH();
                    for (int j = 0; j < ow; j++) {
                        int w0 = j * p.strideW() - p.padW();
                        float best = Float.NEGATIVE_INFINITY;
                        int bi = -1;
                        for (int a = Math.max(h0, 0); a < Math.min(h0 + p.kH(), h); a++)
                            for (int b = Math.max(w0, 0); b < Math.min(w0 + p.kW(), w); b++) {
                                float v = xs[xo + a * w + b];
                                if (v > best || bi < 0 || Float.isNaN(v)) { best = v; bi = a * w + b; }
                            }
                        y[yo + i * ow + j] = best;
                        arg[yo + i * ow + j] = bi;
                    }
                }
            }
        });
        int[] os = {n, c, oh, ow};
        return new Tensor[] {Tensor.wrap(new CpuStorage(y), os), Tensor.wrap(new CpuStorage(arg), os)};
    }

    static Tensor maxPool2dBackward(Tensor dy, Tensor argmax, int[] xShape) {
        int n = xShape[0], c = xShape[1], h = xShape[2], w = xShape[3];
        int[] ys = dy.shape();
        int plane = ys[2] * ys[3];
        Tensor g = dy.contiguous(), a = argmax.contiguous();
        float[] gs = array(g), as = array(a), dx = new float[n * c * h * w];
        int gb = g.offset(), ab = a.offset();
        Parallel.forRange(n * c, plane, (s0, e0) -> {
            for (int pl = s0; pl < e0; pl++)
                for (int k = 0; k < plane; k++)
                    dx[pl * h * w + (int) as[ab + pl * plane + k]] += gs[gb + pl * plane + k];
        });
        return Tensor.wrap(new CpuStorage(dx), xShape.clone());
    }

    private static int divisor(Pool2dParams p, int h0, int w0, int h, int w) {
        if (p.countIncludePad()) {
            int hEnd = Math.min(h0 + p.kH(), h + p.padH()), wEnd = Math.min(w0 + p.kW(), w + p.padW());
            return (hEnd - h0) * (wEnd - w0);
        }
        return (Math.min(h0 + p.kH(), h) - Math.max(h0, 0)) * (Math.min(w0 + p.kW(), w) - Math.max(w0, 0));
    }

    static Tensor avgPool2d(Tensor x, Pool2dParams p) {
        int[] s = x.shape();
        int n = s[0], c = s[1], h = s[2], w = s[3], oh = p.outH(h), ow = p.outW(w);
        Tensor xc = x.contiguous();
        float[] xs = array(xc);
        int xb = xc.offset();
        float[] y = new float[n * c * oh * ow];
        Parallel.forRange(n * c, (long) oh * ow * p.kH() * p.kW(), (s0, e0) -> {
            for (int pl = s0; pl < e0; pl++) {
                int xo = xb + pl * h * w, yo = pl * oh * ow;
                for (int i = 0; i < oh; i++) {
                    int h0 = i * p.strideH() - p.padH();
                    for (int j = 0; j < ow; j++) {
                        int w0 = j * p.strideW() - p.padW();
                        float sum = 0;
                        for (int a = Math.max(h0, 0); a < Math.min(h0 + p.kH(), h); a++)
                            for (int b = Math.max(w0, 0); b < Math.min(w0 + p.kW(), w); b++) sum += xs[xo + a * w + b];
                        y[yo + i * ow + j] = sum / divisor(p, h0, w0, h, w);
                    }
                }
            }
        });
        return Tensor.wrap(new CpuStorage(y), new int[] {n, c, oh, ow});
    }

    static Tensor avgPool2dBackward(Tensor dy, int[] xShape, Pool2dParams p) {
        int n = xShape[0], c = xShape[1], h = xShape[2], w = xShape[3];
        int oh = p.outH(h), ow = p.outW(w);
        Tensor g = dy.contiguous();
        float[] gs = array(g), dx = new float[n * c * h * w];
        int gb = g.offset();
        Parallel.forRange(n * c, (long) oh * ow * p.kH() * p.kW(), (s0, e0) -> {
            for (int pl = s0; pl < e0; pl++) {
                int xo = pl * h * w, yo = gb + pl * oh * ow;
                for (int i = 0; i < oh; i++) {
                    int h0 = i * p.strideH() - p.padH();
                    for (int j = 0; j < ow; j++) {
                        int w0 = j * p.strideW() - p.padW();
                        float v = gs[yo + i * ow + j] / divisor(p, h0, w0, h, w);
                        for (int a = Math.max(h0, 0); a < Math.min(h0 + p.kH(), h); a++)
                            for (int b = Math.max(w0, 0); b < Math.min(w0 + p.kW(), w); b++) dx[xo + a * w + b] += v;
                    }
                }
            }
        });
        return Tensor.wrap(new CpuStorage(dx), xShape.clone());
    }
}
