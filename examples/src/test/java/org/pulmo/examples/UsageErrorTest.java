package org.pulmo.examples;

import static org.junit.jupiter.api.Assertions.*;
import static org.pulmo.examples.CliEndToEndTest.pulmo;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pulmo.examples.CliEndToEndTest.Run;

/** Usage errors are one line and a hint, in every command; no stack trace, no page of help. */
class UsageErrorTest {

    /** A thread count that is not one (PULMO_JAVA_OPTS=-Dpulmo.threads=...) is a usage error, not the default in silence. */
    @Test void aBadThreadCountIsRefusedNamingIt() {
        String before = System.getProperty("pulmo.threads");
        try {
            for (String bad : new String[] {"0", "abc", "-2"}) {
                System.setProperty("pulmo.threads", bad);
                Run r = pulmo("summary", "resnet18");
                assertEquals(2, r.code(), bad);
                assertEquals("pulmo: -Dpulmo.threads=" + bad + ": give a whole number of CPU threads, at least 1", r.err().strip());
            }
        } finally {
            if (before == null) System.clearProperty("pulmo.threads");
            else System.setProperty("pulmo.threads", before);
        }
    }

    /** Before: the message and then the command's whole help (60 lines for train). */
    @Test void anUnknownOptionIsOneLineWithAHint() {
        Run r = pulmo("train", "--epoch", "3");
        assertEquals(2, r.code());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertTrue(r.err().startsWith("pulmo train: Unknown options: '--epoch', '3'"), r.err());
        assertTrue(r.err().strip().endsWith("see pulmo train --help"), r.err());
        assertTrue(r.err().contains("did you mean --epochs"), r.err());
        Run top = pulmo("frobnicate");   // an unknown command: "pulmo: ...", not "pulmo pulmo: ..."
        assertEquals(2, top.code());
        assertTrue(top.err().startsWith("pulmo: ") && top.err().strip().endsWith("see pulmo --help"), top.err());
    }

    @Test void aMissingValueIsOneLineWithAHint() {
        for (String cmd : new String[] {"predict", "evaluate", "explain"}) {
            Run r = pulmo(cmd, "-c");
            assertEquals(2, r.code(), cmd);
            assertEquals(1, r.err().strip().lines().count(), cmd + ": " + r.err());
            assertTrue(r.err().strip().endsWith("see pulmo " + cmd + " --help"), r.err());
        }
        Run bare = pulmo("summary");   // before: the model list and exit 2 without a word of why
        assertEquals(2, bare.code());
        assertTrue(bare.out().contains("dpn92-se") && bare.err().contains("pulmo summary: name a model"), bare.err());
        Run r = pulmo("summary", "resnet18", "--classes", "two");
        assertEquals(2, r.code());
        assertEquals("pulmo summary: Invalid value for option '--classes': 'two' is not an int; see pulmo summary --help", r.err().strip());
        // before: "conv2d: x has 3 values, expected -4611686031312289789"
        Run huge = pulmo("summary", "resnet18", "--image-size", "2147483647");
        assertEquals(2, huge.code());
        assertEquals("pulmo summary: --image-size must be 32 to 4096 for resnet18, got 2147483647", huge.err().strip());
    }

    /**
     * Before: step:1:-1 trained epoch 2 at a negative rate and step:1:0 at zero with exit 0; cosine:3 and step:1:0.5:x
     * dropped their extra text; step:1:NaN and cuda:x answered only "For input string". Each is refused naming the option.
     */
    @Test void schedulesThatCannotLearnAndMalformedValuesNameTheOption(@TempDir Path dir) {
        String[][] cases = {
            {"--schedule", "step:1:-1", "--schedule 'step:1:-1': FACTOR must be a positive number, got -1 (the learning rate would stop or turn negative)"},
            {"--schedule", "step:1:0", "FACTOR must be a positive number, got 0"},
            {"--schedule", "step:1:1e999", "FACTOR must be a positive number, got 1e999"},
            {"--schedule", "step:1:NaN", "--schedule 'step:1:NaN': PERIOD must be a whole number of epochs and FACTOR a number"},
            {"--schedule", "step:1.5:0.5", "--schedule 'step:1.5:0.5': PERIOD must be a whole number of epochs"},
            {"--schedule", "step:0:0.5", "PERIOD must be at least 1 epoch, got 0"},
            {"--schedule", "cosine:3", "--schedule 'cosine:3': only step takes parameters"},
            {"--schedule", "step:1:0.5:extra", "--schedule 'step:1:0.5:extra': step takes two parameters, PERIOD and FACTOR"},
            {"--schedule", "step:30", "step takes two parameters"},
            {"--schedule", "linear", "--schedule 'linear' is unknown; choose step"},
            {"--device", "cuda:x", "--device: unknown device 'cuda:x' (expected cpu, cuda or cuda:N"},
            {"--precision", "bf16", "--precision must be fp32 or tf32, got 'bf16'"},
            {"--image-size", "2147483647", "--image-size must be at most 4096 (the papers train at 224), got 2147483647"},
        };
        for (String[] c : cases) {
            Run r = pulmo("train", "--data", "demo", "--demo-images", "8", "--batch-size", "4", "--epochs", "2", c[0], c[1], "--out", dir.resolve("o").toString());
            assertEquals(2, r.code(), c[1] + ": " + r.out() + r.err());
            assertEquals(1, r.err().strip().lines().count(), r.err());
            assertTrue(r.err().contains(c[2]), c[1] + ": " + r.err());
            assertFalse(Files.exists(dir.resolve("o")), c[1] + ": refused before anything was written");
        }
        // before: trained on a silent minimum of 8 images with exit 0
        Run few = pulmo("train", "--data", "demo", "--demo-images", "5", "--batch-size", "4", "--epochs", "1", "--out", dir.resolve("o").toString());
        assertEquals(2, few.code(), few.out() + few.err());
        assertEquals("pulmo train: --demo-images must be at least 8 (two of each class), got 5", few.err().strip());
        assertFalse(Files.exists(dir.resolve("o")));
    }

    /** Checking a folder that does not exist yet removes what it made, and nothing that was there before, empty or not. */
    @Test void checkingAnOutputFolderLeavesAnEmptyFolderAboveIt(@TempDir Path dir) throws Exception {
        Path empty = Files.createDirectories(dir.resolve("empty"));
        Cli.checkOutputFolder(empty.resolve("new/run"), "--out");
        assertFalse(Files.exists(empty.resolve("new")));
        assertTrue(Files.isDirectory(empty), "a folder that was there before is not removed");
    }

    /** Before: --no-mab and the other MA-Net switches on another model trained that model without a word. */
    @Test void maNetSwitchesOnAnotherModelAreRefused(@TempDir Path dir) {
        Run r = pulmo("train", "--model", "resnet18", "--data", "demo", "--demo-images", "8", "--epochs", "1", "--no-mab", "--manet-loss", "ce",
            "--out", dir.resolve("o").toString());
        assertEquals(2, r.code(), r.out() + r.err());
        assertEquals("pulmo train: --no-mab, --manet-loss apply to MA-Net models only (manet-resnet50, manet-densenet169), not to resnet18", r.err().strip());
        assertFalse(Files.exists(dir.resolve("o")), "refused before anything was written");
    }

    /** Before: "--layer list" still asked for an IMAGE, though it lists the layers of the checkpoint's model. */
    @Test void explainListsLayersWithoutAnImageAndAsksForOneOtherwise(@TempDir Path dir) {
        Run none = pulmo("explain", "-c", dir.resolve("none.safetensors").toString());
        assertEquals(2, none.code());
        assertEquals("pulmo explain: no image to explain: give one or more IMAGE (or demo:N)", none.err().strip());
        Run list = pulmo("explain", "-c", dir.resolve("none.safetensors").toString(), "--layer", "list");
        assertEquals(2, list.code());
        assertTrue(list.err().contains("none.safetensors") && !list.err().contains("IMAGE"), "it goes on to read the checkpoint: " + list.err());
    }

    /** Before: an --out that could not be made failed after the data was read and checked; the evaluation after the model ran. */
    @Test void anOutputFolderThatCannotBeMadeIsSaidFirstAndNothingIsLeftBehind(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("a-file"), "x");
        Run t = pulmo("train", "--data", dir.resolve("no-such-data").toString(), "--epochs", "1", "--out", dir.resolve("a-file/run").toString());
        assertEquals(2, t.code(), t.out() + t.err());
        assertTrue(t.err().contains("pulmo train: --out " + dir.resolve("a-file/run") + ": cannot create the folder"), t.err());
        Run e = pulmo("evaluate", "-c", dir.resolve("none.safetensors").toString(), "--out", dir.resolve("a-file/ev").toString());
        assertEquals(2, e.code(), e.out() + e.err());
        assertTrue(e.err().contains("--out " + dir.resolve("a-file/ev") + ": cannot create the folder"), e.err());
        // a folder that can be made is checked without being left behind (inside a data folder it would read as a class)
        Run ok = pulmo("train", "--data", dir.resolve("no-such-data").toString(), "--epochs", "1", "--out", dir.resolve("new/run").toString());
        assertEquals(2, ok.code(), ok.out() + ok.err());
        assertTrue(ok.err().contains("data folder does not exist"), ok.err());
        assertTrue(!Files.exists(dir.resolve("new")), "the checked folder is gone again");
    }

    /** Before: PatternSyntaxException's three lines (description, pattern, caret), not naming the option. */
    @Test void aBadGroupPatternNamesTheOption(@TempDir Path dir) throws Exception {
        for (String c : new String[] {"a", "b"}) {
            Files.createDirectories(dir.resolve(c));
            for (int i = 0; i < 3; i++) Files.writeString(dir.resolve(c).resolve("p" + i + "_" + c + ".png"), "not read");
        }
        Run r = pulmo("train", "--data", dir.toString(), "--group-pattern", "(p\\d+", "--epochs", "1", "--out", dir.resolve("o").toString());
        assertEquals(2, r.code(), r.out() + r.err());
        String last = r.err().strip().lines().toList().getLast();   // after the log line naming the device
        assertTrue(last.startsWith("pulmo train: --group-pattern '(p\\d+' is not a valid regular expression: Unclosed group"), r.err());
        assertFalse(r.err().contains("^"), "no caret line: " + r.err());
        r = pulmo("train", "--data", dir.toString(), "--group-pattern", "p\\d+", "--epochs", "1", "--out", dir.resolve("o").toString());
        assertEquals(2, r.code(), r.out() + r.err());
        assertTrue(r.err().contains("--group-pattern 'p\\d+' needs one capture group"), r.err());
        // on the demo data, whose parts are fixed, a split option is refused rather than ignored
        Run demo = pulmo("train", "--data", "demo", "--val-fraction", "1.5", "--split-seed", "3", "--epochs", "1", "--out", dir.resolve("d").toString());
        assertEquals(2, demo.code(), demo.out() + demo.err());
        assertTrue(demo.err().contains("--val-fraction, --split-seed: the demo data comes in fixed parts"), demo.err());
    }

    /** Before: an unexpected error printed picocli's stack trace. */
    @Test void describeGivesFileSystemErrorsTheirCause() {
        assertEquals("/x/y: permission denied", Cli.describe(new java.nio.file.AccessDeniedException("/x/y")));
        assertEquals("/x/y: already exists", Cli.describe(new java.nio.file.FileAlreadyExistsException("/x/y")));
        assertTrue(Cli.describe(new NullPointerException("boom")).startsWith("internal error: java.lang.NullPointerException: boom"));
    }

    /** A GPU out of memory (the allocator's refusal, wrapped or not; a cuDNN call that could not allocate) gives advice, not "internal error". */
    @Test void aGpuOutOfMemoryGivesTheAdvice() {
        var stats = new org.pulmo.cuda.CudaAllocator.Stats(70L << 30, 1L << 30, 75L << 30, 900, 12, 950, 78L << 30);
        var oom = new org.pulmo.cuda.CudaOutOfMemoryException(3L << 30, stats, "CUDA_ERROR_OUT_OF_MEMORY");
        for (Throwable e : List.of(oom, new RuntimeException("the training step failed", oom),
                new org.pulmo.cuda.CudaException("cuDNN call cudnnBackendExecute failed: CUDNN_STATUS_ALLOC_FAILED (2001)"))) {
            String m = Cli.describe(e);
            assertTrue(m.startsWith("out of GPU memory: ") && m.contains("--batch-size") && !m.contains("internal error"), m);
            assertEquals(m, Cli.failure(e), "run.json records the same line");
        }
        assertTrue(Cli.describe(oom).contains("could not allocate 3.00 GiB"), Cli.describe(oom));
        assertTrue(Cli.describe(new org.pulmo.cuda.CudaException("CUDA call cuLaunchKernel failed: CUDA_ERROR_ILLEGAL_ADDRESS (700)"))
            .startsWith("internal error: "), "any other CUDA failure is still a bug to report");
    }

    /** run.json's message of a run that ran out of memory gives the advice, not "internal error: java.lang.OutOfMemoryError". */
    @Test void aRecordOfARunOutOfMemoryGivesTheAdvice() {
        String m = Cli.failure(new OutOfMemoryError("Java heap space"));
        assertTrue(m.startsWith("out of memory (Java heap space, Java may use ") && m.contains("PULMO_JAVA_OPTS=-Xmx"), m);
        assertEquals(Cli.describe(new java.nio.file.AccessDeniedException("/x/y")), Cli.failure(new java.nio.file.AccessDeniedException("/x/y")));
    }
}
