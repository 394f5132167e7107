package org.pulmo.io;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pulmo.nn.BatchNorm2d;
import org.pulmo.nn.Conv2d;
import org.pulmo.nn.Dropout;
import org.pulmo.nn.GlobalAvgPool;
import org.pulmo.nn.Linear;
import org.pulmo.nn.ReLU;
import org.pulmo.nn.Sequential;
import org.pulmo.nn.loss.Losses;
import org.pulmo.optim.LrSchedule;
import org.pulmo.optim.Sgd;
import org.pulmo.tensor.Rng;
import org.pulmo.tensor.Tensor;

class CheckpointTest {
    @TempDir Path dir;

    /** Everything a training run owns: model (with a dropout generator), optimiser, data order generator. */
    static final class Run {
        final Rng dropoutRng, dataRng;
        final Sequential model;
        final Sgd sgd;
        final LrSchedule schedule = new LrSchedule.Step(0.1, 1, 0.5);
        int epoch;
        long step;

        Run(long seed) {
            Rng init = new Rng(seed);
            dropoutRng = new Rng(seed + 1);
            dataRng = new Rng(seed + 2);
            model = new Sequential(new Conv2d(1, 4, 3, 1, 1, false, init), new BatchNorm2d(4), new ReLU(),
                new GlobalAvgPool(), new Dropout(0.2f, dropoutRng), new Linear(4, 3, init));
            sgd = Sgd.forModule(model, 0.1f, 0.9f, 1e-3f, false, true);
        }

        Map<String, Rng> rngs() { return Map.of("dropout", dropoutRng, "data", dataRng); }

        void trainEpoch(Tensor images, float[] labels) {
            int n = labels.length, batch = 6;
            sgd.setLr((float) schedule.lr(epoch));
            int[] order = org.pulmo.autograd.GradCheck.permutation(dataRng, n);
            for (int s = 0; s + batch <= n; s += batch) {
                float[] y = new float[batch];
                Tensor[] xs = new Tensor[batch];
                for (int i = 0; i < batch; i++) {
                    xs[i] = images.narrow(0, order[s + i], 1);
                    y[i] = labels[order[s + i]];
                }
                sgd.zeroGrad();
                Losses.crossEntropy(model.forward(Tensor.cat(0, xs)), Tensor.of(y, batch)).backward();
                sgd.step();
                step++;
            }
            epoch++;
        }
    }

    private static void assertBitEqual(Map<String, Tensor> a, Map<String, Tensor> b) {
        assertEquals(a.keySet(), b.keySet());
        for (var e : a.entrySet()) {
            float[] x = e.getValue().toArray(), y = b.get(e.getKey()).toArray();
            assertEquals(x.length, y.length);
            for (int i = 0; i < x.length; i++)
                assertEquals(Float.floatToRawIntBits(x[i]), Float.floatToRawIntBits(y[i]), e.getKey() + "[" + i + "]");
        }
    }

    @Test void resumingFromACheckpointIsBitForBitTheSameAsNotStopping() throws IOException {
        Rng data = new Rng(77);
        Tensor images = Tensor.randn(data, 24, 1, 6, 6);
        float[] labels = new float[24];
        for (int i = 0; i < 24; i++) labels[i] = i % 3;

        Run straight = new Run(5);
        for (int e = 0; e < 4; e++) straight.trainEpoch(images, labels);

        Run first = new Run(5);
        for (int e = 0; e < 2; e++) first.trainEpoch(images, labels);
        Path f = dir.resolve("ckpt.safetensors");
        Checkpoint.save(f, first.model, first.sgd, first.epoch, first.step, first.rngs());

        Run resumed = new Run(999); // different weights and generators: everything must come from the file
        Checkpoint.Info info = Checkpoint.load(f, resumed.model, resumed.sgd, resumed.rngs());
        resumed.epoch = info.epoch();
        resumed.step = info.step();
        assertEquals(2, info.epoch());
        assertEquals(first.sgd.lr(), resumed.sgd.lr());
        for (int e = 0; e < 2; e++) resumed.trainEpoch(images, labels);

        assertBitEqual(straight.model.stateDict(), resumed.model.stateDict());
        assertBitEqual(straight.sgd.stateDict(), resumed.sgd.stateDict());
        assertEquals(straight.step, resumed.step);
        assertArrayEquals(straight.dataRng.getState(), resumed.dataRng.getState());
    }

    @Test void aBadCheckpointLoadsNothing() throws IOException {
        Run a = new Run(1);
        Path f = dir.resolve("a.safetensors");
        Checkpoint.save(f, a.model, a.sgd, 3, 10, a.rngs());

        Run other = new Run(2);
        Map<String, Tensor> before = other.model.stateDict();
        float[] w = before.get("0.weight").toArray();
        long[] rngBefore = other.dataRng.getState();

        // a model of another shape
        Sequential different = new Sequential(new Conv2d(1, 5, 3, 1, 1, false, new Rng(1)), new BatchNorm2d(5));
        SafetensorsException e = assertThrows(SafetensorsException.class, () -> Checkpoint.load(f, different, null, Map.of()));
        assertTrue(e.getMessage().contains("a.safetensors") && e.getMessage().contains("nothing was loaded"), e.getMessage());

        // a generator the file does not have
        Map<String, Rng> rngs = Map.of("data", other.dataRng, "augment", new Rng(1));
        e = assertThrows(SafetensorsException.class, () -> Checkpoint.load(f, other.model, other.sgd, rngs));
        assertTrue(e.getMessage().contains("augment"), e.getMessage());
        assertArrayEquals(w, other.model.stateDict().get("0.weight").toArray(), "model untouched");
        assertArrayEquals(rngBefore, other.dataRng.getState(), "generators untouched");
        assertTrue(other.sgd.stateDict().isEmpty(), "optimiser untouched");

        // truncated on disk
        byte[] bytes = Files.readAllBytes(f);
        Path cut = dir.resolve("cut.safetensors");
        Files.write(cut, java.util.Arrays.copyOf(bytes, bytes.length / 2));
        e = assertThrows(SafetensorsException.class, () -> Checkpoint.load(cut, other.model, other.sgd, other.rngs()));
        assertTrue(e.getMessage().startsWith(cut.toString()) && e.getMessage().contains("truncated"), e.getMessage());
        assertArrayEquals(w, other.model.stateDict().get("0.weight").toArray());

        // a learning rate the optimiser would refuse (-infinity): refused with the file, before anything is loaded
        var read = Safetensors.read(f);
        Map<String, String> meta = new java.util.LinkedHashMap<>(read.metadata());
        meta.put("lr", "ff800000");
        Path badLr = dir.resolve("lr.safetensors");
        Safetensors.write(badLr, read.tensors(), meta);
        e = assertThrows(SafetensorsException.class, () -> Checkpoint.load(badLr, other.model, other.sgd, Map.of("data", other.dataRng)));
        assertTrue(e.getMessage().startsWith(badLr.toString()) && e.getMessage().contains("metadata field 'lr' is -Infinity"), e.getMessage());
        assertArrayEquals(w, other.model.stateDict().get("0.weight").toArray());

        // plain weights are not a training checkpoint
        Path weights = dir.resolve("weights.safetensors");
        Safetensors.save(weights, a.model, Map.of());
        e = assertThrows(SafetensorsException.class, () -> Checkpoint.load(weights, other.model, other.sgd, Map.of()));
        assertTrue(e.getMessage().contains("not a Pulmo training checkpoint"), e.getMessage());
    }

    @Test void savingOverAnExistingCheckpointReplacesItWhole() throws IOException {
        Run a = new Run(1);
        Path f = dir.resolve("c.safetensors");
        Checkpoint.save(f, a.model, a.sgd, 1, 1, a.rngs());
        Checkpoint.save(f, a.model, a.sgd, 2, 5, a.rngs());
        Run b = new Run(2);
        assertEquals(2, Checkpoint.load(f, b.model, b.sgd, b.rngs()).epoch());
        try (var s = Files.list(dir)) { assertEquals(1, s.count()); }
    }

    /** The offset of the data section: 8 + the header length. */
    private static int dataStart(byte[] file) {
        return 8 + (int) java.nio.ByteBuffer.wrap(file).order(java.nio.ByteOrder.LITTLE_ENDIAN).getLong();
    }

    @Test void aCorruptedTensorByteIsCaughtByTheDigest() throws IOException {
        Run a = new Run(1);
        Path f = dir.resolve("best.safetensors");
        Checkpoint.save(f, a.model, a.sgd, 1, 1, a.rngs());
        byte[] bytes = Files.readAllBytes(f);
        bytes[dataStart(bytes) + 5] ^= 0x01; // one flipped bit in the first tensor: still a finite float
        Files.write(f, bytes);
        Run b = new Run(2);
        float[] before = b.model.stateDict().get("0.weight").toArray();
        SafetensorsException e = assertThrows(SafetensorsException.class, () -> Checkpoint.load(f, b.model, b.sgd, b.rngs()));
        assertEquals(f + ": tensor data does not match its recorded digest (first at tensor 'model.0.weight'): "
            + "the file is corrupt (truncated or modified)", e.getMessage());
        assertArrayEquals(before, b.model.stateDict().get("0.weight").toArray(), "nothing loaded");
    }

    @Test void nonFiniteWeightsAreRefusedOnLoadNamingTheTensorAndIndex() throws IOException {
        Run a = new Run(1);
        Map<String, Tensor> tensors = new java.util.LinkedHashMap<>();
        for (var e : a.model.stateDict().entrySet()) {
            float[] v = e.getValue().toArray();
            if (e.getKey().equals("5.weight")) v[7] = Float.NaN;
            tensors.put("model." + e.getKey(), Tensor.of(v, e.getValue().shape()));
        }
        Path f = dir.resolve("nan.safetensors");  // as an older version wrote it after a diverged epoch
        Safetensors.write(f, tensors, Map.of("format", Checkpoint.FORMAT, "version", Checkpoint.VERSION, "epoch", "1", "step", "4"));
        Run b = new Run(2);
        SafetensorsException e = assertThrows(SafetensorsException.class, () -> Checkpoint.load(f, b.model, null, Map.of()));
        assertTrue(e.getMessage().startsWith(f + ": tensor model.5.weight holds NaN at index 7"), e.getMessage());
        assertFalse(e.getMessage().contains("\n"), "one line");
    }

    @Test void aCheckpointOfNonFiniteWeightsIsNotWrittenAndTheOldFileIsKept() throws IOException {
        Run a = new Run(1);
        Path f = dir.resolve("last.safetensors");
        Checkpoint.save(f, a.model, a.sgd, 1, 1, a.rngs());
        byte[] good = Files.readAllBytes(f);
        Map<String, Tensor> sd = a.model.stateDict();
        float[] w = sd.get("0.weight").toArray();
        w[3] = Float.POSITIVE_INFINITY;
        Map<String, Tensor> diverged = new java.util.LinkedHashMap<>(sd);
        diverged.put("0.weight", Tensor.of(w, sd.get("0.weight").shape()));
        a.model.loadStateDict(diverged, true);
        SafetensorsException e = assertThrows(SafetensorsException.class, () -> Checkpoint.save(f, a.model, a.sgd, 2, 2, a.rngs()));
        assertTrue(e.getMessage().startsWith(f + ": not written: tensor model.0.weight holds Infinity at index 3"), e.getMessage());
        assertArrayEquals(good, Files.readAllBytes(f), "the previous checkpoint is kept");
        try (var s = Files.list(dir)) { assertEquals(1, s.count(), "no temporary file"); }
    }

    @Test void aStaleTemporaryFileOfAKilledWriteIsRemovedOnTheNextSave() throws IOException {
        Run a = new Run(1);
        Path f = dir.resolve("last.safetensors");
        Path stale = dir.resolve(".last.safetensors.8123456789012345678.tmp"); // what a kill during a write leaves
        Files.write(stale, new byte[1000]);
        Path foreign = dir.resolve(".last.safetensors.notes.tmp");            // not ours: kept
        Files.write(foreign, new byte[3]);
        Checkpoint.save(f, a.model, a.sgd, 1, 1, a.rngs());
        assertFalse(Files.exists(stale), "stale temporary file removed");
        assertTrue(Files.exists(foreign), "a file of another pattern is left alone");
    }

    @Test void aTruncatedOrGarbageFileIsOneLineNamingTheFile() throws IOException {
        Run a = new Run(1);
        Path f = dir.resolve("c.safetensors");
        Checkpoint.save(f, a.model, a.sgd, 1, 1, a.rngs());
        byte[] good = Files.readAllBytes(f);
        Path bad = dir.resolve("bad.safetensors");
        byte[][] inputs = {
            java.util.Arrays.copyOf(good, dataStart(good) + 10),       // cut inside the data
            java.util.Arrays.copyOf(good, 20),                          // cut inside the header
            new byte[0],
            "garbage that is not a checkpoint at all".getBytes(java.nio.charset.StandardCharsets.US_ASCII),
        };
        for (byte[] in : inputs) {
            Files.write(bad, in);
            SafetensorsException e = assertThrows(SafetensorsException.class, () -> Checkpoint.load(bad, a.model, null, Map.of()));
            assertTrue(e.getMessage().startsWith(bad + ": ") && !e.getMessage().contains("\n"), e.getMessage());
        }
        // a header length just under the cap on a small file: refused before anything that large is allocated
        byte[] bogus = good.clone();
        java.nio.ByteBuffer.wrap(bogus).order(java.nio.ByteOrder.LITTLE_ENDIAN).putLong(Safetensors.MAX_HEADER_BYTES - 8);
        Files.write(bad, bogus);
        SafetensorsException e = assertThrows(SafetensorsException.class, () -> Checkpoint.load(bad, a.model, null, Map.of()));
        assertTrue(e.getMessage().contains("truncated"), e.getMessage());
    }

    /** Two epochs of a run: epoch 1 best, epoch 2 best again and the process dies between the two writes. */
    @Test void aCrashBetweenLastAndBestIsRepairedOnResume() throws IOException {
        Run a = new Run(1);
        Path last = dir.resolve("last.safetensors"), best = dir.resolve("best.safetensors");
        Checkpoint.saveEpoch(last, best, 1, a.model, a.sgd, 1, 3, a.rngs(), Map.of("model", "tiny"));
        assertEquals("1", Safetensors.readMetadata(best).get("epoch"));
        Checkpoint.betweenLastAndBest = () -> { throw new IllegalStateException("killed"); };
        try {
            assertThrows(IllegalStateException.class, () -> Checkpoint.saveEpoch(last, best, 2, a.model, a.sgd, 2, 6, a.rngs(), Map.of()));
        } finally {
            Checkpoint.betweenLastAndBest = () -> {};
        }
        // each file whole; best no newer than last
        assertEquals("2", Safetensors.read(last).metadata().get("epoch"));
        assertEquals("1", Safetensors.read(best).metadata().get("epoch"));

        Run b = new Run(2);
        Checkpoint.Info info = Checkpoint.load(last, b.model, b.sgd, b.rngs());
        String note = Checkpoint.recoverBest(last, info, best);
        assertTrue(note != null && note.contains("holds epoch 1") && note.contains("rewrote"), note);
        assertArrayEquals(Files.readAllBytes(last), Files.readAllBytes(best), "best is last at its best epoch");
        assertNull(Checkpoint.recoverBest(last, info, best), "consistent now");

        // the same crash before any best was written: best missing
        Files.delete(best);
        assertTrue(Checkpoint.recoverBest(last, info, best).contains("is missing"));
        assertTrue(Files.exists(best));
    }

    /**
     * The background writer: its saveEpoch returns while the files are still being written (the write here held until
     * the caller has returned), and the files are byte for byte those of Checkpoint.saveEpoch; best only at a best epoch.
     */
    @Test void theWriterWritesInTheBackgroundTheSameFilesAsSaveEpoch() throws Exception {
        Run a = new Run(1);
        Path sync = Files.createDirectories(dir.resolve("sync")), bg = Files.createDirectories(dir.resolve("background"));
        java.util.concurrent.CountDownLatch returned = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.atomic.AtomicReference<String> writerThread = new java.util.concurrent.atomic.AtomicReference<>();
        try (Checkpoint.Writer w = new Checkpoint.Writer()) {
            Checkpoint.betweenLastAndBest = () -> {
                writerThread.set(Thread.currentThread().getName());
                try {
                    assertTrue(returned.await(10, java.util.concurrent.TimeUnit.SECONDS), "saveEpoch waited for its own write");
                } catch (InterruptedException e) { throw new IllegalStateException(e); }
            };
            w.saveEpoch(bg.resolve("last.safetensors"), bg.resolve("best.safetensors"), 1, a.model, a.sgd, 1, 3, a.rngs(), Map.of("k", "v"));
            returned.countDown();   // only reached if saveEpoch returned before its write finished
            w.await();
            Checkpoint.betweenLastAndBest = () -> {};
            assertEquals("pulmo-checkpoint-writer", writerThread.get());
            Checkpoint.saveEpoch(sync.resolve("last.safetensors"), sync.resolve("best.safetensors"), 1, a.model, a.sgd, 1, 3, a.rngs(), Map.of("k", "v"));
            for (String f : new String[] {"last.safetensors", "best.safetensors"})
                assertArrayEquals(Files.readAllBytes(sync.resolve(f)), Files.readAllBytes(bg.resolve(f)), f);
            // epoch 2, not best: last moves on, best stays at epoch 1
            a.trainEpoch(Tensor.randn(new Rng(9), 12, 1, 5, 5), new float[] {0, 1, 2, 0, 1, 2, 0, 1, 2, 0, 1, 2});
            w.saveEpoch(bg.resolve("last.safetensors"), bg.resolve("best.safetensors"), 1, a.model, a.sgd, 2, 5, a.rngs(), Map.of());
        } finally {
            Checkpoint.betweenLastAndBest = () -> {};
        }
        // close waited for the last write
        assertEquals("2", Safetensors.readMetadata(bg.resolve("last.safetensors")).get("epoch"));
        assertEquals("1", Safetensors.readMetadata(bg.resolve("best.safetensors")).get("epoch"));
    }

    /** A write that fails in the background is thrown by the next call, naming the file; NaN weights at once. */
    @Test void theWritersFailuresReachTheCaller() throws Exception {
        Run a = new Run(1);
        Path notAFolder = Files.writeString(dir.resolve("file"), "x");
        Path last = notAFolder.resolve("last.safetensors"), best = notAFolder.resolve("best.safetensors");
        Checkpoint.Writer w = new Checkpoint.Writer();
        w.saveEpoch(last, best, 1, a.model, a.sgd, 1, 1, a.rngs(), Map.of());   // queued: fails on the writer thread
        IOException e = assertThrows(IOException.class, w::close);
        assertTrue(e.toString().contains(notAFolder.toString()), e.toString());

        try (Checkpoint.Writer w2 = new Checkpoint.Writer()) {
            Path ok = dir.resolve("last.safetensors");
            w2.saveEpoch(ok, dir.resolve("best.safetensors"), 1, a.model, a.sgd, 1, 1, a.rngs(), Map.of());
            Map<String, Tensor> sd = new java.util.LinkedHashMap<>(a.model.stateDict());
            float[] x = sd.get("0.weight").toArray();
            x[0] = Float.NaN;
            sd.put("0.weight", Tensor.of(x, sd.get("0.weight").shape()));
            a.model.loadStateDict(sd, true);
            SafetensorsException nan = assertThrows(SafetensorsException.class,
                () -> w2.saveEpoch(ok, dir.resolve("best.safetensors"), 2, a.model, a.sgd, 2, 2, a.rngs(), Map.of()));
            assertTrue(nan.getMessage().contains("holds NaN"), nan.getMessage());
            assertEquals("1", Safetensors.readMetadata(ok).get("epoch"), "epoch 1's file, written whole, is kept");
        }
    }

    /**
     * A training loop asks after every step whether the last write failed: nothing while it is under way or once it has
     * succeeded; its error, naming the file, once it has failed (a full disk stops the run then, not an epoch later).
     */
    @Test void aFailedWriteIsThrownByTheNextAskOnceItHasFailed() throws Exception {
        Run a = new Run(1);
        try (Checkpoint.Writer w = new Checkpoint.Writer()) {
            w.saveEpoch(dir.resolve("last.safetensors"), dir.resolve("best.safetensors"), 1, a.model, a.sgd, 1, 1, a.rngs(), Map.of());
            w.throwIfFailed();
            w.await();
            w.throwIfFailed();
        }
        Path notAFolder = Files.writeString(dir.resolve("file"), "x");
        Checkpoint.Writer w = new Checkpoint.Writer();
        w.saveEpoch(notAFolder.resolve("last.safetensors"), notAFolder.resolve("best.safetensors"), 1, a.model, a.sgd, 1, 1, a.rngs(), Map.of());
        IOException e = null;
        for (long end = System.nanoTime() + 30_000_000_000L; e == null && System.nanoTime() < end; Thread.sleep(5)) {
            try {
                w.throwIfFailed();
            } catch (IOException failed) {
                e = failed;
            }
        }
        assertNotNull(e, "the failed write was never reported");
        assertTrue(e.toString().contains(notAFolder.toString()), e.toString());
        w.close();   // said once: the failure is not thrown again
    }

    /** What is to follow a write runs once both files are on disk, on the writer's thread; never after a failed write. */
    @Test void whatFollowsAWriteRunsOnlyOnceItsFilesAreOnDisk() throws Exception {
        Run a = new Run(1);
        Path last = dir.resolve("last.safetensors"), best = dir.resolve("best.safetensors");
        java.util.List<String> seen = new java.util.concurrent.CopyOnWriteArrayList<>();
        try (Checkpoint.Writer w = new Checkpoint.Writer()) {
            w.saveEpoch(last, best, 1, a.model, a.sgd, 1, 3, a.rngs(), Map.of(), null,
                () -> seen.add(Thread.currentThread().getName() + " " + Safetensors.readMetadata(last).get("epoch") + " " + Safetensors.readMetadata(best).get("epoch")));
        }
        assertEquals(java.util.List.of("pulmo-checkpoint-writer 1 1"), seen);

        Path notAFolder = Files.writeString(dir.resolve("file"), "x");
        Checkpoint.Writer failing = new Checkpoint.Writer();
        failing.saveEpoch(notAFolder.resolve("last.safetensors"), notAFolder.resolve("best.safetensors"), 1, a.model, a.sgd, 1, 3, a.rngs(), Map.of(),
            null, () -> seen.add("after a failed write"));
        assertThrows(IOException.class, failing::close);
        assertEquals(1, seen.size(), seen.toString());
    }

    @Test void aBestThatCannotBeRebuiltIsNamedWithWhatIsMissing() throws IOException {
        Run a = new Run(1);
        Path last = dir.resolve("last.safetensors"), best = dir.resolve("best.safetensors");
        Checkpoint.saveEpoch(last, best, 1, a.model, a.sgd, 1, 3, a.rngs(), Map.of());
        Checkpoint.saveEpoch(last, best, 1, a.model, a.sgd, 2, 6, a.rngs(), Map.of()); // epoch 2 not better
        Checkpoint.Info info = Checkpoint.load(last, new Run(2).model, null, Map.of());
        assertNull(Checkpoint.recoverBest(last, info, best));
        byte[] b = Files.readAllBytes(best);
        Files.write(best, java.util.Arrays.copyOf(b, b.length - 100));
        SafetensorsException e = assertThrows(SafetensorsException.class, () -> Checkpoint.recoverBest(last, info, best));
        assertTrue(e.getMessage().startsWith(best + ": cannot be read (truncated") && e.getMessage().contains("records epoch 1 as the best"),
            e.getMessage());
        Files.delete(best);
        e = assertThrows(SafetensorsException.class, () -> Checkpoint.recoverBest(last, info, best));
        assertTrue(e.getMessage().startsWith(best + ": is missing, but " + last + " (epoch 2) records epoch 1"), e.getMessage());
    }

    @Test void aKillDuringAWriteLeavesTheOldFileAndItsTemporaryFileGoesOnResume() throws IOException {
        Run a = new Run(1);
        Path last = dir.resolve("last.safetensors"), best = dir.resolve("best.safetensors");
        Checkpoint.saveEpoch(last, best, 1, a.model, a.sgd, 1, 3, a.rngs(), Map.of());
        byte[] full = Files.readAllBytes(last);
        // what a kill halfway through writing best of epoch 2 leaves: last of epoch 2 and best's temporary file, cut
        Checkpoint.saveEpoch(last, best, 2, a.model, a.sgd, 2, 6, a.rngs(), Map.of());
        Files.write(best, full);
        Path tmp = dir.resolve(".best.safetensors.4242424242.tmp");
        Files.write(tmp, java.util.Arrays.copyOf(full, full.length / 2));
        Checkpoint.Info info = Checkpoint.load(last, new Run(3).model, null, Map.of());
        assertNotNull(Checkpoint.recoverBest(last, info, best));
        assertFalse(Files.exists(tmp));
        assertEquals("2", Safetensors.readMetadata(best).get("epoch"));
    }
}
