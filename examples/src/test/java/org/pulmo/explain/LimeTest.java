package org.pulmo.explain;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;
import org.pulmo.data.Image;

class LimeTest {

    @Test void weightedRidgeRecoversALinearFunction() {
        // y = 0.5 + 2 z0 - 1 z1 + 0 z2, exactly; with a tiny ridge the fit returns the coefficients.
        boolean[][] z = new boolean[8][3];
        double[] y = new double[8], pi = new double[8];
        for (int s = 0; s < 8; s++) {
            for (int j = 0; j < 3; j++) z[s][j] = ((s >> j) & 1) == 1;
            y[s] = 0.5 + 2 * (z[s][0] ? 1 : 0) - (z[s][1] ? 1 : 0);
            pi[s] = 0.5 + s * 0.1;
        }
        double[] b = Lime.weightedRidge(z, y, pi, 1e-9);
        assertArrayEquals(new double[] {0.5, 2, -1, 0}, b, 1e-6);
    }

    @Test void limeFindsTheSuperpixelThatDrivesTheScore() {
        // A "model" whose class-1 probability drops as the textured top-left quarter changes. (Hidden superpixels
        // show their own mean colour, as lime's: a flat superpixel looks the same hidden, so the texture matters.)
        int s = 32;
        float[] px = new float[3 * s * s];
        for (int c = 0; c < 3; c++) for (int y = 0; y < s; y++) for (int x = 0; x < s; x++) px[(c * s + y) * s + x] = (x < 16 && y < 16) ? 0.6f + 0.02f * x : 0.3f;
        Image img = new Image(3, s, s, px);
        Lime.Result r = Lime.explain(img, imgs -> {
            float[][] out = new float[imgs.length][2];
            for (int i = 0; i < imgs.length; i++) {
                double d = 0;
                for (int y = 0; y < 16; y++) for (int x = 0; x < 16; x++) d += Math.abs(imgs[i].get(0, y, x) - img.get(0, y, x));
                out[i][1] = (float) (1 - 5 * d / 256);
                out[i][0] = 1 - out[i][1];
            }
            return out;
        }, 1, 200, 16, 3);
        assertTrue(r.count() >= 8, "superpixels: " + r.count());
        assertTrue(r.map()[4 * s + 4] > 0, "top-left supports the class");
        assertEquals(0, r.map()[28 * s + 28], 0.02, "bottom-right does not matter");
    }

    /** lime's kernel is sqrt(exp(-d^2 / w^2)); before, exp(-d^2 / w^2) gave 0.368 at d = w where lime gives 0.607. */
    @Test void kernelIsLimes() {
        assertEquals(1, Lime.kernel(0), 1e-12);
        assertEquals(Math.exp(-0.5), Lime.kernel(0.25), 1e-12);
        assertEquals(Math.sqrt(Math.exp(-16)), Lime.kernel(1), 1e-12);
    }

    /** lime's hide_color=None: a hidden superpixel shows its own mean colour; before, the whole image's mean. */
    @Test void hiddenSuperpixelsShowTheirOwnMeanColour() {
        int s = 16;
        float[] px = new float[3 * s * s];
        for (int c = 0; c < 3; c++) for (int y = 0; y < s; y++) for (int x = 0; x < s; x++) px[(c * s + y) * s + x] = x < 8 ? 0.8f + 0.01f * (y % 2) : 0.2f;
        Image img = new Image(3, s, s, px);
        java.util.List<Image> seen = new java.util.ArrayList<>();
        Lime.Result r = Lime.explain(img, imgs -> { seen.addAll(java.util.List.of(imgs)); return new float[imgs.length][2]; }, 0, 40, 4, 1);
        float[][] mean = Lime.segmentMeans(img, r.segments(), r.count());
        boolean checked = false;
        for (Image p : seen)
            for (int i = 0; i < s * s; i++) {
                float v = p.pixels()[i];
                if (v != px[i]) { assertEquals(mean[r.segments()[i]][0], v, 1e-6f, "pixel " + i); checked = true; }
            }
        assertTrue(checked, "some superpixel was hidden");
        assertEquals(0.2f, mean[r.segments()[s - 1]][0], 1e-6f); // the right half's mean, not the image's 0.5
    }

    @Test void slicGivesAboutTheRequestedSegmentCount() {
        Image img = Image.zeros(3, 40, 40);
        int[] seg = Superpixels.slic(img, 16, 10, 5);
        int max = 0;
        for (int v : seg) max = Math.max(max, v);
        assertEquals(16, max + 1);
    }
}
