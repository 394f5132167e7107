package org.pulmo.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.Set;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Files written whole, with the permissions a plain write gives, and the leftovers of interrupted writes removed. */
class AtomicFilesTest {

    /** Before: every checkpoint and run.json was 0600 (Files.createTempFile's), unreadable to a group sharing the runs. */
    @Test void aWrittenFileHasTheUsersUsualPermissions(@TempDir Path dir) throws Exception {
        Assumptions.assumeTrue(dir.getFileSystem().supportedFileAttributeViews().contains("posix"), "no POSIX permissions here");
        Path plain = dir.resolve("plain.txt"), atomic = dir.resolve("atomic.txt");
        Files.writeString(plain, "x");   // what the user's umask gives a new file
        AtomicFiles.write(atomic, new byte[] {1, 2, 3});
        Set<PosixFilePermission> expected = Files.getPosixFilePermissions(plain);
        assertEquals(expected, Files.getPosixFilePermissions(atomic));
        assertArrayEquals(new byte[] {1, 2, 3}, Files.readAllBytes(atomic));
    }

    @Test void leftoversOfAnInterruptedWriteGoAndNothingElse(@TempDir Path dir) throws Exception {
        Path target = dir.resolve("last.safetensors");
        Files.writeString(dir.resolve(".last.safetensors.123456.tmp"), "half");
        Files.writeString(dir.resolve(".best.safetensors.99.tmp"), "another file's");
        Files.writeString(dir.resolve("notes.tmp"), "the user's");
        AtomicFiles.write(target, new byte[] {7});
        try (var files = Files.list(dir)) {
            assertEquals(Set.of("last.safetensors", ".best.safetensors.99.tmp", "notes.tmp"),
                Set.copyOf(files.map(p -> p.getFileName().toString()).toList()));
        }
        assertTrue(Files.size(target) == 1);
    }

    /** Java says "No space left on device" without the file; the write says which file it was. */
    @Test void aFailedWriteNamesTheFile(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("metrics.csv");
        java.io.IOException bare = new java.io.IOException("No space left on device");
        java.io.IOException named = AtomicFiles.naming(file, bare);
        assertTrue(named instanceof java.nio.file.FileSystemException, named.toString());
        assertEquals(file.toString(), ((java.nio.file.FileSystemException) named).getFile());
        assertEquals("No space left on device", ((java.nio.file.FileSystemException) named).getReason());
        assertTrue(named.getCause() == bare);
        java.nio.file.NoSuchFileException already = new java.nio.file.NoSuchFileException("other");
        assertTrue(AtomicFiles.naming(file, already) == already, "an exception that names its file is kept");
        // through write: a folder of that name in the way fails the rename, naming the file
        Path blocked = dir.resolve("blocked");
        Files.createDirectories(blocked.resolve("inside"));
        java.nio.file.FileSystemException e = org.junit.jupiter.api.Assertions.assertThrows(java.nio.file.FileSystemException.class,
            () -> AtomicFiles.writeString(blocked, "x"));
        assertEquals(blocked.toAbsolutePath().toString(), e.getFile());
        try (var left = Files.list(dir)) { assertEquals(1, left.count(), "no temporary file left behind"); }
    }

    @Test void aStreamWritersBytesArriveWhole(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("a.bin");
        AtomicFiles.write(file, out -> { out.write(new byte[] {1, 2}); out.write(3); });
        assertArrayEquals(new byte[] {1, 2, 3}, Files.readAllBytes(file));
        org.junit.jupiter.api.Assertions.assertThrows(java.io.IOException.class,
            () -> AtomicFiles.write(file, out -> { out.write(9); throw new java.io.IOException("encoder failed"); }));
        assertArrayEquals(new byte[] {1, 2, 3}, Files.readAllBytes(file), "a writer that fails leaves the old contents");
    }

    /** A symbolic link is followed (the file it names is replaced, the link stays); a standard stream is written as one. */
    @Test void aLinkIsFollowedAndADeviceWrittenThrough(@TempDir Path dir) throws Exception {
        Path real = Files.writeString(dir.resolve("real.csv"), "old"), link = Files.createSymbolicLink(dir.resolve("link.csv"), real);
        AtomicFiles.writeString(link, "new");
        assertTrue(Files.isSymbolicLink(link), "the link stays a link");
        assertEquals("new", Files.readString(real));
        Path dangling = Files.createSymbolicLink(dir.resolve("later.csv"), dir.resolve("not-yet.csv"));
        AtomicFiles.writeString(dangling, "made");
        assertEquals("made", Files.readString(dir.resolve("not-yet.csv")));
        // the standard streams are written as streams, whatever they lead to; a regular file under /dev (/dev/shm) is not one
        for (String stream : new String[] {"/dev/stdout", "/dev/stderr", "/dev/fd/1", "/proc/self/fd/2"})
            assertTrue(AtomicFiles.isStream(Path.of(stream)), stream);
        for (String file : new String[] {"/dev/shm/run/last.safetensors", "/dev/../tmp/x", "/proc/self/status"})
            assertTrue(!AtomicFiles.isStream(Path.of(file)), file);
    }
}
