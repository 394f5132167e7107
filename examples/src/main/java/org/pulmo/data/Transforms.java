package org.pulmo.data;

import java.util.Arrays;

/**
 * The preprocessing and augmentation steps, on planar [C, H, W] images. Coordinates follow the usual image
 * convention: x to the right, y down, pixel centres at integer positions, and resampling maps output pixel
 * centres to input positions with {@code src = (dst + 0.5) * in / out - 0.5} (PyTorch's
 * {@code align_corners=False}, PIL's convention).
 */
public final class Transforms {
    private Transforms() {}

    /**
     * ImageNet's per-channel mean and standard deviation (RGB), as torchvision's pretrained models expect. Every
     * model is normalised with them.
     */
    // Departure: neither paper names a normalisation; every model, also one trained from random weights, gets ImageNet's.
    // Departure: timm's DPN weights (converted from MXNet) expect mean (124, 117, 104) / 255 and std 1 / (0.0167 * 255)
    // = 0.235 on every channel; we keep ImageNet's for all models: the means agree within 0.003, the scales within 5 %.
    public static final float[] IMAGENET_MEAN = {0.485f, 0.456f, 0.406f};
    public static final float[] IMAGENET_STD = {0.229f, 0.224f, 0.225f};

    // ---- resizing -------------------------------------------------------------------------------------

    /** Scales so that the shorter side becomes {@code size}, keeping the aspect ratio (long side as {@link #longSide}). */
    public static Transform resizeShortSide(int size) {
        checkSize(size);
        return (img, rng) -> {
            int[] hw = shortSideSize(size, img.height(), img.width());
            return resample(img, hw[0], hw[1]);
        };
    }

    /** {height, width} of an {@code h x w} image after {@link #resizeShortSide}{@code (size)}. */
    public static int[] shortSideSize(int size, int h, int w) {
        return h <= w ? new int[] {size, longSide(size, h, w)} : new int[] {longSide(size, w, h), size};
    }

    /**
     * The long side of an image whose short side {@code shortSide} is scaled to {@code size}: {@code size * longSide /
     * shortSide} cut to an integer, as torchvision's Resize computes it ({@code int(size * long / short)}): 298 for
     * 1333 x 1000 at 224, where rounding would give 299.
     */
    public static int longSide(int size, int shortSide, int longSide) {
        return Math.max(1, (int) ((double) size * longSide / shortSide));
    }

    /** Scales to exactly {@code height x width} (the aspect ratio may change). */
    public static Transform resize(int height, int width) {
        checkSize(height);
        checkSize(width);
        return (img, rng) -> resample(img, height, width);
    }

    /**
     * Bilinear resize with antialiasing: a triangle filter whose width grows with the shrink factor, as PIL's
     * {@code BILINEAR} (for enlarging this is plain bilinear interpolation; for shrinking every input pixel
     * contributes, so fine patterns average out instead of aliasing). Separable: rows, then columns.
     */
    public static Image resample(Image img, int outH, int outW) {
        if (outH == img.height() && outW == img.width()) return img;
        int c = img.channels(), h = img.height(), w = img.width();
        Filter fx = Filter.triangle(w, outW), fy = Filter.triangle(h, outH);
        float[] src = img.pixels(), mid = new float[c * h * outW], out = new float[c * outH * outW];
        for (int ch = 0; ch < c; ch++)
            for (int y = 0; y < h; y++) {
                int row = (ch * h + y) * w, outRow = (ch * h + y) * outW;
                for (int x = 0; x < outW; x++) {
                    float s = 0;
                    for (int k = 0; k < fx.weights[x].length; k++) s += fx.weights[x][k] * src[row + fx.first[x] + k];
                    mid[outRow + x] = s;
                }
            }
        for (int ch = 0; ch < c; ch++)
            for (int y = 0; y < outH; y++) {
                int outRow = (ch * outH + y) * outW;
                float[] wy = fy.weights[y];
                for (int k = 0; k < wy.length; k++) {
                    int inRow = (ch * h + fy.first[y] + k) * outW;
                    for (int x = 0; x < outW; x++) out[outRow + x] += wy[k] * mid[inRow + x];
                }
            }
        return new Image(c, outH, outW, out);
    }

    /** For each output index: the first input index it reads and the normalised weights of the inputs from there. */
    private record Filter(int[] first, float[][] weights) {
        static Filter triangle(int in, int out) {
            double scale = (double) in / out, support = Math.max(1.0, scale); // half-width of the triangle, in input pixels
            int[] first = new int[out];
            float[][] weights = new float[out][];
            for (int o = 0; o < out; o++) {
                double centre = (o + 0.5) * scale - 0.5;
                int lo = Math.max(0, (int) Math.floor(centre - support) + 1), hi = Math.min(in - 1, (int) Math.ceil(centre + support) - 1);
                if (hi < lo) { lo = hi = (int) Math.clamp(Math.round(centre), 0, in - 1); }
                double[] wt = new double[hi - lo + 1];
                double sum = 0;
                for (int i = lo; i <= hi; i++) sum += wt[i - lo] = Math.max(0, 1 - Math.abs(i - centre) / support);
                float[] wf = new float[wt.length];
                for (int i = 0; i < wt.length; i++) wf[i] = sum > 0 ? (float) (wt[i] / sum) : 1f / wt.length;
                first[o] = lo;
                weights[o] = wf;
            }
            return new Filter(first, weights);
        }
    }

    // ---- cropping -------------------------------------------------------------------------------------

    /** The {@code size x size} window at the centre, at offsets {@link #centreOffset}. */
    public static Transform centerCrop(int size) {
        checkSize(size);
        return (img, rng) -> {
            requireAtLeast(img, size, "centre crop");
            return crop(img, centreOffset(img.height() - size), centreOffset(img.width() - size), size, size);
        };
    }

    /**
     * Where a centre crop starts when {@code margin} pixels are cut away along a side: half of it, a half rounded to
     * even, as torchvision's {@code int(round(margin / 2.0))} (Python rounds halves to even): 0 of 1, 2 of 3, 2 of 5, 4 of 7.
     */
    public static int centreOffset(int margin) {
        return (int) Math.rint(margin / 2.0);
    }

    /** A {@code size x size} window at a uniformly random position. */
    public static Transform randomCrop(int size) {
        checkSize(size);
        return (img, rng) -> {
            requireAtLeast(img, size, "random crop");
            int top = rng.nextInt(img.height() - size + 1), left = rng.nextInt(img.width() - size + 1);
            return crop(img, top, left, size, size);
        };
    }

    public static Image crop(Image img, int top, int left, int height, int width) {
        if (top < 0 || left < 0 || top + height > img.height() || left + width > img.width())
            throw new IllegalArgumentException("crop [" + top + ", " + left + ", " + height + "x" + width + "] outside a "
                + img.height() + "x" + img.width() + " image");
        float[] out = new float[img.channels() * height * width];
        for (int c = 0; c < img.channels(); c++)
            for (int y = 0; y < height; y++)
                System.arraycopy(img.pixels(), (c * img.height() + top + y) * img.width() + left, out, (c * height + y) * width, width);
        return new Image(img.channels(), height, width, out);
    }

    private static void requireAtLeast(Image img, int size, String what) {
        if (img.height() < size || img.width() < size)
            throw new IllegalArgumentException(what + " of " + size + "x" + size + " from a smaller " + img.height() + "x"
                + img.width() + " image; resize first");
    }

    // ---- flips ----------------------------------------------------------------------------------------

    /** Mirrors left-right with probability {@code p}. */
    public static Transform horizontalFlip(double p) {
        return (img, rng) -> rng.nextDouble() < p ? flip(img, true) : img;
    }

    /** Mirrors top-bottom with probability {@code p}. */
    public static Transform verticalFlip(double p) {
        return (img, rng) -> rng.nextDouble() < p ? flip(img, false) : img;
    }

    public static Image flip(Image img, boolean horizontal) {
        int c = img.channels(), h = img.height(), w = img.width();
        float[] src = img.pixels(), out = new float[src.length];
        for (int ch = 0; ch < c; ch++)
            for (int y = 0; y < h; y++) {
                int sy = horizontal ? y : h - 1 - y;
                for (int x = 0; x < w; x++)
                    out[(ch * h + y) * w + x] = src[(ch * h + sy) * w + (horizontal ? w - 1 - x : x)];
            }
        return new Image(c, h, w, out);
    }

    // ---- rotation and scale ---------------------------------------------------------------------------

    /**
     * Rotation by an angle uniform in [-maxDegrees, maxDegrees] and scaling by a factor uniform in
     * [minScale, maxScale], about the image centre, as one affine map with bilinear sampling; positions that
     * map outside the input are filled with 0 (black). Departure: torchvision's {@code RandomAffine} samples the nearest
     * pixel by default; bilinear sampling blurs a little (and does not antialias when scaling down by up to 0.9).
     */
    public static Transform randomAffine(double maxDegrees, double minScale, double maxScale) {
        if (maxDegrees < 0 || !(minScale > 0) || maxScale < minScale)
            throw new IllegalArgumentException("need maxDegrees >= 0 and 0 < minScale <= maxScale, got " + maxDegrees + ", " + minScale + ", " + maxScale);
        return (img, rng) -> {
            double deg = (2 * rng.nextDouble() - 1) * maxDegrees;
            double scale = minScale + rng.nextDouble() * (maxScale - minScale);
            return affine(img, deg, scale);
        };
    }

    /** Rotation only, by an angle uniform in [-maxDegrees, maxDegrees]. */
    public static Transform randomRotation(double maxDegrees) { return randomAffine(maxDegrees, 1, 1); }

    /**
     * Rotates by {@code degrees} counter-clockwise as the picture is seen (x right, y down) and scales by
     * {@code scale} about the centre; same size out, 0 outside.
     * Each output pixel p reads input position {@code c + R(-theta) (p - c) / scale}, the inverse map.
     */
    public static Image affine(Image img, double degrees, double scale) {
        if (degrees == 0 && scale == 1) return img;
        int c = img.channels(), h = img.height(), w = img.width();
        double t = Math.toRadians(degrees), cos = Math.cos(t) / scale, sin = Math.sin(t) / scale;
        double cx = (w - 1) / 2.0, cy = (h - 1) / 2.0;
        float[] src = img.pixels(), out = new float[src.length];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                // Counter-clockwise on screen with y down is the matrix [[cos, sin], [-sin, cos]]; its inverse:
                double dx = x - cx, dy = y - cy;
                double sx = cx + cos * dx - sin * dy, sy = cy + sin * dx + cos * dy;
                int x0 = (int) Math.floor(sx), y0 = (int) Math.floor(sy);
                float fx = (float) (sx - x0), fy = (float) (sy - y0);
                for (int ch = 0; ch < c; ch++) {
                    int base = ch * h * w;
                    float v = (1 - fy) * ((1 - fx) * at(src, base, w, h, x0, y0) + fx * at(src, base, w, h, x0 + 1, y0))
                            + fy * ((1 - fx) * at(src, base, w, h, x0, y0 + 1) + fx * at(src, base, w, h, x0 + 1, y0 + 1));
                    out[base + y * w + x] = v;
                }
            }
        return new Image(c, h, w, out);
    }

    private static float at(float[] p, int base, int w, int h, int x, int y) {
        return x < 0 || y < 0 || x >= w || y >= h ? 0f : p[base + y * w + x];
    }

    // ---- values ---------------------------------------------------------------------------------------

    /** {@code (v - mean[c]) / std[c]} per channel. */
    public static Transform normalize(float[] mean, float[] std) {
        float[] m = mean.clone(), s = std.clone();
        if (m.length != s.length) throw new IllegalArgumentException("mean and std lengths differ: " + Arrays.toString(m) + " " + Arrays.toString(s));
        for (int c = 0; c < s.length; c++)   // as torchvision's Normalize: a std of 0 would make every pixel infinite
            if (!(s[c] > 0 && Float.isFinite(s[c])) || !Float.isFinite(m[c]))
                throw new IllegalArgumentException("normalize: channel " + c + " has mean " + m[c] + " and std " + s[c]
                    + "; each std must be positive and finite, each mean finite");
        return (img, rng) -> {
            if (img.channels() != m.length)
                throw new IllegalArgumentException("normalising a " + img.channels() + "-channel image with " + m.length + " means");
            float[] src = img.pixels(), out = new float[src.length];
            int plane = img.height() * img.width();
            for (int c = 0; c < m.length; c++) {
                float inv = 1f / s[c];
                for (int i = c * plane; i < (c + 1) * plane; i++) out[i] = (src[i] - m[c]) * inv;
            }
            return new Image(img.channels(), img.height(), img.width(), out);
        };
    }

    public static Transform imagenetNormalize() { return normalize(IMAGENET_MEAN, IMAGENET_STD); }

    private static void checkSize(int size) {
        if (size <= 0) throw new IllegalArgumentException("size must be positive, got " + size);
    }
}
