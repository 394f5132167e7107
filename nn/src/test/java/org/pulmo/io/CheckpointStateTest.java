package org.pulmo.io;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pulmo.tensor.Rng;
import org.pulmo.tensor.Tensor;

/**
 * Checkpoint beyond CheckpointTest: a generator's whole state (the cached Gaussian spare too), a file missing a model
 * tensor or holding a stray one, momentum buffers that do not fit (refused before the model changes), extra metadata
 * that cannot override the checkpoint's own, best_epoch 0 on resume, and a background write's failure reaching the
 * next saveEpoch.
 */
class CheckpointStateTest {
    @TempDir Path dir;

    /** The model and momentum tensors of a Run as Checkpoint names them, with its metadata; edited by the tests. */
    private static Map<String, Tensor> tensorsOf(CheckpointTest.Run r) {
        Map<String, Tensor> t = new LinkedHashMap<>();
        for (var e : r.model.stateDict().entrySet()) t.put("model." + e.getKey(), e.getValue());
        for (var e : r.sgd.stateDict().entrySet()) t.put("optimizer.momentum_buffer." + e.getKey(), e.getValue());
        return t;
    }

    private static Map<String, String> meta() {
        return Map.of("format", Checkpoint.FORMAT, "version", Checkpoint.VERSION, "epoch", "1", "step", "4");
    }

    /** A Run that has taken steps, so it has momentum buffers. */
    private static CheckpointTest.Run trained(long seed) {
        CheckpointTest.Run r = new CheckpointTest.Run(seed);
        float[] labels = new float[12];
        for (int i = 0; i < 12; i++) labels[i] = i % 3;
        r.trainEpoch(Tensor.randn(new Rng(seed + 10), 12, 1, 5, 5), labels);
        return r;
    }

    @Test void aGeneratorsPendingGaussianIsRestored() throws IOException {
        CheckpointTest.Run a = new CheckpointTest.Run(1);
        Rng noise = new Rng(42);
        noise.nextGaussian();                        // Box-Muller: the second of the pair is cached for the next call
        Path f = dir.resolve("rng.safetensors");
        Checkpoint.save(f, a.model, a.sgd, 1, 1, Map.of("noise", noise));
        double expected = noise.nextGaussian();
        Rng resumed = new Rng(7);
        Checkpoint.load(f, new CheckpointTest.Run(2).model, null, Map.of("noise", resumed));
        assertEquals(expected, resumed.nextGaussian(), "the resumed generator draws what the saved one drew next");
    }

    @Test void aCheckpointMissingAModelTensorIsRefusedNamingItAndLoadsNothing() throws IOException {
        CheckpointTest.Run a = trained(1);
        Map<String, Tensor> t = tensorsOf(a);
        assertNotNull(t.remove("model.1.running_var"));
        Path f = dir.resolve("missing.safetensors");
        Safetensors.write(f, t, meta());
        CheckpointTest.Run b = new CheckpointTest.Run(2);
        float[] before = b.model.stateDict().get("0.weight").toArray();
        SafetensorsException e = assertThrows(SafetensorsException.class, () -> Checkpoint.load(f, b.model, b.sgd, Map.of()));
        assertTrue(e.getMessage().contains("1.running_var") && e.getMessage().contains("nothing was loaded"), e.getMessage());
        assertArrayEquals(before, b.model.stateDict().get("0.weight").toArray(), "nothing loaded");
        assertTrue(b.sgd.stateDict().isEmpty());
    }

    @Test void aStrayTensorIsRefused() throws IOException {
        CheckpointTest.Run a = trained(1);
        Map<String, Tensor> t = tensorsOf(a);
        t.put("ema.0.weight", Tensor.zeros(4, 1, 3, 3));   // not model.*, not optimizer.momentum_buffer.*
        Path f = dir.resolve("stray.safetensors");
        Safetensors.write(f, t, meta());
        CheckpointTest.Run b = new CheckpointTest.Run(2);
        SafetensorsException e = assertThrows(SafetensorsException.class, () -> Checkpoint.load(f, b.model, b.sgd, Map.of()));
        assertTrue(e.getMessage().contains("ema.0.weight"), e.getMessage());
    }

    @Test void momentumBuffersThatDoNotFitAreRefusedBeforeTheModelChanges() throws IOException {
        CheckpointTest.Run a = trained(1);
        Map<String, Tensor> t = tensorsOf(a);
        t.put("optimizer.momentum_buffer.5.weight", Tensor.zeros(2, 2));   // the parameter is [3, 4]
        Path f = dir.resolve("momentum.safetensors");
        Safetensors.write(f, t, meta());
        CheckpointTest.Run b = new CheckpointTest.Run(2);
        float[] before = b.model.stateDict().get("0.weight").toArray();
        SafetensorsException e = assertThrows(SafetensorsException.class, () -> Checkpoint.load(f, b.model, b.sgd, Map.of()));
        assertTrue(e.getMessage().contains("5.weight") && e.getMessage().contains("nothing was loaded"), e.getMessage());
        assertArrayEquals(before, b.model.stateDict().get("0.weight").toArray(), "the model is untouched");
        assertTrue(b.sgd.stateDict().isEmpty(), "the optimiser is untouched");
    }

    @Test void extraMetadataCannotOverrideTheCheckpointsOwn() throws IOException {
        CheckpointTest.Run a = trained(1);
        Path f = dir.resolve("extra.safetensors");
        Checkpoint.save(f, a.model, a.sgd, 3, 10, a.rngs(), Map.of("epoch", "7", "step", "1", "rng.data", "1,0,0", "note", "kept"));
        CheckpointTest.Run b = new CheckpointTest.Run(2);
        Checkpoint.Info info = Checkpoint.load(f, b.model, b.sgd, b.rngs());
        assertEquals(3, info.epoch());
        assertEquals(10, info.step());
        assertEquals("kept", info.metadata().get("note"));
        assertArrayEquals(a.dataRng.getState(), b.dataRng.getState(), "the generator's real state, not the extra string");
    }

    @Test void noBestEpochYetNeedsNoBestFileOnResume() throws IOException {
        CheckpointTest.Run a = new CheckpointTest.Run(1);
        Path last = dir.resolve("last.safetensors"), best = dir.resolve("best.safetensors");
        // a run without validation images: no epoch is ever best
        Checkpoint.saveEpoch(last, best, 0, a.model, a.sgd, 1, 3, a.rngs(), Map.of());
        assertFalse(Files.exists(best));
        Checkpoint.Info info = Checkpoint.load(last, new CheckpointTest.Run(2).model, null, Map.of());
        assertNull(Checkpoint.recoverBest(last, info, best));
        assertFalse(Files.exists(best));
    }

    @Test void aFailedBackgroundWriteIsThrownByTheNextSaveEpoch() throws Exception {
        CheckpointTest.Run a = new CheckpointTest.Run(1);
        Path notAFolder = Files.writeString(dir.resolve("file"), "x");
        try (Checkpoint.Writer w = new Checkpoint.Writer()) {
            w.saveEpoch(notAFolder.resolve("last.safetensors"), notAFolder.resolve("best.safetensors"), 1, a.model, a.sgd, 1, 1, a.rngs(), Map.of());
            IOException e = assertThrows(IOException.class, () -> w.saveEpoch(dir.resolve("last.safetensors"), dir.resolve("best.safetensors"),
                1, a.model, a.sgd, 2, 2, a.rngs(), Map.of()), "epoch 1's failure is reported by epoch 2's call");
            assertTrue(e.toString().contains(notAFolder.toString()), e.toString());
        }
    }
}
