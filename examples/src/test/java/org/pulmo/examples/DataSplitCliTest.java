package org.pulmo.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.pulmo.examples.CliEndToEndTest.pulmo;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pulmo.examples.CliEndToEndTest.Run;
import org.pulmo.testing.TestFiles;

/**
 * A run's split follows its checkpoint: evaluate takes the training run's split options, so that the test part of the
 * training folder is the one the run held out; it refuses to report numbers on images the checkpoint trained on (another
 * --split-seed, --split all); --resume refuses other images than the first run's. A folder of class folders is split by
 * --split-seed; the training run here uses 3, not the default 7.
 */
class DataSplitCliTest {
    @TempDir static Path shared;
    static Path flat, run;

    @BeforeAll static void trainWithSplitSeed3() throws IOException {
        flat = shared.resolve("flat");
        ClassNamesCliTest.classes(flat, List.of("a", "b"), 10);
        run = shared.resolve("run");
        Run r = pulmo(train(run, flat, "--split-seed", "3"));
        assertEquals(0, r.code(), r.out() + r.err());
    }

    static String[] train(Path out, Path data, String... more) {
        List<String> a = new ArrayList<>(List.of("train", "--model", "resnet18", "--data", data.toString(), "--image-size", "32",
            "--batch-size", "4", "--workers", "1", "--device", "cpu", "--seed", "5", "--out", out.toString()));
        a.addAll(List.of(more));
        if (!a.contains("--epochs")) a.addAll(List.of("--epochs", "1"));
        return a.toArray(String[]::new);
    }

    static Run evaluate(Path data, Path out, String... more) {
        List<String> a = new ArrayList<>(List.of("evaluate", "-c", run.resolve("best.safetensors").toString(), "--data", data.toString(),
            "--device", "cpu", "--out", out.toString()));
        a.addAll(List.of(more));
        return pulmo(a.toArray(String[]::new));
    }

    /** The image files predictions.csv names. */
    static Set<String> sources(Path predictionsCsv) throws IOException {
        Set<String> out = new TreeSet<>();
        for (String line : Files.readAllLines(predictionsCsv).subList(1, Files.readAllLines(predictionsCsv).size()))
            out.add(line.substring(1, line.indexOf("\",", 1)));
        return out;
    }

    @Test void evaluateTakesTheRunsSplitAndItsTestPart(@TempDir Path dir) throws IOException {
        Run e = evaluate(flat, dir.resolve("e"));
        assertEquals(0, e.code(), e.out() + e.err());
        assertTrue(e.out().contains("Split as the training run split it (from the checkpoint): --split-seed 3"), e.out());
        assertEquals(sources(run.resolve("test/predictions.csv")), sources(dir.resolve("e/predictions.csv")),
            "the same test images as the training run's own evaluation");
    }

    /**
     * Output inside a folder of the data's images would be read with them (or make the folder read as Pulmo's output, a
     * class gone): refused for train and evaluate, before anything is written; a folder of runs beside the classes is fine.
     */
    @Test void outputInsideTheImagesIsRefused(@TempDir Path dir) throws IOException {
        for (Path bad : List.of(flat, flat.resolve("a"), flat.resolve("a/run"))) {
            Run t = pulmo(train(bad, flat));
            assertEquals(2, t.code(), t.out() + t.err());
            assertTrue(t.err().contains("--out " + bad + " is ") && t.err().contains("give a folder outside it"), t.err());
            Run e = evaluate(flat, bad);
            assertEquals(2, e.code(), e.out() + e.err());
            assertTrue(e.err().contains("--out " + bad + " is "), e.err());
        }
        assertFalse(Files.exists(flat.resolve("a/run")), "nothing made");
        try {
            Run beside = evaluate(flat, flat.resolve("runs/eval"));
            assertEquals(0, beside.code(), beside.out() + beside.err());
            Run after = evaluate(flat, dir.resolve("e"));
            assertEquals(0, after.code(), after.out() + after.err());   // the runs folder beside the classes is not read as a class
            assertEquals(sources(flat.resolve("runs/eval/predictions.csv")), sources(dir.resolve("e/predictions.csv")));
        } finally {   // the other tests' data as it was
            TestFiles.deleteTree(flat.resolve("runs"));
        }
    }

    /**
     * DATA/runs is Pulmo's, however deep the runs in it lie (runs/cpu/NAME, as docs/REPRODUCTION.md lays them out) and
     * whatever it holds: a second run, --resume and the run's own evaluation go there, it is never a class, and predict
     * on the data folder leaves it out. Before, a run two folders down made "runs" a class of plots, and every later
     * command was refused as writing inside a folder of the data set.
     */
    @Test void runsNestedInTheDataFolderStayPulmos(@TempDir Path dir) throws IOException {
        Path data = dir.resolve("data");
        ClassNamesCliTest.classes(data, List.of("a", "b"), 6);
        Path a = data.resolve("runs/cpu/a"), b = data.resolve("runs/cpu/b");
        Run first = pulmo(train(a, data, "--no-evaluate"));
        assertEquals(0, first.code(), first.out() + first.err());
        Run second = pulmo(train(b, data, "--no-evaluate"));
        assertEquals(0, second.code(), second.out() + second.err());
        assertTrue(second.out().contains("classes [a, b]"), "runs/ is not a class: " + second.out());
        Run more = pulmo(train(a, data, "--epochs", "2", "--resume"));
        assertEquals(0, more.code(), more.out() + more.err());
        Run own = pulmo("evaluate", "-c", b.resolve("best.safetensors").toString(), "--data", data.toString(), "--device", "cpu",
            "--out", b.resolve("test").toString());
        assertEquals(0, own.code(), own.out() + own.err());
        assertTrue(Files.exists(b.resolve("test/report.txt")));
        Run check = pulmo("check-data", "--data", data.toString());
        assertEquals(0, check.code(), check.out() + check.err());
        assertFalse(check.out().contains("runs"), check.out());
        Run predict = pulmo("predict", "-c", b.resolve("best.safetensors").toString(), data.toString(), "--device", "cpu");
        assertEquals(0, predict.code(), predict.out() + predict.err());
        assertTrue(predict.out().contains("Left out " + data.resolve("runs") + ": Pulmo's own output"), predict.out());
        assertFalse(predict.out().contains("loss.png") || predict.out().contains("roc.png"), "a run's plots classified: " + predict.out());
        // an empty runs/ and one holding only a prediction CSV are Pulmo's too
        Path fresh = dir.resolve("fresh");
        ClassNamesCliTest.classes(fresh, List.of("a", "b"), 6);
        Files.createDirectories(fresh.resolve("runs"));
        Run intoEmpty = pulmo(train(fresh.resolve("runs/train"), fresh, "--no-evaluate"));
        assertEquals(0, intoEmpty.code(), intoEmpty.out() + intoEmpty.err());
        Path csvOnly = dir.resolve("csvonly");
        ClassNamesCliTest.classes(csvOnly, List.of("a", "b"), 6);
        Files.createDirectories(csvOnly.resolve("runs"));
        Files.writeString(csvOnly.resolve("runs/preds.csv"), "path,predicted,a,b\n");
        Run besideCsv = pulmo(train(dir.resolve("csvonly-run"), csvOnly, "--no-evaluate"));
        assertEquals(0, besideCsv.code(), besideCsv.out() + besideCsv.err());
        assertTrue(besideCsv.out().contains("classes [a, b]"), besideCsv.out());
        // elsewhere inside a class folder is still refused
        Run inClass = pulmo(train(data.resolve("a/run"), data));
        assertEquals(2, inClass.code(), inClass.out() + inClass.err());
        assertTrue(inClass.err().contains("is inside " + data.resolve("a") + ", a folder of the data set"), inClass.err());
        // an evaluation saved inside a class folder (one patient's folder down) leaves the class a class, without its files
        Path patients = dir.resolve("patients");
        ClassNamesCliTest.classes(patients.resolve("a"), List.of("p1", "p2"), 3);
        ClassNamesCliTest.classes(patients.resolve("b"), List.of("p1", "p2"), 3);
        Run evalElsewhere = evaluate(patients, dir.resolve("eval"), "--split", "all");
        assertEquals(0, evalElsewhere.code(), evalElsewhere.out() + evalElsewhere.err());
        Files.move(dir.resolve("eval"), patients.resolve("a/p1/eval"));   // moved there by hand (evaluate refuses to write there)
        assertTrue(Files.exists(patients.resolve("a/p1/eval/roc.png")));
        Run onPatients = pulmo(train(dir.resolve("patients-run"), patients, "--no-evaluate"));
        assertEquals(0, onPatients.code(), onPatients.out() + onPatients.err());
        java.util.regex.Matcher m = java.util.regex.Pattern.compile("(\\d+) training, (\\d+) validation, (\\d+) test images, classes \\[a, b\\]")
            .matcher(onPatients.out());
        assertTrue(m.find(), onPatients.out());
        assertEquals(12, Integer.parseInt(m.group(1)) + Integer.parseInt(m.group(2)) + Integer.parseInt(m.group(3)), "the scans alone: " + onPatients.out());
        Run predictAll = pulmo("predict", "-c", b.resolve("best.safetensors").toString(), patients.toString(), "--device", "cpu");
        assertEquals(0, predictAll.code(), predictAll.out() + predictAll.err());
        assertTrue(predictAll.out().contains("Left out " + patients.resolve("a/p1/eval")), predictAll.out());
        assertEquals(12, predictAll.out().lines().filter(l -> l.contains(".png ")).count(), "every scan classified, no plot: " + predictAll.out());
    }

    /** With split.csv, only the folders it lists images in are the data's: --out in another folder of the data folder is fine. */
    @Test void withSplitCsvOnlyItsImageFoldersAreRefused(@TempDir Path dir) throws IOException {
        Path data = dir.resolve("csvdata");
        ClassNamesCliTest.classes(data.resolve("images"), List.of("a", "b"), 6);
        StringBuilder csv = new StringBuilder("path,label,split\n");
        for (String c : List.of("a", "b"))
            for (int i = 0; i < 6; i++) csv.append("images/").append(c).append('/').append(i).append(".png")
                .append(',').append(c).append(',').append(i < 4 ? "train" : i == 4 ? "val" : "test").append('\n');
        Files.writeString(data.resolve("split.csv"), csv);
        Files.createDirectories(data.resolve("notes"));
        Run ok = pulmo(train(data.resolve("notes/run"), data, "--no-evaluate"));
        assertEquals(0, ok.code(), ok.out() + ok.err());
        Run bad = pulmo(train(data.resolve("images/run"), data));
        assertEquals(2, bad.code(), bad.out() + bad.err());
        assertTrue(bad.err().contains("a folder of the data set"), bad.err());
    }

    @Test void imagesTheCheckpointTrainedOnAreRefused(@TempDir Path dir) throws IOException {
        Run other = evaluate(flat, dir.resolve("e"), "--split-seed", "7");
        assertEquals(2, other.code(), other.out() + other.err());
        assertTrue(other.err().contains("are training images of this checkpoint") && other.err().contains("--allow-leakage"), other.err());
        assertFalse(Files.exists(dir.resolve("e/report.txt")), "no report on inflated numbers");

        Run anyway = evaluate(flat, dir.resolve("e2"), "--split-seed", "7", "--allow-leakage");
        assertEquals(0, anyway.code(), anyway.out() + anyway.err());
        assertTrue(anyway.err().contains("warning: ") && anyway.err().contains("are training images of this checkpoint"), anyway.err());

        Run all = evaluate(flat, dir.resolve("e3"), "--split", "all");
        assertEquals(2, all.code(), all.out() + all.err());
        assertTrue(all.err().contains("of the 20 images of " + flat + " are training images"), all.err());
    }

    @Test void anotherFolderIsEvaluatedWholeWithSplitAllAndATestFolderAlone(@TempDir Path dir) throws IOException {
        Path other = dir.resolve("other");
        ClassNamesCliTest.classes(other, List.of("a", "b"), 5);
        Run part = evaluate(other, dir.resolve("e1"));
        assertEquals(0, part.code(), part.out() + part.err());
        assertTrue(part.out().contains("is laid out as class folders, so its test part is the --test-fraction share of it (2 images); --split all"), part.out());
        Run all = evaluate(other, dir.resolve("e2"), "--split", "all");
        assertEquals(0, all.code(), all.out() + all.err());
        assertEquals(10, sources(dir.resolve("e2/predictions.csv")).size(), "every image of the folder");

        Path testOnly = dir.resolve("held-out");
        ClassNamesCliTest.classes(testOnly.resolve("test"), List.of("a", "b"), 3);
        Run t = evaluate(testOnly, dir.resolve("e3"));
        assertEquals(0, t.code(), t.out() + t.err());
        assertEquals(6, sources(dir.resolve("e3/predictions.csv")).size(), "test/ alone is a test part, not a class named 'test'");
        // an evaluation written into the data folder (evaluate run from inside it) leaves it a test part
        Run inside = evaluate(testOnly, testOnly.resolve("runs/evaluate"));
        assertEquals(0, inside.code(), inside.out() + inside.err());
        Run again = evaluate(testOnly, dir.resolve("e4"));
        assertEquals(0, again.code(), again.out() + again.err());
        assertEquals(6, sources(dir.resolve("e4/predictions.csv")).size(), "runs/ beside test/ is Pulmo's output, not a class");
    }

    @Test void resumeRefusesOtherImagesAndFollowsAMovedFolder(@TempDir Path dir) throws IOException {
        Path r = dir.resolve("r"), data = dir.resolve("data");
        copy(flat, data);
        Run first = pulmo(train(r, data, "--split-seed", "3", "--no-evaluate"));
        assertEquals(0, first.code(), first.out() + first.err());
        byte[] last = Files.readAllBytes(r.resolve("last.safetensors"));

        Run seed = pulmo(train(r, data, "--split-seed", "5", "--resume", "--epochs", "2"));
        assertEquals(2, seed.code(), seed.out() + seed.err());
        assertTrue(seed.err().contains("the training part differs from the first run's") && seed.err().contains("--split-seed 5 instead of 3"), seed.err());

        ClassNamesCliTest.png(data.resolve("a/extra.png"));
        Run added = pulmo(train(r, data, "--split-seed", "3", "--resume", "--epochs", "2"));
        assertEquals(2, added.code(), added.out() + added.err());
        assertTrue(added.err().contains("the images in the data folder changed"), added.err());
        Files.delete(data.resolve("a/extra.png"));
        // other images that could not train a run anyway (one class): the difference is named, not what they lack
        Path single = dir.resolve("single");
        copy(data, single);
        try (var classes = Files.list(single)) {
            for (Path c : classes.filter(Files::isDirectory).sorted().skip(1).toList()) TestFiles.deleteTree(c);
        }
        Run other = pulmo(train(r, single, "--split-seed", "3", "--resume", "--epochs", "2"));
        assertEquals(2, other.code(), other.out() + other.err());
        assertTrue(other.err().contains("--resume: ") && other.err().contains("differs from the first run's"), other.err());
        assertTrue(java.util.Arrays.equals(last, Files.readAllBytes(r.resolve("last.safetensors"))), "refused runs leave the checkpoint alone");

        Path moved = dir.resolve("moved");
        copy(data, moved);
        Files.delete(r.resolve("metrics.csv"));   // before: restarted from the resumed epoch without a word
        Run ok = pulmo(train(r, moved, "--split-seed", "3", "--resume", "--epochs", "2", "--no-evaluate"));
        assertEquals(0, ok.code(), ok.out() + ok.err());
        assertTrue(ok.out().contains("the images are now read from " + moved.toAbsolutePath().normalize()) && ok.out().contains("the same images in each part"), ok.out());
        assertTrue(ok.out().contains("holds 0 of the 1 finished epochs' rows"), ok.out());
        List<String> rows = Files.readAllLines(r.resolve("metrics.csv"));
        assertEquals(2, rows.size(), "the header and epoch 2: " + rows);
        assertTrue(rows.get(1).startsWith("2,"), rows.toString());
    }

    /**
     * Found in review: a group pattern taken from the checkpoint broke the evaluation of other data (its files do not
     * match it), and --split all failed with a --class-map entry that one part folder lacks.
     */
    @Test void otherDataKeepsItsOwnSplitAndAClassMapSpansTheParts(@TempDir Path dir) throws IOException {
        Path grouped = dir.resolve("grouped"), r = dir.resolve("r");
        for (String c : List.of("a", "b")) for (int p = 0; p < 6; p++) for (int k = 0; k < 2; k++) ClassNamesCliTest.png(grouped.resolve(c + "/person" + p + "_" + k + ".png"));
        Run t = pulmo(train(r, grouped, "--group-pattern", "^(person\\d+)_", "--no-evaluate"));
        assertEquals(0, t.code(), t.out() + t.err());
        Path other = dir.resolve("other");
        ClassNamesCliTest.classes(other.resolve("train"), List.of("xa", "b"), 2);
        ClassNamesCliTest.classes(other.resolve("test"), List.of("b"), 2);
        Run e = pulmo("evaluate", "-c", r.resolve("best.safetensors").toString(), "--data", other.toString(), "--device", "cpu",
            "--split", "all", "--class-map", "xa=a", "--out", dir.resolve("e").toString());
        assertEquals(0, e.code(), e.out() + e.err());
        assertFalse(e.out().contains("Split as the training run"), "nothing taken from the checkpoint for other data: " + e.out());
        assertEquals(6, sources(dir.resolve("e/predictions.csv")).size(), "every image of both parts");
        Run bad = pulmo("evaluate", "-c", r.resolve("best.safetensors").toString(), "--data", other.toString(), "--device", "cpu",
            "--split", "all", "--class-map", "zz=a", "--out", dir.resolve("e2").toString());
        assertEquals(2, bad.code(), bad.out() + bad.err());
        assertTrue(bad.err().contains("--class-map zz=a: 'zz' is not a class of every image of"), bad.err());
    }

    /** Found in review: one image added to the training folder changed its digest, and the guard went quiet while the split reshuffled. */
    @Test void theTrainingFolderChangedSinceIsRefused(@TempDir Path dir) throws IOException {
        Path data = dir.resolve("data"), r = dir.resolve("r");
        copy(flat, data);
        Run t = pulmo(train(r, data, "--no-evaluate", "--val-fraction", "0.3"));
        assertEquals(0, t.code(), t.out() + t.err());
        ClassNamesCliTest.png(data.resolve("a/added.png"));
        Run e = pulmo("evaluate", "-c", r.resolve("best.safetensors").toString(), "--data", data.toString(), "--device", "cpu",
            "--out", dir.resolve("e").toString());
        assertEquals(2, e.code(), e.out() + e.err());
        assertTrue(e.err().contains("is the folder the checkpoint trained on, but its images changed since")
            && e.err().contains("the test part may hold images the model trained on"), e.err());
        // the training part now is the one the run's own split options give (its --val-fraction 0.3), not the defaults'
        Run c = pulmo("check-data", "--data", data.toString(), "--val-fraction", "0.3");
        java.util.regex.Matcher now = java.util.regex.Pattern.compile("  train (\\d+ images?, sha256 \\w+)").matcher(c.out());
        assertTrue(now.find(), c.out());
        assertTrue(e.err().contains("split now as it was then, " + now.group(1) + ")"), e.err() + "\n" + c.out());
    }

    /** Found in review: --resume treated any folder without checkpoints as a run stopped in its first epoch, and cleared it. */
    @Test void resumeStartsOverOnlyARunStoppedInItsFirstEpoch(@TempDir Path dir) throws IOException {
        Path r = dir.resolve("r");
        Run t = pulmo(train(r, flat, "--split-seed", "3"));
        assertEquals(0, t.code(), t.out() + t.err());
        Files.delete(r.resolve("last.safetensors"));   // a finished run whose checkpoints were deleted to save room
        Files.delete(r.resolve("best.safetensors"));
        Run again = pulmo(train(r, flat, "--split-seed", "3", "--resume"));
        assertEquals(2, again.code(), again.out() + again.err());
        assertTrue(again.err().contains("no checkpoint " + r.resolve("last.safetensors") + " to resume from"), again.err());
        assertTrue(Files.exists(r.resolve("metrics.csv")) && Files.exists(r.resolve("test/report.txt")), "the finished run's files are kept");
    }

    /** check-data: the parts as train splits them, a picture in train and (resized, brighter) in test, and one under two labels. */
    @Test void checkDataFindsTheSamePictureInTwoPartsAndUnderTwoLabels(@TempDir Path dir) throws IOException {
        Path d = dir.resolve("d");
        for (int k = 0; k < 4; k++) {
            org.pulmo.data.NearCopiesTest.scan(10 + k, 48, 60, 0, 0, 1f, 0f).writePng(mkdirs(d.resolve("train/a/" + k + ".png")));
            org.pulmo.data.NearCopiesTest.scan(20 + k, 48, 60, 0, 0, 1f, 0f).writePng(mkdirs(d.resolve("train/b/" + k + ".png")));
        }
        org.pulmo.data.NearCopiesTest.scan(10, 96, 120, 0, 0, 0.8f, 0.1f).writePng(mkdirs(d.resolve("test/a/copy-of-0.png")));
        org.pulmo.data.NearCopiesTest.scan(30, 48, 60, 0, 0, 1f, 0f).writePng(mkdirs(d.resolve("test/b/new.png")));
        org.pulmo.data.NearCopiesTest.scan(21, 50, 62, 0, 0, 1f, 0.05f).writePng(mkdirs(d.resolve("train/a/mislabelled.png")));
        Files.writeString(d.resolve("train/b/broken.png"), "not an image");
        Files.writeString(d.resolve("train/a/also-broken.jpg"), "nor this");
        org.pulmo.data.Image.zeros(1, 2, 30).writePng(mkdirs(d.resolve("train/a/strip.png")));
        org.pulmo.data.Image.zeros(1, 2, 300).writePng(mkdirs(d.resolve("train/a/too-long.png")));   // over 1:32: not an image to train on
        Run c = pulmo("check-data", "--data", d.toString(), "--val-fraction", "0", "--out", dir.resolve("pairs.csv").toString());
        assertEquals(0, c.code(), c.out() + c.err());
        assertTrue(c.out().contains("train/a/0.png (train) ~ test/a/copy-of-0.png (test): near"), c.out());
        assertTrue(c.out().contains("Same picture in two parts: 1 pair(s)") && c.out().contains("Same picture under two labels: 1 pair(s)"), c.out());
        assertTrue(c.out().contains("labels a and b") && c.out().contains("Unreadable: 3 file(s)"), c.out());
        assertTrue(c.out().contains("broken.png\n") && c.out().contains("also-broken.jpg\n") && c.out().contains("too-long.png\n"),
            "each unreadable file named: " + c.out());
        assertTrue(c.out().contains("Odd sizes: 1 image(s)") && c.out().contains("strip.png (30 x 2)"), c.out());
        List<String> csv = Files.readAllLines(dir.resolve("pairs.csv"));
        assertEquals("path_a,part_a,path_b,part_b,how", csv.getFirst());
        assertEquals(3, csv.size(), csv.toString());
        // --parts-only: the parts alone, nothing decoded; --classes: a binary task's recipe refuses a folder of other classes
        Run parts = pulmo("check-data", "--data", d.toString(), "--val-fraction", "0", "--parts-only", "--classes", "2");
        assertEquals(0, parts.code(), parts.out() + parts.err());
        assertTrue(parts.out().contains("  train ") && !parts.out().contains("Same picture") && !parts.out().contains("Unreadable"), parts.out());
        Run three = pulmo("check-data", "--data", d.toString(), "--val-fraction", "0", "--parts-only", "--classes", "3");
        assertEquals(2, three.code(), three.out() + three.err());
        assertTrue(three.err().contains("has 2 classes [a, b], not the 3 of --classes"), three.err());
        Run both = pulmo("check-data", "--data", d.toString(), "--parts-only", "--out", dir.resolve("p2.csv").toString());
        assertEquals(2, both.code(), both.out() + both.err());
        assertTrue(both.err().contains("which --parts-only does not look for"), both.err());
        Run again = pulmo("check-data", "--data", d.toString(), "--val-fraction", "0", "--out", dir.resolve("pairs.csv").toString());
        assertEquals(2, again.code(), "an existing --out file is kept: " + again.out());
        assertTrue(again.err().contains("exists; give --overwrite"), again.err());
        assertEquals(csv, Files.readAllLines(dir.resolve("pairs.csv")));
        // --strict: the unreadable file is the check's verdict, exit 2 (it said "--strict stops on them" and exited 0)
        Run strict = pulmo("check-data", "--data", d.toString(), "--val-fraction", "0", "--strict");
        assertEquals(2, strict.code(), strict.out() + strict.err());
        assertTrue(strict.err().contains("3 unreadable file(s), first ") && strict.err().contains("also-broken.jpg (--strict)"), strict.err());
        // --out inside a folder of the images would be counted as one of them (a CSV named .png was; --overwrite replaced an image)
        Run inside = pulmo("check-data", "--data", d.toString(), "--val-fraction", "0", "--out", d.resolve("train/a/0.png").toString(), "--overwrite");
        assertEquals(2, inside.code(), inside.out() + inside.err());
        assertTrue(inside.err().contains("a folder of the data set"), inside.err());
        assertTrue(Files.readString(d.resolve("train/a/0.png"), java.nio.charset.StandardCharsets.ISO_8859_1).startsWith("\u0089PNG"), "the image is kept");
    }

    private static Path mkdirs(Path file) throws IOException {
        Files.createDirectories(file.getParent());
        return file;
    }

    private static void copy(Path from, Path to) throws IOException {
        try (var s = Files.walk(from)) {
            for (Path p : s.toList()) {
                Path t = to.resolve(from.relativize(p).toString());
                if (Files.isDirectory(p)) Files.createDirectories(t);
                else Files.copy(p, t);
            }
        }
    }

    private static Run eval(Path ckpt, Path data, Path out, String... more) {
        List<String> a = new ArrayList<>(List.of("evaluate", "-c", ckpt.toString(), "--data", data.toString(), "--device", "cpu", "--out", out.toString()));
        a.addAll(List.of(more));
        return pulmo(a.toArray(String[]::new));
    }

    /** check-data compares every part with every other: train with val, val with test, not only train with the others. */
    @Test void checkDataComparesTheValidationPartToo(@TempDir Path dir) throws IOException {
        Path d = dir.resolve("d");
        for (int k = 0; k < 4; k++) {
            org.pulmo.data.NearCopiesTest.scan(10 + k, 48, 60, 0, 0, 1f, 0f).writePng(mkdirs(d.resolve("train/a/" + k + ".png")));
            org.pulmo.data.NearCopiesTest.scan(20 + k, 48, 60, 0, 0, 1f, 0f).writePng(mkdirs(d.resolve("train/b/" + k + ".png")));
        }
        org.pulmo.data.NearCopiesTest.scan(40, 48, 60, 0, 0, 1f, 0f).writePng(mkdirs(d.resolve("val/a/v0.png")));
        org.pulmo.data.NearCopiesTest.scan(22, 96, 120, 0, 0, 0.9f, 0.05f).writePng(mkdirs(d.resolve("val/b/v1.png")));   // train/b/2.png again
        org.pulmo.data.NearCopiesTest.scan(40, 96, 120, 0, 0, 0.8f, 0.1f).writePng(mkdirs(d.resolve("test/a/t0.png")));   // val/a/v0.png again
        org.pulmo.data.NearCopiesTest.scan(50, 48, 60, 0, 0, 1f, 0f).writePng(mkdirs(d.resolve("test/b/t1.png")));
        Run c = pulmo("check-data", "--data", d.toString());
        assertEquals(0, c.code(), c.out() + c.err());
        assertTrue(c.out().contains("train/b/2.png (train) ~ val/b/v1.png (val)"), c.out());
        assertTrue(c.out().contains("val/a/v0.png (val) ~ test/a/t0.png (test)"), c.out());
        assertTrue(c.out().contains("Same picture in two parts: 2 pair(s)"), c.out());
    }

    /** The validation part is recorded and compared on --resume as the training part is. */
    @Test void resumeRefusesAChangedValidationPart(@TempDir Path dir) throws IOException {
        Path data = dir.resolve("data"), r = dir.resolve("r");
        ClassNamesCliTest.classes(data.resolve("train"), List.of("a", "b"), 6);
        ClassNamesCliTest.classes(data.resolve("val"), List.of("a", "b"), 2);
        Run first = pulmo(train(r, data, "--no-evaluate"));
        assertEquals(0, first.code(), first.out() + first.err());
        ClassNamesCliTest.png(data.resolve("val/a/extra.png"));
        Run again = pulmo(train(r, data, "--resume", "--epochs", "2", "--no-evaluate"));
        assertEquals(2, again.code(), again.out() + again.err());
        assertTrue(again.err().contains("the validation part differs from the first run's"), again.err());
    }

    /**
     * The checkpoint's split options are taken for its own data only (found by digest, wherever and however the folder is
     * named), never for other data; another seed on its own data is refused as training images; the training folder,
     * named another way at training time and changed since, is recognised.
     */
    @Test void theSplitFollowsTheCheckpointOnlyForItsOwnData(@TempDir Path dir) throws IOException {
        Path flat = dir.resolve("flat"), run = dir.resolve("run");
        ClassNamesCliTest.classes(flat, List.of("a", "b"), 10);
        Files.createDirectories(dir.resolve("x"));
        Run t = pulmo(train(run, dir.resolve("x/../flat"), "--split-seed", "3", "--val-fraction", "0.2", "--no-evaluate"));
        assertEquals(0, t.code(), t.out() + t.err());
        Path ckpt = run.resolve("best.safetensors");

        Path other = dir.resolve("other");
        ClassNamesCliTest.classes(other, List.of("a", "b"), 5);
        Run o = eval(ckpt, other, dir.resolve("e1"));
        assertEquals(0, o.code(), o.out() + o.err());
        assertFalse(o.out().contains("Split as the training run split it"), o.out());

        Run s = eval(ckpt, flat, dir.resolve("e2"), "--split-seed", "7");
        assertEquals(2, s.code(), s.out() + s.err());
        assertTrue(s.err().contains("are training images of this checkpoint"), s.err());

        ClassNamesCliTest.png(flat.resolve("a/added.png"));
        Run c = eval(ckpt, flat, dir.resolve("e3"));
        assertEquals(2, c.code(), c.out() + c.err());
        assertTrue(c.err().contains("is the folder the checkpoint trained on, but its images changed since"), c.err());
    }

    /** A split.csv folder changed since training keeps its own parts: a warning, not the refusal of a reshuffled folder. */
    @Test void aChangedSplitCsvFolderIsWarnedAboutNotRefused(@TempDir Path dir) throws IOException {
        Path data = dir.resolve("data"), run = dir.resolve("run");
        StringBuilder csv = new StringBuilder("path,label,split\n");
        for (String c : List.of("a", "b"))
            for (int i = 0; i < 6; i++) {
                ClassNamesCliTest.png(data.resolve(c + "/" + i + ".png"));
                csv.append(c).append('/').append(i).append(".png,").append(c).append(',').append(i < 4 ? "train" : i == 4 ? "val" : "test").append('\n');
            }
        Files.writeString(data.resolve("split.csv"), csv);
        Run t = pulmo(train(run, data, "--no-evaluate"));
        assertEquals(0, t.code(), t.out() + t.err());
        ClassNamesCliTest.png(data.resolve("a/added.png"));
        Files.writeString(data.resolve("split.csv"), csv + "a/added.png,a,train\n");
        Run e = eval(run.resolve("best.safetensors"), data, dir.resolve("e"));
        assertEquals(0, e.code(), e.out() + e.err());
        assertTrue(e.err().contains("images changed since") && !e.err().contains("may hold images the model trained on"), e.err());
    }

    /** Files that are not images (empty, text named .jpg) do not make a class, nor a validation part, nor a leak. */
    @Test void aClassOrValidationPartOfNoImagesIsRefusedBeforeTraining(@TempDir Path dir) throws IOException {
        Path d = dir.resolve("data");
        for (int k = 0; k < 6; k++) org.pulmo.data.NearCopiesTest.scan(10 + k, 48, 60, 0, 0, 1f, 0f).writePng(mkdirs(d.resolve("train/a/" + k + ".png")));
        for (int k = 0; k < 6; k++) Files.writeString(mkdirs(d.resolve("train/b/t" + k + ".jpg")), "not an image " + k);
        Files.createFile(mkdirs(d.resolve("train/b/empty.png")));
        org.pulmo.data.NearCopiesTest.scan(30, 48, 60, 0, 0, 1f, 0f).writePng(mkdirs(d.resolve("val/a/v.png")));
        Files.createFile(mkdirs(d.resolve("val/b/empty.png")));   // the same (empty) bytes as train/b/empty.png: no leak
        Run r = pulmo(train(dir.resolve("out"), d));
        assertEquals(2, r.code(), r.out() + r.err());
        assertTrue(r.err().contains("the training images hold only one class (a); 'b' has 7 file(s), none of them an image"), r.err());
        assertFalse(Files.exists(dir.resolve("out").resolve("last.safetensors")));
        // with two classes of images beside it, a class of no image is still refused: the model would never see it
        for (int k = 0; k < 6; k++) org.pulmo.data.NearCopiesTest.scan(40 + k, 48, 60, 0, 0, 1f, 0f).writePng(mkdirs(d.resolve("train/c/" + k + ".png")));
        Run three = pulmo(train(dir.resolve("out"), d));
        assertEquals(2, three.code(), three.out() + three.err());
        assertTrue(three.err().contains("in the training part, 'b' has 7 file(s), none of them an image"), three.err());
        for (int k = 0; k < 6; k++) Files.delete(d.resolve("train/c/" + k + ".png"));
        Files.delete(d.resolve("train/c"));
        // a class named as a report figure is refused before anything is trained
        Files.move(d.resolve("train/a"), d.resolve("train/macro"));
        Files.move(d.resolve("val/a"), d.resolve("val/macro"));
        Run reserved = pulmo(train(dir.resolve("out"), d));
        assertEquals(2, reserved.code(), reserved.out() + reserved.err());
        assertTrue(reserved.err().contains("a class is named 'macro'"), reserved.err());
        Files.move(d.resolve("train/macro"), d.resolve("train/a"));
        Files.move(d.resolve("val/macro"), d.resolve("val/a"));
        // every class has images, but the validation part none
        for (int k = 0; k < 6; k++) org.pulmo.data.NearCopiesTest.scan(20 + k, 48, 60, 0, 0, 1f, 0f).writePng(mkdirs(d.resolve("train/b/" + k + ".png")));
        Files.delete(d.resolve("val/a/v.png"));
        Files.writeString(d.resolve("val/a/v.jpg"), "text");
        Run v = pulmo(train(dir.resolve("out"), d));
        assertEquals(2, v.code(), v.out() + v.err());
        assertTrue(v.err().contains("none of the 2 validation files is an image"), v.err());
    }
}
