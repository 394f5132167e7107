package org.pulmo.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;

/**
 * Writes a file so that a reader sees either the old contents or the new, never a half-written file, even
 * if the process or the machine dies: write a temporary file in the same directory (same file system, so the
 * rename is atomic), force it to disk, rename it over the target, then force the directory entry.
 */
public final class AtomicFiles {
    private AtomicFiles() {}

    public static void write(Path file, byte[] contents) throws IOException {
        Path target = file.toAbsolutePath();
        Path dir = target.getParent();
        Files.createDirectories(dir);
        Path tmp = Files.createTempFile(dir, "." + target.getFileName() + ".", ".tmp");
        boolean moved = false;
        try {
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING)) {
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
}
