package org.pulmo.examples;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.PatternSyntaxException;
import org.pulmo.data.Dataset;
import org.pulmo.data.DatasetException;
import org.pulmo.data.DemoChestDataset;
import org.pulmo.data.GroupIds;
import org.pulmo.data.ImageFileDataset;
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

    boolean isDemo() { return data.equalsIgnoreCase("demo"); }

    /** The three parts at a demo image size of {@code demoSize} (ignored for folders). */
    Splits.Split load(int demoSize) {
        if (isDemo()) {
            int n = Math.max(demoImages, 8), side = Math.max(n / 4, 32);
            return new Splits.Split(new DemoChestDataset(n, demoSize, 1001), new DemoChestDataset(side, demoSize, 2002),
                new DemoChestDataset(side, demoSize, 3003));
        }
        Path root = Path.of(data);
        if (!Files.exists(root)) throw new DatasetException("data folder does not exist: " + root.toAbsolutePath()
            + " (give an image folder laid out as <class>/<images>, train/ and test/ folders, or split.csv; or --data demo)");
        if (!Files.isDirectory(root)) throw new DatasetException("--data must be a folder, but " + root + " is a file");
        if (Files.exists(root.resolve("split.csv"))) {
            ImageFileDataset train = groups(ImageFileDataset.splitCsv(root, "train"));
            Dataset test = groups(ImageFileDataset.splitCsv(root, "test"));
            Dataset val;
            try {
                val = groups(ImageFileDataset.splitCsv(root, "val"));
            } catch (DatasetException noVal) {
                Splits.Split s = cut(train);
                return new Splits.Split(s.train(), s.val(), test);
            }
            return new Splits.Split(train, val, test);
        }
        if (Files.isDirectory(root.resolve("train"))) {
            ImageFileDataset train = groups(ImageFileDataset.folder(root.resolve("train")));
            List<String> classes = train.classes();
            Dataset test = Files.isDirectory(root.resolve("test")) ? groups(ImageFileDataset.folder(root.resolve("test"), classes)) : train.subset(new int[0]);
            if (Files.isDirectory(root.resolve("val"))) return new Splits.Split(train, groups(ImageFileDataset.folder(root.resolve("val"), classes)), test);
            Splits.Split s = cut(train);
            return new Splits.Split(s.train(), s.val(), test);
        }
        ImageFileDataset all = groups(ImageFileDataset.folder(root));
        return all.hasGroups() ? Splits.byGroup(all, valFraction, testFraction, splitSeed) : Splits.stratified(all, valFraction, testFraction, splitSeed);
    }

    private Splits.Split cut(Dataset train) {
        return train.hasGroups() ? Splits.byGroup(train, valFraction, 0, splitSeed) : Splits.stratified(train, valFraction, 0, splitSeed);
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
