package org.pulmo.data;

/** A batch that could not be made; the message names the image (file path) that failed and why. */
public final class DataLoadException extends RuntimeException {
    public DataLoadException(String message, Throwable cause) { super(message, cause); }
}
