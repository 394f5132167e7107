package org.pulmo.data;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryNotEmptyException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;

/**
 * A file-system error in words: Java's {@code AccessDeniedException} and its kin carry only the path as their message,
 * and {@code toString()} shows their class name, which is no message for a user.
 */
public final class IoErrors {
    private IoErrors() {}

    /** "PATH: permission denied", "PATH: no such file or folder", ...; any other I/O error's own message. */
    public static String describe(IOException e) {
        if (e instanceof FileSystemException f) {
            String what = f.getReason() != null ? f.getReason() : switch (f) {
                case NoSuchFileException x -> "no such file or folder";
                case AccessDeniedException x -> "permission denied";
                case FileAlreadyExistsException x -> "already exists";
                case NotDirectoryException x -> "not a folder";
                case DirectoryNotEmptyException x -> "folder not empty";
                default -> f.getClass().getSimpleName();
            };
            return f.getFile() + ": " + what + (f.getOtherFile() != null ? " (" + f.getOtherFile() + ")" : "");
        }
        return e.getMessage() == null || e.getMessage().isBlank() ? e.getClass().getSimpleName() : e.getMessage();
    }

    /** {@link #describe(IOException)} of an I/O error, wrapped or not, else the error's message. */
    public static String describe(Exception e) {
        if (e instanceof UncheckedIOException u && u.getCause() != null) return describe(u.getCause());
        if (e instanceof IOException io) return describe(io);
        return e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
    }
}
