package org.pulmo.train;

import static java.nio.file.attribute.PosixFilePermission.GROUP_READ;
import static java.nio.file.attribute.PosixFilePermission.GROUP_WRITE;
import static java.nio.file.attribute.PosixFilePermission.OTHERS_READ;
import static java.nio.file.attribute.PosixFilePermission.OTHERS_WRITE;
import static java.nio.file.attribute.PosixFilePermission.OWNER_READ;
import static java.nio.file.attribute.PosixFilePermission.OWNER_WRITE;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFileAttributeView;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.EnumSet;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;

/**
 * Where a training run writes, so that a finished run is never overwritten by accident:
 * <ul>
 *   <li>a folder that does not exist, or holds none of a run's files, is used as it is;</li>
 *   <li>a folder that holds a run ({@link #RUN_FILES}) is left alone and the next free {@code <out>2},
 *       {@code <out>3}, ... is used instead (as common training command lines do; {@code <out>-2}, ... where the name
 *       ends in a digit, so that {@code run3} is followed by {@code run3-2}, not {@code run32});</li>
 *   <li>{@code --resume} continues the run in the folder itself (it must hold {@code last.safetensors});
 *       {@code interrupted.safetensors} is removed, and the old {@code test/} report once the resumed run replaces the
 *       best checkpoint it described (by the trainer; a resume that fails first, or never improves, leaves it true). A run stopped before its first
 *       epoch ended has no {@code last.safetensors}: {@code --resume} starts it again in the same folder, keeping its
 *       {@code run.json} (which then lists both invocations);</li>
 *   <li>{@code --overwrite} writes into the folder itself after removing every file of the old run, so that
 *       nothing stale (a {@code test/} report, an {@code interrupted.safetensors}) is left beside the new one.</li>
 * </ul>
 * Nothing is removed by {@link #choose}; {@link Choice#clear()} does it once every other check has passed. While a
 * process trains into a folder it holds a lock there ({@link #claim}): a second training or {@code --resume} of the
 * same folder is refused instead of mixing two runs' files.
 */
public final class RunFolder {
    private RunFolder() {}

    /**
     * The mark an evaluation writes into its folder first and removes once its metrics.json is written: where it is and
     * metrics.json is not, the evaluation was stopped before its end, and the next one replaces what it left.
     */
    public static final String REPORT_UNFINISHED = ".evaluation-unfinished";

    /** What an evaluation writes into its folder, a run's {@code test/} report among them (evaluate's files). */
    public static final List<String> REPORT_FILES = List.of("report.txt", "metrics.json", "predictions.csv", "roc.png", "confusion_matrix.png");

    /**
     * What {@code pulmo train} writes into a run folder; any of them makes the folder "hold a run". {@code test} counts
     * only as the run's report ({@link #isReport}): a data set's own {@code test/} images are neither a run nor removed.
     */
    public static final List<String> RUN_FILES = List.of(Trainer.LAST, Trainer.BEST, Trainer.INTERRUPTED, "metrics.csv", "metrics.json",
        "loss.png", "accuracy.png", "manet_weights.png", "test", RunRecord.FILE);

    /**
     * The folder to write to, lines to tell the user, the old files to remove before training, and whether a
     * {@code --resume} starts the run again (it was stopped before its first epoch ended: there is nothing to continue).
     */
    public record Choice(Path dir, List<String> notes, List<Path> stale, boolean startOver) {
        Choice(Path dir, List<String> notes, List<Path> stale) { this(dir, notes, stale, false); }

        /** Removes the stale files of an earlier run (a folder with everything in it). */
        public void clear() throws IOException {
            for (Path p : stale) deleteTree(p);
        }
    }

    /**
     * Whether {@code dir} is a training run's folder by the files only training writes (checkpoints, metrics.csv,
     * run.json), not by those an evaluation writes too (metrics.json, test/): where other commands must not write.
     */
    public static boolean isTrainingRun(Path dir) {
        return Files.isDirectory(dir) && java.util.stream.Stream.of(Trainer.LAST, Trainer.BEST, Trainer.INTERRUPTED, "metrics.csv", RunRecord.FILE)
            .anyMatch(f -> Files.exists(dir.resolve(f)));
    }

    public static boolean holdsRun(Path dir) {
        if (!Files.isDirectory(dir)) return false;
        for (String f : RUN_FILES) if (isRunFile(dir.resolve(f))) return true;
        return false;
    }

    /** Whether {@code p}, one of {@link #RUN_FILES} in a folder, is there as training wrote it. */
    static boolean isRunFile(Path p) {
        return p.getFileName().toString().equals("test") ? isReport(p) : Files.exists(p);
    }

    private static boolean isEmpty(Path dir) throws IOException {
        try (var s = Files.list(dir)) { return s.findAny().isEmpty(); }
    }

    /** Whether {@code dir} is an evaluation report (what evaluate writes: report.txt, metrics.json, predictions.csv). */
    public static boolean isReport(Path dir) {
        return Files.isDirectory(dir) && java.util.stream.Stream.of("report.txt", "metrics.json", "predictions.csv").anyMatch(f -> Files.exists(dir.resolve(f)));
    }

    public static Choice choose(Path out, boolean resume, boolean overwrite) throws IOException {
        if (Files.exists(out) && !Files.isDirectory(out))
            throw new IllegalArgumentException("--out " + out + " is a file, not a folder; give a folder for the run's checkpoints and metrics");
        if (resume) {
            Path last = out.resolve(Trainer.LAST);
            if (!Files.exists(last) && !Files.exists(out.resolve(Trainer.BEST)) && stoppedInFirstEpoch(out)) {
                List<Path> stale = new ArrayList<>();
                for (String f : RUN_FILES) if (!f.equals(RunRecord.FILE) && isRunFile(out.resolve(f))) stale.add(out.resolve(f));
                return new Choice(out, List.of("--resume: the run in " + out + " was stopped before its first epoch's checkpoint was on disk,"
                    + " so there is no " + Trainer.LAST + " to continue from; it starts again from epoch 1 in the same folder"), stale, true);
            }
            if (!Files.exists(last)) throw new IOException("--resume: no checkpoint " + last + " to resume from");
            Path stopped = out.resolve(Trainer.INTERRUPTED);
            List<String> notes = new ArrayList<>();
            List<Path> stale = new ArrayList<>();
            if (Files.exists(stopped)) {   // the weights of the moment the run was stopped; it goes on from last.safetensors
                notes.add("Removing " + stopped + ": the run continues from " + last);
                stale.add(stopped);
            }
            return new Choice(out, notes, stale);
        }
        Path foreign = out.resolve("test");
        if (Files.exists(foreign) && !Files.isDirectory(foreign))
            throw new IllegalArgumentException("--out " + out + " has a file named test, where training writes its test report (a folder);"
                + " give another --out");
        if (Files.isDirectory(foreign) && !isReport(foreign) && !isEmpty(foreign))
            throw new IllegalArgumentException("--out " + out + " has a test/ folder that is not a Pulmo report (a data set's images?); training writes"
                + " its test report there, so give another --out");
        if (!holdsRun(out)) return new Choice(out, List.of(), List.of());
        if (overwrite) {
            // test/ goes as a whole: anything in it besides the report is the user's (a table written there), kept by refusing;
            // dot files (an interrupted write's temporary file, .DS_Store) go with the report
            if (Files.isDirectory(foreign)) try (var in = Files.list(foreign)) {
                List<String> others = in.map(p -> p.getFileName().toString()).filter(n -> !REPORT_FILES.contains(n) && !n.startsWith("."))
                    .sorted().limit(3).toList();
                if (!others.isEmpty())
                    throw new IllegalArgumentException("--overwrite: " + foreign + " holds files besides the run's test report (" + String.join(", ", others)
                        + "), which replacing the run would remove with it; move them elsewhere first");
            }
            // the record goes first: a removal stopped part-way leaves loose files, not a run.json calling the run finished
            // beside checkpoints that are gone (the next --overwrite removes what is left)
            List<Path> stale = new ArrayList<>();
            if (Files.exists(out.resolve(RunRecord.FILE))) stale.add(out.resolve(RunRecord.FILE));
            for (String f : RUN_FILES) if (!f.equals(RunRecord.FILE) && isRunFile(out.resolve(f))) stale.add(out.resolve(f));
            List<String> notes = new ArrayList<>(List.of("--overwrite: removing the earlier run's files in " + out));
            // evaluate numbers past a run's test/ report (test2, test3, ...): reports the user asked for, maybe of other
            // checkpoints, so they are kept, but said, since they may describe the run being replaced
            try (var in = Files.list(out)) {
                List<String> kept = in.filter(p -> p.getFileName().toString().matches("test-?\\d+") && isReport(p))
                    .map(p -> p.getFileName().toString()).sorted().toList();
                if (!kept.isEmpty())
                    notes.add("--overwrite: keeping " + String.join(", ", kept) + " in " + out + ", evaluations numbered past the run's test/ report;"
                        + " remove them if they describe the run being replaced");
            }
            return new Choice(out, notes, stale);
        }
        Path next = nextFree(out, RunFolder::holdsRun, "a run");
        return new Choice(next, List.of(out + " holds an earlier run, so this one goes to " + next
            + " (--resume continues that run, --overwrite replaces it)"), List.of());
    }

    /**
     * The first of {@code <out>2}, {@code <out>3}, ... that is not a file and of which {@code taken} is false
     * ({@code <out>-2}, ... where the name ends in a digit, so that {@code run3} is followed by {@code run3-2}, not
     * {@code run32}): where a command writes when {@code out} holds earlier results ({@code what}, for the error of a
     * folder without a name) that it must not overwrite.
     */
    public static Path nextFree(Path out, java.util.function.Predicate<Path> taken, String what) {
        Path base = out.normalize();
        if (base.getFileName() == null || base.toString().isEmpty() || base.getFileName().toString().equals(".."))
            base = out.toAbsolutePath().normalize();
        if (base.getFileName() == null) throw new IllegalArgumentException("--out " + out + " holds " + what + " and has no name to number; give another --out");
        String name = base.getFileName().toString();
        String sep = Character.isDigit(name.charAt(name.length() - 1)) ? "-" : "";   // run3 -> run3-2, not run32
        for (int n = 2; ; n++) {
            Path next = base.resolveSibling(name + sep + n);
            if (Files.exists(next) && !Files.isDirectory(next)) continue;
            if (!taken.test(next)) return next;
        }
    }

    /**
     * Whether {@code dir} holds a run that was stopped before its first epoch's checkpoint was on disk, by what the run
     * itself wrote: {@code interrupted.safetensors} of epoch 0, or a {@code run.json} with no epoch done, or with one done
     * and not finished (a record of an earlier version counted an epoch as its checkpoint was handed to the writer thread). Asked only where
     * neither checkpoint is there; a finished run whose checkpoints were deleted is not one, nor a folder without a record.
     */
    static boolean stoppedInFirstEpoch(Path dir) {
        try {
            Path stopped = dir.resolve(Trainer.INTERRUPTED);
            if (Files.exists(stopped)) return "0".equals(org.pulmo.io.Safetensors.readMetadata(stopped).get("epoch"));
            Path record = dir.resolve(RunRecord.FILE);
            if (!Files.exists(record)) return false;
            RunRecord.Reading r = RunRecord.Reading.of(record);
            // epoch 1 done by a record of an earlier version, which wrote it as the checkpoint was handed to the writer
            // thread: a process killed before that checkpoint reached the disk (a fraction of a second) left the record
            // one epoch ahead of the files, and no checkpoint at all, unless the run went on to finish (the record now
            // counts an epoch once its checkpoint is on disk)
            return r.epochsDone().equals("0") || r.epochsDone().equals("1") && !r.status().equals("finished");
        } catch (IOException | RuntimeException unreadable) {
            return false;
        }
    }

    /**
     * The file name of the weights a run in {@code dir} was started from ({@code --init-from}), as its interrupted
     * checkpoint or its {@code run.json} records it; null where it started from a random initialisation or says nothing.
     */
    public static String startedFrom(Path dir) {
        try {
            Path stopped = dir.resolve(Trainer.INTERRUPTED), record = dir.resolve(RunRecord.FILE);
            if (Files.exists(stopped)) return org.pulmo.io.Safetensors.readMetadata(stopped).get("init_from");
            if (!Files.exists(record)) return null;
            var settings = StrictJson.parse(Files.readString(record)).getAsJsonObject().getAsJsonObject("settings");
            var from = settings == null ? null : settings.get("init_from");
            return from == null || from.isJsonNull() ? null : from.getAsString();
        } catch (IOException | RuntimeException unreadable) {
            return null;
        }
    }

    /** The lock file a training process holds in its run folder ({@link #claim}); it stays when the process ends. */
    static final String LOCK = ".pulmo.lock";

    /**
     * The folders this process has claimed. Guarded by {@link #LOCKS}, as every opening of a lock file in this process is:
     * closing any channel of a file gives up this process's lock on it, so a look at a folder this process holds must
     * not open its lock file at all.
     */
    private static final java.util.Set<Path> CLAIMED = new java.util.HashSet<>();
    private static final Object LOCKS = new Object();

    /** How often, and how far apart, a claim tries a lock that is taken: a look ({@link #trainer}) holds it for an instant. */
    private static final int CLAIM_TRIES = 6;
    private static final long CLAIM_RETRY_MS = 50;

    /**
     * Claims {@code dir} for this process's training until the returned handle is closed or the process ends, however
     * it ends (the operating system drops the lock of a killed process): an exclusive lock on {@code dir/.pulmo.lock},
     * which holds the owner's process id. A folder another process (or another command of this one) has claimed is
     * refused, naming it, so that two trainings never write one folder's checkpoints, metrics and record over each
     * other. On a file system that cannot lock, training goes on unprotected, with a note on {@code out}.
     */
    public static AutoCloseable claim(Path dir, java.io.PrintStream out) throws IOException {
        Files.createDirectories(dir);
        Path key = dir.toRealPath();
        synchronized (LOCKS) {
            if (!CLAIMED.add(key)) throw new IllegalArgumentException(dir + " is in use: this process is already training into it");
        }
        boolean claimed = false;
        try {
            FileChannel ch;
            FileLock lock = null;
            synchronized (LOCKS) {
                ch = openLock(key.resolve(LOCK), dir);
                try {
                    lock = ch.tryLock();
                } catch (IOException unsupported) {   // NFS without a lock daemon, say
                    ch.close();
                    out.println("Note: " + dir + " cannot be locked (" + unsupported.getMessage() + "), so a second training into it at the same"
                        + " time would not be refused");
                    claimed = true;
                    return () -> { synchronized (LOCKS) { CLAIMED.remove(key); } };
                }
            }
            // taken: by a training, or for an instant by another process's look at the folder; a look lets go at once
            for (int t = 1; lock == null && t < CLAIM_TRIES; t++) {
                try {
                    Thread.sleep(CLAIM_RETRY_MS);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    break;
                }
                synchronized (LOCKS) { lock = ch.tryLock(); }
            }
            if (lock == null) {
                String holder;
                try {
                    holder = holder(ch);
                } finally {
                    ch.close();   // this process holds no lock on the file, so closing gives nothing up
                }
                throw new IllegalArgumentException(dir + " is in use: another pulmo process" + (holder.isEmpty() ? "" : " (pid " + holder + ")")
                    + " is training into it; wait until it ends, or give another --out");
            }
            ch.truncate(0);
            ch.write(ByteBuffer.wrap(Long.toString(ProcessHandle.current().pid()).getBytes(StandardCharsets.UTF_8)), 0);
            claimed = true;
            FileLock held = lock;
            return () -> {
                synchronized (LOCKS) {
                    try {
                        held.release();
                    } finally {
                        ch.close();
                        CLAIMED.remove(key);
                    }
                }
            };
        } finally {
            if (!claimed) synchronized (LOCKS) { CLAIMED.remove(key); }
        }
    }

    /**
     * Who is training into {@code dir} now, by its lock ({@link #claim}): "this process", "pulmo process 1234", or empty
     * when nobody is (no lock file, or one nobody holds). The look opens the file for reading only (a lock file of
     * another user's making will do) and takes a shared lock on it for an instant when it is free; a claim made in that
     * instant tries again.
     */
    public static Optional<String> trainer(Path dir) {
        Path lock = dir.resolve(LOCK);
        if (!Files.isRegularFile(lock)) return Optional.empty();
        synchronized (LOCKS) {
            try {
                if (CLAIMED.contains(dir.toRealPath())) return Optional.of("this process");
                try (FileChannel ch = FileChannel.open(lock, StandardOpenOption.READ)) {
                    FileLock free = ch.tryLock(0, Long.MAX_VALUE, true);
                    if (free != null) { free.release(); return Optional.empty(); }
                    String holder = holder(ch);
                    return Optional.of("pulmo process" + (holder.isEmpty() ? "" : " " + holder));
                }
            } catch (IOException | OverlappingFileLockException unknown) {
                return Optional.empty();   // cannot tell (no lock on this file system, or not ours to read): the caller goes on
            }
        }
    }

    /** The process id a lock file holds, or "" when it holds none. */
    private static String holder(FileChannel ch) throws IOException {
        ByteBuffer pid = ByteBuffer.allocate(32);
        ch.read(pid, 0);
        String s = new String(pid.array(), 0, pid.position(), StandardCharsets.UTF_8).strip();
        return s.matches("\\d+") ? s : "";
    }

    /**
     * Opens (making it where missing) the lock file {@code lock} of {@code dir} for reading and writing. A lock file
     * made here can be written by whoever may write into the folder (the folder's group and other write bits are given
     * to it, whatever the umask), so that in a folder shared by a team another member's finished run can still be
     * resumed, and a running one is still refused. A lock file that cannot be opened (left by another user whose umask
     * kept it to themselves) is named, with its owner and what to do.
     */
    static FileChannel openLock(Path lock, Path dir) throws IOException {
        boolean made = !Files.exists(lock, LinkOption.NOFOLLOW_LINKS);
        FileChannel ch;
        try {
            ch = FileChannel.open(lock, StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE);
        } catch (AccessDeniedException denied) {
            if (!Files.exists(lock, LinkOption.NOFOLLOW_LINKS))
                throw new IllegalArgumentException(dir + ": cannot make its lock file " + lock + ": permission denied (the folder is not writable)");
            String owner;
            try {
                owner = " (owned by " + Files.getOwner(lock).getName() + ")";
            } catch (IOException | UnsupportedOperationException unknown) {
                owner = "";
            }
            throw new IllegalArgumentException(dir + ": cannot open its lock file " + lock + owner + ": permission denied. A training"
                + " process holds that file while it writes into the folder; if none is running there now, remove the file, or give another --out");
        }
        if (made) {
            try {
                var view = Files.getFileAttributeView(lock, PosixFileAttributeView.class);
                if (view != null) {
                    var folder = Files.getPosixFilePermissions(dir);
                    var perms = EnumSet.of(OWNER_READ, OWNER_WRITE);
                    if (folder.contains(GROUP_WRITE)) perms.addAll(List.of(GROUP_READ, GROUP_WRITE));
                    if (folder.contains(OTHERS_WRITE)) perms.addAll(List.of(OTHERS_READ, OTHERS_WRITE));
                    view.setPermissions(perms);
                }
            } catch (IOException | SecurityException notMine) {
                // made by another process a moment ago, or a file system without owners: the lock itself still works
            }
        }
        return ch;
    }

    /** Deletes a file, or a folder with everything in it. */
    static void deleteTree(Path p) throws IOException {
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
