package org.pulmo.examples;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import com.google.gson.JsonObject;
import com.google.gson.JsonPrimitive;
import org.pulmo.metrics.ClassificationReport;
import org.pulmo.metrics.Intervals;
import org.pulmo.train.RunRecord;
import org.pulmo.train.StrictJson;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code pulmo table --row "DPN-92=runs/dpn92/test" ...}: one results table in a paper's layout from the
 * {@code metrics.json} files that {@code evaluate} wrote. {@code --binary} takes the positive class's numbers
 * (MA-Net, Tables 7-8); {@code --positive} one class's against the rest (DPN-SENet's Table 1: COVID-19); otherwise the
 * macro averages. Where a row's folder is the
 * {@code test/} report of a {@code pulmo train} run, a second table says how each row was trained, from the run's
 * {@code run.json}: epochs, best epoch, seed, wall time, images per second, peak device memory, the device and the
 * Pulmo commit. Each row's accuracy comes with its 95 % interval, and where the rows' folders hold the
 * {@code predictions.csv} of the same test images, a third table compares every pair of rows image by image
 * (McNemar's exact test, {@link Paired}). Rows that share a label are runs of one configuration with other seeds:
 * each is shown with its seed, a table gives each label's mean and standard deviation over its runs, another the
 * accuracy differences between two labels seed by seed, and runs are compared image by image only with the other
 * labels' run of the same seed. Printed as Markdown, and written with {@code --out}.
 */
@Command(name = "table", mixinStandardHelpOptions = true, description = "Collect evaluate results (metrics.json) into one table in a paper's layout.")
public final class TableCommand implements Callable<Integer> {
    @Option(names = "--row", required = true, description = "LABEL=FOLDER with metrics.json; repeat, in table order. Rows of the same LABEL are runs of one configuration (other seeds): each is shown with its seed and the label's runs are summarised (mean, standard deviation, seed-by-seed differences).") List<String> rows;
    @Option(names = "--title", defaultValue = "Results", description = "Table caption.") String title;
    @Option(names = "--binary", description = "Positive-class numbers (binary task) instead of macro averages.") boolean binary;
    @Option(names = "--positive", paramLabel = "CLASS", description = "Precision, recall, specificity, F1 and AUC of CLASS against the"
        + " other classes instead of macro averages (the accuracy stays over all classes), as the DPN-SENet paper's Table 1 counts COVID-19"
        + " as positive and the rest as negative; 'auto': the first class named like COVID (not non-COVID), else the last.") String positive;
    @Option(names = "--out", description = "Also write the table to this file (an existing file is refused unless --overwrite is given).") Path out;
    @Option(names = "--overwrite", description = "Replace the --out file if it exists.") boolean overwrite;

    /** One --row: its label, its evaluate result, its classes and, where it is a training run's report, the run's record. */
    record Entry(String label, Path folder, Map<String, Double> metrics, List<String> classes, RunRecord.Reading run, String split) {
        String seed() { return run == null ? "n/a" : run.seed(); }
    }

    @Override public Integer call() throws Exception {
        if (out != null) Cli.checkNewFile(out, overwrite, "--out");
        if (binary && positive != null) throw new IllegalArgumentException("--binary and --positive: give one (--binary takes evaluate's positive class of two)");
        List<Entry> entries = new java.util.ArrayList<>();
        java.util.Map<Path, String> folders = new java.util.HashMap<>();   // one folder however it is spelt (runs/x, ./runs/x/, a link)
        for (String row : rows) {
            Entry e = entry(row, entries.isEmpty() ? null : entries.getFirst());
            String before = folders.put(Cli.onDisk(e.folder()), row);
            if (before != null)
                throw new IllegalArgumentException("--row " + row + (before.equals(row) ? " is given twice" : " names the folder of --row " + before) + "; each run counts once");
            entries.add(e);
        }
        // Departure: DPN-SENet's Table 1 counts COVID-19 against the rest (--positive auto); the default is macro averages.
        String p = binary ? "binary_" : positive != null ? positiveClass(entries.getFirst().classes()) + "_" : "macro_";
        // Rows of one label are runs of one configuration (other seeds): each is shown with its seed, and summarised below.
        Map<String, List<Entry>> byLabel = new LinkedHashMap<>();
        for (Entry e : entries) byLabel.computeIfAbsent(e.label(), k -> new java.util.ArrayList<>()).add(e);
        boolean repeated = byLabel.values().stream().anyMatch(l -> l.size() > 1);
        // A run is matched with other labels' runs by its seed, where its run.json names one that no other run of its label
        // has (key "seed S"); else it is only numbered within its label ("run N") and matched with none.
        List<String> names = new java.util.ArrayList<>(), keys = new java.util.ArrayList<>();
        Map<String, Integer> ordinal = new java.util.HashMap<>();
        for (Entry e : entries) {
            List<Entry> same = byLabel.get(e.label());
            int n = ordinal.merge(e.label(), 1, Integer::sum);
            boolean seedTellsApart = !e.seed().equals("n/a") && same.stream().filter(o -> o.seed().equals(e.seed())).count() == 1;
            String key = seedTellsApart ? "seed " + e.seed() : "run " + n;
            keys.add(key);
            names.add(same.size() > 1 ? e.label() + " (" + key + ")" : e.label());
        }
        // which part the rows score: one caption for all, or, where they differ, each row that is not of the test part says its own
        List<String> parts = entries.stream().map(Entry::split).distinct().toList();
        if (parts.size() > 1)
            for (int i = 0; i < entries.size(); i++)
                if (!entries.get(i).split().equals("test")) names.set(i, names.get(i) + " [" + entries.get(i).split() + " part]");
        String scored = parts.size() > 1 ? "test set but where a row says otherwise" : switch (parts.getFirst()) {
            case "test" -> "test set";
            case "all" -> "every image of the folders";
            default -> parts.getFirst() + " part, not the test set";
        };
        String columns = binary ? "class " + binaryClass(entries) + "'s numbers, the positive class of evaluate's binary line"
            : positive != null ? "class " + p.substring(0, p.length() - 1) + " against the other classes" : "macro averages over the classes";
        StringBuilder sb = new StringBuilder("**" + title + "** (" + scored + ", %; accuracy over all classes, the other columns " + columns + ")\n\n")
            .append("| Model | Accuracy | Precision | Recall (sensitivity) | Specificity | F1 | AUC | Accuracy, 95 % CI |\n|---|---:|---:|---:|---:|---:|---:|---:|\n");
        StringBuilder runs = new StringBuilder();
        List<Paired.Outcomes> outcomes = new java.util.ArrayList<>();
        for (int i = 0; i < entries.size(); i++) {
            Entry e = entries.get(i);
            sb.append("| ").append(names.get(i));
            for (String k : List.of("accuracy", p + "precision", p + "recall", p + "specificity", p + "f1", p + "auc"))
                sb.append(" | ").append(percent(e.metrics().get(k)));
            sb.append(" | ").append(accuracyInterval(e.metrics(), e.classes()).percent()).append(" |\n");
            outcomes.add(Paired.Outcomes.of(names.get(i), e.folder().resolve("predictions.csv")));
            if (e.run() != null) runs.append(runRow(names.get(i), e.run()));
        }
        sb.append("\nThe interval is Wilson's over the images scored (sampling of the test set only; another seed or split moves the\n"
            + "numbers too).\n");
        if (repeated) sb.append(acrossRuns(byLabel, p)).append(seedBySeed(entries, keys));
        // with several runs a label, runs are compared image by image only with the other labels' run of the same seed
        sb.append(repeated
            ? Paired.table(outcomes, (i, j) -> !entries.get(i).label().equals(entries.get(j).label()) && keys.get(i).startsWith("seed ")
                && keys.get(i).equals(keys.get(j)), "every pair of rows of different labels and the same seed",
                "no run of another label with its seed (or no seed of its own in a run.json)")
            : Paired.table(outcomes, (i, j) -> true, "every pair of rows", ""));
        if (!runs.isEmpty())
            sb.append("\nHow each row was trained (run.json beside its report):\n\n")
                .append("| Model | Epochs | Best epoch | Seed | Wall time | Images/s | Peak device memory | Backend | Pulmo |\n")
                .append("|---|---:|---:|---:|---:|---:|---:|---|---|\n").append(runs);
        System.out.print(sb);
        if (out != null) Cli.write(out, f -> org.pulmo.io.AtomicFiles.writeString(f, sb));
        return 0;
    }

    /**
     * The class every row's binary figures are about: the one whose own precision and recall its metrics.json repeats as
     * binary_precision and binary_recall (evaluate's choice when it wrote the file), else the class evaluate names like
     * COVID now. Rows about different classes are refused: their columns would not count the same thing.
     */
    static String binaryClass(List<Entry> entries) {
        Map<String, String> byRow = new LinkedHashMap<>();
        for (Entry e : entries) {
            List<String> cs = e.classes();
            String c = cs.get(ClassificationReport.defaultPositiveClass(cs));
            if (!repeatsBinary(e.metrics(), c)) c = cs.stream().filter(k -> repeatsBinary(e.metrics(), k)).findFirst().orElse(c);
            byRow.put(e.label() + " (" + e.folder() + ")", c);
        }
        if (byRow.values().stream().distinct().count() > 1)
            throw new IllegalArgumentException("--binary: the rows' positive classes differ (" + byRow.entrySet().stream()
                .map(x -> x.getKey() + ": " + x.getValue()).collect(java.util.stream.Collectors.joining(", ")) + "); --positive CLASS counts one class for all");
        return byRow.values().iterator().next();
    }

    private static boolean repeatsBinary(Map<String, Double> m, String c) {
        return m.get("binary_precision") != null && m.get("binary_precision").equals(m.get(c + "_precision"))
            && m.get("binary_recall") != null && m.get("binary_recall").equals(m.get(c + "_recall"));
    }

    /** The class --positive names, among the rows' classes ('auto': {@link ClassificationReport#defaultPositiveClass}). */
    private String positiveClass(List<String> classes) {
        if (positive.equalsIgnoreCase("auto")) return classes.get(ClassificationReport.defaultPositiveClass(classes));
        if (classes.contains(positive)) return positive;
        List<String> alike = classes.stream().filter(positive::equalsIgnoreCase).toList();   // --positive COVID for a class covid
        if (alike.size() == 1) return alike.getFirst();
        throw new IllegalArgumentException("--positive " + positive + ": the rows' classes are " + classes + " (or 'auto': the class named like COVID)");
    }

    /** A parser's message, which may quote the whole file, cut to its first 120 characters. */
    private static String abbreviated(String s) { return s.length() <= 120 ? s : s.substring(0, 117) + "..."; }

    /** What to do with a training run's folder given as a row: evaluate its best checkpoint on its own data (run.json's). */
    private static String runFolderHint(Path folder) {
        Path best = folder.resolve("best.safetensors");
        String data = "DATA";
        try {
            data = StrictJson.parse(Files.readString(folder.resolve(RunRecord.FILE))).getAsJsonObject().getAsJsonObject("data").get("source").getAsString();
        } catch (java.io.IOException | RuntimeException unknown) {
            // no readable record: the user names the data
        }
        return "; " + folder + " is a training run's folder" + (Files.exists(folder.resolve("metrics.json")) ? ", whose metrics.json holds its per-epoch curves" : "")
            + (Files.exists(best) ? ": evaluate its best checkpoint ('pulmo evaluate -c " + best + " --data " + data + "') and give that report's folder"
                : ", with no best.safetensors to evaluate");
    }

    /** Reads one --row; a row whose classes differ from the first row's, or that lacks what --binary needs, is refused. */
    private Entry entry(String row, Entry first) throws java.io.IOException {
        int eq = row.indexOf('=');
        if (eq < 0) throw new IllegalArgumentException("--row must be LABEL=FOLDER, got '" + row + "'");
        Path folder = Path.of(row.substring(eq + 1)), json = folder.resolve("metrics.json");
        // a training run's folder holds its per-epoch metrics.json; its evaluation is in test/
        String hint = Files.exists(folder.resolve("test").resolve("metrics.json")) ? "; did you mean " + folder.resolve("test") + ", the run's test report?"
            : org.pulmo.train.RunFolder.isTrainingRun(folder) ? runFolderHint(folder) : "";
        if (!Files.exists(json) && EvaluateCommand.unfinishedEvaluation(folder))
            throw new IllegalArgumentException("no " + json + ": the evaluation in " + folder + " was stopped before its end (metrics.json is written"
                + " last); run 'pulmo evaluate' with --out " + folder + " again, which replaces what it left");
        if (!Files.exists(json)) throw new IllegalArgumentException("no " + json + " (run 'pulmo evaluate' for that row first)" + hint);
        if (Files.isDirectory(json)) throw new IllegalArgumentException(json + " is a folder, not the file 'pulmo evaluate' writes");
        JsonObject o;
        try {
            o = StrictJson.parse(Files.readString(json)).getAsJsonObject();
        } catch (java.nio.charset.CharacterCodingException e) {
            throw new IllegalArgumentException(json + " is not UTF-8 text (a damaged file?), so not what 'pulmo evaluate' writes");
        } catch (com.google.gson.JsonParseException | IllegalStateException e) {
            throw new IllegalArgumentException(json + " is not what 'pulmo evaluate' writes (an object of test metrics)"
                + (hint.isEmpty() ? ": " + abbreviated(Cli.oneLine(String.valueOf(e.getMessage()))) : hint));
        }
        Map<String, Double> m = read(o);
        for (var e : m.entrySet()) {   // every figure evaluate writes is a share from 0 to 1, or a count of images
            double v = e.getValue();
            boolean count = e.getKey().endsWith("_support");
            if (!Double.isNaN(v) && (count ? !(v >= 0 && v == Math.rint(v)) : !(v >= 0 && v <= 1)))
                throw new IllegalArgumentException(json + ": '" + e.getKey() + "' is " + v + ", not " + (count ? "a count of images" : "a share from 0 to 1")
                    + ", so not what 'pulmo evaluate' writes (an edited or damaged file?)");
        }
        // Rows are comparable only over the same classes; a binary row needs evaluate's binary_* numbers.
        List<String> classes = classes(m);
        if (classes.isEmpty()) throw new IllegalArgumentException(json + " names no classes (no <class>_support figures): not what 'pulmo evaluate' writes" + hint);
        for (String c : classes)
            if (ClassificationReport.RESERVED_CLASS_NAMES.contains(c))
                throw new IllegalArgumentException(json + " has a class named '" + c + "', whose figures cannot be told from the " + c
                    + "_* ones; rename the class folder and evaluate again");
        if (first != null && !classes.equals(first.classes()))
            throw new IllegalArgumentException(json + " has classes " + classes + " but " + first.folder().resolve("metrics.json") + " has "
                + first.classes() + "; one table compares models on the same classes");
        if (binary && !m.containsKey("binary_precision"))
            throw new IllegalArgumentException("--binary: " + json + " has no positive-class numbers (" + classes.size()
                + " classes " + classes + "; evaluate writes binary_* for two classes only)");
        Path record = folder.toAbsolutePath().normalize().resolveSibling(RunRecord.FILE);
        return new Entry(row.substring(0, eq), folder, m, classes, Files.exists(record) ? RunRecord.Reading.of(record) : null, split(o));
    }

    /**
     * One line per label: its runs' mean and sample standard deviation of each column of the table above (accuracy,
     * precision, recall, specificity, F1, AUC), and the lowest and highest accuracy. Seeds move a small data set's numbers
     * by several points; this says by how much.
     */
    static String acrossRuns(Map<String, List<Entry>> byLabel, String p) {
        StringBuilder sb = new StringBuilder("\nAcross runs (rows of one label: mean ± standard deviation over its runs, n - 1; how far training with\n"
            + "another seed moves the numbers on the same test images, which the interval above does not count):\n\n"
            + "| Model | Runs | Seeds | Accuracy | Lowest-highest accuracy | Precision | Recall (sensitivity) | Specificity | F1 | AUC |\n"
            + "|---|---:|---|---:|---:|---:|---:|---:|---:|---:|\n");
        for (var g : byLabel.entrySet()) {
            List<Entry> runs = g.getValue();
            double[] acc = values(runs, "accuracy");
            sb.append("| ").append(g.getKey()).append(" | ").append(runs.size()).append(" | ")
                .append(String.join(", ", runs.stream().map(Entry::seed).toList())).append(" | ").append(meanSd(acc)).append(" | ")
                .append(percent(java.util.Arrays.stream(acc).min().orElse(Double.NaN))).append("-")
                .append(percent(java.util.Arrays.stream(acc).max().orElse(Double.NaN)));
            for (String k : List.of("precision", "recall", "specificity", "f1", "auc")) sb.append(" | ").append(meanSd(values(runs, p + k)));
            sb.append(" |\n");
        }
        return sb.toString();
    }

    /**
     * Every two labels with runs of at least two seeds in common: the first's accuracy minus the second's, seed by
     * seed, their mean, and on how many seeds the first is ahead, level and behind. A difference that keeps its sign over seeds is
     * more than one lucky initialisation; its size is still read against the test set's interval.
     */
    static String seedBySeed(List<Entry> entries, List<String> keys) {
        List<String> labels = entries.stream().map(Entry::label).distinct().toList();
        StringBuilder sb = new StringBuilder();
        for (int a = 0; a < labels.size(); a++)
            for (int b = a + 1; b < labels.size(); b++) {
                List<String> common = new java.util.ArrayList<>();
                List<Double> diffs = new java.util.ArrayList<>();
                for (int i = 0; i < entries.size(); i++) {
                    if (!entries.get(i).label().equals(labels.get(a))) continue;
                    for (int j = 0; j < entries.size(); j++)
                        if (entries.get(j).label().equals(labels.get(b)) && keys.get(i).startsWith("seed ") && keys.get(j).equals(keys.get(i))) {
                            common.add(keys.get(i));
                            diffs.add(100 * (entries.get(i).metrics().getOrDefault("accuracy", Double.NaN)
                                - entries.get(j).metrics().getOrDefault("accuracy", Double.NaN)));
                        }
                }
                if (common.size() < 2) continue;
                double mean = diffs.stream().mapToDouble(Double::doubleValue).average().orElse(Double.NaN);
                sb.append("| ").append(labels.get(a)).append(" vs ").append(labels.get(b)).append(" | ")
                    .append(String.join(", ", common)).append(" | ")
                    .append(String.join(", ", diffs.stream().map(d -> String.format(Locale.ROOT, "%+.2f", d)).toList())).append(" | ")
                    .append(String.format(Locale.ROOT, "%+.2f", mean)).append(" | ")
                    .append(diffs.stream().filter(d -> d > 0).count()).append(" / ").append(diffs.stream().filter(d -> d == 0).count())
                    .append(" / ").append(diffs.stream().filter(d -> d < 0).count()).append(" |\n");
            }
        return sb.isEmpty() ? "" : "\nSeed by seed: the first label's accuracy minus the second's, in points, for runs of the same seed:\n\n"
            + "| Labels | Runs in common | Difference per run | Mean | First ahead / level / behind |\n|---|---|---:|---:|---:|\n" + sb;
    }

    private static double[] values(List<Entry> runs, String key) {
        return runs.stream().mapToDouble(e -> e.metrics().getOrDefault(key, Double.NaN)).toArray();
    }

    /** "mean ± sd" in %, the sample standard deviation (n - 1); "n/a" where a run lacks the figure or there is one run. */
    static String meanSd(double[] v) {
        double mean = java.util.Arrays.stream(v).average().orElse(Double.NaN);
        if (v.length < 2 || Double.isNaN(mean)) return v.length == 1 ? percent(v[0]) + " ± n/a" : "n/a";
        double ss = 0;
        for (double x : v) ss += (x - mean) * (x - mean);
        return String.format(Locale.ROOT, "%.2f ± %.2f", 100 * mean, 100 * Math.sqrt(ss / (v.length - 1)));
    }

    /** A fraction as % with two decimals, "n/a" for a missing or NaN figure. */
    static String percent(Double v) {
        return v == null || v.isNaN() ? "n/a" : String.format(Locale.ROOT, "%.2f", 100 * v);
    }

    /**
     * Wilson's 95 % interval of a row's accuracy, from its accuracy and its class supports (so also for metrics.json
     * files written before evaluate stored the interval).
     */
    static Intervals.Interval accuracyInterval(Map<String, Double> m, List<String> classes) {
        Double acc = m.get("accuracy");
        double total = 0;
        for (String c : classes) total += m.getOrDefault(c + "_support", Double.NaN);
        if (acc == null || acc.isNaN() || !(total > 0)) return Intervals.Interval.UNDEFINED;
        long n = Math.round(total);
        return Intervals.wilson(Math.clamp(Math.round(acc * n), 0, n), n);
    }

    /** The class names of an evaluate result, in its order: the {@code <class>_support} keys. */
    static List<String> classes(Map<String, Double> metrics) {
        return metrics.keySet().stream().filter(k -> k.endsWith("_support")).map(k -> k.substring(0, k.length() - "_support".length())).toList();
    }

    /** The part evaluate scored ("test", "val", "train", "all"; its "split"), "test" for files written before it said. */
    static String split(JsonObject metrics) {
        var s = metrics.get("split");
        return s instanceof JsonPrimitive p && p.isString() ? p.getAsString() : "test";
    }

    /** The flat {"name": number} objects that evaluate writes (null: NaN). */
    static Map<String, Double> read(String json) { return read(StrictJson.parse(json).getAsJsonObject()); }

    static Map<String, Double> read(JsonObject metrics) {
        Map<String, Double> m = new LinkedHashMap<>();
        for (var e : metrics.entrySet())
            if (e.getValue().isJsonNull()) m.put(e.getKey(), Double.NaN);
            else if (e.getValue() instanceof JsonPrimitive p && p.isNumber()) m.put(e.getKey(), p.getAsDouble());
        return m;
    }

    /** One row of the second table from a run's run.json; unknown figures are "n/a". */
    static String runRow(String label, RunRecord.Reading r) {
        String epochs = r.epochsDone() + " of " + r.epochsPlanned() + (r.status().equals("finished") ? "" : " (" + r.status() + ")");
        return "| " + label + " | " + epochs + " | " + r.bestEpoch() + " | " + r.seed() + " | "
            + (Double.isNaN(r.wallSeconds()) ? "n/a" : RunRecord.clock(r.wallSeconds())) + " | "
            + (Double.isNaN(r.imagesPerS()) ? "n/a" : String.format(Locale.ROOT, "%.1f", r.imagesPerS())) + " | "
            + (Double.isNaN(r.devicePeakMib()) ? "n/a" : String.format(Locale.ROOT, "%.2f GiB", r.devicePeakMib() / 1024)) + " | "
            + r.backend() + " | " + r.commit() + (r.uncommittedChanges() ? " (modified)" : "") + " |\n";
    }
}
