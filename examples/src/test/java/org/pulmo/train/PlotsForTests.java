package org.pulmo.train;

/** For tests of other packages: charts drawn into nothing (as where Java cannot draw, but without its message), and back. */
public final class PlotsForTests {
    private PlotsForTests() {}

    public static void drawNothing() { Plots.encoder = (chart, file) -> {}; }

    /** Every chart's write fails as on a full disk, naming the file. */
    public static void failWriting() {
        Plots.encoder = (chart, file) -> { throw new java.io.IOException(file + ": No space left on device"); };
    }

    /** Every chart is kept in {@code into} under its file name (the file holds a placeholder), to read what would be drawn. */
    public static void keepCharts(java.util.Map<String, org.knowm.xchart.internal.chartpart.Chart<?, ?>> into) {
        Plots.encoder = (chart, file) -> {
            into.put(file.getFileName().toString(), chart);
            java.nio.file.Files.writeString(file, "a chart");
        };
    }

    public static void reset() { Plots.reset(); }
}
