package org.pulmo.examples;

import static org.junit.jupiter.api.Assertions.*;
import static org.pulmo.examples.CliEndToEndTest.pulmo;

import java.awt.image.BufferedImage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pulmo.data.Image;
import org.pulmo.examples.CliEndToEndTest.Run;

/**
 * {@code pulmo explain} on a ResNet-18 trained for one epoch at 32 x 32: overlays on the whole original picture,
 * with what the centre crop cut off dimmed, and one-line errors for bad options and unwritable outputs.
 */
class ExplainCommandTest {
    @TempDir static Path shared;
    static Path checkpoint, wide;

    @BeforeAll static void trainATinyModel() throws Exception {
        Path run = shared.resolve("run");
        Run r = pulmo("train", "--model", "resnet18", "--data", "demo", "--demo-images", "8", "--image-size", "32", "--batch-size", "8",
            "--workers", "1", "--epochs", "1", "--no-evaluate", "--augmentation", "dpn-senet", "--out", run.toString());
        assertEquals(0, r.code(), r.out() + r.err());
        checkpoint = run.resolve("last.safetensors");
        // A wide "film", 40 x 96: the model sees its centre 40 x 40 (at 32 x 32); a quarter of each side is cut off.
        int h = 40, w = 96;
        float[] px = new float[3 * h * w];
        for (int c = 0; c < 3; c++) for (int y = 0; y < h; y++) for (int x = 0; x < w; x++) px[(c * h + y) * w + x] = 0.5f + 0.4f * (float) Math.sin(x / 5.0 + y / 7.0);
        wide = shared.resolve("wide.png");
        new Image(3, h, w, px).writePng(wide);
    }

    /** Before: the overlays were 32 x 32, the centre crop only, no title or colour bar. */
    @Test void overlaysCoverTheWholeFilmAndDimWhatTheModelDidNotSee(@TempDir Path dir) throws Exception {
        Run r = pulmo("explain", "-c", checkpoint.toString(), wide.toString(), "--samples", "8", "--superpixels", "9", "--layer", "stage2",
            "--device", "cpu", "--out", dir.toString());
        assertEquals(0, r.code(), r.out() + r.err());
        assertTrue(r.out().contains("p = "), r.out());
        assertTrue(r.out().contains("not seen by the model"), r.out());
        for (String f : List.of("wide_gradcam.png", "wide_lime.png")) {
            BufferedImage png = ImageIO.read(dir.resolve(f).toFile());
            assertTrue(png.getWidth() > 96 && png.getHeight() >= 40, f + " is " + png.getWidth() + "x" + png.getHeight());
        }
        assertTrue(Files.readAllLines(dir.resolve("wide_gradcam.csv")).size() >= 1);
        assertEquals(32, Files.readAllLines(dir.resolve("wide_lime.csv")).size(), "the raw LIME map stays at the model's resolution");
    }

    /** Before: a 1 x 1 map at stage4 of a 32 x 32 input was a uniform red wash without a word. */
    @Test void aCoarseMapIsFlagged(@TempDir Path dir) {
        Run r = pulmo("explain", "-c", checkpoint.toString(), "demo:0", "--method", "gradcam", "--device", "cpu", "--out", dir.toString());
        assertEquals(0, r.code(), r.out() + r.err());
        assertTrue(r.out().contains("note: Grad-CAM coarse: the stage4 map has only 1x1 cells"), r.out());
    }

    /**
     * Several images in one call, the model loaded once: each its own files, each explained for its own predicted class
     * (the same files as a call of its own); two inputs that would write the same names are refused before any work.
     */
    @Test void severalImagesInOneCallEachGetTheirOwnFiles(@TempDir Path dir) throws Exception {
        Path one = dir.resolve("one"), both = dir.resolve("both");
        Run r1 = pulmo("explain", "-c", checkpoint.toString(), "demo:2", "--method", "gradcam", "--layer", "stage2", "--device", "cpu", "--out", one.toString());
        assertEquals(0, r1.code(), r1.out() + r1.err());
        Run r = pulmo("explain", "-c", checkpoint.toString(), "demo:0", wide.toString(), "demo:2", "--method", "gradcam", "--layer", "stage2",
            "--device", "cpu", "--out", both.toString());
        assertEquals(0, r.code(), r.out() + r.err());
        for (String n : List.of("demo0", "wide", "demo2"))
            for (String f : List.of("_input.png", "_gradcam.png", "_gradcam.csv")) assertTrue(Files.exists(both.resolve(n + f)), n + f + "\n" + r.out());
        assertEquals(3, r.out().lines().filter(l -> l.startsWith("Grad-CAM (stage2)")).count(), r.out());
        assertEquals(Files.readAllLines(one.resolve("demo2_gradcam.csv")), Files.readAllLines(both.resolve("demo2_gradcam.csv")),
            "the third image's map is the one a call of its own gives");

        Path again = Files.createDirectories(dir.resolve("sub")).resolve("wide.png");
        Files.copy(wide, again);
        Run clash = pulmo("explain", "-c", checkpoint.toString(), wide.toString(), again.toString(), "--device", "cpu", "--out", dir.resolve("c").toString());
        assertEquals(2, clash.code(), clash.out() + clash.err());
        assertTrue(clash.err().contains("would both write wide_*.png"), clash.err());
        assertFalse(Files.exists(dir.resolve("c")), "nothing written");
    }

    /** Before: --samples 0 ended in ArrayIndexOutOfBoundsException, -5 in NegativeArraySizeException, both with stack traces. */
    @Test void badOptionValuesAreOneLineNamingTheOption(@TempDir Path dir) throws Exception {
        for (String n : List.of("0", "-5")) {
            Run r = pulmo("explain", "-c", checkpoint.toString(), "demo:0", "--samples", n, "--device", "cpu", "--out", dir.toString());
            assertEquals(2, r.code(), r.out() + r.err());
            assertEquals("pulmo explain: --samples must be at least 1, not " + n, r.err().strip());
        }
        Run r = pulmo("explain", "-c", checkpoint.toString(), "demo:x", "--out", dir.toString());
        assertEquals(2, r.code());
        assertTrue(r.err().contains("demo:N") && r.err().lines().count() == 1, r.err());
        // a layer the model lacks is refused before the output folder is chosen: nothing is made, nothing numbered past
        Path out = dir.resolve("explain");
        Run layer = pulmo("explain", "-c", checkpoint.toString(), "demo:0", "--layer", "conv5_bn_ac", "--device", "cpu", "--out", out.toString());
        assertEquals(2, layer.code(), layer.out() + layer.err());
        assertTrue(layer.err().contains("--layer conv5_bn_ac: resnet18 has the Grad-CAM layers [stage0"), layer.err());
        assertFalse(Files.exists(out), "a failed call made its output folder");
        // nor one whose image turns out unreadable only when decoded
        Path notImage = Files.writeString(dir.resolve("notanimage.jpg"), "plain text");
        Run bad = pulmo("explain", "-c", checkpoint.toString(), notImage.toString(), "--method", "gradcam", "--device", "cpu", "--out", out.toString());
        assertEquals(2, bad.code(), bad.out() + bad.err());
        assertTrue(bad.err().contains("notanimage.jpg"), bad.err());
        assertFalse(Files.exists(out), "a call that failed on its image left its output folder behind, empty");
    }

    /** Before: "pulmo explain: /tmp/.../file.txt", the path without what was wrong with it. */
    @Test void outNamingAFileSaysSo(@TempDir Path dir) throws Exception {
        Path file = Files.writeString(dir.resolve("file.txt"), "x");
        Run r = pulmo("explain", "-c", checkpoint.toString(), "demo:0", "--out", file.toString());
        assertEquals(2, r.code(), r.out() + r.err());
        assertEquals("pulmo explain: --out " + file + " is a file, not a folder (give a folder; it is created if missing)", r.err().strip());
    }

    /**
     * A file that cannot be written is named with the cause (Java's own message for a full disk is "No space left on
     * device" alone: AtomicFilesTest). Here a non-empty folder stands where the CSV goes.
     */
    @Test void aFileThatCannotBeWrittenIsNamedWithTheCause(@TempDir Path dir) throws Exception {
        Files.createDirectories(dir.resolve("demo0_gradcam.csv").resolve("inside"));
        Run r = pulmo("explain", "-c", checkpoint.toString(), "demo:0", "--method", "gradcam", "--device", "cpu", "--out", dir.toString());
        assertEquals(2, r.code(), r.out() + r.err());
        String err = r.err().strip();   // the reason is the operating system's ("Is a directory" on Linux)
        assertTrue(err.startsWith("pulmo explain: cannot write " + dir.resolve("demo0_gradcam.csv") + ": ") && !err.contains(".tmp"), err);
    }

    /** Before: "pulmo explain: No space left on device", without the file. (/dev/full fails every write with ENOSPC; a link is followed.) */
    @Test void aFullDiskNamesTheFileAndTheCause(@TempDir Path dir) throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(Files.exists(Path.of("/dev/full")), "needs /dev/full");
        Files.createSymbolicLink(dir.resolve("demo0_gradcam.csv"), Path.of("/dev/full"));
        Run r = pulmo("explain", "-c", checkpoint.toString(), "demo:0", "--method", "gradcam", "--device", "cpu", "--out", dir.toString());
        assertEquals(2, r.code(), r.out() + r.err());
        assertEquals("pulmo explain: cannot write " + dir.resolve("demo0_gradcam.csv") + ": No space left on device", r.err().strip());
    }
}
