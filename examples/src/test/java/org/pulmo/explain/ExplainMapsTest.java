package org.pulmo.explain;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pulmo.autograd.GradMode;
import org.pulmo.data.Augmentation;
import org.pulmo.data.Image;
import org.pulmo.models.Backbone;
import org.pulmo.nn.Conv2d;
import org.pulmo.nn.Linear;
import org.pulmo.nn.Module;
import org.pulmo.tensor.Rng;
import org.pulmo.tensor.Tensor;

/** Grad-CAM, LIME and their drawing, each checked where a plausible slip would move or recolour the evidence. */
class ExplainMapsTest {

    /** 8 x 8 image of {@code channels} channels, 0.1 everywhere except 1 on the quadrants given per channel (null: none). */
    private static Tensor quadrants(int channels, int[][] brightQuadrantPerChannel) {
        int s = 8;
        float[] px = new float[channels * s * s];
        for (int c = 0; c < channels; c++)
            for (int y = 0; y < s; y++)
                for (int x = 0; x < s; x++) {
                    int q = (y < 4 ? 0 : 2) + (x < 4 ? 0 : 1);   // 0 TL, 1 TR, 2 BL, 3 BR
                    boolean bright = brightQuadrantPerChannel[c] != null && Arrays.stream(brightQuadrantPerChannel[c]).anyMatch(b -> b == q);
                    px[(c * s + y) * s + x] = bright ? 1f : 0.1f;
                }
        return Tensor.of(px, 1, channels, s, s);
    }

    /** Without a target (-1) Grad-CAM explains the predicted class, the one with the highest probability. */
    @Test void gradCamWithoutATargetExplainsThePredictedClass() {
        GradCamTest.TwoRegions net = new GradCamTest.TwoRegions();
        // class 0's evidence on three quadrants, class 1's on one: class 0 predicted; and the mirror
        Tensor zeroWins = quadrants(2, new int[][] {{0, 1, 2}, {3}}), oneWins = quadrants(2, new int[][] {{0}, {1, 2, 3}});
        GradCam.Result a = GradCam.compute(net, zeroWins, null, -1), b = GradCam.compute(net, oneWins, null, -1);
        assertTrue(a.probabilities()[0] > a.probabilities()[1] && b.probabilities()[1] > b.probabilities()[0]);
        assertEquals(0, a.targetClass());
        assertEquals(1, b.targetClass());
        assertArrayEquals(GradCam.compute(net, zeroWins, null, 0).map(), a.map(), 1e-6f);
    }

    /**
     * Three classes, logits y_k = mean(A_k) (identity 1 x 1 convolution, identity linear layer). Grad-CAM of class 0
     * differentiates the score y_0, not its softmax probability: alpha = (1, 0, 0) / (H W), the map is channel 0 itself
     * scaled to [0, 1]: 1 on its bright quadrant and 0.1 everywhere else, also where class 1's evidence is. (Through the
     * softmax, class 1's bright quadrant would count against class 0 and come out 0.)
     */
    @Test void gradCamDifferentiatesTheClassScoreNotItsProbability() {
        final class ThreeRegions extends Module implements Backbone {
            final Conv2d conv = registerModule("conv", new Conv2d(3, 3, 1, new Rng(1)));
            final Linear fc = registerModule("fc", new Linear(3, 3, false, new Rng(2)));
            ThreeRegions() {
                try (var ignored = GradMode.noGrad()) {
                    conv.weight.copyFrom(Tensor.of(new float[] {1, 0, 0, 0, 1, 0, 0, 0, 1}, 3, 3, 1, 1));
                    if (conv.bias != null) conv.bias.copyFrom(Tensor.zeros(3));
                    fc.weight.copyFrom(Tensor.of(new float[] {1, 0, 0, 0, 1, 0, 0, 0, 1}, 3, 3));
                }
            }
            @Override public int stageCount() { return 1; }
            @Override public int[] stageChannels() { return new int[] {3}; }
            @Override public Tensor stage(int i, Tensor x) { return conv.forward(x); }
            @Override public Tensor head(Tensor features) { return fc.forward(features.globalAvgPool()); }
            @Override public int numClasses() { return 3; }
            @Override public Tensor forward(Tensor x) { return head(stage(0, x)); }
        }
        GradCam.Result r = GradCam.compute(new ThreeRegions(), quadrants(3, new int[][] {{0}, {3}, null}), null, 0);
        for (int y = 0; y < 8; y++)
            for (int x = 0; x < 8; x++)
                assertEquals(y < 4 && x < 4 ? 1f : 0.1f, r.map()[y * 8 + x], 1e-5f, "(" + y + ", " + x + ")");
    }

    /** The ridge leaves the intercept alone (lime's Ridge fits it unpenalised): a constant score gives b = c, w = 0. */
    @Test void ridgeDoesNotShrinkTheIntercept() {
        Rng rng = new Rng(4);
        boolean[][] z = new boolean[20][4];
        double[] y = new double[20], pi = new double[20];
        for (int s = 0; s < 20; s++) {
            for (int j = 0; j < 4; j++) z[s][j] = rng.nextFloat() < 0.5f;
            y[s] = 0.7;
            pi[s] = 0.1 + 0.9 * rng.nextFloat();
        }
        assertArrayEquals(new double[] {0.7, 0, 0, 0, 0}, Lime.weightedRidge(z, y, pi, Lime.RIDGE), 1e-9);
    }

    /**
     * LIME's weights are the kernel-weighted ridge fit of the samples it drew: which superpixels each sample hid is read
     * back from the images the model was shown (on a noise image every hidden superpixel changes), each sample is weighted
     * by lime's kernel of its cosine distance to the all-on sample, and the fit must be exactly the weights returned.
     */
    @Test void limeWeightsAreTheKernelWeightedFitOfItsOwnSamples() {
        int s = 24;
        Rng noise = new Rng(5);
        float[] px = new float[3 * s * s];
        for (int p = 0; p < s * s; p++) { float v = noise.nextFloat(); for (int c = 0; c < 3; c++) px[c * s * s + p] = v; }
        Image img = new Image(3, s, s, px);
        List<Image> shown = new ArrayList<>();
        List<Double> scores = new ArrayList<>();
        Lime.Result r = Lime.explain(img, imgs -> {
            float[][] out = new float[imgs.length][2];
            for (int i = 0; i < imgs.length; i++) {
                double t = 0;   // some nonlinear score of the top-left third
                for (int y = 0; y < 8; y++) for (int x = 0; x < 8; x++) t += imgs[i].get(0, y, x) * imgs[i].get(0, y, x);
                out[i][1] = (float) (t / 64);
                out[i][0] = 1 - out[i][1];
                shown.add(imgs[i]);
                scores.add((double) out[i][1]);
            }
            return out;
        }, 1, 60, 9, 11);
        int d = r.count(), n = shown.size();
        int[] seg = r.segments();
        assertEquals(60, n);
        boolean[][] z = new boolean[n][d];
        for (int k = 0; k < n; k++) {
            Arrays.fill(z[k], true);
            for (int p = 0; p < s * s; p++) if (shown.get(k).pixels()[p] != px[p]) z[k][seg[p]] = false;
        }
        for (int j = 0; j < d; j++) assertTrue(z[0][j], "the first sample shows every superpixel");
        double[] pi = new double[n], y = new double[n];
        for (int k = 0; k < n; k++) {
            int on = 0;
            for (boolean v : z[k]) if (v) on++;
            double cos = on == 0 ? 0 : on / (Math.sqrt(on) * Math.sqrt(d));   // cosine similarity of z and (1, ..., 1)
            pi[k] = Math.sqrt(Math.exp(-(1 - cos) * (1 - cos) / (Lime.KERNEL_WIDTH * Lime.KERNEL_WIDTH)));
            y[k] = scores.get(k);
        }
        double[] beta = Lime.weightedRidge(z, y, pi, Lime.RIDGE);
        assertArrayEquals(Arrays.copyOfRange(beta, 1, d + 1), r.weights(), 1e-9);
        for (int p = 0; p < s * s; p++) assertEquals((float) beta[1 + seg[p]], r.map()[p], 1e-6f, "pixel " + p);
    }

    /** LIME's overlay: green where a superpixel supports the class, red where it speaks against it (the title says so). */
    @Test void signedOverlayIsGreenForSupportAndRedAgainst() {
        int h = 20, w = 30;
        float[] grey = new float[3 * h * w];
        Arrays.fill(grey, 0.5f);
        float[] heat = new float[h * w];
        for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) heat[y * w + x] = x < w / 2 ? 0.8f : -0.8f;
        Heatmaps.Canvas c = Heatmaps.render(new Image(3, h, w, grey), heat, true, List.of("LIME"));
        int support = c.image().getRGB(c.imageX() + 3, c.imageY() + 10), against = c.image().getRGB(c.imageX() + w - 3, c.imageY() + 10);
        assertTrue(g(support) > r(support) + 50, "support is green: " + Integer.toHexString(support));
        assertTrue(r(against) > g(against) + 50, "against is red: " + Integer.toHexString(against));
    }

    /** Nearest resampling takes the model pixel whose centre is nearest (rounding), so superpixel edges stay in place. */
    @Test void nearestResamplingRoundsToTheNearestCell() {
        CropGeometry g = CropGeometry.of(Augmentation.MA_NET, 4, 8, 8);   // every original pixel is half a model pixel
        float[] rows = new float[16], cols = new float[16];
        for (int i = 0; i < 16; i++) { rows[i] = i / 4; cols[i] = i % 4; }
        float[] r = g.toOriginal(rows, 4, 4, true), c = g.toOriginal(cols, 4, 4, true);
        // original row y has its centre at model row (y + 0.5) / 2 - 0.5: -0.25, 0.25, 0.75, 1.25, ... -> 0, 0, 1, 1, 2, 2, 3, 3
        float[] expect = {0, 0, 1, 1, 2, 2, 3, 3};
        for (int y = 0; y < 8; y++) assertEquals(expect[y], r[y * 8 + 5], "row " + y);
        for (int x = 0; x < 8; x++) assertEquals(expect[x], c[5 * 8 + x], "column " + x);
    }

    /** The CSV is h lines of w values, row by row (the map's own layout), also for a map that is not square. */
    @Test void csvIsRowMajor(@TempDir Path dir) throws IOException {
        Path f = dir.resolve("m.csv");
        Heatmaps.writeCsv(new float[] {0, 1, 2, 3, 4, 5}, 2, 3, f);
        List<String> lines = Files.readAllLines(f);
        assertEquals(2, lines.size());
        assertArrayEquals(new double[] {0, 1, 2}, Arrays.stream(lines.get(0).split(",")).mapToDouble(Double::parseDouble).toArray(), 1e-9);
        assertArrayEquals(new double[] {3, 4, 5}, Arrays.stream(lines.get(1).split(",")).mapToDouble(Double::parseDouble).toArray(), 1e-9);
        Path sq = dir.resolve("sq.csv");
        Heatmaps.writeCsv(new float[] {1, 2, 3, 4}, 2, 2, sq);
        assertEquals(2.0, Double.parseDouble(Files.readAllLines(sq).get(0).split(",")[1]), 1e-9, "row 0, column 1");
    }

    private static int r(int rgb) { return (rgb >> 16) & 0xFF; }
    private static int g(int rgb) { return (rgb >> 8) & 0xFF; }
}
