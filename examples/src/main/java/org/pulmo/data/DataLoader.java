package org.pulmo.data;

import java.io.IOException;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.concurrent.CancellationException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.pulmo.tensor.Rng;
import org.pulmo.tensor.Tensor;

/**
 * Decodes and augments images on background threads ahead of the consumer, and hands out batches.
 *
 * <p>A batch is {@code images} [N, C, S, S] (CPU, float), {@code labels} [N] (the class indices as exact
 * floats), and the data set indices and group ids of its images. Batch {@code b} of an epoch holds the
 * images {@code order[b*B .. b*B+B-1]}, where {@code order} is the identity or, when shuffling, a permutation
 * drawn from (seed, epoch); each image is augmented with {@link Transform#sampleRng}(augmentation seed, epoch, index),
 * the augmentation seed being the seed unless the loader was given one of its own (MA-Net's mutex loader: it follows
 * the main loader's order, but its images must not be augmented as the main images at the same positions are).
 * So the batches, and every pixel in them, depend only on the seed and epoch, never on thread timing.
 *
 * <p>Up to {@code prefetch} batches are being made or waiting at any time (a bounded queue of futures, in
 * batch order), on {@code workers} threads; each worker makes one whole batch. The consumer blocks only when
 * the next batch is not ready yet.
 *
 * <p>A bad image (one whose decoding throws {@link ImageDecodeException}) is, by default, logged with its
 * path, left out of its batch (which is then one smaller) and remembered, so later epochs skip it without
 * reading it again; {@link #skipped()} lists them and the end of each epoch logs the count. A batch left with
 * no image is passed over; so is one left with a single image where the loader makes full batches only
 * ({@code dropLast}, as training does), since batch norm in training cannot normalise one image whose last
 * feature maps are 1 x 1 (the epoch's count says how many such batches were passed over). With
 * {@code strict}, the first bad image ends the epoch with a {@link DataLoadException} naming the file. Any
 * other failure (a transform that cannot apply) is always thrown to the consumer, naming the image.
 *
 * <p>Use one epoch at a time, from one consumer thread: {@code try (var epoch = loader.epoch(e)) { for (Batch
 * b : epoch) ... }}; close the loader to stop its threads.
 */
public final class DataLoader implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger(DataLoader.class.getName());

    /**
     * How batches are made. {@code prefetch} is the number of batches in flight (at least 1); {@code workers}
     * the number of decoding threads.
     */
    public record Options(int batchSize, boolean shuffle, boolean dropLast, int workers, int prefetch, long seed, boolean strict) {
        public Options {
            if (batchSize <= 0) throw new IllegalArgumentException("batch size must be positive, got " + batchSize);
            if (workers <= 0) throw new IllegalArgumentException("workers must be positive, got " + workers);
            if (prefetch <= 0) throw new IllegalArgumentException("prefetch must be positive, got " + prefetch);
        }

        /** Shuffled, last partial batch kept, non-strict, {@link #defaultWorkers()} threads, 2 batches per worker ahead. */
        public static Options training(int batchSize, long seed) {
            int w = defaultWorkers();
            return new Options(batchSize, true, false, w, 2 * w, seed, false);
        }

        /** In data set order, all images, non-strict. */
        public static Options evaluation(int batchSize) {
            int w = defaultWorkers();
            return new Options(batchSize, false, false, w, 2 * w, 0, false);
        }

        public Options withDropLast(boolean v) { return new Options(batchSize, shuffle, v, workers, prefetch, seed, strict); }
        public Options withShuffle(boolean v) { return new Options(batchSize, v, dropLast, workers, prefetch, seed, strict); }
        public Options withWorkers(int v) { return new Options(batchSize, shuffle, dropLast, v, Math.max(prefetch, v), seed, strict); }
        public Options withPrefetch(int v) { return new Options(batchSize, shuffle, dropLast, workers, v, seed, strict); }
        public Options withSeed(long v) { return new Options(batchSize, shuffle, dropLast, workers, prefetch, v, strict); }
        public Options withStrict(boolean v) { return new Options(batchSize, shuffle, dropLast, workers, prefetch, seed, v); }

        /** Half the cores (at least 1, at most 8): the other half runs the model. */
        public static int defaultWorkers() { return Math.clamp(Runtime.getRuntime().availableProcessors() / 2, 1, 8); }
    }

    /**
     * One batch: {@code images} [N, C, S, S], {@code labels} [N] (class index as float), and per image its
     * index in the data set and its group id (null without groups). N is the batch size except for the last
     * batch (without drop-last) and batches that lost bad images.
     */
    public record Batch(int number, Tensor images, Tensor labels, int[] indices, String[] groups) {
        public int size() { return indices.length; }

        /** The labels as ints. */
        public int[] labelArray() {
            float[] y = labels.toArray();
            int[] out = new int[y.length];
            for (int i = 0; i < y.length; i++) out[i] = (int) y[i];
            return out;
        }
    }

    private final Dataset data;
    private final Transform transform;
    private final Options options;
    private final long augmentationSeed;
    private final ExecutorService pool;
    private final Map<Integer, BadImage> bad = new ConcurrentHashMap<>();
    private Epoch current;
    private boolean closed;

    public DataLoader(Dataset data, Transform transform, Options options) {
        this(data, transform, options, options.seed());
    }

    /** As {@link #DataLoader(Dataset, Transform, Options)}, the images augmented from {@code augmentationSeed} instead of the seed. */
    public DataLoader(Dataset data, Transform transform, Options options, long augmentationSeed) {
        this.data = data;
        this.transform = transform;
        this.options = options;
        this.augmentationSeed = augmentationSeed;
        AtomicInteger n = new AtomicInteger();
        ThreadFactory daemons = r -> {
            Thread t = new Thread(r, "pulmo-loader-" + n.incrementAndGet());
            t.setDaemon(true); // a forgotten close() must not keep the JVM alive
            return t;
        };
        this.pool = Executors.newFixedThreadPool(options.workers(), daemons);
    }

    public Dataset dataset() { return data; }

    public Options options() { return options; }

    /** Batches in one epoch (counting batches that may lose bad images; without them if all are lost). */
    public int batchesPerEpoch() {
        int n = data.size(), b = options.batchSize();
        return options.dropLast() ? n / b : (int) (((long) n + b - 1) / b);   // long: n + b - 1 overflows int for b near 2^31
    }

    /** The data set indices in the order epoch {@code epoch} visits them. */
    public int[] order(int epoch) {
        int n = data.size();
        int[] order = new int[n];
        for (int i = 0; i < n; i++) order[i] = i;
        if (options.shuffle()) {
            Rng rng = Transform.sampleRng(options.seed(), epoch, -1);
            for (int i = n - 1; i > 0; i--) { int j = rng.nextInt(i + 1); int t = order[i]; order[i] = order[j]; order[j] = t; }
        }
        return order;
    }

    /** Starts epoch {@code epoch} (closing the previous one if still open). */
    public synchronized Epoch epoch(int epoch) {
        if (closed) throw new IllegalStateException("data loader is closed");
        if (current != null) current.close();
        current = new Epoch(epoch);
        return current;
    }

    /** Every bad image met so far (each once), in data set order. */
    public List<BadImage> skipped() {
        List<BadImage> out = new ArrayList<>(bad.values());
        out.sort(Comparator.comparingInt(BadImage::index));
        return out;
    }

    /** Stops the worker threads; a batch being made is abandoned. */
    @Override public synchronized void close() {
        if (closed) return;
        closed = true;
        if (current != null) current.close();
        pool.shutdownNow();
        try {
            if (!pool.awaitTermination(10, TimeUnit.SECONDS)) LOG.log(System.Logger.Level.WARNING, "data loader threads did not stop within 10 s");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** The batches of one epoch, in order; an {@link Iterator} and, once, an {@link Iterable}. */
    public final class Epoch implements Iterator<Batch>, Iterable<Batch>, AutoCloseable {
        private final int epoch;
        private final int[] order;
        private final int batches;
        private final ArrayDeque<Future<Batch>> inFlight = new ArrayDeque<>();
        private final AtomicInteger skippedHere = new AtomicInteger();
        private int loneImages;
        private int submitted;
        private Batch ready;
        private boolean finished;
        private boolean reported;
        private long waitNanos;

        private Epoch(int epoch) {
            this.epoch = epoch;
            this.order = order(epoch);
            this.batches = batchesPerEpoch();
            fill();
        }

        public int number() { return epoch; }

        public int batches() { return batches; }

        /**
         * Seconds the consumer has spent in this epoch waiting for a batch that was not ready yet: the part of the epoch
         * that the loader's threads, not the consumer, decided.
         */
        public double waitSeconds() { return waitNanos / 1e9; }

        /** Images left out of this epoch's batches so far because they could not be read. */
        public int skippedCount() { return skippedHere.get(); }

        @Override public Iterator<Batch> iterator() { return this; }

        private void fill() {
            while (!finished && inFlight.size() < options.prefetch() && submitted < batches) {
                int b = submitted++;
                inFlight.add(pool.submit(() -> makeBatch(b)));
            }
        }

        @Override public boolean hasNext() {
            while (ready == null && !finished) {
                Future<Batch> f = inFlight.poll();
                if (f == null) { finish(); break; }
                Batch b;
                boolean waits = !f.isDone();
                long t0 = System.nanoTime();
                try {
                    b = f.get();
                    if (waits) waitNanos += System.nanoTime() - t0;
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    close();
                    throw new DataLoadException("interrupted while waiting for a batch", e);
                } catch (ExecutionException e) {
                    close();
                    Throwable c = e.getCause();
                    if (c instanceof DataLoadException d) throw new DataLoadException(d.getMessage(), d.getCause());
                    if (c instanceof OutOfMemoryError oom) throw oom;              // the heap, not the data: no "bad batch"
                    throw new DataLoadException("making a batch failed: " + c, c);
                } catch (CancellationException e) {
                    throw new IllegalStateException("epoch " + epoch + " was closed", e);
                }
                fill();
                // a batch that lost all its images is passed over, and in a loader of full batches one left with a single image
                if (b.size() == 1 && options.dropLast() && options.batchSize() > 1) loneImages++;
                else if (b.size() > 0) ready = b;
            }
            return ready != null;
        }

        @Override public Batch next() {
            if (!hasNext()) throw new NoSuchElementException("epoch " + epoch + " has no more batches");
            Batch b = ready;
            ready = null;
            return b;
        }

        private void finish() {
            finished = true;
            if (!reported && skippedHere.get() > 0)
                LOG.log(System.Logger.Level.WARNING, (options.shuffle() ? "training epoch " + (epoch + 1) + ": " : "")
                    + "skipped " + skippedHere.get() + " unreadable image" + (skippedHere.get() == 1 ? "" : "s") + " of " + data.size()
                    + " (" + bad.size() + " known bad in all)"
                    + (loneImages == 0 ? "" : "; " + loneImages + " batch" + (loneImages == 1 ? " was" : "es were") + " left with a single image by them"
                        + " and passed over (training normalises a batch over its images: one is not enough)"));
            reported = true;
        }

        /** Cancels the batches still being made. */
        @Override public void close() {
            if (finished) return;
            for (Future<Batch> f : inFlight) f.cancel(true);
            inFlight.clear();
            ready = null;
            finish();
        }

        private Batch makeBatch(int b) {
            int from = b * options.batchSize(), to = Math.min(data.size(), from + options.batchSize());
            List<Image> images = new ArrayList<>(to - from);
            int[] idx = new int[to - from];
            int n = 0;
            for (int p = from; p < to; p++) {
                if (Thread.currentThread().isInterrupted()) throw new CancellationException("batch " + b + " cancelled");
                int i = order[p];
                BadImage known = bad.get(i);
                if (known != null) { skippedHere.incrementAndGet(); continue; }
                Image img;
                try {
                    img = data.image(i);
                } catch (IOException e) {
                    BadImage badImage = new BadImage(i, data.source(i), e instanceof ImageDecodeException d ? d.reason() : e.toString());
                    if (options.strict())
                        throw new DataLoadException("bad image (strict mode): " + (e instanceof ImageDecodeException ? e.getMessage() : badImage), e);
                    if (bad.putIfAbsent(i, badImage) == null)
                        LOG.log(System.Logger.Level.WARNING, "skipping unreadable image " + badImage);
                    skippedHere.incrementAndGet();
                    continue;
                }
                try {
                    images.add(transform.apply(img, Transform.sampleRng(augmentationSeed, epoch, i)));
                } catch (RuntimeException e) {
                    throw new DataLoadException("transform failed on " + data.source(i) + ": " + e.getMessage(), e);
                }
                idx[n++] = i;
            }
            idx = Arrays.copyOf(idx, n);
            return stack(b, images, idx);
        }
    }

    private Batch stack(int number, List<Image> images, int[] idx) {
        int n = images.size();
        String[] groups = new String[n];
        float[] labels = new float[n];
        for (int j = 0; j < n; j++) { labels[j] = data.label(idx[j]); groups[j] = data.group(idx[j]); }
        if (n == 0) return new Batch(number, Tensor.zeros(0), Tensor.zeros(0), idx, groups);
        Image first = images.getFirst();
        int c = first.channels(), h = first.height(), w = first.width(), per = c * h * w;
        float[] x = new float[n * per];
        for (int j = 0; j < n; j++) {
            Image im = images.get(j);
            if (im.channels() != c || im.height() != h || im.width() != w)
                throw new DataLoadException("images in a batch differ in shape: " + data.source(idx[0]) + " is [" + c + ", " + h + ", " + w
                    + "] but " + data.source(idx[j]) + " is [" + im.channels() + ", " + im.height() + ", " + im.width()
                    + "]; end the transform with a fixed size (resize / crop)", null);
            System.arraycopy(im.pixels(), 0, x, j * per, per);
        }
        return new Batch(number, Tensor.of(x, n, c, h, w), Tensor.of(labels, n), idx, groups);
    }

    /** Decodes every image of {@code data} on {@code threads} threads; returns the failures in index order. */
    public static List<BadImage> findBadImages(Dataset data, int threads) {
        ExecutorService ex = Executors.newFixedThreadPool(Math.max(1, threads));
        try {
            List<Future<BadImage>> results = new ArrayList<>();
            for (int i = 0; i < data.size(); i++) {
                int idx = i;
                results.add(ex.submit(() -> {
                    try {
                        data.image(idx);
                        return null;
                    } catch (IOException e) {
                        return new BadImage(idx, data.source(idx), e instanceof ImageDecodeException d ? d.reason() : e.toString());
                    }
                }));
            }
            List<BadImage> out = new ArrayList<>();
            for (Future<BadImage> f : results) {
                BadImage b = f.get();
                if (b != null) out.add(b);
            }
            return out;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DataLoadException("interrupted while checking images", e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof OutOfMemoryError oom) throw oom;
            throw new DataLoadException("checking images failed: " + e.getCause(), e.getCause());
        } finally {
            ex.shutdownNow();
        }
    }
}
