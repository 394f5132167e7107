package org.pulmo.examples;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.PatternSyntaxException;
import org.pulmo.data.ClassMap;
import org.pulmo.data.Dataset;
import org.pulmo.data.DatasetException;
import org.pulmo.data.DemoChestDataset;
import org.pulmo.data.GroupIds;
import org.pulmo.data.ImageFileDataset;
import org.pulmo.data.Leakage;
import org.pulmo.data.Splits;
import picocli.CommandLine.Option;

/**
 * Where the images come from (shared by train, evaluate and explain). {@code --data demo} is the built-in
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
    @Option(names = "--data", defaultValue = "demo", description = "An image folder, or 'demo' for the built-in synthetic chest images (default: ${DEFAULT-VALUE}).")
    String data;

    @Option(names = "--demo-images", defaultValue = "384", description = "Demo training images (validation and test: a quarter each; default: ${DEFAULT-VALUE}).")
    int demoImages;

    @Option(names = "--val-fraction", defaultValue = "0.1", description = "Share of the training images held out for validation when the folder has no validation part (default: ${DEFAULT-VALUE}).")
    double valFraction;

    @Option(names = "--test-fraction", defaultValue = "0.2", description = "Share held out for testing when the folder has no split at all (default: ${DEFAULT-VALUE}).")
    double testFraction;

    @Option(names = "--group-pattern", description = "Regex with one capture group that takes a patient id from each file name; enables patient-level splits and metrics.")
    String groupPattern;

    @Option(names = "--split-seed", defaultValue = "7", description = "Seed of the stratified split (default: ${DEFAULT-VALUE}).")
    long splitSeed;

    @Option(names = "--strict", description = "Stop at the first unreadable image instead of skipping it.")
    boolean strict;

    @Option(names = "--allow-leakage", description = "Go on (with a warning) when the same image is in two parts (train and test, ...); by default that is an error.")
    boolean allowLeakage;

    boolean isDemo() { return data.equalsIgnoreCase("demo"); }

    /**
     * The three parts at a demo image size of {@code demoSize} (ignored for folders), validation and test put
     * onto the training part's classes by name. A validation or test part may lack a class (a warning names
     * it); a class the training part lacks is an error.
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
        List<String> noVal = ClassMap.missing(val);
        if (val.size() > 0 && !noVal.isEmpty())
            System.err.println("warning: no validation image of class " + ClassMap.quotedNames(noVal) + " in " + where("val")
                + "; the given validation images are kept, and validation accuracy covers the other classes");
        return new Splits.Split(train, val, test);
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
            int n = Math.max(demoImages, 8), side = Math.max(n / 4, 32);
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
        } else if (Files.isDirectory(root.resolve("train"))) {
            ImageFileDataset train = groups(ImageFileDataset.folder(root.resolve("train")));
            Dataset test = Files.isDirectory(root.resolve("test")) ? groups(ImageFileDataset.folder(root.resolve("test"))) : train.subset(new int[0]);
            s = Files.isDirectory(root.resolve("val")) ? new Splits.Split(train, groups(ImageFileDataset.folder(root.resolve("val"))), test)
                : withCutVal(train, test);
        } else {
            ImageFileDataset all = groups(ImageFileDataset.folder(root));
            s = all.hasGroups() ? Splits.byGroup(all, valFraction, testFraction, splitSeed) : Splits.stratified(all, valFraction, testFraction, splitSeed);
        }
        checkLeakage(s);
        return s;
    }

    /** "test/ of D", "the test rows of D/split.csv" or "the test part of D": where a part comes from, for messages. */
    String where(String part) {
        if (isDemo()) return "the demo " + part + " part";
        Path root = Path.of(data);
        if (csv()) return "the " + part + " rows of " + root.resolve("split.csv");
        if (Files.isDirectory(root.resolve("train")) && Files.isDirectory(root.resolve(part))) return root.resolve(part) + "/";
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
