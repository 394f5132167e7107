package org.pulmo.explain;

import org.pulmo.data.Image;

/**
 * SLIC superpixels (Achanta et al., TPAMI 2012), simplified: k-means over (intensity, y, x) with centres
 * started on a regular grid, each pixel compared only with the centres at most 2S away along each axis (a 4S x 4S
 * window, as scikit-image searches; the paper's region is 2S x 2S), S = grid step, distance
 * D^2 = (dI / m)^2 + (d_xy / S)^2 with compactness m on the [0, 255] scale of the grey value (the paper's m is for
 * CIELAB's lightness, 0..100, so m = 10 here weighs intensity differences about 2.5 times more than the paper's m = 10).
 * Segments are then renumbered 0..count-1 (no connectivity pass: a label may cover two nearby islands, harmless for
 * LIME). The grid has ceil(H / S) x ceil(W / S) centres for S = round(sqrt(HW / k)): 49 for k = 40 at 224 x 224.
 */
public final class Superpixels {
    private Superpixels() {}

    /** Labels [H*W] of about {@code k} superpixels of a [C, H, W] image in [0, 1] (grey = channel mean). */
    public static int[] slic(Image img, int k, double compactness, int iterations) {
        int h = img.height(), w = img.width(), c = img.channels();
        float[] g = new float[h * w];
        for (int p = 0; p < h * w; p++) {
            float s = 0;
            for (int ch = 0; ch < c; ch++) s += img.pixels()[ch * h * w + p];
            g[p] = 255f * s / c;
        }
        int step = Math.max(1, (int) Math.round(Math.sqrt((double) h * w / Math.max(k, 1))));
        int gy = Math.max(1, (h + step - 1) / step), gx = Math.max(1, (w + step - 1) / step), n = gy * gx;
        double[] cy = new double[n], cx = new double[n], ci = new double[n];
        for (int i = 0; i < gy; i++)
            for (int j = 0; j < gx; j++) {
                int id = i * gx + j;
                cy[id] = Math.min(h - 1, i * step + step / 2.0);
                cx[id] = Math.min(w - 1, j * step + step / 2.0);
                ci[id] = g[(int) cy[id] * w + (int) cx[id]];
            }
        int[] label = new int[h * w];
        double[] best = new double[h * w];
        for (int it = 0; it < iterations; it++) {
            java.util.Arrays.fill(best, Double.MAX_VALUE);
            for (int id = 0; id < n; id++) {
                int y0 = (int) Math.max(0, cy[id] - 2 * step), y1 = (int) Math.min(h - 1, cy[id] + 2 * step);
                int x0 = (int) Math.max(0, cx[id] - 2 * step), x1 = (int) Math.min(w - 1, cx[id] + 2 * step);
                for (int y = y0; y <= y1; y++)
                    for (int x = x0; x <= x1; x++) {
                        double di = (g[y * w + x] - ci[id]) / compactness, dy = (y - cy[id]) / step, dx = (x - cx[id]) / step;
                        double dd = di * di + dy * dy + dx * dx;
                        if (dd < best[y * w + x]) { best[y * w + x] = dd; label[y * w + x] = id; }
                    }
            }
            double[] sy = new double[n], sx = new double[n], si = new double[n];
            int[] cnt = new int[n];
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++) {
                    int id = label[y * w + x];
                    sy[id] += y; sx[id] += x; si[id] += g[y * w + x]; cnt[id]++;
                }
            for (int id = 0; id < n; id++) if (cnt[id] > 0) { cy[id] = sy[id] / cnt[id]; cx[id] = sx[id] / cnt[id]; ci[id] = si[id] / cnt[id]; }
        }
        int[] renum = new int[n];
        java.util.Arrays.fill(renum, -1);
        int next = 0;
        for (int p = 0; p < h * w; p++) {
            if (renum[label[p]] < 0) renum[label[p]] = next++;
            label[p] = renum[label[p]];
        }
        return label;
    }
}
