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
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import org.pulmo.io.Safetensors;
import org.pulmo.tensor.Tensor;

/**
 * The CLI end to end on the CPU, on a tiny demo set and ResNet-18 at 32 x 32 so that it runs in seconds:
 * training writes checkpoints, metrics and plots, and what they hold is checked (finite losses, accuracies in
 * [0, 1], the learning rate of the schedule, a test report that a separate {@code evaluate} reproduces,
 * probabilities that sum to 1); explain writes its PNGs; --resume continues exactly, without redoing finished
 * epochs; and user errors are one clear line with exit code 2.
 */
public class CliEndToEndTest {

    /** Exit code, stdout and stderr of one command line. */
    public record Run(int code, String out, String err) {}

    /** Runs one command line in this JVM, its output captured. */
    public static Run pulmo(String... args) {
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
        Run r = pulmo(tinyTrain(out, "--epochs", "2", "--schedule", "Step:1:0.5"));   // recorded in one spelling: step:1:0.5
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

        // The test report after training is what 'evaluate' says of the same checkpoint on the same data, to the last
        // digit of every probability (evaluate takes the checkpoint's batch size unless told otherwise).
        Path ev = dir.resolve("evaluate");
        Run v = pulmo("evaluate", "-c", out.resolve("best.safetensors").toString(), "--data", "demo", "--demo-images", "32",
            "--out", ev.toString());
        assertEquals(0, v.code(), v.out() + v.err());
        String report = Files.readString(out.resolve("test/report.txt"));
        double accuracy = accuracy(report);
        assertTrue(accuracy >= 0 && accuracy <= 100, report);
        assertEquals(accuracy, accuracy(Files.readString(ev.resolve("report.txt"))), 1e-9, "test accuracy after training vs evaluate");
        assertEquals(report, Files.readString(ev.resolve("report.txt")), "the whole report");
        assertEquals(Files.readString(out.resolve("test/predictions.csv")), Files.readString(ev.resolve("predictions.csv")), "every probability");
        checkRunRecord(out, r.out(), csv, accuracy);
        checkPlotRedrawsFromFiles(out);

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
        // the CPU computes in FP32 whatever --precision says: the same output, with a note where TF32 was asked for
        Run fp32 = pulmo("predict", "-c", out.resolve("best.safetensors").toString(), ex.toString(), "--precision", "FP32");
        Run tf32 = pulmo("predict", "-c", out.resolve("best.safetensors").toString(), ex.toString(), "--precision", "tf32", "--device", "cpu");
        assertEquals(p.out(), fp32.out());
        assertEquals("--precision tf32: the CPU has no TF32 and computes in FP32.\n" + p.out(), tf32.out().replace(System.lineSeparator(), "\n"));
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
        // --csv keeps every digit a float has (the printed table rounds to 4 decimals): each value as Float.toString writes
        // it, each row summing to 1 within float rounding, each printed value that value rounded
        Path predCsv = dir.resolve("predictions-all-digits.csv");
        Run pc = pulmo("predict", "-c", out.resolve("best.safetensors").toString(), ex.toString(), "--csv", predCsv.toString());
        assertEquals(0, pc.code(), pc.out() + pc.err());
        List<String> csvRows = Files.readAllLines(predCsv).stream().filter(l -> l.contains(".png")).toList();
        assertEquals(3, csvRows.size(), String.join("\n", csvRows));
        for (String row : csvRows) {
            String[] f = row.substring(row.lastIndexOf('"') + 2).split(",");
            String printed = rows.stream().filter(line -> line.contains(row.substring(row.lastIndexOf('/') + 1, row.lastIndexOf('"')))).findFirst().orElseThrow();
            String[] shown = printed.trim().split("\\s+");
            double sum = 0;
            for (int k = 0; k < classes.size(); k++) {
                String prob = f[f.length - classes.size() + k];
                assertEquals(Float.toString(Float.parseFloat(prob)), prob, "a probability with every digit: " + row);
                sum += Float.parseFloat(prob);
                assertEquals(Double.parseDouble(shown[shown.length - classes.size() + k]), Float.parseFloat(prob), 5.01e-5, "printed " + printed + " csv " + row);
            }
            assertEquals(1, sum, 1e-5, "probabilities of one image sum to 1: " + row);
        }

        // a file that is no image: before, an empty table and exit 1; a CSV that cannot be written: before, said after the work
        Path notImage = dir.resolve("notes.png");
        Files.writeString(notImage, "not a picture");
        Run none = pulmo("predict", "-c", out.resolve("best.safetensors").toString(), notImage.toString());
        assertEquals(2, none.code(), none.out() + none.err());
        assertTrue(none.out().isBlank() && none.err().contains("none of the 1 file(s) could be read as an image"), none.out() + none.err());
        Files.copy(notImage, ex.resolve("zz-notes.png"));
        Run some = pulmo("predict", "-c", out.resolve("best.safetensors").toString(), ex.toString(), "--csv", dir.resolve("p.csv").toString());
        assertEquals(2, some.code(), some.out() + some.err());
        assertTrue(some.err().contains("1 of 4 image(s) could not be read"), some.err());
        assertEquals(4, Files.readAllLines(dir.resolve("p.csv")).size(), "the three readable images are written all the same");
        Files.writeString(dir.resolve("a-file"), "x");
        Run badCsv = pulmo("predict", "-c", out.resolve("best.safetensors").toString(), ex.toString(), "--csv", dir.resolve("a-file/p.csv").toString());
        assertEquals(2, badCsv.code(), badCsv.out() + badCsv.err());
        assertTrue(badCsv.out().isBlank() && badCsv.err().contains("--csv " + dir.resolve("a-file") + " is a file, not a folder"), badCsv.out() + badCsv.err());
    }

    static JsonObject runRecord(Path run) throws java.io.IOException {
        return JsonParser.parseString(Files.readString(run.resolve("run.json"))).getAsJsonObject();
    }

    /**
     * run.json of the demo run: what it was (the options as typed and as used, the data as printed, the CPU) and how it
     * went, each figure against the file or line it must agree with.
     */
    private static void checkRunRecord(Path out, String printed, List<String> csv, double testAccuracyPercent) throws java.io.IOException {
        JsonObject j = runRecord(out);
        assertEquals("finished", j.get("status").getAsString(), j.toString());
        assertTrue(j.get("message").isJsonNull(), j.toString());
        assertTrue(j.get("command").getAsString().startsWith("pulmo train --model resnet18 --data demo"), j.get("command").getAsString());
        assertEquals(2, j.get("epochs_done").getAsInt());
        assertEquals(2, j.get("epochs_planned").getAsInt());
        assertEquals(5, j.get("seed").getAsLong());
        JsonObject set = j.getAsJsonObject("settings");
        assertEquals("resnet18", set.get("model").getAsString());
        assertEquals(32, set.get("image_size").getAsInt());
        assertEquals(8, set.get("batch_size").getAsInt());
        assertEquals(0.02, set.get("lr").getAsDouble(), 1e-9);
        assertEquals("step:1:0.5", set.get("schedule").getAsString());
        JsonObject data = j.getAsJsonObject("data");
        assertEquals("demo", data.get("source").getAsString());
        String counts = data.get("train").getAsInt() + " training, " + data.get("val").getAsInt() + " validation, " + data.get("test").getAsInt() + " test images";
        assertTrue(printed.contains(counts), counts + " not in\n" + printed);
        assertEquals(data.get("train").getAsInt(), data.getAsJsonObject("train_per_class").entrySet().stream().mapToInt(e -> e.getValue().getAsInt()).sum());
        assertTrue(printed.matches("(?s).*Done: 2 epochs in 0:00:\\d\\d \\(training 0:00:\\d\\d at "
            + java.util.regex.Pattern.quote(String.format(java.util.Locale.ROOT, "%.1f", j.get("images_per_s").getAsDouble())) + " images/s\\); best .*"),
            "the last line's times and speed: " + printed);
        assertEquals("cpu", j.getAsJsonObject("device").get("name").getAsString());
        assertTrue(j.getAsJsonObject("device").get("backend").getAsString().startsWith("CpuBackend["), j.toString());
        assertTrue(j.get("device_peak_mib").isJsonNull() && j.get("device_held_mib").isJsonNull(), "the CPU keeps no device account: " + j);
        if (Files.exists(Path.of("/proc/self/status"))) assertTrue(j.get("host_peak_rss_mib").getAsDouble() > 10, j.toString());
        double seconds = 0, images = 0, bestAcc = -1;
        int bestEpoch = 0;
        for (String row : csv.subList(1, csv.size())) {
            String[] f = row.split(",", -1);
            seconds += Double.parseDouble(f[7]);
            images += Double.parseDouble(f[6]) * Double.parseDouble(f[7]);
            if (Double.parseDouble(f[5]) > bestAcc) { bestAcc = Double.parseDouble(f[5]); bestEpoch = Integer.parseInt(f[0]); }
            assertEquals("", f[9], "device_peak_mib on the CPU: " + row);
        }
        assertEquals(seconds, j.get("training_seconds").getAsDouble(), 0.02, "training seconds = the epochs' seconds in metrics.csv");
        assertEquals(images / seconds, j.get("images_per_s").getAsDouble(), 0.05 * images / seconds);
        assertEquals(bestEpoch, j.get("best_epoch").getAsInt());
        assertEquals(bestAcc, j.get("best_val_acc").getAsDouble(), 1e-5);
        assertTrue(j.get("wall_seconds").getAsDouble() >= seconds, "wall time covers the epochs: " + j);
        assertEquals(testAccuracyPercent, 100 * j.getAsJsonObject("test").get("accuracy").getAsDouble(), 0.01, "test accuracy = report.txt's");
        var inv = j.getAsJsonArray("invocations");
        assertEquals(1, inv.size(), j.toString());
        assertEquals("[1,2]", inv.get(0).getAsJsonObject().get("epochs").toString());
        assertEquals("finished", inv.get(0).getAsJsonObject().get("status").getAsString());
        // pulmo table: the paper's row from test/metrics.json, and how it was trained from run.json beside it
        Run t = pulmo("table", "--row", "R18=" + out.resolve("test"));
        assertEquals(0, t.code(), t.err());
        String row = t.out().lines().filter(l -> l.startsWith("| R18 | 2 of 2 |")).findFirst().orElseThrow(() -> new AssertionError(t.out()));
        String[] cells = row.split("\\|");
        assertEquals(Integer.toString(bestEpoch), cells[3].trim(), row);
        assertEquals("5", cells[4].trim(), row);
        assertTrue(cells[5].trim().matches("0:00:\\d\\d"), "wall time h:mm:ss: " + row);
        assertEquals(String.format(java.util.Locale.ROOT, "%.1f", j.get("images_per_s").getAsDouble()), cells[6].trim(), row);
        assertEquals("n/a", cells[7].trim(), "no device memory on the CPU: " + row);
        assertTrue(cells[8].trim().startsWith("CpuBackend["), row);
        // the run's folder instead of its test/ (before: an internal error on the per-epoch metrics.json, exit 1)
        Run wrong = pulmo("table", "--row", "R18=" + out);
        assertEquals(2, wrong.code(), wrong.out() + wrong.err());
        assertTrue(wrong.err().contains("did you mean " + out.resolve("test") + ", the run's test report?"), wrong.err());
        // without its test/ report (--no-evaluate): said what the folder is and what to do, not the file's JSON quoted
        Path noReport = out.resolveSibling("no-report");
        for (String f : List.of("metrics.json", "metrics.csv", "run.json", "best.safetensors")) Files.copy(out.resolve(f), Files.createDirectories(noReport).resolve(f));
        Run bare = pulmo("table", "--row", "R18=" + noReport);
        assertEquals(2, bare.code(), bare.out() + bare.err());
        assertTrue(bare.err().contains("is a training run's folder") && bare.err().contains("--data demo") && !bare.err().contains("\"epoch\""), bare.err());
        String commit = j.getAsJsonObject("pulmo").get("commit").getAsString();
        assertFalse(commit.isBlank());
        Run version = pulmo("--version");   // the same build, named the same way
        assertEquals(0, version.code(), version.err());
        assertTrue(version.out().startsWith("Pulmo " + j.getAsJsonObject("pulmo").get("version").getAsString() + ", commit " + commit), version.out());
        for (String sub : List.of("train", "evaluate", "table")) {   // each command's -V too (it printed nothing)
            Run v = pulmo(sub, "-V");
            assertEquals(0, v.code(), v.err());
            assertEquals(version.out(), v.out(), sub);
        }
    }

    /**
     * run.json and metrics.csv of a run on cuda: the backend named, and each epoch's device peak at least what the weights
     * and their momentum buffers hold throughout (the parameter count printed at the start, 4 bytes each, twice), the
     * record's peak the most of the epochs'.
     */
    static void checkDeviceMemoryRecorded(Path run, String printed) throws java.io.IOException {
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("\\(([0-9,]+) parameters\\)").matcher(printed);
        assertTrue(m.find(), "no parameter count in\n" + printed);
        double floorMib = 2.0 * 4 * Long.parseLong(m.group(1).replace(",", "")) / (1 << 20);
        JsonObject j = runRecord(run);
        assertTrue(j.getAsJsonObject("device").get("backend").getAsString().startsWith("CudaBackend["), j.toString());
        List<String> csv = Files.readAllLines(run.resolve("metrics.csv"));
        int col = List.of(csv.getFirst().split(",")).indexOf("device_peak_mib");
        // the bytes in use after each epoch, as printed: the training state, less than the epoch's peak by the activations
        java.util.regex.Matcher inUse = java.util.regex.Pattern.compile("memory after epoch (\\d+): in use [^(]*\\((\\d+) B\\)").matcher(printed);
        java.util.Map<Integer, Long> after = new java.util.HashMap<>();
        while (inUse.find()) after.put(Integer.parseInt(inUse.group(1)), Long.parseLong(inUse.group(2)));
        double most = 0;
        for (String row : csv.subList(1, csv.size())) {
            String[] f = row.split(",", -1);
            double peak = Double.parseDouble(f[col]);
            assertTrue(peak >= floorMib, "device peak " + peak + " MiB below the weights and momentum's " + floorMib + " MiB: " + row);
            Long held = after.get(Integer.parseInt(f[0]));
            assertNotNull(held, "no memory line for epoch " + f[0] + " in\n" + printed);
            assertTrue(peak * (1 << 20) > held, "the epoch's peak " + peak + " MiB is not above what stays in use after it, " + held + " B: " + row);
            most = Math.max(most, peak);
        }
        assertEquals(most, j.get("device_peak_mib").getAsDouble(), 0.06, j.toString());
        assertTrue(printed.contains(String.format(java.util.Locale.ROOT, ", device peak %.2f GiB)", j.get("device_peak_mib").getAsDouble() / 1024)),
            "the last line names the device peak: " + printed);
        assertTrue(j.get("device_held_mib").getAsDouble() > 0, j.toString());
    }

    /**
     * {@code pulmo plot RUN}: the plots drawn again from metrics.csv and test/predictions.csv, the predictions read back
     * as evaluate wrote them (the report's numbers again from them), and bad files refused naming the line.
     */
    private static void checkPlotRedrawsFromFiles(Path out) throws Exception {
        List<String> pngs = List.of("loss.png", "accuracy.png", "test/roc.png", "test/confusion_matrix.png");
        for (String f : pngs) Files.delete(out.resolve(f));
        Run p = pulmo("plot", out.toString());
        assertEquals(0, p.code(), p.out() + p.err());
        for (String f : pngs)
            assertArrayEquals(new byte[] {(byte) 0x89, 'P', 'N', 'G'}, java.util.Arrays.copyOf(Files.readAllBytes(out.resolve(f)), 4), f);
        assertTrue(p.out().contains("loss.png, accuracy.png, test/roc.png, test/confusion_matrix.png"), p.out());
        // what the ROC and confusion plots are drawn from: the evaluation's own numbers (at 5 decimals an untrained
        // model's near-equal probabilities tied, and the AUC came out 0.37 instead of 0.28)
        var pred = PlotCommand.predictions(out.resolve("test/predictions.csv"));
        JsonObject m = JsonParser.parseString(Files.readString(out.resolve("test/metrics.json"))).getAsJsonObject();
        var again = new org.pulmo.metrics.ClassificationReport(pred).values();
        assertEquals(m.get("accuracy").getAsDouble(), again.get("accuracy"), 1e-9);
        assertEquals(m.get("macro_auc").getAsDouble(), again.get("macro_auc"), 1e-5, "AUC from the written probabilities");
        assertEquals(m.get("macro_f1").getAsDouble(), again.get("macro_f1"), 1e-9);

        Path bad = out.resolveSibling("bad-predictions");
        Files.createDirectories(bad);
        List<String> lines = new ArrayList<>(Files.readAllLines(out.resolve("test/predictions.csv")));
        lines.set(2, lines.get(2).replaceFirst(",[0-9.]+$", ",high"));
        Files.write(bad.resolve("predictions.csv"), lines);
        Run b = pulmo("plot", bad.toString());
        assertEquals(2, b.code(), b.out() + b.err());
        assertTrue(b.err().contains("predictions.csv line 3") && b.err().contains("'high', not a number"), b.err());
        Run none = pulmo("plot", out.resolveSibling("bad-predictions").resolve("..").resolve("no-such").toString());
        assertEquals(2, none.code(), none.err());
        assertTrue(none.err().contains("is not a folder"), none.err());
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
        JsonObject first = runRecord(resumed);
        assertEquals("finished", first.get("status").getAsString());
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
        // run.json: one record of the whole run, with both invocations and their times
        JsonObject j = runRecord(resumed);
        assertEquals("finished", j.get("status").getAsString());
        assertEquals(first.get("started"), j.get("started"), "the run started with the first invocation");
        assertEquals(2, j.get("epochs_done").getAsInt());
        assertEquals(2, j.get("epochs_planned").getAsInt());
        var inv = j.getAsJsonArray("invocations");
        assertEquals(2, inv.size(), j.toString());
        assertEquals("[1,1]", inv.get(0).getAsJsonObject().get("epochs").toString());
        assertEquals("[2,2]", inv.get(1).getAsJsonObject().get("epochs").toString());
        assertTrue(inv.get(1).getAsJsonObject().get("command").getAsString().contains("--resume"), j.toString());
        assertTrue(j.getAsJsonObject("settings").get("cuda_graphs").getAsBoolean(), "the latest invocation's settings: " + j);
        assertFalse(j.get("steps_recorded").getAsBoolean(), "asked for, but the CPU records nothing: " + j);
        assertTrue(j.get("steps_not_recorded_because").getAsString().contains("cpu backend"), j.toString());
        assertFalse(first.has("steps_recorded"), "not asked for, not said: " + first);
        assertEquals(inv.get(0).getAsJsonObject().get("wall_seconds").getAsDouble() + inv.get(1).getAsJsonObject().get("wall_seconds").getAsDouble(),
            j.get("wall_seconds").getAsDouble(), 0.11, "wall time of the run = its invocations'");
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

    /** An empty path would be the current folder: a run written among its files, the next one beside it. Refused at parse time. */
    @Test void emptyPathsAreRefusedNotTakenForTheCurrentFolder() {
        String[][] lines = {{"train", "--out", ""}, {"train", "--data", " "}, {"evaluate", "-c", "", "--data", "demo"},
            {"predict", "-c", "", "x.png"}, {"explain", "-c", "x.safetensors", ""}, {"table", "--row", "a=b", "--out", ""}};
        for (String[] line : lines) {
            Run r = pulmo(line);
            assertEquals(2, r.code(), List.of(line) + ": " + r.out() + r.err());
            assertTrue(r.err().contains("an empty"), List.of(line) + ": " + r.err());
            assertEquals(1, r.err().strip().lines().count(), List.of(line) + ": " + r.err());
        }
    }

    @Test void resumeWithoutACheckpointIsAClearError(@TempDir Path dir) {
        Run r = pulmo(tinyTrain(dir.resolve("empty"), "--epochs", "1", "--resume"));
        assertEquals(2, r.code(), r.out() + r.err());
        assertTrue(r.err().contains("no checkpoint"), r.err());
    }

    @Test void divergingLossStopsWithAClearMessage(@TempDir Path dir) throws Exception {
        Run r = pulmo(tinyTrain(dir.resolve("nan"), "--epochs", "3", "--lr", "1e30", "--no-evaluate"));
        assertEquals(3, r.code(), r.out() + r.err());
        assertTrue(r.err().contains("the loss became"), r.err());
        JsonObject j = runRecord(dir.resolve("nan"));
        assertEquals("diverged", j.get("status").getAsString());
        assertTrue(j.get("message").getAsString().contains("the loss became"), j.toString());
        assertEquals(0, j.get("epochs_done").getAsInt(), "no epoch finished: " + j);
    }

    /**
     * Divergence in epoch 2 (the learning rate times 1e30 after epoch 1): the message names epoch 1's checkpoint, which
     * may still have been being written when the NaN was read, as there; the record says diverged after one epoch.
     */
    @Test void divergingAfterAnEpochNamesItsCheckpoint(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("late-nan");
        Run r;
        System.setProperty("pulmo.checkpoint.writeDelayMs", "3000");   // epoch 1's files still being written when the NaN is read
        try {
            r = pulmo(tinyTrain(out, "--epochs", "3", "--schedule", "step:1:1e30", "--no-evaluate"));
        } finally {
            System.clearProperty("pulmo.checkpoint.writeDelayMs");
        }
        assertEquals(3, r.code(), r.out() + r.err());
        assertTrue(r.err().contains("at epoch 2") && r.err().contains("The last good checkpoint is " + out.resolve("last.safetensors")), r.err());
        assertFalse(r.err().contains("No epoch had finished"), r.err());
        assertEquals("1", Safetensors.read(out.resolve("last.safetensors")).metadata().get("epoch"));
        JsonObject j = runRecord(out);
        assertEquals("diverged", j.get("status").getAsString());
        assertEquals(1, j.get("epochs_done").getAsInt());
    }

    /**
     * run.json claims an epoch only once its checkpoint is on disk: while epoch 1's files are being written (held
     * between last and best) the record still says no epoch is done, so a kill then leaves a record that says what
     * --resume finds. Once both are written, the record says 1.
     */
    @Test void theRecordClaimsAnEpochOnlyOnceItsCheckpointIsOnDisk(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("held-write");
        var between = new java.util.concurrent.CountDownLatch(1);
        var release = new java.util.concurrent.CountDownLatch(1);
        org.pulmo.io.CheckpointForTests.betweenLastAndBest(() -> {
            between.countDown();
            try {
                release.await(120, java.util.concurrent.TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        var training = java.util.concurrent.CompletableFuture.supplyAsync(() -> pulmo(tinyTrain(out, "--epochs", "1", "--no-evaluate")));
        try {
            assertTrue(between.await(120, java.util.concurrent.TimeUnit.SECONDS), "epoch 1's checkpoint was never written");
            Thread.sleep(500);   // time for a record written as soon as the checkpoint was handed to the writer to reach the disk
            assertTrue(Files.exists(out.resolve("last.safetensors")) && !Files.exists(out.resolve("best.safetensors")));
            assertEquals(0, runRecord(out).get("epochs_done").getAsInt(), "run.json claims an epoch whose checkpoint is not all on disk");
        } finally {
            release.countDown();
            Run r = training.get();
            org.pulmo.io.CheckpointForTests.reset();
            assertEquals(0, r.code(), r.out() + r.err());
        }
        assertEquals(1, runRecord(out).get("epochs_done").getAsInt());
        assertEquals("finished", runRecord(out).get("status").getAsString());
    }

    @Test void summaryPrintsTheParameterCount() {
        Run r = pulmo("summary", "resnet18", "--classes", "4", "--image-size", "32");
        assertEquals(0, r.code(), r.err());
        assertTrue(r.out().contains("Total parameters: 11178564"), r.out());
    }
}
