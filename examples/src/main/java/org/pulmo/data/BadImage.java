package org.pulmo.data;

/** An image that could not be read: its index in the data set, where it comes from, and why. */
public record BadImage(int index, String source, String reason) {
    @Override public String toString() { return source + ": " + reason; }
}
