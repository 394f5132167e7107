package org.pulmo.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYSeries;
import org.pulmo.examples.CliEndToEndTest;

/**
 * {@code pulmo plot --compare}: several runs on shared charts. What is drawn is read off the charts themselves (the
 * encoder is a stand-in that keeps them): each run's own epochs and values under its label, and an ROC whose AUCs are
 * the ones counted by hand from the predictions.
 */
class ComparePlotsTest {
    private final Map<String, XYChart> drawn = new LinkedHashMap<>();

    @AfterEach void realEncoder() { Plots.reset(); }

    private void keepCharts() {
        Plots.encoder = (chart, file) -> {
            drawn.put(file.getFileName().toString(), (XYChart) chart);
            Files.writeString(file, "a chart");   // the file as a user would find it
        };
    }

    /** A run folder: metrics.csv of {@code valAcc.length} epochs and, when given, test/predictions.csv. */
    private static Path run(Path dir, String name, double[] valAcc, String predictions) throws Exception {
        Path run = dir.resolve(name);
        Files.createDirectories(run.resolve("test"));
        History h = new History();
        for (int e = 0; e < valAcc.length; e++) h.add(new History.Row(e + 1, 0.01, 1.0 / (1 << e), 0.5, 2.0 / (1 << e), valAcc[e], 100, 3));
        h.write(run);
        if (predictions != null) Files.writeString(run.resolve("test/predictions.csv"), predictions);
        return run;
    }

    // COVID's probabilities 0.9 (covid), 0.8 (not), 0.7 (covid), 0.1 (not): 3 of the 4 positive-negative pairs ordered
    private static final String HALF_RIGHT = """
        source,label,predicted,covid,noncovid
        a.png,covid,covid,0.9,0.1
        b.png,noncovid,covid,0.8,0.2
        c.png,covid,covid,0.7,0.3
        d.png,noncovid,noncovid,0.1,0.9
        """;
    private static final String ALL_RIGHT = """
        source,label,predicted,noncovid,covid
        a.png,covid,covid,0.1,0.9
        b.png,noncovid,noncovid,0.6,0.4
        c.png,covid,covid,0.3,0.7
        d.png,noncovid,noncovid,0.9,0.1
        """;

    @Test void runsShareTheChartsUnderTheirLabels(@TempDir Path dir) throws Exception {
        keepCharts();
        Path a = run(dir, "a", new double[] {0.5, 0.6}, HALF_RIGHT);
        Path b = run(dir, "b", new double[] {0.4, 0.7, 0.8}, ALL_RIGHT);
        Path c = run(dir, "c", new double[] {0.3}, null);
        Path out = dir.resolve("cmp");
        CliEndToEndTest.Run r = CliEndToEndTest.pulmo("plot", "--compare", "DPN-92=" + a, "--compare", "DPN-92-SE=" + b, "--compare", "no test=" + c, "--out", out.toString());
        assertEquals(0, r.code(), r.out() + r.err());
        assertEquals(List.of("val_accuracy.png", "train_loss.png", "val_loss.png", "roc.png"), List.copyOf(drawn.keySet()));
        assertTrue(r.out().contains("val_accuracy.png, train_loss.png, val_loss.png, roc.png") && r.out().contains("without test/predictions.csv: no test"), r.out());

        Map<String, XYSeries> acc = drawn.get("val_accuracy.png").getSeriesMap();
        assertEquals(List.of("DPN-92", "DPN-92-SE", "no test"), List.copyOf(acc.keySet()));
        assertEquals(List.of(1.0, 2.0, 3.0), values(acc.get("DPN-92-SE").getXData()), "each run over its own epochs");
        assertEquals(List.of(40.0, 70.0, 80.0), values(acc.get("DPN-92-SE").getYData()));
        assertEquals(List.of(50.0, 60.0), values(acc.get("DPN-92").getYData()));
        assertEquals(List.of(1.0, 0.5), values(drawn.get("train_loss.png").getSeriesMap().get("DPN-92").getYData()));
        assertEquals(List.of(2.0, 1.0, 0.5), values(drawn.get("val_loss.png").getSeriesMap().get("DPN-92-SE").getYData()));

        XYChart roc = drawn.get("roc.png");
        assertTrue(roc.getTitle().contains("covid against the rest"), roc.getTitle());
        // covid is the first column of a's file and the second of b's: found by name in each
        // with DeLong's interval: a's V10 = (1, 1/2), V01 = (1/2, 1), so Var = (1/8) / 2 + (1/8) / 2 = 1/8 and the interval
        // is 0.75 -+ 1.96 sqrt(1/8), cut to 1; b separates its classes, variance 0
        String aLow = String.format(java.util.Locale.ROOT, "%.3f", 0.75 - 1.959963984540054 * Math.sqrt(1.0 / 8));
        assertEquals(List.of("DPN-92 (AUC 0.750, 95 % CI " + aLow + "-1.000)", "DPN-92-SE (AUC 1.000, 95 % CI 1.000-1.000)", "chance"),
            List.copyOf(roc.getSeriesMap().keySet()));

        // another comparison into the same folder keeps the first; --overwrite replaces it, its roc.png too (c has no test predictions)
        drawn.clear();
        CliEndToEndTest.Run again = CliEndToEndTest.pulmo("plot", "--compare", "C=" + c, "--out", out.toString());
        assertEquals(0, again.code(), again.out() + again.err());
        assertTrue(again.out().contains(out + " holds an earlier comparison, so this output goes to " + dir.resolve("cmp2")), again.out());
        assertTrue(Files.exists(out.resolve("roc.png")));
        CliEndToEndTest.Run replaced = CliEndToEndTest.pulmo("plot", "--compare", "C=" + c, "--out", out.toString(), "--overwrite");
        assertEquals(0, replaced.code(), replaced.out() + replaced.err());
        assertFalse(Files.exists(out.resolve("roc.png")), "the earlier comparison's ROC stayed beside the new charts");
        // an evaluation's folder is numbered past, and --overwrite does not replace evaluate's roc.png with a comparison's
        Path ev = Files.createDirectories(dir.resolve("ev"));
        Files.writeString(ev.resolve("report.txt"), "an evaluation\n");
        Files.writeString(ev.resolve("roc.png"), "evaluate's");
        CliEndToEndTest.Run intoEval = CliEndToEndTest.pulmo("plot", "--compare", "C=" + c, "--out", ev.toString());
        assertEquals(0, intoEval.code(), intoEval.out() + intoEval.err());
        assertTrue(intoEval.out().contains(ev + " holds an evaluation, so this output goes to " + dir.resolve("ev2")), intoEval.out());
        CliEndToEndTest.Run overEval = CliEndToEndTest.pulmo("plot", "--compare", "C=" + c, "--out", ev.toString(), "--overwrite");
        assertEquals(2, overEval.code(), overEval.out() + overEval.err());
        assertEquals("evaluate's", Files.readString(ev.resolve("roc.png")));

        // a data set's class folder (images of its own) is refused, --overwrite or not: the charts would join its images,
        // and numbering past it would make a new class "covid2" beside it
        Path covid = Files.createDirectories(dir.resolve("data").resolve("covid"));
        Files.writeString(covid.resolve("scan1.png"), "an image");
        for (boolean over : new boolean[] {false, true}) {
            List<String> args = new java.util.ArrayList<>(List.of("plot", "--compare", "C=" + c, "--out", covid.toString()));
            if (over) args.add("--overwrite");
            CliEndToEndTest.Run intoClass = CliEndToEndTest.pulmo(args.toArray(String[]::new));
            assertEquals(2, intoClass.code(), intoClass.out() + intoClass.err());
            assertTrue(intoClass.err().contains("holds images that are not a comparison's (scan1.png)"), intoClass.err());
            try (var left = Files.list(covid)) { assertEquals(List.of(covid.resolve("scan1.png")), left.toList()); }
            assertFalse(Files.exists(dir.resolve("data").resolve("covid2")));
        }
        // also where the class keeps its images a folder down (patient/slice, as CT sets do)
        Path nested = Files.createDirectories(dir.resolve("data").resolve("normal").resolve("p1"));
        Files.writeString(nested.resolve("slice1.png"), "an image");
        CliEndToEndTest.Run intoNested = CliEndToEndTest.pulmo("plot", "--compare", "C=" + c, "--out", nested.getParent().toString());
        assertEquals(2, intoNested.code(), intoNested.out() + intoNested.err());
        assertTrue(intoNested.err().contains("p1/slice1.png"), intoNested.err());
    }

    @Test void badComparisonsAreRefusedNamingWhat(@TempDir Path dir) throws Exception {
        keepCharts();
        Path a = run(dir, "a", new double[] {0.5}, HALF_RIGHT);
        Path x = run(dir, "x", new double[] {0.5}, "source,label,predicted,normal,viral\nq.png,normal,normal,0.6,0.4\n");
        Files.createDirectories(dir.resolve("empty"));
        Path out = dir.resolve("cmp");
        String[][] cases = {
            {"--compare", "A" + a, "expected LABEL=RUN"},
            {"--compare", "=" + a, "expected LABEL=RUN"},
            {"--compare", "A=" + a, "--compare", "A=" + a, "'A' is given twice"},
            {"--compare", "A=" + dir.resolve("empty"), "holds no metrics.csv"},
            {"--compare", "A=" + dir.resolve("none"), "is not a folder"},
            {"--compare", "A=" + a, "--compare", "X=" + x, "A's positive class is 'covid' but X's is 'viral'"},
            {"--compare", "A=" + a, a.toString(), "is a folder without a label"},
            {"--compare", "A=" + a, "B=" + a, "--compare takes one LABEL=RUN each: repeat it, --compare A=" + a + " --compare B=" + a},
            {"name a run folder to plot"},
        };
        for (String[] c : cases) {
            List<String> args = new java.util.ArrayList<>(List.of("plot", "--out", out.toString()));
            args.addAll(List.of(c).subList(0, c.length - 1));
            CliEndToEndTest.Run r = CliEndToEndTest.pulmo(args.toArray(String[]::new));
            assertEquals(2, r.code(), args + ": " + r.out() + r.err());
            assertTrue(r.err().contains(c[c.length - 1]) && r.err().lines().count() == 1, args + ": " + r.err());
        }
    }

    // covid is the second of three columns: its AUC is 1, normal's (the first column) 1/3. With two classes both columns
    // give the same AUC, so only three tell whether the positive class's column is the one drawn.
    private static final String THREE_CLASSES = """
        source,label,predicted,normal,covid,viral
        a.png,covid,covid,0.1,0.8,0.1
        b.png,normal,viral,0.25,0.2,0.55
        c.png,viral,normal,0.4,0.3,0.3
        d.png,covid,covid,0.3,0.6,0.1
        """;

    @Test void theRocIsThePositiveClassAndEachLossChartScalesOnItsOwn(@TempDir Path dir) throws Exception {
        keepCharts();
        Path a = dir.resolve("a");
        Files.createDirectories(a.resolve("test"));
        History h = new History();
        h.add(new History.Row(1, 0.01, 1.0, 0.5, 10.0, 0.5, 100, 3));   // training loss 1 -> 0.5, validation loss 10 -> 0.05
        h.add(new History.Row(2, 0.01, 0.5, 0.5, 0.05, 0.5, 100, 3));
        h.write(a);
        Files.writeString(a.resolve("test/predictions.csv"), THREE_CLASSES);
        CliEndToEndTest.Run r = CliEndToEndTest.pulmo("plot", "--compare", "A=" + a, "--out", dir.resolve("cmp").toString());
        assertEquals(0, r.code(), r.out() + r.err());
        assertEquals(List.of("A (AUC 1.000, 95 % CI 1.000-1.000)", "chance"), List.copyOf(drawn.get("roc.png").getSeriesMap().keySet()));
        assertTrue(drawn.get("val_loss.png").getStyler().isYAxisLogarithmic(), "validation loss spans 200x");
        assertFalse(drawn.get("train_loss.png").getStyler().isYAxisLogarithmic(), "training loss spans 2x");
    }

    private static List<Double> values(double[] numbers) {
        return java.util.Arrays.stream(numbers).boxed().toList();
    }
}
