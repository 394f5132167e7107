package org.pulmo.explain;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import javax.imageio.ImageIO;
import org.pulmo.data.Image;

/** Heatmaps as files: a PNG overlay on the input image, and the raw map as CSV (rows of floats) for analysis. */
public final class Heatmaps {
    private Heatmaps() {}

    /** Bilinear resampling of a [h, w] map to [outH, outW] (pixel centres aligned, as align_corners=False). */
    public static float[] upsample(float[] map, int h, int w, int outH, int outW) {
        float[] out = new float[outH * outW];
        for (int y = 0; y < outH; y++) {
            double sy = Math.clamp((y + 0.5) * h / outH - 0.5, 0, h - 1);
            int y0 = (int) sy, y1 = Math.min(y0 + 1, h - 1);
            double fy = sy - y0;
            for (int x = 0; x < outW; x++) {
                double sx = Math.clamp((x + 0.5) * w / outW - 0.5, 0, w - 1);
                int x0 = (int) sx, x1 = Math.min(x0 + 1, w - 1);
                double fx = sx - x0;
                out[y * outW + x] = (float) ((1 - fy) * ((1 - fx) * map[y0 * w + x0] + fx * map[y0 * w + x1])
                    + fy * ((1 - fx) * map[y1 * w + x0] + fx * map[y1 * w + x1]));
            }
        }
        return out;
    }

    /**
     * Writes the image (grey, [0, 1]) with the map blended on top: {@code signed = false} uses the jet colours
     * for a map in [0, 1] (Grad-CAM); {@code signed = true} shows positive values green and negative red, scaled
     * by the largest magnitude (LIME).
     */
    public static void overlay(Image img, float[] map, boolean signed, Path file) throws IOException {
        int h = img.height(), w = img.width();
        float scale = 0;
        for (float v : map) scale = Math.max(scale, Math.abs(v));
        if (scale == 0) scale = 1;
        BufferedImage out = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                float g = 0;
                for (int c = 0; c < img.channels(); c++) g += img.get(c, y, x);
                g = Math.clamp(g / img.channels(), 0f, 1f);
                float v = map[y * w + x] / scale;
                float[] col = signed ? (v >= 0 ? new float[] {0, 1, 0} : new float[] {1, 0, 0}) : jet(Math.clamp(v, 0f, 1f));
                float alpha = signed ? 0.6f * Math.abs(v) : 0.45f;
                int r = Math.round(255 * ((1 - alpha) * g + alpha * col[0]));
                int gg = Math.round(255 * ((1 - alpha) * g + alpha * col[1]));
                int b = Math.round(255 * ((1 - alpha) * g + alpha * col[2]));
                out.setRGB(x, y, (r << 16) | (gg << 8) | b);
            }
        Path parent = file.toAbsolutePath().getParent();
        if (parent != null) Files.createDirectories(parent);
        if (!ImageIO.write(out, "png", file.toFile())) throw new IOException("no PNG writer for " + file);
    }

    /** The jet colour map: blue (0) - cyan - yellow - red (1). */
    static float[] jet(float v) {
        float r = Math.clamp(1.5f - Math.abs(4 * v - 3), 0f, 1f), g = Math.clamp(1.5f - Math.abs(4 * v - 2), 0f, 1f),
            b = Math.clamp(1.5f - Math.abs(4 * v - 1), 0f, 1f);
        return new float[] {r, g, b};
    }

    /** The map as CSV: {@code h} lines of {@code w} comma-separated values. */
    public static void writeCsv(float[] map, int h, int w, Path file) throws IOException {
        StringBuilder sb = new StringBuilder();
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) sb.append(x == 0 ? "" : ",").append(String.format(Locale.ROOT, "%.6g", map[y * w + x]));
            sb.append('\n');
        }
        Files.writeString(file, sb);
    }
}
