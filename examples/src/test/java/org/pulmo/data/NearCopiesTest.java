package org.pulmo.data;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;

/**
 * The same picture is found whatever its size, brightness and contrast, and when shifted a little; other pictures of
 * the same kind (seeded random "scans": smooth blobs on a body outline) are not. Thresholds as NearCopies sets them.
 */
public class NearCopiesTest {

    /** A grey picture of side x side: an ellipse of body and a few bright blobs placed by the seed. */
    public static Image scan(long seed, int h, int w, double shiftY, double shiftX, float gain, float offset) {
        Random r = new Random(seed);
        int blobs = 6;
        double[][] b = new double[blobs][];
        for (int k = 0; k < blobs; k++) b[k] = new double[] {0.2 + 0.6 * r.nextDouble(), 0.2 + 0.6 * r.nextDouble(), 0.03 + 0.08 * r.nextDouble()};
        Image im = Image.zeros(1, h, w);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                double v = (y + 0.5) / h - shiftY, u = (x + 0.5) / w - shiftX;
                double body = Math.pow((u - 0.5) / 0.42, 2) + Math.pow((v - 0.5) / 0.35, 2) < 1 ? 0.35 : 0.05;
                for (double[] c : b) body += 0.5 * Math.exp(-((u - c[1]) * (u - c[1]) + (v - c[0]) * (v - c[0])) / (2 * c[2] * c[2]));
                im.pixels()[y * w + x] = Math.clamp((float) body * gain + offset, 0f, 1f);
            }
        return im;
    }

    @Test void theSamePictureIsFoundAtAnotherSizeBrightnessAndShiftAndOthersAreNot() {
        NearCopies.Print original = NearCopies.Print.of(scan(1, 96, 120, 0, 0, 1f, 0f));
        NearCopies.Print resized = NearCopies.Print.of(scan(1, 200, 250, 0, 0, 0.8f, 0.1f));          // other size, contrast, brightness
        NearCopies.Print shifted = NearCopies.Print.of(scan(1, 96, 120, 0.04, -0.03, 1f, 0f));        // a few per cent off
        String resizedHow = NearCopies.same(original, resized), shiftedHow = NearCopies.same(original, shifted);
        assertNotNull(resizedHow);
        assertTrue(resizedHow.startsWith("near"), resizedHow);
        assertNotNull(shiftedHow);
        assertTrue(shiftedHow.startsWith("aligned"), shiftedHow + "; d " + NearCopies.distance(original, shifted));
        for (long other = 2; other < 40; other++) {
            NearCopies.Print p = NearCopies.Print.of(scan(other, 96, 120, 0, 0, 1f, 0f));
            assertNull(NearCopies.same(original, p), "seed " + other + ": d " + NearCopies.distance(original, p) + ", r " + NearCopies.alignedCorrelation(original, p));
        }
        Image grey = Image.zeros(3, 10, 10), light = Image.zeros(1, 30, 20);
        java.util.Arrays.fill(grey.pixels(), 0.1f);
        java.util.Arrays.fill(light.pixels(), 0.9f);
        NearCopies.Print flat = NearCopies.Print.of(grey), flat2 = NearCopies.Print.of(light);
        assertNull(NearCopies.same(original, flat), "a flat picture matches nothing");
        assertNull(NearCopies.same(flat, flat2), "nor another flat one (both normalise to all 0: d would be 0)");
    }

    /** The coarse distance that rules pairs out is a lower bound of the distance the test uses, on any two pictures. */
    @Test void theCoarseDistanceNeverExceedsTheDistance() {
        java.util.Random r = new java.util.Random(9);
        for (int k = 0; k < 200; k++) {
            Image a = Image.zeros(1, 20 + r.nextInt(40), 20 + r.nextInt(40)), b = Image.zeros(1, 20 + r.nextInt(40), 20 + r.nextInt(40));
            for (int i = 0; i < a.pixels().length; i++) a.pixels()[i] = r.nextFloat();
            for (int i = 0; i < b.pixels().length; i++) b.pixels()[i] = k % 2 == 0 ? r.nextFloat() : a.pixels()[i % a.pixels().length];
            NearCopies.Print pa = NearCopies.Print.of(a), pb = NearCopies.Print.of(b);
            assertTrue(NearCopies.coarseDistance(pa, pb) <= NearCopies.distance(pa, pb) + 1e-6,
                NearCopies.coarseDistance(pa, pb) + " > " + NearCopies.distance(pa, pb));
        }
        NearCopies.Print s1 = NearCopies.Print.of(scan(1, 64, 64, 0, 0, 1f, 0f)), s2 = NearCopies.Print.of(scan(2, 64, 64, 0, 0, 1f, 0f));
        assertTrue(NearCopies.coarseDistance(s1, s2) > 0, "the bound is not trivially 0");
    }

    @Test void pairsAreFoundAcrossListsAndWithinOne() {
        NearCopies.Print[] a = {NearCopies.Print.of(scan(5, 64, 64, 0, 0, 1f, 0f)), NearCopies.Print.of(scan(6, 64, 64, 0, 0, 1f, 0f)), null};
        NearCopies.Print[] b = {NearCopies.Print.of(scan(7, 64, 64, 0, 0, 1f, 0f)), NearCopies.Print.of(scan(6, 80, 80, 0, 0, 0.9f, 0.05f))};
        List<NearCopies.Pair> across = NearCopies.across(a, b);
        assertEquals(1, across.size(), across.toString());
        assertEquals(1, across.getFirst().a());
        assertEquals(1, across.getFirst().b());
        NearCopies.Print[] one = {a[0], b[0], a[1], null, b[1]};
        List<NearCopies.Pair> within = NearCopies.within(one, (i, j) -> true);
        assertEquals(1, within.size(), within.toString());
        assertEquals(2, within.getFirst().a());
        assertEquals(4, within.getFirst().b());
        assertEquals(List.of(), NearCopies.within(one, (i, j) -> !(i == 2 && j == 4)), "a pair not to consider is not compared");
    }


    /** The alignment tries shifts of up to SHIFT rows both ways, SHIFT itself included. */
    @Test void aShiftOfExactlyTheLargestTriedIsFound() {
        NearCopies.Print o = NearCopies.Print.of(scan(4, 64, 64, 0, 0, 1f, 0f));
        for (double s : new double[] {4 / 64.0, -4 / 64.0}) {
            NearCopies.Print p = NearCopies.Print.of(scan(4, 64, 64, s, 0, 1f, 0f));
            assertTrue(NearCopies.alignedCorrelation(o, p) > 0.999, s + ": " + NearCopies.alignedCorrelation(o, p));
        }
    }

    /** Nothing at or beyond the candidate distance is matched, however well it aligns: the rule as calibrated. */
    @Test void nothingIsMatchedAtOrBeyondTheCandidateDistance() {
        int alignedBeyond = 0;   // pairs the correlation alone would match: the cut-off is what refuses them
        for (long seed = 1; seed <= 5; seed++) {
            NearCopies.Print o = NearCopies.Print.of(scan(seed, 64, 64, 0, 0, 1f, 0f));
            for (int s = 1; s <= 6; s++)
                for (double[] d : new double[][] {{s / 64.0, 0}, {-s / 64.0, 0}, {0, s / 64.0}, {0, -s / 64.0}}) {
                    NearCopies.Print p = NearCopies.Print.of(scan(seed, 64, 64, d[0], d[1], 1f, 0f));
                    String how = NearCopies.same(o, p);
                    if (how != null) assertTrue(NearCopies.distance(o, p) < NearCopies.CANDIDATE, seed + " " + s + ": " + how);
                    if (NearCopies.distance(o, p) >= NearCopies.CANDIDATE && NearCopies.alignedCorrelation(o, p) >= NearCopies.ALIGNED) alignedBeyond++;
                }
        }
        assertTrue(alignedBeyond > 0, "no pair reached the cut-off: the test would pass without it");
    }

    /** Odd sizes: over 10 times longer than wide, not only under 32 pixels a side. */
    @Test void aLongStripIsAnOddSize() {
        assertTrue(NearCopies.Print.of(Image.zeros(1, 40, 500)).oddSize());
        assertFalse(NearCopies.Print.of(Image.zeros(1, 40, 400)).oddSize());
    }
}
