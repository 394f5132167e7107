package org.pulmo.explain;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;
import org.pulmo.data.Augmentation;
import org.pulmo.data.Image;
import org.pulmo.tensor.Rng;

/**
 * The evaluation transform's centre crop and CropGeometry agree on the crop's offset also when the part cut away
 * has an odd width (rounded alike in both, Transforms.centreOffset), so a heatmap lands on the pixels the model saw.
 */
class CentreCropMatchesGeometryTest {

    @Test void anOddMarginIsSplitTheSameWayInBoth() {
        int size = 16;
        for (int[] hw : new int[][] {{16, 33}, {16, 35}, {33, 16}, {16, 34}}) {   // short side already 16: no resampling
            int h = hw[0], w = hw[1];
            for (boolean vertical : new boolean[] {false, true}) {
                float[] px = new float[h * w];
                for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) px[y * w + x] = vertical ? y : x;
                for (Augmentation a : new Augmentation[] {Augmentation.NONE, Augmentation.DPN_SENET}) {
                    Image seen = a.eval(size, false).apply(new Image(1, h, w, px), new Rng(0));
                    CropGeometry g = CropGeometry.of(a, size, h, w);
                    for (int i = 0; i < size; i++) {
                        float orig = vertical ? seen.get(0, i, size / 2) : seen.get(0, size / 2, i);
                        assertEquals(i, vertical ? g.modelY(orig) : g.modelX(orig), 1e-9,
                            a + " " + h + "x" + w + (vertical ? " row " : " column ") + i + " shows original " + orig);
                    }
                }
            }
        }
    }
}
