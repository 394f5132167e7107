package org.pulmo.examples;

import static org.junit.jupiter.api.Assertions.*;
import static org.pulmo.examples.CliEndToEndTest.pulmo;
import static org.pulmo.examples.CliEndToEndTest.tinyTrain;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pulmo.examples.CliEndToEndTest.Run;
import org.pulmo.io.Safetensors;
import org.pulmo.models.ModelRegistry;
import org.pulmo.nn.Module;
import org.pulmo.tensor.Rng;
import org.pulmo.tensor.Tensor;
import org.pulmo.train.PretrainedWeightsTest;
import org.pulmo.train.TrainedModel;

/**
 * {@code pulmo train --init-from} and {@code pulmo export} end to end on a tiny ResNet-18 at 32 x 32: an
 * ImageNet-shaped torchvision file (1000 classes) starts a 2-class run, the checkpoint names it, the export is
 * the checkpoint's model bit for bit, and the refusals are one line.
 */
class PretrainedCliTest {

    @Test void initFromTrainExportAndRefusals(@TempDir Path dir) throws Exception {
        Path weights = dir.resolve("resnet18-imagenet.safetensors");
        PretrainedWeightsTest.writeAsPyTorch(ModelRegistry.create("resnet18", 1000, 32, 3).stateDict(), weights);
        Path out = dir.resolve("run");
        Run r = pulmo(tinyTrain(out, "--epochs", "1", "--no-evaluate", "--init-from", weights.toString()));
        assertEquals(0, r.code(), r.out() + r.err());
        assertTrue(r.out().contains("Initialised resnet18 from resnet18-imagenet.safetensors"), r.out());
        assertTrue(r.out().contains("re-initialised      2: fc 2 (the file has 1000 classes, this model 4"), r.out());
        assertEquals("resnet18-imagenet.safetensors", Safetensors.readMetadata(out.resolve("last.safetensors")).get("init_from"));

        Run both = pulmo(tinyTrain(out, "--epochs", "2", "--resume", "--init-from", weights.toString()));
        assertEquals(2, both.code(), both.out() + both.err());
        assertEquals(1, both.err().strip().lines().count(), both.err());
        assertTrue(both.err().contains("--init-from") && both.err().contains("--resume"), both.err());
        // continued, the run still says which weights it began from (its record and checkpoints said null from the first resume on)
        Run continued = pulmo(tinyTrain(out, "--epochs", "2", "--no-evaluate", "--resume"));
        assertEquals(0, continued.code(), continued.out() + continued.err());
        assertEquals("resnet18-imagenet.safetensors", Safetensors.readMetadata(out.resolve("last.safetensors")).get("init_from"));
        assertEquals("resnet18-imagenet.safetensors", CliEndToEndTest.runRecord(out).getAsJsonObject("settings").get("init_from").getAsString());

        // a run started from weights and stopped before its first epoch ended starts again from them: --resume alone would
        // have trained from a random initialisation without a word; with --init-from it is what the run began as
        Path stopped = Files.createDirectories(dir.resolve("stopped"));
        var record = com.google.gson.JsonParser.parseString(Files.readString(out.resolve("run.json"))).getAsJsonObject();
        record.addProperty("status", "interrupted");
        record.addProperty("epochs_done", 0);
        Files.writeString(stopped.resolve("run.json"), record.toString());
        Run alone = pulmo(tinyTrain(stopped, "--epochs", "1", "--no-evaluate", "--resume"));
        assertEquals(2, alone.code(), alone.out() + alone.err());
        assertTrue(alone.err().contains("was started from resnet18-imagenet.safetensors (--init-from) and stopped before its first epoch ended"), alone.err());
        assertFalse(Files.exists(stopped.resolve("last.safetensors")));
        Run restart = pulmo(tinyTrain(stopped, "--epochs", "1", "--no-evaluate", "--resume", "--init-from", weights.toString()));
        assertEquals(0, restart.code(), restart.out() + restart.err());
        assertTrue(restart.out().contains("Initialised resnet18 from resnet18-imagenet.safetensors"), restart.out());
        assertEquals("resnet18-imagenet.safetensors", Safetensors.readMetadata(stopped.resolve("last.safetensors")).get("init_from"));
        // other weights than it began from, or weights for a run that began from random ones, are another run: refused
        Path stoppedAgain = Files.createDirectories(dir.resolve("stopped-again"));
        Files.writeString(stoppedAgain.resolve("run.json"), record.toString());
        Path other = Files.copy(weights, dir.resolve("other.safetensors"));
        Run otherWeights = pulmo(tinyTrain(stoppedAgain, "--epochs", "1", "--no-evaluate", "--resume", "--init-from", other.toString()));
        assertEquals(2, otherWeights.code(), otherWeights.out() + otherWeights.err());
        assertTrue(otherWeights.err().contains("from resnet18-imagenet.safetensors, not other.safetensors"), otherWeights.err());
        record.getAsJsonObject("settings").add("init_from", com.google.gson.JsonNull.INSTANCE);
        Files.writeString(stoppedAgain.resolve("run.json"), record.toString());
        Run fromRandom = pulmo(tinyTrain(stoppedAgain, "--epochs", "1", "--no-evaluate", "--resume", "--init-from", weights.toString()));
        assertEquals(2, fromRandom.code(), fromRandom.out() + fromRandom.err());
        assertTrue(fromRandom.err().contains("from a random initialisation: leave out --init-from"), fromRandom.err());

        Path r50 = dir.resolve("resnet50.safetensors");
        PretrainedWeightsTest.writeAsPyTorch(ModelRegistry.create("resnet50", 1000, 32, 3).stateDict(), r50);
        Run foreign = pulmo("train", "--model", "dpn92", "--data", "demo", "--demo-images", "16", "--image-size", "32", "--batch-size", "4",
            "--epochs", "1", "--out", dir.resolve("dpn").toString(), "--init-from", r50.toString());
        assertEquals(2, foreign.code(), foreign.out() + foreign.err());
        assertEquals(1, foreign.err().strip().lines().count(), foreign.err());
        assertTrue(foreign.err().contains("holds no tensor of dpn92"), foreign.err());
        assertFalse(Files.exists(dir.resolve("dpn").resolve("last.safetensors")));

        Path exported = dir.resolve("model.safetensors");
        Run e = pulmo("export", "-c", out.resolve("best.safetensors").toString(), "-o", exported.toString());
        assertEquals(0, e.code(), e.out() + e.err());
        assertTrue(e.out().contains("torchvision.models.resnet18(num_classes=4)"), e.out());
        Module ckpt = TrainedModel.load(out.resolve("best.safetensors")).model();
        Safetensors.Contents c = Safetensors.read(exported);
        assertEquals(ckpt.stateDict().keySet(), c.tensors().keySet());
        for (var t : ckpt.stateDict().entrySet()) assertArrayEquals(t.getValue().toArray(), c.tensors().get(t.getKey()).toArray(), t.getKey());

        // The Java side of scripts/torch-roundtrip.sh: the checkpoint's eval logits, and the same from its export.
        Path input = dir.resolve("input.safetensors"), fromCkpt = dir.resolve("ckpt-logits.safetensors"), fromExport = dir.resolve("export-logits.safetensors");
        Tensor x = Tensor.randn(new Rng(5), 2, 3, 32, 32);
        Safetensors.write(input, Map.of("input", x), Map.of());
        assertEquals(0, TorchRoundTrip.run("-c", out.resolve("best.safetensors").toString(), "--input", input.toString(), "--out", fromCkpt.toString()));
        assertEquals(0, TorchRoundTrip.run("--model", "resnet18", "--init-from", exported.toString(), "--input", input.toString(),
            "--out", fromExport.toString()));
        float[] want = PretrainedWeightsTest.evalForward(ckpt, x).toArray();
        assertArrayEquals(want, Safetensors.read(fromCkpt).tensors().get("logits").toArray());
        assertArrayEquals(want, Safetensors.read(fromExport).tensors().get("logits").toArray());
        assertEquals(2, TorchRoundTrip.run("--model", "resnet18", "--init-from", exported.toString(), "--input", exported.toString(),
            "--out", fromExport.toString()), "an input file without 'input'");

        Run again = pulmo("export", "-c", out.resolve("best.safetensors").toString(), "-o", exported.toString());
        assertEquals(2, again.code(), again.out() + again.err());
        assertTrue(again.err().contains("--overwrite"), again.err());
        assertEquals(0, pulmo("export", "-c", out.resolve("best.safetensors").toString(), "-o", exported.toString(), "--overwrite").code());
    }
}
