package org.pulmo.examples;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.atomic.AtomicInteger;
import org.pulmo.data.Dataset;
import org.pulmo.data.NearCopies;
import org.pulmo.data.PartDigest;
import org.pulmo.data.Splits;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code pulmo check-data --data DIR}: what a data set holds before a model is trained on it, split as {@code train}
 * would split it: images per part and class, files that cannot be read, and pictures that appear in two parts under
 * different bytes ({@link NearCopies}: one image saved twice, neighbouring CT slices of one patient), which inflate test
 * numbers the way identical files do, and the same picture under two labels. Identical files across parts are
 * reported too (train refuses them). {@code --out} writes the pairs as CSV.
 */
@Command(name = "check-data", mixinStandardHelpOptions = true, sortOptions = false,
    description = {"Check a data set as 'train' would split it: images per part and class, unreadable files, pictures in two parts.",
        "The same picture in two parts or under two labels is found as identical files and as near copies (one image saved",
        "twice, neighbouring CT slices)."})
public final class CheckDataCommand implements Callable<Integer> {
    /** Unreadable files named one a line; the count covers the rest. */
    static final int LISTED = 20;

    @Mixin DataOptions data;
    @Option(names = "--out", paramLabel = "FILE", description = "Also write the pairs found as CSV (path_a,part_a,path_b,part_b,how);"
        + " an existing file is refused unless --overwrite is given.") Path out;
    @Option(names = "--overwrite", description = "Replace the --out file if it exists.") boolean overwrite;
    @Option(names = "--parts-only", description = "Only the parts and their images per class (no image decoded, no pairs looked for): seconds.")
    boolean partsOnly;
    @Option(names = "--classes", paramLabel = "N", description = "Fail (exit code 2) unless the data has exactly N classes, e.g. 2 before"
        + " the runs of a binary task such as MA-Net's tables.") Integer classes;

    @Override public Integer call() throws Exception {
        if (classes != null && classes < 1) throw new IllegalArgumentException("--classes must be at least 1, got " + classes);
        if (partsOnly && out != null)
            throw new IllegalArgumentException("--out writes the pairs found, which --parts-only does not look for: give one of them");
        if (out != null) {
            Cli.checkNewFile(out, overwrite, "--out");
            data.checkOutputOutsideTheImages(out, "--out");   // a file there would be counted as one of its images
        }
        data.allowLeakage = true;   // identical files across parts are reported here, not refused
        Splits.Split s = data.loadParts(224);
        Map<String, Dataset> parts = new LinkedHashMap<>();
        parts.put("train", s.train());
        if (s.val().size() > 0) parts.put("val", s.val());
        if (s.test().size() > 0) parts.put("test", s.test());
        Path root = data.root();
        System.out.println("Data: " + (data.isDemo() ? "the demo data" : root));
        for (var e : parts.entrySet()) {
            Dataset d = e.getValue();
            StringBuilder counts = new StringBuilder();
            int[] n = d.classCounts();
            for (int k = 0; k < n.length; k++) counts.append(k == 0 ? "" : ", ").append(d.classes().get(k)).append(' ').append(n[k]);
            System.out.printf(Locale.ROOT, "  %-5s %s (%s)%n", e.getKey(), PartDigest.of(d, root), counts);
        }
        List<String> names0 = s.train().classes();
        if (classes != null && names0.size() != classes) {
            System.err.println("pulmo check-data: " + (data.isDemo() ? "the demo data" : root) + " has " + names0.size() + " classes "
                + names0 + ", not the " + classes + " of --classes");
            return 2;
        }
        if (partsOnly) return 0;

        int total = parts.values().stream().mapToInt(Dataset::size).sum();
        AtomicInteger done = new AtomicInteger();
        Map<String, NearCopies.Print[]> prints = new LinkedHashMap<>();
        List<String> unreadable = new ArrayList<>(), odd = new ArrayList<>();
        for (var e : parts.entrySet()) {
            NearCopies.Print[] p = NearCopies.prints(e.getValue(), () -> {
                int k = done.incrementAndGet();
                if (k % 500 == 0 || k == total) System.out.printf(Locale.ROOT, "  looked at %d of %d images%n", k, total);
            });
            for (int i = 0; i < p.length; i++) {
                if (p[i] == null) unreadable.add(e.getValue().source(i));
                else if (p[i].oddSize()) odd.add(e.getValue().source(i) + " (" + p[i].width() + " x " + p[i].height() + ")");
            }
            prints.put(e.getKey(), p);
        }

        List<Found> rows = new ArrayList<>();
        List<String> names = new ArrayList<>(parts.keySet());
        int across = 0, labels = 0;
        for (int x = 0; x < names.size(); x++)
            for (int y = x + 1; y < names.size(); y++) {
                Dataset a = parts.get(names.get(x)), b = parts.get(names.get(y));
                for (NearCopies.Pair p : NearCopies.across(prints.get(names.get(x)), prints.get(names.get(y)))) {
                    rows.add(new Found(PartDigest.relative(a.source(p.a()), root), names.get(x), PartDigest.relative(b.source(p.b()), root), names.get(y), p.how()));
                    across++;
                }
            }
        for (String name : names) {   // within a part: only pictures under two labels matter
            Dataset d = parts.get(name);
            for (NearCopies.Pair p : NearCopies.within(prints.get(name), (i, j) -> d.label(i) != d.label(j))) {
                rows.add(new Found(PartDigest.relative(d.source(p.a()), root), name, PartDigest.relative(d.source(p.b()), root), name, p.how() + ", labels "
                    + d.classes().get(d.label(p.a())) + " and " + d.classes().get(d.label(p.b()))));
                labels++;
            }
        }
        if (!unreadable.isEmpty()) {   // each named, as they are to be mended or removed one by one
            System.out.println("Unreadable: " + unreadable.size() + " file(s) (train skips them; --strict stops on them):");
            unreadable.stream().limit(LISTED).forEach(f -> System.out.println("  " + f));
            if (unreadable.size() > LISTED) System.out.println("  ... and " + (unreadable.size() - LISTED) + " more");
        }
        if (!odd.isEmpty())
            System.out.println("Odd sizes: " + odd.size() + " image(s) under 32 pixels a side or over 10 times longer than wide, first " + odd.getFirst()
                + " (each is resized to the model's square input all the same)");
        System.out.printf(Locale.ROOT, "Same picture in two parts: %d pair(s)%s%n", across,
            across == 0 ? "" : "; test and validation numbers count pictures the model trained on (put both of a pair in one part, or split by patient: --group-pattern)");
        System.out.printf(Locale.ROOT, "Same picture under two labels: %d pair(s)%n", labels);
        for (Found f : rows.subList(0, Math.min(rows.size(), 20)))
            System.out.println("  " + f.a() + " (" + f.partA() + ") ~ " + f.b() + " (" + f.partB() + "): " + f.how());
        if (rows.size() > 20) System.out.println("  ... " + (rows.size() - 20) + " more" + (out == null ? " (--out FILE writes them all)" : ""));
        if (out != null) {
            StringBuilder csv = new StringBuilder("path_a,part_a,path_b,part_b,how\n");
            for (Found f : rows)
                csv.append(csvField(f.a())).append(',').append(f.partA()).append(',').append(csvField(f.b())).append(',').append(f.partB()).append(',')
                    .append(csvField(f.how())).append('\n');
            Cli.write(out, f -> org.pulmo.io.AtomicFiles.writeString(f, csv));
            System.out.println("Written to " + out);
        }
        if (data.strict && !unreadable.isEmpty()) {   // the check's own verdict: what train --strict would stop on
            System.err.println("pulmo check-data: " + unreadable.size() + " unreadable file(s), first " + unreadable.getFirst() + " (--strict)");
            return 2;
        }
        return 0;
    }

    /** A pair found: both files (relative to the data folder), their parts, and how they were matched. */
    private record Found(String a, String partA, String b, String partB, String how) {}


    private static String csvField(String s) {
        return s.contains(",") || s.contains("\"") ? '"' + s.replace("\"", "\"\"") + '"' : s;
    }
}
