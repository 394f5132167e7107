package org.pulmo.data;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * How many training images per second the data loader makes from a folder, with no model consuming them: the ceiling
 * that decoding and augmentation put on a training run, to set beside a model's images/s on a device (a training run
 * records the time it actually waited in {@code metrics.csv}'s {@code data_wait_s}).
 *
 * <p>{@code java -cp pulmo.jar org.pulmo.data.LoaderThroughput DIR SIZE AUGMENTATION WORKERS...}: DIR a folder with
 * {@code split.csv} (its training part) or class folders; AUGMENTATION dpn-senet, ma-net, resize or none; two epochs of
 * batches of 32 per worker count, the second after the first warmed up the decoder. MA-Net reads every image twice
 * per epoch (its own and as a partner, by a second loader with as many workers).
 */
public final class LoaderThroughput {
    private LoaderThroughput() {}

    public static void main(String[] a) {
        if (a.length < 4) {
            System.err.println("usage: LoaderThroughput DIR SIZE dpn-senet|ma-net|resize|none WORKERS...");
            System.exit(2);
        }
        try {
            run(a);
        } catch (RuntimeException e) {   // a bad argument or an unreadable folder: the message, not a stack trace
            System.err.println("LoaderThroughput: " + e.getMessage());
            System.exit(1);
        }
    }

    private static void run(String[] a) {
        Path dir = Path.of(a[0]);
        int size = Integer.parseInt(a[1]);
        Augmentation aug = Augmentation.parse(a[2]);
        ImageFileDataset data = Files.exists(dir.resolve("split.csv")) ? ImageFileDataset.splitCsv(dir, "train") : ImageFileDataset.folder(dir);
        System.out.printf(Locale.ROOT, "%s: %d images, %d x %d, augmentation %s, %d cores%n", dir, data.size(), size, size, aug.label(),
            Runtime.getRuntime().availableProcessors());
        for (int i = 3; i < a.length; i++) {
            int workers = Integer.parseInt(a[i]);
            try (DataLoader loader = new DataLoader(data, aug.train(size), DataLoader.Options.training(32, 1).withWorkers(workers).withPrefetch(2 * workers))) {
                for (int epoch = 0; epoch < 2; epoch++) {
                    long t0 = System.nanoTime();
                    int n = 0;
                    try (DataLoader.Epoch e = loader.epoch(epoch)) { for (DataLoader.Batch b : e) n += b.size(); }
                    double s = (System.nanoTime() - t0) / 1e9;
                    System.out.printf(Locale.ROOT, "  %d worker%s, epoch %d: %d images in %.2f s = %.0f images/s%n", workers, workers == 1 ? "" : "s",
                        epoch + 1, n, s, n / s);
                }
            }
        }
    }
}
