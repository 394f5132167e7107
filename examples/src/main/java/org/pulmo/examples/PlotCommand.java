package org.pulmo.examples;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.pulmo.data.Csv;
import org.pulmo.data.DatasetException;
import org.pulmo.metrics.ClassificationReport;
import org.pulmo.metrics.Predictions;
import org.pulmo.train.History;
import org.pulmo.train.Plots;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;

/**
 * {@code pulmo plot FOLDER...}: a run's plots drawn again from the files it wrote: {@code loss.png},
 * {@code accuracy.png} (and MA-Net's {@code manet_weights.png}) from {@code metrics.csv}; {@code roc.png} and
 * {@code confusion_matrix.png} from an evaluation's {@code predictions.csv}. For runs made on a machine whose Java
 * could not draw text (a GPU server without fonts skips its plots and says so), or to draw them again after a run
 * was copied elsewhere. The ROC curves come from the probabilities as written (every digit of each float).
 */
@Command(name = "plot", mixinStandardHelpOptions = true, description = {
    "Draw a run's plots again from its files: loss.png, accuracy.png (MA-Net: manet_weights.png) from metrics.csv, and roc.png,",
    "confusion_matrix.png from predictions.csv (in the folder, or in its test/ report). For runs from a machine that could not draw them."})
public final class PlotCommand implements Callable<Integer> {
    @Parameters(arity = "1..*", paramLabel = "FOLDER", description = "A training run's folder (metrics.csv; test/predictions.csv) or an evaluate folder (predictions.csv).")
    List<Path> folders;

    @Override public Integer call() throws Exception {
        for (Path dir : folders) {
            if (!Files.isDirectory(dir)) throw new IllegalArgumentException(dir + " is not a folder");
            List<String> written = new ArrayList<>();
            Path metrics = dir.resolve("metrics.csv");
            if (Files.exists(metrics)) {
                History h = History.read(metrics, Integer.MAX_VALUE);
                if (h.rows().isEmpty()) throw new DatasetException(metrics + " holds no epoch");
                Plots.curves(h, dir);
                written.add(h.rows().stream().anyMatch(r -> r.maNet() != null) ? "loss.png, accuracy.png, manet_weights.png" : "loss.png, accuracy.png");
            }
            for (Path report : List.of(dir, dir.resolve("test"))) {
                Path csv = report.resolve("predictions.csv");
                if (!Files.exists(csv)) continue;
                Predictions p = predictions(csv);
                EvaluateCommand.plots(p, ClassificationReport.defaultPositiveClass(p.classes()), report);
                written.add((report.equals(dir) ? "" : "test/") + "roc.png, " + (report.equals(dir) ? "" : "test/") + "confusion_matrix.png");
            }
            if (written.isEmpty())
                throw new IllegalArgumentException(dir + " holds neither metrics.csv nor predictions.csv (nor test/predictions.csv): nothing to plot");
            String why = Plots.unavailableReason();
            if (why != null) throw new IllegalStateException("no plots drawn: " + why);
            System.out.println(dir + ": " + String.join(", ", written));
        }
        return 0;
    }

    /** The predictions {@code evaluate} wrote: source, label, predicted, then one probability column per class. */
    static Predictions predictions(Path csv) {
        List<Csv.Row> rows = Csv.rows(csv);
        if (rows.isEmpty()) throw new DatasetException(csv + " holds no predictions");
        List<String> header = List.copyOf(rows.getFirst().fields().keySet());   // the columns, in the header's order
        if (header.size() < 5 || !header.subList(0, 3).equals(List.of("source", "label", "predicted")))
            throw new DatasetException(csv + " is not an evaluate predictions file: its header should be source,label,predicted,<one column per class>,"
                + " not " + String.join(",", header));
        List<String> classes = header.subList(3, header.size());
        float[][] probabilities = new float[rows.size()][classes.size()];
        int[] labels = new int[rows.size()];
        for (int i = 0; i < rows.size(); i++) {
            Csv.Row r = rows.get(i);
            labels[i] = classes.indexOf(r.get("label"));
            if (labels[i] < 0) throw new DatasetException(csv + " line " + r.line() + ": label '" + r.get("label") + "' is none of the classes " + classes);
            for (int k = 0; k < classes.size(); k++) {
                String v = r.get(classes.get(k));
                try {
                    probabilities[i][k] = Float.parseFloat(v);
                } catch (NumberFormatException e) {
                    throw new DatasetException(csv + " line " + r.line() + ": probability of " + classes.get(k) + " is '" + v + "', not a number");
                }
                if (!(probabilities[i][k] >= 0 && probabilities[i][k] <= 1))
                    throw new DatasetException(csv + " line " + r.line() + ": probability of " + classes.get(k) + " is " + v + ", outside [0, 1]");
            }
        }
        return new Predictions(classes, probabilities, labels, null);
    }
}
