package org.pulmo.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The curves are written as PNG; where Java cannot draw text they are skipped with the reason, and nothing fails. */
class PlotsTest {
    @AfterEach void realEncoder() { Plots.reset(); }

    static History twoEpochs() {
        History h = new History();
        h.add(new History.Row(1, 0.01, 1.3, 0.4, 1.2, 0.45, 100, 3));
        h.add(new History.Row(2, 0.01, 0.9, 0.6, 1.0, 0.55, 100, 3));
        return h;
    }

    @Test void curvesAreWritten(@TempDir Path dir) throws Exception {
        Plots.curves(twoEpochs(), dir);
        assertTrue(Files.size(dir.resolve("loss.png")) > 0);
        assertTrue(Files.size(dir.resolve("accuracy.png")) > 0);
        assertNull(Plots.unavailableReason());
        assertEquals("loss.png, accuracy.png", Plots.listed("loss.png", "accuracy.png"));
    }

    /**
     * A long line is cut to each bucket's lowest and highest point, in order: its extremes (a spike of one epoch) stay, the
     * x values stay increasing, and at most two points a bucket are left; a paper's 120 epochs are drawn as they are.
     */
    @Test void longLinesKeepTheirExtremesInOrder() {
        java.util.Random rnd = new java.util.Random(5);
        java.util.List<Double> xs = new java.util.ArrayList<>(), ys = new java.util.ArrayList<>();
        for (int e = 1; e <= 100_000; e++) { xs.add((double) e); ys.add(1 / Math.sqrt(e) + 0.01 * rnd.nextDouble()); }
        ys.set(77_777, 9.0);   // one diverged epoch
        ys.set(33_333, -1.0);
        double first = ys.getFirst();
        Plots.thin(xs, ys, 640);
        assertTrue(ys.size() <= 1280 && ys.size() >= 640, "points left: " + ys.size());
        assertTrue(ys.contains(9.0) && ys.contains(-1.0) && ys.contains(first), "the extremes are kept");
        assertEquals(77_778.0, xs.get(ys.indexOf(9.0)), "each point keeps its own x");
        for (int k = 1; k < xs.size(); k++) assertTrue(xs.get(k) > xs.get(k - 1), "x increasing at " + k);
        java.util.List<Double> shortX = new java.util.ArrayList<>(xs.subList(0, 120)), shortY = new java.util.ArrayList<>(ys.subList(0, 120));
        Plots.thin(shortX, shortY, 640);
        assertEquals(120, shortY.size(), "120 epochs drawn as they are");
    }

    /** The ROC legend gives each curve's AUC with its 95 % interval, and the AUC alone where the interval is undefined. */
    @Test void rocLegendsCarryTheAucInterval() {
        var ci = org.pulmo.metrics.Intervals.delong(new double[] {0.9, 0.7, 0.6, 0.4, 0.4, 0.2}, new boolean[] {true, false, true, true, false, false});
        assertEquals(String.format(java.util.Locale.ROOT, "covid (AUC 0.722, 95 %% CI %.3f-1.000)", ci.interval95().low()),
            Plots.rocLegend("covid", ci.auc(), ci.interval95()));
        assertEquals("covid (AUC 0.722)", Plots.rocLegend("covid", 13.0 / 18, org.pulmo.metrics.Intervals.Interval.UNDEFINED));
    }

    /** What a GPU server without fontconfig throws from XChart's first text: the run must go on without plots. */
    @Test void aMachineWithoutFontsSkipsThePlotsAndSaysWhy(@TempDir Path dir) throws Exception {
        Plots.encoder = (chart, file) -> { throw new RuntimeException("Fontconfig head is null, check your fonts or fonts configuration"); };
        Plots.curves(twoEpochs(), dir);
        Plots.confusion(java.util.List.of("a", "b"), new long[][] {{1, 2}, {3, 4}}, dir.resolve("confusion_matrix.png"));
        assertFalse(Files.exists(dir.resolve("loss.png")));
        assertTrue(Plots.unavailableReason().contains("Fontconfig head is null"), Plots.unavailableReason());
        assertTrue(Plots.listed("loss.png", "accuracy.png").startsWith("no plots (Java cannot draw text"), Plots.listed("loss.png"));
    }

    /** MA-Net: L_CE and L_CS are drawn; a negative L_CS must not ask for a log axis (which XChart refuses, and the refusal would read as "no fonts"). */
    @Test void maNetLossPartsAreDrawn(@TempDir Path dir) throws Exception {
        java.util.List<String> series = new java.util.ArrayList<>();
        Plots.encoder = (chart, file) -> {
            if (file.getFileName().toString().equals("loss.png")) series.addAll(((org.knowm.xchart.XYChart) chart).getSeriesMap().keySet());
            org.knowm.xchart.BitmapEncoder.saveBitmap(chart, file.toString(), org.knowm.xchart.BitmapEncoder.BitmapFormat.PNG);
        };
        History h = new History();
        h.add(new History.Row(1, 0.01, 2.6, 0.4, 300, 0.45, 100, 3, 0.5, Double.NaN, new History.MaNetLosses(2.7, -0.2, 0.6, 0.4)));
        h.add(new History.Row(2, 0.01, 1.2, 0.6, 1.0, 0.55, 100, 3, 0.25, Double.NaN, new History.MaNetLosses(1.3, -0.4, 0.7, 0.3)));
        Plots.curves(h, dir);
        assertNull(Plots.unavailableReason());
        assertEquals(java.util.List.of("train", "validation", "train L_CE", "train L_CS"), series);
        assertTrue(Files.size(dir.resolve("loss.png")) > 0);
        h.write(dir);
        History back = History.read(dir.resolve("metrics.csv"), 2);
        assertEquals(h.rows().get(1).maNet().cs(), back.rows().get(1).maNet().cs(), 1e-6, "the MA-Net columns survive --resume");
    }
}
