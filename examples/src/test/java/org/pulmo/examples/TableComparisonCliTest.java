package org.pulmo.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
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
}
