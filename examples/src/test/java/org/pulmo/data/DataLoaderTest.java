package org.pulmo.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DataLoaderTest {

    static final Transform AUGMENT = Augmentation.DPN_SENET.train(16);

    /** Every batch of one epoch: indices and pixels. */
    static List<DataLoader.Batch> epoch(DataLoader loader, int e) {
        List<DataLoader.Batch> out = new ArrayList<>();
        try (DataLoader.Epoch ep = loader.epoch(e)) { for (DataLoader.Batch b : ep) out.add(b); }
        return out;
    }

    @Test void batchesDependOnSeedNotOnThreads() {
        Dataset d = new DemoChestDataset(37, 20, 3);
        DataLoader.Options base = DataLoader.Options.training(8, 11);
        try (DataLoader one = new DataLoader(d, AUGMENT, base.withWorkers(1).withPrefetch(1));
             DataLoader four = new DataLoader(d, AUGMENT, base.withWorkers(4).withPrefetch(6))) {
            for (int e = 0; e < 2; e++) {
                List<DataLoader.Batch> a = epoch(one, e), b = epoch(four, e);
                assertEquals(5, a.size()); // 37 = 4 x 8 + 5
                assertEquals(5, a.get(4).size());
                for (int k = 0; k < a.size(); k++) {
                    assertEquals(k, a.get(k).number());
                    assertArrayEquals(a.get(k).indices(), b.get(k).indices());
                    assertArrayEquals(a.get(k).images().toArray(), b.get(k).images().toArray());
                    assertArrayEquals(new int[] {a.get(k).size(), 3, 16, 16}, a.get(k).images().shape());
                }
            }
            int[] e0 = one.order(0), e1 = one.order(1);
            assertFalse(Arrays.equals(e0, e1), "a new epoch reshuffles");
            int[] sorted = e0.clone();
            Arrays.sort(sorted);
            for (int i = 0; i < sorted.length; i++) assertEquals(i, sorted[i]);
        }
    }

    @Test void labelsAreExactAndDropLastDropsThePartialBatch() throws IOException {
        Dataset d = new DemoChestDataset(10, 16, 1);
        try (DataLoader loader = new DataLoader(d, Transform.identity(), DataLoader.Options.evaluation(4).withDropLast(true))) {
            List<DataLoader.Batch> batches = epoch(loader, 0);
            assertEquals(2, batches.size());
            assertEquals(2, loader.batchesPerEpoch());
            assertArrayEquals(new float[] {0, 1, 2, 3}, batches.get(0).labels().toArray());
            assertArrayEquals(new int[] {4, 5, 6, 7}, batches.get(1).indices());
            assertArrayEquals(new int[] {0, 1, 2, 3}, batches.get(1).labelArray());
            assertEquals(d.group(5), batches.get(1).groups()[1]);
            assertArrayEquals(d.image(6).pixels(), batches.get(1).images().narrow(0, 2, 1).contiguous().toArray());
        }
    }

    /** A batch as large as an int goes: one batch, not a count that overflowed to 0 (an evaluation of no image). */
    @Test void aBatchNearTheIntLimitIsOneBatch() {
        Dataset d = new DemoChestDataset(4, 16, 1);
        for (int b : new int[] {Integer.MAX_VALUE, Integer.MAX_VALUE - 2, 5})
            try (DataLoader loader = new DataLoader(d, Transform.identity(), DataLoader.Options.evaluation(b))) {
                assertEquals(1, loader.batchesPerEpoch(), "batch " + b);
                assertEquals(4, epoch(loader, 0).getFirst().size());
            }
    }

    /** A folder with 6 good images and 2 broken ones (a truncated PNG and a text file). */
    static ImageFileDataset withBrokenFiles(Path root) throws IOException {
        new DemoChestDataset(6, 16, 4).writeTo(root);
        byte[] good = Files.readAllBytes(root.resolve("normal/normal_00000.png"));
        Files.write(root.resolve("normal/cut.png"), Arrays.copyOf(good, good.length / 2));
        Files.writeString(root.resolve("viral/notes.jpg"), "not an image");
        return ImageFileDataset.folder(root, DemoChestDataset.CLASSES);
    }

    @Test void badImagesAreSkippedAndCounted(@TempDir Path root) throws IOException {
        ImageFileDataset files = withBrokenFiles(root);
        AtomicInteger reads = new AtomicInteger();
        Dataset counting = new Counting(files, reads);
        try (DataLoader loader = new DataLoader(counting, Transform.identity(), DataLoader.Options.training(3, 5))) {
            int seen = 0;
            DataLoader.Epoch ep = loader.epoch(0);
            for (DataLoader.Batch b : ep) seen += b.size();
            assertEquals(6, seen);
            assertEquals(2, ep.skippedCount());
            List<BadImage> bad = loader.skipped();
            assertEquals(2, bad.size());
            assertTrue(bad.get(0).source().endsWith("cut.png") && bad.get(0).reason().contains("truncated"), bad.toString());
            assertTrue(bad.get(1).source().endsWith("notes.jpg") && bad.get(1).reason().contains("not an image"), bad.toString());
            assertEquals(8, reads.get());
            epoch(loader, 1);
            assertEquals(8 + 6, reads.get(), "known bad files are not read again");
        }
    }

    /**
     * A training loader (full batches) passes over a batch that bad images left with one image, which batch norm could
     * not normalise; a loader of every image (evaluation) keeps it. The epoch's count still names every skipped image.
     */
    @Test void aFullBatchLoaderPassesOverABatchLeftWithOneImage(@TempDir Path root) throws IOException {
        ImageFileDataset files = withBrokenFiles(root);   // 8 images, 2 of them unreadable
        int[] lone = new int[2];
        for (boolean dropLast : new boolean[] {true, false}) {
            try (DataLoader loader = new DataLoader(files, Transform.identity(), DataLoader.Options.training(2, 5).withDropLast(dropLast))) {
                int[] order = loader.order(0);
                int loneBatches = 0;
                for (int b = 0; b < 4; b++) {
                    long readable = java.util.stream.IntStream.of(order[2 * b], order[2 * b + 1])
                        .filter(i -> !files.source(i).endsWith("cut.png") && !files.source(i).endsWith("notes.jpg")).count();
                    if (readable == 1) loneBatches++;
                }
                int seen = 0, ones = 0;
                DataLoader.Epoch ep = loader.epoch(0);
                for (DataLoader.Batch b : ep) { seen += b.size(); if (b.size() == 1) ones++; }
                assertEquals(2, ep.skippedCount());
                assertEquals(dropLast ? 0 : loneBatches, ones, "dropLast " + dropLast);
                assertEquals(6 - (dropLast ? loneBatches : 0), seen, "dropLast " + dropLast);
                lone[dropLast ? 0 : 1] = loneBatches;
            }
        }
        assertTrue(lone[0] >= 1, "seed 5 must put a bad image beside a good one for this test to say anything");
    }

    static void awaitAtLeast(AtomicInteger n, int target) throws InterruptedException {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (n.get() < target && System.nanoTime() < deadline) Thread.sleep(5);
    }

    /** Counts the images read through it. */
    record Counting(Dataset inner, AtomicInteger reads) implements Dataset {
        @Override public List<String> classes() { return inner.classes(); }
        @Override public int size() { return inner.size(); }
        @Override public int label(int index) { return inner.label(index); }
        @Override public String source(int index) { return inner.source(index); }
        @Override public Image image(int index) throws IOException { reads.incrementAndGet(); return inner.image(index); }
    }

    @Test void strictModeThrowsWithThePath(@TempDir Path root) throws IOException {
        ImageFileDataset files = withBrokenFiles(root);
        try (DataLoader loader = new DataLoader(files, Transform.identity(), DataLoader.Options.evaluation(2).withStrict(true))) {
            DataLoader.Epoch ep = loader.epoch(0);
            DataLoadException e = assertThrows(DataLoadException.class, () -> { while (ep.hasNext()) ep.next(); });
            assertTrue(e.getMessage().contains("cut.png"), e.getMessage());
            assertTrue(e.getCause() instanceof ImageDecodeException, String.valueOf(e.getCause()));
            DataLoadException again = assertThrows(DataLoadException.class, () -> epoch(loader, 1));
            assertTrue(again.getMessage().contains("cut.png"), "a new epoch meets the same file: " + again.getMessage());
        }
    }

    @Test void transformErrorsNameTheImage() {
        Dataset d = new DemoChestDataset(4, 16, 1);
        try (DataLoader loader = new DataLoader(d, Transforms.centerCrop(32), DataLoader.Options.evaluation(2))) {
            DataLoadException e = assertThrows(DataLoadException.class, () -> epoch(loader, 0));
            assertTrue(e.getMessage().contains("demo image 0") && e.getMessage().contains("resize first"), e.getMessage());
        }
    }

    @Test void prefetchIsBoundedAndCloseStopsTheThreads() throws InterruptedException, IOException {
        AtomicInteger made = new AtomicInteger();
        Dataset d = new Counting(new DemoChestDataset(200, 16, 1), made);
        DataLoader loader = new DataLoader(d, Transform.identity(), DataLoader.Options.evaluation(5).withWorkers(2).withPrefetch(3));
        DataLoader.Epoch ep = loader.epoch(0);
        awaitAtLeast(made, 15);
        Thread.sleep(200); // room for a loader that ignored its bound to overshoot
        assertEquals(15, made.get(), "3 batches of 5 made ahead, no more");
        ep.next();
        awaitAtLeast(made, 20);
        Thread.sleep(200);
        assertEquals(20, made.get(), "taking one batch lets one more be made");
        ep.close();
        assertEquals(40, epoch(loader, 1).size(), "a closed epoch leaves the loader usable");
        loader.close();
        Thread.sleep(50);
        for (Thread t : Thread.getAllStackTraces().keySet())
            assertFalse(t.getName().startsWith("pulmo-loader-") && t.isAlive() && t.getState() != Thread.State.TERMINATED, t.getName());
        assertThrows(IllegalStateException.class, () -> loader.epoch(2));
    }

    /** Sleeps {@code millis} before each image it reads: a loader slower than its consumer. */
    record Slow(Dataset inner, long millis) implements Dataset {
        @Override public List<String> classes() { return inner.classes(); }
        @Override public int size() { return inner.size(); }
        @Override public int label(int index) { return inner.label(index); }
        @Override public String source(int index) { return inner.source(index); }
        @Override public Image image(int index) throws IOException {
            try { Thread.sleep(millis); } catch (InterruptedException e) { Thread.currentThread().interrupt(); }
            return inner.image(index);
        }
    }

    @Test void anEpochCountsTheTimeItsConsumerWaitedForBatches() throws InterruptedException {
        // a loader that needs 10 x 30 ms, on one thread, with a consumer that takes no time: it waits for nearly all of it
        try (DataLoader loader = new DataLoader(new Slow(new DemoChestDataset(10, 16, 1), 30), Transform.identity(),
                DataLoader.Options.evaluation(2).withWorkers(1).withPrefetch(1));
             DataLoader.Epoch ep = loader.epoch(0)) {
            long t0 = System.nanoTime();
            for (DataLoader.Batch b : ep) assertEquals(2, b.size());
            double took = (System.nanoTime() - t0) / 1e9;
            assertTrue(ep.waitSeconds() >= 0.2 && ep.waitSeconds() <= took, "waited " + ep.waitSeconds() + " s of " + took);
        }
        // the other way round: batches made in no time, the consumer slow; it waits at most for the first one
        try (DataLoader loader = new DataLoader(new DemoChestDataset(10, 16, 1), Transform.identity(),
                DataLoader.Options.evaluation(2).withWorkers(1).withPrefetch(5));
             DataLoader.Epoch ep = loader.epoch(0)) {
            Thread.sleep(100);   // every batch is made by now
            for (DataLoader.Batch b : ep) Thread.sleep(40);
            assertTrue(ep.waitSeconds() < 0.05, "waited " + ep.waitSeconds() + " s for batches made before they were asked for");
        }
    }
}
