package org.pulmo.examples;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.pulmo.data.Csv;
import org.pulmo.metrics.Intervals;

/**
 * The rows of {@code pulmo table} compared image by image with its first row: from each row's {@code predictions.csv}
 * (evaluate's: source, label, predicted, ...), which test images each model classified correctly, and McNemar's
 * exact test on the images exactly one of the two got right ({@link Intervals#mcnemarExact}). Two models a few
 * points apart on 124 or 258 images are often not told apart by their test set; this says which are.
 */
final class Paired {
    private Paired() {}

    /** One row's per-image outcome (source -> classified correctly), or why there is none. */
    record Outcomes(String label, Map<String, Boolean> correct, String missing) {
        static Outcomes of(String label, Path predictionsCsv) {
            if (!Files.isRegularFile(predictionsCsv)) return new Outcomes(label, null, "no " + predictionsCsv.getFileName());
            List<Csv.Row> rows;
            try {
                rows = Csv.rows(predictionsCsv);
            } catch (RuntimeException e) {
                return new Outcomes(label, null, predictionsCsv + " unreadable: " + Cli.oneLine(String.valueOf(e.getMessage())));
            }
            Map<String, Boolean> correct = new HashMap<>();
            for (Csv.Row r : rows) {
                String source = r.get("source"), actual = r.get("label"), predicted = r.get("predicted");
                if (source == null || actual == null || predicted == null)
                    return new Outcomes(label, null, predictionsCsv + " has no source, label and predicted columns");
                if (correct.put(source, actual.equals(predicted)) != null)
                    return new Outcomes(label, null, predictionsCsv + " lists " + source + " twice");
            }
            return new Outcomes(label, correct, null);
        }
    }

    /**
     * The comparison as Markdown after a blank line, or "" with fewer than two rows or no predictions for the first.
     * Rows are matched by source as written; rows evaluated on the same images under another folder (another
     * machine's path) by their last two path elements, the class folder and the file name, where those are unique.
     */
    static String table(List<Outcomes> rows) {
        if (rows.size() < 2) return "";
        Outcomes first = rows.getFirst();
        if (first.correct() == null)
            return "\nNo image-by-image comparison with the first row (" + first.label() + "): " + first.missing() + ".\n";
        StringBuilder sb = new StringBuilder("\nImage by image against the first row (" + first.label() + "), McNemar's exact test on the images\n"
            + "exactly one of the two classified correctly (p: the chance of a split at least this uneven between two equally\n"
            + "accurate models):\n\n| Model | Images | Correct here only | Correct in the first row only | p |\n|---|---:|---:|---:|---:|\n");
        for (Outcomes row : rows.subList(1, rows.size())) {
            sb.append("| ").append(row.label()).append(" | ");
            if (row.correct() == null) { sb.append("n/a (").append(row.missing()).append(") | | | |\n"); continue; }
            Map<String, Boolean> a = first.correct(), b = row.correct();
            if (!a.keySet().equals(b.keySet())) { a = byTail(a); b = byTail(b); }
            if (a == null || b == null || !a.keySet().equals(b.keySet())) {
                long common = row.correct().keySet().stream().filter(first.correct()::containsKey).count();
                sb.append("n/a (not the same test images: ").append(common).append(" of the first row's ").append(first.correct().size())
                    .append(" in common) | | | |\n");
                continue;
            }
            long onlyHere = 0, onlyFirst = 0;
            for (var e : b.entrySet()) {
                boolean here = e.getValue(), there = a.get(e.getKey());
                if (here && !there) onlyHere++;
                if (there && !here) onlyFirst++;
            }
            sb.append(b.size()).append(" | ").append(onlyHere).append(" | ").append(onlyFirst).append(" | ")
                .append(String.format(Locale.ROOT, "%.3g", Intervals.mcnemarExact(onlyHere, onlyFirst))).append(" |\n");
        }
        return sb.toString();
    }

    /** The same outcomes keyed by the last two path elements of each source (class folder and file), or null if not unique. */
    static Map<String, Boolean> byTail(Map<String, Boolean> bySource) {
        Map<String, Boolean> out = new HashMap<>();
        for (var e : bySource.entrySet()) {
            String[] parts = e.getKey().replace('\\', '/').split("/");
            String tail = parts.length >= 2 ? parts[parts.length - 2] + "/" + parts[parts.length - 1] : parts[parts.length - 1];
            if (out.put(tail, e.getValue()) != null) return null;
        }
        return out;
    }
}
