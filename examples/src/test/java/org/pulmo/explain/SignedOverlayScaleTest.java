package org.pulmo.explain;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.pulmo.data.Image;

/**
 * LIME's overlay is scaled by the largest magnitude, whatever its sign: so a map and the same map times a positive
 * factor look the same, also when every weight is negative (every superpixel speaks against the class).
 */
class SignedOverlayScaleTest {
    @AfterEach void realText() { Heatmaps.reset(); }

    @Test void scalingASignedMapLeavesItsColoursAsTheyAre() {
        int h = 12, w = 16;
        float[] grey = new float[3 * h * w];
        Arrays.fill(grey, 0.5f);
        Image img = new Image(3, h, w, grey);
        float[] negative = new float[h * w], mixed = new float[h * w];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                negative[y * w + x] = x < w / 2 ? -0.04f : -0.01f;
                mixed[y * w + x] = x < w / 2 ? 0.03f : -0.01f;
            }
        for (float[] heat : List.of(negative, mixed)) {
            float[] half = heat.clone();
            for (int i = 0; i < half.length; i++) half[i] *= 0.5f;
            Heatmaps.Canvas a = Heatmaps.render(img, heat, true, List.of("LIME")), b = Heatmaps.render(img, half, true, List.of("LIME"));
            assertEquals(a.imageY(), b.imageY());
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                    assertEquals(Integer.toHexString(a.image().getRGB(a.imageX() + x, a.imageY() + y)),
                        Integer.toHexString(b.image().getRGB(b.imageX() + x, b.imageY() + y)), "(" + y + ", " + x + ")");
        }
        // and the strongest weight is drawn at full strength: red well above the grey where the map is most negative
        Heatmaps.Canvas c = Heatmaps.render(img, negative, true, List.of("LIME"));
        int strongest = c.image().getRGB(c.imageX() + 1, c.imageY() + 1), red = (strongest >> 16) & 0xFF, green = (strongest >> 8) & 0xFF;
        assertTrue(red >= 200 && green <= 70, "the largest weight at full strength: " + Integer.toHexString(strongest));
    }
}
