package org.pulmo.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pulmo.autograd.GradMode;
import org.pulmo.data.Augmentation;
import org.pulmo.data.Dataset;
import org.pulmo.data.Image;
import org.pulmo.io.Safetensors;
import org.pulmo.nn.Linear;
import org.pulmo.nn.Module;
import org.pulmo.tensor.Device;
import org.pulmo.tensor.Rng;
import org.pulmo.tensor.Tensor;

/**
 * Which epoch is best, and what --resume keeps of it, with validation accuracies chosen by the test: the model's
 * evaluation-mode forward follows a script (one entry per validation pass: right = every validation image predicted
 * as its class 0, wrong = as class 1), while in training mode it is a trainable linear layer whose bias makes it
 * predict class 1. Real training cannot be made to give equal or falling validation accuracies on purpose; this can.
 */
class TrainerBestAndResumeTest {

    /** Pooled [N, 3] -> linear [N, 2] in training mode; scripted logits in evaluation mode. */
    static final class Scripted extends Module {
        final Linear fc = registerModule("fc", new Linear(3, 2, true, new Rng(1)));
        final Deque<Boolean> script;

        Scripted(Boolean... rightPerValidation) {
            script = new ArrayDeque<>(List.of(rightPerValidation));
            try (var ignored = GradMode.noGrad()) { fc.bias.copyFrom(Tensor.of(new float[] {0, 20}, 2)); } // training mode: class 1
        }

        @Override public Tensor forward(Tensor x) {
            int n = x.shape()[0];
            if (isTraining()) return fc.forward(x.globalAvgPool().reshape(n, 3));
            boolean right = script.isEmpty() || script.poll();   // one entry per validation pass (4 images: one batch)
            float[] l = new float[2 * n];
            for (int i = 0; i < n; i++) l[2 * i + (right ? 0 : 1)] = 5;
            return Tensor.of(l, n, 2);
        }
    }

    /** {@code labels.length} 3 x 8 x 8 images, image i filled with (i + 1) / 10 in channel i mod 3. */
    record Tiny(int[] labels) implements Dataset {
        @Override public List<String> classes() { return List.of("a", "b"); }
        @Override public int size() { return labels.length; }
        @Override public int label(int index) { return labels[index]; }
        @Override public Image image(int index) {
            float[] px = new float[3 * 8 * 8];
            for (int p = 0; p < 64; p++) px[(index % 3) * 64 + p] = (index + 1) / 10f;
            return new Image(3, 8, 8, px);
        }
        @Override public String source(int index) { return "tiny " + index; }
    }

    private static Trainer.Result train(Path dir, int epochs, boolean resume, String schedule, Boolean... script) throws IOException {
        return train(dir, epochs, resume, schedule, new Scripted(script), new ByteArrayOutputStream());
    }

    private static Trainer.Result train(Path dir, int epochs, boolean resume, String schedule, Module model, ByteArrayOutputStream log)
            throws IOException {
        Trainer.Settings s = new Trainer.Settings("scripted", List.of("a", "b"), epochs, 4, 0.001f, 0.9f, 0f, schedule, 8,
            Augmentation.NONE, 7, dir, resume, 1, false, null, Device.CPU, null);
        Dataset train = new Tiny(new int[] {0, 1, 0, 1, 0, 1, 0, 1}), val = new Tiny(new int[] {0, 0, 0, 0});
        return new Trainer(s, model, train, val, new PrintStream(log, true, StandardCharsets.UTF_8), false).run();
    }

    /** Pooled [N, 3] -> dropout -> linear [N, 2]: a model whose training draws random masks. */
    static final class Dropped extends Module {
        final org.pulmo.nn.Dropout drop = registerModule("drop", new org.pulmo.nn.Dropout(0.5f, new Rng(3)));
        final Linear fc = registerModule("fc", new Linear(3, 2, true, new Rng(1)));
        @Override public Tensor forward(Tensor x) { return fc.forward(drop.forward(x.globalAvgPool().reshape(x.shape()[0], 3))); }
    }

    /**
     * Resuming a model with dropout gives the weights of the unbroken run, bit for bit: the checkpoint holds the
     * dropout generator's state (before, a resumed run drew epoch 1's masks again).
     */
    @Test void resumeWithDropoutRepeatsTheUnbrokenRun(@TempDir Path dir) throws IOException {
        Path straight = dir.resolve("straight"), resumed = dir.resolve("resumed");
        train(straight, 3, false, "step", new Dropped(), new ByteArrayOutputStream());
        train(resumed, 1, false, "step", new Dropped(), new ByteArrayOutputStream());
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        train(resumed, 3, true, "step", new Dropped(), log);
        org.junit.jupiter.api.Assertions.assertFalse(log.toString(StandardCharsets.UTF_8).contains("dropout"), log.toString(StandardCharsets.UTF_8));
        Map<String, Tensor> wa = Safetensors.read(straight.resolve(Trainer.LAST)).tensors(), wb = Safetensors.read(resumed.resolve(Trainer.LAST)).tensors();
        assertEquals(wa.keySet(), wb.keySet());
        for (String k : wa.keySet()) assertArrayEquals(wa.get(k).toArray(), wb.get(k).toArray(), k + " differs after resume");
        assertEquals(List.of("dropout.drop"), List.copyOf(org.pulmo.nn.Dropout.generators(new Dropped()).keySet()));
    }

    /** Each epoch's line says how long the rest of the run will take, from this invocation's epochs; the last says nothing. */
    @Test void epochLinesTellTheTimeLeft(@TempDir Path dir) throws IOException {
        for (boolean resume : new boolean[] {false, true}) {
            Trainer.Settings s = new Trainer.Settings("scripted", List.of("a", "b"), resume ? 5 : 3, 4, 0.001f, 0.9f, 0f, "constant", 8,
                Augmentation.NONE, 7, dir, resume, 1, false, null, Device.CPU, null);
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            new Trainer(s, new Scripted(), new Tiny(new int[] {0, 1, 0, 1, 0, 1, 0, 1}), new Tiny(new int[] {0, 0, 0, 0}),
                new PrintStream(bytes, true, StandardCharsets.UTF_8), false).run();
            List<String> epochs = bytes.toString(StandardCharsets.UTF_8).lines().filter(l -> l.startsWith("epoch ")).toList();
            assertEquals(resume ? 2 : 3, epochs.size(), epochs.toString());   // resumed: epochs 4 and 5
            for (int i = 0; i < epochs.size(); i++) {
                boolean last = i == epochs.size() - 1;
                assertEquals(!last, epochs.get(i).matches(".* \\| about \\d+:\\d\\d:\\d\\d left$"), epochs.get(i));
            }
        }
    }

    private static String meta(Path dir, String file, String key) throws IOException {
        return Safetensors.read(dir.resolve(file)).metadata().get(key);
    }

    /** Equal validation accuracy later is no improvement: best stays the first epoch that reached it. */
    @Test void aTieKeepsTheEarlierBestEpoch(@TempDir Path dir) throws IOException {
        Trainer.Result r = train(dir, 2, false, "constant", true, true);
        assertEquals(1.0, r.history().rows().get(0).valAcc(), 1e-12, "validation runs in evaluation mode");
        assertEquals(1.0, r.history().rows().get(1).valAcc(), 1e-12);
        assertEquals(1, r.bestEpoch());
        assertEquals("1", meta(dir, Trainer.LAST, "best_epoch"));
        assertEquals("1", meta(dir, Trainer.BEST, "epoch"), "best.safetensors holds epoch 1");
    }

    /** Validation is in evaluation mode: in training mode this model predicts class 1 for every image (accuracy 0). */
    @Test void validationUsesEvaluationMode(@TempDir Path dir) throws IOException {
        Trainer.Result r = train(dir, 1, false, "constant", true);
        assertEquals(1.0, r.history().rows().getFirst().valAcc(), 1e-12);
        assertEquals(1.0, r.bestValAcc(), 1e-12);
    }

    /** --resume continues with the best so far: a worse epoch after resuming does not become the best. */
    @Test void resumeRemembersTheBestValidationAccuracy(@TempDir Path dir) throws IOException {
        train(dir, 1, false, "constant", true);                       // epoch 1: accuracy 1
        Trainer.Result r = train(dir, 2, true, "constant", false);    // epoch 2 (resumed): accuracy 0
        assertEquals(0.0, r.history().rows().get(1).valAcc(), 1e-12);
        assertEquals(1, r.bestEpoch());
        assertEquals(1.0, r.bestValAcc(), 1e-12);
        assertEquals("1", meta(dir, Trainer.LAST, "best_epoch"));
        assertEquals("1", meta(dir, Trainer.BEST, "epoch"), "best.safetensors still holds epoch 1");
    }

    /** The test report of the best checkpoint stays true until a resumed epoch replaces that checkpoint, and then goes. */
    @Test void aResumedRunDropsTheTestReportOnlyWhenTheBestCheckpointChanges(@TempDir Path dir) throws IOException {
        train(dir, 1, false, "constant", true);                        // epoch 1: accuracy 1, the best
        java.nio.file.Files.createDirectories(dir.resolve("test"));
        java.nio.file.Files.writeString(dir.resolve("test/report.txt"), "the report of epoch 1");
        train(dir, 2, true, "constant", false);                        // epoch 2: accuracy 0, best unchanged
        assertEquals("the report of epoch 1", java.nio.file.Files.readString(dir.resolve("test/report.txt")), "still true of best.safetensors");

        Path other = dir.resolve("other");
        train(other, 1, false, "constant", false);                     // epoch 1: accuracy 0
        java.nio.file.Files.createDirectories(other.resolve("test"));
        java.nio.file.Files.writeString(other.resolve("test/report.txt"), "the report of epoch 1");
        train(other, 2, true, "constant", true);                       // epoch 2: accuracy 1, a new best
        assertEquals("2", meta(other, Trainer.BEST, "epoch"));
        org.junit.jupiter.api.Assertions.assertFalse(java.nio.file.Files.exists(other.resolve("test")), "the report of the replaced best is gone");

        // a file of the user's beside the report (a table written there) stays, the report's files go
        Path third = dir.resolve("third");
        train(third, 1, false, "constant", false);
        java.nio.file.Files.createDirectories(third.resolve("test"));
        java.nio.file.Files.writeString(third.resolve("test/report.txt"), "the report of epoch 1");
        java.nio.file.Files.writeString(third.resolve("test/table.md"), "the user's table");
        train(third, 2, true, "constant", true);
        org.junit.jupiter.api.Assertions.assertFalse(java.nio.file.Files.exists(third.resolve("test/report.txt")), "the stale report is gone");
        assertEquals("the user's table", java.nio.file.Files.readString(third.resolve("test/table.md")));
    }

    /** A metrics.csv that is not text is kept aside, named, and the resumed run goes on (it cannot recover those rows). */
    @Test void aMetricsFileThatIsNotTextDoesNotStopAResume(@TempDir Path dir) throws IOException {
        train(dir, 1, false, "constant", true);
        java.nio.file.Files.write(dir.resolve("metrics.csv"), new byte[] {(byte) 0xff, (byte) 0xfe, 0x41});
        Trainer.Result r = train(dir, 2, true, "constant", true);
        assertEquals(2, r.epochsDone());
        org.junit.jupiter.api.Assertions.assertArrayEquals(new byte[] {(byte) 0xff, (byte) 0xfe, 0x41},
            java.nio.file.Files.readAllBytes(dir.resolve("metrics.csv.unreadable")));
        assertEquals(2, java.nio.file.Files.readAllLines(dir.resolve("metrics.csv")).size(), "header and epoch 2");
    }

    /**
     * An epoch's row is written before its checkpoint: when the row cannot be written (a full disk), no checkpoint of that
     * epoch exists either, and --resume trains it again, instead of a checkpoint whose row is lost for good.
     */
    @Test void aMetricsFileThatCannotBeWrittenLeavesNoCheckpointOfItsEpoch(@TempDir Path dir) throws IOException {
        java.nio.file.Files.createDirectories(dir.resolve("metrics.csv").resolve("in-the-way"));   // the write's rename fails
        org.junit.jupiter.api.Assertions.assertThrows(IOException.class, () -> train(dir, 1, false, "constant", true));
        org.junit.jupiter.api.Assertions.assertFalse(java.nio.file.Files.exists(dir.resolve(Trainer.LAST)), "a checkpoint without its row");
    }

    /** A resumed run takes up the schedule where it was: epoch 2 of step:1:0.5 has half the rate, as in a straight run. */
    @Test void resumeFollowsTheLearningRateSchedule(@TempDir Path dir) throws IOException {
        Path straight = dir.resolve("straight"), resumed = dir.resolve("resumed");
        Trainer.Result a = train(straight, 2, false, "step:1:0.5", true, true);
        train(resumed, 1, false, "step:1:0.5", true);
        Trainer.Result b = train(resumed, 2, true, "step:1:0.5", true);
        assertEquals(0.0005, a.history().rows().get(1).lr(), 1e-9);
        assertEquals(0.0005, b.history().rows().get(1).lr(), 1e-9, "the resumed epoch 2's learning rate");
        Map<String, Tensor> wa = Safetensors.read(straight.resolve(Trainer.LAST)).tensors(), wb = Safetensors.read(resumed.resolve(Trainer.LAST)).tensors();
        assertEquals(wa.keySet(), wb.keySet());
        for (String k : wa.keySet()) assertArrayEquals(wa.get(k).toArray(), wb.get(k).toArray(), k + " differs after resume");
    }
}
