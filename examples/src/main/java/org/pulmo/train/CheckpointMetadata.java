package org.pulmo.train;

import java.nio.file.Path;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.pulmo.data.Augmentation;
import org.pulmo.io.SafetensorsException;

/**
 * The values {@link Trainer#describe} writes into a checkpoint's metadata, checked when a checkpoint is read back
 * ({@code evaluate}, {@code predict}, {@code explain}, {@code export}, {@code train --resume}). The file's checksum covers
 * its tensors, not its metadata, so a damaged or hand-edited value is caught here, naming the file and the field, before
 * anything is built from it: an image size of 10^8 pixels would otherwise set the resize of every image to read, an
 * epoch count of -1 would make a resumed run train its first epoch again over the finished one, two classes of one name
 * would give a table with two columns of that name. Fields a checkpoint lacks (older versions) are not checked.
 */
public final class CheckpointMetadata {
    private CheckpointMetadata() {}

    /** The largest image side a checkpoint may record: {@code train --image-size}'s limit. */
    public static final int MAX_IMAGE_SIZE = 4096;

    /** Refuses a checkpoint whose metadata holds a value {@code pulmo train} never writes, naming the file, the field and the value. */
    public static void check(Path file, Map<String, String> meta) throws SafetensorsException {
        whole(file, meta, "image_size", 1, MAX_IMAGE_SIZE, "an image side of 1 to " + MAX_IMAGE_SIZE + " pixels");
        whole(file, meta, "batch_size", 1, Integer.MAX_VALUE, "a batch size of at least 1");
        whole(file, meta, "epochs", 1, Integer.MAX_VALUE, "a number of epochs of at least 1");
        long epoch = whole(file, meta, "epoch", 0, Integer.MAX_VALUE, "a count of epochs done, 0 or more");
        whole(file, meta, "step", 0, Long.MAX_VALUE, "a count of steps done, 0 or more");
        whole(file, meta, "seed", Long.MIN_VALUE, Long.MAX_VALUE, "a whole number");
        whole(file, meta, "best_epoch", 0, epoch >= 0 ? epoch : Integer.MAX_VALUE, "an epoch of the run, 0 (none yet) to its epochs done");
        String acc = meta.get("best_val_acc");
        if (acc != null) {
            double v = parse(file, "best_val_acc", acc);
            if (!(v == -1 || (v >= 0 && v <= 1))) fail(file, "best_val_acc", acc, "an accuracy from 0 to 1, or -1 before the first epoch");
        }
        for (String key : List.of("base_lr", "momentum", "weight_decay")) {
            String s = meta.get(key);
            if (s == null) continue;
            double v = parse(file, key, s);
            if (!Double.isFinite(v) || v < 0) fail(file, key, s, "a finite number, 0 or more");
        }
        String classes = meta.get("classes");
        if (classes != null) {
            List<String> names = List.of(classes.split("\n", -1));
            Set<String> seen = new HashSet<>();
            for (String c : names)
                if (c.isBlank() || !seen.add(c))
                    fail(file, "classes", classes.replace("\n", ", "), "distinct, non-empty class names, one a line ("
                        + (c.isBlank() ? "one is empty" : "'" + c + "' comes twice") + ")");
            if (names.size() < 2) fail(file, "classes", classes, "at least two class names, one a line");
        }
        String aug = meta.get("augmentation");
        if (aug != null) {
            try {
                Augmentation.parse(aug);
            } catch (IllegalArgumentException e) {
                fail(file, "augmentation", aug, "one of the augmentations 'pulmo train' knows (" + e.getMessage() + ")");
            }
        }
        for (String key : List.of("manet_mab", "manet_fab", "manet_mutex_running_stats", "manet_attention_grad")) {
            String s = meta.get(key);
            if (s != null && !s.equals("true") && !s.equals("false")) fail(file, key, s, "true or false");
        }
    }

    private static long whole(Path file, Map<String, String> meta, String key, long min, long max, String what) throws SafetensorsException {
        String s = meta.get(key);
        if (s == null) return -1;
        long v;
        try {
            v = Long.parseLong(s);   // as written: " 1" is no value pulmo train writes, and other readers take it as it is
        } catch (NumberFormatException e) {
            fail(file, key, s, what);
            return -1;
        }
        if (v < min || v > max) fail(file, key, s, what);
        return v;
    }

    private static double parse(Path file, String key, String s) throws SafetensorsException {
        try {
            return Double.parseDouble(s);
        } catch (NumberFormatException e) {
            fail(file, key, s, "a number");
            return Double.NaN;
        }
    }

    private static void fail(Path file, String key, String value, String what) throws SafetensorsException {
        String shown = value.length() > 80 ? value.substring(0, 80) + "..." : value;
        throw new SafetensorsException(file.toString(), "metadata field '" + key + "' is \"" + shown + "\", not " + what
            + ": the file was damaged or edited; nothing was loaded");
    }
}
