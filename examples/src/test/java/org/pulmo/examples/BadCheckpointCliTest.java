package org.pulmo.examples;

import static org.junit.jupiter.api.Assertions.*;

import java.awt.image.BufferedImage;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pulmo.io.Checkpoint;
import org.pulmo.io.Safetensors;
import org.pulmo.nn.Module;
import org.pulmo.tensor.Tensor;
import org.pulmo.train.Models;

/**
 * predict (and so evaluate and explain, which load through the same {@code TrainedModel}) on damaged
 * checkpoints: exit code 2 and one line naming the file and what is wrong, never predictions; and --resume
 * after a crash that lost best.safetensors.
 */
class BadCheckpointCliTest {
    @TempDir Path dir;

    private static Map<String, String> describe() {
        return Map.of("model", "resnet18", "classes", "covid\nnormal", "image_size", "32", "augmentation", "none");
    }

    private Path image() throws Exception {
        Path png = dir.resolve("x.png");
        ImageIO.write(new BufferedImage(32, 32, BufferedImage.TYPE_INT_RGB), "png", png.toFile());
        return png;
    }

    private static void assertOneLineError(CliEndToEndTest.Run r, String... parts) {
        assertEquals(2, r.code(), r.out() + r.err());
        assertFalse(r.out().contains("predicted"), "no predictions: " + r.out());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        for (String p : parts) assertTrue(r.err().contains(p), r.err());
    }

    @Test void predictRefusesNaNWeightsCorruptBytesAndTruncatedFiles() throws Exception {
        Module m = Models.create("resnet18", 2, 32, 5, null);
        Path good = dir.resolve("best.safetensors"), png = image();
        Checkpoint.save(good, m, null, 1, 4, Map.of(), describe());
        assertEquals(0, CliEndToEndTest.pulmo("predict", "-c", good.toString(), png.toString()).code());
        byte[] bytes = Files.readAllBytes(good);
        int dataStart = 8 + (int) ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN).getLong();

        // NaN weights, as an older version saved them after a diverged step
        Map<String, Tensor> tensors = new LinkedHashMap<>(Safetensors.read(good).tensors());
        String first = tensors.keySet().iterator().next();
        float[] w = tensors.get(first).toArray();
        w[17] = Float.NaN;
        tensors.put(first, Tensor.of(w, tensors.get(first).shape()));
        Map<String, String> meta = new LinkedHashMap<>(Safetensors.read(good).metadata());
        Path nan = dir.resolve("nan.safetensors");
        Safetensors.write(nan, tensors, meta);
        assertOneLineError(CliEndToEndTest.pulmo("predict", "-c", nan.toString(), png.toString()),
            nan.toString(), "tensor " + first + " holds NaN at index 17");

        // one flipped bit in the tensor data
        byte[] flipped = bytes.clone();
        flipped[dataStart + 1000] ^= 0x04;
        Path corrupt = dir.resolve("corrupt.safetensors");
        Files.write(corrupt, flipped);
        assertOneLineError(CliEndToEndTest.pulmo("predict", "-c", corrupt.toString(), png.toString()),
            corrupt + ": tensor data does not match its recorded digest");

        // cut short, and garbage
        Path cut = dir.resolve("cut.safetensors");
        Files.write(cut, java.util.Arrays.copyOf(bytes, bytes.length / 2));
        assertOneLineError(CliEndToEndTest.pulmo("predict", "-c", cut.toString(), png.toString()), cut + ": truncated");
        Files.writeString(cut, "not a checkpoint");
        assertOneLineError(CliEndToEndTest.pulmo("predict", "-c", cut.toString(), png.toString()), cut + ": not a safetensors file");

        // a damaged metadata value names the file
        Map<String, String> badMeta = new LinkedHashMap<>(meta);
        badMeta.put("image_size", "3x2");
        Path edited = dir.resolve("edited.safetensors");
        Safetensors.write(edited, Safetensors.read(good).tensors(), badMeta);
        assertOneLineError(CliEndToEndTest.pulmo("predict", "-c", edited.toString(), png.toString()),
            edited + ": metadata field 'image_size' is \"3x2\", not an image side");
    }

    /**
     * The checksum covers the tensors, not the metadata: values 'pulmo train' never writes are refused naming the field
     * (a side of 10^8 pixels made predict resize its image for minutes; two classes of one name gave two columns of it).
     */
    @Test void metadataValuesTrainNeverWritesAreRefusedNamingTheField() throws Exception {
        Module m = Models.create("resnet18", 2, 32, 5, null);
        Path good = dir.resolve("best.safetensors"), png = image();
        Map<String, String> written = new LinkedHashMap<>(describe());
        written.put("best_val_acc", "0.5");
        written.put("best_epoch", "1");
        Checkpoint.save(good, m, null, 1, 4, Map.of(), written);
        Map<String, String> meta = Safetensors.read(good).metadata();
        String[][] cases = {{"image_size", "99999999"}, {"classes", "covid\ncovid"}, {"classes", "covid"}, {"epoch", "abc"},
            {"best_val_acc", "NaN"}, {"best_epoch", "7"}, {"augmentation", "bogus"}, {"batch_size", "0"}};
        for (String[] c : cases) {
            Map<String, String> bad = new LinkedHashMap<>(meta);
            bad.put(c[0], c[1]);
            Path edited = dir.resolve("edited-" + c[0] + ".safetensors");
            Safetensors.write(edited, Safetensors.read(good).tensors(), bad);
            assertOneLineError(CliEndToEndTest.pulmo("predict", "-c", edited.toString(), png.toString()),
                edited + ": metadata field '" + c[0] + "' is \"" + c[1].replace("\n", ", ") + "\"");
        }
    }

    /**
     * ResNet-18's tensors under metadata naming ResNet-50: a short line that names a few keys, counts the rest and asks
     * whether these are another architecture's weights (before: all 198 missing keys and 24 shapes, some 9 KB, with
     * broken separators).
     */
    @Test void anotherArchitecturesWeightsAreOneShortLine() throws Exception {
        Module m = Models.create("resnet18", 2, 32, 5, null);
        Path good = dir.resolve("best.safetensors"), png = image();
        Checkpoint.save(good, m, null, 1, 4, Map.of(), describe());
        Map<String, String> meta = new LinkedHashMap<>(Safetensors.read(good).metadata());
        meta.put("model", "resnet50");
        Path other = dir.resolve("other.safetensors");
        Safetensors.write(other, Safetensors.read(good).tensors(), meta);
        CliEndToEndTest.Run r = CliEndToEndTest.pulmo("predict", "-c", other.toString(), png.toString());
        assertEquals(2, r.code(), r.out() + r.err());
        // the device line ("INFO: using the CPU: ...") comes first here: the checkpoint is read onto the chosen device
        List<String> lines = r.err().strip().lines().filter(l -> !l.startsWith("INFO: ")).toList();
        assertEquals(1, lines.size(), r.err());
        for (String part : new String[] {other.toString(), "missing keys (", "... and ", "another architecture's weights"})
            assertTrue(lines.getFirst().contains(part), part + " in " + r.err());
        assertTrue(lines.getFirst().length() < 2000, lines.getFirst().length() + " characters: " + r.err());
        assertFalse(r.err().contains(":;"), r.err());
    }

    /** An evaluation none of whose images can be read is an error, not a report of 0 images with exit code 0. */
    @Test void evaluateWithNoReadableImageExitsTwo() throws Exception {
        Path ck = dir.resolve("best.safetensors");
        Checkpoint.save(ck, Models.create("resnet18", 2, 32, 5, null), null, 1, 4, Map.of(), describe());
        Path data = dir.resolve("unreadable");
        for (String c : new String[] {"covid", "normal"}) {
            Files.createDirectories(data.resolve(c));
            Files.writeString(data.resolve(c).resolve("a.png"), "not a picture");
        }
        CliEndToEndTest.Run r = CliEndToEndTest.pulmo("evaluate", "-c", ck.toString(), "--data", data.toString(), "--split", "all",
            "-o", dir.resolve("ev").toString());
        assertEquals(2, r.code(), r.out() + r.err());
        assertTrue(r.err().contains("none of the 2 images could be read"), r.err());
        assertFalse(Files.exists(dir.resolve("ev").resolve("report.txt")), "no report of 0 images");
    }

    /** A resumed run whose last checkpoint says -1 epochs done would train its first epoch again over the finished one. */
    @Test void resumeRefusesDamagedMetadataAndLeavesTheRunAsItWas() throws Exception {
        Path out = dir.resolve("run");
        assertEquals(0, CliEndToEndTest.pulmo(CliEndToEndTest.tinyTrain(out, "--epochs", "1", "--no-evaluate")).code());
        Path last = out.resolve("last.safetensors");
        var read = Safetensors.read(last);
        Map<String, String> bad = new LinkedHashMap<>(read.metadata());
        bad.put("epoch", "-1");
        Safetensors.write(last, read.tensors(), bad);
        byte[] lastBytes = Files.readAllBytes(last), best = Files.readAllBytes(out.resolve("best.safetensors"));
        String metrics = Files.readString(out.resolve("metrics.csv"));
        CliEndToEndTest.Run r = CliEndToEndTest.pulmo(CliEndToEndTest.tinyTrain(out, "--epochs", "2", "--resume"));
        assertEquals(2, r.code(), r.out() + r.err());
        assertTrue(r.err().contains(last + ": metadata field 'epoch' is \"-1\", not a count of epochs done"), r.err());
        assertArrayEquals(lastBytes, Files.readAllBytes(last));
        assertArrayEquals(best, Files.readAllBytes(out.resolve("best.safetensors")));
        assertEquals(metrics, Files.readString(out.resolve("metrics.csv")));
    }

    /** A crash after last.safetensors of epoch 1 was renamed into place and before best.safetensors was. */
    @Test void resumeRebuildsABestLostBetweenTheTwoWrites() throws Exception {
        Path out = dir.resolve("run");
        assertEquals(0, CliEndToEndTest.pulmo(CliEndToEndTest.tinyTrain(out, "--epochs", "1", "--no-evaluate")).code());
        Files.delete(out.resolve("best.safetensors"));
        Files.write(out.resolve(".best.safetensors.1234567.tmp"), new byte[4096]); // the interrupted write of best
        CliEndToEndTest.Run r = CliEndToEndTest.pulmo(CliEndToEndTest.tinyTrain(out, "--epochs", "2", "--resume"));
        assertEquals(0, r.code(), r.out() + r.err());
        assertTrue(r.out().contains("best.safetensors is missing") && r.out().contains("rewrote"), r.out());
        assertTrue(r.out().contains("Test set, best checkpoint"), r.out());
        assertFalse(Files.exists(out.resolve(".best.safetensors.1234567.tmp")));
    }
}
