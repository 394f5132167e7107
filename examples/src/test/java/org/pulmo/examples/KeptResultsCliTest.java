package org.pulmo.examples;

import static org.junit.jupiter.api.Assertions.*;
import static org.pulmo.examples.CliEndToEndTest.pulmo;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pulmo.examples.CliEndToEndTest.Run;

/**
 * evaluate, explain and predict never replace earlier results without being asked: an evaluation or explanation
 * already in --out is kept and the new one goes to the next free numbered folder; predict refuses an existing --csv;
 * --overwrite replaces, leaving nothing of the earlier results behind.
 */
class KeptResultsCliTest {
    @TempDir static Path shared;
    static Path checkpoint;

    @BeforeAll static void trainATinyModel() {
        Path run = shared.resolve("run");
        Run r = pulmo("train", "--model", "resnet18", "--data", "demo", "--demo-images", "8", "--image-size", "32", "--batch-size", "8",
            "--workers", "1", "--epochs", "1", "--no-evaluate", "--out", run.toString());
        assertEquals(0, r.code(), r.out() + r.err());
        checkpoint = run.resolve("last.safetensors");
    }

    private static Run evaluate(Path out, String... more) {
        List<String> a = new java.util.ArrayList<>(List.of("evaluate", "-c", checkpoint.toString(), "--data", "demo", "--demo-images", "8",
            "--device", "cpu", "--out", out.toString()));
        a.addAll(List.of(more));
        return pulmo(a.toArray(String[]::new));
    }

    @Test void evaluateKeepsAnEarlierEvaluation(@TempDir Path dir) throws Exception {
        Path ev = dir.resolve("eval");
        Run first = evaluate(ev);
        assertEquals(0, first.code(), first.out() + first.err());
        Files.writeString(ev.resolve("report.txt"), "the earlier evaluation\n");
        Run again = evaluate(ev);
        assertEquals(0, again.code(), again.out() + again.err());
        assertEquals("the earlier evaluation\n", Files.readString(ev.resolve("report.txt")), "the earlier report was replaced");
        Path next = dir.resolve("eval2");
        assertTrue(again.out().contains(ev + " holds an earlier evaluation, so this output goes to " + next + " (--overwrite writes into " + ev + " instead)"), again.out());
        assertTrue(Files.readString(next.resolve("report.txt")).contains("ccuracy"), "the new report is in " + next);

        Run replaced;
        try {   // charts drawn into nothing: the earlier roc.png must go all the same, not stay beside the new numbers
            org.pulmo.train.PlotsForTests.drawNothing();
            replaced = evaluate(ev, "--overwrite");
        } finally {
            org.pulmo.train.PlotsForTests.reset();
        }
        assertEquals(0, replaced.code(), replaced.out() + replaced.err());
        assertFalse(Files.exists(dir.resolve("eval3")), "--overwrite writes into --out itself");
        assertNotEquals("the earlier evaluation\n", Files.readString(ev.resolve("report.txt")));
        assertFalse(Files.exists(ev.resolve("roc.png")), "the earlier evaluation's plot was left behind");
    }

    /**
     * An evaluation stopped before its end (here its first plot's write failed, as on a full disk: report.txt and
     * predictions.csv were written, not the plots nor metrics.json, which comes last) is not an earlier result to keep:
     * the next evaluation into that folder replaces it, saying so, and leaves no temporary file of a killed write. A
     * folder with a Pulmo report.txt copied beside the user's own files is still kept.
     */
    @Test void anEvaluationStoppedBeforeItsEndIsReplacedNotNumberedPast(@TempDir Path dir) throws Exception {
        Path ev = dir.resolve("eval");
        Run first;
        try {
            org.pulmo.train.PlotsForTests.failWriting();
            first = evaluate(ev);
        } finally {
            org.pulmo.train.PlotsForTests.reset();
        }
        assertNotEquals(0, first.code(), first.out() + first.err());
        assertTrue(first.err().contains("No space left on device"), first.err());
        assertTrue(Files.exists(ev.resolve("report.txt")) && !Files.exists(ev.resolve("metrics.json")), "not the state of a stopped evaluation");
        String predictions = Files.readString(ev.resolve("predictions.csv"));
        Run table = pulmo("table", "--row", "A=" + ev);
        assertEquals(2, table.code(), table.out() + table.err());
        assertTrue(table.err().contains("the evaluation in " + ev + " was stopped before its end"), table.err());
        Files.writeString(ev.resolve(".roc.png.123456.tmp"), "half a plot");   // as a kill during the write leaves it
        Run again = evaluate(ev);
        assertEquals(0, again.code(), again.out() + again.err());
        assertTrue(again.out().contains(ev + " holds what an evaluation stopped before its end left (report.txt, predictions.csv; no metrics.json,"
            + " which is written last): this evaluation replaces it"), again.out());
        assertFalse(Files.exists(dir.resolve("eval2")), "numbered past a folder that held no finished evaluation: " + again.out());
        assertTrue(Files.isRegularFile(ev.resolve("metrics.json")), "the evaluation did not finish in " + ev);
        assertEquals(predictions, Files.readString(ev.resolve("predictions.csv")));
        assertFalse(Files.exists(ev.resolve(".roc.png.123456.tmp")), "the killed evaluation's temporary file was left");
        assertFalse(Files.exists(ev.resolve(org.pulmo.train.RunFolder.REPORT_UNFINISHED)), "a finished evaluation still marked unfinished");

        // a folder with a report of Pulmo's copied beside the user's own files, without the mark, is the user's: kept
        Path mine = dir.resolve("mine");
        Files.createDirectories(mine);
        Files.copy(ev.resolve("report.txt"), mine.resolve("report.txt"));
        Files.writeString(mine.resolve("predictions.csv"), "my own notes\n");
        Run kept = evaluate(mine);
        assertEquals(0, kept.code(), kept.out() + kept.err());
        assertEquals("my own notes\n", Files.readString(mine.resolve("predictions.csv")));
        assertTrue(Files.isRegularFile(dir.resolve("mine2").resolve("metrics.json")), kept.out());
    }

    /** Nor into a training run's folder: its metrics.json would be replaced by the evaluation's. */
    @Test void evaluateDoesNotWriteIntoATrainingRun() throws Exception {
        Path run = checkpoint.getParent();
        String metrics = Files.readString(run.resolve("metrics.json"));
        Run e = evaluate(run);
        assertEquals(0, e.code(), e.out() + e.err());
        assertTrue(e.out().contains(run + " holds a training run, so this output goes to " + shared.resolve("run2")), e.out());
        assertEquals(metrics, Files.readString(run.resolve("metrics.json")));
        // --overwrite does not make a training run's folder the place for an evaluation either
        Run over = evaluate(run, "--overwrite");
        assertEquals(2, over.code(), over.out() + over.err());
        assertTrue(over.err().contains("--overwrite: " + run + " is a training run's folder"), over.err());
        assertEquals(metrics, Files.readString(run.resolve("metrics.json")));
        assertFalse(Files.exists(run.resolve("report.txt")));
    }

    /**
     * But a run trained with --no-evaluate gets its own test/ report from its best checkpoint, as the recipes evaluate
     * their runs: written into RUN/test itself, and replaced there with --overwrite; another checkpoint's evaluation, or
     * a second one without --overwrite, is numbered past it.
     */
    @Test void aRunsBestCheckpointWritesItsOwnTestReport(@TempDir Path dir) throws Exception {
        Path run = dir.resolve("run"), report = run.resolve("test");
        Files.createDirectories(run);
        for (String f : new String[] {"last.safetensors", "best.safetensors", "metrics.csv", "metrics.json"})
            Files.copy(checkpoint.getParent().resolve(f), run.resolve(f));
        Path best = run.resolve("best.safetensors");
        Run other = pulmo("evaluate", "-c", checkpoint.toString(), "--data", "demo", "--demo-images", "8", "--device", "cpu", "--out", report.toString());
        assertEquals(0, other.code(), other.out() + other.err());
        assertTrue(other.out().contains("so this output goes to " + run.resolve("test2") + " (a run's test/ holds its best checkpoint's report alone: evaluate -c "
            + best + " writes it"), "another run's checkpoint is not this run's report, and the line says why: " + other.out());
        assertFalse(Files.exists(report));
        for (String[] more : new String[][] {{}, {"--overwrite"}}) {
            List<String> a = new java.util.ArrayList<>(List.of("evaluate", "-c", best.toString(), "--data", "demo", "--demo-images", "8",
                "--device", "cpu", "--out", report.toString()));
            a.addAll(List.of(more));
            Files.deleteIfExists(report.resolve("report.txt"));
            Run own = pulmo(a.toArray(String[]::new));
            assertEquals(0, own.code(), a + ": " + own.out() + own.err());
            assertTrue(Files.readString(report.resolve("report.txt")).contains("ccuracy"), a + ": " + own.out());
            assertFalse(Files.exists(run.resolve("test3")), a + ": " + own.out());
        }
        // the best checkpoint on another part is not the run's test report either
        for (String f : org.pulmo.train.RunFolder.REPORT_FILES) Files.deleteIfExists(report.resolve(f));
        Run val = pulmo("evaluate", "-c", best.toString(), "--data", "demo", "--demo-images", "8", "--device", "cpu", "--split", "val",
            "--out", report.toString());
        assertEquals(0, val.code(), val.out() + val.err());
        assertTrue(val.out().contains(report + " is the test report folder of the training run " + run + ", so this output goes to "), val.out());
        assertFalse(Files.exists(report.resolve("report.txt")), "a validation-part evaluation written as the run's test report");
        Run refill = pulmo("evaluate", "-c", best.toString(), "--data", "demo", "--demo-images", "8", "--device", "cpu", "--out", report.toString());
        assertEquals(0, refill.code(), refill.out() + refill.err());
        Run second = pulmo("evaluate", "-c", best.toString(), "--data", "demo", "--demo-images", "8", "--device", "cpu", "--out", report.toString());
        assertEquals(0, second.code(), second.out() + second.err());
        assertTrue(second.out().contains(report + " is the test report folder of the training run " + run + ", so this output goes to " + run.resolve("test4")),
            second.out());
    }

    /**
     * Nor into a finished run's test/ report, which training writes again when the run resumes: explanations put there
     * would be mixed with the report (before: written beside it), and --overwrite would replace it.
     */
    @Test void explainDoesNotWriteIntoARunsTestReport(@TempDir Path dir) throws Exception {
        Path run = dir.resolve("run"), report = run.resolve("test");
        Files.createDirectories(report);
        Files.copy(checkpoint, run.resolve("last.safetensors"));
        Files.writeString(report.resolve("report.txt"), "the run's own report\n");
        Run x = pulmo("explain", "-c", checkpoint.toString(), "--device", "cpu", "--method", "gradcam", "--out", report.toString(), "demo:1");
        assertEquals(0, x.code(), x.out() + x.err());
        assertTrue(x.out().contains(report + " is the test report folder of the training run " + run + ", so this output goes to " + run.resolve("test2")), x.out());
        try (var files = Files.list(report)) {
            assertEquals(List.of(report.resolve("report.txt")), files.toList(), "nothing added to the run's report");
        }
        Run over = pulmo("explain", "-c", checkpoint.toString(), "--device", "cpu", "--method", "gradcam", "--out", report.toString(),
            "--overwrite", "demo:1");
        assertEquals(2, over.code(), over.out() + over.err());
        assertTrue(over.err().contains("--overwrite: " + report + " is the test report folder of the training run " + run), over.err());
    }

    /**
     * Nor inside a run folder while a training writes into it: its test/ report is removed when a new best checkpoint
     * replaces the one it described, so an evaluation put there would be lost. Refused before anything is read.
     */
    @Test void evaluateAndExplainDoNotWriteIntoARunBeingTrained(@TempDir Path dir) throws Exception {
        Path live = dir.resolve("live");
        Path report = live.resolve("test");
        try (AutoCloseable training = org.pulmo.train.RunFolder.claim(live, System.out)) {
            Run e = evaluate(report);
            assertEquals(2, e.code(), e.out() + e.err());
            assertTrue(e.err().contains("--out " + report + " is inside " + live + ", which this process is training into"), e.err());
            assertFalse(Files.exists(report), "nothing written");
            Run x = pulmo("explain", "-c", checkpoint.toString(), "--device", "cpu", "--method", "gradcam", "--out", report.toString(), "demo:1");
            assertEquals(2, x.code(), x.out() + x.err());
            assertTrue(x.err().contains("which this process is training into"), x.err());
            // nor through a link to it
            Path link = Files.createSymbolicLink(dir.resolve("link"), live);
            Run l = evaluate(link.resolve("mine"));
            assertEquals(2, l.code(), l.out() + l.err());
            assertTrue(l.err().contains("which this process is training into"), l.err());
        }
        Run after = evaluate(report);   // once the training has ended
        assertEquals(0, after.code(), after.out() + after.err());
        assertTrue(Files.exists(report.resolve("report.txt")));
    }

    /** --split train evaluates the images the checkpoint trained on, on purpose: said in a note. pulmo table keeps an existing --out. */
    @Test void theTrainingPartIsNamedAsSuchAndATableIsKept(@TempDir Path dir) throws Exception {
        Run train = evaluate(dir.resolve("ev-train"), "--split", "train");
        assertEquals(0, train.code(), train.out() + train.err());
        assertTrue(train.out().contains("Note: these are the images the checkpoint trained on"), train.out());
        Run test = evaluate(dir.resolve("ev-test"));
        assertEquals(0, test.code(), test.out() + test.err());
        assertFalse(test.out().contains("images the checkpoint trained on"), test.out());

        Path md = Files.writeString(dir.resolve("table.md"), "earlier\n");
        Run t = pulmo("table", "--row", "A=" + dir.resolve("ev-test"), "--out", md.toString());
        assertEquals(2, t.code(), t.out() + t.err());
        assertTrue(t.err().contains("--out " + md + " exists; give --overwrite"), t.err());
        assertEquals("earlier\n", Files.readString(md));
        Run over = pulmo("table", "--row", "A=" + dir.resolve("ev-test"), "--out", md.toString(), "--overwrite");
        assertEquals(0, over.code(), over.out() + over.err());
        assertTrue(Files.readString(md).contains("| A |"), Files.readString(md));
    }

    @Test void explainKeepsEarlierExplanationsOfTheSameImage(@TempDir Path dir) throws Exception {
        Path ex = dir.resolve("explain");
        String[] args = {"explain", "-c", checkpoint.toString(), "demo:0", "--method", "gradcam", "--layer", "stage2", "--device", "cpu", "--out", ex.toString()};
        assertEquals(0, pulmo(args).code());
        Files.writeString(ex.resolve("demo0_gradcam.csv"), "earlier\n");
        Run again = pulmo(args);
        assertEquals(0, again.code(), again.out() + again.err());
        assertEquals("earlier\n", Files.readString(ex.resolve("demo0_gradcam.csv")));
        assertTrue(Files.exists(dir.resolve("explain2").resolve("demo0_gradcam.csv")), again.out());
        assertTrue(again.out().contains("so this output goes to " + dir.resolve("explain2")), again.out());

        // another image into the same folder: nothing to keep, so it goes there
        Run other = pulmo("explain", "-c", checkpoint.toString(), "demo:1", "--method", "gradcam", "--layer", "stage2", "--device", "cpu", "--out", ex.toString());
        assertEquals(0, other.code(), other.out() + other.err());
        assertTrue(Files.exists(ex.resolve("demo1_gradcam.png")), other.out());
        assertFalse(Files.exists(dir.resolve("explain3")));

        // --overwrite: the earlier LIME files of the same image go too, though only Grad-CAM is drawn now
        Files.writeString(ex.resolve("demo0_lime.csv"), "earlier\n");
        String[] over = java.util.Arrays.copyOf(args, args.length + 1);
        over[args.length] = "--overwrite";
        Run replaced = pulmo(over);
        assertEquals(0, replaced.code(), replaced.out() + replaced.err());
        assertNotEquals("earlier\n", Files.readString(ex.resolve("demo0_gradcam.csv")));
        assertFalse(Files.exists(ex.resolve("demo0_lime.csv")), "a stale LIME map of the earlier explanation stayed");
        assertTrue(Files.exists(ex.resolve("demo1_gradcam.png")), "another image's files are not touched");
    }

    @Test void predictRefusesAnExistingCsv(@TempDir Path dir) throws Exception {
        Path png = dir.resolve("x.png");
        new org.pulmo.data.DemoChestDataset(4, 32, 1).image(0).writePng(png);
        Path csv = dir.resolve("p.csv");
        Files.writeString(csv, "earlier\n");
        Run r = pulmo("predict", "-c", checkpoint.toString(), "--device", "cpu", "--csv", csv.toString(), png.toString());
        assertEquals(2, r.code(), r.out() + r.err());
        assertTrue(r.err().contains("--csv " + csv + " exists; give --overwrite"), r.err());
        assertFalse(r.out().contains("predicted"), "refused before any image is read: " + r.out());
        assertEquals("earlier\n", Files.readString(csv));
        Run over = pulmo("predict", "-c", checkpoint.toString(), "--device", "cpu", "--csv", csv.toString(), "--overwrite", png.toString());
        assertEquals(0, over.code(), over.out() + over.err());
        assertTrue(Files.readString(csv).startsWith("path,predicted,"), "replaced");
        // but never a training run's own file, even when asked (before: metrics.csv replaced by predictions)
        Path metrics = checkpoint.getParent().resolve("metrics.csv");
        String kept = Files.readString(metrics);
        Run intoRun = pulmo("predict", "-c", checkpoint.toString(), "--device", "cpu", "--csv", metrics.toString(), "--overwrite", png.toString());
        assertEquals(2, intoRun.code(), intoRun.out() + intoRun.err());
        assertTrue(intoRun.err().contains("is a file of the training run " + checkpoint.getParent()), intoRun.err());
        assertEquals(kept, Files.readString(metrics));
        Path mine = checkpoint.getParent().resolve("my_predictions.csv");   // a file of the user's own in the run's folder: theirs to replace
        assertEquals(0, pulmo("predict", "-c", checkpoint.toString(), "--device", "cpu", "--csv", mine.toString(), png.toString()).code());
        assertEquals(0, pulmo("predict", "-c", checkpoint.toString(), "--device", "cpu", "--csv", mine.toString(), "--overwrite", png.toString()).code());
        Files.delete(mine);
        Path link = Files.createSymbolicLink(dir.resolve("link.csv"), metrics);   // nor through a link to it (the file it names is what is replaced)
        Run throughLink = pulmo("predict", "-c", checkpoint.toString(), "--device", "cpu", "--csv", link.toString(), "--overwrite", png.toString());
        assertEquals(2, throughLink.code(), throughLink.out() + throughLink.err());
        assertEquals(kept, Files.readString(metrics));
        // a folder that does not exist yet is made when the file is written (checked, not left made, before the work)
        Path inNew = dir.resolve("results/p.csv");
        Run fresh = pulmo("predict", "-c", checkpoint.toString(), "--device", "cpu", "--csv", inNew.toString(), png.toString());
        assertEquals(0, fresh.code(), fresh.out() + fresh.err());
        assertTrue(Files.readString(inNew).startsWith("path,predicted,"));
        // a pipe holds no earlier results: written to without --overwrite, and not replaced by a file (as /dev/stdout)
        org.junit.jupiter.api.Assumptions.assumeTrue(org.pulmo.testing.Children.onPath("mkfifo"), "needs mkfifo");
        Path fifo = dir.resolve("pipe.csv");
        assertEquals(0, new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor());
        java.util.concurrent.CompletableFuture<String> read = java.util.concurrent.CompletableFuture.supplyAsync(() -> {
            try { return Files.readString(fifo); } catch (java.io.IOException e) { return "read failed: " + e; }
        });
        Run pipe = pulmo("predict", "-c", checkpoint.toString(), "--device", "cpu", "--csv", fifo.toString(), png.toString());
        assertEquals(0, pipe.code(), pipe.out() + pipe.err());
        assertTrue(read.get(30, java.util.concurrent.TimeUnit.SECONDS).startsWith("path,predicted,"), "the CSV came through the pipe");
        assertFalse(Files.isRegularFile(fifo), "the pipe is still a pipe");
    }
}
