package org.pulmo.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.pulmo.examples.CliEndToEndTest.pulmo;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pulmo.examples.CliEndToEndTest.Run;
import org.pulmo.metrics.Intervals;

class TableComparisonCliTest {

    /**
     * An evaluate folder for 20 images data/covid/0.jpg .. data/normal/9.jpg: {@code right[i]} says whether image i was
     * classified correctly; metrics.json holds the accuracy and supports that go with it.
     */
    static Path row(Path dir, String prefix, boolean[] right) throws IOException {
        Files.createDirectories(dir);
        StringBuilder csv = new StringBuilder("source,label,predicted,covid,normal\n");
        int correct = 0;
        for (int i = 0; i < right.length; i++) {
            String label = i < 10 ? "covid" : "normal", other = i < 10 ? "normal" : "covid";
            String predicted = right[i] ? label : other;
            float pc = predicted.equals("covid") ? 0.8f : 0.2f;
            csv.append('"').append(prefix).append('/').append(label).append('/').append(i).append(".jpg\",").append(label).append(',')
                .append(predicted).append(',').append(pc).append(',').append(1 - pc).append('\n');
            if (right[i]) correct++;
        }
        Files.writeString(dir.resolve("predictions.csv"), csv);
        Files.writeString(dir.resolve("metrics.json"), "{\n  \"accuracy\": " + correct / 20.0
            + ",\n  \"macro_precision\": 0.5,\n  \"covid_support\": 10,\n  \"normal_support\": 10\n}\n");
        return dir;
    }

    static boolean[] allBut(int... wrong) {
        boolean[] r = new boolean[20];
        java.util.Arrays.fill(r, true);
        for (int i : wrong) r[i] = false;
        return r;
    }

    @Test void rowsComeWithTheirAccuracyIntervalAndEveryPairIsComparedImageByImage(@TempDir Path dir) throws IOException {
        // A misses images 0-7 and 19; B only 19 and image 8, which A gets right: 1 image goes A's way only, 8 B's:
        // McNemar's p = 2 (C(9,0) + C(9,1)) / 2^9
        Path a = row(dir.resolve("a"), "/data", allBut(0, 1, 2, 3, 4, 5, 6, 7, 19));
        Path b = row(dir.resolve("b"), "/data", allBut(8, 19));
        Path moved = row(dir.resolve("c"), "/elsewhere/copy", allBut(8, 19));          // B's results on the same images under another folder
        Path other = row(dir.resolve("d"), "/data", allBut());
        Files.writeString(other.resolve("predictions.csv"), Files.readString(other.resolve("predictions.csv")).replace("/9.jpg", "/99.jpg"));
        Path none = dir.resolve("e");
        Files.createDirectories(none);
        Files.copy(b.resolve("metrics.json"), none.resolve("metrics.json"));
        Run r = pulmo("table", "--row", "A=" + a, "--row", "B=" + b, "--row", "C=" + moved, "--row", "D=" + other, "--row", "E=" + none);
        assertEquals(0, r.code(), r.out() + r.err());
        String out = r.out();
        assertTrue(out.contains("| A | 55.00 |") && out.contains(Intervals.wilson(11, 20).percent() + " |"), out);
        assertTrue(out.contains("| B | 90.00 |") && out.contains(Intervals.wilson(18, 20).percent() + " |"), out);
        String p = String.format(java.util.Locale.ROOT, "%.3g", 20.0 / 512);
        assertTrue(out.contains("| A vs B | 20 | 1 | 8 | " + p + " |"), out);
        assertTrue(out.contains("| A vs C | 20 | 1 | 8 | " + p + " |"), out);
        assertTrue(out.contains("| B vs C | 20 | 0 | 0 | 1.00 |"), out);      // the same outcomes: nothing to tell apart
        assertTrue(out.contains("| A vs D | n/a (not the same test images: 19 in common of 20 and 20)"), out);
        assertTrue(out.contains("Not compared: E (no predictions.csv)."), out);
        assertEquals(6, out.lines().filter(l -> l.contains(" vs ")).count(), out);   // A, B, C, D: every pair once
    }

    @Test void withFewerThanTwoPredictionsNothingIsCompared(@TempDir Path dir) throws IOException {
        Path a = row(dir.resolve("a"), "/data", allBut(0));
        Files.delete(a.resolve("predictions.csv"));
        Path b = row(dir.resolve("b"), "/data", allBut(1));
        Run r = pulmo("table", "--row", "A=" + a, "--row", "B=" + b);
        assertEquals(0, r.code(), r.out() + r.err());
        assertTrue(r.out().contains("No image-by-image comparison: fewer than two rows have their predictions: A (no predictions.csv)."), r.out());
        // one row alone: its interval, no comparison
        Run one = pulmo("table", "--row", "B=" + b);
        assertTrue(one.out().contains(Intervals.wilson(19, 20).percent()) && !one.out().contains("Image by image"), one.out());
    }

    /** A training run's folder with the evaluate report {@link #row} makes in test/, its F1 0.1 below its accuracy, and a run.json with this seed. */
    static Path seeded(Path run, int seed, boolean[] right) throws IOException {
        Path test = row(run.resolve("test"), "/data", right);
        Path m = test.resolve("metrics.json");
        double acc = TableCommand.read(Files.readString(m)).get("accuracy");
        Files.writeString(m, Files.readString(m).replace("\"macro_precision\"", "\"macro_f1\": " + (acc - 0.1) + ",\n  \"macro_precision\""));
        Files.writeString(run.resolve("run.json"), "{\n  \"status\": \"finished\",\n  \"seed\": " + seed + ",\n  \"invocations\": []\n}\n");
        return test;
    }

    @Test void rowsOfOneLabelAreRunsWithOtherSeedsSummarisedAndComparedSeedBySeed(@TempDir Path dir) throws IOException {
        // A: seeds 42, 7, 123 at 90, 80, 95 %; B: seeds 42, 7 at 85, 70 %; C: two runs that both say seed 5
        Path a42 = seeded(dir.resolve("a42"), 42, allBut(0, 1)), a7 = seeded(dir.resolve("a7"), 7, allBut(0, 1, 2, 3)),
            a123 = seeded(dir.resolve("a123"), 123, allBut(0));
        Path b42 = seeded(dir.resolve("b42"), 42, allBut(0, 1, 2)), b7 = seeded(dir.resolve("b7"), 7, allBut(5, 6, 7, 8, 9, 10));
        Path c1 = seeded(dir.resolve("c1"), 5, allBut(3)), c2 = seeded(dir.resolve("c2"), 5, allBut(4));
        Run r = pulmo("table", "--row", "A=" + a42, "--row", "B=" + b42, "--row", "A=" + a7, "--row", "B=" + b7, "--row", "A=" + a123,
            "--row", "C=" + c1, "--row", "C=" + c2);
        assertEquals(0, r.code(), r.out() + r.err());
        String out = r.out();
        assertTrue(out.contains("| A (seed 42) | 90.00 |") && out.contains("| A (seed 123) | 95.00 |") && out.contains("| B (seed 7) | 70.00 |"), out);
        assertTrue(out.contains("| C (run 1) | 95.00 |") && out.contains("| C (run 2) | 95.00 |"), out);   // one seed twice: told apart by order
        // mean and sample standard deviation: A (90, 80, 95): 88.33, sqrt(((5/3)^2 + (25/3)^2 + (20/3)^2) / 2) = 7.64; precision 50 in
        // every run, recall and specificity not in these reports; F1 10 points below accuracy
        assertTrue(out.contains("| A | 3 | 42, 7, 123 | 88.33 ± 7.64 | 80.00-95.00 | 50.00 ± 0.00 | n/a | n/a | 78.33 ± 7.64 | n/a |"), out);
        assertTrue(out.contains("| B | 2 | 42, 7 | 77.50 ± 10.61 | 70.00-85.00 | 50.00 ± 0.00 | n/a | n/a | 67.50 ± 10.61 | n/a |"), out);
        assertTrue(out.contains("| C | 2 | 5, 5 | 95.00 ± 0.00 | 95.00-95.00 |"), out);
        // seed by seed: A - B on 42 and 7; C shares no run with A or B by key (its runs are "run 1", "run 2")
        assertTrue(out.contains("| A vs B | seed 42, seed 7 | +5.00, +10.00 | +7.50 | 2 / 0 / 0 |"), out);
        assertTrue(!out.contains("| A vs C |") && !out.contains("| B vs C |"), out);
        // image by image only across labels on the same seed: A 42 misses 0 and 1, B 42 misses 0, 1 and 2
        String p42 = String.format(java.util.Locale.ROOT, "%.3g", Intervals.mcnemarExact(1, 0));
        assertTrue(out.contains("| A (seed 42) vs B (seed 42) | 20 | 1 | 0 | " + p42 + " |"), out);
        // A 7 misses 0-3; B 7 misses 5-10: 6 images go A's way, 4 B's
        String p7 = String.format(java.util.Locale.ROOT, "%.3g", Intervals.mcnemarExact(6, 4));
        assertTrue(out.contains("| A (seed 7) vs B (seed 7) | 20 | 6 | 4 | " + p7 + " |"), out);
        assertEquals(2, out.lines().filter(l -> l.matches("\\| [ABC] \\(.*\\) vs .*")).count(), out);
        assertTrue(out.contains("Image by image, every pair of rows of different labels and the same seed"), out);
        // A's seed 123 has no B run, C's runs have no seed of their own: said, not silently left out, nor paired by position
        assertTrue(out.contains("Not compared: A (seed 123) (no run of another label with its seed") && out.contains("C (run 1) (no run")
            && out.contains("C (run 2) (no run"), out);
        // the same row twice is refused; runs without a run.json are numbered, and never matched across labels by position
        Run twice = pulmo("table", "--row", "A=" + a42, "--row", "A=" + a42);
        assertEquals(2, twice.code(), twice.out() + twice.err());
        assertTrue(twice.err().contains("is given twice"), twice.err());
        Run respelt = pulmo("table", "--row", "A=" + a42, "--row", "B=" + a42 + "/", "--row", "C=" + a42.resolve("..").resolve(a42.getFileName()));
        assertEquals(2, respelt.code(), respelt.out() + respelt.err());   // one folder spelt three ways counted as three runs
        assertTrue(respelt.err().contains("names the folder of --row A=" + a42), respelt.err());
        // figures evaluate never writes (an accuracy of 7.5 was shown as 750.00 %)
        Path edited = Files.createDirectories(dir.resolve("edited"));
        Files.writeString(edited.resolve("metrics.json"), Files.readString(a42.resolve("metrics.json")).replaceFirst("\"accuracy\": [0-9.e-]+", "\"accuracy\": 7.5"));
        Run impossible = pulmo("table", "--row", "E=" + edited);
        assertEquals(2, impossible.code(), impossible.out() + impossible.err());
        assertTrue(impossible.err().contains("'accuracy' is 7.5, not a share from 0 to 1"), impossible.err());
        // one key twice (two files pasted together, a hand edit): Gson would keep the last value without a word
        Path doubled = Files.createDirectories(dir.resolve("doubled"));
        Files.writeString(doubled.resolve("metrics.json"), Files.readString(a42.resolve("metrics.json")).replaceFirst("\\{", "{\n  \"accuracy\": 0.99,"));
        Run twiceKey = pulmo("table", "--row", "D=" + doubled);
        assertEquals(2, twiceKey.code(), twiceKey.out() + twiceKey.err());
        assertTrue(twiceKey.err().contains("the key 'accuracy' appears twice"), twiceKey.err());
        // a folder with '=' in its name: the label ends at the first '='
        Path eqFolder = Files.createDirectories(dir.resolve("lr=0.01"));
        for (String f : new String[] {"metrics.json", "predictions.csv"}) Files.copy(a42.resolve(f), eqFolder.resolve(f));
        // predictions naming a class none of the columns name are not compared image by image (they were scored)
        Path zebra = Files.createDirectories(dir.resolve("zebra"));
        Files.copy(a42.resolve("metrics.json"), zebra.resolve("metrics.json"));
        java.util.List<String> lines = new java.util.ArrayList<>(Files.readAllLines(a42.resolve("predictions.csv")));
        String[] f = lines.get(1).split(",");
        f[2] = "zebra";
        lines.set(1, String.join(",", f));
        Files.write(zebra.resolve("predictions.csv"), lines);
        Run zr = pulmo("table", "--row", "A=" + a42, "--row", "Z=" + zebra);
        assertEquals(0, zr.code(), zr.out() + zr.err());
        assertTrue(zr.out().contains("names class 'zebra', none of its columns"), zr.out());
        Run eq = pulmo("table", "--row", "X=" + eqFolder);
        assertEquals(0, eq.code(), eq.out() + eq.err());
        assertTrue(eq.out().contains("| X (run 1) |") || eq.out().contains("| X |"), eq.out());
        for (Path run : new Path[] {a42, a7, b42, b7}) Files.delete(run.getParent().resolve("run.json"));
        Run unseeded = pulmo("table", "--row", "A=" + a42, "--row", "A=" + a7, "--row", "B=" + b7, "--row", "B=" + b42);
        assertEquals(0, unseeded.code(), unseeded.out() + unseeded.err());
        assertTrue(unseeded.out().contains("| A (run 2) | 80.00 |") && unseeded.out().contains("No image-by-image comparison: no two rows to compare"), unseeded.out());
        assertFalse(unseeded.out().contains("Seed by seed"), unseeded.out());
        // the training table names each run as the results table does
        assertTrue(out.contains("| A (seed 123) | ") && out.lines().filter(l -> l.startsWith("| C (run 2) |")).count() == 2, out);
    }

    @Test void positiveTakesOneClassAgainstTheRestAsTheDpnPapersTableOne(@TempDir Path dir) throws IOException {
        Path a = dir.resolve("a");
        Files.createDirectories(a);
        Files.writeString(a.resolve("metrics.json"), """
            {"accuracy": 0.75, "macro_precision": 0.61, "macro_recall": 0.62, "macro_specificity": 0.63, "macro_f1": 0.64, "macro_auc": 0.65,
             "normal_precision": 0.11, "normal_recall": 0.12, "normal_specificity": 0.13, "normal_f1": 0.14, "normal_auc": 0.15, "normal_support": 30,
             "covid19_precision": 0.9, "covid19_recall": 0.8, "covid19_specificity": 0.95, "covid19_f1": 0.85, "covid19_auc": 0.97, "covid19_support": 10,
             "viral_precision": 0.21, "viral_recall": 0.22, "viral_specificity": 0.23, "viral_f1": 0.24, "viral_auc": 0.25, "viral_support": 40}
            """);
        Run macro = pulmo("table", "--row", "A=" + a);
        assertTrue(macro.out().contains("| A | 75.00 | 61.00 | 62.00 | 63.00 | 64.00 | 65.00 |") && macro.out().contains("macro averages"), macro.out());
        for (String cls : new String[] {"auto", "covid19", "COVID19"}) {   // a class name in another case is the class
            Run r = pulmo("table", "--positive", cls, "--row", "A=" + a);
            assertEquals(0, r.code(), r.out() + r.err());
            assertTrue(r.out().contains("| A | 75.00 | 90.00 | 80.00 | 95.00 | 85.00 | 97.00 |"), r.out());
            assertTrue(r.out().contains("class covid19 against the other classes"), r.out());
        }
        Run viral = pulmo("table", "--positive", "viral", "--row", "A=" + a);
        assertTrue(viral.out().contains("| A | 75.00 | 21.00 | 22.00 | 23.00 | 24.00 | 25.00 |"), viral.out());
        Run unknown = pulmo("table", "--positive", "covid", "--row", "A=" + a);
        assertEquals(2, unknown.code(), unknown.out() + unknown.err());
        assertTrue(unknown.err().contains("--positive covid: the rows' classes are [normal, covid19, viral]"), unknown.err());
        Run both = pulmo("table", "--positive", "auto", "--binary", "--row", "A=" + a);
        assertEquals(2, both.code(), both.out() + both.err());
        // a metrics.json that is a folder: named, where Java's words were "Is a directory" alone
        Path f = Files.createDirectories(dir.resolve("f").resolve("metrics.json"));
        Run folder = pulmo("table", "--row", "F=" + f.getParent());
        assertEquals(2, folder.code(), folder.out() + folder.err());
        assertTrue(folder.err().contains(f + " is a folder"), folder.err());
    }

    @Test void theCaptionSaysWhichPartTheRowsScore(@TempDir Path dir) throws IOException {
        Path a = row(dir.resolve("a"), "/data", allBut(0)), b = row(dir.resolve("b"), "/data", allBut(1));
        Run old = pulmo("table", "--row", "A=" + a, "--row", "B=" + b);   // files without "split" are test reports, as evaluate wrote them before
        assertTrue(old.out().contains("(test set, %;"), old.out());
        Files.writeString(b.resolve("metrics.json"), Files.readString(b.resolve("metrics.json")).replace("{", "{\n  \"split\": \"val\","));
        Run mixed = pulmo("table", "--row", "A=" + a, "--row", "B=" + b);
        assertEquals(0, mixed.code(), mixed.out() + mixed.err());
        assertTrue(mixed.out().contains("| B [val part] | 95.00 |") && mixed.out().contains("| A | 95.00 |"), mixed.out());
        Run val = pulmo("table", "--row", "B=" + b);
        assertTrue(val.out().contains("(val part, not the test set, %;") && val.out().contains("| B | 95.00 |"), val.out());
    }
}
