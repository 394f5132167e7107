package org.pulmo.train;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.HeatMapChart;
import org.knowm.xchart.HeatMapChartBuilder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import org.knowm.xchart.XYSeries;
import org.knowm.xchart.internal.chartpart.Chart;
import org.knowm.xchart.style.markers.SeriesMarkers;
import org.pulmo.io.AtomicFiles;

/**
 * PNG plots with XChart: loss and accuracy per epoch, ROC curves, the confusion matrix. Plots are a convenience
 * beside the numbers (metrics.csv, metrics.json, report.txt): where Java cannot draw text (a server without
 * fontconfig or any font), a plot is skipped with one line saying why, and training or evaluation goes on.
 */
public final class Plots {
    private Plots() {}

    private static volatile String unavailable;

    /** Writes one chart as PNG; a field so that a test can stand in a machine whose Java cannot draw text. */
    interface Encoder { void write(Chart<?, ?> chart, Path file) throws IOException; }

    private static final Encoder XCHART = (chart, file) -> AtomicFiles.write(file, BitmapEncoder.getBitmapBytes(chart, BitmapEncoder.BitmapFormat.PNG));

    static volatile Encoder encoder = XCHART;

    /** Tests: back to the real encoder and a clean slate. */
    static void reset() {
        encoder = XCHART;
        unavailable = null;
    }

    /**
     * Why Java 2D could not draw text, from what it threw: it needs fontconfig and at least one font, which
     * headless servers and containers often lack ("Fontconfig head is null"). Plots and explanation overlays say so.
     */
    public static String cannotDrawText(Throwable e) {
        return "Java cannot draw text on this machine: " + e + "; install fontconfig and a font package (e.g. fonts-dejavu-core)";
    }

    /** Null while plots can be drawn; else why they cannot (set by the first failed plot). */
    public static String unavailableReason() { return unavailable; }

    /** "loss.png, accuracy.png" or the note that plots were skipped, for a command's list of written files. */
    public static String listed(String... files) {
        return unavailable == null ? String.join(", ", files) : "no plots (" + unavailable + ")";
    }

    static {
        System.setProperty("java.awt.headless", "true");
        org.pulmo.data.ImageDecoder.imageBuffersInMemory();   // the PNG encoder's buffers, not a file in a temporary folder
    }

    /**
     * {@code loss.png} and {@code accuracy.png}: training and validation per epoch. For MA-Net the loss plot also
     * shows the training means of L_CE and L_CS (train is then the total a1 L_CE + a2 L_CS that was minimised), and
     * {@code manet_weights.png} the means of the weights a1 and a2.
     */
    public static void curves(History h, Path dir) throws IOException {
        List<Double> ep = new ArrayList<>(), tl = new ArrayList<>(), vl = new ArrayList<>(), ta = new ArrayList<>(), va = new ArrayList<>();
        List<Double> ce = new ArrayList<>(), cs = new ArrayList<>();
        boolean maNet = false;
        for (History.Row r : h.rows()) {
            ep.add((double) r.epoch());
            tl.add(r.trainLoss());
            vl.add(r.valLoss());
            ta.add(100 * r.trainAcc());
            va.add(100 * r.valAcc());
            ce.add(r.maNet() == null ? Double.NaN : r.maNet().ce());
            cs.add(r.maNet() == null ? Double.NaN : r.maNet().cs());
            maNet |= r.maNet() != null;
        }
        List<String> names = maNet ? List.of("train", "validation", "train L_CE", "train L_CS") : List.of("train", "validation");
        List<List<Double>> series = maNet ? List.of(tl, vl, ce, cs) : List.of(tl, vl);
        save(logScaleIfWide(lines("Loss", "epoch", maNet ? "loss" : "cross-entropy", ep, names, series), series), dir.resolve("loss.png"));
        save(lines("Accuracy", "epoch", "accuracy (%)", ep, List.of("train", "validation"), List.of(ta, va)), dir.resolve("accuracy.png"));
        if (maNet) {
            List<Double> a1 = new ArrayList<>(), a2 = new ArrayList<>();
            for (History.Row r : h.rows()) {
                a1.add(r.maNet() == null ? Double.NaN : r.maNet().a1());
                a2.add(r.maNet() == null ? Double.NaN : r.maNet().a2());
            }
            save(lines("MA-Net loss weights (eq. 15)", "epoch", "training mean", ep, List.of("a1 (L_CE)", "a2 (L_CS)"), List.of(a1, a2)),
                dir.resolve("manet_weights.png"));
        }
    }

    /**
     * Several runs side by side, one line per run named by its label: {@code val_accuracy.png}, {@code train_loss.png}
     * (for MA-Net the total a1 L_CE + a2 L_CS that was minimised) and {@code val_loss.png}, over each run's own epochs.
     */
    public static void compare(List<String> labels, List<History> runs, Path dir) throws IOException {
        List<List<Double>> ep = new ArrayList<>(), va = new ArrayList<>(), tl = new ArrayList<>(), vl = new ArrayList<>();
        for (History h : runs) {
            ep.add(h.rows().stream().map(r -> (double) r.epoch()).toList());
            va.add(h.rows().stream().map(r -> 100 * r.valAcc()).toList());
            tl.add(h.rows().stream().map(History.Row::trainLoss).toList());
            vl.add(h.rows().stream().map(History.Row::valLoss).toList());
        }
        save(linesEach(800, "Validation accuracy", "epoch", "accuracy (%)", ep, labels, va), dir.resolve("val_accuracy.png"));
        save(logScaleIfWide(linesEach(800, "Training loss", "epoch", "loss", ep, labels, tl), tl), dir.resolve("train_loss.png"));
        save(logScaleIfWide(linesEach(800, "Validation loss", "epoch", "cross-entropy", ep, labels, vl), vl), dir.resolve("val_loss.png"));
    }

    /**
     * A log y axis where an early loss far above the rest (batch-norm running statistics still settling) would flatten
     * every other point to the axis: when the positive values span more than 100x and none is at or below zero (as
     * L_CS, a cosine similarity, can be: a log axis cannot show those).
     */
    private static XYChart logScaleIfWide(XYChart chart, List<List<Double>> series) {
        double lo = Double.POSITIVE_INFINITY, hi = 0;
        boolean nonPositive = false;
        for (List<Double> l : series) for (Double v : l) if (v != null && Double.isFinite(v)) {
            if (v > 0) { lo = Math.min(lo, v); hi = Math.max(hi, v); } else nonPositive = true;
        }
        if (hi / lo > 100 && lo > 0 && !nonPositive) chart.getStyler().setYAxisLogarithmic(true);
        return chart;
    }

    private static XYChart lines(String title, String x, String y, List<Double> xs, List<String> names, List<List<Double>> ys) {
        return linesEach(640, title, x, y, java.util.Collections.nCopies(names.size(), xs), names, ys);
    }

    /**
     * Line colours that stay apart when many runs share a chart (the "tab10" palette of matplotlib, which readers of the
     * papers' figures know); XChart's own repeats near-identical yellows and oranges from the fifth line on.
     */
    private static final java.awt.Color[] PALETTE = {new java.awt.Color(31, 119, 180), new java.awt.Color(255, 127, 14),
        new java.awt.Color(44, 160, 44), new java.awt.Color(214, 39, 40), new java.awt.Color(148, 103, 189), new java.awt.Color(140, 86, 75),
        new java.awt.Color(227, 119, 194), new java.awt.Color(127, 127, 127), new java.awt.Color(188, 189, 34), new java.awt.Color(23, 190, 207)};

    /** One line per name over its own x values; non-finite values are left out, and a line with none at all. */
    private static XYChart linesEach(int width, String title, String x, String y, List<List<Double>> xs, List<String> names, List<List<Double>> ys) {
        XYChart c = new XYChartBuilder().width(width).height(420).title(title).xAxisTitle(x).yAxisTitle(y).build();
        c.getStyler().setMarkerSize(5).setSeriesColors(PALETTE);
        for (int i = 0; i < names.size(); i++) {
            List<Double> fx = new ArrayList<>(), fy = new ArrayList<>();
            for (int k = 0; k < xs.get(i).size(); k++) {
                Double v = ys.get(i).get(k);
                if (v != null && Double.isFinite(v)) { fx.add(xs.get(i).get(k)); fy.add(v); }
            }
            int n = fy.size();
            thin(fx, fy, width);
            if (!fy.isEmpty()) c.addSeries(names.get(i), fx, fy).setMarker(n > MARKERS_UP_TO ? SeriesMarkers.NONE : SeriesMarkers.CIRCLE);
        }
        return c;
    }

    /** A line of more points than this is drawn without a marker on each (they would merge into a band). */
    static final int MARKERS_UP_TO = 300;

    /**
     * Cuts a line of more than {@code 2 * buckets} points to the lowest and highest point of each of {@code buckets}
     * runs of consecutive points, in their order: what a chart {@code buckets} pixels wide can show of it, spikes
     * included. Drawing every point of a 10^5-row metrics.csv took minutes; a paper's 100-120 epochs are left as they are.
     */
    static void thin(List<Double> xs, List<Double> ys, int buckets) {
        int n = ys.size();
        if (n <= 2 * buckets) return;
        List<Double> tx = new ArrayList<>(2 * buckets), ty = new ArrayList<>(2 * buckets);
        for (int b = 0; b < buckets; b++) {
            int from = (int) ((long) n * b / buckets), to = (int) ((long) n * (b + 1) / buckets), lo = from, hi = from;
            for (int k = from + 1; k < to; k++) {
                if (ys.get(k) < ys.get(lo)) lo = k;
                if (ys.get(k) > ys.get(hi)) hi = k;
            }
            for (int k : lo == hi ? new int[] {lo} : new int[] {Math.min(lo, hi), Math.max(lo, hi)}) { tx.add(xs.get(k)); ty.add(ys.get(k)); }
        }
        xs.clear(); xs.addAll(tx);
        ys.clear(); ys.addAll(ty);
    }

    /**
     * {@code roc.png}: one curve per class (one-vs-rest), or one for a binary task. {@code fpr[k]}, {@code tpr[k]}
     * are the points of class k's curve, {@code auc[k]} its area and {@code auc95[k]} the area's 95 % interval (DeLong),
     * both in the legend.
     */
    public static void roc(List<String> names, List<double[]> fpr, List<double[]> tpr, double[] auc, org.pulmo.metrics.Intervals.Interval[] auc95,
                           Path file) throws IOException {
        roc("ROC", names, fpr, tpr, auc, auc95, file);
    }

    /** A curve's legend: "covid (AUC 0.934, 95 % CI 0.901-0.967)", without the interval where it is undefined. */
    static String rocLegend(String name, double auc, org.pulmo.metrics.Intervals.Interval auc95) {
        return auc95 != null && auc95.defined()
            ? String.format(java.util.Locale.ROOT, "%s (AUC %.3f, 95 %% CI %.3f-%.3f)", name, auc, auc95.low(), auc95.high())
            : String.format(java.util.Locale.ROOT, "%s (AUC %.3f)", name, auc);
    }

    /** {@link #roc(List, List, List, double[], org.pulmo.metrics.Intervals.Interval[], Path)} under another title. */
    public static void roc(String title, List<String> names, List<double[]> fpr, List<double[]> tpr, double[] auc,
                           org.pulmo.metrics.Intervals.Interval[] auc95, Path file) throws IOException {
        // the legend below the plot, a line per curve: beside it, legends such as "DPN-92-SE, no augmentation (AUC 0.604, 95 % CI
        // 0.387-0.821)" left the plot a thin strip and cut its title and axis labels
        XYChart c = new XYChartBuilder().width(600).height(500 + 22 * (names.size() + 1)).title(title)
            .xAxisTitle("false positive rate (1 - specificity)").yAxisTitle("true positive rate (sensitivity)").build();
        c.getStyler().setXAxisMin(0.0).setXAxisMax(1.0).setYAxisMin(0.0).setYAxisMax(1.0).setSeriesColors(PALETTE)
            .setLegendPosition(org.knowm.xchart.style.Styler.LegendPosition.OutsideS).setLegendLayout(org.knowm.xchart.style.Styler.LegendLayout.Vertical);
        for (int k = 0; k < names.size(); k++) {
            XYSeries sr = c.addSeries(rocLegend(names.get(k), auc[k], auc95[k]), fpr.get(k), tpr.get(k));
            sr.setMarker(SeriesMarkers.NONE);
        }
        // the diagonal through a point no ROC curve has: where the curves' values are all equally spaced (k / positives), as
        // a small test set's are, XChart puts a tick label at every one of them (0.958333333333 and 24 more on the y axis)
        double off = Math.PI / 10;
        XYSeries chance = c.addSeries("chance", new double[] {0, off, 1}, new double[] {0, off, 1});
        chance.setMarker(SeriesMarkers.NONE).setLineStyle(org.knowm.xchart.style.lines.SeriesLines.DASH_DASH).setLineColor(java.awt.Color.GRAY);
        save(c, file);
    }

    /** {@code confusion_matrix.png}: rows = true class, columns = predicted class, cell = count. */
    public static void confusion(List<String> classes, long[][] m, Path file) throws IOException {
        int k = classes.size();
        HeatMapChart c = new HeatMapChartBuilder().width(140 + 110 * k).height(120 + 90 * k).title("Confusion matrix (rows: true, columns: predicted)").build();
        c.getStyler().setShowValue(true).setPlotContentSize(1.0);
        c.getStyler().setRangeColors(new java.awt.Color[] {new java.awt.Color(247, 251, 255), new java.awt.Color(8, 48, 107)});
        List<Number[]> cells = new ArrayList<>();
        // HeatMapChart puts y index 0 at the bottom; draw the first true class on top as tables do.
        for (int t = 0; t < k; t++) for (int p = 0; p < k; p++) cells.add(new Number[] {p, k - 1 - t, m[t][p]});
        List<String> yNames = new ArrayList<>(classes);
        java.util.Collections.reverse(yNames);
        c.addSeries("count", classes, yNames, cells);
        save(c, file);
    }

    private static void save(Chart<?, ?> chart, Path file) throws IOException {
        if (unavailable != null) return;
        // axis numbers "0.5" in every locale, as the files and legends print them (every chart here has axes)
        if (chart.getStyler() instanceof org.knowm.xchart.style.AxesChartStyler axes) axes.setLocale(java.util.Locale.ROOT);
        try {
            encoder.write(chart, file);
        } catch (IOException e) {
            throw e;
        } catch (RuntimeException | LinkageError | InternalError e) {
            // no fonts (see cannotDrawText): the plots are not worth a failed run, so say so once and go on
            unavailable = cannotDrawText(e) + " for the PNG plots";
            System.err.println("pulmo: plots skipped: " + unavailable + ". The numbers are in the CSV/JSON files.");
        }
    }
}
