package org.pulmo.examples;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import picocli.CommandLine;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.pulmo.backend.Backends;
import org.pulmo.tensor.Device;

/** Small helpers shared by the commands. */
final class Cli {
    private Cli() {}

    /**
     * Every {@code Path} option and parameter: an empty value would be the current folder (a run's files written among
     * whatever is there, the next "free" one a folder beside it), so it is refused, as picocli refuses a malformed number.
     */
    static final class NonEmptyPath implements CommandLine.ITypeConverter<Path> {
        @Override public Path convert(String value) {
            if (value.isBlank()) throw new CommandLine.TypeConversionException("an empty path; give a file or folder name ('.' for the current folder)");
            return Path.of(value);
        }
    }

    /** A text option that names a thing ({@code --data}): an empty value is refused, as an empty path is. */
    static final class NonEmptyText implements CommandLine.ITypeConverter<String> {
        @Override public String convert(String value) {
            if (value.isBlank()) throw new CommandLine.TypeConversionException("an empty value; give a folder name, or 'demo'");
            return value;
        }
    }

    /**
     * auto (a usable GPU, else the CPU), cpu or cuda (GPU 0). Asking for a GPU that is not usable is an error that
     * says why (no driver, no cuDNN, ...), not a silent fall back to the CPU.
     */
    static Device device(String name) {
        Device want;
        try {
            want = name.equalsIgnoreCase("auto") ? Backends.bestAvailable() : Device.parse(name);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--device: " + e.getMessage() + ", or auto", e);
        }
        if (want.isCpu()) return Device.CPU;
        String why = Backends.unavailableReason(want);
        if (why != null) throw new IllegalArgumentException("device " + want + " is not usable: " + why);
        return want;
    }

    /** "pulmo train: Unknown option: '--epoch'; see pulmo train --help": one line, never the whole help. */
    static String usageError(String command, String commandPath, String message) {
        return (command.equals("pulmo") ? "pulmo" : "pulmo " + command) + ": " + oneLine(message) + "; see " + commandPath + " --help";
    }

    /** Errors a user can fix (bad input, a missing or unwritable file): exit code 2. Anything else is ours: 1. */
    static boolean isUserError(Throwable e) {
        return e instanceof org.pulmo.data.DatasetException || e instanceof IllegalArgumentException || e instanceof IOException
            || e instanceof UncheckedIOException || e instanceof org.pulmo.data.DataLoadException;
    }

    /**
     * One line for an error: its message, or for a file-system error the path and what went wrong (Java's
     * {@code AccessDeniedException} and friends carry only the path as their message). An error that is not
     * the user's (a bug) is named by its class; {@code PULMO_STACKTRACE=1} adds the stack trace for a report.
     */
    static String describe(Throwable e) {
        String device = outOfDeviceMemory(e);
        if (device != null) return device;
        if (e instanceof UncheckedIOException u && u.getCause() != null) return describe(u.getCause());
        if (e instanceof FileSystemException f) return org.pulmo.data.IoErrors.describe(f);
        String msg = e.getMessage() == null || e.getMessage().isBlank() ? e.getClass().getSimpleName() : oneLine(e.getMessage());
        if (msg.contains("Malformed input or input contains unmappable characters"))   // java.nio's words for a file name
            return msg + " (a file name that this locale's character set, " + System.getProperty("sun.jnu.encoding")
                + ", cannot hold: run with a UTF-8 locale, e.g. LC_ALL=C.UTF-8, as ./pulmo does under LANG=C)";
        if (isUserError(e)) return msg;
        if ("1".equals(System.getenv("PULMO_STACKTRACE"))) e.printStackTrace();
        return "internal error: " + e.getClass().getName() + ": " + msg + " (PULMO_STACKTRACE=1 prints the stack trace for a bug report)";
    }

    /** How a command ended with {@code e}, in one line for a record (run.json): out of memory with its advice, else {@link #describe}. */
    static String failure(Throwable e) {
        return e instanceof OutOfMemoryError oom ? outOfMemory(oom) : describe(e);
    }

    /**
     * The advice for a GPU that ran out of memory ({@code e} or one of its causes: the allocator's refusal, or a CUDA,
     * cuBLAS or cuDNN call that could not allocate), or null for any other error. Not a bug, so not "internal error".
     */
    static String outOfDeviceMemory(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            String m = t.getMessage();
            if (t instanceof org.pulmo.cuda.CudaOutOfMemoryException
                || t instanceof org.pulmo.cuda.CudaException && m != null && (m.contains("OUT_OF_MEMORY") || m.contains("ALLOC_FAILED")))
                return "out of GPU memory: " + oneLine(String.valueOf(m)).replaceFirst("^CUDA out of memory: ", "") + ". Use a smaller --batch-size or --image-size, or free the"
                    + " GPU memory other processes hold (nvidia-smi lists them)";
        }
        return null;
    }

    /** The advice for a JVM that ran out of heap: how much it had and how to give it more. */
    static String outOfMemory(OutOfMemoryError e) {
        long mb = Runtime.getRuntime().maxMemory() >> 20, machine = physicalMemoryMb();
        String head = "out of memory (" + oneLine(String.valueOf(e.getMessage())) + ", Java may use " + mb + " MB";
        long more = Math.min(2 * mb, machine * 3 / 4);   // a heap past three quarters of the machine invites the kernel's OOM killer
        if (machine > 0 && more < mb + mb / 4)
            return head + " of this machine's " + machine + " MB): use smaller images or a smaller --batch-size";
        return head + (machine > 0 ? " of this machine's " + machine + " MB" : "") + "): give it more with PULMO_JAVA_OPTS=-Xmx<size>"
            + " (e.g. -Xmx" + (machine > 0 ? more / 1024 >= 2 ? (more / 1024) + "g" : more + "m" : "16g") + "), or use smaller images or a smaller --batch-size";
    }

    /** The machine's physical memory in MB, or 0 where Java cannot tell. */
    private static long physicalMemoryMb() {
        try {
            return java.lang.management.ManagementFactory.getPlatformMXBean(com.sun.management.OperatingSystemMXBean.class).getTotalMemorySize() >> 20;
        } catch (RuntimeException | LinkageError unknown) {
            return 0;
        }
    }

    /** Several lines ("Unclosed group near index 1", the pattern, a caret) as one. */
    static String oneLine(String s) {
        StringBuilder sb = new StringBuilder();
        for (String l : s.lines().map(String::strip).filter(l -> !l.isEmpty()).toList()) {
            if (!sb.isEmpty()) sb.append(sb.charAt(sb.length() - 1) == ':' ? " " : "; ");   // "lists:; a" reads as a broken line
            sb.append(l);
        }
        return sb.toString();
    }

    /**
     * The output folder of an {@code option} such as {@code --out}, created if missing: a path naming an existing
     * file, or a folder that cannot be created or written to, is an error naming the option, the path and why.
     */
    static Path outputFolder(Path dir, String option) {
        if (Files.exists(dir) && !Files.isDirectory(dir))
            throw new IllegalArgumentException(option + " " + dir + " is a file, not a folder (give a folder; it is created if missing)");
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new IllegalArgumentException(option + " " + dir + ": cannot create the folder: " + describe(e), e);
        }
        if (!Files.isWritable(dir)) throw new IllegalArgumentException(option + " " + dir + ": the folder is not writable");
        return dir;
    }

    /**
     * Checks that the folder of an {@code option} could be made and written, leaving nothing behind: an existing folder
     * must be writable; a missing one is made and removed again (with any parents made for it), so that a place that
     * cannot take the output is said before the work starts, yet no empty folder appears (inside a data folder, it
     * would read as a class).
     */
    static void checkOutputFolder(Path given, String option) {
        Path dir = given.toAbsolutePath().normalize();   // made as named here, so that removing it again removes what was made
        Path existing = dir;
        while (existing != null && !Files.exists(existing)) existing = existing.getParent();
        if (existing != null && existing.equals(dir)) {
            outputFolder(given, option);   // exists: a folder, and writable
            return;
        }
        outputFolder(dir, option);       // made now, or an error naming the option and why
        try {
            for (Path p = dir; p != null && !p.equals(existing); p = p.getParent()) Files.deleteIfExists(p);
        } catch (IOException e) {
            // something was written into it meanwhile: it stays
        }
    }

    /** Why --overwrite may not make a training run's folder the place for other results. */
    static String intoTrainingRun(Path out) {
        return "--overwrite: " + out + (isRunsReport(out) ? " is the test report folder of the training run " + out.toAbsolutePath().normalize().getParent() + " (training writes it"
            + " again when the run resumes)" : " is a training run's folder") + ", and these results would be mixed with its files; give"
            + " another --out, a folder of its own";
    }

    /** Whether {@code dir} is the {@code test/} report a training run writes (and writes again when it resumes). */
    static boolean isRunsReport(Path dir) {
        Path parent = dir.toAbsolutePath().normalize().getParent();
        return dir.getFileName() != null && dir.getFileName().toString().equals("test") && parent != null
            && org.pulmo.train.RunFolder.isTrainingRun(parent);
    }

    /**
     * Where a command writes results meant for {@code out}: {@code out} itself, or, where it holds earlier results
     * ({@code held}; {@code what} names them) and {@code --overwrite} was not given, the next free {@code <out>2},
     * {@code <out>3}, ..., said in one line. Earlier results are never replaced without being asked. A training run's
     * folder is never written into: numbered past without {@code --overwrite}, an error with it (its metrics.json would be
     * replaced and its checkpoints mixed with these results).
     */
    static Path keepEarlier(Path out, boolean overwrite, java.util.function.Predicate<Path> held, String what) {
        notInsideARunInTraining(out);
        boolean run = org.pulmo.train.RunFolder.isTrainingRun(out), report = isRunsReport(out);
        if ((run || report) && overwrite) throw new IllegalArgumentException(intoTrainingRun(out));
        // nor into a training run's folder, nor its test/ report
        java.util.function.Predicate<Path> taken = held.or(org.pulmo.train.RunFolder::isTrainingRun).or(Cli::isRunsReport);
        if (overwrite || !taken.test(out)) return out;
        Path next = org.pulmo.train.RunFolder.nextFree(out, taken, what);
        System.out.println(out + (report ? " is the test report folder of the training run " + out.toAbsolutePath().normalize().getParent()
            : " holds " + (run ? "a training run" : what)) + ", so this output goes to " + next
            + (report ? " (a run's test/ holds its best checkpoint's report alone: evaluate -c " + out.resolveSibling(org.pulmo.train.Trainer.BEST)
                + " writes it, into an empty test/ or with --overwrite)" : run ? "" : " (--overwrite writes into " + out + " instead)"));
        return next;
    }

    /**
     * Refuses {@code out} inside a run folder that a training is writing into now (its {@code test/} report is removed
     * when a new best checkpoint replaces the one it described, and written again when training ends, so that results
     * put there would be lost or mixed with the run's).
     */
    static void notInsideARunInTraining(Path out) {
        // the folders out is inside, as they are on disk (not out itself: a run folder there is numbered past, keepEarlier)
        for (Path p = onDisk(out).getParent(); p != null; p = p.getParent()) {
            Path run = p;
            org.pulmo.train.RunFolder.trainer(run).ifPresent(who -> {
                throw new IllegalArgumentException("--out " + out + " is inside " + run + ", which " + who + " is training into (its files,"
                    + " test/ included, change as the run goes on); give a folder outside it, or wait until the training ends");
            });
        }
    }

    /**
     * Checks, before any work, that {@code file} (of {@code option}) can be written: not a folder, not an existing
     * file unless {@code --overwrite} was given, and in a folder that can be made and written ({@link #write} makes it
     * when the file is written, so that a command that fails leaves no empty folder).
     */
    static void checkNewFile(Path file, boolean overwrite, String option) {
        if (Files.isDirectory(file)) throw new IllegalArgumentException(option + " " + file + " is a folder; give a file name");
        // a standard stream (/dev/stdout), a device or a pipe holds no earlier results and is written to as it is (AtomicFiles)
        if (org.pulmo.io.AtomicFiles.isStream(file) || Files.exists(file) && !Files.isRegularFile(file)) return;
        if (Files.isRegularFile(file) && !overwrite) throw new IllegalArgumentException(option + " " + file + " exists; give --overwrite to replace it, or another file name");
        // --overwrite given: never a file training wrote (through a link: the file it names, which is what is replaced)
        Path real = onDisk(file), dir = real.getParent();
        String name = real.getFileName().toString();
        boolean report = dir != null && isRunsReport(dir);
        boolean runs = dir != null && (org.pulmo.train.RunFolder.isTrainingRun(dir) && org.pulmo.train.RunFolder.RUN_FILES.contains(name)
            || report && EvaluateCommand.FILES.contains(name));
        if (Files.isRegularFile(file) && runs)
            throw new IllegalArgumentException(option + " " + file + " is a file of the training run " + (report ? dir.getParent() : dir)
                + ", which --overwrite does not replace; give another file name");
        checkOutputFolder(file.toAbsolutePath().getParent(), option);
    }

    /**
     * {@code p} absolute and as it is on disk: its deepest existing part with links resolved (a link to a file: the file
     * it names, which AtomicFiles replaces), the rest, not made yet, as given.
     */
    static Path onDisk(Path p) {
        Path abs = p.toAbsolutePath().normalize(), existing = abs;
        while (existing != null && !Files.exists(existing)) existing = existing.getParent();
        if (existing == null) return abs;
        try {
            return existing.toRealPath().resolve(existing.relativize(abs));
        } catch (IOException e) {
            return abs;
        }
    }

    /** Something that writes one file. */
    interface FileWriter { void write(Path file) throws IOException; }

    /**
     * Runs {@code writer} on {@code file}, making its folder first where it is missing; a failure (disk full, permission denied) becomes an IOException naming
     * the file and the cause: "cannot write runs/x/a.csv: No space left on device".
     */
    static void write(Path file, FileWriter writer) throws IOException {
        try {
            Path parent = file.toAbsolutePath().getParent();
            if (parent != null) Files.createDirectories(parent);   // checked at the start (checkNewFile), then left unmade until now
            writer.write(file);
        } catch (IOException | UncheckedIOException e) {
            String why = describe(e);
            throw new IOException("cannot write " + file + ": " + (why.startsWith(file.toString()) ? why.substring(file.toString().length() + 2) : why), e);
        }
    }

    /** Work that may throw; {@link #within} drops what it throws. */
    @FunctionalInterface
    interface Task {
        void run() throws Exception;
    }

    /** What a signal asks for, given "Ctrl-C" or "SIGTERM"; what it throws is dropped (the JVM is about to end). */
    @FunctionalInterface
    interface LastWord {
        void say(String signal) throws Exception;
    }

    /**
     * Runs {@code task} on a thread of its own and waits for it at most {@code millis}: a record that another thread is
     * writing (a slow disk, a hung file system) must not keep "quit at once" from quitting. Whatever it throws is dropped.
     */
    static void within(Task task, long millis) {
        Thread t = Thread.ofPlatform().daemon().start(() -> {
            try {
                task.run();
            } catch (Throwable e) {
                // best effort: the JVM ends anyway
            }
        });
        try {
            t.join(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Runs {@code stop} on the first Ctrl-C (SIGINT) or SIGTERM instead of ending the JVM; a second one runs
     * {@code quit} (what must be said before the JVM ends: the run's record) and ends it at once (exit code 128 + the
     * signal's number: 130 for SIGINT, 143 for SIGTERM). Closing restores the previous handlers.
     *
     * <p>Why a signal handler and not a shutdown hook: a hook runs after the JVM has begun to shut down, and
     * the JVM halts as soon as the hook returns. With the hook, a SIGINT that came right after an epoch's
     * checkpoint ended the child JVM of {@code CtrlCTest} with 130 but without the trainer's "Interrupted"
     * line or {@code interrupted.safetensors}: whatever the training thread then needs that shutdown forbids
     * (registering a shutdown hook, as first-time font set-up for the plots may) fails, and the JVM halts before
     * the error is printed. With the handler the JVM keeps running, the trainer saves and returns, and the
     * command exits normally.
     */
    static AutoCloseable onInterrupt(java.util.function.Consumer<String> stop, LastWord quit) {
        return handleSignals(stop, quit, null);
    }

    /**
     * Quits at the first Ctrl-C (SIGINT) or SIGTERM, for work that cannot stop half-way and save (a test-set evaluation):
     * prints {@code line} on standard error, runs {@code quit} (a second at most: the run's record) and ends the JVM with
     * 128 + the signal's number. Closing restores the previous handlers.
     */
    static AutoCloseable onInterruptQuit(String line, LastWord quit) {
        return handleSignals(null, quit, line);
    }

    @SuppressWarnings("sunapi")
    private static AutoCloseable handleSignals(java.util.function.Consumer<String> stop, LastWord quit, String quitLine) {
        AtomicBoolean asked = new AtomicBoolean();
        List<Runnable> restore = new ArrayList<>();
        for (String name : new String[] {"INT", "TERM"}) {
            try {
                sun.misc.Signal signal = new sun.misc.Signal(name);
                sun.misc.SignalHandler old = sun.misc.Signal.handle(signal, sig -> {
                    if (stop == null || asked.getAndSet(true)) {   // quit now, saying so if that takes no more than a second
                        // (-Dpulmo.interrupt.lastWordMs: longer, for tests on a loaded machine whose disk may be slow)
                        System.err.println("\npulmo: " + (quitLine != null ? quitLine : "quitting at once; run.json says which checkpoint holds the last finished epoch"));
                        within(() -> quit.say(name.equals("INT") ? "Ctrl-C" : "SIG" + name), Long.getLong("pulmo.interrupt.lastWordMs", 1000));
                        Runtime.getRuntime().halt(128 + sig.getNumber());
                    }
                    System.err.println("\npulmo: stopping after this batch and saving (once more to quit at once)");
                    stop.accept(name.equals("INT") ? "Ctrl-C" : "SIG" + name);
                });
                restore.add(() -> sun.misc.Signal.handle(signal, old));
            } catch (IllegalArgumentException | UnsupportedOperationException notHere) {
                // the JVM runs with -Xrs or the platform has no such signal: the default (exit) stays
            }
        }
        return () -> restore.forEach(Runnable::run);
    }
}
