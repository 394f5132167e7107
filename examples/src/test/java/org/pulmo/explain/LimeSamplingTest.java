package org.pulmo.explain;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.pulmo.data.Image;
import org.pulmo.tensor.Rng;

/**
 * LIME's perturbations keep each superpixel with probability 1/2 (lime's own sampling): read back from the images the
 * model is shown, about half of the superpixels of the samples after the first are hidden.
 */
class LimeSamplingTest {

    @Test void eachSuperpixelIsShownAboutHalfTheTime() {
        int s = 24;
        Rng noise = new Rng(6);
        float[] px = new float[3 * s * s];
        for (int p = 0; p < s * s; p++) { float v = noise.nextFloat(); for (int c = 0; c < 3; c++) px[c * s * s + p] = v; }
        Image img = new Image(3, s, s, px);
        List<Image> shown = new ArrayList<>();
        Lime.Result r = Lime.explain(img, imgs -> { shown.addAll(List.of(imgs)); return new float[imgs.length][2]; }, 1, 150, 9, 12);
        int d = r.count(), on = 0, all = 0;
        for (int k = 1; k < shown.size(); k++) {   // the first sample shows everything
            boolean[] hidden = new boolean[d];
            for (int p = 0; p < s * s; p++) if (shown.get(k).pixels()[p] != px[p]) hidden[r.segments()[p]] = true;   // noise: every hidden superpixel changes
            for (boolean h : hidden) { all++; if (!h) on++; }
        }
        double fraction = (double) on / all;
        assertTrue(fraction > 0.42 && fraction < 0.58, "superpixels shown in " + on + " of " + all + " draws");
    }
}
