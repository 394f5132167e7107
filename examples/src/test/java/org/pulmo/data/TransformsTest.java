package org.pulmo.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.pulmo.tensor.Rng;

/** Each augmentation on a small generated image, showing that it does what it says. */
class TransformsTest {

    /** [3, h, w] with value {@code 100 c + 10 y + x}: every pixel says where it came from. */
    static Image coordinates(int h, int w) {
        Image im = Image.zeros(3, h, w);
        for (int c = 0; c < 3; c++) for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) im.set(c, y, x, 100 * c + 10 * y + x);
        return im;
    }

    /** A black square image with one bright 3x3 marker centred at (mx, my). */
    static Image marker(int s, int mx, int my) {
        Image im = Image.zeros(3, s, s);
        for (int c = 0; c < 3; c++) for (int y = my - 1; y <= my + 1; y++) for (int x = mx - 1; x <= mx + 1; x++) im.set(c, y, x, 1);
        return im;
    }

    /** The intensity-weighted centre (x, y) of channel 0. */
    static double[] centroid(Image im) {
        double sx = 0, sy = 0, m = 0;
        for (int y = 0; y < im.height(); y++) for (int x = 0; x < im.width(); x++) {
            double v = im.get(0, y, x); sx += v * x; sy += v * y; m += v;
        }
        return new double[] {sx / m, sy / m};
    }

    @Test void horizontalFlipMirrorsColumns() {
        Image src = coordinates(3, 4);
        Image out = Transforms.horizontalFlip(1).apply(src, new Rng(1));
        for (int c = 0; c < 3; c++) for (int y = 0; y < 3; y++) for (int x = 0; x < 4; x++)
            assertEquals(100 * c + 10 * y + (3 - x), out.get(c, y, x));
        assertSame(src, Transforms.horizontalFlip(0).apply(src, new Rng(1)));
        assertEquals(3.0f, src.get(0, 0, 3)); // the input is never written into
    }

    @Test void verticalFlipMirrorsRows() {
        Image out = Transforms.verticalFlip(1).apply(coordinates(3, 4), new Rng(1));
        for (int y = 0; y < 3; y++) for (int x = 0; x < 4; x++) assertEquals(100 + 10 * (2 - y) + x, out.get(1, y, x));
    }

    @Test void flipWithHalfProbabilityFlipsAboutHalfTheSamples() {
        Image src = coordinates(2, 2);
        int flipped = 0;
        for (int i = 0; i < 1000; i++)
            if (Transforms.horizontalFlip(0.5).apply(src, Transform.sampleRng(9, 0, i)).get(0, 0, 0) == 1) flipped++;
        assertTrue(flipped > 450 && flipped < 550, "flipped " + flipped + " of 1000");
    }

    /** The long side after the short one is scaled, cut to an integer as torchvision's Resize does (values from Python). */
    @Test void theLongSideIsCutAsTorchvisionCutsIt() {
        int[][] shortLongTorchvision = {{1000, 1333, 298}, {3, 7, 522}, {480, 640, 298}, {512, 683, 298}, {7, 10, 320}, {224, 300, 300}};
        for (int[] c : shortLongTorchvision) assertEquals(c[2], Transforms.longSide(224, c[0], c[1]), c[0] + " x " + c[1]);
        Image wide = Transforms.resizeShortSide(4).apply(coordinates(3, 5), new Rng(1)), tall = Transforms.resizeShortSide(4).apply(coordinates(5, 3), new Rng(1));
        assertEquals(4, wide.height());
        assertEquals(6, wide.width());   // 4 * 5 / 3 = 6.67: 6, where rounding gives 7
        assertEquals(6, tall.height());
        assertEquals(4, tall.width());
    }

    @Test void cropsHaveTheirSizeAndComeFromTheImage() {
        Image src = coordinates(6, 8);
        Image centre = Transforms.centerCrop(4).apply(src, new Rng(1));
        assertEquals(4, centre.height());
        assertEquals(4, centre.width());
        assertEquals(10 * 1 + 2, centre.get(0, 0, 0)); // offsets (6-4)/2 = 1 and (8-4)/2 = 2
        // an odd margin as torchvision's center_crop splits it, int(round(margin / 2.0)) in Python (halves to even)
        int[] torchvision = {0, 0, 1, 2, 2, 2, 3, 4, 4, 4, 5, 6};
        for (int margin = 0; margin < torchvision.length; margin++) {
            Image wide = coordinates(4, 4 + margin);
            assertEquals(torchvision[margin], Transforms.centerCrop(4).apply(wide, new Rng(1)).get(0, 0, 0), "margin " + margin);
        }
        boolean[] seenLeft = new boolean[5];
        for (int i = 0; i < 200; i++) {
            Image crop = Transforms.randomCrop(4).apply(src, Transform.sampleRng(3, 0, i));
            int top = (int) crop.get(0, 0, 0) / 10, left = (int) crop.get(0, 0, 0) % 10;
            assertArrayEquals(Transforms.crop(src, top, left, 4, 4).pixels(), crop.pixels());
            seenLeft[left] = true;
        }
        for (boolean b : seenLeft) assertTrue(b, "every horizontal offset 0..4 should occur: " + Arrays.toString(seenLeft));
        assertThrows(IllegalArgumentException.class, () -> Transforms.randomCrop(7).apply(src, new Rng(1)));
    }

    @Test void resizeShortSideKeepsAspectAndAverages() {
        Image wide = Transforms.resizeShortSide(5).apply(Image.zeros(3, 10, 30), new Rng(1));
        assertEquals(5, wide.height());
        assertEquals(15, wide.width());
        Image tall = Transforms.resizeShortSide(4).apply(Image.zeros(1, 61, 148).toRgb().grey(), new Rng(1));
        assertEquals(4, tall.height());
        assertEquals(9, tall.width()); // 148 * 4 / 61 = 9.7 -> 9, as torchvision cuts it
        // A 1-pixel checkerboard halved: antialiasing averages it to flat grey instead of picking one phase.
        Image board = Image.zeros(1, 8, 8);
        for (int y = 0; y < 8; y++) for (int x = 0; x < 8; x++) board.set(0, y, x, (x + y) % 2);
        Image half = Transforms.resample(board, 4, 4);
        for (float v : Arrays.copyOfRange(half.pixels(), 5, 7)) assertEquals(0.5f, v, 1e-6f); // interior pixels
        // Enlarging a constant stays constant; enlarging a ramp stays monotone.
        Image up = Transforms.resample(coordinates(2, 3), 5, 9);
        for (int y = 0; y < 5; y++) for (int x = 1; x < 9; x++) assertTrue(up.get(0, y, x) >= up.get(0, y, x - 1));
        Image flat = Transforms.resample(new Image(1, 3, 3, new float[] {7, 7, 7, 7, 7, 7, 7, 7, 7}), 7, 5);
        for (float v : flat.pixels()) assertEquals(7f, v, 1e-5f);
    }

    @Test void rotationBy90DegreesMovesAMarkerFromTopToLeft() {
        Image src = marker(21, 10, 3);              // above the centre (10, 10)
        double[] c = centroid(Transforms.affine(src, 90, 1));
        assertEquals(3, c[0], 0.05);                // counter-clockwise: top goes to the left
        assertEquals(10, c[1], 0.05);
        double[] cw = centroid(Transforms.affine(src, -90, 1));
        assertEquals(17, cw[0], 0.05);
        double[] small = centroid(Transforms.affine(src, 30, 1)); // a 30 degree turn moves it 7 sin 30 = 3.5 px left
        assertEquals(10 - 3.5, small[0], 0.2);
        assertEquals(10 - 7 * Math.cos(Math.toRadians(30)), small[1], 0.2);
    }

    @Test void scaleMovesAMarkerAwayFromTheCentre() {
        double[] c = centroid(Transforms.affine(marker(21, 13, 10), 0, 2)); // 3 px right of centre -> 6 px
        assertEquals(16, c[0], 0.05);
        assertEquals(10, c[1], 0.05);
        // Shrinking leaves black (0) where the map falls outside the input.
        Image shrunk = Transforms.affine(new Image(1, 9, 9, filled(81, 1f)), 0, 0.5);
        assertEquals(0f, shrunk.get(0, 0, 0));
        assertEquals(1f, shrunk.get(0, 4, 4), 1e-6f);
    }

    static float[] filled(int n, float v) { float[] a = new float[n]; Arrays.fill(a, v); return a; }

    @Test void randomAffineStaysInItsRanges() {
        Image src = marker(41, 20, 10); // 10 px above the centre
        for (int i = 0; i < 50; i++) {
            double[] c = centroid(Transforms.randomAffine(10, 0.9, 1.1).apply(src, Transform.sampleRng(5, 1, i)));
            double dx = c[0] - 20, dy = c[1] - 20, r = Math.hypot(dx, dy), deg = Math.toDegrees(Math.atan2(-dx, -dy));
            assertTrue(r > 9 - 0.3 && r < 11 + 0.3, "radius " + r);
            assertTrue(Math.abs(deg) < 10.5, "angle " + deg);
        }
    }

    @Test void normalizeUsesPerChannelMeanAndStd() {
        Image out = Transforms.imagenetNormalize().apply(new Image(3, 1, 1, new float[] {0.485f, 0.456f + 0.224f, 0}), new Rng(1));
        assertArrayEquals(new float[] {0, 1, -0.406f / 0.225f}, out.pixels(), 1e-6f);
        // a std of 0 (a data set's statistics taken from one black image) would make every pixel infinite: refused, naming it
        String e = assertThrows(IllegalArgumentException.class,
            () -> Transforms.normalize(new float[] {0.5f, 0.5f}, new float[] {0.2f, 0f})).getMessage();
        assertTrue(e.contains("channel 1") && e.contains("std 0.0"), e);
        assertThrows(IllegalArgumentException.class, () -> Transforms.normalize(new float[] {Float.NaN}, new float[] {1f}));
    }

    @Test void presetsAreDeterministicPerSeedAndSample() {
        Image src = DemoChestDatasetTest.demoImage(48);
        for (Augmentation a : Augmentation.values()) {
            Transform t = a.train(32);
            Image x1 = t.apply(src, Transform.sampleRng(7, 2, 5)), x2 = t.apply(src, Transform.sampleRng(7, 2, 5));
            assertArrayEquals(x1.pixels(), x2.pixels(), a + " same seed");
            assertEquals(3, x1.channels());
            assertEquals(32, x1.height());
            assertEquals(32, x1.width());
            Image e = a.eval(32).apply(src, new Rng(1));
            assertEquals(32, e.height());
            if (a != Augmentation.NONE && a != Augmentation.RESIZE) {
                boolean differs = false;
                for (int i = 0; i < 8 && !differs; i++)
                    differs = !Arrays.equals(x1.pixels(), t.apply(src, Transform.sampleRng(7, 3, i)).pixels());
                assertTrue(differs, a + " should vary with the epoch");
            }
        }
        assertEquals(Augmentation.MA_NET, Augmentation.parse("ma-net"));
        assertEquals(Augmentation.RESIZE, Augmentation.parse("resize"));
        assertEquals(Augmentation.DPN_SENET, Augmentation.parse("DPN_SENET"));
        assertThrows(IllegalArgumentException.class, () -> Augmentation.parse("flip"));
    }

    @Test void sampleRngDependsOnEveryInput() {
        long a = Transform.sampleRng(1, 0, 0).nextLong();
        assertFalse(a == Transform.sampleRng(1, 0, 1).nextLong());
        assertFalse(a == Transform.sampleRng(1, 1, 0).nextLong());
        assertFalse(a == Transform.sampleRng(2, 0, 0).nextLong());
        assertEquals(a, Transform.sampleRng(1, 0, 0).nextLong());
    }

    @Test void resizeTakesTheWholeImageToSxSWithNothingRandomAndIsMaNetsDefault() {
        // a 12 x 24 original: resize squeezes it whole into 8 x 8; none crops the middle 12 x 12 of it
        Image src = new Image(3, 12, 24, new float[3 * 12 * 24]);
        for (int c = 0; c < 3; c++) for (int y = 0; y < 12; y++) for (int x = 0; x < 24; x++) src.pixels()[(c * 12 + y) * 24 + x] = x;
        Image whole = Transforms.resize(8, 8).apply(src, new Rng(1));
        for (int epoch = 0; epoch < 3; epoch++)
            assertArrayEquals(whole.pixels(), Augmentation.RESIZE.train(8, false).apply(src, Transform.sampleRng(7, epoch, 1)).pixels());
        assertArrayEquals(whole.pixels(), Augmentation.RESIZE.eval(8, false).apply(src, new Rng(1)).pixels());
        // the leftmost column of the resized image comes from the original's first columns (value < 2); none's from column 6 on
        assertTrue(whole.pixels()[0] < 2 && Augmentation.NONE.eval(8, false).apply(src, new Rng(1)).pixels()[0] >= 5, "resize keeps the image's edges");
        assertTrue(Augmentation.RESIZE.seesWholeImage() && Augmentation.MA_NET.seesWholeImage() && !Augmentation.NONE.seesWholeImage());
        assertEquals(Augmentation.RESIZE, org.pulmo.train.Models.defaults("manet-resnet50").augmentation());
        assertEquals(Augmentation.DPN_SENET, org.pulmo.train.Models.defaults("dpn92-se").augmentation());
    }
}
