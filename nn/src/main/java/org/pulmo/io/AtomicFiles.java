package org.pulmo.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Writes a file so that a reader sees either the old contents or the new, never a half-written file, even
 * if the process or the machine dies: write a temporary file in the same directory (same file system, so the
 * rename is atomic), force it to disk, rename it over the target, then force the directory entry.
 *
 * <p>A symbolic link is followed: the file it names is replaced and the link stays. A device or a pipe is written as it
 * is, and a standard stream ({@link #isStream}) is appended to, whatever it leads to (a terminal, a pipe, a file).
 *
 * <p>The temporary file is {@code .<name>.<digits>.tmp}. A process killed while writing leaves one behind (as
 * large as the file); the next write of the same target removes every file of exactly that pattern for that
 * name, and nothing else. Two processes writing the same target at once is not supported (the last rename
 * wins, and one may remove the other's temporary file).
 */
public final class AtomicFiles {
    private AtomicFiles() {}

    /** As {@link #write(Path, byte[])} for text, in UTF-8. */
    public static void writeString(Path file, CharSequence text) throws IOException {
        write(file, text.toString().getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }

    /** Writes what {@code writer} puts into a stream (an image encoder's output, say), as {@link #write(Path, byte[])}. */
    public static void write(Path file, StreamWriter writer) throws IOException {
        java.io.ByteArrayOutputStream bytes = new java.io.ByteArrayOutputStream();
        writer.writeTo(bytes);
        write(file, bytes.toByteArray());
    }

    /** Writes a file's contents into a stream. */
    @FunctionalInterface
    public interface StreamWriter { void writeTo(java.io.OutputStream out) throws IOException; }

    /**
     * Writes {@code contents} to {@code file} atomically. A failure names the file: Java's own message for a full disk
     * or an I/O error is the reason alone ("No space left on device"), so it comes back as a
     * {@link java.nio.file.FileSystemException} of {@code file} with that reason.
     */
    public static void write(Path file, byte[] contents) throws IOException {
        try {
            writeAtomically(file, contents);
        } catch (IOException e) {
            throw naming(file, e);
        }
    }

    /**
     * {@code e} as an exception that names {@code file}: a file-system exception of another file as it is, one of the
     * temporary file (the rename failed) as {@code file}'s, anything else with its message as the reason.
     */
    static IOException naming(Path file, IOException e) {
        if (e instanceof java.nio.file.FileSystemException f) {
            String tmp = f.getFile() == null ? "" : Path.of(f.getFile()).getFileName().toString();
            if (!tmp.startsWith("." + file.getFileName() + ".") || !tmp.endsWith(".tmp")) return e;
            return named(file, f.getReason() != null ? f.getReason() : switch (f) {
                case java.nio.file.DirectoryNotEmptyException x -> "a folder of that name is in the way";
                case java.nio.file.AccessDeniedException x -> "permission denied";
                case java.nio.file.NoSuchFileException x -> "no new file can be made in its folder (no such file or folder)";
                default -> f.getClass().getSimpleName();
            }, e);
        }
        return named(file, e.getMessage() == null || e.getMessage().isBlank() ? e.getClass().getSimpleName() : e.getMessage(), e);
    }

    private static IOException named(Path file, String reason, IOException cause) {
        java.nio.file.FileSystemException named = new java.nio.file.FileSystemException(file.toString(), null, reason);
        named.initCause(cause);
        return named;
    }

    private static void writeAtomically(Path file, byte[] contents) throws IOException {
        Path target = file.toAbsolutePath().normalize();
        if (isStream(target)) {   // /dev/stdout: the stream, wherever it goes; appended, so a redirected file keeps what came before
            Files.write(target, contents, StandardOpenOption.WRITE, StandardOpenOption.APPEND);
            return;
        }
        if (Files.exists(target) && !Files.isRegularFile(target) && !Files.isDirectory(target)) {
            Files.write(target, contents, StandardOpenOption.WRITE);   // a device or a pipe: nothing to replace
            return;
        }
        if (Files.isSymbolicLink(target)) {   // the file the link names is replaced, and the link stays
            try {
                target = target.toRealPath();
            } catch (IOException dangling) {   // a link to nothing yet: written through, creating what it names
                Files.write(target, contents);
                return;
            }
        }
        Path dir = target.getParent();
        Files.createDirectories(dir);
        removeStale(target);
        // not Files.createTempFile, which makes the file readable by its owner alone (0600): the file gets the
        // permissions any new file of the user gets (0644 under the usual umask), as a plain write would
        Path tmp = null;
        FileChannel opened = null;
        while (opened == null) {
            tmp = dir.resolve("." + target.getFileName() + "." + java.util.concurrent.ThreadLocalRandom.current().nextLong(Long.MAX_VALUE) + ".tmp");
            try {
                opened = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.CREATE_NEW);
            } catch (java.nio.file.FileAlreadyExistsException taken) {
                // another write's name: draw again
            }
        }
        boolean moved = false;
        try {
            try (FileChannel ch = opened) {
                ByteBuffer b = ByteBuffer.wrap(contents);
                while (b.hasRemaining()) ch.write(b);
                ch.force(true);
            }
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
            moved = true;
            try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
                d.force(true); // persist the rename; not every platform can open a directory, which is fine
            } catch (IOException | UnsupportedOperationException ignored) {
                // best effort
            }
        } finally {
            if (!moved) Files.deleteIfExists(tmp);
        }
    }

    /**
     * Whether {@code file} names one of this process's standard streams or open descriptors ({@code /dev/stdout},
     * {@code /dev/stderr}, {@code /dev/fd/N}, {@code /proc/self/fd/N}): written to as a stream, never replaced.
     */
    public static boolean isStream(Path file) {
        Path p = file.toAbsolutePath().normalize();
        return p.equals(Path.of("/dev/stdout")) || p.equals(Path.of("/dev/stderr")) || (p.getParent() != null
            && (p.getParent().equals(Path.of("/dev/fd")) || p.getParent().equals(Path.of("/proc/self/fd"))));
    }

    /** Removes the temporary files that interrupted writes of {@code file} left behind; returns how many. */
    public static int removeStale(Path file) throws IOException {
        Path target = file.toAbsolutePath();
        Pattern ours = Pattern.compile("\\." + Pattern.quote(target.getFileName().toString()) + "\\.[0-9]+\\.tmp");
        int removed = 0;
        if (!Files.isDirectory(target.getParent())) return 0;
        try (Stream<Path> files = Files.list(target.getParent())) {
            for (Path p : (Iterable<Path>) files::iterator)
                if (ours.matcher(p.getFileName().toString()).matches() && Files.isRegularFile(p) && Files.deleteIfExists(p)) removed++;
        }
        return removed;
    }
}
