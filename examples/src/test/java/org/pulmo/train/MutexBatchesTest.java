package org.pulmo.train;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.pulmo.data.DataLoader;
import org.pulmo.data.Dataset;
import org.pulmo.data.Image;
import org.pulmo.data.ImageDecodeException;
import org.pulmo.data.Transform;

/** MA-Net's pairing, checked batch by batch against the images the batches really hold. */
class MutexBatchesTest {

    /** Image i is a 1 x 1 x 1 picture of the number i, so a batch tells which images it holds; class = i mod 3. */
    record Numbered(int size, int unreadable) implements Dataset {
        @Override public List<String> classes() { return List.of("a", "b", "c"); }
        @Override public int label(int index) { return index % 3; }
        @Override public Image image(int index) throws IOException {
            if (index == unreadable) throw new ImageDecodeException(java.nio.file.Path.of("numbered-" + index), "planted bad image");
            return new Image(1, 1, 1, new float[] {index});
        }
        @Override public String source(int index) { return "numbered image " + index; }
    }

    private static int[] labels(Dataset d) {
        int[] y = new int[d.size()];
        for (int i = 0; i < y.length; i++) y[i] = d.label(i);
        return y;
    }

    @Test void everyBatchHoldsTruePairsInStepWithTheMainLoader() {
        Dataset train = new Numbered(50, -1);
        DataLoader.Options opts = DataLoader.Options.training(8, 42).withDropLast(true).withWorkers(2);
        int[] labels = labels(train);
        try (DataLoader main = new DataLoader(train, Transform.identity(), opts)) {
            for (int epoch = 0; epoch < 3; epoch++) {
                int pairs = 0;
                try (var batches = main.epoch(epoch); var mutex = new MutexBatches(train, labels, Transform.identity(), opts, MutexBatches.pairSeed(42, epoch), epoch)) {
                    for (DataLoader.Batch b : batches) {
                        DataLoader.Batch mb = mutex.next(b);
                        assertNotNull(mb, "no image is unreadable, so no batch is skipped");
                        float[] x = b.images().toArray(), m = mb.images().toArray();
                        int[] y = b.labelArray(), ym = mb.labelArray();
                        for (int k = 0; k < b.size(); k++, pairs++) {
                            int i = (int) x[k], j = (int) m[k];            // the images themselves say which they are
                            assertEquals(b.indices()[k], i);
                            assertEquals(mutex.partnerOf(i), j, "position " + k + " of batch " + b.number() + " holds image " + i + "'s partner");
                            assertEquals(labels[i], y[k]);
                            assertEquals(labels[j], ym[k], "the mutex label is the partner's true label");
                            assertNotEquals(y[k], ym[k], "a pair has different classes");
                        }
                    }
                    assertEquals(0, mutex.skipped());
                }
                assertEquals(48, pairs, "every image of the full batches was paired");
            }
        }
    }

    /**
     * A partner is augmented on its own draws, not on those of the main image beside it: with a transform that paints
     * its first random draw, no pair may carry the same value (before, every pair was flipped and rotated alike, the
     * partners' loader drawing from the main loader's seed at the same positions).
     */
    @Test void aPartnerIsAugmentedOnItsOwnDraws() {
        Dataset train = new Numbered(48, -1);
        Transform draw = (image, rng) -> new Image(1, 1, 1, new float[] {rng.nextFloat()});
        DataLoader.Options opts = DataLoader.Options.training(8, 42).withDropLast(true).withWorkers(2);
        int pairs = 0;
        try (DataLoader main = new DataLoader(train, draw, opts);
             var batches = main.epoch(1); var mutex = new MutexBatches(train, labels(train), draw, opts, MutexBatches.pairSeed(42, 1), 1)) {
            for (DataLoader.Batch b : batches) {
                float[] x = b.images().toArray(), m = mutex.next(b).images().toArray();
                for (int k = 0; k < b.size(); k++, pairs++)
                    assertNotEquals(x[k], m[k], "image " + b.indices()[k] + " and its partner drew the same augmentation");
            }
        }
        assertEquals(48, pairs);
    }

    @Test void aLoaderOutOfStepIsCaughtNotTrained() {
        // the mutex loader shuffling with another seed than the main one: no batch may pass as pairs
        Dataset train = new Numbered(40, -1);
        DataLoader.Options opts = DataLoader.Options.training(8, 42).withDropLast(true);
        int[] labels = labels(train);
        try (DataLoader main = new DataLoader(train, Transform.identity(), opts);
             var batches = main.epoch(0); var mutex = new MutexBatches(train, labels, Transform.identity(), opts.withSeed(43), 42, 0)) {
            for (DataLoader.Batch b : batches) assertNull(mutex.next(b));
            assertEquals(5, mutex.skipped());
        }
    }

    @Test void aWrongLabelStopsTraining() {
        Dataset train = new Numbered(16, -1);
        DataLoader.Options opts = DataLoader.Options.training(4, 1).withDropLast(true);
        int[] labels = labels(train);
        try (DataLoader main = new DataLoader(train, Transform.identity(), opts);
             var batches = main.epoch(0); var mutex = new MutexBatches(train, labels, Transform.identity(), opts, 1, 0)) {
            DataLoader.Batch b = batches.next(), mb = mutex.next(b);
            assertNull(mutex.pairingError(b, mb));
            // a partner batch carrying the main batch's own labels (a same-class "pair")
            DataLoader.Batch same = new DataLoader.Batch(mb.number(), mb.images(), b.labels(), mb.indices(), mb.groups());
            String error = mutex.pairingError(b, same);
            assertNotNull(error);
            assertTrue(error.contains("partner"), error);
        }
    }

    @Test void aBatchThatLostAnImageIsSkipped() {
        // image 5 cannot be read: a main batch holding it is one smaller, and so is a mutex batch holding it as a
        // partner; either way the two batches differ and the step is skipped instead of mispairing the rest
        Dataset train = new Numbered(60, 5);
        DataLoader.Options opts = DataLoader.Options.training(6, 3).withDropLast(true);
        int[] labels = labels(train);
        int expectSkipped = 0, skippedHere = 0;
        try (DataLoader main = new DataLoader(train, Transform.identity(), opts);
             var batches = main.epoch(0); var mutex = new MutexBatches(train, labels, Transform.identity(), opts, 3, 0)) {
            for (DataLoader.Batch b : batches) {
                DataLoader.Batch mb = mutex.next(b);
                boolean lost = b.size() < 6 || Arrays.stream(b.indices()).anyMatch(i -> mutex.partnerOf(i) == 5);
                if (lost) expectSkipped++;
                assertEquals(lost, mb == null, "batch " + b.number() + " " + Arrays.toString(b.indices()));
                if (mb == null) skippedHere++;
            }
            assertEquals(expectSkipped, mutex.skipped());
        }
        assertTrue(skippedHere >= 1 && skippedHere < 10, skippedHere + " of 10 batches skipped");
    }
    /**
     * A main batch that unreadable images left with one image is passed over by the main loader (training's loader makes
     * full batches), so the mutex loader's batch of that number goes unused: the batches after it must still be paired
     * (before, the mutex side stayed one batch behind for the rest of the epoch and every later step was skipped).
     */
    @Test void aBatchPassedOverOnOneSideDoesNotUnpairTheRest() {
        java.util.Set<Integer> unreadable = java.util.Set.of(3, 17, 30);
        Dataset train = new Dataset() {
            @Override public List<String> classes() { return List.of("a", "b", "c"); }
            @Override public int size() { return 48; }
            @Override public int label(int index) { return index % 3; }
            @Override public Image image(int index) throws IOException {
                if (unreadable.contains(index)) throw new ImageDecodeException(java.nio.file.Path.of("numbered-" + index), "planted bad image");
                return new Image(1, 1, 1, new float[] {index});
            }
            @Override public String source(int index) { return "numbered image " + index; }
        };
        DataLoader.Options opts = DataLoader.Options.training(2, 11).withDropLast(true).withWorkers(2);
        int[] labels = labels(train);
        int[] order;
        int trained = 0, expected = 0;
        try (DataLoader main = new DataLoader(train, Transform.identity(), opts);
             var batches = main.epoch(0); var mutex = new MutexBatches(train, labels, Transform.identity(), opts, 7, 0)) {
            order = main.order(0);
            for (int b = 0; b < 24; b++) {
                int i = order[2 * b], j = order[2 * b + 1];
                boolean whole = java.util.stream.IntStream.of(i, j, mutex.partnerOf(i), mutex.partnerOf(j)).noneMatch(unreadable::contains);
                if (whole) expected++;
            }
            int passedOver = 0;
            for (DataLoader.Batch b : batches) {
                assertEquals(2, b.size(), "a training batch of one image reached the loop: " + Arrays.toString(b.indices()));
                if (mutex.next(b) != null) trained++;
            }
            for (int b = 0; b < 24; b++) if (unreadable.contains(order[2 * b]) || unreadable.contains(order[2 * b + 1])) passedOver++;
            assertTrue(passedOver >= 2, "the planted images fall in " + passedOver + " batches; the test needs at least two");
        }
        assertEquals(expected, trained, "every batch whose four images are readable is trained as pairs");
    }
}
