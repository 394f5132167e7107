package org.pulmo.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.pulmo.examples.CliEndToEndTest.pulmo;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pulmo.data.DatasetException;
import org.pulmo.data.Image;
import org.pulmo.data.Splits;
import org.pulmo.examples.CliEndToEndTest.Run;

/**
 * Data read against a checkpoint is matched by class name: evaluate refuses folders named otherwise (naming both
 * lists) unless --class-map says how, accepts a subset of the classes, and predict prints the checkpoint's classes
 * in its order. The parts of a folder are matched by name too, and an image in two parts is an error.
 */
class ClassNamesCliTest {
    static final List<String> TRAINED = List.of("bacterial", "covid", "normal", "viral");
    @TempDir static Path shared;
    static Path checkpoint;
    static int next = 1;

    /** A 12 x 12 RGB PNG whose pixels no other call writes. */
    static Path png(Path file) throws IOException {
        Files.createDirectories(file.getParent());
        Image im = Image.zeros(3, 12, 12);
        int v = next++;
        for (int i = 0; i < im.pixels().length; i++) im.pixels()[i] = ((v * 37 + i * (v % 7 + 1)) % 251) / 255f;
        im.writePng(file);
        return file;
    }

    static void classes(Path root, List<String> names, int perClass) throws IOException {
        for (String c : names) for (int i = 0; i < perClass; i++) png(root.resolve(c).resolve(i + ".png"));
    }

    @BeforeAll static void trainOnBacterialCovidNormalViral() throws IOException {
        Path data = shared.resolve("trained");
        classes(data.resolve("train"), TRAINED, 2);
        classes(data.resolve("val"), TRAINED, 1);
        Run r = pulmo("train", "--model", "resnet18", "--data", data.toString(), "--image-size", "32", "--epochs", "1", "--batch-size", "4",
            "--workers", "1", "--device", "cpu", "--no-evaluate", "--out", shared.resolve("run").toString());
        assertEquals(0, r.code(), r.out() + r.err());
        checkpoint = shared.resolve("run/best.safetensors");
    }

    static Run evaluate(Path data, Path out, String... more) {
        List<String> a = new java.util.ArrayList<>(List.of("evaluate", "-c", checkpoint.toString(), "--data", data.toString(), "--device", "cpu",
            "--test-fraction", "0.5", "--val-fraction", "0", "--out", out.toString()));
        a.addAll(List.of(more));
        return pulmo(a.toArray(String[]::new));
    }

    /** Column 2 (label) of predictions.csv per source folder name. */
    static void assertLabels(Path predictionsCsv) throws IOException {
        for (String line : Files.readAllLines(predictionsCsv).subList(1, Files.readAllLines(predictionsCsv).size())) {
            String folder = Path.of(line.substring(1, line.indexOf("\",", 1))).getParent().getFileName().toString();
            String label = line.split(",")[1];
            String expected = switch (folder) { case "pneumonia_bac" -> "bacterial"; case "pneumonia_vir" -> "viral"; default -> folder; };
            assertEquals(expected, label, line);
        }
    }

    @Test void evaluateRefusesOtherClassNamesAndFollowsAClassMap(@TempDir Path dir) throws IOException {
        Path data = dir.resolve("other");
        classes(data, List.of("covid", "normal", "pneumonia_bac", "pneumonia_vir"), 2);
        // Before: exit 0, every image labelled by sorted position (covid -> bacterial, ...).
        Run r = evaluate(data, dir.resolve("e1"));
        assertEquals(2, r.code(), r.out() + r.err());
        assertTrue(r.err().contains("[covid, normal, pneumonia_bac, pneumonia_vir]") && r.err().contains("[bacterial, covid, normal, viral]")
            && r.err().contains("--class-map"), r.err());
        assertEquals(1, r.err().strip().lines().count(), r.err());
        assertFalse(Files.exists(dir.resolve("e1/predictions.csv")));

        Run ok = evaluate(data, dir.resolve("e2"), "--class-map", "pneumonia_bac=bacterial,pneumonia_vir=viral");
        assertEquals(0, ok.code(), ok.out() + ok.err());
        assertLabels(dir.resolve("e2/predictions.csv"));
        assertTrue(Files.readAllLines(dir.resolve("e2/predictions.csv")).getFirst().endsWith("bacterial,covid,normal,viral"));
    }

    @Test void evaluateOnASubsetOfTheClassesMatchesByName(@TempDir Path dir) throws IOException {
        Path data = dir.resolve("two");
        classes(data, List.of("normal", "viral"), 2);
        // Before: refused ("the model has 4 output classes but the data set has 2").
        Run r = evaluate(data, dir.resolve("e"));
        assertEquals(0, r.code(), r.out() + r.err());
        assertTrue(r.out().contains("no image of class 'bacterial', 'covid'"), r.out());
        assertLabels(dir.resolve("e/predictions.csv"));
    }

    @Test void predictPrintsTheCheckpointsClassesInItsOrder(@TempDir Path dir) throws IOException {
        Path img = png(dir.resolve("x/1.png"));
        Run r = pulmo("predict", "-c", checkpoint.toString(), "--device", "cpu", "--csv", dir.resolve("p.csv").toString(), img.toString());
        assertEquals(0, r.code(), r.out() + r.err());
        assertEquals("path,predicted,bacterial,covid,normal,viral", Files.readAllLines(dir.resolve("p.csv")).getFirst());
    }

    static DataOptions options(Path data) {
        DataOptions o = new DataOptions();
        o.data = data.toString();
        o.valFraction = 0.1;
        o.testFraction = 0.2;
        o.splitSeed = 7;
        return o;
    }

    @Test void testFolderClassesAreMatchedByNameAndMayBeASubset(@TempDir Path dir) throws IOException {
        classes(dir.resolve("train"), List.of("covid", "normal", "viral"), 2);
        classes(dir.resolve("test"), List.of("normal", "viral"), 1);    // before: "class folder for 'covid' does not exist"
        Splits.Split s = options(dir).load(32);
        assertEquals(List.of("covid", "normal", "viral"), s.test().classes());
        assertEquals(List.of(1, 2), List.of(s.test().label(0), s.test().label(1)));
        classes(dir.resolve("test"), List.of("pneumonia"), 1);
        DatasetException e = assertThrows(DatasetException.class, () -> options(dir).load(32));
        assertTrue(e.getMessage().contains("[normal, pneumonia, viral]") && e.getMessage().contains("[covid, normal, viral]")
            && e.getMessage().contains("'pneumonia' is not among them"), e.getMessage());
    }

    @Test void aCopyOfATrainingImageInTestIsAnError(@TempDir Path dir) throws IOException {
        classes(dir.resolve("train"), List.of("covid", "normal"), 2);
        classes(dir.resolve("test"), List.of("covid", "normal"), 1);
        Files.copy(dir.resolve("train/normal/1.png"), dir.resolve("test/normal/copy.png"));
        // Before: accepted silently.
        DatasetException e = assertThrows(DatasetException.class, () -> options(dir).load(32));
        assertTrue(e.getMessage().contains("train/normal/1.png (train) and ") && e.getMessage().contains("test/normal/copy.png (test) have identical bytes")
            && e.getMessage().contains("--allow-leakage"), e.getMessage());
        DataOptions allow = options(dir);
        allow.allowLeakage = true;
        assertEquals(3, allow.load(32).test().size());
    }

    @Test void splitCsvValidationRowsMissingAClassAreKept(@TempDir Path dir) throws IOException {
        StringBuilder csv = new StringBuilder("path,label,split\n");
        for (String c : List.of("covid", "normal"))
            for (int i = 0; i < 4; i++) csv.append(dir.relativize(png(dir.resolve(c + "/" + i + ".png")))).append(',').append(c).append(",train\n");
        csv.append(dir.relativize(png(dir.resolve("covid/v.png")))).append(",covid,val\n");
        Files.writeString(dir.resolve("split.csv"), csv);
        // Before: the val row was dropped and 10 % of train held out instead.
        Splits.Split s = options(dir).load(32);
        assertEquals(1, s.val().size());
        assertTrue(s.val().source(0).endsWith("v.png"));
        assertEquals(8, s.train().size());
        assertEquals(0, s.test().size());
        Files.writeString(dir.resolve("split.csv"), csv + "covid/0.png,covid,test\n");
        DatasetException e = assertThrows(DatasetException.class, () -> options(dir).load(32));
        assertTrue(e.getMessage().contains("lines 2 and 11 both list covid/0.png (in train and in test"), e.getMessage());
    }

    static Path metrics(Path dir, String... classes) throws IOException {
        StringBuilder j = new StringBuilder("{\n  \"accuracy\": 0.5,\n  \"macro_precision\": 0.5");
        for (String c : classes) j.append(",\n  \"").append(c).append("_recall\": 0.5,\n  \"").append(c).append("_support\": 3");
        if (classes.length == 2) j.append(",\n  \"binary_precision\": 0.5");
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("metrics.json"), j.append("\n}\n"));
        return dir;
    }

    @Test void tableRefusesRowsOnDifferentClassesAndBinaryRowsWithoutBinaryNumbers(@TempDir Path dir) throws IOException {
        Path a = metrics(dir.resolve("a"), "covid", "normal", "viral"), b = metrics(dir.resolve("b"), "covid", "normal"),
            c = metrics(dir.resolve("c"), "covid", "normal", "viral");
        assertEquals(0, pulmo("table", "--row", "A=" + a, "--row", "C=" + c).code());
        // Before: both printed side by side, exit 0.
        Run r = pulmo("table", "--row", "A=" + a, "--row", "B=" + b);
        assertEquals(2, r.code(), r.out() + r.err());
        assertTrue(r.err().contains("has classes [covid, normal] but") && r.err().contains("[covid, normal, viral]"), r.err());
        // Before: a row of n/a, exit 0.
        Run bin = pulmo("table", "--binary", "--row", "A=" + a);
        assertEquals(2, bin.code(), bin.out() + bin.err());
        assertTrue(bin.err().contains("--binary:") && bin.err().contains("no positive-class numbers"), bin.err());
        assertEquals(0, pulmo("table", "--binary", "--row", "B=" + b).code());
    }
}
