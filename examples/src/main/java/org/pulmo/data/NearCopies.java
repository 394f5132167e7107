package org.pulmo.data;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.IntStream;

/**
 * Images that show the same picture although their bytes differ: one X-ray saved twice at another size or quality,
 * a CT slice and its neighbour, a figure cropped a little differently. Identical files are {@link Leakage}'s; these
 * need the pixels. Two tests, on the grey picture shrunk to thumbnails and normalised to mean 0 and deviation 1 (so
 * that brightness and contrast do not count; a blank picture matches nothing):
 * <ul>
 *   <li><b>near</b>: the mean absolute difference {@code d} of the 16 x 16 thumbnails is below {@link #NEAR};</li>
 *   <li><b>aligned</b>: for pairs with {@code d} below {@link #CANDIDATE}, the correlation {@code r} of the 64 x 64
 *       thumbnails at the best shift of up to {@link #SHIFT} pixels (about 6 % of the side) is at least {@link #ALIGNED}.</li>
 * </ul>
 * The thresholds were set on two sets whose near copies had been listed beforehand by another check (the 4-class chest
 * X-ray set and the SARS-CoV-2 CT set of the README's "Data sets"): on the X-ray set these find the one listed pair and
 * nothing else; on the CT set 27 pairs in all, 15 of the 37 listed and 12 more, all of nearby slice numbers, of which
 * the 6 looked at show one patient at the same or a neighbouring slice; the listed pairs they miss are neighbouring
 * slices that differ more (the other check also allowed rescaling). None under different labels on either set.
 */
public final class NearCopies {
    private NearCopies() {}

    static final int SMALL = 16, LARGE = 64, SHIFT = 4;
    static final double NEAR = 0.10, CANDIDATE = 0.30, ALIGNED = 0.975;

    /**
     * An image's two normalised thumbnails, and the small one's 4 x 4 block means ({@code coarse}), which bound the
     * small ones' distance from below and so rule out most pairs in 16 steps instead of 256 ({@link #same}).
     */
    public record Print(float[] small, float[] large, float[] coarse, boolean flat, int height, int width) {
        /** Too small to show a chest (under 32 pixels a side), or a strip (one side over 10 times the other). */
        public boolean oddSize() { return Math.min(height, width) < 32 || Math.max(height, width) > 10L * Math.min(height, width); }

        public static Print of(Image im) {
            float[] small = thumbnail(im, SMALL);
            boolean flat = true;
            for (float v : small) flat &= v == 0f;
            return new Print(small, thumbnail(im, LARGE), blockMeans(small, SMALL, 4), flat, im.height(), im.width());
        }
    }

    /** The means of the side x side grid's blocks of {@code block} x {@code block} cells. */
    static float[] blockMeans(float[] grid, int side, int block) {
        int n = side / block;
        float[] out = new float[n * n];
        for (int y = 0; y < side; y++)
            for (int x = 0; x < side; x++) out[(y / block) * n + x / block] += grid[y * side + x] / (block * block);
        return out;
    }

    /**
     * The mean absolute difference of the coarse block means: never more than {@link #distance} (per block, the
     * difference of two means is at most the mean of the differences), so a pair this far apart is not a candidate.
     */
    static double coarseDistance(Print a, Print b) {
        double s = 0;
        for (int i = 0; i < a.coarse.length; i++) s += Math.abs(a.coarse[i] - b.coarse[i]);
        return s / a.coarse.length;
    }

    /** A pair found: indices into the two lists compared, and how ("near (d=0.031)" or "aligned (d=0.21, r=0.983)"). */
    public record Pair(int a, int b, String how) {}

    /** The grey picture (the channels' mean) averaged into side x side cells, then normalised; a flat picture is all 0. */
    static float[] thumbnail(Image im, int side) {
        int h = im.height(), w = im.width(), plane = h * w;
        double[] sum = new double[side * side];
        int[] count = new int[side * side];
        float[] p = im.pixels();
        for (int y = 0; y < h; y++) {
            int ty = (int) ((long) y * side / h);
            for (int x = 0; x < w; x++) {
                int i = y * w + x, t = ty * side + (int) ((long) x * side / w);
                double g = 0;
                for (int c = 0; c < im.channels(); c++) g += p[c * plane + i];
                sum[t] += g / im.channels();
                count[t]++;
            }
        }
        float[] out = new float[side * side];
        double mean = 0;
        for (int t = 0; t < out.length; t++) {
            out[t] = (float) (count[t] == 0 ? 0 : sum[t] / count[t]);
            mean += out[t];
        }
        mean /= out.length;
        double var = 0;
        for (float v : out) var += (v - mean) * (v - mean);
        double sd = Math.sqrt(var / out.length);
        for (int t = 0; t < out.length; t++) out[t] = sd < 1e-6 ? 0f : (float) ((out[t] - mean) / sd);
        return out;
    }

    /** The mean absolute difference of two small thumbnails. */
    static double distance(Print a, Print b) {
        double s = 0;
        for (int i = 0; i < a.small.length; i++) s += Math.abs(a.small[i] - b.small[i]);
        return s / a.small.length;
    }

    /** The best correlation of the large thumbnails over shifts of up to SHIFT pixels each way. */
    static double alignedCorrelation(Print a, Print b) {
        double best = -1;
        for (int dy = -SHIFT; dy <= SHIFT; dy++)
            for (int dx = -SHIFT; dx <= SHIFT; dx++) {
                double ab = 0, aa = 0, bb = 0;
                for (int y = Math.max(0, -dy); y < Math.min(LARGE, LARGE - dy); y++)
                    for (int x = Math.max(0, -dx); x < Math.min(LARGE, LARGE - dx); x++) {
                        float u = a.large[y * LARGE + x], v = b.large[(y + dy) * LARGE + x + dx];
                        ab += u * v;
                        aa += u * u;
                        bb += v * v;
                    }
                if (aa > 0 && bb > 0) best = Math.max(best, ab / Math.sqrt(aa * bb));
            }
        return best;
    }

    /** How {@code a} and {@code b} are the same picture, or null where they are not. */
    static String same(Print a, Print b) {
        if (a.flat || b.flat) return null;   // a blank picture (normalised to all 0) has no picture to share
        if (coarseDistance(a, b) >= CANDIDATE) return null;   // then distance >= CANDIDATE too
        double d = distance(a, b);
        if (d < NEAR) return String.format(Locale.ROOT, "near (d=%.3f)", d);
        if (d >= CANDIDATE) return null;
        double r = alignedCorrelation(a, b);
        return r >= ALIGNED ? String.format(Locale.ROOT, "aligned (d=%.3f, r=%.3f)", d, r) : null;
    }

    /** The prints of a data set's images, in parallel; an image that cannot be read gets null (reported elsewhere). */
    public static Print[] prints(Dataset d, Runnable progress) {
        Print[] out = new Print[d.size()];
        IntStream.range(0, d.size()).parallel().forEach(i -> {
            try {
                out[i] = Print.of(d.image(i));
            } catch (IOException | RuntimeException e) {
                out[i] = null;
            }
            progress.run();
        });
        return out;
    }

    /** The pairs of {@code a} and {@code b} that show the same picture (every a against every b). */
    public static List<Pair> across(Print[] a, Print[] b) { return search(a, b, false, (i, j) -> true); }

    /** The pairs within one list ({@code a} before {@code b}) for which {@code consider} holds (asked before any comparison). */
    public static List<Pair> within(Print[] p, java.util.function.BiPredicate<Integer, Integer> consider) { return search(p, p, true, consider); }

    /** Every a[i] against b[j] (with {@code upper}, only j > i) that {@code consider} allows, in parallel over i; the pairs in (i, j) order. */
    private static List<Pair> search(Print[] a, Print[] b, boolean upper, java.util.function.BiPredicate<Integer, Integer> consider) {
        List<Pair> found = java.util.Collections.synchronizedList(new ArrayList<>());
        IntStream.range(0, a.length).parallel().forEach(i -> {
            if (a[i] == null) return;
            for (int j = upper ? i + 1 : 0; j < b.length; j++) {
                if (b[j] == null || !consider.test(i, j)) continue;
                String how = same(a[i], b[j]);
                if (how != null) found.add(new Pair(i, j, how));
            }
        });
        List<Pair> sorted = new ArrayList<>(found);
        sorted.sort(java.util.Comparator.comparingInt(Pair::a).thenComparingInt(Pair::b));
        return sorted;
    }
}
