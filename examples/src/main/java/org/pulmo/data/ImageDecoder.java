package org.pulmo.data;

import java.awt.color.ColorSpace;
import java.awt.image.BufferedImage;
import java.awt.image.ColorModel;
import java.awt.image.DataBuffer;
import java.awt.image.IndexColorModel;
import java.awt.image.Raster;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;

/**
 * Decodes an image file into a 3-channel {@link Image} [3, H, W] with values in [0, 1].
 *
 * <ul>
 *   <li>The format is chosen by the file's first bytes, never by its extension: PNG, JPEG, BMP, GIF and TIFF
 *       are recognised (a JPEG saved as {@code .png} decodes as JPEG).</li>
 *   <li>Samples are read from the raster, not through {@code BufferedImage.getRGB()}: {@code getRGB()} treats
 *       Java's grey colour space as linear and brightens grey pictures (64 becomes 137). No colour management
 *       is applied; a sample of {@code v} out of {@code 2^bits - 1} becomes {@code v / (2^bits - 1)}, so 8-bit
 *       and 16-bit files of the same picture give the same floats (16-bit is not cut to its high byte). Signed
 *       samples count out of the type's largest value (32767 for 16 bits) and float samples as they are; a signed
 *       sample below 0 or a float sample outside [0, 1] (a CT slice stored in Hounsfield units) is refused with
 *       its range, not clamped into a black picture.</li>
 *   <li>Grey (1 band) is replicated to 3 channels; RGB keeps its channels; palette images go through their
 *       palette. An alpha channel is dropped (the colour samples are kept as stored, not composited over a
 *       background; premultiplied samples are divided by alpha first). The medical sets this library targets
 *       carry only opaque alpha, for which dropping and compositing agree.</li>
 *   <li>An empty file, an unknown format, truncated data (a PNG whose data stops early, a JPEG that ends
 *       before its end marker) and any decoder failure throw an {@link ImageDecodeException} naming the file:
 *       a half-decoded picture is never passed on. Running out of memory is not a decoder failure: it stays
 *       an {@link OutOfMemoryError} (naming the file and its size), so that no loader skips a good image as
 *       corrupt.</li>
 * </ul>
 */
public final class ImageDecoder {
    private ImageDecoder() {}

    /**
     * ImageIO keeps its streams' buffers in files under java.io.tmpdir by default: with that disk full, every image
     * read as "corrupt or truncated" and every PNG write failed without a file named. In memory instead, for every
     * reader and writer of this process (the images here are at most a few megabytes).
     */
    public static void imageBuffersInMemory() { javax.imageio.ImageIO.setUseCache(false); }

    static { imageBuffersInMemory(); }

    /**
     * File name extensions that every command (train, evaluate, predict) takes for images: the formats
     * {@link #format} knows. The content still decides the decoder.
     */
    public static final List<String> IMAGE_EXTENSIONS = List.of("png", "jpg", "jpeg", "bmp", "gif", "tif", "tiff");

    /**
     * True when the file name ends in one of {@link #IMAGE_EXTENSIONS}, ignoring case, and is not hidden: names
     * starting with a dot (macOS's AppleDouble "._scan.jpg" companions among them) and anything under a
     * {@code __MACOSX} folder, which zip archives made on a Mac carry beside the images, are not images.
     */
    public static boolean hasImageExtension(Path file) {
        String name = file.getFileName().toString().toLowerCase(Locale.ROOT);
        int dot = name.lastIndexOf('.');
        for (Path part : file) if (part.toString().equals(MACOS_ARCHIVE_FOLDER)) return false;
        return !name.startsWith(".") && dot >= 0 && IMAGE_EXTENSIONS.contains(name.substring(dot + 1));
    }

    /**
     * The most pixels an image may have: 100 million (10000 x 10000; the largest chest radiographs are about 4300 x 4300).
     * Decoding takes about 16 bytes a pixel (the decoder's raster and the float copy), so a file of a few megabytes that
     * announces a vast picture would otherwise exhaust the heap; it is refused from its header, naming the file.
     */
    public static final long MAX_PIXELS = 100_000_000L;

    /**
     * The most one side of an image may be, in multiples of the other: 32. Chest radiographs and CT slices are 1:1 to
     * about 1:1.5; resized to 4096 on its short side (train --image-size's limit), a 1:32 image still fits a tensor.
     */
    public static final int MAX_ASPECT = 32;

    /** The largest image file read: 1 GiB (a 100-megapixel image stored without compression is 0.4 GB). */
    public static final long MAX_FILE_BYTES = 1L << 30;

    /** The folder of resource forks in zip archives made on a Mac: never a class, never images. */
    public static final String MACOS_ARCHIVE_FOLDER = "__MACOSX";

    /** Decodes {@code file} to [3, H, W] in [0, 1]. */
    public static Image decode(Path file) throws ImageDecodeException {
        byte[] bytes;
        try {
            // a pipe would block the read until something writes into it, a device such as /dev/zero never ends
            if (Files.exists(file) && !Files.isRegularFile(file))
                throw new ImageDecodeException(file, Files.isDirectory(file) ? "a folder, not an image file" : "not a regular file (a device, a pipe or a socket)");
            long size = Files.size(file);
            if (size > MAX_FILE_BYTES)
                throw new ImageDecodeException(file, String.format(java.util.Locale.ROOT, "%,d bytes, too large for an image file (at most %,d)", size, MAX_FILE_BYTES));
            bytes = Files.readAllBytes(file);
        } catch (ImageDecodeException e) {
            throw e;
        } catch (NoSuchFileException e) {
            throw new ImageDecodeException(file, "no such file", e);
        } catch (IOException e) {
            throw new ImageDecodeException(file, "cannot read: " + IoErrors.describe(e), e);
        }
        return decode(bytes, file);
    }

    /** Decodes the bytes of an image file; {@code name} is used in error messages only. */
    public static Image decode(byte[] bytes, Path name) throws ImageDecodeException {
        return toImage(read(bytes, name), name);
    }

    /**
     * The format the first bytes announce: "png", "jpeg", "bmp", "gif" or "tiff", or null. These are the
     * format names {@link ImageIO#getImageReadersByFormatName} knows.
     */
    public static String sniffFormat(byte[] b) {
        if (startsWith(b, 0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A)) return "png";
        if (startsWith(b, 0xFF, 0xD8, 0xFF)) return "jpeg";
        if (startsWith(b, 'B', 'M')) return "bmp";
        if (startsWith(b, 'G', 'I', 'F', '8')) return "gif";
        if (startsWith(b, 'I', 'I', 42, 0) || startsWith(b, 'M', 'M', 0, 42)) return "tiff";
        return null;
    }

    /**
     * Whether {@code file} starts as an image of a known format does ({@link #sniffFormat}): false for an empty file, a
     * text file named .jpg or one that cannot be opened. A cheap first look, not a decode: a truncated image passes.
     */
    public static boolean looksLikeImage(java.nio.file.Path file) {
        if (!Files.isRegularFile(file)) return false;   // reading a pipe would wait for a writer
        try (java.io.InputStream in = java.nio.file.Files.newInputStream(file)) {
            return sniffFormat(in.readNBytes(16)) != null;
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    private static boolean startsWith(byte[] b, int... magic) {
        if (b.length < magic.length) return false;
        for (int i = 0; i < magic.length; i++) if ((b[i] & 0xFF) != magic[i]) return false;
        return true;
    }

    /** Decodes with the reader the magic bytes name; warnings that mean missing data become errors. */
    static BufferedImage read(byte[] bytes, Path name) throws ImageDecodeException {
        if (bytes.length == 0) throw new ImageDecodeException(name, "empty file (0 bytes)");
        String format = sniffFormat(bytes);
        if (format == null) throw new ImageDecodeException(name, "not an image: unknown format, file starts with " + describeStart(bytes));
        Iterator<ImageReader> readers = ImageIO.getImageReadersByFormatName(format);
        if (!readers.hasNext()) throw new ImageDecodeException(name, "no decoder for " + format.toUpperCase(Locale.ROOT) + " data in this JDK");
        if (format.equals("png")) checkPngChunks(bytes, name);
        ImageReader reader = readers.next();
        List<String> warnings = new ArrayList<>();
        try (ImageInputStream in = ImageIO.createImageInputStream(new ByteArrayInputStream(bytes))) {
            reader.setInput(in, true, true);
            reader.addIIOReadWarningListener((source, warning) -> warnings.add(warning));
            long pixels = (long) reader.getWidth(0) * reader.getHeight(0);   // from the header: nothing decoded yet
            if (pixels > MAX_PIXELS)
                throw new ImageDecodeException(name, reader.getWidth(0) + " x " + reader.getHeight(0) + " pixels, more than the " + MAX_PIXELS / 1_000_000
                    + " million an image may have here (decoded it would take " + pixels / (1L << 26) + " GiB); shrink it first");
            int shortSide = Math.min(reader.getWidth(0), reader.getHeight(0)), longSide = Math.max(reader.getWidth(0), reader.getHeight(0));
            if ((long) longSide > (long) MAX_ASPECT * shortSide)   // 1 x 700000 overflowed the resize's array, 1 x 10^7 ran for minutes
                throw new ImageDecodeException(name, reader.getWidth(0) + " x " + reader.getHeight(0) + " pixels: one side more than " + MAX_ASPECT
                    + " times the other, a strip rather than a picture (its short side resized to the model's input would make the long side "
                    + MAX_ASPECT + " times that or more)");
            BufferedImage img = format.equals("jpeg") && plainCmykJpeg(bytes) ? plainCmyk(reader.readRaster(0, null)) : reader.read(0);
            for (String w : warnings) {
                String lw = w.toLowerCase(Locale.ROOT);
                // libjpeg's JWRN_JPEG_EOF: the data ended early and the rest of the picture was filled with grey.
                if (lw.contains("premature end") || lw.contains("truncat"))
                    throw new ImageDecodeException(name, "truncated " + format.toUpperCase(Locale.ROOT) + " data (" + w + ")");
            }
            if (img == null) throw new ImageDecodeException(name, "the " + format.toUpperCase(Locale.ROOT) + " decoder returned no image");
            if (img.getWidth() <= 0 || img.getHeight() <= 0)
                throw new ImageDecodeException(name, "image has no pixels (" + img.getWidth() + "x" + img.getHeight() + ")");
            return img;
        } catch (ImageDecodeException e) {
            throw e;
        } catch (IOException | RuntimeException e) {
            // The JDK's PNG reader catches every Throwable and wraps it ("Caught exception during read"), so a heap
            // too small for a large picture arrives here as an IIOException: that is not a corrupt file.
            for (Throwable t = e; t != null; t = t.getCause())
                if (t instanceof OutOfMemoryError oom) throw outOfMemory(name, reader, oom);
            // The PNG reader throws IIOException("Error reading PNG image data") when IDAT stops early.
            String why = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
            Throwable c = e.getCause();
            if (c != null && c.getMessage() != null) why += " (" + c.getMessage() + ")";
            throw new ImageDecodeException(name, "corrupt or truncated " + format.toUpperCase(Locale.ROOT) + " data: " + why, e);
        } finally {
            reader.dispose();
        }
    }

    /**
     * Checks the CRC of every complete critical chunk (IHDR, PLTE, IDAT, IEND: an upper-case first letter) up to
     * IEND, which Java's PNG reader never does: a changed palette entry or header field would otherwise decode as other
     * colours or another picture without a word (in the compressed pixels, zlib's own check catches most changes, less
     * plainly). As libpng does, ancillary chunks (text, gamma, ...) with a bad CRC are
     * ignored, and a chunk cut off by the end of the file is left to the reader, which reports truncated data.
     */
    static void checkPngChunks(byte[] b, Path name) throws ImageDecodeException {
        java.util.zip.CRC32 crc = new java.util.zip.CRC32();
        int at = 8;
        while (at + 12 <= b.length) {
            long length = java.nio.ByteBuffer.wrap(b, at, 4).getInt() & 0xFFFFFFFFL;
            if (at + 12 + length > b.length) return;   // cut off: the reader says so
            String type = new String(b, at + 4, 4, java.nio.charset.StandardCharsets.ISO_8859_1);
            if ((b[at + 4] & 0x20) == 0) {   // bit 5 of the first letter clear: a critical chunk
                crc.reset();
                crc.update(b, at + 4, 4 + (int) length);
                int stored = java.nio.ByteBuffer.wrap(b, at + 8 + (int) length, 4).getInt();
                if ((int) crc.getValue() != stored)
                    throw new ImageDecodeException(name, "corrupt PNG data: the " + type + " chunk at byte " + at + " fails its CRC check"
                        + " (the file is damaged)");
            }
            if (type.equals("IEND")) return;
            at += 12 + (int) length;
        }
    }

    /** The error, passed on as an error (never a skipped "bad image"), with the file and its size in its message. */
    private static OutOfMemoryError outOfMemory(Path name, ImageReader reader, OutOfMemoryError cause) {
        String size;
        try {
            size = reader.getWidth(0) + "x" + reader.getHeight(0) + " pixels";
        } catch (IOException | RuntimeException unknown) {
            size = "size unknown";
        }
        OutOfMemoryError e = new OutOfMemoryError("decoding " + name + " (" + size + "): " + cause.getMessage());
        e.initCause(cause);
        return e;
    }

    /**
     * Whether a JPEG holds four components and no Adobe APP14 marker: plain CMYK, as libjpeg (and so PIL) reads it.
     * Java reads every four-component JPEG as Adobe's inverted CMYK, which turns a plain one into its negative (a white
     * page all black); {@link #plainCmyk} reads the samples as they are meant.
     */
    static boolean plainCmykJpeg(byte[] b) {
        int components = -1;
        boolean adobe = false;
        for (int i = 2; i + 4 <= b.length && (b[i] & 0xFF) == 0xFF; ) {
            if ((b[i + 1] & 0xFF) == 0xFF) { i++; continue; }   // fill bytes before a marker
            int marker = b[i + 1] & 0xFF, length = ((b[i + 2] & 0xFF) << 8) | (b[i + 3] & 0xFF);
            if (marker == 0xDA) break;   // start of scan: the headers are over
            if (marker == 0xEE && i + 9 <= b.length && new String(b, i + 4, 5, java.nio.charset.StandardCharsets.US_ASCII).equals("Adobe")) adobe = true;
            boolean frame = marker >= 0xC0 && marker <= 0xCF && marker != 0xC4 && marker != 0xC8 && marker != 0xCC;
            if (frame && i + 9 < b.length) components = b[i + 9] & 0xFF;
            i += 2 + length;
        }
        return components == 4 && !adobe;
    }

    /** Plain CMYK samples (0 = no ink) as sRGB: each colour (1 - C)(1 - K), the usual conversion without a colour profile. */
    static BufferedImage plainCmyk(Raster cmyk) {
        int w = cmyk.getWidth(), h = cmyk.getHeight();
        BufferedImage rgb = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        int[] px = new int[4];
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                cmyk.getPixel(cmyk.getMinX() + x, cmyk.getMinY() + y, px);
                int k = 255 - px[3];
                int r = (255 - px[0]) * k / 255, g = (255 - px[1]) * k / 255, bl = (255 - px[2]) * k / 255;
                rgb.setRGB(x, y, (r << 16) | (g << 8) | bl);
            }
        return rgb;
    }

    private static String describeStart(byte[] b) {
        StringBuilder hex = new StringBuilder(), text = new StringBuilder();
        for (int i = 0; i < Math.min(8, b.length); i++) {
            int v = b[i] & 0xFF;
            hex.append(String.format(Locale.ROOT, "%02X ", v));
            text.append(v >= 32 && v < 127 ? (char) v : '.');
        }
        return hex.toString().trim() + " (\"" + text + "\")";
    }

    /** Raster samples -> [3, H, W] in [0, 1]; see the class comment for the rules. */
    static Image toImage(BufferedImage img, Path name) throws ImageDecodeException {
        int w = img.getWidth(), h = img.getHeight(), plane = w * h;
        ColorModel cm = img.getColorModel();
        Raster r = img.getRaster();
        float[] out = new float[3 * plane];
        if (cm instanceof IndexColorModel icm) {
            int[] idx = r.getSamples(0, 0, w, h, 0, (int[]) null);
            for (int i = 0; i < plane; i++) {
                out[i] = icm.getRed(idx[i]) / 255f;
                out[plane + i] = icm.getGreen(idx[i]) / 255f;
                out[2 * plane + i] = icm.getBlue(idx[i]) / 255f;
            }
            return new Image(3, h, w, out);
        }
        ColorSpace cs = cm.getColorSpace();
        int colours = cs.getNumComponents();
        boolean grey = cs.getType() == ColorSpace.TYPE_GRAY && colours == 1;
        boolean rgb = cs.getType() == ColorSpace.TYPE_RGB && colours == 3;
        if (!grey && !rgb) return viaRgb(img); // CMYK, YCCK, ...: let Java convert to sRGB
        boolean floating = r.getTransferType() == DataBuffer.TYPE_FLOAT || r.getTransferType() == DataBuffer.TYPE_DOUBLE;
        // signed samples (a TIFF of 16- or 32-bit Hounsfield units) and float samples carry no intensity scale of their own
        // (TYPE_INT counts only under a component colour model: packed RGB pixels are TYPE_INT too, and their colour model
        // reads unsigned 8-bit samples out of them)
        boolean signed = r.getTransferType() == DataBuffer.TYPE_SHORT
            || r.getTransferType() == DataBuffer.TYPE_INT && cm instanceof java.awt.image.ComponentColorModel;
        int alphaBand = cm.hasAlpha() ? colours : -1;
        float[] alpha = null;
        if (alphaBand >= 0 && cm.isAlphaPremultiplied()) {
            alpha = r.getSamples(0, 0, w, h, alphaBand, (float[]) null);
            float amax = floating ? 1f : (float) ((1L << (cm.getComponentSize(alphaBand) - (signed ? 1 : 0))) - 1);
            for (int i = 0; i < plane; i++) alpha[i] /= amax;
        }
        for (int c = 0; c < colours; c++) {
            float[] s = r.getSamples(0, 0, w, h, c, (float[]) null); // unsigned sample values as floats
            if (floating || signed) checkRange(s, floating, name);
            // signed: out of the type's largest positive value (32767 for 16 bits), the samples being none below 0
            float scale = floating ? 1f : (float) (1.0 / ((1L << (cm.getComponentSize(c) - (signed ? 1 : 0))) - 1));
            for (int i = 0; i < plane; i++) {
                float v = s[i] * scale;
                if (alpha != null) v = alpha[i] > 0 ? v / alpha[i] : 0f;
                out[c * plane + i] = Math.clamp(v, 0f, 1f);
            }
        }
        if (grey) {
            System.arraycopy(out, 0, out, plane, plane);
            System.arraycopy(out, 0, out, 2 * plane, plane);
        }
        return new Image(3, h, w, out);
    }

    /**
     * Refuses float samples outside [0, 1] and signed samples below 0, naming the file and the samples' range: such a
     * file (a CT slice in Hounsfield units, -1000 for air) has no intensity scale to read it by, and clamping it to
     * [0, 1] turned every lung pixel black, or a float slice into a two-level mask. Float samples within 0.05 of the
     * range (a resampled picture's overshoot, rounding) are clamped as before.
     */
    private static void checkRange(float[] s, boolean floating, Path name) throws ImageDecodeException {
        float lo = Float.POSITIVE_INFINITY, hi = Float.NEGATIVE_INFINITY;
        boolean nan = false;
        for (float v : s) {
            if (Float.isNaN(v)) nan = true;
            else { lo = Math.min(lo, v); hi = Math.max(hi, v); }
        }
        if (nan || (floating ? lo < -0.05f || hi > 1.05f : lo < 0))
            throw new ImageDecodeException(name, String.format(java.util.Locale.ROOT, "its %s samples run from %s to %s, not intensities in [0, %s]"
                + " (a CT slice in Hounsfield units?): window it into an 8- or 16-bit unsigned grey image first, e.g. a lung window"
                + " of -1000 to 400 HU", floating ? "floating-point" : "signed", nan ? "NaN" : fmt(lo), nan ? "NaN" : fmt(hi), floating ? "1" : "the type's maximum"));
    }

    private static String fmt(float v) { return v == Math.rint(v) && Math.abs(v) < 1e7 ? String.valueOf((long) v) : String.valueOf(v); }

    private static Image viaRgb(BufferedImage img) {
        int w = img.getWidth(), h = img.getHeight(), plane = w * h;
        int[] argb = img.getRGB(0, 0, w, h, null, 0, w);
        float[] out = new float[3 * plane];
        for (int i = 0; i < plane; i++) {
            out[i] = ((argb[i] >> 16) & 0xFF) / 255f;
            out[plane + i] = ((argb[i] >> 8) & 0xFF) / 255f;
            out[2 * plane + i] = (argb[i] & 0xFF) / 255f;
        }
        return new Image(3, h, w, out);
    }
}
