package org.pulmo.train;

/** For tests of other packages: charts drawn into nothing (as where Java cannot draw, but without its message), and back. */
public final class PlotsForTests {
    private PlotsForTests() {}

    public static void drawNothing() { Plots.encoder = (chart, file) -> {}; }

    public static void reset() { Plots.reset(); }
}
