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
 * <p>The temporary file is {@code .<name>.<digits>.tmp}. A process killed while writing leaves one behind (as
 * large as the file); the next write of the same target removes every file of exactly that pattern for that
 * name, and nothing else. Two processes writing the same target at once is not supported (the last rename
 * wins, and one may remove the other's temporary file).
 */
public final class AtomicFiles {
    private AtomicFiles() {}

    public static void write(Path file, byte[] contents) throws IOException {
        Path target = file.toAbsolutePath();
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
