package org.pulmo.examples;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import com.google.gson.JsonParser;
import com.google.gson.JsonPrimitive;
import org.pulmo.metrics.Intervals;
import org.pulmo.train.RunRecord;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code pulmo table --row "DPN-92=runs/dpn92/test" ...}: one results table in a paper's layout from the
 * {@code metrics.json} files that {@code evaluate} wrote. {@code --binary} takes the positive class's numbers
 * (MA-Net, Tables 7-8); otherwise the macro averages (DPN-SENet, Tables 1-3). Where a row's folder is the
 * {@code test/} report of a {@code pulmo train} run, a second table says how each row was trained, from the run's
 * {@code run.json}: epochs, best epoch, seed, wall time, images per second, peak device memory, the device and the
 * Pulmo commit. Each row's accuracy comes with its 95 % interval, and where the rows' folders hold the
 * {@code predictions.csv} of the same test images, a third table compares every pair of rows image by image
 * (McNemar's exact test, {@link Paired}). Printed as Markdown, and written with {@code --out}.
 */
@Command(name = "table", mixinStandardHelpOptions = true, description = "Collect evaluate results (metrics.json) into one table in a paper's layout.")
public final class TableCommand implements Callable<Integer> {
    @Option(names = "--row", required = true, description = "LABEL=FOLDER with metrics.json; repeat, in table order.") List<String> rows;
    @Option(names = "--title", defaultValue = "Results", description = "Table caption.") String title;
    @Option(names = "--binary", description = "Positive-class numbers (binary task) instead of macro averages.") boolean binary;
    @Option(names = "--out", description = "Also write the table to this file (an existing file is refused unless --overwrite is given).") Path out;
    @Option(names = "--overwrite", description = "Replace the --out file if it exists.") boolean overwrite;

    @Override public Integer call() throws Exception {
        if (out != null) Cli.checkNewFile(out, overwrite, "--out");
        String p = binary ? "binary_" : "macro_";
        StringBuilder sb = new StringBuilder("**" + title + "** (test set, %)\n\n")
            .append("| Model | Accuracy | Precision | Recall (sensitivity) | Specificity | F1 | AUC | Accuracy, 95 % CI |\n|---|---:|---:|---:|---:|---:|---:|---:|\n");
        List<String> firstClasses = null;
        String firstJson = null;
        StringBuilder runs = new StringBuilder();
        List<Paired.Outcomes> outcomes = new java.util.ArrayList<>();
        for (String row : rows) {
            int eq = row.lastIndexOf('=');
            if (eq < 0) throw new IllegalArgumentException("--row must be LABEL=FOLDER, got '" + row + "'");
            Path folder = Path.of(row.substring(eq + 1)), json = folder.resolve("metrics.json");
            // a training run's folder holds its per-epoch metrics.json; its evaluation is in test/
            String hint = Files.exists(folder.resolve("test").resolve("metrics.json")) ? "; did you mean " + folder.resolve("test") + ", the run's test report?" : "";
            if (!Files.exists(json)) throw new IllegalArgumentException("no " + json + " (run 'pulmo evaluate' for that row first)" + hint);
            Map<String, Double> m;
            try {
                m = read(Files.readString(json));
            } catch (com.google.gson.JsonParseException | IllegalStateException e) {
                throw new IllegalArgumentException(json + " is not what 'pulmo evaluate' writes (an object of test metrics)"
                    + (hint.isEmpty() ? ": " + Cli.oneLine(String.valueOf(e.getMessage())) : hint));
            }
            // Rows are comparable only over the same classes; a binary row needs evaluate's binary_* numbers.
            List<String> classes = classes(m);
            if (firstClasses == null) { firstClasses = classes; firstJson = json.toString(); }
            else if (!classes.equals(firstClasses))
                throw new IllegalArgumentException(json + " has classes " + classes + " but " + firstJson + " has " + firstClasses
                    + "; one table compares models on the same classes");
            if (binary && !m.containsKey("binary_precision"))
                throw new IllegalArgumentException("--binary: " + json + " has no positive-class numbers (" + classes.size()
                    + " classes " + classes + "; evaluate writes binary_* for two classes only)");
            sb.append("| ").append(row, 0, eq);
            for (String k : List.of("accuracy", p + "precision", p + "recall", p + "specificity", p + "f1", p + "auc")) {
                Double v = m.get(k);
                sb.append(" | ").append(v == null || v.isNaN() ? "n/a" : String.format(Locale.ROOT, "%.2f", 100 * v));
            }
            sb.append(" | ").append(accuracyInterval(m, classes).percent()).append(" |\n");
            outcomes.add(Paired.Outcomes.of(row.substring(0, eq), folder.resolve("predictions.csv")));
            Path record = Path.of(row.substring(eq + 1)).toAbsolutePath().normalize().resolveSibling(RunRecord.FILE);
            if (Files.exists(record)) runs.append(runRow(row.substring(0, eq), record));
        }
        sb.append("\nThe interval is Wilson's over the test images (sampling of the test set only; another seed or split moves the\n"
            + "numbers too).\n");
        sb.append(Paired.table(outcomes));
        if (!runs.isEmpty())
            sb.append("\nHow each row was trained (run.json beside its report):\n\n")
                .append("| Model | Epochs | Best epoch | Seed | Wall time | Images/s | Peak device memory | Backend | Pulmo |\n")
                .append("|---|---:|---:|---:|---:|---:|---:|---|---|\n").append(runs);
        System.out.print(sb);
        if (out != null) Cli.write(out, f -> Files.writeString(f, sb));
        return 0;
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

    /** The flat {"name": number} objects that evaluate writes (null: NaN). */
    static Map<String, Double> read(String json) {
        Map<String, Double> m = new LinkedHashMap<>();
        for (var e : JsonParser.parseString(json).getAsJsonObject().entrySet())
            if (e.getValue().isJsonNull()) m.put(e.getKey(), Double.NaN);
            else if (e.getValue() instanceof JsonPrimitive p && p.isNumber()) m.put(e.getKey(), p.getAsDouble());
        return m;
    }

    /** One row of the second table from a run's run.json; unknown figures are "n/a". */
    static String runRow(String label, Path record) throws java.io.IOException {
        RunRecord.Reading r = RunRecord.Reading.of(record);
        String epochs = r.epochsDone() + " of " + r.epochsPlanned() + (r.status().equals("finished") ? "" : " (" + r.status() + ")");
        return "| " + label + " | " + epochs + " | " + r.bestEpoch() + " | " + r.seed() + " | "
            + (Double.isNaN(r.wallSeconds()) ? "n/a" : RunRecord.clock(r.wallSeconds())) + " | "
            + (Double.isNaN(r.imagesPerS()) ? "n/a" : String.format(Locale.ROOT, "%.1f", r.imagesPerS())) + " | "
            + (Double.isNaN(r.devicePeakMib()) ? "n/a" : String.format(Locale.ROOT, "%.2f GiB", r.devicePeakMib() / 1024)) + " | "
            + r.backend() + " | " + r.commit() + (r.uncommittedChanges() ? " (modified)" : "") + " |\n";
    }
}
