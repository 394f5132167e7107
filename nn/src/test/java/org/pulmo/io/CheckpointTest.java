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
}
