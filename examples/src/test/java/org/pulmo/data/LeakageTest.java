package org.pulmo.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** An image in two parts is found by real path or by identical bytes, not by its relative name. */
class LeakageTest {
    @TempDir Path root;

    static Map<String, List<Path>> parts(List<Path> train, List<Path> test) {
        Map<String, List<Path>> m = new LinkedHashMap<>();
        m.put("train", train);
        m.put("test", test);
        return m;
    }

    @Test void aCopyUnderAnotherNameIsFound() throws IOException {
        Path a = ImageFileDatasetTest.png(Files.createDirectories(root.resolve("train/covid")).resolve("1.png"), 10);
        Path b = ImageFileDatasetTest.png(root.resolve("train/covid/2.png"), 20);
        Path copy = Files.copy(a, Files.createDirectories(root.resolve("test/covid")).resolve("x.png"));
        Path sameName = ImageFileDatasetTest.png(root.resolve("test/covid/2.png"), 30);   // same relative name, other image
        Leakage.Report r = Leakage.find(parts(List.of(a, b), List.of(copy, sameName)));
        assertTrue(r.contentChecked());
        assertEquals(1, r.pairs().size(), r.pairs().toString());
        assertEquals(a, r.pairs().getFirst().a());
        assertEquals(copy, r.pairs().getFirst().b());
        assertTrue(r.pairs().getFirst().toString().contains("identical bytes"), r.pairs().toString());
    }

    @Test void theSameFileReachedTwiceIsFound() throws IOException {
        Path a = ImageFileDatasetTest.png(Files.createDirectories(root.resolve("train/covid")).resolve("1.png"), 10);
        Files.createDirectories(root.resolve("test"));
        Files.createSymbolicLink(root.resolve("test/covid"), root.resolve("train/covid"));
        Leakage.Report r = Leakage.find(parts(List.of(a), List.of(root.resolve("test/covid/1.png"))));
        assertEquals(1, r.pairs().size());
        assertTrue(r.pairs().getFirst().sameFile());
        // Twice in one part is not leakage.
        assertTrue(Leakage.find(parts(List.of(a, root.resolve("test/covid/1.png")), List.of())).pairs().isEmpty());
    }

    /** Empty files hold no picture: two of them in two parts are unreadable images, not a leak. */
    @Test void emptyFilesAreNoLeak() throws IOException {
        Path a = Files.createFile(Files.createDirectories(root.resolve("train/covid")).resolve("0.png"));
        Path b = Files.createFile(Files.createDirectories(root.resolve("test/covid")).resolve("1.png"));
        Path c = Files.writeString(root.resolve("train/covid/2.png"), "x"), d = Files.writeString(root.resolve("test/covid/3.png"), "x");
        Leakage.Report r = Leakage.find(parts(List.of(a, c), List.of(b, d)));
        assertEquals(1, r.pairs().size(), r.pairs().toString());   // the one-byte files still count
        assertEquals(c, r.pairs().getFirst().a());
    }
}
