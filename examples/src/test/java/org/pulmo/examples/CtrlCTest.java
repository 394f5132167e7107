package org.pulmo.examples;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pulmo.io.Safetensors;

/**
 * Ctrl-C for real: {@code pulmo train} runs in a child JVM, gets SIGINT once its first epoch's checkpoint is on
 * disk, and must exit by itself with 130, having written {@code interrupted.safetensors} and left
 * {@code last.safetensors} loadable; {@code --resume} then finishes the run without redoing the finished epochs. Tiny ResNet-18 at 32 x 32 so that
 * it takes seconds. Needs {@code kill} (POSIX), so it skips itself on Windows.
 */
class CtrlCTest {

    /**
     * True when SIGINT is set to be ignored (Linux: bit 2 of SigIgn in /proc/self/status), as a shell does for a
     * job started with {@code &}; the JVM then never runs its shutdown hooks on SIGINT.
     */
    static boolean sigintIgnored() throws IOException {
        Path status = Path.of("/proc/self/status");
        if (!Files.isReadable(status)) return false;
        for (String line : Files.readAllLines(status))
            if (line.startsWith("SigIgn:")) return (Long.parseUnsignedLong(line.substring(7).trim(), 16) & (1L << 1)) != 0;
        return false;
    }

    @Test void sigintSavesExitsCleanlyAndTheRunResumes(@TempDir Path dir) throws Exception {
        assumeTrue(!System.getProperty("os.name").toLowerCase().contains("win"), "SIGINT needs a POSIX kill");
        assumeTrue(!sigintIgnored(), "SIGINT is ignored by this process (the build was started as a background job),"
            + " and the child JVM inherits that, so Ctrl-C cannot reach it; run the tests in the foreground");
        Path out = dir.resolve("run"), log = dir.resolve("child.log");
        Process child = trainingChild(out, log);
        try {
            Path last = out.resolve("last.safetensors");
            Thread.sleep(300);  // into the next epoch's batches (an earlier SIGINT stops after the next epoch's first batch)

            Process kill = new ProcessBuilder("kill", "-INT", Long.toString(child.pid())).inheritIO().start();
            assertEquals(0, kill.waitFor(), "kill -INT failed");
            assertTrue(child.waitFor(30, TimeUnit.SECONDS), "the child did not exit within 30 s of SIGINT; output:\n" + read(log));
            String text = read(log);
            assertEquals(130, child.exitValue(), "exit code after Ctrl-C; output:\n" + text);
            assertTrue(text.contains("Interrupted: the weights of this moment are in"), text);
            assertFalse(text.contains("Exception"), text);

            Map<String, String> interrupted = Safetensors.read(out.resolve("interrupted.safetensors")).metadata();
            Map<String, String> kept = Safetensors.read(last).metadata();   // loads: written whole, never torn
            int done = Integer.parseInt(kept.get("epoch"));
            assertTrue(done >= 1, "last.safetensors epoch " + done);
            assertEquals(kept.get("epoch"), interrupted.get("epoch"), "interrupted.safetensors records the epoch it stopped in");

            var record = CliEndToEndTest.runRecord(out);
            assertEquals("interrupted", record.get("status").getAsString(), record.toString());
            assertEquals("stopped by Ctrl-C; --resume continues", record.get("message").getAsString());
            assertEquals(done, record.get("epochs_done").getAsInt(), record.toString());
            assertEquals("interrupted", record.getAsJsonArray("invocations").get(0).getAsJsonObject().get("status").getAsString());

            List<String> before = Files.readAllLines(out.resolve("metrics.csv"));
            assertEquals(done + 1, before.size(), "header + one row per finished epoch before resuming: " + before);
            CliEndToEndTest.Run r = CliEndToEndTest.pulmo(CliEndToEndTest.tinyTrain(out, "--epochs", Integer.toString(done + 1), "--no-evaluate", "--resume"));
            assertEquals(0, r.code(), r.out() + r.err());
            assertTrue(r.out().contains("Resuming from"), r.out());
            // the finished epochs are not trained again: only the last one runs, and their rows (timing included) stay
            for (int e = 1; e <= done; e++) assertFalse(r.out().contains("epoch " + e + "/"), "the resumed run redid epoch " + e + ":\n" + r.out());
            assertTrue(r.out().contains("epoch " + (done + 1) + "/" + (done + 1)), r.out());
            assertEquals(before, Files.readAllLines(out.resolve("metrics.csv")).subList(0, done + 1), "the finished epochs' rows after resuming");
            assertEquals(Integer.toString(done + 1), Safetensors.read(last).metadata().get("epoch"));
            assertEquals(done + 2, Files.readAllLines(out.resolve("metrics.csv")).size(), "header + one row per finished epoch");
            record = CliEndToEndTest.runRecord(out);
            assertEquals("finished", record.get("status").getAsString(), record.toString());
            assertEquals(2, record.getAsJsonArray("invocations").size(), record.toString());
            assertFalse(Files.exists(out.resolve("interrupted.safetensors")), "the stopped moment's weights go once the run continues");
        } finally {
            child.destroyForcibly();
        }
    }

    /** SIGTERM stops as Ctrl-C does, and the exit code says which signal it was (128 + 15), as a shell would. */
    @Test void sigtermStopsTheSameWayAndExitsWith143(@TempDir Path dir) throws Exception {
        assumeTrue(!System.getProperty("os.name").toLowerCase().contains("win"), "SIGTERM needs a POSIX kill");
        Path out = dir.resolve("run"), log = dir.resolve("child.log");
        Process child = trainingChild(out, log);
        try {
            assertEquals(0, new ProcessBuilder("kill", "-TERM", Long.toString(child.pid())).inheritIO().start().waitFor(), "kill -TERM failed");
            assertTrue(child.waitFor(30, TimeUnit.SECONDS), "the child did not exit within 30 s of SIGTERM; output:\n" + read(log));
            assertEquals(143, child.exitValue(), "exit code after SIGTERM; output:\n" + read(log));
            var record = CliEndToEndTest.runRecord(out);
            assertEquals("interrupted", record.get("status").getAsString(), record.toString());
            assertTrue(record.get("message").getAsString().startsWith("stopped by SIGTERM"), record.toString());
        } finally {
            child.destroyForcibly();
        }
    }

    /**
     * A signal during the test-set evaluation after the last epoch (which cannot stop half-way and save) quits at once,
     * saying so, with 143; run.json says the run was interrupted there, not "running". The child's evaluation waits
     * 20 s first ({@code -Dpulmo.test.evaluateDelayMs}), so the signal lands during it whatever the machine's speed.
     */
    @Test void aSignalDuringTheTestEvaluationQuitsAndTheRecordSaysWhere(@TempDir Path dir) throws Exception {
        assumeTrue(!System.getProperty("os.name").toLowerCase().contains("win"), "SIGTERM needs a POSIX kill");
        Path out = dir.resolve("run"), log = dir.resolve("child.log");
        Process child = trainingChild(log, List.of("-Dpulmo.test.evaluateDelayMs=20000"), CliEndToEndTest.tinyTrain(out, "--epochs", "1"));
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(40);
            while (!read(log).contains("Test set, best checkpoint:") && child.isAlive() && System.nanoTime() < deadline) Thread.sleep(50);
            assertTrue(read(log).contains("Test set, best checkpoint:"), "the evaluation never began; output:\n" + read(log));
            assertEquals(0, new ProcessBuilder("kill", "-TERM", Long.toString(child.pid())).inheritIO().start().waitFor(), "kill -TERM failed");
            assertTrue(child.waitFor(15, TimeUnit.SECONDS), "the child did not exit within 15 s of SIGTERM; output:\n" + read(log));
            assertEquals(143, child.exitValue(), "exit code after SIGTERM; output:\n" + read(log));
            assertTrue(read(log).contains("stopped during the test-set evaluation"), read(log));
            var record = CliEndToEndTest.runRecord(out);
            assertEquals("interrupted", record.get("status").getAsString(), record.toString());
            assertTrue(record.get("message").getAsString().contains("during the test-set evaluation"), record.toString());
        } finally {
            child.destroyForcibly();
        }
    }

    /**
     * A second Ctrl-C while the first is still finishing its batch quits at once: exit 130 within seconds, run.json says
     * so and which checkpoint holds the last finished epoch, that checkpoint loads, and {@code --resume} goes on from it.
     * The child's first stop waits 3 s before saving ({@code -Dpulmo.interrupt.saveDelayMs}), so the second signal lands
     * while it is under way whatever the machine's speed.
     */
    @Test void aSecondCtrlCQuitsAtOnceAndSaysWhatIsKept(@TempDir Path dir) throws Exception {
        assumeTrue(!System.getProperty("os.name").toLowerCase().contains("win"), "SIGINT needs a POSIX kill");
        assumeTrue(!sigintIgnored(), "SIGINT is ignored by this process (the build was started as a background job),"
            + " and the child JVM inherits that, so Ctrl-C cannot reach it; run the tests in the foreground");
        Path out = dir.resolve("run"), log = dir.resolve("child.log");
        Process child = trainingChild(log, List.of("-Dpulmo.interrupt.saveDelayMs=3000", "-Dpulmo.interrupt.lastWordMs=10000"),
            CliEndToEndTest.tinyTrain(out, "--epochs", "200", "--no-evaluate"));
        try {
            String pid = Long.toString(child.pid());
            assertEquals(0, new ProcessBuilder("kill", "-INT", pid).inheritIO().start().waitFor(), "kill -INT failed");
            Thread.sleep(300);   // apart, or the kernel merges the two into one pending signal; the first stop takes 3 s more
            assertTrue(child.isAlive(), "the first Ctrl-C's stop ended within 300 ms, before the second; output:\n" + read(log));
            long t0 = System.nanoTime();
            assertEquals(0, new ProcessBuilder("kill", "-INT", pid).inheritIO().start().waitFor(), "the second kill -INT failed");
            assertTrue(child.waitFor(20, TimeUnit.SECONDS), "the child did not quit within 20 s of a second SIGINT; output:\n" + read(log));
            double took = (System.nanoTime() - t0) / 1e9;
            assertEquals(130, child.exitValue(), "exit code after a second Ctrl-C; output:\n" + read(log));
            assertTrue(took < 12, "quitting took " + took + " s");
            assertTrue(read(log).contains("pulmo: quitting at once"), "the second Ctrl-C said nothing; output:\n" + read(log));

            var record = CliEndToEndTest.runRecord(out);
            assertEquals("interrupted", record.get("status").getAsString(), record.toString());
            assertEquals("quit at once by a second Ctrl-C; last.safetensors holds the last finished epoch",
                record.get("message").getAsString(), record.toString());
            assertEquals("interrupted", record.getAsJsonArray("invocations").get(0).getAsJsonObject().get("status").getAsString());
            int done = Integer.parseInt(Safetensors.read(out.resolve("last.safetensors")).metadata().get("epoch"));   // loads: never torn
            assertTrue(done >= 1, "last.safetensors epoch " + done);

            CliEndToEndTest.Run r = CliEndToEndTest.pulmo(CliEndToEndTest.tinyTrain(out, "--epochs", Integer.toString(done + 1), "--no-evaluate", "--resume"));
            assertEquals(0, r.code(), r.out() + r.err());
            assertTrue(r.out().contains("epoch " + (done + 1) + "/" + (done + 1)), r.out());
            assertEquals("finished", CliEndToEndTest.runRecord(out).get("status").getAsString());
        } finally {
            child.destroyForcibly();
        }
    }

    /** A --resume of a folder another process is still training into is refused, naming that process; nothing of its run changes. */
    @Test void aRunBeingTrainedCannotBeResumedFromAnotherProcess(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("run"), log = dir.resolve("child.log");
        Process child = trainingChild(out, log);
        try {
            String before = Files.readString(out.resolve("run.json"));
            CliEndToEndTest.Run r = CliEndToEndTest.pulmo(CliEndToEndTest.tinyTrain(out, "--epochs", "200", "--no-evaluate", "--resume"));
            assertEquals(2, r.code(), r.out() + r.err());
            assertTrue(r.err().contains(out + " is in use: another pulmo process (pid " + child.pid() + ") is training into it"), r.err());
            assertTrue(child.isAlive(), "the training goes on");
            var record = CliEndToEndTest.runRecord(out);
            assertEquals(1, record.getAsJsonArray("invocations").size(), "the refused command is no invocation of the run: " + before);
        } finally {
            child.destroyForcibly();
        }
    }

    /** The second signal's last word is waited for at most the time given: a record blocked on a slow disk cannot keep it. */
    @Test void quittingWaitsForItsLastWordOnlySoLong() {
        java.util.concurrent.atomic.AtomicBoolean said = new java.util.concurrent.atomic.AtomicBoolean();
        Cli.within(() -> said.set(true), 1000);
        assertTrue(said.get(), "a quick last word is waited for");
        java.util.concurrent.CountDownLatch never = new java.util.concurrent.CountDownLatch(1);
        long t0 = System.nanoTime();
        Cli.within(() -> { try { never.await(); } catch (InterruptedException e) { Thread.currentThread().interrupt(); } }, 200);
        double waited = (System.nanoTime() - t0) / 1e9;
        assertTrue(waited >= 0.15 && waited < 5, "waited " + waited + " s for a task that never ends");
        Cli.within(() -> { throw new IllegalStateException("dropped"); }, 1000);   // what it throws goes nowhere
        never.countDown();
    }

    /** A child JVM training the tiny run into {@code out} (output in {@code log}), returned once its first epoch's checkpoint is on disk. */
    private static Process trainingChild(Path out, Path log) throws Exception {
        return trainingChild(log, List.of(), CliEndToEndTest.tinyTrain(out, "--epochs", "200", "--no-evaluate"));
    }

    /**
     * A child JVM (with {@code jvmOptions}) running {@code pulmo args}, a training whose {@code --out} is the args' own,
     * returned once its first epoch's checkpoint is on disk.
     */
    private static Process trainingChild(Path log, List<String> jvmOptions, String... args) throws Exception {
        Path out = Path.of(args[List.of(args).indexOf("--out") + 1]);
        List<String> cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
            "--add-modules", "jdk.incubator.vector", "-Xmx1g"));
        cmd.addAll(jvmOptions);
        cmd.addAll(List.of("-cp", System.getProperty("java.class.path"), Main.class.getName()));
        cmd.addAll(List.of(args));
        Process child = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        Path last = out.resolve("last.safetensors");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(40);
        while (!Files.exists(last) && child.isAlive() && System.nanoTime() < deadline) Thread.sleep(50);
        if (!Files.exists(last)) {
            child.destroyForcibly();
            throw new AssertionError("no checkpoint after the first epoch; child output:\n" + read(log));
        }
        return child;
    }

    private static String read(Path log) throws IOException {
        return Files.exists(log) ? Files.readString(log, StandardCharsets.UTF_8) : "";
    }
}
