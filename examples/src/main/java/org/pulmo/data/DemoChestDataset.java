package org.pulmo.data;

import java.io.IOException;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import org.pulmo.tensor.Rng;

/**
 * A synthetic, offline stand-in for a 4-class chest X-ray set: grey pictures of two dark lung fields on
 * brighter soft tissue, with the radiological pattern each class is known by.
 * <ul>
 *   <li>0 {@code normal}: clear lung fields;</li>
 *   <li>1 {@code covid19}: bilateral, peripheral ground-glass opacities (faint blobs near the outer edge of
 *       both lungs);</li>
 *   <li>2 {@code bacterial}: lobar consolidation (one dense bright region low in one lung);</li>
 *   <li>3 {@code viral}: diffuse interstitial streaks across both lungs.</li>
 * </ul>
 * Image {@code i} has class {@code i % 4} (so the classes are balanced) and is drawn from its own generator,
 * {@link Transform#sampleRng}(seed, -1, i): lung size and position, lesion count, place, size and brightness,
 * and pixel noise all vary, so a model must learn the pattern, not a template. Images are generated on
 * demand and never stored; the same (count, size, seed) always gives the same pixels.
 *
 * <p>Group ids imitate patients: images {@code 12q + 4r + k} for r = 0, 1, 2 share the group
 * {@code patient-(4q + k)} (three images, one class), so patient-level splits and metrics can be tried on
 * the demo too.
 *
 * <p>Shape contract: {@link #image} returns [3, size, size] in [0, 1] (the three channels equal).
 * {@link #DEFAULT_IMAGES} training images of {@link #DEFAULT_SIZE} px train a small CNN well above chance
 * (25 %) in a few minutes on a 2-core CPU.
 */
public final class DemoChestDataset implements Dataset {
    public static final List<String> CLASSES = List.of("normal", "covid19", "bacterial", "viral");
    public static final int DEFAULT_IMAGES = 1024, DEFAULT_SIZE = 32;

    private final int count, size;
    private final long seed;

    public DemoChestDataset(int count, int size, long seed) {
        if (count <= 0) throw new IllegalArgumentException("image count must be positive, got " + count);
        if (size < 16) throw new IllegalArgumentException("demo images need at least 16 px, got " + size);
        this.count = count;
        this.size = size;
        this.seed = seed;
    }

    public int imageSize() { return size; }

    @Override public List<String> classes() { return CLASSES; }
    @Override public int size() { return count; }
    @Override public int label(int index) { return Math.floorMod(checkIndex(index), 4); }
    @Override public String group(int index) { return "patient-" + ((index / 12) * 4 + label(index)); }
    /** "demo image 17 of set 3003 (covid19)": the set's seed tells the parts apart (each part is a set of its own). */
    @Override public String source(int index) { return "demo image " + index + " of set " + seed + " (" + CLASSES.get(label(index)) + ")"; }

    @Override public Image image(int index) {
        float[] g = draw(label(index), size, Transform.sampleRng(seed, -1, checkIndex(index)));
        return new Image(1, size, size, g).toRgb();
    }

    private int checkIndex(int index) {
        if (index < 0 || index >= count) throw new IndexOutOfBoundsException("demo image " + index + " of " + count);
        return index;
    }

    /**
     * Writes the images as an image folder, {@code root/<class>/<class>_<index>.png} (8-bit grey PNG), which
     * {@link ImageFileDataset#folder} reads back with the same classes; returns the number of files.
     */
    public int writeTo(Path root) throws IOException {
        for (int i = 0; i < count; i++) {
            String cls = CLASSES.get(label(i));
            image(i).writePng(root.resolve(cls).resolve(String.format(Locale.ROOT, "%s_%05d.png", cls, i)));
        }
        return count;
    }

    /** One grey s x s picture of class {@code cls}, values in [0, 1], row-major. */
    static float[] draw(int cls, int s, Rng rng) {
        float[] img = new float[s * s];
        float cy = s * (0.5f + 0.05f * (rng.nextFloat() - 0.5f));
        float rx = s * (0.16f + 0.03f * rng.nextFloat()), ry = s * (0.30f + 0.05f * rng.nextFloat());
        float[] lungX = {s * 0.30f + s * 0.03f * (rng.nextFloat() - 0.5f), s * 0.70f + s * 0.03f * (rng.nextFloat() - 0.5f)};
        for (int r = 0; r < s; r++)
            for (int c = 0; c < s; c++) {
                float v = 0.55f; // soft tissue
                for (float lx : lungX) {
                    float dx = (c - lx) / rx, dy = (r - cy) / ry;
                    if (dx * dx + dy * dy < 1) v = 0.12f; // air-filled lung is dark on an X-ray
                }
                img[r * s + c] = v;
            }
        switch (cls) {
            case 1 -> { // bilateral peripheral ground-glass opacities
                for (int side = 0; side < 2; side++) {
                    int blobs = 2 + rng.nextInt(2);
                    for (int b = 0; b < blobs; b++) {
                        float outward = side == 0 ? -1 : 1;
                        float bx = lungX[side] + outward * rx * (0.45f + 0.3f * rng.nextFloat());
                        float by = cy + ry * (rng.nextFloat() - 0.5f) * 1.2f;
                        blob(img, s, bx, by, s * (0.06f + 0.03f * rng.nextFloat()), 0.18f + 0.08f * rng.nextFloat());
                    }
                }
            }
            case 2 -> { // lobar consolidation: one dense region in the lower part of one lung
                int side = rng.nextInt(2);
                blob(img, s, lungX[side] + rx * 0.2f * (rng.nextFloat() - 0.5f), cy + ry * (0.35f + 0.2f * rng.nextFloat()),
                    s * (0.11f + 0.03f * rng.nextFloat()), 0.4f + 0.2f * rng.nextFloat());
            }
            case 3 -> { // diffuse interstitial streaks
                int streaks = 6 + rng.nextInt(4);
                for (int k = 0; k < streaks; k++) {
                    int side = rng.nextInt(2);
                    float x0 = lungX[side] + rx * 1.6f * (rng.nextFloat() - 0.5f), y0 = cy + ry * 1.6f * (rng.nextFloat() - 0.5f);
                    double ang = rng.nextDouble() * Math.PI;
                    float len = s * (0.1f + 0.1f * rng.nextFloat());
                    float width = Math.max(1, s / 64f); // about one pixel at 32-64 px, thicker at 224
                    for (float t = -len / 2; t <= len / 2; t += 0.5f) {
                        float px = x0 + t * (float) Math.cos(ang), py = y0 + t * (float) Math.sin(ang);
                        for (int r = (int) (py - width / 2); r <= (int) (py + width / 2); r++) {
                            int c = Math.round(px);
                            if (r >= 0 && r < s && c >= 0 && c < s) img[r * s + c] = Math.max(img[r * s + c], 0.12f + 0.25f);
                        }
                    }
                }
            }
            default -> { }
        }
        for (int i = 0; i < img.length; i++) img[i] = Math.clamp(img[i] + 0.06f * (float) rng.nextGaussian(), 0f, 1f);
        return img;
    }

    /** Adds a Gaussian bump {@code strength * exp(-d^2 / radius^2)}, cut at 2 radii. */
    private static void blob(float[] img, int s, float bx, float by, float radius, float strength) {
        int r0 = Math.max(0, (int) (by - 2 * radius)), r1 = Math.min(s - 1, (int) (by + 2 * radius) + 1);
        int c0 = Math.max(0, (int) (bx - 2 * radius)), c1 = Math.min(s - 1, (int) (bx + 2 * radius) + 1);
        for (int r = r0; r <= r1; r++)
            for (int c = c0; c <= c1; c++) {
                float d2 = ((c - bx) * (c - bx) + (r - by) * (r - by)) / (radius * radius);
                if (d2 < 4) img[r * s + c] += strength * (float) Math.exp(-d2);
            }
    }

    @Override public String toString() { return "DemoChestDataset(" + count + " images of " + size + "x" + size + ", seed " + seed + ")"; }
}
