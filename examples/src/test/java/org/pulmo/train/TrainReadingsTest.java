package org.pulmo.train;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pulmo.data.Dataset;
import org.pulmo.data.Image;
import org.pulmo.data.ImageDecodeException;
import org.pulmo.data.Transform;
import org.pulmo.data.DataLoader;
import org.pulmo.nn.Module;
import org.pulmo.tensor.MemoryScope;
import org.pulmo.tensor.Tensor;

/** What the training loop reads and writes: divergence, metrics.json, MA-Net's partners per epoch, inference rows. */
class TrainReadingsTest {

    /** An infinite loss (an overflow, before any NaN) ends training as a NaN does, named by its batch. */
    @Test void anInfiniteLossIsADivergenceToo() {
        for (float bad : new float[] {Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY}) {
            StepReadings r = new StepReadings();
            MemoryScope.Steps steps = new MemoryScope.Steps(List::of);
            float[] losses = {0.5f, bad, 0.1f};
            for (int k = 0; k < losses.length; k++)
                try (MemoryScope s = steps.open()) {
                    r.add(s, k, new int[] {0}, Tensor.scalar(losses[k]).mul(1f), Tensor.of(new float[] {1, 0}, 1, 2).mul(1f), null);
                }
            Progress bar = new Progress(new PrintStream(new ByteArrayOutputStream()), false, "t", 10);
            StepReadings.Diverged d = r.read(bar);
            assertNotNull(d, "loss " + bad + " not reported");
            assertEquals(1, d.batch());
            assertEquals(bad, d.loss());
            assertEquals(1, bar.images(), "only the step before it is counted");
        }
    }

    /** metrics.json holds each figure under its own name (CSV and JSON agree), not only the timing columns. */
    @Test void metricsJsonNamesEachFigure(@TempDir Path dir) throws IOException {
        History h = new History();
        h.add(new History.Row(1, 0.01, 1.5, 0.25, 1.25, 0.75, 120.5, 8.25, 3.5, 512.25, new History.MaNetLosses(1.3, 0.4, 0.7, 0.3)));
        h.write(dir);
        JsonArray rows = JsonParser.parseString(Files.readString(dir.resolve("metrics.json"))).getAsJsonArray();
        JsonObject j = rows.get(0).getAsJsonObject();
        assertEquals(1, j.get("epoch").getAsInt());
        assertEquals(0.01, j.get("lr").getAsDouble(), 1e-9);
        assertEquals(1.5, j.get("train_loss").getAsDouble(), 1e-9);
        assertEquals(0.25, j.get("train_acc").getAsDouble(), 1e-9);
        assertEquals(1.25, j.get("val_loss").getAsDouble(), 1e-9);
        assertEquals(0.75, j.get("val_acc").getAsDouble(), 1e-9);
        assertEquals(1.3, j.get("train_l_ce").getAsDouble(), 1e-9);
        assertEquals(0.4, j.get("train_l_cs").getAsDouble(), 1e-9);
        assertEquals(0.7, j.get("train_a1").getAsDouble(), 1e-9);
        assertEquals(0.3, j.get("train_a2").getAsDouble(), 1e-9);
        History.Row back = History.read(dir.resolve("metrics.csv"), 1).rows().getFirst();
        assertEquals(0.25, back.trainAcc(), 1e-9);
        assertEquals(0.75, back.valAcc(), 1e-9);
        assertEquals(1.25, back.valLoss(), 1e-9);
    }

    /** MA-Net draws new mutex partners every epoch ((seed, epoch) seeds them), not the same pairs for the whole run. */
    @Test void mutexPartnersChangeFromEpochToEpoch() {
        Dataset train = new MutexBatchesTest.Numbered(60, -1);
        int[] labels = new int[train.size()];
        for (int i = 0; i < labels.length; i++) labels[i] = train.label(i);
        DataLoader.Options opts = DataLoader.Options.training(6, 42).withDropLast(true);
        int[][] partners = new int[2][labels.length];
        for (int epoch = 0; epoch < 2; epoch++)
            try (MutexBatches m = new MutexBatches(train, labels, Transform.identity(), opts, MutexBatches.pairSeed(42, epoch), epoch)) {
                for (int i = 0; i < labels.length; i++) partners[epoch][i] = m.partnerOf(i);
            }
        int same = 0;
        for (int i = 0; i < labels.length; i++) if (partners[0][i] == partners[1][i]) same++;
        assertTrue(same < labels.length / 2, same + " of " + labels.length + " images kept their partner from epoch 1 to epoch 2");
    }

    /** Image i is 2 x 1 x 1 of (i, 0) as logits; image 1 cannot be read. Labels 0, 0, 1, 1, 0, 1. */
    record Skipping(int size) implements Dataset {
        static final int[] LABELS = {0, 0, 1, 1, 0, 1};
        @Override public List<String> classes() { return List.of("a", "b"); }
        @Override public int label(int index) { return LABELS[index]; }
        @Override public Image image(int index) throws IOException {
            if (index == 1) throw new ImageDecodeException(Path.of("img-1"), "planted bad image");
            return new Image(2, 1, 1, new float[] {index, 0});
        }
        @Override public String source(int index) { return "img-" + index; }
    }

    /** The "logits" are the image's own pixels in evaluation mode; in training mode class 1 wins by 50. */
    static final class PixelsAsLogits extends Module {
        final Tensor dummy = registerParameter("dummy", Tensor.zeros(1));
        @Override public Tensor forward(Tensor x) {
            int n = x.shape()[0];
            float[] v = x.contiguous().toArray();
            if (isTraining()) for (int i = 0; i < n; i++) v[2 * i + 1] += 50;
            return Tensor.of(v, n, 2);
        }
    }

    /** Rows after a skipped image keep their own image's label and source; and the model runs in evaluation mode. */
    @Test void inferenceRowsAfterAnUnreadableImageKeepTheirLabels() {
        Module model = new PixelsAsLogits();
        model.train();
        Inference.Result r = Inference.run(model, new Skipping(6), List.of("a", "b"), Transform.identity(), 4, false);
        assertArrayEquals(new int[] {0, 2, 3, 4, 5}, r.index());
        assertArrayEquals(new int[] {0, 1, 1, 0, 1}, r.predictions().labels(), "labels of images 0, 2, 3, 4, 5");
        assertArrayEquals(new String[] {"img-0", "img-2", "img-3", "img-4", "img-5"}, r.sources());
        // image 2: logits (2, 0) -> p(a) = e^2 / (e^2 + 1), as in evaluation mode (training mode would give p(a) ~ 0)
        assertEquals(Math.exp(2) / (Math.exp(2) + 1), r.predictions().probabilities()[1][0], 1e-5);
    }
}
