package org.pulmo.data;

import java.awt.image.BufferedImage;
import java.awt.image.WritableRaster;
import java.io.IOException;
import java.nio.file.Path;
import javax.imageio.ImageIO;
import org.pulmo.tensor.Tensor;

/**
 * A decoded image as planar floats: {@code pixels[(c * height + y) * width + x]}, channel-major like one
 * sample of an NCHW tensor. After {@link ImageDecoder} the values are in [0, 1] and there are 3 channels;
 * after normalisation they are whatever the normalisation makes them. The array is owned by this image:
 * transforms make new images and never write into an input.
 */
public record Image(int channels, int height, int width, float[] pixels) {
    static { ImageDecoder.imageBuffersInMemory(); }   // PNGs written here: no cache file in a temporary folder that may be full

    public Image {
        if (channels <= 0 || height <= 0 || width <= 0)
            throw new IllegalArgumentException("image shape must be positive, got [" + channels + ", " + height + ", " + width + "]");
        if (pixels.length != channels * height * width)
            throw new IllegalArgumentException("image [" + channels + ", " + height + ", " + width + "] needs "
                + channels * height * width + " values, got " + pixels.length);
    }

    public static Image zeros(int channels, int height, int width) {
        return new Image(channels, height, width, new float[channels * height * width]);
    }

    public float get(int c, int y, int x) { return pixels[(c * height + y) * width + x]; }

    public void set(int c, int y, int x, float v) { pixels[(c * height + y) * width + x] = v; }

    /** [channels, height, width] as a CPU tensor (copies). */
    public Tensor toTensor() { return Tensor.of(pixels.clone(), channels, height, width); }

    /** This image with every channel replaced by the mean of its channels: [1, H, W]. */
    public Image grey() {
        float[] g = new float[height * width];
        for (int c = 0; c < channels; c++)
            for (int i = 0; i < g.length; i++) g[i] += pixels[c * g.length + i] / channels;
        return new Image(1, height, width, g);
    }

    /** [1, H, W] -> [3, H, W] by copying the one channel; other images are returned as they are. */
    public Image toRgb() {
        if (channels != 1) return this;
        float[] p = new float[3 * height * width];
        for (int c = 0; c < 3; c++) System.arraycopy(pixels, 0, p, c * height * width, height * width);
        return new Image(3, height, width, p);
    }

    /**
     * Writes an 8-bit PNG: grey when the image has one channel or its three channels are equal, RGB otherwise.
     * Values are clamped to [0, 1] and rounded to 0..255.
     */
    public void writePng(Path file) throws IOException { writePng(toBufferedImage("a PNG"), file); }

    /** Writes {@code image} as a PNG file, whole or not at all ({@link org.pulmo.io.AtomicFiles}, which makes its folder). */
    public static void writePng(BufferedImage image, Path file) throws IOException {
        org.pulmo.io.AtomicFiles.write(file, s -> { if (!ImageIO.write(image, "png", s)) throw new IOException("no PNG writer for " + file); });
    }

    /**
     * This image as 8-bit samples for an image writer: grey when it has one channel or its three channels are equal,
     * RGB otherwise; values clamped to [0, 1] and rounded to 0..255. {@code what} names the file kind in the error.
     */
    BufferedImage toBufferedImage(String what) {
        if (channels != 1 && channels != 3)
            throw new IllegalArgumentException(what + " needs 1 or 3 channels, got " + channels);
        int plane = height * width;
        boolean grey = channels == 1;
        if (!grey) {
            grey = true;
            for (int i = 0; i < plane && grey; i++)
                grey = pixels[i] == pixels[plane + i] && pixels[i] == pixels[2 * plane + i];
        }
        BufferedImage out = new BufferedImage(width, height, grey ? BufferedImage.TYPE_BYTE_GRAY : BufferedImage.TYPE_3BYTE_BGR);
        WritableRaster r = out.getRaster(); // band 0 is R (or grey) whatever the byte order in memory
        for (int c = 0; c < (grey ? 1 : 3); c++)
            for (int y = 0; y < height; y++)
                for (int x = 0; x < width; x++)
                    r.setSample(x, y, c, Math.round(255 * Math.clamp(get(c, y, x), 0f, 1f)));
        return out;
    }
}
