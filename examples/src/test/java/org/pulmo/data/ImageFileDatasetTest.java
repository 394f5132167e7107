package org.pulmo.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The three layouts, group ids, and the layout errors that must stop a run before training. */
class ImageFileDatasetTest {
    @TempDir Path root;

    /** Writes a small grey PNG with every pixel {@code value / 255}. */
    static Path png(Path file, int value) throws IOException {
        Image im = Image.zeros(1, 4, 5);
        java.util.Arrays.fill(im.pixels(), value / 255f);
        im.writePng(file);
        return file;
    }

    /**
     * A zip made on a Mac carries {@code __MACOSX/<class>/._<image>} resource forks, and copies from a Mac leave {@code ._<image>}
     * companions beside the images: neither is a class or an image. GIF and TIFF files are images, as predict takes them.
     */
    @Test void macOsCompanionsAreNotClassesOrImagesAndGifAndTiffAre() throws IOException {
        png(root.resolve("covid/a.png"), 10);
        png(root.resolve("covid/._a.png"), 11);
        png(root.resolve("normal/b.png"), 20);
        png(root.resolve("__MACOSX/covid/._a.png"), 12);
        Files.createDirectories(root.resolve("normal"));
        java.awt.image.BufferedImage grey = new java.awt.image.BufferedImage(4, 5, java.awt.image.BufferedImage.TYPE_BYTE_GRAY);
        assertTrue(javax.imageio.ImageIO.write(grey, "gif", root.resolve("normal/c.gif").toFile()));
        assertTrue(javax.imageio.ImageIO.write(grey, "tiff", root.resolve("normal/d.tif").toFile()));
        ImageFileDataset d = ImageFileDataset.folder(root);
        assertEquals(List.of("covid", "normal"), d.classes());
        assertEquals(List.of(root.resolve("covid/a.png"), root.resolve("normal/b.png"), root.resolve("normal/c.gif"), root.resolve("normal/d.tif")),
            List.of(d.path(0), d.path(1), d.path(2), d.path(3)));
        assertEquals(4, d.size());
        assertEquals(0f, d.image(3).get(0, 0, 0), 0f, "the TIFF decodes");
        assertFalse(ImageDecoder.hasImageExtension(Path.of("x/__MACOSX/y/z.png")));
    }

    /**
     * Training with the data folder as the working directory puts runs/train there, with its plots: before, a second
     * training read "runs" as a class. A folder holding a run (or runs) is left out; a class folder with a subfolder is not.
     */
    @Test void aFolderOfPulmoRunsIsNotAClass() throws IOException {
        png(root.resolve("covid/a.png"), 10);
        png(root.resolve("normal/b.png"), 20);
        png(root.resolve("normal/more/c.png"), 30);
        png(root.resolve("runs/train/loss.png"), 40);
        Files.writeString(root.resolve("runs/train/run.json"), "{\"status\": \"finished\", \"invocations\": []}");
        png(root.resolve("myrun/accuracy.png"), 50);
        Files.writeString(root.resolve("myrun/.pulmo.lock"), "1");
        Files.writeString(root.resolve("normal/run.json"), "{\"a data set's own\": 1}");   // not Pulmo's: the class stays
        assertEquals(List.of("covid", "normal"), ImageFileDataset.folder(root).classes());
        assertEquals(3, ImageFileDataset.folder(root).size());
    }

    /**
     * A class folder that is a link to the images elsewhere (before: "class 'covid' is empty"). Links to folders inside a
     * class folder are not followed: one to another class's images would give them a second label, one to itself would loop.
     */
    @Test void aClassFolderMayBeALink(@TempDir Path elsewhere) throws IOException {
        png(elsewhere.resolve("covid-scans/a.png"), 10);
        png(elsewhere.resolve("covid-scans/sub/b.png"), 11);
        Files.createDirectories(root.resolve("data"));
        Files.createSymbolicLink(root.resolve("data/covid"), elsewhere.resolve("covid-scans"));
        png(root.resolve("data/normal/c.png"), 20);
        Files.createSymbolicLink(root.resolve("data/normal/more"), elsewhere.resolve("covid-scans"));
        Files.createSymbolicLink(elsewhere.resolve("covid-scans/self"), elsewhere.resolve("covid-scans"));
        ImageFileDataset d = ImageFileDataset.folder(root.resolve("data"));
        assertEquals(List.of("covid", "normal"), d.classes());
        assertEquals(List.of(root.resolve("data/covid/a.png"), root.resolve("data/covid/sub/b.png"), root.resolve("data/normal/c.png")),
            List.of(d.path(0), d.path(1), d.path(2)), "found through the link, named under the data folder");
        assertEquals(11 / 255f, d.image(1).get(0, 0, 0), 1e-6f);
    }

    @Test void folderSortsClassesAndFindsImagesByExtension() throws IOException {
        png(root.resolve("normal/b.png"), 10);
        png(root.resolve("normal/a.jpg"), 20); // PNG bytes under .jpg: still an image file
        png(root.resolve("covid/p1/x.PNG"), 30); // nested folder, upper-case extension
        Files.writeString(root.resolve("covid/notes.txt"), "not an image");
        Files.writeString(root.resolve("split.csv"), "path,label,split\n");
        ImageFileDataset d = ImageFileDataset.folder(root);
        assertEquals(List.of("covid", "normal"), d.classes());
        assertEquals(3, d.size());
        assertEquals(root.resolve("covid/p1/x.PNG"), d.path(0));
        assertEquals(root.resolve("normal/a.jpg"), d.path(1));
        assertArrayEquals(new int[] {0, 1, 1}, new int[] {d.label(0), d.label(1), d.label(2)});
        assertEquals(20 / 255f, d.image(1).get(2, 3, 4), 1e-6f);
        assertNull(d.group(0));

        ImageFileDataset explicit = ImageFileDataset.folder(root, List.of("normal", "covid"));
        assertEquals(0, explicit.label(0)); // normal first now
        assertEquals("p1", explicit.withGroups(GroupIds.parentFolder()).group(2));
    }

    /**
     * A class whose name holds a line break would come back from its checkpoint as two classes (they are recorded one a
     * line): refused, escaped in the message; a folder that cannot be listed is said in words, not by Java's class name.
     */
    @Test void aClassNameWithALineBreakIsRefusedAndIoErrorsAreWords() throws IOException {
        Files.createDirectories(root.resolve("a\nb"));
        Files.createDirectories(root.resolve("c"));
        png(root.resolve("a\nb").resolve("1.png"), 10);
        png(root.resolve("c").resolve("1.png"), 20);
        DatasetException e = assertThrows(DatasetException.class, () -> ImageFileDataset.folder(root));
        assertTrue(e.getMessage().contains("'a\\nb'") && e.getMessage().contains("line break"), e.getMessage());
        String denied = IoErrors.describe(new java.nio.file.AccessDeniedException("/data/covid"));
        assertEquals("/data/covid: permission denied", denied);
        assertEquals("/x: a folder, not a run record", IoErrors.describe(new java.nio.file.FileSystemException("/x", null, "a folder, not a run record")));
    }

    @Test void layoutErrorsAreClear() throws IOException {
        DatasetException missing = assertThrows(DatasetException.class, () -> ImageFileDataset.folder(root.resolve("nope")));
        assertTrue(missing.getMessage().contains("does not exist") && missing.getMessage().contains("nope"), missing.getMessage());
        assertThrows(DatasetException.class, () -> ImageFileDataset.folder(root), "no class folders");
        png(root.resolve("covid/1.png"), 1);
        Files.createDirectories(root.resolve("normal"));
        Files.writeString(root.resolve("normal/readme.txt"), "x");
        DatasetException empty = assertThrows(DatasetException.class, () -> ImageFileDataset.folder(root));
        assertTrue(empty.getMessage().contains("'normal' is empty"), empty.getMessage());
        DatasetException noFolder = assertThrows(DatasetException.class, () -> ImageFileDataset.folder(root, List.of("covid", "viral")));
        assertTrue(noFolder.getMessage().contains("viral"), noFolder.getMessage());

        ImageFileDataset one = ImageFileDataset.folder(root, List.of("covid"));
        DatasetException count = assertThrows(DatasetException.class, () -> one.requireClassCount(4));
        assertTrue(count.getMessage().contains("4 output classes") && count.getMessage().contains("1 [covid]"), count.getMessage());
        one.requireClassCount(1);
    }

    @Test void listFilesPerClassWithCommentsAndMissingFiles() throws IOException {
        png(root.resolve("imgs/Covid (1).png"), 1);
        png(root.resolve("imgs/Covid (2).png"), 2);
        png(root.resolve("imgs/n1.png"), 3);
        Path covid = Files.writeString(root.resolve("covid.txt"), "# COVID\nimgs/Covid (1).png\n\nimgs/Covid (2).png\n");
        Path normal = Files.writeString(root.resolve("normal.txt"), "imgs/n1.png\nimgs/gone.png\n");
        Map<String, Path> lists = new LinkedHashMap<>();
        lists.put("covid", covid);
        lists.put("normal", normal);
        ImageFileDataset d = ImageFileDataset.listFiles(root, lists);
        assertEquals(List.of("covid", "normal"), d.classes());
        assertEquals(4, d.size());
        assertArrayEquals(new int[] {2, 2}, d.classCounts());
        // The missing file is not an error yet: it is reported (and skipped) when read.
        List<BadImage> bad = d.verify(2);
        assertEquals(1, bad.size());
        assertEquals(3, bad.getFirst().index());
        assertTrue(bad.getFirst().toString().contains("gone.png"), bad.toString());
        assertEquals(3, d.withoutImages(bad).size());
        // A list none of whose files exists means a wrong root.
        Path wrong = Files.writeString(root.resolve("wrong.txt"), "elsewhere/1.png\n");
        DatasetException e = assertThrows(DatasetException.class, () -> ImageFileDataset.listFiles(root, Map.of("covid", wrong)));
        assertTrue(e.getMessage().contains("none of the 1 files"), e.getMessage());
        assertThrows(DatasetException.class, () -> ImageFileDataset.listFiles(root, Map.of("covid", root.resolve("absent.txt"))));
    }

    @Test void splitCsvKeepsClassIndicesAcrossSplitsAndReadsGroups() throws IOException {
        png(root.resolve("a/1.jpg"), 1);
        png(root.resolve("b/2.jpg"), 2);
        png(root.resolve("b/3 (x).jpg"), 3);
        Files.writeString(root.resolve("split.csv"),
            "path,label,split,patient\na/1.jpg,covid,train,p1\n\"b/2.jpg\",normal,train,p2\nb/3 (x).jpg,normal,test,p2\n");
        ImageFileDataset train = ImageFileDataset.splitCsv(root, "train"), test;
        assertEquals(List.of("covid", "normal"), train.classes());
        assertEquals(2, train.size());
        assertEquals("p2", train.group(1));
        DatasetException e = assertThrows(DatasetException.class, () -> ImageFileDataset.splitCsv(root, "test"));
        assertTrue(e.getMessage().contains("'covid' is empty"), e.getMessage());
        assertThrows(DatasetException.class, () -> ImageFileDataset.splitCsv(root, "val"));
        Files.writeString(root.resolve("split.csv"), "path,label,split\na/1.jpg,covid,test\nb/3 (x).jpg,normal,test\n", java.nio.file.StandardOpenOption.TRUNCATE_EXISTING);
        test = ImageFileDataset.splitCsv(root, "test");
        assertEquals(1, test.label(1));
        assertEquals(root.resolve("b/3 (x).jpg"), test.path(1));
    }

    static String splitCsvError(Path root, String csv) throws IOException {
        Files.writeString(root.resolve("split.csv"), csv);
        return assertThrows(DatasetException.class, () -> ImageFileDataset.splitCsvParts(root.resolve("split.csv"), root)).getMessage();
    }

    @Test void splitCsvIsCheckedUpFrontWithLineNumbers() throws IOException {
        png(root.resolve("a/1.png"), 1);
        png(root.resolve("a/2.png"), 2);
        png(root.resolve("b/3.png"), 3);
        String head = "path,label,split\n";
        // An unknown split name: the line, the value and the allowed names (it used to drop the row).
        String m = splitCsvError(root, head + "a/1.png,covid,train\nb/3.png,normal,train\na/2.png,covid,valid\n");
        assertTrue(m.contains("split.csv line 4: unknown split 'valid' (allowed: train, val, test)"), m);
        // The same image in train and test (also spelled differently): both lines (it used to be accepted).
        m = splitCsvError(root, head + "a/1.png,covid,train\nb/3.png,normal,train\n./a/../a/1.png,covid,test\n");
        assertTrue(m.contains("lines 2 and 4 both list ./a/../a/1.png (in train and in test"), m);
        m = splitCsvError(root, head + "a/1.png,covid,train\na/1.png,covid,train\n");
        assertTrue(m.contains("lines 2 and 3 both list a/1.png (twice in train)"), m);
        // Missing files: the first line, and how many.
        m = splitCsvError(root, head + "a/1.png,covid,train\na/gone.png,covid,train\nb/gone.png,normal,test\n");
        assertTrue(m.contains("split.csv line 3: no such file") && m.contains("gone.png") && m.contains("2 of 3 listed files are missing, lines 3, 4"), m);
        m = splitCsvError(root, head + "a/1.png,,train\n");
        assertTrue(m.contains("line 2: empty label"), m);
        // Bytes that are not text: the line, in words (not a Java exception's name).
        m = splitCsvError(root, head + "a/1.png,covid,train\nb/3.png,normal\0x,train\n");
        assertTrue(m.contains("split.csv line 3: holds a NUL character"), m);
        Files.write(root.resolve("split.csv"), (head + "a/1.png,covid,train\r\nb/3.png,norm").getBytes(java.nio.charset.StandardCharsets.UTF_8));
        Files.write(root.resolve("split.csv"), new byte[] {(byte) 0xE9, 'l', ',', 't', 'r', 'a', 'i', 'n', '\n'}, java.nio.file.StandardOpenOption.APPEND);
        m = assertThrows(DatasetException.class, () -> ImageFileDataset.splitCsvParts(root.resolve("split.csv"), root)).getMessage();
        assertTrue(m.contains("split.csv line 3: not UTF-8 text"), m);
        Files.delete(root.resolve("split.csv"));
        Files.createDirectory(root.resolve("split.csv"));
        m = assertThrows(DatasetException.class, () -> ImageFileDataset.splitCsvParts(root.resolve("split.csv"), root)).getMessage();
        assertTrue(m.endsWith("split.csv is a folder, not a file"), m);
        Files.delete(root.resolve("split.csv"));
        Files.writeString(root.resolve("split.csv"), head + "a/1.png,covid,train\nb/3.png,normal,train\na/2.png,covid,val\n");
        Map<String, ImageFileDataset> parts = ImageFileDataset.splitCsvParts(root.resolve("split.csv"), root);
        assertEquals(List.of("train", "val"), List.copyOf(parts.keySet()));
        assertEquals(List.of("covid", "normal"), parts.get("val").classes());
    }

    @Test void groupIdsFromPatternAndCsv() throws IOException {
        png(root.resolve("viral/person12_virus_33.jpeg"), 1);
        png(root.resolve("viral/person12_virus_34.jpeg"), 1);
        png(root.resolve("viral/person7_virus_1.jpeg"), 1);
        ImageFileDataset d = ImageFileDataset.folder(root).withGroups(GroupIds.fileNamePattern("^(person\\d+)_"));
        assertEquals(List.of("person12", "person12", "person7"), List.of(d.group(0), d.group(1), d.group(2)));
        assertTrue(d.hasGroups());
        Files.writeString(root.resolve("groups.csv"), "path,group\nviral/person12_virus_33.jpeg,A\nperson12_virus_34.jpeg,A\n");
        DatasetException e = assertThrows(DatasetException.class, () -> ImageFileDataset.folder(root).withGroups(GroupIds.csv(root.resolve("groups.csv"))));
        assertTrue(e.getMessage().contains("person7_virus_1.jpeg"), e.getMessage());
        assertThrows(DatasetException.class, () -> d.withGroups(GroupIds.fileNamePattern("^(patient\\d+)")));
    }
}
