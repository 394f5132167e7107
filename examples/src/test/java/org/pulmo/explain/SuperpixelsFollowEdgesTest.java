package org.pulmo.explain;

import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.pulmo.data.Image;

/**
 * SLIC weighs intensity against distance on the [0, 255] scale (compactness 10): a strong edge between two flat
 * regions must bound the superpixels, even where the starting grid cell straddles it.
 */
class SuperpixelsFollowEdgesTest {

    @Test void noSuperpixelCrossesAStrongEdge() {
        int s = 32, edge = 13;   // grid step 8 for 16 superpixels: the cell 8..15 straddles the edge
        float[] px = new float[3 * s * s];
        for (int c = 0; c < 3; c++) for (int y = 0; y < s; y++) for (int x = 0; x < s; x++) px[(c * s + y) * s + x] = x < edge ? 0.1f : 0.9f;
        int[] seg = Superpixels.slic(new Image(3, s, s, px), 16, 10, 10);
        int count = 0;
        for (int v : seg) count = Math.max(count, v + 1);
        boolean[] dark = new boolean[count], bright = new boolean[count];
        for (int y = 0; y < s; y++) for (int x = 0; x < s; x++) if (x < edge) dark[seg[y * s + x]] = true; else bright[seg[y * s + x]] = true;
        for (int k = 0; k < count; k++) assertTrue(!(dark[k] && bright[k]), "superpixel " + k + " covers both sides of the edge");
    }
}
