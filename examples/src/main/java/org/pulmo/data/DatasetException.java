package org.pulmo.data;

/** A data set that cannot be used as given (missing folder, empty class, wrong class count, bad list file). */
public final class DatasetException extends RuntimeException {
    public DatasetException(String message) { super(message); }

    public DatasetException(String message, Throwable cause) { super(message, cause); }
}
