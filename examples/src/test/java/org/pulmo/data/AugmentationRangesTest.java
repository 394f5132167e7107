package org.pulmo.data;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import org.junit.jupiter.api.Test;

/**
 * The random steps of the presets cover their whole documented ranges, not just stay inside them: a crop that never
 * moves down, a flip never applied, an angle that is never negative or far too small, or a scale that never changes
 * would all keep every image "in range" and still train on far less variety than the papers describe.
 */
class AugmentationRangesTest {

    @Test void randomCropMovesAlongBothAxes() {
        Image src = TransformsTest.coordinates(8, 6);   // value 10 y + x: the crop's first pixel is its offset
        boolean[] seenTop = new boolean[5], seenLeft = new boolean[3];
        for (int i = 0; i < 200; i++) {
            float first = Transforms.randomCrop(4).apply(src, Transform.sampleRng(3, 0, i)).get(0, 0, 0);
            seenTop[(int) first / 10] = true;
            seenLeft[(int) first % 10] = true;
        }
        for (boolean b : seenTop) assertTrue(b, "every vertical offset 0..4 should occur: " + Arrays.toString(seenTop));
        for (boolean b : seenLeft) assertTrue(b, "every horizontal offset 0..2 should occur: " + Arrays.toString(seenLeft));
    }

    /** Angles over [-max, max] in degrees, both signs, and scales over [min, max], from a marker 10 px above the centre. */
    @Test void randomAffineSpansItsAngleAndScaleRanges() {
        Image src = TransformsTest.marker(41, 20, 10);
        double minDeg = Double.MAX_VALUE, maxDeg = -Double.MAX_VALUE, minR = Double.MAX_VALUE, maxR = 0;
        for (int i = 0; i < 200; i++) {
            double[] c = TransformsTest.centroid(Transforms.randomAffine(10, 0.9, 1.1).apply(src, Transform.sampleRng(5, 2, i)));
            double dx = c[0] - 20, dy = c[1] - 20, r = Math.hypot(dx, dy), deg = Math.toDegrees(Math.atan2(-dx, -dy));
            minDeg = Math.min(minDeg, deg); maxDeg = Math.max(maxDeg, deg);
            minR = Math.min(minR, r); maxR = Math.max(maxR, r);
        }
        assertTrue(minDeg < -8 && maxDeg > 8, "angles should reach near -10 and +10 degrees, got [" + minDeg + ", " + maxDeg + "]");
        // scale 0.9 .. 1.1 puts the marker 9 .. 11 px from the centre
        assertTrue(minR < 9.3 && maxR > 10.7, "radii should reach near 9 and 11 px, got [" + minR + ", " + maxR + "]");
    }

    /** DPN-SENet's preset mirrors left-right about half the time (p = 0.5). */
    @Test void dpnSenetFlipsAboutHalfTheImages() {
        // a 41 x 41 picture: the resize and the 41 x 41 crop leave it as it is; a marker 10 px left of the centre
        // stays left under a turn of at most 10 degrees, and is right of the centre only when mirrored
        Image src = TransformsTest.marker(41, 10, 20);
        Transform t = Augmentation.DPN_SENET.train(41, false);
        int right = 0;
        for (int i = 0; i < 200; i++) if (TransformsTest.centroid(t.apply(src, Transform.sampleRng(8, 1, i)))[0] > 20) right++;
        assertTrue(right > 70 && right < 130, right + " of 200 mirrored");
    }

    /** MA-Net's preset flips left-right and top-bottom, each with p = 0.5: a corner marker visits all four quadrants evenly. */
    @Test void maNetFlipsBothWaysIndependently() {
        Image src = TransformsTest.marker(41, 10, 10);   // top left; a turn of at most 15 degrees keeps it in its quadrant
        Transform t = Augmentation.MA_NET.train(41, false);
        int[] quadrant = new int[4];                      // 0 TL, 1 TR, 2 BL, 3 BR
        for (int i = 0; i < 400; i++) {
            double[] c = TransformsTest.centroid(t.apply(src, Transform.sampleRng(8, 1, i)));
            quadrant[(c[1] > 20 ? 2 : 0) + (c[0] > 20 ? 1 : 0)]++;
        }
        for (int q = 0; q < 4; q++) assertTrue(quadrant[q] > 60 && quadrant[q] < 140, "quadrant counts " + Arrays.toString(quadrant));
    }
}
