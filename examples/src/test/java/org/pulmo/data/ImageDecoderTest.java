package org.pulmo.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.awt.image.BufferedImage;
import java.awt.image.IndexColorModel;
import java.awt.image.WritableRaster;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Decoding by content, grey/16-bit/RGBA/palette inputs, and clear errors for broken files. */
class ImageDecoderTest {
    @TempDir Path dir;

    /** A 4x3 grey ramp whose sample at (x, y) is {@code 64 * ((x + y) % 4)} (0, 64, 128, 192). */
    static BufferedImage grey8() {
        BufferedImage img = new BufferedImage(4, 3, BufferedImage.TYPE_BYTE_GRAY);
        for (int y = 0; y < 3; y++) for (int x = 0; x < 4; x++) img.getRaster().setSample(x, y, 0, 64 * ((x + y) % 4));
        return img;
    }

    static byte[] encode(BufferedImage img, String format) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        assertTrue(ImageIO.write(img, format, out), "no writer for " + format);
        return out.toByteArray();
    }

    Path write(String name, byte[] bytes) throws IOException {
        Path p = dir.resolve(name);
        Files.write(p, bytes);
        return p;
    }

    /** A pipe would block the read until something writes into it, /dev/zero never ends: both refused before reading. */
    @Test void onlyRegularFilesAreRead() throws Exception {
        ImageDecodeException folder = assertThrows(ImageDecodeException.class, () -> ImageDecoder.decode(dir));
        assertTrue(folder.getMessage().startsWith(dir + ": a folder"), folder.getMessage());
        Path zero = Path.of("/dev/zero");
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.exists(zero), "no /dev/zero on this system");
        Path link = Files.createSymbolicLink(dir.resolve("zero.png"), zero);
        ImageDecodeException device = assertThrows(ImageDecodeException.class, () -> ImageDecoder.decode(link));
        assertTrue(device.getMessage().equals(link + ": not a regular file (a device, a pipe or a socket)"), device.getMessage());
        Path fifo = dir.resolve("fifo.png");
        if (new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor() == 0) {
            org.junit.jupiter.api.Assertions.assertTimeoutPreemptively(java.time.Duration.ofSeconds(20), () -> {   // else the read waits for a writer
                assertFalse(ImageDecoder.looksLikeImage(fifo));
                assertTrue(assertThrows(ImageDecodeException.class, () -> ImageDecoder.decode(fifo)).getMessage().contains("not a regular file"));
            });
        }
    }

    @Test void greyPngReadsSamplesNotGetRgb() throws IOException {
        Image im = ImageDecoder.decode(write("g.png", encode(grey8(), "png")));
        assertEquals(3, im.channels());
        assertEquals(3, im.height());
        assertEquals(4, im.width());
        for (int c = 0; c < 3; c++)
            for (int y = 0; y < 3; y++)
                for (int x = 0; x < 4; x++)
                    assertEquals(64 * ((x + y) % 4) / 255f, im.get(c, y, x), 1e-7f, "c=" + c + " y=" + y + " x=" + x);
        // getRGB() would have given 137/255 for the 64 sample: make sure that pitfall exists and is avoided.
        assertEquals(137, grey8().getRGB(1, 0) & 0xFF);
    }

    @Test void sixteenBitGreyScalesFullRange() throws IOException {
        BufferedImage img = new BufferedImage(3, 1, BufferedImage.TYPE_USHORT_GRAY);
        int[] v = {1000, 40000, 65535};
        for (int x = 0; x < 3; x++) img.getRaster().setSample(x, 0, 0, v[x]);
        Path p = write("g16.png", encode(img, "png"));
        assertEquals(16, ImageIO.read(p.toFile()).getColorModel().getComponentSize(0)); // really a 16-bit file
        Image im = ImageDecoder.decode(p);
        for (int x = 0; x < 3; x++) assertEquals(v[x] / 65535f, im.get(1, 0, x), 1e-6f);
    }

    /** A grey image of one sample type, 8 x 8: first, then step more at each pixel. */
    private static BufferedImage greyOf(int dataType, float first, float step) {
        var cm = new java.awt.image.ComponentColorModel(java.awt.color.ColorSpace.getInstance(java.awt.color.ColorSpace.CS_GRAY), false, false,
            java.awt.Transparency.OPAQUE, dataType);
        WritableRaster r = cm.createCompatibleWritableRaster(8, 8);
        for (int i = 0; i < 64; i++) r.setSample(i % 8, i / 8, 0, first + step * i);
        return new BufferedImage(cm, r, false, null);
    }

    /**
     * A CT slice stored in Hounsfield units (signed 16-bit or float TIFF, -1000 for air) has no intensity scale: it is refused
     * with its range, where clamping made every lung pixel black. Signed samples of 0 and above count out of 32767.
     */
    @Test void hounsfieldUnitsAreRefusedWithTheirRangeAndSignedSamplesCountOutOfTheirMaximum() throws IOException {
        for (int type : new int[] {java.awt.image.DataBuffer.TYPE_SHORT, java.awt.image.DataBuffer.TYPE_INT, java.awt.image.DataBuffer.TYPE_FLOAT}) {
            Path p = write("hu" + type + ".tif", encode(greyOf(type, -1000f, 50f), "tiff"));
            ImageDecodeException e = assertThrows(ImageDecodeException.class, () -> ImageDecoder.decode(p));
            assertTrue(e.getMessage().contains(p.toString()) && e.getMessage().contains("run from -1000 to 2150")
                && e.getMessage().contains("window it"), e.getMessage());
        }
        Image signed = ImageDecoder.decode(write("s16.tif", encode(greyOf(java.awt.image.DataBuffer.TYPE_SHORT, 100f, 50f), "tiff")));
        assertEquals(100 / 32767f, signed.get(0, 0, 0), 1e-7f);
        assertEquals(3250 / 32767f, signed.get(2, 7, 7), 1e-7f);
        Image floats = ImageDecoder.decode(write("f.tif", encode(greyOf(java.awt.image.DataBuffer.TYPE_FLOAT, 0.25f, 0.01f), "tiff")));
        assertEquals(0.25f, floats.get(1, 0, 0), 0f);
        assertEquals(0.25f + 0.63f, floats.get(1, 7, 7), 1e-6f);
        assertThrows(ImageDecodeException.class, () -> ImageDecoder.decode(write("f2.tif", encode(greyOf(java.awt.image.DataBuffer.TYPE_FLOAT, 0.5f, 0.01f), "tiff"))),
            "0.5 + 0.63 passes 1");
        Image overshoot = ImageDecoder.decode(write("f3.tif", encode(greyOf(java.awt.image.DataBuffer.TYPE_FLOAT, -0.02f, 0.0165f), "tiff")));
        assertEquals(0f, overshoot.get(0, 0, 0), 0f, "a resampled picture's overshoot (-0.02 to 1.0195) is clamped, not refused");
        assertEquals(1f, overshoot.get(0, 7, 7), 0f);
        Image int32 = ImageDecoder.decode(write("i32.tif", encode(greyOf(java.awt.image.DataBuffer.TYPE_INT, 100f, 50f), "tiff")));
        assertEquals(3250 / 2147483647f, int32.get(0, 7, 7), 1e-12f, "32-bit samples of 0 and above count out of 2^31 - 1");
        // packed RGB pixels are TYPE_INT too, under a direct colour model: 8-bit samples, as before
        BufferedImage rgb = new BufferedImage(1, 1, BufferedImage.TYPE_INT_RGB);
        rgb.setRGB(0, 0, 0x804020);
        assertArrayEquals(new float[] {128 / 255f, 64 / 255f, 32 / 255f}, ImageDecoder.toImage(rgb, Path.of("rgb")).pixels(), 1e-7f);
    }

    /** A strip (1 x 700000 overflowed the resize's array; 1 x 10^7 resized for minutes) is refused by its header; 1:32 is a picture. */
    @Test void aStripIsRefusedBeforeItIsResized() throws IOException {
        Image ok = ImageDecoder.decode(write("wide.png", encode(new BufferedImage(64, 2, BufferedImage.TYPE_BYTE_GRAY), "png")));
        assertEquals(64, ok.width());
        Path strip = write("strip.png", encode(new BufferedImage(1, 33, BufferedImage.TYPE_BYTE_GRAY), "png"));
        ImageDecodeException e = assertThrows(ImageDecodeException.class, () -> ImageDecoder.decode(strip));
        assertTrue(e.getMessage().contains(strip.toString()) && e.getMessage().contains("1 x 33 pixels") && e.getMessage().contains("32 times"), e.getMessage());
    }

    @Test void rgbaDropsAlphaAndKeepsChannels() throws IOException {
        BufferedImage img = new BufferedImage(2, 1, BufferedImage.TYPE_INT_ARGB);
        img.setRGB(0, 0, 0xFF_FF_80_00); // opaque orange
        img.setRGB(1, 0, 0x80_10_20_30); // half transparent: colour kept as stored
        Image im = ImageDecoder.decode(write("a.png", encode(img, "png")));
        assertArrayEquals(new float[] {255 / 255f, 0x10 / 255f, 0x80 / 255f, 0x20 / 255f, 0, 0x30 / 255f}, im.pixels(), 1e-6f);
    }

    @Test void paletteImageGoesThroughPalette() throws IOException {
        byte[] r = {0, (byte) 200}, g = {0, 100}, b = {0, 50};
        BufferedImage img = new BufferedImage(2, 1, BufferedImage.TYPE_BYTE_INDEXED, new IndexColorModel(1, 2, r, g, b));
        img.getRaster().setSample(1, 0, 0, 1);
        Image im = ImageDecoder.decode(write("p.png", encode(img, "png")));
        assertArrayEquals(new float[] {0, 200 / 255f, 0, 100 / 255f, 0, 50 / 255f}, im.pixels(), 1e-6f);
    }

    @Test void formatComesFromBytesNotExtension() throws IOException {
        BufferedImage rgb = new BufferedImage(16, 16, BufferedImage.TYPE_3BYTE_BGR);
        for (int y = 0; y < 16; y++) for (int x = 0; x < 16; x++) rgb.setRGB(x, y, x < 8 ? 0x2060A0 : 0xE0C080);
        Image jpegAsPng = ImageDecoder.decode(write("jpeg.png", encode(rgb, "jpeg")));
        assertEquals(0x20 / 255f, jpegAsPng.get(0, 4, 2), 0.05f);      // lossy, but close
        assertEquals(0xC0 / 255f, jpegAsPng.get(1, 4, 13), 0.05f);
        Image pngAsJpg = ImageDecoder.decode(write("png.jpg", encode(grey8(), "png")));
        assertEquals(192 / 255f, pngAsJpg.get(2, 0, 3), 1e-7f);
        Image bmpAsJpeg = ImageDecoder.decode(write("bmp.jpeg", encode(grey8(), "bmp")));
        assertEquals(128 / 255f, bmpAsJpeg.get(0, 1, 1), 1e-7f);
        assertEquals("png", ImageDecoder.sniffFormat(encode(grey8(), "png")));
        assertEquals("jpeg", ImageDecoder.sniffFormat(encode(rgb, "jpeg")));
    }

    @Test void brokenFilesFailWithTheirPath() throws IOException {
        byte[] png = encode(noise(64, 64), "png");
        byte[] jpeg = encode(noise(64, 64), "jpeg");
        Path[] bad = {
            write("empty.png", new byte[0]),
            write("text.jpg", "covid/1.png\ncovid/2.png\n".getBytes(StandardCharsets.US_ASCII)),
            write("cut.png", Arrays.copyOf(png, png.length * 2 / 5)),
            write("cut.jpg", Arrays.copyOf(jpeg, jpeg.length * 2 / 5)),
            write("header-only.png", Arrays.copyOf(png, 8)),
            dir.resolve("missing.png"),
        };
        String[] why = {"empty", "not an image", "truncated", "truncated", "", "no such file"};
        for (int i = 0; i < bad.length; i++) {
            Path p = bad[i];
            ImageDecodeException e = assertThrows(ImageDecodeException.class, () -> ImageDecoder.decode(p), p.toString());
            assertEquals(p, e.path());
            assertTrue(e.getMessage().startsWith(p.toString()), e.getMessage());
            assertTrue(e.reason().contains(why[i]), p + ": " + e.reason());
        }
    }

    /**
     * A PNG of a few dozen bytes whose header announces 40000 x 40000 pixels (before: the heap ran out while decoding, and
     * the message named no file): refused from the header, naming the file and the size; one pixel fewer than the limit passes
     * the check (and is then read as the small file it is, failing as truncated, not as too large).
     */
    @Test void anImageTooLargeToDecodeIsRefusedFromItsHeader() throws IOException {
        Path huge = write("huge.png", withSize(encode(noise(4, 4), "png"), 40000, 40000));
        ImageDecodeException e = assertThrows(ImageDecodeException.class, () -> ImageDecoder.decode(huge));
        assertEquals(huge, e.path());
        assertTrue(e.reason().startsWith("40000 x 40000 pixels, more than the 100 million"), e.reason());
        Path atLimit = write("at-limit.png", withSize(encode(noise(4, 4), "png"), 10000, 10000));
        ImageDecodeException below = assertThrows(ImageDecodeException.class, () -> ImageDecoder.decode(atLimit));
        assertTrue(!below.reason().contains("more than the"), below.reason());
    }

    /**
     * Java's PNG reader never checks chunk CRCs: a palette PNG with one entry changed decoded in other colours without
     * a word (a bit flipped in the compressed pixels is mostly caught by zlib's own check, as "incorrect data check").
     * A bad CRC of a critical chunk is now refused, naming the chunk; an ancillary chunk with a bad CRC is ignored, as
     * libpng does, and the picture reads as before.
     */
    @Test void aPngWhoseBytesChangedFailsItsCrc() throws IOException {
        byte[] r = {0, (byte) 200}, g = {0, 100}, bl = {0, 50};
        BufferedImage pal = new BufferedImage(2, 1, BufferedImage.TYPE_BYTE_INDEXED, new IndexColorModel(1, 2, r, g, bl));
        byte[] palette = encode(pal, "png");
        int plte = indexOf(palette, "PLTE");
        palette[plte + 4 + 3] = (byte) 255;   // entry 1's red: 200 -> 255
        Path recoloured = write("recoloured.png", palette);
        ImageDecodeException p = assertThrows(ImageDecodeException.class, () -> ImageDecoder.decode(recoloured));
        assertTrue(p.reason().startsWith("corrupt PNG data: the PLTE chunk at byte " + (plte - 4) + " fails its CRC check"), p.reason());

        BufferedImage img = noise(32, 32);
        byte[] png = encode(img, "png");
        int idat = indexOf(png, "IDAT");
        byte[] flipped = png.clone();
        flipped[idat + 4 + 20] ^= 0x10;   // a bit of the compressed pixels
        Path bad = write("flipped.png", flipped);
        ImageDecodeException e = assertThrows(ImageDecodeException.class, () -> ImageDecoder.decode(bad));
        assertEquals(bad, e.path());
        assertTrue(e.reason().startsWith("corrupt PNG data: the IDAT chunk at byte " + (idat - 4) + " fails its CRC check"), e.reason());

        // a tEXt chunk with a wrong CRC before IDAT: ignored, the pixels are those of the good file
        byte[] text = "tEXtComment\0hello".getBytes(StandardCharsets.ISO_8859_1);
        ByteArrayOutputStream withText = new ByteArrayOutputStream();
        withText.write(png, 0, idat - 4);
        withText.write(new byte[] {0, 0, 0, (byte) (text.length - 4)});
        withText.write(text);
        withText.write(new byte[] {1, 2, 3, 4});   // not its CRC
        withText.write(png, idat - 4, png.length - (idat - 4));
        Image good = ImageDecoder.decode(write("good.png", png)), ancillary = ImageDecoder.decode(write("text.png", withText.toByteArray()));
        assertArrayEquals(good.pixels(), ancillary.pixels());
    }

    private static int indexOf(byte[] b, String ascii) {
        byte[] t = ascii.getBytes(StandardCharsets.US_ASCII);
        outer:
        for (int i = 0; i + t.length <= b.length; i++) {
            for (int j = 0; j < t.length; j++) if (b[i + j] != t[j]) continue outer;
            return i;
        }
        throw new AssertionError(ascii + " not found");
    }

    /** The PNG with its IHDR width and height replaced (and the chunk's CRC made right again). */
    static byte[] withSize(byte[] png, int width, int height) {
        byte[] b = png.clone();
        java.nio.ByteBuffer.wrap(b, 16, 8).putInt(width).putInt(height);
        java.util.zip.CRC32 crc = new java.util.zip.CRC32();
        crc.update(b, 12, 17);   // "IHDR" and its 13 bytes of data
        java.nio.ByteBuffer.wrap(b, 29, 4).putInt((int) crc.getValue());
        return b;
    }

    /**
     * A four-component JPEG without Adobe's marker is plain CMYK to libjpeg and PIL; Java read it as Adobe's inverted CMYK
     * (a page without ink came out black). Written here from a raw raster (Java adds no marker then): C 10, M 200, Y 120,
     * K 30 must read as (1 - C)(1 - K) per colour, about (216, 49, 119) of 255, within the JPEG's loss.
     */
    @Test void aPlainCmykJpegReadsAsLibjpegReadsIt() throws IOException {
        java.awt.image.WritableRaster r = java.awt.image.Raster.createInterleavedRaster(java.awt.image.DataBuffer.TYPE_BYTE, 16, 16, 4, null);
        for (int y = 0; y < 16; y++) for (int x = 0; x < 16; x++) r.setPixel(x, y, new int[] {10, 200, 120, 30});
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
        javax.imageio.ImageWriter w = ImageIO.getImageWritersByFormatName("jpeg").next();
        try (var out = ImageIO.createImageOutputStream(bytes)) {
            w.setOutput(out);
            w.write(null, new javax.imageio.IIOImage(r, null, null), null);
        }
        byte[] jpeg = bytes.toByteArray();
        assertTrue(ImageDecoder.plainCmykJpeg(jpeg), "four components, no Adobe marker");
        assertFalse(ImageDecoder.plainCmykJpeg(encode(noise(8, 8), "jpeg")), "one component");
        Image im = ImageDecoder.decode(jpeg, Path.of("plain-cmyk.jpg"));
        float[] expected = {245 * 225 / 255f / 255, 55 * 225 / 255f / 255, 135 * 225 / 255f / 255};
        for (int c = 0; c < 3; c++) assertEquals(expected[c], im.get(c, 8, 8), 6 / 255f, "channel " + c);
    }

    /** A seeded noise picture: it compresses badly, so cutting the file really cuts image data. */
    static BufferedImage noise(int w, int h) {
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_BYTE_GRAY);
        WritableRaster r = img.getRaster();
        java.util.Random rnd = new java.util.Random(3);
        for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) r.setSample(x, y, 0, rnd.nextInt(256));
        return img;
    }

    @Test void writePngRoundTrips() throws IOException {
        Image im = new Image(3, 2, 2, new float[] {0, 1, 0.5f, 0.25f, 0, 1, 0.5f, 0.25f, 0, 1, 0.5f, 0.25f});
        Path p = dir.resolve("sub/rt.png");
        im.writePng(p);
        assertEquals(BufferedImage.TYPE_BYTE_GRAY, ImageIO.read(p.toFile()).getType()); // equal channels -> grey
        assertArrayEquals(new float[] {0, 1, 128 / 255f, 64 / 255f}, Arrays.copyOf(ImageDecoder.decode(p).pixels(), 4), 1e-6f);
    }


    /** 65536 x 65536 is 2^32 pixels: multiplied as ints it wraps to 0 and would pass the size check. */
    @Test void aPixelCountBeyondAnIntIsRefusedToo() throws IOException {
        Path huge = write("wraps.png", withSize(encode(noise(4, 4), "png"), 65536, 65536));
        ImageDecodeException e = assertThrows(ImageDecodeException.class, () -> ImageDecoder.decode(huge));
        assertTrue(e.reason().startsWith("65536 x 65536 pixels, more than the 100 million"), e.reason());
    }

    /** A four-component JPEG with Adobe's APP14 marker stays Adobe's inverted CMYK, as Java reads it; only one without is plain. */
    @Test void anAdobeMarkedCmykJpegIsNotReadAsPlain() throws IOException {
        java.awt.image.WritableRaster r = java.awt.image.Raster.createInterleavedRaster(java.awt.image.DataBuffer.TYPE_BYTE, 16, 16, 4, null);
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        javax.imageio.ImageWriter w = ImageIO.getImageWritersByFormatName("jpeg").next();
        try (var out = ImageIO.createImageOutputStream(bytes)) {
            w.setOutput(out);
            w.write(null, new javax.imageio.IIOImage(r, null, null), null);
        } finally {
            w.dispose();
        }
        byte[] plain = bytes.toByteArray();
        byte[] app14 = {(byte) 0xFF, (byte) 0xEE, 0, 14, 'A', 'd', 'o', 'b', 'e', 0, 100, 0, 0, 0, 0, 0};
        byte[] adobe = new byte[plain.length + app14.length];
        System.arraycopy(plain, 0, adobe, 0, 2);   // after SOI
        System.arraycopy(app14, 0, adobe, 2, app14.length);
        System.arraycopy(plain, 2, adobe, 2 + app14.length, plain.length - 2);
        assertTrue(ImageDecoder.plainCmykJpeg(plain));
        assertFalse(ImageDecoder.plainCmykJpeg(adobe), "an Adobe APP14 marker: Java's inverted-CMYK reading is right");
    }
}
