package org.pulmo.examples;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.PatternSyntaxException;
import org.pulmo.data.ClassMap;
import org.pulmo.data.Dataset;
import org.pulmo.data.DatasetException;
import org.pulmo.data.DemoChestDataset;
import org.pulmo.data.GroupIds;
import org.pulmo.data.ImageFileDataset;
import org.pulmo.data.Leakage;
import org.pulmo.data.PartDigest;
import org.pulmo.data.Splits;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * Where the images come from (shared by train, evaluate, probe and check-data). {@code --data demo} is the built-in
 * synthetic set; a folder may be laid out as
 * <ol>
 *   <li>{@code split.csv} ({@code path,label,split}, optional {@code group}) beside the images;</li>
 *   <li>{@code train/<class>/*}, optional {@code val/<class>/*} and {@code test/<class>/*};</li>
 *   <li>{@code <class>/*} only: then a seeded stratified split (by patient with {@code --group-pattern}).</li>
 * </ol>
 * A validation part that the folder does not give is cut from the training images ({@code --val-fraction}).
 *
 * <p>What is checked before any image is decoded:
 * <ul>
 *   <li>{@code split.csv} as a whole ({@link ImageFileDataset#splitCsvParts}): a split other than train, val or
 *       test, a file listed twice (in one split or in two) and listed files that do not exist are errors naming
 *       the lines.</li>
 *   <li>Validation rows or a {@code val/} folder that lack a class are kept as given, with a warning naming the
 *       class (validation accuracy then covers the other classes); they are never replaced by a cut of the
 *       training images. A test part may lack classes too. A class with no training image is an error.</li>
 *   <li>The parts are matched by class name, never by position: {@code test/} and {@code val/} may hold a subset
 *       of {@code train/}'s class folders; a class folder that {@code train/} lacks is an error naming both lists.
 *       Commands that read data against a checkpoint ({@code evaluate}) match the checkpoint's class names the
 *       same way ({@link ClassMap}).</li>
 *   <li>An image in two parts (the same file, or identical bytes under another name; see {@link Leakage}) is an
 *       error naming both files, or a warning with {@code --allow-leakage}.</li>
 * </ul>
 */
final class DataOptions {
    @Option(names = "--data", defaultValue = "demo", converter = Cli.NonEmptyText.class, description = "An image folder, or 'demo' for the built-in synthetic chest images (default: ${DEFAULT-VALUE}).")
    String data;

    @Option(names = "--demo-images", defaultValue = "384", description = "Demo training images (validation and test: a quarter as many each, at least 32; default: ${DEFAULT-VALUE}).")
    int demoImages;

    // Departure: both papers split train/test only; a validation part chooses the reported (best) checkpoint (docs/FIDELITY.md).
    @Option(names = "--val-fraction", defaultValue = "0.1", description = "Share held out for validation when the folder has no validation part: of all images of a folder of class folders"
        + " (with --test-fraction's share: 70/10/20 by default), of the training images where the folder (train/, test/) or its split.csv gives the other parts (default: ${DEFAULT-VALUE}).")
    double valFraction;

    @Option(names = "--test-fraction", defaultValue = "0.2", description = "Share held out for testing when the folder has no split at all (default: ${DEFAULT-VALUE}).")
    double testFraction;

    @Option(names = "--group-pattern", description = "Regex with one capture group that takes a patient id from each file name; enables patient-level splits and metrics.")
    String groupPattern;

    @Option(names = "--split-seed", defaultValue = "7", description = "Seed of the stratified split (default: ${DEFAULT-VALUE}).")
    long splitSeed;

    @Option(names = "--strict", description = "An unreadable image is an error instead of being skipped (train decodes every training and validation image"
        + " before its first step and names the first that fails; the other commands stop at it).")
    boolean strict;

    @Option(names = "--allow-leakage", description = "Go on (with a warning) when the same image is in two parts (train and test, ...); by default that is an error.")
    boolean allowLeakage;

    /** The command this mixin belongs to: which options were given on its command line. */
    @Spec(Spec.Target.MIXEE) CommandSpec command;

    boolean isDemo() { return data.equalsIgnoreCase("demo"); }

    /** The data folder, absolute; null for the demo data. */
    Path root() { return isDemo() ? null : Path.of(data).toAbsolutePath().normalize(); }

    /** The options that decide which image goes to which part, by their checkpoint keys, in the order messages name them. */
    private static final Map<String, String> SPLIT_OPTIONS = orderedMap("split_seed", "--split-seed", "val_fraction", "--val-fraction",
        "test_fraction", "--test-fraction", "group_pattern", "--group-pattern", "demo_images", "--demo-images");

    private static Map<String, String> orderedMap(String... kv) {
        Map<String, String> m = new LinkedHashMap<>();
        for (int i = 0; i < kv.length; i += 2) m.put(kv[i], kv[i + 1]);
        return java.util.Collections.unmodifiableMap(m);
    }

    private String splitOption(String key) {
        return switch (key) {
            case "split_seed" -> Long.toString(splitSeed);
            case "val_fraction" -> Double.toString(valFraction);
            case "test_fraction" -> Double.toString(testFraction);
            case "demo_images" -> isDemo() ? Integer.toString(demoImages) : null;
            default -> groupPattern;
        };
    }

    /** Sets one split option from its checkpoint text; false (nothing set) where the text is not a value of it. */
    private boolean setSplitOption(String key, String v) {
        try {
            switch (key) {
                case "split_seed" -> splitSeed = Long.parseLong(v);
                case "val_fraction" -> valFraction = Double.parseDouble(v);
                case "test_fraction" -> testFraction = Double.parseDouble(v);
                case "demo_images" -> demoImages = Integer.parseInt(v);
                default -> groupPattern = v;
            }
            return true;
        } catch (NumberFormatException bad) {   // a hand-edited checkpoint
            return false;
        }
    }

    /**
     * How the images were split and which each part held, for a checkpoint's metadata and run.json: the folder, the
     * split options, and each part's {@link PartDigest} ("data_train", "data_val", "data_test").
     */
    Map<String, String> splitRecord(Splits.Split s) {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("data", isDemo() ? "demo" : root().toString());
        for (String key : SPLIT_OPTIONS.keySet()) if (splitOption(key) != null) m.put(key, splitOption(key));
        m.put("data_train", PartDigest.of(s.train(), root()));
        m.put("data_val", PartDigest.of(s.val(), root()));
        m.put("data_test", PartDigest.of(s.test(), root()));
        return m;
    }

    /**
     * {@code train --resume}: this run must train and validate on the first run's images ({@code meta}, its checkpoint's
     * metadata; {@code now}, this run's {@link #splitRecord}), else an error naming what changed: another --data, other
     * split options, a folder whose images changed. A moved folder with the same images, or another test part, is a note.
     */
    static List<String> checkResume(Map<String, String> meta, Map<String, String> now) {
        List<String> changed = new ArrayList<>(), notes = new ArrayList<>();
        for (String part : List.of("train", "val")) {
            String had = meta.get("data_" + part);
            if (had != null && !had.equals(now.get("data_" + part)))
                changed.add("the " + (part.equals("val") ? "validation" : "training") + " part differs from the first run's (" + had + " then, "
                    + now.get("data_" + part) + " now)");
        }
        List<String> options = new ArrayList<>();
        String folderThen = meta.get("data");
        if (folderThen != null && !folderThen.equals(now.get("data"))) options.add("--data " + now.get("data") + " instead of " + folderThen);
        for (var e : SPLIT_OPTIONS.entrySet())
            if (meta.containsKey("data_train") && !java.util.Objects.equals(meta.get(e.getKey()), now.get(e.getKey())))
                options.add(e.getValue() + " " + (now.get(e.getKey()) == null ? "not given" : now.get(e.getKey())) + " instead of "
                    + (meta.get(e.getKey()) == null ? "none" : meta.get(e.getKey())));
        if (!changed.isEmpty())
            throw new IllegalArgumentException("--resume: " + String.join("; ", changed) + (options.isEmpty() ? ": the images in the data folder changed"
                : ": " + String.join(", ", options)) + " (resume with the first run's --data and split options, or start a new run)");
        if (folderThen != null && !folderThen.equals(now.get("data")))
            notes.add("--resume: the images are now read from " + now.get("data") + " (the first run: " + folderThen + "); the same images in each part");
        String testThen = meta.get("data_test");
        if (testThen != null && !testThen.equals(now.get("data_test")))
            notes.add("--resume: the test part is not the first run's (" + testThen + " then, " + now.get("data_test") + " now); training is the same");
        return notes;
    }

    /**
     * {@code evaluate}, {@code probe}: on the training run's own data (wherever it now lies: the folder split with the
     * checkpoint's options gives the training part it records), the split options left off the command line are the
     * run's, so that "the test part" is the one the run held out. Says which it took. On other data nothing is taken.
     */
    void adoptSplitOf(Map<String, String> meta, java.io.PrintStream out) {
        String trained = meta.get("data_train");
        if (trained == null) return;   // a checkpoint from before the split was recorded
        List<String> taken = new ArrayList<>();
        DataOptions asTrained = trialCopy();
        for (var e : SPLIT_OPTIONS.entrySet()) {
            String v = meta.get(e.getKey());
            if (e.getKey().equals("group_pattern") ? given(e.getValue()) : v == null || given(e.getValue())) continue;
            if (java.util.Objects.equals(v, splitOption(e.getKey()))) continue;
            if (v == null ? asTrained.clearGroupPattern() : asTrained.setSplitOption(e.getKey(), v)) taken.add(e.getValue() + " " + (v == null ? "none" : v));
        }
        if (taken.isEmpty()) return;
        Splits.Split split;
        try {
            split = asTrained.loadParts(32);
        } catch (RuntimeException e) {   // that split cannot be made here (a group pattern the files do not match): other data
            return;
        }
        trial = asTrained;   // checkNotTrainedOn needs the same split when it is the checkpoint's own: made once
        trialSplit = split;
        if (!trained.equals(PartDigest.of(split.train(), asTrained.root()))) return;   // other data: its own defaults stand
        asTrained.copySplitInto(this);
        out.println("Split as the training run split it (from the checkpoint): " + String.join(", ", taken));
    }

    /** The split {@link #adoptSplitOf} tried with the checkpoint's options, and its parts (null: none tried, or it failed). */
    private DataOptions trial;
    private Splits.Split trialSplit;

    /** Whether {@code o} splits the same data the same way. */
    private boolean sameSplitAs(DataOptions o) {
        return data.equals(o.data) && demoImages == o.demoImages && splitSeed == o.splitSeed && valFraction == o.valFraction
            && testFraction == o.testFraction && java.util.Objects.equals(groupPattern, o.groupPattern);
    }

    private boolean clearGroupPattern() {
        groupPattern = null;
        return true;
    }

    /**
     * A copy of the data and split options for a trial split (its command line stays its own, and identical files across
     * its parts are not refused: the leakage of the split that is used is checked when that one is loaded).
     */
    private DataOptions trialCopy() {
        DataOptions o = new DataOptions();
        o.data = data;
        o.strict = strict;
        o.allowLeakage = true;
        copySplitInto(o);
        return o;
    }

    /** Copies the split options (and the demo image count) into {@code o}. */
    private void copySplitInto(DataOptions o) {
        o.demoImages = demoImages;
        o.splitSeed = splitSeed;
        o.valFraction = valFraction;
        o.testFraction = testFraction;
        o.groupPattern = groupPattern;
    }

    private boolean given(String option) {
        return command != null && command.commandLine() != null && command.commandLine().getParseResult() != null
            && command.commandLine().getParseResult().hasMatchedOption(option);
    }

    /**
     * {@code evaluate}: refuses ({@code --allow-leakage}: warns) to report numbers on images the checkpoint trained on,
     * which the training folder gives when it is split otherwise than the run split it, or with {@code --split all}. The
     * checkpoint's training part is found by its digest ({@link PartDigest}): the folder split as this command splits it,
     * or as the checkpoint records. The training run's own folder whose images changed since (its digest no longer found)
     * is refused the same way when its split is derived (class folders: the split reshuffles), else noted. For another
     * folder laid out as class folders, notes that its test part is a share of it.
     */
    void checkNotTrainedOn(Map<String, String> meta, Splits.Split s, Dataset evaluated, String part, java.io.PrintStream out) {
        String trained = meta.get("data_train");
        if (trained == null || part.equals("train")) return;
        Dataset trainPart = null;
        Splits.Split asTrained = null;   // the folder split with the checkpoint's options, where they differ from these
        if (trained.equals(PartDigest.of(s.train(), root()))) trainPart = s.train();
        else if (!isDemo() && SPLIT_OPTIONS.keySet().stream().anyMatch(k -> !java.util.Objects.equals(meta.get(k), splitOption(k)))) {
            DataOptions as = withSplitOf(meta);
            asTrained = as != null && trial != null && as.sameSplitAs(trial) ? trialSplit : null;
            try {
                if (as != null && asTrained == null) asTrained = as.loadParts(32);
            } catch (RuntimeException e) {
                // not a split this data can take: other data
            }
            if (asTrained != null && trained.equals(PartDigest.of(asTrained.train(), root()))) trainPart = asTrained.train();
        }
        boolean derived = !isDemo() && !csv() && !partFolders(root());
        if (trainPart == null) {
            if (!isDemo() && root().toString().equals(meta.get("data"))) {   // the training folder itself, changed since
                String what = root() + " is the folder the checkpoint trained on, but its images changed since (training part "
                    + trained + " then; split now as it was then, " + PartDigest.of((asTrained != null ? asTrained : s).train(), root()) + ")";
                if (derived && !allowLeakage)
                    throw new DatasetException(what + ": its class folders split anew, so the test part may hold images the model trained on"
                        + " (evaluate with the folder as it was, or pass --allow-leakage to go on)");
                System.err.println("warning: " + what + (derived ? "; the test part may hold images the model trained on" : ""));
            } else if (part.equals("test") && derived) {
                out.println("Note: " + data + " is laid out as class folders, so its test part is the --test-fraction share of it ("
                    + evaluated.size() + " images); --split all evaluates every image.");
            }
            return;
        }
        Set<String> seen = PartDigest.files(trainPart, root());
        List<String> both = new ArrayList<>(PartDigest.files(evaluated, root()));
        both.retainAll(seen);
        if (both.isEmpty()) return;
        String what = both.size() + " of the " + evaluated.size() + " images" + (part.equals("all") && !isDemo() ? " of " + data : " of " + where(part))
            + " are training images of this checkpoint (first: " + both.getFirst() + "); the numbers would count images the model trained on";
        if (!allowLeakage)
            throw new DatasetException(what + " (evaluate the training run's own test part: leave out --split-seed, --val-fraction, --test-fraction,"
                + " --group-pattern and --split all; or pass --allow-leakage to go on)");
        System.err.println("warning: " + what);
    }

    /** A copy of these options with the split options the checkpoint records, or null where one cannot be read. */
    private DataOptions withSplitOf(Map<String, String> meta) {
        DataOptions o = trialCopy();
        o.groupPattern = meta.get("group_pattern");
        for (String key : SPLIT_OPTIONS.keySet())
            if (!key.equals("group_pattern") && meta.containsKey(key) && !o.setSplitOption(key, meta.get(key))) return null;
        return o;
    }

    /**
     * The three parts at a demo image size of {@code demoSize} (ignored for folders), validation and test put
     * onto the training part's classes by name. A validation or test part may lack a class ({@link
     * #warnOfMissingValidationClasses}, once the parts are known to train); a class the training part lacks is an error.
     */
    Splits.Split load(int demoSize) {
        Splits.Split s = loadParts(demoSize);
        Dataset train = s.train();
        if (train.size() == 0) throw new DatasetException(data + " has no training images" + (csv() ? " (no row of split.csv has split 'train')" : ""));
        Dataset val = ClassMap.onto(s.val(), where("val"), train.classes(), where("train"), Map.of());
        Dataset test = ClassMap.onto(s.test(), where("test"), train.classes(), where("train"), Map.of());
        List<String> untrained = ClassMap.missing(train);
        if (!untrained.isEmpty())
            throw new DatasetException("class " + ClassMap.quotedNames(untrained) + " has no training image in " + where("train")
                + " (classes " + train.classes() + "); every class the model predicts needs training images");
        return new Splits.Split(train, val, test);
    }

    /** Names the classes {@code s}'s validation part lacks, if any: said after the checks that could refuse the run. */
    void warnOfMissingValidationClasses(Splits.Split s) {
        List<String> noVal = ClassMap.missing(s.val());
        if (s.val().size() > 0 && !noVal.isEmpty())
            System.err.println("warning: no validation image of class " + ClassMap.quotedNames(noVal) + " in " + where("val")
                + "; the given validation images are kept, and validation accuracy covers the other classes");
    }

    /**
     * The three parts, each with the class names its source gives (the folder names of {@code train/},
     * {@code val/} and {@code test/}; the labels of {@code split.csv}), so that a command can put them onto a
     * checkpoint's classes by name. A part the folder does not give is empty, except validation, which is cut
     * from the training images. An image in two parts is an error (see {@link Leakage}) unless
     * {@code --allow-leakage}.
     */
    Splits.Split loadParts(int demoSize) {
        if (isDemo()) {
            List<String> split = java.util.stream.Stream.of("--val-fraction", "--test-fraction", "--group-pattern", "--split-seed").filter(this::given).toList();
            if (!split.isEmpty())
                throw new IllegalArgumentException(String.join(", ", split) + ": the demo data comes in fixed parts (training, validation and test"
                    + " images of their own); the split options apply to image folders");
            if (demoImages < 8) throw new IllegalArgumentException("--demo-images must be at least 8 (two of each class), got " + demoImages);
            int n = demoImages, side = Math.max(n / 4, 32);
            return new Splits.Split(new DemoChestDataset(n, demoSize, 1001), new DemoChestDataset(side, demoSize, 2002),
                new DemoChestDataset(side, demoSize, 3003));
        }
        Path root = Path.of(data);
        if (!Files.exists(root)) throw new DatasetException("data folder does not exist: " + root.toAbsolutePath()
            + " (give an image folder laid out as <class>/<images>, train/ and test/ folders, or split.csv; or --data demo)");
        if (!Files.isDirectory(root)) throw new DatasetException("--data must be a folder, but " + root + " is a file");
        Splits.Split s;
        if (csv()) {
            Map<String, ImageFileDataset> parts = ImageFileDataset.splitCsvParts(root.resolve("split.csv"), root);
            List<String> classes = parts.values().iterator().next().classes();
            ImageFileDataset none = new ImageFileDataset(classes, List.of(), root);
            Dataset train = groups(parts.getOrDefault("train", none)), test = groups(parts.getOrDefault("test", none));
            s = parts.containsKey("val") ? new Splits.Split(train, groups(parts.get("val")), test) : withCutVal(train, test);
        } else if (partFolders(root)) {
            ImageFileDataset test = part(root, "test"), val = part(root, "val"), train = part(root, "train");
            if (train == null) train = new ImageFileDataset((test != null ? test : val).classes(), List.of(), root);   // evaluate a test/ alone
            Dataset testPart = test != null ? test : train.subset(new int[0]);
            s = val != null ? new Splits.Split(train, val, testPart) : withCutVal(train, testPart);
        } else {
            ImageFileDataset all = groups(ImageFileDataset.folder(root));
            s = all.hasGroups() ? Splits.byGroup(all, valFraction, testFraction, splitSeed) : Splits.stratified(all, valFraction, testFraction, splitSeed);
        }
        checkLeakage(s);
        return s;
    }

    /**
     * Refuses an output folder ({@code option}'s {@code out}) that is the data folder or lies inside one of its folders
     * of images (a class folder, train/, split.csv's image folders): the files written there would be read as that
     * data's images, or make the folder read as Pulmo's output and left out, a class gone. A folder beside them for
     * runs (DATA/runs, new or holding runs already) is fine: it is never read as a class.
     */
    void checkOutputOutsideTheImages(Path out, String option) {
        if (isDemo()) return;
        Path root = Cli.onDisk(Path.of(data)), o = Cli.onDisk(out);
        if (!o.startsWith(root)) return;
        if (o.equals(root))
            throw new IllegalArgumentException(option + " " + out + " is the data folder " + data + " itself; give a folder outside it (or " + Path.of(data).resolve("runs") + ")");
        Path top = root.resolve(root.relativize(o).getName(0));
        if (Files.isDirectory(top) && !holdsPulmoOutput(top) && (!csv() || listsImagesIn(root, top)))
            throw new IllegalArgumentException(option + " " + out + " is inside " + top + ", a folder of the data set " + data + ": what is written there"
                + " would be read with its images; give a folder outside it (or " + Path.of(data).resolve("runs") + ")");
    }

    /** Whether split.csv lists an image inside {@code top}, a folder of the data folder {@code root} (paths read as the loader reads them). */
    private boolean listsImagesIn(Path root, Path top) {
        for (org.pulmo.data.Csv.Row r : org.pulmo.data.Csv.rows(Path.of(data).resolve("split.csv"))) {
            String path = r.fields().getOrDefault("path", "").strip();
            try {
                if (!path.isEmpty() && root.resolve(path).normalize().startsWith(top)) return true;
            } catch (java.nio.file.InvalidPathException e) {
                return true;   // the loader refuses such a row; until then, count it as the data's
            }
        }
        return false;
    }

    /** Whether {@code dir} holds Pulmo's own output ({@link org.pulmo.data.ImageFileDataset#holdsPulmoOutput}); unlistable: no. */
    private static boolean holdsPulmoOutput(Path dir) {
        try {
            return org.pulmo.data.ImageFileDataset.holdsPulmoOutput(dir);
        } catch (java.io.IOException e) {
            return false;
        }
    }

    /**
     * Whether {@code root} is laid out as parts: a {@code train/} folder, or only {@code val/} and {@code test/} folders
     * (a test set to evaluate on its own; any other folder beside them makes {@code root} a folder of classes).
     */
    private static boolean partFolders(Path root) {
        if (Files.isDirectory(root.resolve("train"))) return true;
        if (!Files.isDirectory(root.resolve("test")) && !Files.isDirectory(root.resolve("val"))) return false;
        try (var s = Files.list(root)) {
            return s.filter(Files::isDirectory).filter(p -> !p.getFileName().toString().startsWith(".")
                    && !p.getFileName().toString().equals(org.pulmo.data.ImageDecoder.MACOS_ARCHIVE_FOLDER))
                .allMatch(p -> p.getFileName().toString().equals("val") || p.getFileName().toString().equals("test")
                    || holdsPulmoOutput(p));   // runs/ beside them; val/ and test/ are parts by name, never walked for it
        } catch (java.io.IOException e) {
            throw new DatasetException("cannot list data folder " + root + ": " + org.pulmo.data.IoErrors.describe(e), e);
        }
    }

    /** {@code root/name/<class>/...}, or null where there is no such folder. */
    private ImageFileDataset part(Path root, String name) {
        return Files.isDirectory(root.resolve(name)) ? groups(ImageFileDataset.folder(root.resolve(name))) : null;
    }

    /** "test/ of D", "the test rows of D/split.csv" or "the test part of D": where a part comes from, for messages. */
    String where(String part) {
        if (part.equals("all")) return isDemo() ? "the demo data" : "every image of " + data;
        if (isDemo()) return "the demo " + part + " part";
        Path root = Path.of(data);
        if (csv()) return "the " + part + " rows of " + root.resolve("split.csv");
        if (partFolders(root) && Files.isDirectory(root.resolve(part))) return root.resolve(part) + "/";
        return "the " + part + " part of " + root;
    }

    private boolean csv() { return !isDemo() && Files.exists(Path.of(data).resolve("split.csv")); }

    private Splits.Split withCutVal(Dataset train, Dataset test) {
        if (train.size() == 0) return new Splits.Split(train, train, test);
        Splits.Split s = train.hasGroups() ? Splits.byGroup(train, valFraction, 0, splitSeed) : Splits.stratified(train, valFraction, 0, splitSeed);
        return new Splits.Split(s.train(), s.val(), test);
    }

    private void checkLeakage(Splits.Split s) {
        Map<String, List<Path>> parts = new LinkedHashMap<>();
        parts.put("train", files(s.train()));
        parts.put("val", files(s.val()));
        parts.put("test", files(s.test()));
        List<Leakage.Pair> pairs = Leakage.find(parts).pairs();
        if (pairs.isEmpty()) return;
        String what = pairs.size() + " image(s) are in two parts, first: " + pairs.getFirst()
            + "; validation and test numbers would count images the model trained on";
        if (!allowLeakage) throw new DatasetException(what + " (remove the copies, or pass --allow-leakage to go on)");
        System.err.println("warning: " + what);
    }

    private static List<Path> files(Dataset d) {
        List<Path> out = new ArrayList<>(d.size());
        for (int i = 0; i < d.size(); i++) out.add(Path.of(d.source(i)));
        return out;
    }

    private ImageFileDataset groups(ImageFileDataset d) {
        return groupPattern == null ? d : d.withGroups(groupIds());
    }

    /** The --group-pattern as GroupIds; a pattern that does not compile or has no capture group names the option. */
    GroupIds groupIds() {
        try {
            return GroupIds.fileNamePattern(groupPattern);
        } catch (PatternSyntaxException e) {
            throw new IllegalArgumentException("--group-pattern '" + groupPattern + "' is not a valid regular expression: "
                + e.getDescription() + (e.getIndex() >= 0 ? " at index " + e.getIndex() : ""), e);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("--group-pattern '" + groupPattern + "' needs one capture group, as in '^(person\\d+)_'", e);
        }
    }
}
