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
 * training writes checkpoints, metrics and plots, and what they hold is checked (finite losses, accuracies in
 * [0, 1], the learning rate of the schedule, a test report that a separate {@code evaluate} reproduces,
 * probabilities that sum to 1); explain writes its PNGs; --resume continues exactly, without redoing finished
 * epochs; and user errors are one clear line with exit code 2.
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
        Run r = pulmo(tinyTrain(out, "--epochs", "2", "--schedule", "step:1:0.5"));
        assertEquals(0, r.code(), r.out() + r.err());
        for (String f : List.of("last.safetensors", "best.safetensors", "metrics.csv", "metrics.json", "loss.png", "accuracy.png",
                "test/roc.png", "test/confusion_matrix.png", "test/report.txt"))
            assertTrue(Files.size(out.resolve(f)) > 0, f + " missing; output:\n" + r.out() + r.err());
        List<String> csv = Files.readAllLines(out.resolve("metrics.csv"));
        assertEquals(3, csv.size(), "header + one row per epoch: " + csv);
        assertTrue(csv.get(0).startsWith("epoch,lr,train_loss,train_acc,val_loss,val_acc"));
        assertTrue(r.out().contains("epoch 2/2"), r.out());
        double[] lr = {0.02, 0.01};   // --schedule step:1:0.5: the base lr, halved after each epoch
        for (int i = 1; i < 3; i++) {
            String[] f = csv.get(i).split(",", -1);
            assertEquals(Integer.toString(i), f[0], "epoch column: " + csv.get(i));
            assertEquals(lr[i - 1], Double.parseDouble(f[1]), 1e-9, "lr of epoch " + i + ": " + csv.get(i));
            for (int c : new int[] {2, 4}) assertTrue(Double.isFinite(Double.parseDouble(f[c])) && Double.parseDouble(f[c]) > 0, "loss: " + csv.get(i));
            for (int c : new int[] {3, 5}) {
                double acc = Double.parseDouble(f[c]);
                assertTrue(acc >= 0 && acc <= 1, "accuracy is a fraction: " + csv.get(i));
            }
            assertTrue(Double.parseDouble(f[7]) > 0, "seconds: " + csv.get(i));
        }

        // The test report after training is what 'evaluate' says of the same checkpoint on the same data.
        Path ev = dir.resolve("evaluate");
        Run v = pulmo("evaluate", "-c", out.resolve("best.safetensors").toString(), "--data", "demo", "--demo-images", "32",
            "--batch-size", "8", "--out", ev.toString());
        assertEquals(0, v.code(), v.out() + v.err());
        String report = Files.readString(out.resolve("test/report.txt"));
        double accuracy = accuracy(report);
        assertTrue(accuracy >= 0 && accuracy <= 100, report);
        assertEquals(accuracy, accuracy(Files.readString(ev.resolve("report.txt"))), 1e-9, "test accuracy after training vs evaluate");
        assertEquals(report, Files.readString(ev.resolve("report.txt")), "the whole report");

        Path ex = dir.resolve("explain");
        Run e = pulmo("explain", "-c", out.resolve("best.safetensors").toString(), "demo:1", "--samples", "24", "--superpixels", "16",
            "--layer", "stage3", "--out", ex.toString());
        assertEquals(0, e.code(), e.out() + e.err());
        for (String f : List.of("demo1_input.png", "demo1_gradcam.png", "demo1_lime.png"))
            assertArrayEquals(new byte[] {(byte) 0x89, 'P', 'N', 'G'}, java.util.Arrays.copyOf(Files.readAllBytes(ex.resolve(f)), 4), f);
        for (String f : List.of("demo1_gradcam.csv", "demo1_lime.csv")) assertTrue(Files.size(ex.resolve(f)) > 0, f);

        // predict on the explain folder (three PNGs): one line per image, probabilities summing to 1, the predicted
        // class the most probable one
        Run p = pulmo("predict", "-c", out.resolve("best.safetensors").toString(), ex.toString());
        assertEquals(0, p.code(), p.out() + p.err());
        List<String> lines = p.out().lines().filter(l -> !l.isBlank()).toList();
        List<String> header = List.of(lines.getFirst().trim().split("\\s+"));   // image predicted <class>...
        List<String> classes = header.subList(2, header.size());
        List<String> rows = lines.stream().filter(l -> l.contains(".png")).toList();
        assertEquals(3, rows.size(), p.out());
        for (String row : rows) {
            String[] t = row.trim().split("\\s+");
            double sum = 0, max = -1;
            String argmax = null;
            for (int k = 0; k < classes.size(); k++) {
                double q = Double.parseDouble(t[t.length - classes.size() + k]);
                assertTrue(q >= 0 && q <= 1, row);
                sum += q;
                if (q > max) { max = q; argmax = classes.get(k); }
            }
            assertEquals(1, sum, 1e-3, "probabilities of one image sum to 1: " + row);
            assertEquals(argmax, t[t.length - classes.size() - 1], "predicted class: " + row);
        }
        assertTrue(p.out().contains("demo1_input.png"), p.out());
    }

    /** The "accuracy" line of a report.txt, in percent. */
    static double accuracy(String report) {
        return report.lines().filter(l -> l.startsWith("accuracy ")).map(l -> Double.parseDouble(l.substring("accuracy".length()).trim().replace("%", "")))
            .findFirst().orElseThrow(() -> new AssertionError("no accuracy line in\n" + report));
    }

    @Test void resumeAfterAnInterruptedRunMatchesAStraightRun(@TempDir Path dir) throws Exception {
        Path straight = dir.resolve("straight"), resumed = dir.resolve("resumed");
        assertEquals(0, pulmo(tinyTrain(straight, "--epochs", "2", "--no-evaluate")).code());
        assertEquals(0, pulmo(tinyTrain(resumed, "--epochs", "1", "--no-evaluate")).code());   // "interrupted" after epoch 1
        String epoch1 = Files.readAllLines(resumed.resolve("metrics.csv")).get(1);
        // --cuda-graphs on the CPU: one line saying the steps run as ordinary code, and nothing else changes
        Run r = pulmo(tinyTrain(resumed, "--epochs", "2", "--no-evaluate", "--resume", "--cuda-graphs"));
        assertEquals(0, r.code(), r.out() + r.err());
        assertTrue(r.out().contains("Resuming from"), r.out());
        assertTrue(r.out().contains("not recorded (--cuda-graphs): the cpu backend"), r.out());
        // Not a restart that retrains from scratch (it would end with the same seed-determined weights): epoch 1 is
        // not run again, and its metrics row, timing columns included, is the one the first run wrote.
        assertFalse(r.out().contains("epoch 1/2"), "the resumed run redid epoch 1:\n" + r.out());
        assertTrue(r.out().contains("epoch 2/2"), r.out());
        assertEquals(epoch1, Files.readAllLines(resumed.resolve("metrics.csv")).get(1), "epoch 1's row after resuming");
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
