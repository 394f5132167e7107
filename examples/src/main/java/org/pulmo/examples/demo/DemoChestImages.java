package org.pulmo.examples.demo;

import org.pulmo.tensor.Rng;
import org.pulmo.tensor.Tensor;

/**
 * A synthetic, offline stand-in for a chest X-ray set: grey images of two lung fields on a brighter body,
 * in four classes that mimic the radiological patterns the papers' classes differ by.
 * <ul>
 *   <li>0 normal: clear (dark) lung fields;</li>
 *   <li>1 COVID-19: bilateral, peripheral ground-glass blobs (faint, in both lungs, near the outer edge);</li>
 *   <li>2 bacterial pneumonia: one dense lobar consolidation (a bright region low in one lung);</li>
 *   <li>3 viral pneumonia: diffuse interstitial streaks across both lungs.</li>
 * </ul>
 * Every image is randomised (lung size and position, lesion count, place and brightness, noise), so a model
 * must learn the pattern, not a template.
 */
public final class DemoChestImages {
    public static final String[] CLASSES = {"normal", "covid19", "bacterial", "viral"};

    private DemoChestImages() {}

    /** {images [n, 1, size, size] in about [-1, 1], labels [n]} with classes balanced and shuffled. */
    public static Tensor[] generate(int n, int size, Rng rng) {
        float[] x = new float[n * size * size], y = new float[n];
        for (int i = 0; i < n; i++) {
            int cls = i % CLASSES.length;
            y[i] = cls;
            float[] img = image(cls, size, rng);
            System.arraycopy(img, 0, x, i * size * size, img.length);
        }
        for (int i = n - 1; i > 0; i--) { // Fisher-Yates over whole images
            int j = rng.nextInt(i + 1);
            float t = y[i]; y[i] = y[j]; y[j] = t;
            for (int k = 0; k < size * size; k++) {
                float a = x[i * size * size + k];
                x[i * size * size + k] = x[j * size * size + k];
                x[j * size * size + k] = a;
            }
        }
        return new Tensor[] {Tensor.of(x, n, 1, size, size), Tensor.of(y, n)};
    }

    static float[] image(int cls, int s, Rng rng) {
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
                        blob(img, s, bx, by, s * (0.06f + 0.03f * rng.nextFloat()), 0.22f);
                    }
                }
            }
            case 2 -> { // lobar consolidation: one dense region in the lower part of one lung
                int side = rng.nextInt(2);
                blob(img, s, lungX[side] + rx * 0.2f * (rng.nextFloat() - 0.5f), cy + ry * (0.35f + 0.2f * rng.nextFloat()),
                    s * (0.11f + 0.03f * rng.nextFloat()), 0.5f);
            }
            case 3 -> { // diffuse interstitial streaks
                int streaks = 6 + rng.nextInt(4);
                for (int k = 0; k < streaks; k++) {
                    int side = rng.nextInt(2);
                    float x0 = lungX[side] + rx * 1.6f * (rng.nextFloat() - 0.5f), y0 = cy + ry * 1.6f * (rng.nextFloat() - 0.5f);
                    double ang = rng.nextDouble() * Math.PI;
                    float len = s * (0.1f + 0.1f * rng.nextFloat());
                    for (float t = -len / 2; t <= len / 2; t += 0.5f) {
                        int c = Math.round(x0 + t * (float) Math.cos(ang)), r = Math.round(y0 + t * (float) Math.sin(ang));
                        if (r >= 0 && r < s && c >= 0 && c < s) img[r * s + c] += 0.25f;
                    }
                }
            }
            default -> { }
        }
        for (int i = 0; i < img.length; i++) img[i] = 2f * (img[i] + 0.06f * (float) rng.nextGaussian()) - 1f;
        return img;
    }

    private static void blob(float[] img, int s, float bx, float by, float radius, float strength) {
        for (int r = 0; r < s; r++)
            for (int c = 0; c < s; c++) {
                float d2 = ((c - bx) * (c - bx) + (r - by) * (r - by)) / (radius * radius);
                if (d2 < 4) img[r * s + c] += strength * (float) Math.exp(-d2);
            }
    }
}
