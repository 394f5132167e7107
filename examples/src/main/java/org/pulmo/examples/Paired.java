package org.pulmo.examples;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.BiPredicate;
import org.pulmo.data.Csv;
import org.pulmo.metrics.Intervals;

/**
 * The rows of {@code pulmo table} compared image by image, pair by pair: from each row's {@code predictions.csv}
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
            // the classes are the columns after source, label and predicted (evaluate's layout): a class none of them names is no result
            List<String> columns = rows.isEmpty() ? List.of() : List.copyOf(rows.getFirst().fields().keySet());
            List<String> classes = columns.size() > 3 ? columns.subList(3, columns.size()) : List.of();
            for (Csv.Row r : rows) {
                String source = r.get("source"), actual = r.get("label"), predicted = r.get("predicted");
                if (source == null || actual == null || predicted == null)
                    return new Outcomes(label, null, predictionsCsv + " has no source, label and predicted columns");
                for (String c : new String[] {actual, predicted})
                    if (!classes.contains(c))
                        return new Outcomes(label, null, predictionsCsv + " line " + r.line() + " names class '" + c + "', none of its columns " + classes);
                if (correct.put(source, actual.equals(predicted)) != null)
                    return new Outcomes(label, null, predictionsCsv + " lists " + source + " twice");
            }
            return new Outcomes(label, correct, null);
        }
    }

    /**
     * The pairs of rows that {@code compared} accepts (indices into {@code rows}; {@code which} says which in the
     * heading), as Markdown after a blank line; "" with fewer than two rows that have predictions. Rows are matched by
     * source as written; rows evaluated on the same images under another folder (another machine's path) by their
     * last two path elements, the class folder and the file name, where those are unique.
     */
    static String table(List<Outcomes> rows, BiPredicate<Integer, Integer> compared, String which, String unpairedWhy) {
        String without = String.join("; ", rows.stream().filter(r -> r.correct() == null).map(r -> r.label() + " (" + r.missing() + ")").toList());
        if (rows.stream().filter(r -> r.correct() != null).count() < 2)
            return rows.size() < 2 ? "" : "\nNo image-by-image comparison: fewer than two rows have their predictions" + (without.isEmpty() ? "" : ": " + without) + ".\n";
        StringBuilder sb = new StringBuilder("\nImage by image, " + which + ":\nMcNemar's exact test on the images exactly one of the two "
            + "classified correctly (the predicted class is the true one, over all\nclasses, whatever the columns above count; p: the chance "
            + "of a split at least this uneven between two equally\naccurate models):\n\n"
            + "| Rows | Images | Correct in the first only | Correct in the second only | p |\n|---|---:|---:|---:|---:|\n");
        boolean[] paired = new boolean[rows.size()];
        int pairs = 0;
        for (int i = 0; i < rows.size(); i++)
            for (int j = i + 1; j < rows.size(); j++)
                if (rows.get(i).correct() != null && rows.get(j).correct() != null && compared.test(i, j)) {
                    sb.append(pairRow(rows.get(i), rows.get(j)));
                    paired[i] = paired[j] = true;
                    pairs++;
                }
        List<String> alone = new java.util.ArrayList<>();
        for (int i = 0; i < rows.size(); i++) if (rows.get(i).correct() != null && !paired[i]) alone.add(rows.get(i).label() + " (" + unpairedWhy + ")");
        String notCompared = String.join("; ", java.util.stream.Stream.concat(alone.stream(), without.isEmpty() ? java.util.stream.Stream.empty()
            : java.util.stream.Stream.of(without)).toList());
        if (pairs == 0) return "\nNo image-by-image comparison: no two rows to compare (" + which + ")" + (notCompared.isEmpty() ? "" : ": " + notCompared) + ".\n";
        if (!notCompared.isEmpty()) sb.append("\nNot compared: ").append(notCompared).append(".\n");
        return sb.toString();
    }

    private static String pairRow(Outcomes first, Outcomes second) {
        StringBuilder sb = new StringBuilder("| ").append(first.label()).append(" vs ").append(second.label()).append(" | ");
        Map<String, Boolean> a = first.correct(), b = second.correct();
        if (!a.keySet().equals(b.keySet())) { a = byTail(a); b = byTail(b); }
        if (a == null || b == null || !a.keySet().equals(b.keySet())) {
            long common = second.correct().keySet().stream().filter(first.correct()::containsKey).count();
            return sb.append("n/a (not the same test images: ").append(common).append(" in common of ").append(first.correct().size())
                .append(" and ").append(second.correct().size()).append(") | | | |\n").toString();
        }
        long onlyFirst = 0, onlySecond = 0;
        for (var e : a.entrySet()) {
            boolean x = e.getValue(), y = b.get(e.getKey());
            if (x && !y) onlyFirst++;
            if (y && !x) onlySecond++;
        }
        return sb.append(a.size()).append(" | ").append(onlyFirst).append(" | ").append(onlySecond).append(" | ")
            .append(String.format(Locale.ROOT, "%.3g", Intervals.mcnemarExact(onlyFirst, onlySecond))).append(" |\n").toString();
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
