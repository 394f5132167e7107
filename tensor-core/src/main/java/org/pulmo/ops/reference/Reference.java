package org.pulmo.ops.reference;

/**
 * Plain-loop references of the papers' fused ops and the hand-written CUDA kernels, on row-major float arrays
 * ([N, C, H, W] with hw = H*W, per-channel arrays [N, C]), sums in double: the one ground truth that the CPU's fused
 * loops (AttentionTest) and the GPU kernels (GpuParityTest) are compared with; ReferenceTest checks these against
 * compositions of tensor-core ops and their autograd.
 */
public final class Reference {
    private Reference() {}

    // ---------------------------------------------------------------- MAB (MA-Net eq. 3-5)

    /** {F_am, lse}: per plane D = (a-b)^2 (eq. 3), P = softmax_hw(D) (eq. 4), F_am = P * b (eq. 5); lse = log sum exp D. */
    public static float[][] mabForward(float[] a, float[] b, int planes, int hw) {
        float[] y = new float[a.length], lse = new float[planes];
        for (int p = 0; p < planes; p++) {
            int o = p * hw;
            double m = Double.NEGATIVE_INFINITY;
            for (int i = 0; i < hw; i++) { double t = a[o + i] - b[o + i]; m = Math.max(m, t * t); }
            double s = 0;
            for (int i = 0; i < hw; i++) { double t = a[o + i] - b[o + i]; s += Math.exp(t * t - m); }
            for (int i = 0; i < hw; i++) { double t = a[o + i] - b[o + i]; y[o + i] = (float) (Math.exp(t * t - m) / s * b[o + i]); }
            lse[p] = (float) (m + Math.log(s));
        }
        return new float[][] {y, lse};
    }

    /** {da, db}: dP = g b, dD = P (dP - sum P dP), da = 2 (a-b) dD, db = g P - 2 (a-b) dD. */
    /**
     * {da, db} in float64. dP_i - sum_j P_j dP_j is summed as sum_{j != i} P_j (dP_i - dP_j) (equal since
     * sum_j P_j = 1): O(hw^2), but free of the cancellation that costs even float64 its bits on a position holding
     * nearly all of P, so it is the truth the fused kernels' peaked-plane path is judged against.
     */
    public static float[][] mabBackward(float[] a, float[] b, float[] g, int planes, int hw) {
        float[] da = new float[a.length], db = new float[a.length];
        double[] pr = new double[hw], dp = new double[hw];
        for (int p = 0; p < planes; p++) {
            int o = p * hw;
            double m = Double.NEGATIVE_INFINITY, s = 0;
            for (int i = 0; i < hw; i++) { double t = (double) a[o + i] - b[o + i]; m = Math.max(m, t * t); }
            for (int i = 0; i < hw; i++) { double t = (double) a[o + i] - b[o + i]; pr[i] = Math.exp(t * t - m); s += pr[i]; }
            for (int i = 0; i < hw; i++) { pr[i] /= s; dp[i] = (double) g[o + i] * b[o + i]; }
            for (int i = 0; i < hw; i++) {
                double diff = 0;
                for (int j = 0; j < hw; j++) if (j != i) diff += pr[j] * (dp[i] - dp[j]);
                double t = (double) a[o + i] - b[o + i], dd = 2 * t * pr[i] * diff;
                da[o + i] = (float) dd;
                db[o + i] = (float) (g[o + i] * pr[i] - dd);
            }
        }
        return new float[][] {da, db};
    }

    // ---------------------------------------------------------------- SE

    public static float[] seSqueeze(float[] x, int planes, int hw) {
        float[] s = new float[planes];
        for (int p = 0; p < planes; p++) {
            double acc = 0;
            for (int i = 0; i < hw; i++) acc += x[p * hw + i];
            s[p] = (float) (acc / hw);
        }
        return s;
    }

    public static float[] seScale(float[] x, float[] s, int hw) {
        float[] y = new float[x.length];
        for (int i = 0; i < x.length; i++) y[i] = x[i] * s[i / hw];
        return y;
    }

    /** {dx, ds}. */
    public static float[][] seScaleBackward(float[] x, float[] s, float[] dy, int hw) {
        float[] dx = new float[x.length], ds = new float[s.length];
        for (int p = 0; p < s.length; p++) {
            double acc = 0;
            for (int i = p * hw; i < (p + 1) * hw; i++) { dx[i] = dy[i] * s[p]; acc += (double) dy[i] * x[i]; }
            ds[p] = (float) acc;
        }
        return new float[][] {dx, ds};
    }

    // ---------------------------------------------------------------- FAB (MA-Net eq. 7, 10-11)

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

    /** eq. 10: alpha = e^z1 / (e^z1 + e^z2), written as 1 / (1 + e^(z2 - z1)). */
    public static double alpha(float z1, float z2) { return 1.0 / (1.0 + Math.exp((double) z2 - z1)); }

    /** eq. 11: y = alpha x1 + (1 - alpha) x2. */
    public static float[] fabFuse(float[] x1, float[] x2, float[] z1, float[] z2, int hw) {
        float[] y = new float[x1.length];
        for (int i = 0; i < y.length; i++) {
            double al = alpha(z1[i / hw], z2[i / hw]);
            y[i] = (float) (al * x1[i] + (1 - al) * x2[i]);
        }
        return y;
    }

    /** {dx1, dx2, dz1, dz2}. */
    public static float[][] fabFuseBackward(float[] x1, float[] x2, float[] z1, float[] z2, float[] dy, int hw) {
        int planes = z1.length;
        float[] dx1 = new float[x1.length], dx2 = new float[x1.length], dz1 = new float[planes], dz2 = new float[planes];
        for (int p = 0; p < planes; p++) {
            double al = alpha(z1[p], z2[p]), acc = 0;
            for (int i = p * hw; i < (p + 1) * hw; i++) {
                dx1[i] = (float) (al * dy[i]);
                dx2[i] = (float) ((1 - al) * dy[i]);
                acc += (double) dy[i] * (x1[i] - x2[i]);
            }
            dz1[p] = (float) (al * (1 - al) * acc);
            dz2[p] = -dz1[p];
        }
        return new float[][] {dx1, dx2, dz1, dz2};
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
