package org.pulmo.explain;

import static org.junit.jupiter.api.Assertions.*;

import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.pulmo.data.Augmentation;
import org.pulmo.data.Image;
import org.pulmo.tensor.Rng;

/** Maps drawn back on the whole original through the evaluation transform, with a title and a colour bar. */
class HeatmapsTest {
    @AfterEach void realText() { Heatmaps.reset(); }

    /**
     * A ramp through the real eval transform, along each axis: each input column (row) must be where the geometry puts it,
     * and modelX (modelY) must map it back, each axis by its own scale (non-square films: MA-Net resizes to a square).
     */
    @Test void geometryInvertsResizeAndCentreCrop() {
        for (int[] hw : new int[][] {{40, 96}, {96, 40}, {33, 50}}) {
            int h = hw[0], w = hw[1], size = 16;
            for (boolean vertical : new boolean[] {false, true}) {
                float[] px = new float[h * w];
                for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) px[y * w + x] = vertical ? y : x;
                for (Augmentation a : Augmentation.values()) {
                    Image seen = a.eval(size, false).apply(new Image(1, h, w, px), new Rng(0));
                    CropGeometry g = CropGeometry.of(a, size, h, w);
                    for (int i = 1; i < size - 1; i++) { // away from the resized image's border, where the filter is cut
                        // the original coordinate whose centre lands on model pixel i
                        double orig = vertical ? (i + g.top() + 0.5) / g.scaleY() - 0.5 : (i + g.left() + 0.5) / g.scaleX() - 0.5;
                        float got = vertical ? seen.get(0, i, size / 2) : seen.get(0, size / 2, i);
                        // 0.05 px: the antialiasing triangle, cut to whole input pixels, is not quite centred when shrinking
                        assertEquals(orig, got, 0.05, a + " " + h + "x" + w + (vertical ? " row " : " column ") + i);
                        // and back: the model coordinate of what landed there is i, each axis by its own scale
                        assertEquals(i, vertical ? g.modelY(got) : g.modelX(got), 0.05, a + " " + h + "x" + w + (vertical ? " model row " : " model column ") + i);
                    }
                }
            }
        }
    }

    @Test void wideFilmHasDimmedUnseenSidesAndColourInTheCrop() {
        int h = 40, w = 96;
        CropGeometry g = CropGeometry.of(Augmentation.DPN_SENET, 32, h, w);
        assertFalse(g.seesAll());
        float[] heat = g.toOriginal(new float[] {1, 1, 1, 1}, 2, 2, false);
        assertTrue(Float.isNaN(heat[20 * w + 2]) && Float.isNaN(heat[20 * w + 93]), "the sides are not seen");
        assertEquals(1f, heat[20 * w + 48]);
        Image grey = new Image(3, h, w, filled(3 * h * w, 0.5f));
        Heatmaps.Canvas c = Heatmaps.render(grey, heat, false, List.of("Grad-CAM (stage4) for COVID (p = 0.900, predicted)"));
        BufferedImage im = c.image();
        assertTrue(im.getWidth() > w && im.getHeight() >= h);
        int side = im.getRGB(2, c.imageY() + 20), centre = im.getRGB(48, c.imageY() + 20);
        assertTrue(r(side) == g(side) && g(side) == b(side) && r(side) < 100, "dimmed grey: " + Integer.toHexString(side));
        assertTrue(r(centre) > b(centre) + 50, "red (jet 1) over the crop: " + Integer.toHexString(centre));
        assertTrue(CropGeometry.of(Augmentation.MA_NET, 32, h, w).seesAll());
    }

    /** As Plots: a server without fontconfig throws from the first text; the overlay is still written, without text. */
    @Test void aMachineWithoutFontsGetsTheOverlayWithoutTextAndOneNote() {
        Heatmaps.painter = (g, s, x, y) -> { throw new RuntimeException("Fontconfig head is null, check your fonts or fonts configuration"); };
        PrintStream old = System.err;
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        Heatmaps.Canvas a, b;
        try {
            Image img = new Image(3, 20, 30, filled(3 * 20 * 30, 0.3f));
            a = Heatmaps.render(img, filled(600, 0.5f), false, List.of("title"));
            b = Heatmaps.render(img, filled(600, -0.5f), true, List.of("title"));
        } finally {
            System.setErr(old);
        }
        assertFalse(a.withText() || b.withText());
        assertEquals(0, a.imageY());
        assertEquals(1, err.toString(StandardCharsets.UTF_8).strip().lines().count(), err.toString(StandardCharsets.UTF_8));
        assertTrue(Heatmaps.textUnavailableReason().contains("Fontconfig head is null"));
    }

    private static float[] filled(int n, float v) { float[] f = new float[n]; java.util.Arrays.fill(f, v); return f; }
    private static int r(int rgb) { return (rgb >> 16) & 0xFF; }
    private static int g(int rgb) { return (rgb >> 8) & 0xFF; }
    private static int b(int rgb) { return rgb & 0xFF; }
}
