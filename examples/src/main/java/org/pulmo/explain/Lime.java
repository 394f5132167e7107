package org.pulmo.explain;

import java.util.function.Function;
import org.pulmo.data.Image;
import org.pulmo.tensor.Rng;

/**
 * LIME (Ribeiro et al., KDD 2016) for images, as the DPN-SENet paper uses it: split the image into superpixels,
 * show the model many copies with random superpixels greyed out, and fit a weighted linear model from "which
 * superpixels were on" to the class probability. Its coefficients say how much each superpixel supports the
 * class.
 * <ol>
 *   <li>z_s in {0,1}^d, each superpixel on with probability 1/2 (the first sample keeps all on);</li>
 *   <li>perturbed image: superpixels with z = 0 replaced by the image's mean colour;</li>
 *   <li>weight pi(z) = exp(-D(z)^2 / sigma^2), D = cosine distance from the all-on vector, sigma = 0.25
 *       (LIME's default kernel width for images);</li>
 *   <li>ridge fit: minimise sum_s pi_s (f_c(z_s) - b - w.z_s)^2 + lambda |w|^2, lambda = 1.</li>
 * </ol>
 */
public final class Lime {
    private Lime() {}

    public static final double KERNEL_WIDTH = 0.25, RIDGE = 1.0;

    /** Superpixel labels [H*W], their count, the weight of each superpixel, and the per-pixel map of the weights. */
    public record Result(int[] segments, int count, double[] weights, float[] map, int targetClass) {}

    /**
     * @param image     the input in [0, 1], [C, H, W]
     * @param predict   images -> class probabilities (one row per image), called in batches
     * @param target    the class to explain
     */
    public static Result explain(Image image, Function<Image[], float[][]> predict, int target, int samples, int superpixels, long seed) {
        int h = image.height(), w = image.width(), c = image.channels();
        int[] seg = Superpixels.slic(image, superpixels, 10, 8);
        int d = 0;
        for (int s : seg) d = Math.max(d, s + 1);
        float[] mean = new float[c];
        for (int ch = 0; ch < c; ch++) {
            double m = 0;
            for (int p = 0; p < h * w; p++) m += image.pixels()[ch * h * w + p];
            mean[ch] = (float) (m / (h * w));
        }
        Rng rng = new Rng(seed);
        boolean[][] z = new boolean[samples][d];
        for (int s = 0; s < samples; s++) for (int j = 0; j < d; j++) z[s][j] = s == 0 || rng.nextFloat() < 0.5f;
        double[] y = new double[samples];
        int batch = 16;
        for (int s0 = 0; s0 < samples; s0 += batch) {
            int nb = Math.min(batch, samples - s0);
            Image[] imgs = new Image[nb];
            for (int b = 0; b < nb; b++) {
                float[] px = image.pixels().clone();
                boolean[] on = z[s0 + b];
                for (int p = 0; p < h * w; p++)
                    if (!on[seg[p]]) for (int ch = 0; ch < c; ch++) px[ch * h * w + p] = mean[ch];
                imgs[b] = new Image(c, h, w, px);
            }
            float[][] probs = predict.apply(imgs);
            for (int b = 0; b < nb; b++) y[s0 + b] = probs[b][target];
        }
        double[] pi = new double[samples];
        for (int s = 0; s < samples; s++) {
            int on = 0;
            for (boolean v : z[s]) if (v) on++;
            double cos = on == 0 ? 0 : on / Math.sqrt((double) on * d);  // cosine similarity to the all-on vector
            double dist = 1 - cos;
            pi[s] = Math.exp(-dist * dist / (KERNEL_WIDTH * KERNEL_WIDTH));
        }
        double[] coef = weightedRidge(z, y, pi, RIDGE);
        double[] weights = new double[d];
        System.arraycopy(coef, 1, weights, 0, d);
        float[] map = new float[h * w];
        for (int p = 0; p < h * w; p++) map[p] = (float) weights[seg[p]];
        return new Result(seg, d, weights, map, target);
    }

    /**
     * Solves (X^T P X + lambda I') beta = X^T P y for beta = [intercept, w_1..w_d], X = [1, z], P = diag(pi); the
     * intercept is not penalised. Normal equations with Gaussian elimination and partial pivoting (d is small).
     */
    static double[] weightedRidge(boolean[][] z, double[] y, double[] pi, double lambda) {
        int n = z.length, d = z[0].length, m = d + 1;
        double[][] a = new double[m][m + 1];
        for (int s = 0; s < n; s++) {
            double[] x = new double[m];
            x[0] = 1;
            for (int j = 0; j < d; j++) x[j + 1] = z[s][j] ? 1 : 0;
            for (int i = 0; i < m; i++) {
                if (x[i] == 0) continue;
                for (int j = 0; j < m; j++) a[i][j] += pi[s] * x[i] * x[j];
                a[i][m] += pi[s] * x[i] * y[s];
            }
        }
        for (int i = 1; i < m; i++) a[i][i] += lambda;
        for (int col = 0; col < m; col++) {
            int piv = col;
            for (int r = col + 1; r < m; r++) if (Math.abs(a[r][col]) > Math.abs(a[piv][col])) piv = r;
            double[] t = a[col]; a[col] = a[piv]; a[piv] = t;
            double p = a[col][col];
            if (Math.abs(p) < 1e-12) continue;
            for (int r = 0; r < m; r++) {
                if (r == col) continue;
                double f = a[r][col] / p;
                if (f != 0) for (int k = col; k <= m; k++) a[r][k] -= f * a[col][k];
            }
        }
        double[] beta = new double[m];
        for (int i = 0; i < m; i++) beta[i] = Math.abs(a[i][i]) < 1e-12 ? 0 : a[i][m] / a[i][i];
        return beta;
    }
}
