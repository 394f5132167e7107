package org.pulmo.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pulmo.tensor.Rng;

/** A shrunk copy of an image folder: smaller grey JPEGs under the same names, everything else byte for byte. */
class ShrinkDatasetTest {

    /** A grey picture [1, h, w]: a diagonal ramp with a bright disc, and grain as in a radiograph (PNG cannot squeeze it). */
    private static Image greyPicture(int h, int w) {
        float[] p = new float[h * w];
        java.util.Random grain = new java.util.Random(5);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++) {
                double dy = y - h / 2.0, dx = x - w / 3.0;
                p[y * w + x] = (float) (0.2 + 0.5 * (x + y) / (h + w) + (dx * dx + dy * dy < h * h / 25.0 ? 0.25 : 0)
                    + 0.04 * grain.nextGaussian());
            }
        return new Image(1, h, w, p);
    }

    @Test void imagesGetSmallerTheRestIsCopiedAndTheNamesStay(@TempDir Path dir) throws IOException {
        Path src = dir.resolve("set"), dst = dir.resolve("small");
        Files.createDirectories(src.resolve("covid"));
        Files.createDirectories(src.resolve("noncovid"));
        greyPicture(300, 400).writePng(src.resolve("covid/Covid (1).png"));          // grey PNG, short side 300
        Image colour = Image.zeros(3, 100, 120);
        for (int i = 0; i < 100 * 120; i++) colour.pixels()[i] = 0.9f;                // red: not grey
        colour.writePng(src.resolve("noncovid/a.png"));                                  // small: keeps its size
        Files.write(src.resolve("noncovid/broken.jpg"), new byte[] {(byte) 0xFF, (byte) 0xD8, 1});
        String split = "path,label,split\ncovid/Covid (1).png,covid,train\nnoncovid/a.png,noncovid,test\nnoncovid/broken.jpg,noncovid,train\n";
        Files.writeString(src.resolve("split.csv"), split);

        ShrinkDataset.Result r = ShrinkDataset.shrink(src, dst, 224, 0.85f);
        assertEquals(2, r.images());
        assertEquals(2, r.copied(), "split.csv and the image that does not decode");
        assertEquals(List.of("noncovid/broken.jpg"), r.undecodable());
        assertEquals(split, Files.readString(dst.resolve("split.csv")));
        assertArrayEquals(Files.readAllBytes(src.resolve("noncovid/broken.jpg")), Files.readAllBytes(dst.resolve("noncovid/broken.jpg")));

        Path big = dst.resolve("covid/Covid (1).png");
        assertEquals("jpeg", ImageDecoder.sniffFormat(Files.readAllBytes(big)), "re-encoded as JPEG under its old name");
        Image shrunk = ImageDecoder.decode(big);
        assertEquals(224, shrunk.height());
        assertEquals(298, shrunk.width(), "400 * 224 / 300 = 298.7, cut as torchvision's Resize cuts it");
        // the picture is the resized original, up to JPEG's loss
        Image want = Transforms.resizeShortSide(224).apply(ImageDecoder.decode(src.resolve("covid/Covid (1).png")), new Rng(1));
        double err = 0;
        for (int i = 0; i < 224 * 298; i++) err += Math.abs(shrunk.pixels()[i] - want.pixels()[i]) / (224 * 298);
        assertTrue(err < 0.02, "mean pixel difference " + err);
        for (int i = 0; i < 224 * 298; i++)
            if (shrunk.pixels()[i] != shrunk.pixels()[224 * 298 + i]) throw new AssertionError("a grey source stays grey");

        Image small = ImageDecoder.decode(dst.resolve("noncovid/a.png"));
        assertEquals(100, small.height());
        assertEquals(120, small.width());
        assertTrue(small.get(0, 50, 60) > 0.8f && small.get(1, 50, 60) < 0.1f, "a colour picture stays in colour");
        assertTrue(r.bytesAfter() < r.bytesBefore(), r.bytesAfter() + " bytes after, " + r.bytesBefore() + " before");

        assertEquals(2, ImageFileDataset.splitCsv(dst, "train").size(), "split.csv still names every file");
    }

    @Test void refusesAnExistingTargetAndBadSettings(@TempDir Path dir) throws IOException {
        Path src = Files.createDirectories(dir.resolve("set")), dst = Files.createDirectories(dir.resolve("there"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> ShrinkDataset.shrink(src, dst, 224, 0.85f)).getMessage().contains("exists"));
        assertThrows(IllegalArgumentException.class, () -> ShrinkDataset.shrink(src, dir.resolve("n1"), 0, 0.85f));
        assertThrows(IllegalArgumentException.class, () -> ShrinkDataset.shrink(src, dir.resolve("n2"), 224, 1.5f));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> ShrinkDataset.shrink(dir.resolve("none"), dir.resolve("n3"), 224, 0.85f))
            .getMessage().contains("none"));
    }
}
