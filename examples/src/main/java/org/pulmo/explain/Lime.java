package org.pulmo.explain;

import java.util.function.Function;
import org.pulmo.data.Image;
import org.pulmo.tensor.Rng;

/**
 * LIME (Ribeiro et al., KDD 2016) for images, as the DPN-SENet paper uses it: split the image into superpixels,
 * show the model many copies with random superpixels hidden, and fit a weighted linear model from "which
 * superpixels were on" to the class probability. Its coefficients say how much each superpixel supports the
 * class.
 * <ol>
 *   <li>z_s in {0,1}^d, each superpixel on with probability 1/2 (the first sample keeps all on);</li>
 *   <li>perturbed image: each superpixel with z = 0 filled with its own mean colour (the reference
 *       {@code lime} package's {@code hide_color=None});</li>
 *   <li>weight pi(z) = sqrt(exp(-D(z)^2 / sigma^2)), D = cosine distance from the all-on vector, sigma = 0.25
 *       ({@code lime}'s kernel and its default kernel width for images);</li>
 *   <li>ridge fit: minimise sum_s pi_s (f_c(z_s) - b - w.z_s)^2 + lambda |w|^2, lambda = 1 ({@code lime}'s
 *       {@code Ridge(alpha=1)} on every superpixel).</li>
 * </ol>
 * The sample count is the caller's; {@code lime}'s default is 1000 ({@code pulmo explain}'s too).
 *
 * <p>Departure: these are the released {@code lime} package's choices, which differ from the paper's own text
 * (docs/FIDELITY.md): the paper's kernel is exp(-D^2 / sigma^2) without the square root (Sec. 3.3; the root makes
 * the effective width 0.25 * sqrt(2)), it draws how many features to keep uniformly and then which ones, it suggests
 * an L2 distance for images, and its Algorithm 1 fits K-LASSO on K chosen features, where this fits ridge on every
 * superpixel. Every superpixel's signed weight is returned and drawn; {@code lime}'s display keeps the top few
 * ({@code get_image_and_mask(num_features=5)}).
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
        if (samples < 1) throw new IllegalArgumentException("LIME needs at least 1 sample, got " + samples);
        if (superpixels < 1) throw new IllegalArgumentException("LIME needs at least 1 superpixel, got " + superpixels);
        int h = image.height(), w = image.width(), c = image.channels();
        // Departure: lime_image segments with quickshift (kernel_size 4, max_dist 200, ratio 0.2); we use SLIC with
        // about `superpixels` segments, so that the count is chosen and the same on every image size (a grid of
        // round(sqrt(HW / superpixels)) steps: 49 segments for the default 40 at 224 x 224; Result.count() says how many).
        int[] seg = Superpixels.slic(image, superpixels, 10, 8);
        int d = 0;
        for (int s : seg) d = Math.max(d, s + 1);
        float[][] mean = segmentMeans(image, seg, d);                                    // [d][C]: what a hidden superpixel shows
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
                    if (!on[seg[p]]) for (int ch = 0; ch < c; ch++) px[ch * h * w + p] = mean[seg[p]][ch];
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
            pi[s] = kernel(dist);
        }
        double[] coef = weightedRidge(z, y, pi, RIDGE);
        double[] weights = new double[d];
        System.arraycopy(coef, 1, weights, 0, d);
        float[] map = new float[h * w];
        for (int p = 0; p < h * w; p++) map[p] = (float) weights[seg[p]];
        return new Result(seg, d, weights, map, target);
    }

    /** lime's kernel: sqrt(exp(-d^2 / width^2)) at width {@link #KERNEL_WIDTH}. */
    static double kernel(double d) {
        return Math.sqrt(Math.exp(-d * d / (KERNEL_WIDTH * KERNEL_WIDTH)));
    }

    /** The mean colour of each superpixel, [count][C]. */
    static float[][] segmentMeans(Image image, int[] seg, int count) {
        int c = image.channels(), plane = image.height() * image.width();
        double[][] sum = new double[count][c];
        int[] n = new int[count];
        for (int p = 0; p < plane; p++) {
            n[seg[p]]++;
            for (int ch = 0; ch < c; ch++) sum[seg[p]][ch] += image.pixels()[ch * plane + p];
        }
        float[][] mean = new float[count][c];
        for (int s = 0; s < count; s++) for (int ch = 0; ch < c; ch++) mean[s][ch] = n[s] == 0 ? 0 : (float) (sum[s][ch] / n[s]);
        return mean;
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
