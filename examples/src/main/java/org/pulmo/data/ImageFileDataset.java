package org.pulmo.data;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;
import java.util.stream.Stream;

/**
 * Images stored as files, each with a class label and an optional group (patient) id. Three layouts:
 * <ul>
 *   <li>{@link #folder}: {@code root/<class>/**.png|jpg|jpeg|bmp|gif|tif|tiff}, class names from the folder names (sorted)
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

    private static final System.Logger LOG = System.getLogger(ImageFileDataset.class.getName());

    private final List<String> classes;
    private final List<Entry> entries;
    private final Path root;

    public ImageFileDataset(List<String> classes, List<Entry> entries, Path root) {
        this.classes = List.copyOf(classes);
        this.entries = List.copyOf(entries);
        this.root = root;
        for (String c : classes)   // a checkpoint records its classes one a line: "a\nb" would come back as two classes
            if (c.indexOf('\n') >= 0 || c.indexOf('\r') >= 0)
                throw new DatasetException("class name '" + c.replace("\n", "\\n").replace("\r", "\\r") + "' (of " + root
                    + ") holds a line break; rename its folder or label");
        for (Entry e : entries)
            if (e.label < 0 || e.label >= classes.size())
                throw new DatasetException(e.path + ": label " + e.label + " outside the " + classes.size() + " classes " + classes);
    }

    /**
     * {@code root/<class>/...} with the class folders' names, sorted, as classes. {@code runs/} is not a class: training
     * with the data folder as the working directory puts {@code runs/train} there, whose plots would otherwise make a
     * class "runs". Nor is another folder of Pulmo's output ({@link #holdsPulmoOutput}: a run's or an evaluation's files,
     * or no image outside such folders), said in a warning; inside a class folder such folders are left out of its images.
     */
    public static ImageFileDataset folder(Path root) {
        requireDirectory(root, "data folder");
        List<String> classes = new ArrayList<>();
        Map<String, Listing> listed = new HashMap<>();
        try (Stream<Path> s = Files.list(root)) {
            for (Path p : s.filter(Files::isDirectory).sorted(java.util.Comparator.comparing(q -> q.getFileName().toString())).toList()) {
                String n = p.getFileName().toString();
                if (n.startsWith(".") || n.equals(ImageDecoder.MACOS_ARCHIVE_FOLDER) || n.equals(RUNS_FOLDER)) continue;   // runs/: Pulmo's
                Listing l = classListing(p);
                if (l == null) {
                    LOG.log(System.Logger.Level.WARNING, p + " holds Pulmo's own output (a training run, or an evaluation's predictions),"
                        + " not images of a class: left out of the data");
                    continue;
                }
                classes.add(n);
                listed.put(n, l);
            }
        } catch (IOException | UncheckedIOException e) {
            throw new DatasetException("cannot list data folder " + root + ": " + IoErrors.describe(e), e);
        }
        if (classes.isEmpty())
            throw new DatasetException("data folder " + root + " has no class folders; expected " + root + "/<class>/<image files>");
        return folder(root, classes, listed);
    }

    /**
     * The folder of a data set where Pulmo's output goes ({@code DATA/runs}, what the README suggests): never a class, and
     * never read as images, whatever it holds (runs nested deeper, explanations, prediction CSVs, or nothing yet).
     */
    public static final String RUNS_FOLDER = "runs";

    /**
     * The image files below a folder, sorted, named under it (it may be a link), and the folders of Pulmo's output left
     * out with everything below them: a folder with a training run's or an evaluation's files ({@link #isPulmoOutput}),
     * and with {@code skipRuns} a {@link #RUNS_FOLDER} right inside it (the data folder's own).
     */
    public record Listing(List<Path> images, List<Path> leftOut) {}

    public static Listing list(Path dir, boolean skipRuns) throws IOException {
        Path real = dir.toRealPath();
        List<Path> images = new ArrayList<>(), leftOut = new ArrayList<>();
        Files.walkFileTree(real, new java.nio.file.SimpleFileVisitor<>() {
            @Override public java.nio.file.FileVisitResult preVisitDirectory(Path d, java.nio.file.attribute.BasicFileAttributes a) {
                if (d.equals(real)) return java.nio.file.FileVisitResult.CONTINUE;
                boolean runs = skipRuns && d.getParent().equals(real) && d.getFileName().toString().equals(RUNS_FOLDER);
                if (!runs && !isPulmoOutput(d)) return java.nio.file.FileVisitResult.CONTINUE;
                leftOut.add(named(d));
                return java.nio.file.FileVisitResult.SKIP_SUBTREE;
            }

            @Override public java.nio.file.FileVisitResult visitFile(Path f, java.nio.file.attribute.BasicFileAttributes a) {
                Path p = named(f);
                if (Files.isRegularFile(f) && ImageDecoder.hasImageExtension(p)) images.add(p);
                return java.nio.file.FileVisitResult.CONTINUE;
            }

            private Path named(Path q) { return dir.resolve(real.relativize(q).toString()); }
        });
        images.sort(null);
        leftOut.sort(null);
        return new Listing(images, leftOut);
    }

    /**
     * Whether {@code dir}, a folder of a data set, holds Pulmo's output rather than images of a class: it is the
     * {@link #RUNS_FOLDER}, it holds what only Pulmo writes ({@link #isPulmoOutput}), or it holds such folders and no
     * image outside them. A class folder with an evaluation saved somewhere inside it stays a class (that folder is
     * left out of its images).
     */
    public static boolean holdsPulmoOutput(Path dir) throws IOException { return classListing(dir) == null; }

    /** {@code dir}'s images as a class folder's, or null where it holds Pulmo's output instead ({@link #holdsPulmoOutput}). */
    private static Listing classListing(Path dir) throws IOException {
        if (dir.getFileName() != null && dir.getFileName().toString().equals(RUNS_FOLDER) || isPulmoOutput(dir)) return null;
        Listing l = list(dir, false);
        return l.images().isEmpty() && !l.leftOut().isEmpty() ? null : l;
    }

    /**
     * Whether {@code dir} holds what only Pulmo writes: a training run's lock ({@code .pulmo.lock}) or record
     * ({@code run.json} with its list of invocations), or an evaluation's {@code predictions.csv} (its header). A data
     * set's own files of those names, with other contents, do not count.
     */
    public static boolean isPulmoOutput(Path dir) {
        return Files.exists(dir.resolve(".pulmo.lock")) || head(dir.resolve("run.json"), 1 << 20).contains("\"invocations\"")
            || head(dir.resolve("predictions.csv"), 64).startsWith("source,label,predicted,");
    }

    /** The first {@code limit} bytes of {@code file} as text; "" for a file that is absent or cannot be read. */
    private static String head(Path file, int limit) {
        if (!Files.isRegularFile(file)) return "";
        try (var in = Files.newInputStream(file)) {
            return new String(in.readNBytes(limit), StandardCharsets.UTF_8);
        } catch (IOException e) {
            return "";
        }
    }

    /**
     * The paths below {@code dir} as {@link Files#walk} gives them, but following {@code dir} itself where it is a link (a
     * class folder linked from elsewhere). Links to folders further down are not followed, as {@code Files.walk} does not,
     * so that a link inside a class folder neither brings another class's images in nor loops. Paths are named under
     * {@code dir}, wherever the files lie.
     */
    public static Stream<Path> walk(Path dir) throws IOException {
        Path real = dir.toRealPath();
        return Files.walk(real).map(p -> dir.resolve(real.relativize(p).toString()));
    }

    /** {@code root/<class>/...} for the given classes, in the given order (label k = classes.get(k)). */
    public static ImageFileDataset folder(Path root, List<String> classes) { return folder(root, classes, Map.of()); }

    /** As {@link #folder(Path, List)}, with the listings of some class folders made already ({@link #folder(Path)}). */
    private static ImageFileDataset folder(Path root, List<String> classes, Map<String, Listing> listed) {
        requireDirectory(root, "data folder");
        if (classes.isEmpty()) throw new DatasetException("no classes given for data folder " + root);
        if (new TreeSet<>(classes).size() != classes.size()) throw new DatasetException("class names repeat: " + classes);
        List<Entry> entries = new ArrayList<>();
        for (int k = 0; k < classes.size(); k++) {
            Path dir = root.resolve(classes.get(k));
            requireDirectory(dir, "class folder for '" + classes.get(k) + "'");
            List<Path> files;
            try {   // a class folder may be a link; an evaluation or run saved inside it is not its images
                files = (listed.containsKey(classes.get(k)) ? listed.get(classes.get(k)) : list(dir, false)).images();
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
     * {@code split}; paths are relative to {@code root}. The whole file is checked first ({@link #splitCsvParts});
     * a class with no row in {@code split} is an error here.
     */
    public static ImageFileDataset splitCsv(Path csv, Path root, String split) {
        Map<String, ImageFileDataset> parts = splitCsvParts(csv, root);
        ImageFileDataset d = parts.get(split);
        if (d == null) throw new DatasetException(csv + " has no rows with split '" + split + "' (splits found: " + parts.keySet() + ")");
        int[] n = d.classCounts();
        for (int k = 0; k < n.length; k++)
            if (n[k] == 0) throw new DatasetException("class '" + d.classes.get(k) + "' is empty in split '" + split + "' of " + csv);
        return d;
    }

    /** The split names a {@code split.csv} may use, in this order. */
    public static final List<String> SPLIT_NAMES = List.of("train", "val", "test");

    /**
     * Every split of a {@code path,label,split} CSV (see {@link #splitCsv}), keyed train, val, test (those with
     * rows only, in that order), all with the same classes: the sorted labels of the whole file. The file is
     * checked before anything is returned, and each error names the line at fault:
     * <ul>
     *   <li>a split other than {@code train}, {@code val} or {@code test}, or an empty path or label;</li>
     *   <li>a file listed twice, in one split or in two (two spellings of one path count as one file): listed
     *       in train and test it would leak test images into training;</li>
     *   <li>a listed file that does not exist (all such lines are counted, the first few named).</li>
     * </ul>
     */
    public static Map<String, ImageFileDataset> splitCsvParts(Path csv, Path root) {
        requireDirectory(root, "data folder");
        List<Csv.Row> rows = Csv.rows(csv);
        if (rows.isEmpty()) throw new DatasetException(csv + " has a header but no rows");
        for (String col : List.of("path", "label", "split"))
            if (!rows.getFirst().fields().containsKey(col)) throw new DatasetException(csv + ": no '" + col + "' column (columns: "
                + rows.getFirst().fields().keySet() + ")");
        String groupCol = rows.getFirst().fields().containsKey("group") ? "group" : rows.getFirst().fields().containsKey("patient") ? "patient" : null;
        Map<Path, Csv.Row> seen = new HashMap<>();
        List<Csv.Row> missing = new ArrayList<>();
        for (Csv.Row r : rows) {
            String where = csv + " line " + r.line();
            String split = r.get("split").strip(), path = r.get("path").strip(), label = r.get("label").strip();
            if (!SPLIT_NAMES.contains(split))
                throw new DatasetException(where + ": unknown split '" + split + "' (allowed: " + String.join(", ", SPLIT_NAMES) + ")");
            if (path.isEmpty()) throw new DatasetException(where + ": empty path");
            if (label.isEmpty()) throw new DatasetException(where + ": empty label for " + path);
            Path file = root.resolve(path).normalize();
            if (!Files.isRegularFile(file)) missing.add(r);
            Csv.Row before = seen.put(sameFile(file), r);
            if (before != null) {
                String a = before.get("split").strip();
                throw new DatasetException(csv + " lines " + before.line() + " and " + r.line() + " both list " + path
                    + (a.equals(split) ? " (twice in " + split + ")"
                        : " (in " + a + " and in " + split + ": an image must be in one split only, or the model is tested on what it trained on)"));
            }
        }
        if (!missing.isEmpty()) {
            List<String> lines = missing.stream().limit(5).map(r -> String.valueOf(r.line())).toList();
            throw new DatasetException(csv + " line " + missing.getFirst().line() + ": no such file " + root.resolve(missing.getFirst().get("path").strip())
                + " (" + missing.size() + " of " + rows.size() + " listed files are missing, lines " + String.join(", ", lines)
                + (missing.size() > lines.size() ? ", ..." : "") + "; paths are relative to " + root + ")");
        }
        List<String> classes = new ArrayList<>(new TreeSet<>(rows.stream().map(r -> r.get("label").strip()).toList()));
        Map<String, List<Entry>> bySplit = new LinkedHashMap<>();
        for (String split : SPLIT_NAMES) bySplit.put(split, new ArrayList<>());
        for (Csv.Row r : rows)
            bySplit.get(r.get("split").strip()).add(new Entry(root.resolve(r.get("path").strip()), classes.indexOf(r.get("label").strip()),
                groupCol == null ? null : r.get(groupCol)));
        Map<String, ImageFileDataset> parts = new LinkedHashMap<>();
        bySplit.forEach((split, entries) -> { if (!entries.isEmpty()) parts.put(split, new ImageFileDataset(classes, entries, root)); });
        return parts;
    }

    /** One key per file however it is spelled: the real path (symbolic links resolved) where it exists. */
    static Path sameFile(Path file) {
        try {
            return file.toRealPath();
        } catch (IOException | SecurityException e) {
            return file.toAbsolutePath().normalize();
        }
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
