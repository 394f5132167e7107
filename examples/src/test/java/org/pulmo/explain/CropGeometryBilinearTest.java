package org.pulmo.explain;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;
import org.pulmo.data.Augmentation;

/**
 * Bilinear resampling of a map onto the original reproduces a linear ramp exactly (inside the map, clamped at its
 * edges), each axis by its own coordinate: a map that varies along x must not vary along y on the original.
 */
class CropGeometryBilinearTest {

    @Test void aRampAlongEachAxisStaysOnItsAxis() {
        int mapSide = 4, h = 8, w = 12;
        CropGeometry g = CropGeometry.of(Augmentation.MA_NET, mapSide, h, w);   // the whole 8 x 12 original squeezed to 4 x 4
        float[] alongX = new float[mapSide * mapSide], alongY = new float[mapSide * mapSide];
        for (int y = 0; y < mapSide; y++) for (int x = 0; x < mapSide; x++) { alongX[y * mapSide + x] = x; alongY[y * mapSide + x] = y; }
        float[] ox = g.toOriginal(alongX, mapSide, mapSide, false), oy = g.toOriginal(alongY, mapSide, mapSide, false);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                // pixel centres: original column x sits at map column (x + 0.5) * 4 / 12 - 0.5, row y at (y + 0.5) * 4 / 8 - 0.5
                double mx = Math.clamp((x + 0.5) * mapSide / w - 0.5, 0, mapSide - 1), my = Math.clamp((y + 0.5) * mapSide / h - 0.5, 0, mapSide - 1);
                assertEquals(mx, ox[y * w + x], 1e-5, "ramp along x at (" + y + ", " + x + ")");
                assertEquals(my, oy[y * w + x], 1e-5, "ramp along y at (" + y + ", " + x + ")");
            }
    }
}
