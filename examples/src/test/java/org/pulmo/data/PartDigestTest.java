package org.pulmo.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Which images a part holds, as a line: the same wherever the tree lies, another for any other file or class. */
class PartDigestTest {

    private static Dataset part(Path root, String... files) {
        List<ImageFileDataset.Entry> entries = new java.util.ArrayList<>();
        for (int i = 0; i < files.length; i++) entries.add(new ImageFileDataset.Entry(root.resolve(files[i]), i % 2, null));
        return new ImageFileDataset(List.of("a", "b"), entries, root);
    }

    @Test void theSameImagesGiveTheSameLineWhereverTheTreeLies() {
        Path here = Path.of("/data/here/set"), there = Path.of("/elsewhere/copy/set");
        // a split.csv may name files beside the folder ("../img/x.png"): relative, they move with the tree
        String[] files = {"a/1.png", "b/2.png", "../img/3.png"};
        String line = PartDigest.of(part(here, files), here);
        assertEquals(line, PartDigest.of(part(there, files), there));
        assertTrue(line.startsWith("3 images, sha256 ") && line.length() == "3 images, sha256 ".length() + 16, line);
        assertEquals(Set.of("a/1.png\ta", "b/2.png\tb", "../img/3.png\ta"), PartDigest.members(part(here, files), here));
        assertEquals(line, PartDigest.of(part(here, "../img/3.png", "b/2.png", "a/1.png"), here), "the order of the files does not count");
        assertNotEquals(line, PartDigest.of(part(here, "a/1.png", "b/2.png", "../img/4.png"), here), "another file");
        assertNotEquals(line, PartDigest.of(part(here, "b/2.png", "a/1.png", "../img/3.png"), here), "the same files under other classes");
    }
}
