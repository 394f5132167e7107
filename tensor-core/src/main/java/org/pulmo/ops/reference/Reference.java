package org.pulmo.ops.reference;

/**
 * Plain-loop references of the hand-written kernels that have no op page of their own (the squeezes of SE and FAB,
 * softmax cross-entropy, cosine similarity, the fused SGD step), on row-major float arrays ([N, C, H, W] with
 * hw = H*W, per-channel arrays [N, C]), sums in double: the one ground truth that the GPU kernels (GpuParityTest)
 * are compared with; ReferenceTest checks these against compositions of tensor-core ops and their autograd. The
 * papers' ops and conv2d carry their references on their pages: {@link org.pulmo.ops.Mab},
 * {@link org.pulmo.ops.SeScale}, {@link org.pulmo.ops.FabFuse}, {@link org.pulmo.ops.Convolution}.
 */
public final class Reference {
    private Reference() {}

    // ---------------------------------------------------------------- SE squeeze (Hu et al. eq. 2), se_squeeze

    /** s[p] = mean_hw x, the channel means [N, C] of [N, C, H, W]. */
    public static float[] seSqueeze(float[] x, int planes, int hw) {
        float[] s = new float[planes];
        for (int p = 0; p < planes; p++) {
            double acc = 0;
            for (int i = 0; i < hw; i++) acc += x[p * hw + i];
            s[p] = (float) (acc / hw);
        }
        return s;
    }

    // ---------------------------------------------------------------- FAB squeeze (MA-Net eq. 7), fab_squeeze

    /** {avg, max, argmax (first of ties)} per plane. */
    public static float[][] fabSqueeze(float[] u, int planes, int hw) {
        float[] avg = new float[planes], mx = new float[planes], arg = new float[planes];
        for (int p = 0; p < planes; p++) {
            double acc = 0;
            float best = Float.NEGATIVE_INFINITY;
            int bi = -1;
            for (int i = 0; i < hw; i++) {
                float v = u[p * hw + i];
                acc += v;
                if (bi < 0 || v > best) { best = v; bi = i; }
            }
            avg[p] = (float) (acc / hw);
            mx[p] = best;
            arg[p] = bi;
        }
        return new float[][] {avg, mx, arg};
    }

    public static float[] fabSqueezeBackward(float[] dAvg, float[] dMax, float[] arg, int hw) {
        float[] du = new float[dAvg.length * hw];
        for (int p = 0; p < dAvg.length; p++)
            for (int i = 0; i < hw; i++) du[p * hw + i] = dAvg[p] / hw + (i == (int) arg[p] ? dMax[p] : 0f);
        return du;
    }

    // ---------------------------------------------------------------- softmax cross-entropy

    /** {loss, wsum}: sum_i w[y_i] (lse_i - x[i, y_i]) / sum_i w[y_i]; weights may be null. */
    public static float[] crossEntropy(float[] x, float[] labels, float[] weights, int n, int c) {
        double l = 0, ws = 0;
        for (int i = 0; i < n; i++) {
            double m = Double.NEGATIVE_INFINITY, s = 0;
            for (int j = 0; j < c; j++) m = Math.max(m, x[i * c + j]);
            for (int j = 0; j < c; j++) s += Math.exp(x[i * c + j] - m);
            int y = (int) labels[i];
            double w = weights == null ? 1 : weights[y];
            l += w * (m + Math.log(s) - x[i * c + y]);
            ws += w;
        }
        return new float[] {(float) (l / ws), (float) ws};
    }

    public static float[] crossEntropyBackward(float[] x, float[] labels, float[] weights, int n, int c, float dLoss) {
        float[] dx = new float[n * c];
        double ws = 0;
        for (int i = 0; i < n; i++) ws += weights == null ? 1 : weights[(int) labels[i]];
        for (int i = 0; i < n; i++) {
            double m = Double.NEGATIVE_INFINITY, s = 0;
            for (int j = 0; j < c; j++) m = Math.max(m, x[i * c + j]);
            for (int j = 0; j < c; j++) s += Math.exp(x[i * c + j] - m);
            int y = (int) labels[i];
            double k = dLoss * (weights == null ? 1 : weights[y]) / ws;
            for (int j = 0; j < c; j++) dx[i * c + j] = (float) (k * (Math.exp(x[i * c + j] - m) / s - (j == y ? 1 : 0)));
        }
        return dx;
    }

    // ---------------------------------------------------------------- cosine similarity (MA-Net eq. 14)

    /** (1/N) sum_n <a_n, b_n> / (max(|a_n|, eps) max(|b_n|, eps)) over rows of length d. */
    public static float cosine(float[] a, float[] b, int n, int d, float eps) {
        double acc = 0;
        for (int r = 0; r < n; r++) {
            double[] s = rowStats(a, b, r, d, eps);
            acc += s[0] / (s[1] * s[2]);
        }
        return (float) (acc / n);
    }

    private static double[] rowStats(float[] a, float[] b, int r, int d, float eps) {
        double dot = 0, aa = 0, bb = 0;
        for (int i = r * d; i < (r + 1) * d; i++) { dot += (double) a[i] * b[i]; aa += (double) a[i] * a[i]; bb += (double) b[i] * b[i]; }
        double e2 = (double) eps * eps;
        return new double[] {dot, Math.sqrt(Math.max(aa, e2)), Math.sqrt(Math.max(bb, e2)), aa > e2 ? 1 : 0, bb > e2 ? 1 : 0};
    }

    /** {da, db} for upstream gradient dc of the batch mean. */
    public static float[][] cosineBackward(float[] a, float[] b, int n, int d, float eps, float dc) {
        float[] da = new float[a.length], db = new float[b.length];
        for (int r = 0; r < n; r++) {
            double[] s = rowStats(a, b, r, d, eps);
            double na = s[1], nb = s[2], c = s[0] / (na * nb), g = dc / n;
            double ka = s[3] > 0 ? c / (na * na) : 0, kb = s[4] > 0 ? c / (nb * nb) : 0;
            for (int i = r * d; i < (r + 1) * d; i++) {
                da[i] = (float) (g * (b[i] / (na * nb) - ka * a[i]));
                db[i] = (float) (g * (a[i] / (na * nb) - kb * b[i]));
            }
        }
        return new float[][] {da, db};
    }

    // ---------------------------------------------------------------- SGD with momentum (torch.optim.SGD)

    /** One step in place on p and buf (buf may be null when momentum is 0). */
    public static void sgdStep(float[] p, float[] g, float[] buf, float lr, float momentum, float dampening, boolean nesterov,
                               float weightDecay, boolean firstStep) {
        for (int i = 0; i < p.length; i++) {
            float gi = g[i];
            if (weightDecay != 0) gi += weightDecay * p[i];
            if (momentum != 0) {
                float bi = firstStep ? gi : momentum * buf[i] + (1 - dampening) * gi;
                buf[i] = bi;
                gi = nesterov ? gi + momentum * bi : bi;
            }
            p[i] -= lr * gi;
        }
    }
}
