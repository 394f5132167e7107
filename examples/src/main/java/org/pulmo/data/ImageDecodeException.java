package org.pulmo.data;

import java.io.IOException;
import java.nio.file.Path;

/** An image file that could not be decoded; the message starts with the file's path and says why. */
public final class ImageDecodeException extends IOException {
    private final transient Path path;
    private final String reason;

    public ImageDecodeException(Path path, String reason) { this(path, reason, null); }

    public ImageDecodeException(Path path, String reason, Throwable cause) {
        super(path + ": " + reason, cause);
        this.path = path;
        this.reason = reason;
    }

    public Path path() { return path; }

    /** Why the file was rejected, without the path ("empty file", "truncated PNG data", ...). */
    public String reason() { return reason; }
}
