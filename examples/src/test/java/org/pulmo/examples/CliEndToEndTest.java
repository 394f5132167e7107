package org.pulmo.examples;

import static org.junit.jupiter.api.Assertions.*;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pulmo.io.Safetensors;
import org.pulmo.tensor.Tensor;

/**
 * The CLI end to end on the CPU, on a tiny demo set and ResNet-18 at 32 x 32 so that it runs in seconds:
 * training writes checkpoints, metrics and plots, explain writes its PNGs, --resume continues exactly, and
 * user errors are one clear line with exit code 2.
 */
class CliEndToEndTest {

    /** Exit code, stdout and stderr of one command line. */
    record Run(int code, String out, String err) {}

    static Run pulmo(String... args) {
        PrintStream oldOut = System.out, oldErr = System.err;
        ByteArrayOutputStream out = new ByteArrayOutputStream(), err = new ByteArrayOutputStream();
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        try {
            return new Run(Main.run(args), out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setOut(oldOut);
            System.setErr(oldErr);
        }
    }

    static String[] tinyTrain(Path out, String... more) {
        List<String> a = new ArrayList<>(List.of("train", "--model", "resnet18", "--data", "demo", "--demo-images", "32",
            "--image-size", "32", "--batch-size", "8", "--workers", "1", "--seed", "5", "--out", out.toString()));
        a.addAll(List.of(more));
        if (!a.contains("--lr")) a.addAll(List.of("--lr", "0.02"));
        return a.toArray(String[]::new);
    }

    @Test void demoTrainingWritesCheckpointsMetricsPlotsAndExplainPngs(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("run");
        Run r = pulmo(tinyTrain(out, "--epochs", "2"));
        assertEquals(0, r.code(), r.out() + r.err());
        for (String f : List.of("last.safetensors", "best.safetensors", "metrics.csv", "metrics.json", "loss.png", "accuracy.png",
                "test/roc.png", "test/confusion_matrix.png", "test/report.txt"))
            assertTrue(Files.size(out.resolve(f)) > 0, f + " missing; output:\n" + r.out() + r.err());
        List<String> csv = Files.readAllLines(out.resolve("metrics.csv"));
        assertEquals(3, csv.size(), "header + one row per epoch: " + csv);
        assertTrue(csv.get(0).startsWith("epoch,lr,train_loss,train_acc,val_loss,val_acc"));
        assertTrue(r.out().contains("epoch 2/2"), r.out());

        Path ex = dir.resolve("explain");
        Run e = pulmo("explain", "-c", out.resolve("best.safetensors").toString(), "demo:1", "--samples", "24", "--superpixels", "16",
            "--layer", "stage3", "--out", ex.toString());
        assertEquals(0, e.code(), e.out() + e.err());
        for (String f : List.of("demo1_input.png", "demo1_gradcam.png", "demo1_gradcam.csv", "demo1_lime.png", "demo1_lime.csv"))
            assertTrue(Files.size(ex.resolve(f)) > 0, f);
        assertArrayEquals(new byte[] {(byte) 0x89, 'P', 'N', 'G'}, java.util.Arrays.copyOf(Files.readAllBytes(ex.resolve("demo1_gradcam.png")), 4));

        Run p = pulmo("predict", "-c", out.resolve("best.safetensors").toString(), ex.resolve("demo1_input.png").toString());
        assertEquals(0, p.code(), p.out() + p.err());
        assertTrue(p.out().contains("demo1_input.png"), p.out());
    }

    @Test void resumeAfterAnInterruptedRunMatchesAStraightRun(@TempDir Path dir) throws Exception {
        Path straight = dir.resolve("straight"), resumed = dir.resolve("resumed");
        assertEquals(0, pulmo(tinyTrain(straight, "--epochs", "2", "--no-evaluate")).code());
        assertEquals(0, pulmo(tinyTrain(resumed, "--epochs", "1", "--no-evaluate")).code());   // "interrupted" after epoch 1
        Run r = pulmo(tinyTrain(resumed, "--epochs", "2", "--no-evaluate", "--resume"));
        assertEquals(0, r.code(), r.out() + r.err());
        assertTrue(r.out().contains("Resuming from"), r.out());
        Map<String, Tensor> a = Safetensors.read(straight.resolve("last.safetensors")).tensors();
        Map<String, Tensor> b = Safetensors.read(resumed.resolve("last.safetensors")).tensors();
        assertEquals(a.keySet(), b.keySet());
        for (String k : a.keySet()) assertArrayEquals(a.get(k).toArray(), b.get(k).toArray(), k + " differs after resume");
        List<String> csvA = Files.readAllLines(straight.resolve("metrics.csv")), csvB = Files.readAllLines(resumed.resolve("metrics.csv"));
        assertEquals(3, csvB.size());
        // Same losses and accuracies; only the timing columns differ.
        for (int i = 1; i < 3; i++)
            assertEquals(String.join(",", List.of(csvA.get(i).split(",")).subList(0, 6)), String.join(",", List.of(csvB.get(i).split(",")).subList(0, 6)));
    }

    @Test void missingDataFolderIsAClearError(@TempDir Path dir) {
        Path missing = dir.resolve("no-such-folder");
        Run r = pulmo("train", "--model", "resnet18", "--data", missing.toString(), "--epochs", "1", "--out", dir.resolve("o").toString());
        assertEquals(2, r.code(), r.out() + r.err());
        assertTrue(r.err().contains("does not exist") && r.err().contains("no-such-folder"), r.err());
        assertFalse(Files.exists(dir.resolve("o").resolve("last.safetensors")));
    }

    @Test void resumeWithoutACheckpointIsAClearError(@TempDir Path dir) {
        Run r = pulmo(tinyTrain(dir.resolve("empty"), "--epochs", "1", "--resume"));
        assertEquals(2, r.code(), r.out() + r.err());
        assertTrue(r.err().contains("no checkpoint"), r.err());
    }

    @Test void divergingLossStopsWithAClearMessage(@TempDir Path dir) {
        Run r = pulmo(tinyTrain(dir.resolve("nan"), "--epochs", "3", "--lr", "1e30", "--no-evaluate"));
        assertEquals(3, r.code(), r.out() + r.err());
        assertTrue(r.err().contains("the loss became"), r.err());
    }

    @Test void summaryPrintsTheParameterCount() {
        Run r = pulmo("summary", "resnet18", "--classes", "4", "--image-size", "32");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("Total parameters: 11178564"), r.out());
    }
}
