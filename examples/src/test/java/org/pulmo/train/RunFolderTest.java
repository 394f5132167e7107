package org.pulmo.train;

import static org.junit.jupiter.api.Assertions.*;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Where a run writes: a folder holding a run is never reused unless asked (--resume, --overwrite). */
class RunFolderTest {

    @Test void aMissingOrEmptyFolderIsUsedAndARunsFolderIsNumbered(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("train");
        assertEquals(out, RunFolder.choose(out, false, false).dir());
        Files.createDirectories(out);
        Files.writeString(out.resolve("unrelated.txt"), "x");
        assertEquals(out, RunFolder.choose(out, false, false).dir(), "no run files: the folder is free");
        Files.writeString(out.resolve("metrics.csv"), "x");
        assertEquals(dir.resolve("train2"), RunFolder.choose(out, false, false).dir());
        Files.writeString(dir.resolve("train2"), "a file, not a folder");
        assertEquals(dir.resolve("train3"), RunFolder.choose(out, false, false).dir());
        Path numbered = dir.resolve("run3");
        Files.createDirectories(numbered);
        Files.writeString(numbered.resolve("metrics.csv"), "epoch\n");
        assertEquals(dir.resolve("run3-2"), RunFolder.choose(numbered, false, false).dir(), "not run32");
    }

    @Test void overwriteClearsOnlyTheRunsFilesAndOnlyWhenAsked(@TempDir Path dir) throws Exception {
        Path out = Files.createDirectories(dir.resolve("run").resolve("test"));
        out = out.getParent();
        Files.writeString(out.resolve("best.safetensors"), "x");
        Files.writeString(out.resolve("test").resolve("report.txt"), "x");
        Files.writeString(out.resolve("mine.txt"), "x");
        Files.writeString(out.resolve(RunRecord.FILE), "{\"status\": \"finished\"}");
        RunFolder.Choice c = RunFolder.choose(out, false, true);
        assertEquals(out, c.dir());
        // the record is removed first, so that a removal stopped part-way leaves no "finished" beside missing files
        assertEquals(out.resolve(RunRecord.FILE), c.stale().getFirst(), c.stale().toString());
        assertEquals(3, c.stale().size(), c.stale().toString());
        assertTrue(Files.exists(out.resolve("best.safetensors")), "choose must not remove anything");
        c.clear();
        assertFalse(Files.exists(out.resolve("best.safetensors")));
        assertFalse(Files.exists(out.resolve("test")));
        assertFalse(Files.exists(out.resolve(RunRecord.FILE)));
        assertTrue(Files.exists(out.resolve("mine.txt")));
    }

    @Test void resumeNeedsACheckpointAndAFileIsNoFolder(@TempDir Path dir) throws Exception {
        Exception e = assertThrows(java.io.IOException.class, () -> RunFolder.choose(dir.resolve("none"), true, false));
        assertTrue(e.getMessage().contains("no checkpoint"), e.getMessage());
        Path file = Files.writeString(dir.resolve("f"), "x");
        e = assertThrows(IllegalArgumentException.class, () -> RunFolder.choose(file, false, false));
        assertTrue(e.getMessage().contains("is a file"), e.getMessage());
    }


    /** A run interrupted after its first epoch (no last checkpoint kept) is not started over, its files not cleared. */
    @Test void aRunInterruptedLaterIsNotStartedOver(@TempDir Path dir) throws Exception {
        Path out = Files.createDirectories(dir.resolve("run"));
        Files.write(out.resolve(Trainer.INTERRUPTED), org.pulmo.io.Safetensors.encode(java.util.Map.of(), java.util.Map.of("epoch", "2")));
        Files.writeString(out.resolve("metrics.csv"), "x");
        Exception e = assertThrows(java.io.IOException.class, () -> RunFolder.choose(out, true, false));
        assertTrue(e.getMessage().contains("no checkpoint"), e.getMessage());
    }

    /**
     * A record of an earlier version said epoch 1 was done as its checkpoint was handed to the writer thread; a process
     * killed in the fraction of a second before that checkpoint reached the disk left no checkpoint, and --resume refused
     * the folder. It starts over; a finished run whose checkpoints are gone does not.
     */
    @Test void aRunKilledBeforeItsFirstCheckpointWasOnDiskStartsOver(@TempDir Path dir) throws Exception {
        Path out = Files.createDirectories(dir.resolve("run"));
        Files.writeString(out.resolve(RunRecord.FILE), "{\"status\": \"running\", \"epochs_done\": 1, \"invocations\": []}");
        Files.writeString(out.resolve("metrics.csv"), "epoch\n1\n");
        Files.writeString(out.resolve(".last.safetensors.123.tmp"), "");
        RunFolder.Choice c = RunFolder.choose(out, true, false);
        assertTrue(c.startOver());
        assertTrue(c.stale().contains(out.resolve("metrics.csv")), c.stale().toString());
        Files.writeString(out.resolve(RunRecord.FILE), "{\"status\": \"running\", \"epochs_done\": 2, \"invocations\": []}");
        assertThrows(java.io.IOException.class, () -> RunFolder.choose(out, true, false), "epoch 2: epoch 1's checkpoint was written before");
        Files.writeString(out.resolve(RunRecord.FILE), "{\"status\": \"finished\", \"epochs_done\": 1, \"invocations\": []}");
        Exception e = assertThrows(java.io.IOException.class, () -> RunFolder.choose(out, true, false));
        assertTrue(e.getMessage().contains("no checkpoint"), e.getMessage());
    }

    /** Starting over keeps run.json (it records both invocations) and removes the rest. */
    @Test void startingOverKeepsRunJson(@TempDir Path dir) throws Exception {
        Path out = Files.createDirectories(dir.resolve("run"));
        Files.write(out.resolve(Trainer.INTERRUPTED), org.pulmo.io.Safetensors.encode(java.util.Map.of(), java.util.Map.of("epoch", "0")));
        Files.writeString(out.resolve(RunRecord.FILE), "{}");
        RunFolder.Choice c = RunFolder.choose(out, true, false);
        assertTrue(c.startOver());
        assertEquals(java.util.List.of(out.resolve(Trainer.INTERRUPTED)), c.stale());
    }

    /**
     * --resume removes the interrupted weights at once, and leaves the test report to the trainer, which removes it when
     * the best checkpoint it described is replaced (TrainerBestAndResumeTest): a resume that fails first loses nothing.
     */
    @Test void resumeRemovesTheInterruptedWeightsAndKeepsTheTestReport(@TempDir Path dir) throws Exception {
        Path out = Files.createDirectories(dir.resolve("run").resolve("test")).getParent();
        Files.writeString(out.resolve(Trainer.LAST), "x");
        Files.writeString(out.resolve("test/report.txt"), "x");
        Files.writeString(out.resolve(Trainer.INTERRUPTED), "x");
        RunFolder.Choice c = RunFolder.choose(out, true, false);
        assertFalse(c.startOver());
        assertEquals(java.util.List.of(out.resolve(Trainer.INTERRUPTED)), c.stale());
    }

    /** One training process per folder: a second claim is refused, naming the holder, until the first is given up. */
    @Test void aFolderIsClaimedByOneTrainingAtATime(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("run");
        AutoCloseable first = RunFolder.claim(out, System.out);
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class, () -> RunFolder.claim(out, System.out));
        assertEquals(out + " is in use: this process is already training into it", e.getMessage());
        // the refused claim gave up nothing: another process is still refused, and told which process holds the folder
        String other = probe(dir, out);
        assertEquals(out + " is in use: another pulmo process (pid " + ProcessHandle.current().pid() + ") is training into it; wait until"
            + " it ends, or give another --out", other);
        // and other commands can tell who trains into it (so as not to write into it meanwhile)
        assertEquals(java.util.Optional.of("this process"), RunFolder.trainer(out));
        assertEquals("pulmo process " + ProcessHandle.current().pid(), probeTrainer(dir, out));
        first.close();
        assertEquals(java.util.Optional.empty(), RunFolder.trainer(out));
        assertEquals("nobody", probeTrainer(dir, out));
        assertEquals("claimed", probe(dir, out));
        RunFolder.claim(out, System.out).close();   // free again
        assertFalse(RunFolder.holdsRun(out), "the lock file alone is not a run");
        assertEquals(out, RunFolder.choose(out, false, false).dir());
    }

    /**
     * A lock file can be written by whoever may write into its folder (whatever the umask), so that a team member can
     * resume another's finished run in a shared folder: here a group-writable folder gives a group-writable lock, a
     * private folder a private one.
     */
    @Test void theLockFileIsWritableByWhoeverMayWriteTheFolder(@TempDir Path dir) throws Exception {
        org.junit.jupiter.api.Assumptions.assumeTrue(dir.getFileSystem().supportedFileAttributeViews().contains("posix"), "POSIX permissions");
        Path shared = Files.createDirectory(dir.resolve("shared")), own = Files.createDirectory(dir.resolve("own"));
        Files.setPosixFilePermissions(shared, java.nio.file.attribute.PosixFilePermissions.fromString("rwxrwxr-x"));
        Files.setPosixFilePermissions(own, java.nio.file.attribute.PosixFilePermissions.fromString("rwxr-xr-x"));
        RunFolder.claim(shared, System.out).close();
        RunFolder.claim(own, System.out).close();
        assertEquals("rw-rw----", java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(shared.resolve(RunFolder.LOCK))));
        assertEquals("rw-------", java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(own.resolve(RunFolder.LOCK))));
        Files.setPosixFilePermissions(shared.resolve(RunFolder.LOCK), java.nio.file.attribute.PosixFilePermissions.fromString("rw-r--r--"));
        RunFolder.claim(shared, System.out).close();   // a lock made earlier keeps its permissions (not its maker's to change here)
        assertEquals("rw-r--r--", java.nio.file.attribute.PosixFilePermissions.toString(Files.getPosixFilePermissions(shared.resolve(RunFolder.LOCK))));
    }

    /** A folder holding only run.json (a run stopped before it wrote anything else) holds a run. */
    @Test void aFolderWithOnlyRunJsonHoldsARun(@TempDir Path dir) throws Exception {
        Path out = Files.createDirectories(dir.resolve("run"));
        Files.writeString(out.resolve(RunRecord.FILE), "{}");
        assertEquals(dir.resolve("run2"), RunFolder.choose(out, false, false).dir());
    }

    @Test void aDataSetsTestFolderIsNeitherARunNorRemoved(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("data");
        Path images = Files.createDirectories(out.resolve("test").resolve("covid"));
        Files.writeString(images.resolve("1.jpg"), "x");
        for (boolean overwrite : new boolean[] {false, true}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> RunFolder.choose(out, false, overwrite));
            assertTrue(e.getMessage().contains("test/ folder that is not a Pulmo report"), e.getMessage());
        }
        assertFalse(RunFolder.holdsRun(out), "images in test/ are no run");
        assertTrue(Files.exists(images.resolve("1.jpg")));
        // an empty test/ is no run either, and is not in the way
        Files.delete(images.resolve("1.jpg"));
        Files.delete(images);
        assertEquals(out, RunFolder.choose(out, false, false).dir());
        // a report there is the run's: numbered without --overwrite, removed with it
        Files.writeString(out.resolve("test").resolve("report.txt"), "x");
        assertEquals(dir.resolve("data2"), RunFolder.choose(out, false, false).dir());
        RunFolder.choose(out, false, true).clear();
        assertFalse(Files.exists(out.resolve("test")));
        // a file named test is in the report's way too
        Files.writeString(out.resolve("test"), "#!/bin/sh");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> RunFolder.choose(out, false, false));
        assertTrue(e.getMessage().contains("has a file named test"), e.getMessage());
    }

    /** What {@link ClaimProbe}, in a child JVM, says of claiming {@code out}. */
    private static String probe(Path dir, Path out) throws Exception {
        return probeLines(dir, out.toString()).reduce((a, b) -> b).orElse("");
    }

    /** Who {@link ClaimProbe}, in a child JVM, sees training into {@code out} ({@link RunFolder#trainer}). */
    private static String probeTrainer(Path dir, Path out) throws Exception {
        return probeLines(dir, out.toString(), "trainer").findFirst().orElse("");
    }

    private static java.util.stream.Stream<String> probeLines(Path dir, String... args) throws Exception {
        java.util.List<String> cmd = new java.util.ArrayList<>(org.pulmo.testing.Children.java(java.util.List.of("-Xmx64m")));
        cmd.add(ClaimProbe.class.getName());
        cmd.addAll(java.util.List.of(args));
        var c = org.pulmo.testing.Children.run(cmd, java.util.Map.of(), 60, dir.resolve("probe.log"), "claim probe");
        assertEquals(0, c.code(), c.tail());
        return c.output().strip().lines().filter(l -> !l.startsWith("WARNING"));
    }
}
