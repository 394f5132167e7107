package org.pulmo.explain;

import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Locale;
import org.pulmo.data.Image;
import org.pulmo.io.AtomicFiles;

/**
 * Heatmaps as files: a PNG overlay on the whole original image (with a title and a colour bar), and the raw map
 * as CSV (rows of floats) for analysis.
 */
public final class Heatmaps {
    private Heatmaps() {}

    static { System.setProperty("java.awt.headless", "true"); }

    /** Why titles and colour-bar labels are left out (null while Java can draw text); set by the first failure. */
    private static volatile String textUnavailable;

    /** Draws one line of text with its baseline at y; a field so that a test can stand in a machine without fonts. */
    interface TextPainter { void draw(Graphics2D g, String text, int x, int y); }

    static final TextPainter JAVA_2D = Graphics2D::drawString;
    static volatile TextPainter painter = JAVA_2D;

    /** Tests: back to Java 2D text and a clean slate. */
    static void reset() { painter = JAVA_2D; textUnavailable = null; }

    public static String textUnavailableReason() { return textUnavailable; }

    /** The canvas and where the picture starts on it (below the title, left of the colour bar). */
    record Canvas(BufferedImage image, int imageX, int imageY, boolean withText) {}

    /**
     * Writes {@code img} (grey, [0, 1], [C, H, W] at its own resolution) with {@code heat} [H*W] blended on top,
     * a colour bar on the right and {@code title} above. {@code signed = false}: jet colours for a map in
     * [0, 1] (Grad-CAM); {@code signed = true}: green for positive, red for negative, scaled by the largest
     * magnitude, which the colour bar prints (LIME). Departure: green and red as the {@code lime} package draws them;
     * the DPN-SENet paper's Fig. 7 marks the key features red and the rest blue (the overlay's title says which is which). A NaN in {@code heat} marks a pixel the model did not see:
     * it is drawn dimmed, with no colour. Where Java cannot draw text the overlay is written without the title
     * and labels, and one line on standard error says so.
     */
    public static void overlay(Image img, float[] heat, boolean signed, java.util.List<String> title, Path file) throws IOException {
        Canvas c = render(img, heat, signed, title);
        Image.writePng(c.image(), file);
    }

    static Canvas render(Image img, float[] heat, boolean signed, java.util.List<String> title) {
        if (textUnavailable == null) {
            try {
                return render(img, heat, signed, title, true);
            } catch (RuntimeException | LinkageError | InternalError e) {
                textUnavailable = org.pulmo.train.Plots.cannotDrawText(e);
                System.err.println("pulmo: heatmaps written without titles and colour-bar labels: " + textUnavailable
                    + ". The title lines are printed here instead, the raw maps are in the CSV files.");
            }
        }
        return render(img, heat, signed, title, false);
    }

    private static Canvas render(Image img, float[] heat, boolean signed, java.util.List<String> title, boolean text) {
        int h = img.height(), w = img.width();
        float scale = 0;
        for (float v : heat) if (!Float.isNaN(v)) scale = Math.max(scale, Math.abs(v));
        float shown = scale;
        if (scale == 0) scale = 1;
        int font = Math.max(12, Math.min(h, w) / 40), line = font * 3 / 2, pad = font / 2;
        int bar = Math.max(10, w / 40), labels = text ? 6 * font : 0;
        int titleH = text ? title.size() * line + pad : 0;
        int longest = 0;
        for (String t : title) longest = Math.max(longest, t.length());
        int cw = Math.max(w + pad + bar + pad + labels, text ? (int) (0.6 * font * longest) + 2 * pad : 0);
        int ch = titleH + Math.max(h, text ? 4 * line : 0);
        BufferedImage out = new BufferedImage(cw, ch, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = out.createGraphics();
        try {
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, cw, ch);
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++) {
                    float grey = 0;
                    for (int c = 0; c < img.channels(); c++) grey += img.get(c, y, x);
                    grey = Math.clamp(grey / img.channels(), 0f, 1f);
                    float v = heat[y * w + x];
                    int rgb;
                    if (Float.isNaN(v)) rgb = rgb(0.15f + 0.3f * grey, 0.15f + 0.3f * grey, 0.15f + 0.3f * grey); // not seen: dimmed, no colour
                    else {
                        v /= scale;
                        float[] col = colour(v, signed);
                        float alpha = signed ? 0.6f * Math.abs(v) : 0.45f;
                        rgb = rgb((1 - alpha) * grey + alpha * col[0], (1 - alpha) * grey + alpha * col[1], (1 - alpha) * grey + alpha * col[2]);
                    }
                    out.setRGB(x, titleH + y, rgb);
                }
            int bx = w + pad, barH = Math.max(h, text ? 4 * line : 0);
            for (int y = 0; y < barH; y++) {
                float v = 1 - (float) y / Math.max(1, barH - 1);          // top = largest
                float[] col = colour(signed ? 2 * v - 1 : v, signed);
                float alpha = signed ? 0.6f * Math.abs(2 * v - 1) : 0.45f;
                int rgb = rgb((1 - alpha) * 0.5f + alpha * col[0], (1 - alpha) * 0.5f + alpha * col[1], (1 - alpha) * 0.5f + alpha * col[2]);
                for (int x = 0; x < bar; x++) out.setRGB(bx + x, titleH + y, rgb);
            }
            if (text) {
                g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
                g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, font));
                g.setColor(Color.BLACK);
                for (int i = 0; i < title.size(); i++) painter.draw(g, title.get(i), pad, (i + 1) * line - font / 4);
                String hi = signed ? String.format(Locale.ROOT, "+%.3g", shown) : "1 (max)", mid = signed ? "0" : "0.5", lo = signed ? String.format(Locale.ROOT, "-%.3g", shown) : "0";
                int lx = bx + bar + pad;
                painter.draw(g, hi, lx, titleH + font);
                painter.draw(g, mid, lx, titleH + barH / 2 + font / 3);
                painter.draw(g, lo, lx, titleH + barH - 2);
            }
        } finally {
            g.dispose();
        }
        return new Canvas(out, 0, titleH, text);
    }

    private static float[] colour(float v, boolean signed) {
        return signed ? (v >= 0 ? new float[] {0, 1, 0} : new float[] {1, 0, 0}) : jet(Math.clamp(v, 0f, 1f));
    }

    private static int rgb(float r, float g, float b) {
        return (Math.round(255 * Math.clamp(r, 0f, 1f)) << 16) | (Math.round(255 * Math.clamp(g, 0f, 1f)) << 8) | Math.round(255 * Math.clamp(b, 0f, 1f));
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
        AtomicFiles.writeString(file, sb);
    }
}
