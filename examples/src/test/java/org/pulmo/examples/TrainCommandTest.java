package org.pulmo.examples;

import static org.junit.jupiter.api.Assertions.*;
import static org.pulmo.examples.CliEndToEndTest.pulmo;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pulmo.data.DemoChestDataset;
import org.pulmo.examples.CliEndToEndTest.Run;
import org.pulmo.testing.TestFiles;

/**
 * {@code pulmo train} refuses what cannot give a useful run, before any training, with one line naming the
 * option, value or file at fault; it never overwrites a finished run; {@code --resume} refuses a run that
 * differs from the checkpoint's; MA-Net's loss parts reach the metrics. Tiny ResNet-18 at 32 x 32 on 8 or 32
 * demo images, so that the trainings here take seconds.
 */
class TrainCommandTest {

    /** A 2-epoch run for the --resume cases (none of them changes it). */
    @TempDir static Path shared;
    static Path finished;

    @BeforeAll static void trainOnce() {
        finished = shared.resolve("finished");
        Run r = pulmo(train(finished, "--epochs", "2", "--no-evaluate"));
        assertEquals(0, r.code(), r.out() + r.err());
    }

    /** Exit code 2, a single line on stderr that contains every one of {@code parts}, and no checkpoint written. */
    static void refused(Run r, Path out, String... parts) {
        assertEquals(2, r.code(), r.out() + r.err());
        String err = r.err().strip();
        assertFalse(err.contains("\n"), "one line, got:\n" + err);
        assertTrue(err.length() < 400, "a short line, got " + err.length() + " characters");
        for (String p : parts) assertTrue(err.contains(p), "'" + p + "' missing from: " + err);
        assertFalse(r.out().contains("epoch 1/"), "refused only after training began:\n" + r.out());
        if (out != null) assertFalse(Files.exists(out.resolve("last.safetensors")), "a checkpoint was written");
    }

    // ---- 1. the output folder

    @Test void anExistingRunIsNeverOverwrittenTheNextFreeFolderIsUsed(@TempDir Path dir) throws IOException {
        Path out = dir.resolve("train"), test = out.resolve("test");
        Files.createDirectories(test);
        Files.writeString(out.resolve("last.safetensors"), "an earlier run");
        Files.writeString(out.resolve("metrics.csv"), "an earlier run");
        Files.writeString(test.resolve("report.txt"), "an earlier report");
        Files.createDirectories(dir.resolve("train2"));
        Files.writeString(dir.resolve("train2").resolve("metrics.json"), "[]");   // train2 holds a run too: train3
        Run r = pulmo(train(out, "--epochs", "1", "--demo-images", "8", "--batch-size", "4", "--no-evaluate"));
        assertEquals(0, r.code(), r.out() + r.err());
        assertEquals("an earlier run", Files.readString(out.resolve("last.safetensors")));
        assertEquals("an earlier run", Files.readString(out.resolve("metrics.csv")));
        assertEquals("an earlier report", Files.readString(test.resolve("report.txt")));
        assertEquals("[]", Files.readString(dir.resolve("train2").resolve("metrics.json")));
        Path train3 = dir.resolve("train3");
        assertTrue(Files.size(train3.resolve("last.safetensors")) > 100, r.out());
        assertTrue(r.out().contains(out + " holds an earlier run, so this one goes to " + train3), r.out());
        assertTrue(r.out().contains("Files in " + train3), r.out());
    }

    /**
     * The same command writes the same checkpoint bytes: the data record's keys come in a fixed (sorted) order, where
     * they came in the order of the JVM's hash salt before, so that two identical runs' files differed at byte 395.
     */
    @Test void theDataRecordInACheckpointComesInAFixedOrder(@TempDir Path dir) throws IOException {
        Path out = dir.resolve("train");
        Run r = pulmo(train(out, "--epochs", "1", "--demo-images", "8", "--batch-size", "4", "--no-evaluate"));
        assertEquals(0, r.code(), r.out() + r.err());
        List<String> keys = List.copyOf(org.pulmo.io.Safetensors.readMetadata(out.resolve("last.safetensors")).keySet());
        List<String> record = keys.stream().filter(k -> k.startsWith("data_") || k.startsWith("split_") || k.endsWith("_fraction")).toList();
        assertTrue(record.size() >= 3, keys.toString());
        assertEquals(record.stream().sorted().toList(), record, "in the file's order: " + keys);
    }

    @Test void overwriteRemovesTheOldRunsFilesFirst(@TempDir Path dir) throws IOException {
        Path out = dir.resolve("run");
        Files.createDirectories(out.resolve("test"));
        Files.writeString(out.resolve("test").resolve("report.txt"), "an earlier report");
        Files.writeString(out.resolve("interrupted.safetensors"), "an earlier run");
        Files.writeString(out.resolve("notes.txt"), "the user's own file");
        // a file of the user's inside test/ would go with it: refused, nothing removed
        Files.writeString(out.resolve("test").resolve("table.md"), "a table written there");
        Run kept = pulmo(train(out, "--epochs", "1", "--demo-images", "8", "--batch-size", "4", "--no-evaluate", "--overwrite"));
        assertEquals(2, kept.code(), kept.out() + kept.err());
        assertTrue(kept.err().contains("holds files besides the run's test report (table.md)"), kept.err());
        assertEquals("a table written there", Files.readString(out.resolve("test").resolve("table.md")));
        assertTrue(Files.exists(out.resolve("interrupted.safetensors")));
        Files.delete(out.resolve("test").resolve("table.md"));
        // an evaluation numbered past the run's test/ report (evaluate --out RUN/test of another checkpoint) is kept, and said
        Files.createDirectories(out.resolve("test2"));
        Files.writeString(out.resolve("test2").resolve("report.txt"), "another checkpoint's report");
        Run r = pulmo(train(out, "--epochs", "1", "--demo-images", "8", "--batch-size", "4", "--no-evaluate", "--overwrite"));
        assertEquals(0, r.code(), r.out() + r.err());
        assertEquals("another checkpoint's report", Files.readString(out.resolve("test2").resolve("report.txt")));
        assertTrue(r.out().contains("--overwrite: keeping test2 in " + out), r.out());
        assertFalse(Files.exists(out.resolve("test")), "the old test/ report was left beside the new run");
        assertFalse(Files.exists(out.resolve("interrupted.safetensors")));
        assertTrue(Files.size(out.resolve("last.safetensors")) > 100);
        assertEquals("the user's own file", Files.readString(out.resolve("notes.txt")));
    }

    @Test void anEmptyExistingFolderIsUsedAsItIs(@TempDir Path dir) throws IOException {
        Path out = Files.createDirectories(dir.resolve("empty"));
        Run r = pulmo(train(out, "--epochs", "1", "--demo-images", "8", "--batch-size", "4", "--no-evaluate"));
        assertEquals(0, r.code(), r.out() + r.err());
        assertTrue(Files.exists(out.resolve("last.safetensors")));
        assertFalse(Files.exists(dir.resolve("empty2")));
    }

    @Test void outNamingAFileIsRefused(@TempDir Path dir) throws IOException {
        Path file = Files.writeString(dir.resolve("results.txt"), "not a folder");
        refused(pulmo(train(file, "--epochs", "1")), null, "--out", "results.txt", "is a file");
        assertEquals("not a folder", Files.readString(file));
    }

    @Test void resumeAndOverwriteTogetherAreRefused(@TempDir Path dir) {
        refused(pulmo(train(dir.resolve("o"), "--epochs", "1", "--resume", "--overwrite")), dir.resolve("o"), "--resume", "--overwrite");
    }

    // ---- 2. runs that would learn nothing

    @Test void numbersThatCannotTrainAreRefusedWithTheOptionAndValue(@TempDir Path dir) {
        Path o = dir.resolve("o");
        refused(pulmo(train(o, "--epochs", "0")), o, "--epochs must be at least 1, got 0");
        refused(pulmo(train(o, "--epochs", "-1")), o, "--epochs must be at least 1, got -1");
        refused(pulmo(train(o, "--epochs", "1", "--batch-size", "0")), o, "--batch-size must be at least 1, got 0");
        refused(pulmo(train(o, "--epochs", "1", "--lr", "-0.1")), o, "--lr must be a positive number, got -0.1");
        refused(pulmo(train(o, "--epochs", "1", "--lr", "0")), o, "--lr must be a positive number, got 0.0");
        refused(pulmo(train(o, "--epochs", "1", "--momentum", "1")), o, "--momentum must be in [0, 1), got 1.0");
        refused(pulmo(train(o, "--epochs", "1", "--momentum", "-0.5")), o, "--momentum must be in [0, 1), got -0.5");
        refused(pulmo(train(o, "--epochs", "1", "--weight-decay", "-1e-4")), o, "--weight-decay must be 0 or more");
        refused(pulmo(train(o, "--epochs", "1", "--image-size", "16")), o, "--image-size 16 is too small for resnet18", "at least 32");
        refused(pulmo(train(o, "--epochs", "1", "--workers", "-2")), o, "--workers", "-2");
        refused(pulmo(train(o, "--epochs", "1", "--workers", "100000")), o, "--workers", "100000");
        assertFalse(Files.exists(o), "the output folder was made for a refused run");
    }

    @Test void fewerTrainingImagesThanTheBatchSizeAreRefused(@TempDir Path dir) {
        Path o = dir.resolve("o");
        refused(pulmo(train(o, "--epochs", "1", "--demo-images", "8", "--batch-size", "16")), o,
            "8 training images but batch size 16: no full batch, so no optimiser step; use --batch-size 8 or fewer, or more images");
    }

    @Test void aTrainingPartWithOneClassIsRefused(@TempDir Path dir) throws IOException {
        Path data = dir.resolve("data");
        new DemoChestDataset(16, 32, 1).writeTo(data);
        for (String c : List.of("normal", "bacterial", "viral")) TestFiles.deleteTree(data.resolve(c));
        Path o = dir.resolve("o");
        refused(pulmo("train", "--model", "resnet18", "--data", data.toString(), "--image-size", "32", "--batch-size", "2",
            "--epochs", "1", "--out", o.toString()), o, "the training images hold only one class (covid19): a classifier needs at least two");
    }

    /**
     * A class whose files are none of them images is refused in one line, without the warning about validation classes
     * before it (before: "no validation image of class 'viral'", then the refusal).
     */
    @Test void aClassOfNoImagesIsRefusedWithoutAWarningFirst(@TempDir Path dir) throws IOException {
        Path data = dir.resolve("data");
        ClassNamesCliTest.classes(data, List.of("a"), 8);
        Files.createDirectories(data.resolve("b"));
        Files.writeString(data.resolve("b").resolve("note.png"), "not an image");
        Path o = dir.resolve("o");
        refused(pulmo("train", "--model", "resnet18", "--data", data.toString(), "--image-size", "32", "--batch-size", "2",
            "--epochs", "1", "--out", o.toString()), o, "'b' has 1 file(s), none of them an image");
    }

    /** --strict reads every training and validation image first: an unreadable one stops the run before its first step. */
    @Test void strictStopsOnAnUnreadableImageBeforeTraining(@TempDir Path dir) throws IOException {
        Path data = dir.resolve("data");
        new DemoChestDataset(16, 32, 1).writeTo(data);
        Files.writeString(data.resolve("viral").resolve("zz-notes.png"), "not an image");
        Path o = dir.resolve("o");
        Run r = pulmo("train", "--model", "resnet18", "--data", data.toString(), "--image-size", "32", "--batch-size", "2",
            "--epochs", "1", "--strict", "--out", o.toString());
        assertEquals(2, r.code(), r.out() + r.err());
        String last = r.err().strip().lines().toList().getLast();   // after the data's own warnings (this tiny split's validation classes)
        for (String part : new String[] {"pulmo train: --strict: 1 unreadable image(s)", "zz-notes.png: not an image", "nothing was trained"})
            assertTrue(last.contains(part), part + " in " + r.err());
        assertFalse(r.out().contains("epoch 1/"), "refused only after training began:\n" + r.out());
        assertFalse(Files.exists(o.resolve("last.safetensors")), "a checkpoint was written");
    }

    @Test void anEmptyValidationPartIsRefused(@TempDir Path dir) throws IOException {
        Path data = dir.resolve("data");
        new DemoChestDataset(16, 32, 1).writeTo(data);
        Path o = dir.resolve("o");
        refused(pulmo("train", "--model", "resnet18", "--data", data.toString(), "--image-size", "32", "--batch-size", "2",
            "--epochs", "1", "--val-fraction", "0", "--out", o.toString()), o, "no validation images", "--val-fraction");
    }

    // ---- 3. --resume with other options

    /** An augmentation left off at --resume is the first run's, not today's default (MA-Net's changed from ma-net to resize). */
    @Test void resumeWithoutAnAugmentationTakesTheFirstRuns(@TempDir Path dir) throws IOException {
        Path out = dir.resolve("run");
        Run first = pulmo(CliEndToEndTest.tinyTrain(out, "--epochs", "1", "--augmentation", "none", "--no-evaluate"));
        assertEquals(0, first.code(), first.out() + first.err());
        Run again = pulmo(CliEndToEndTest.tinyTrain(out, "--epochs", "2", "--resume", "--no-evaluate"));
        assertEquals(0, again.code(), again.out() + again.err());
        assertTrue(again.out().contains("--resume: augmentation none, as the first run trained (today's default for resnet18 is dpn-senet)"), again.out());
        assertTrue(again.out().contains("augmentation none"), again.out());
    }

    @Test void resumeWithOtherOptionsIsRefusedInOneLine() throws IOException {
        byte[] before = Files.readAllBytes(finished.resolve("last.safetensors"));
        String tail = " (use the first run's options, or start a new run)";
        Run r = pulmo(train(finished, "--epochs", "3", "--resume", "--image-size", "64"));
        refused(r, null, "--resume: the checkpoint is resnet18 at 32 px; this run asks for 64 px" + tail);
        assertEquals("pulmo train: --resume: the checkpoint is resnet18 at 32 px; this run asks for 64 px" + tail, r.err().strip());
        refused(pulmo(train(finished, "--epochs", "3", "--resume", "--lr", "0.05")), null, "this run asks for --lr 0.05 instead of 0.02");
        refused(pulmo(train(finished, "--epochs", "3", "--resume", "--batch-size", "4")), null, "--batch-size 4 instead of 8");
        refused(pulmo(train(finished, "--epochs", "3", "--resume", "--seed", "6")), null, "--seed 6 instead of 5");
        refused(pulmo(train(finished, "--epochs", "3", "--resume", "--momentum", "0.5")), null, "--momentum 0.5 instead of 0.9");
        refused(pulmo(train(finished, "--epochs", "3", "--resume", "--weight-decay", "0")), null, "--weight-decay 0.0 instead of 1.0E-4");
        refused(pulmo(train(finished, "--epochs", "3", "--resume", "--augmentation", "none")), null, "--augmentation none instead of");
        refused(pulmo(train(finished, "--epochs", "3", "--resume", "--schedule", "cosine")), null, "--schedule cosine instead of step");
        refused(pulmo(train(finished, "--epochs", "1", "--resume")), null,
            "--resume: the checkpoint has 2 epochs done; --epochs 1 asks for fewer");
        // another model: one line, not the checkpoint's list of layer names
        refused(pulmo(train(finished, "--epochs", "3", "--resume", "--model", "resnet34")), null, "--resume: the checkpoint is resnet18 at 32 px; this run asks for resnet34" + tail);
        assertArrayEquals(before, Files.readAllBytes(finished.resolve("last.safetensors")), "a refused --resume changed the checkpoint");
    }

    @Test void resumeWithTheSameOptionsAndNothingLeftSaysSo() {
        Run r = pulmo(train(finished, "--epochs", "2", "--resume", "--no-evaluate", "--device", "cpu"));
        assertEquals(0, r.code(), r.out() + r.err());
        assertTrue(r.out().contains("all 2 epochs are done; nothing to train"), r.out());
        assertFalse(r.out().contains("epoch 3/"), r.out());
    }

    // ---- 4. MA-Net's loss parts

    @Test void maNetRecordsItsLossPartsPerEpoch(@TempDir Path dir) throws IOException {
        Path out = dir.resolve("manet");
        Run r = pulmo(train(out, "--model", "manet-resnet50", "--epochs", "1", "--demo-images", "8", "--batch-size", "4", "--no-evaluate"));
        assertEquals(0, r.code(), r.out() + r.err());
        assertTrue(r.out().contains("MA-Net on 4 classes: each image's mutex partner is drawn uniformly"), r.out());
        List<String> csv = Files.readAllLines(out.resolve("metrics.csv"));
        assertEquals("epoch,lr,train_loss,train_acc,val_loss,val_acc,images_per_s,seconds,data_wait_s,device_peak_mib,train_l_ce,train_l_cs,train_a1,train_a2", csv.get(0));
        String[] f = csv.get(1).split(",", -1);
        assertEquals(14, f.length, csv.get(1));
        assertEquals("", f[9], "no device memory account on the CPU: " + csv.get(1));
        double wait = Double.parseDouble(f[8]), seconds = Double.parseDouble(f[7]);
        assertTrue(wait >= 0 && wait <= seconds, "waited " + wait + " s for data in a " + seconds + " s epoch");
        double ce = Double.parseDouble(f[10]), cs = Double.parseDouble(f[11]), a1 = Double.parseDouble(f[12]), a2 = Double.parseDouble(f[13]);
        assertTrue(ce > 0 && Double.isFinite(ce), "L_CE " + ce);
        assertTrue(cs >= -1 && cs <= 1, "L_CS is a mean cosine similarity: " + cs);
        assertEquals(1.0, a1 + a2, 1e-5, "a1 + a2");
        String json = Files.readString(out.resolve("metrics.json"), StandardCharsets.UTF_8);
        for (String k : List.of("\"train_l_ce\": ", "\"train_l_cs\": ", "\"train_a1\": ", "\"train_a2\": ")) assertTrue(json.contains(k), json);
        // other models: the ten columns every run has
        assertEquals("epoch,lr,train_loss,train_acc,val_loss,val_acc,images_per_s,seconds,data_wait_s,device_peak_mib", Files.readAllLines(finished.resolve("metrics.csv")).get(0));
        assertTrue(r.out().contains("MA-Net variant: MAB on, FAB on, loss adaptive, batch-norm running statistics from the main path, attention map constant in backward"), r.out());
        assertTrue(Files.size(out.resolve("manet_weights.png")) > 0 || r.out().contains("no plots"), "the a1/a2 curve");
        assertFalse(Files.exists(finished.resolve("manet_weights.png")), "only MA-Net plots loss weights");

        // the checkpoint rebuilds the variant it trained; one written before the attention-map switch existed (no
        // manet_attention_grad) trained with the map differentiated, and is rebuilt so
        Path ckpt = out.resolve("last.safetensors");
        assertFalse(((org.pulmo.models.MaNet) org.pulmo.train.TrainedModel.load(ckpt, org.pulmo.tensor.Device.CPU).model()).options.attentionGradient(),
            "this run's map was constant in backward");
        var contents = org.pulmo.io.Safetensors.read(ckpt);
        java.util.Map<String, String> older = new java.util.LinkedHashMap<>(contents.metadata());
        assertNotNull(older.remove("manet_attention_grad"), "the checkpoint records the switch");
        Path old = dir.resolve("older.safetensors");
        org.pulmo.io.Safetensors.write(old, contents.tensors(), older);
        assertTrue(((org.pulmo.models.MaNet) org.pulmo.train.TrainedModel.load(old, org.pulmo.tensor.Device.CPU).model()).options.attentionGradient(),
            "a checkpoint without manet_attention_grad is rebuilt with the map differentiated");

        // probe: the step's loss terms, weights, per-term backbone gradients and attention peakedness, all finite
        byte[] before = Files.readAllBytes(ckpt);
        Run p = pulmo("probe", "-c", ckpt.toString(), "--data", "demo", "--demo-images", "8", "--batches", "1", "--batch-size", "2");
        assertEquals(0, p.code(), p.out() + p.err());
        var terms = java.util.regex.Pattern.compile("(L_CE main|L_CE mutex|L_CS) +(\\S+) +(\\S+) +([-+]\\S+) \\(").matcher(p.out());
        int found = 0;
        while (terms.find()) {
            found++;
            double norm = Double.parseDouble(terms.group(2)), cos = Double.parseDouble(terms.group(4));
            assertTrue(norm > 0 && Double.isFinite(norm), terms.group());
            assertTrue(Math.abs(cos) <= 1.0001, terms.group());
        }
        assertEquals(3, found, p.out());
        var weights = java.util.regex.Pattern.compile("a1 (\\S+) +a2 (\\S+)").matcher(p.out());
        assertTrue(weights.find(), p.out());
        assertEquals(1.0, Double.parseDouble(weights.group(1)) + Double.parseDouble(weights.group(2)), 2e-3, p.out());
        assertEquals(5, p.out().lines().filter(l -> l.trim().startsWith("stage ")).count(), p.out());
        // a folder of other classes is refused, not scored against the checkpoint's classes by position
        Path otherClasses = dir.resolve("other-classes");
        ClassNamesCliTest.classes(otherClasses, List.of("x", "y"), 4);
        Run wrong = pulmo("probe", "-c", ckpt.toString(), "--data", otherClasses.toString(), "--batches", "1", "--batch-size", "2");
        assertEquals(2, wrong.code(), wrong.out() + wrong.err());
        assertTrue(wrong.err().contains("[x, y] do not match the classes of the checkpoint"), wrong.err());
        // bad counts are usage errors naming the option; a batch larger than the data names the images there are
        Run none = pulmo("probe", "-c", ckpt.toString(), "--data", "demo", "--demo-images", "8", "--batches", "0");
        assertEquals(2, none.code(), none.out() + none.err());
        assertTrue(none.err().contains("--batches must be at least 1, got 0"), none.err());
        Run big = pulmo("probe", "-c", ckpt.toString(), "--data", "demo", "--demo-images", "8", "--batches", "1", "--batch-size", "500");
        assertEquals(2, big.code(), big.out() + big.err());
        assertTrue(big.err().contains("gives no complete batch of 500 pairs (8 training images") && !big.err().contains("internal error"), big.err());

        // evaluate --recompute-bn re-estimates the statistics in memory only
        Run e = pulmo("evaluate", "-c", ckpt.toString(), "--data", "demo", "--demo-images", "8", "--recompute-bn", "--out", dir.resolve("eval").toString());
        assertEquals(0, e.code(), e.out() + e.err());
        assertTrue(e.out().contains("Batch-norm running statistics re-estimated from 8 training images (2 batches of 4, main path)"), e.out());
        assertArrayEquals(before, Files.readAllBytes(ckpt), "the checkpoint is unchanged");
        assertEquals(2, pulmo("probe", "-c", finished.resolve("last.safetensors").toString(), "--data", "demo").code(), "probe refuses a model that is not MA-Net");
    }

    /** {@link CliEndToEndTest#tinyTrain} with some of its options given other values and others added. */
    static String[] train(Path out, String... options) {
        List<String> a = new java.util.ArrayList<>(List.of(CliEndToEndTest.tinyTrain(out)));
        for (int i = 0; i < options.length; i++) {
            int at = a.indexOf(options[i]);
            boolean valued = i + 1 < options.length && !options[i + 1].startsWith("--") || i + 1 < options.length && options[i + 1].matches("-\\d.*");
            if (at >= 0 && valued) { a.set(at + 1, options[++i]); continue; }
            a.add(options[i]);
            if (valued) a.add(options[++i]);
        }
        return a.toArray(String[]::new);
    }
}
