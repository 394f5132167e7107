package org.pulmo.train;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.stream.Stream;

/**
 * Where a training run writes, so that a finished run is never overwritten by accident:
 * <ul>
 *   <li>a folder that does not exist, or holds none of a run's files, is used as it is;</li>
 *   <li>a folder that holds a run ({@link #RUN_FILES}) is left alone and the next free {@code <out>2},
 *       {@code <out>3}, ... is used instead (as common training command lines do);</li>
 *   <li>{@code --resume} continues the run in the folder itself (it must hold {@code last.safetensors}); the old
 *       {@code test/} report, which described the earlier best checkpoint, is removed;</li>
 *   <li>{@code --overwrite} writes into the folder itself after removing every file of the old run, so that
 *       nothing stale (a {@code test/} report, an {@code interrupted.safetensors}) is left beside the new one.</li>
 * </ul>
 * Nothing is removed by {@link #choose}; {@link Choice#clear()} does it once every other check has passed.
 */
public final class RunFolder {
    private RunFolder() {}

    /** What {@code pulmo train} writes into a run folder; any of them makes the folder "hold a run". */
    public static final List<String> RUN_FILES = List.of(Trainer.LAST, Trainer.BEST, Trainer.INTERRUPTED, "metrics.csv", "metrics.json",
        "loss.png", "accuracy.png", "manet_weights.png", "test", RunRecord.FILE);

    /** The folder to write to, lines to tell the user, and the old files to remove before training. */
    public record Choice(Path dir, List<String> notes, List<Path> stale) {
        /** Removes the stale files of an earlier run (a folder with everything in it). */
        public void clear() throws IOException {
            for (Path p : stale) deleteTree(p);
        }
    }

    public static boolean holdsRun(Path dir) {
        if (!Files.isDirectory(dir)) return false;
        for (String f : RUN_FILES) if (Files.exists(dir.resolve(f))) return true;
        return false;
    }

    public static Choice choose(Path out, boolean resume, boolean overwrite) throws IOException {
        if (Files.exists(out) && !Files.isDirectory(out))
            throw new IllegalArgumentException("--out " + out + " is a file, not a folder; give a folder for the run's checkpoints and metrics");
        if (resume) {
            Path last = out.resolve(Trainer.LAST);
            if (!Files.exists(last)) throw new IOException("--resume: no checkpoint " + last + " to resume from");
            Path test = out.resolve("test");
            return Files.exists(test)
                ? new Choice(out, List.of("Removing " + test + ": it reported the earlier best checkpoint (a new report is written after training)"), List.of(test))
                : new Choice(out, List.of(), List.of());
        }
        if (!holdsRun(out)) return new Choice(out, List.of(), List.of());
        if (overwrite) {
            List<Path> stale = new ArrayList<>();
            for (String f : RUN_FILES) if (Files.exists(out.resolve(f))) stale.add(out.resolve(f));
            return new Choice(out, List.of("--overwrite: removing the earlier run's files in " + out), stale);
        }
        Path base = out.normalize();
        if (base.getFileName() == null || base.toString().isEmpty() || base.getFileName().toString().equals(".."))
            base = out.toAbsolutePath().normalize();
        if (base.getFileName() == null) throw new IllegalArgumentException("--out " + out + " holds a run and has no name to number; give another --out");
        for (int n = 2; ; n++) {
            Path next = base.resolveSibling(base.getFileName() + Integer.toString(n));
            if (Files.exists(next) && !Files.isDirectory(next)) continue;
            if (!holdsRun(next))
                return new Choice(next, List.of(out + " holds an earlier run, so this one goes to " + next
                    + " (--resume continues that run, --overwrite replaces it)"), List.of());
        }
    }

    private static void deleteTree(Path p) throws IOException {
        if (!Files.exists(p)) return;
        if (Files.isDirectory(p)) {
            try (Stream<Path> all = Files.walk(p)) {
                for (Path q : all.sorted(Comparator.reverseOrder()).toList()) Files.delete(q);
            }
        } else {
            Files.delete(p);
        }
    }
}
