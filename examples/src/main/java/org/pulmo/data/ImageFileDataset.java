package org.pulmo.data;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.stream.Stream;

/**
 * Images stored as files, each with a class label and an optional group (patient) id. Three layouts:
 * <ul>
 *   <li>{@link #folder}: {@code root/<class>/**.png|jpg|jpeg|bmp}, class names from the folder names (sorted)
 *       or given explicitly; sub-folders inside a class folder are searched too, in sorted order;</li>
 *   <li>{@link #listFiles}: one list file per class, one path (relative to a root) per line, as the
 *       COVID-CT set's {@code trainCT_COVID.txt} split files; blank lines and lines starting with {@code #}
 *       are skipped;</li>
 *   <li>{@link #splitCsv}: a {@code path,label,split} CSV (as {@code split.csv} of the shared data sets), one
 *       split selected; the classes are the sorted labels of the whole CSV, so every split gets the same
 *       class indices.</li>
 * </ul>
 * Files are not opened when the data set is made: a file that turns out to be broken is reported when it is
 * read (see {@link DataLoader} and {@link #verify}). Layout errors (missing folder, empty class, a list that
 * names no existing file) throw a {@link DatasetException} at once.
 */
public final class ImageFileDataset implements Dataset {

    /** One image: its path (absolute or relative to the working directory), label and group (may be null). */
    public record Entry(Path path, int label, String group) {}

    private final List<String> classes;
    private final List<Entry> entries;
    private final Path root;

    public ImageFileDataset(List<String> classes, List<Entry> entries, Path root) {
        this.classes = List.copyOf(classes);
        this.entries = List.copyOf(entries);
        this.root = root;
        for (Entry e : entries)
            if (e.label < 0 || e.label >= classes.size())
                throw new DatasetException(e.path + ": label " + e.label + " outside the " + classes.size() + " classes " + classes);
    }

    /** {@code root/<class>/...} with the class folders' names, sorted, as classes. */
    public static ImageFileDataset folder(Path root) {
        requireDirectory(root, "data folder");
        List<String> classes = new ArrayList<>();
        try (Stream<Path> s = Files.list(root)) {
            s.filter(Files::isDirectory).map(p -> p.getFileName().toString())
                .filter(n -> !n.startsWith(".")).sorted().forEach(classes::add);
        } catch (IOException e) {
            throw new DatasetException("cannot list data folder " + root + ": " + e, e);
        }
        if (classes.isEmpty())
            throw new DatasetException("data folder " + root + " has no class folders; expected " + root + "/<class>/<image files>");
        return folder(root, classes);
    }

    /** {@code root/<class>/...} for the given classes, in the given order (label k = classes.get(k)). */
    public static ImageFileDataset folder(Path root, List<String> classes) {
        requireDirectory(root, "data folder");
        if (classes.isEmpty()) throw new DatasetException("no classes given for data folder " + root);
        if (new TreeSet<>(classes).size() != classes.size()) throw new DatasetException("class names repeat: " + classes);
        List<Entry> entries = new ArrayList<>();
        for (int k = 0; k < classes.size(); k++) {
            Path dir = root.resolve(classes.get(k));
            requireDirectory(dir, "class folder for '" + classes.get(k) + "'");
            List<Path> files;
            try (Stream<Path> s = Files.walk(dir)) {
                files = s.filter(Files::isRegularFile).filter(ImageDecoder::hasImageExtension).sorted().toList();
            } catch (IOException | UncheckedIOException e) {
                throw new DatasetException("cannot list class folder " + dir + ": " + e, e);
            }
            if (files.isEmpty())
                throw new DatasetException("class '" + classes.get(k) + "' is empty: " + dir + " has no image files (" + ImageDecoder.IMAGE_EXTENSIONS + ")");
            for (Path f : files) entries.add(new Entry(f, k, null));
        }
        return new ImageFileDataset(classes, entries, root);
    }

    /**
     * One list file per class (map order = class order), each line a path relative to {@code root}. A list
     * none of whose files exists is an error (the root is probably wrong); single missing files are left to be
     * reported and skipped when read.
     */
    public static ImageFileDataset listFiles(Path root, Map<String, Path> listPerClass) {
        requireDirectory(root, "data folder");
        if (listPerClass.isEmpty()) throw new DatasetException("no list files given");
        List<String> classes = new ArrayList<>(listPerClass.keySet());
        List<Entry> entries = new ArrayList<>();
        int k = 0;
        for (Map.Entry<String, Path> c : listPerClass.entrySet()) {
            Path list = c.getValue();
            if (!Files.isRegularFile(list)) throw new DatasetException("list file for class '" + c.getKey() + "' does not exist: " + list);
            List<String> lines;
            try {
                lines = Files.readAllLines(list, StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new DatasetException("cannot read list file " + list + ": " + e, e);
            }
            int found = 0, listed = 0;
            String first = null;
            for (String line : lines) {
                String rel = line.strip();
                if (rel.isEmpty() || rel.startsWith("#")) continue;
                Path p = root.resolve(rel);
                listed++;
                if (first == null) first = p.toString();
                if (Files.exists(p)) found++;
                entries.add(new Entry(p, k, null));
            }
            if (listed == 0) throw new DatasetException("class '" + c.getKey() + "' is empty: list file " + list + " names no images");
            if (found == 0)
                throw new DatasetException("none of the " + listed + " files in " + list + " exists under " + root + " (first: " + first + ")");
            k++;
        }
        return new ImageFileDataset(classes, entries, root);
    }

    /** The rows of {@code folder/split.csv} whose split column is {@code split} ("train", "test", ...). */
    public static ImageFileDataset splitCsv(Path folder, String split) {
        return splitCsv(folder.resolve("split.csv"), folder, split);
    }

    /**
     * The rows of a {@code path,label,split} CSV (header required, any column order, extra columns ignored;
     * a {@code group} or {@code patient} column, when present, gives the group ids) whose split is
     * {@code split}; paths are relative to {@code root}.
     */
    public static ImageFileDataset splitCsv(Path csv, Path root, String split) {
        requireDirectory(root, "data folder");
        List<Map<String, String>> rows = Csv.read(csv);
        for (String col : List.of("path", "label", "split"))
            if (!rows.isEmpty() && !rows.getFirst().containsKey(col)) throw new DatasetException(csv + ": no '" + col + "' column");
        String groupCol = rows.isEmpty() ? null : rows.getFirst().containsKey("group") ? "group" : rows.getFirst().containsKey("patient") ? "patient" : null;
        List<String> classes = new ArrayList<>(new TreeSet<>(rows.stream().map(r -> r.get("label")).toList()));
        Map<String, Integer> index = new LinkedHashMap<>();
        for (int k = 0; k < classes.size(); k++) index.put(classes.get(k), k);
        List<Entry> entries = new ArrayList<>();
        TreeSet<String> splits = new TreeSet<>();
        for (Map<String, String> r : rows) {
            splits.add(r.get("split"));
            if (r.get("split").equals(split))
                entries.add(new Entry(root.resolve(r.get("path")), index.get(r.get("label")), groupCol == null ? null : r.get(groupCol)));
        }
        if (entries.isEmpty()) throw new DatasetException(csv + " has no rows with split '" + split + "' (splits found: " + splits + ")");
        ImageFileDataset d = new ImageFileDataset(classes, entries, root);
        int[] n = d.classCounts();
        for (int k = 0; k < n.length; k++)
            if (n[k] == 0) throw new DatasetException("class '" + classes.get(k) + "' is empty in split '" + split + "' of " + csv);
        return d;
    }

    private static void requireDirectory(Path dir, String what) {
        if (!Files.exists(dir)) throw new DatasetException(what + " does not exist: " + dir);
        if (!Files.isDirectory(dir)) throw new DatasetException(what + " is not a folder: " + dir);
    }

    /** This data set with group ids from {@code ids}, which sees each path relative to the root. */
    public ImageFileDataset withGroups(GroupIds ids) {
        List<Entry> out = new ArrayList<>(entries.size());
        for (Entry e : entries) {
            Path rel = root != null && e.path.startsWith(root) ? root.relativize(e.path) : e.path;
            out.add(new Entry(e.path, e.label, ids.groupOf(rel)));
        }
        return new ImageFileDataset(classes, out, root);
    }

    public List<Entry> entries() { return entries; }

    public Path path(int index) { return entries.get(index).path; }

    /** The folder relative paths are resolved against (may be null when built from entries). */
    public Path root() { return root; }

    @Override public List<String> classes() { return classes; }
    @Override public int size() { return entries.size(); }
    @Override public int label(int index) { return entries.get(index).label; }
    @Override public String group(int index) { return entries.get(index).group; }
    @Override public String source(int index) { return entries.get(index).path.toString(); }
    @Override public Image image(int index) throws IOException { return ImageDecoder.decode(entries.get(index).path); }

    /**
     * Decodes every image once, on {@code threads} threads, and returns those that fail, in index order.
     * Use it to report bad files before training; {@link #withoutImages} drops them.
     */
    public List<BadImage> verify(int threads) { return DataLoader.findBadImages(this, threads); }

    /** This data set without the images {@code bad} lists. */
    public ImageFileDataset withoutImages(List<BadImage> bad) {
        java.util.Set<Integer> drop = new java.util.HashSet<>();
        for (BadImage b : bad) drop.add(b.index());
        List<Entry> keep = new ArrayList<>();
        for (int i = 0; i < entries.size(); i++) if (!drop.contains(i)) keep.add(entries.get(i));
        return new ImageFileDataset(classes, keep, root);
    }

    @Override public String toString() {
        return "ImageFileDataset(" + (root == null ? "" : root + ", ") + entries.size() + " images, classes " + classes + ")";
    }
}
