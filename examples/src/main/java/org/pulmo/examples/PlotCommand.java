package org.pulmo.examples;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import org.pulmo.data.Csv;
import org.pulmo.data.DatasetException;
import org.pulmo.data.ImageDecoder;
import org.pulmo.metrics.ClassificationReport;
import org.pulmo.metrics.Predictions;
import org.pulmo.train.History;
import org.pulmo.train.Plots;
import org.pulmo.metrics.RocCurve;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/**
 * {@code pulmo plot FOLDER...}: a run's plots drawn again from the files it wrote: {@code loss.png},
 * {@code accuracy.png} (and MA-Net's {@code manet_weights.png}) from {@code metrics.csv}; {@code roc.png} and
 * {@code confusion_matrix.png} from an evaluation's {@code predictions.csv}. For runs made on a machine whose Java
 * could not draw text (a GPU server without fonts skips its plots and says so), or to draw them again after a run
 * was copied elsewhere. The ROC curves come from the probabilities as written (every digit of each float).
 *
 * <p>{@code pulmo plot --compare LABEL=RUN ... [--out DIR]}: several training runs on shared charts, for the papers'
 * comparisons (DPN-92 against DPN-92-SE, MA-Net's losses and blocks): validation accuracy, training and validation loss
 * per epoch, one line per run, and the ROC of the positive class on each run's test predictions.
 */
@Command(name = "plot", mixinStandardHelpOptions = true, description = {
    "Draw a run's plots again from its files, or several runs side by side (--compare).",
    "A run's plots: loss.png, accuracy.png (MA-Net: manet_weights.png) from metrics.csv, and roc.png, confusion_matrix.png from",
    "predictions.csv (in the folder, or in its test/ report). For runs from a machine that could not draw them.",
    "With --compare, several runs on shared charts instead: validation accuracy, training and validation loss per epoch, and the ROC",
    "of the positive class (COVID where a class is named so) on each run's test predictions."})
public final class PlotCommand implements Callable<Integer> {
    @Parameters(arity = "0..*", paramLabel = "FOLDER", description = "A training run's folder (metrics.csv; test/predictions.csv) or an evaluate folder (predictions.csv).")
    List<Path> folders = List.of();

    @Option(names = "--compare", paramLabel = "LABEL=RUN", description = "A training run to compare, with its name in the legends; repeat for each run"
        + " (e.g. --compare DPN-92=runs/dpn92 --compare DPN-92-SE=runs/dpn92se).")
    List<String> compare = List.of();

    @Option(names = {"-o", "--out"}, defaultValue = "runs/compare", description = "Where --compare writes val_accuracy.png, train_loss.png, val_loss.png"
        + " and roc.png, created if missing (default: ${DEFAULT-VALUE}). Where it holds an earlier comparison, the next free <out>2, <out>3, ... is used"
        + " (--overwrite replaces it).")
    Path out;

    @Option(names = "--overwrite", description = "With --compare: replace an earlier comparison in --out.") boolean overwrite;

    /** What --compare writes; any of them makes a folder hold a comparison. */
    static final List<String> COMPARE_FILES = List.of("val_accuracy.png", "train_loss.png", "val_loss.png", "roc.png");

    @Override public Integer call() throws Exception {
        if (!compare.isEmpty()) {
            if (!folders.isEmpty())
                throw new IllegalArgumentException(folders.getFirst().toString().contains("=")
                    ? "--compare takes one LABEL=RUN each: repeat it, --compare " + compare.getFirst() + " --compare " + folders.getFirst()
                    : "--compare takes every run as LABEL=RUN; " + folders.getFirst() + " is a folder without a label");
            return compare();
        }
        if (folders.isEmpty()) throw new IllegalArgumentException("name a run folder to plot, or runs to compare with --compare LABEL=RUN");
        if (overwrite) throw new IllegalArgumentException("--overwrite goes with --compare; a run's own plots are always drawn again in place");
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

    /** {@code --compare}: the runs' curves on shared charts, and their positive-class ROC where they have test predictions. */
    private int compare() throws Exception {
        List<String> labels = new ArrayList<>();
        List<History> runs = new ArrayList<>();
        List<Path> dirs = new ArrayList<>();
        for (String c : compare) {
            int eq = c.indexOf('=');
            if (eq <= 0 || eq == c.length() - 1) throw new IllegalArgumentException("--compare '" + c + "': expected LABEL=RUN, e.g. DPN-92=runs/dpn92");
            String label = c.substring(0, eq);
            if (labels.contains(label)) throw new IllegalArgumentException("--compare: the label '" + label + "' is given twice; each run needs its own");
            Path dir = Path.of(c.substring(eq + 1));
            Path metrics = dir.resolve("metrics.csv");
            if (!Files.isDirectory(dir)) throw new IllegalArgumentException("--compare " + c + ": " + dir + " is not a folder");
            if (!Files.exists(metrics)) throw new IllegalArgumentException("--compare " + c + ": " + dir + " holds no metrics.csv (not a training run's folder)");
            History h = History.read(metrics, Integer.MAX_VALUE);
            if (h.rows().isEmpty()) throw new DatasetException(metrics + " holds no epoch");
            labels.add(label);
            runs.add(h);
            dirs.add(dir);
        }
        // the ROC of the positive class, from each run's test predictions (a run without them is left out, and named);
        // read and checked before anything in --out is touched
        List<String> names = new ArrayList<>(), without = new ArrayList<>();
        List<double[]> fpr = new ArrayList<>(), tpr = new ArrayList<>();
        List<Double> auc = new ArrayList<>();
        List<org.pulmo.metrics.Intervals.Interval> auc95 = new ArrayList<>();
        String positive = null, firstWith = null;
        for (int i = 0; i < dirs.size(); i++) {
            Path csv = dirs.get(i).resolve("test").resolve("predictions.csv");
            if (!Files.exists(csv)) { without.add(labels.get(i)); continue; }
            Predictions p = predictions(csv);
            int k = ClassificationReport.defaultPositiveClass(p.classes());
            String cls = p.classes().get(k);
            if (positive == null) { positive = cls; firstWith = labels.get(i); }
            else if (!positive.equals(cls))
                throw new IllegalArgumentException("--compare: " + firstWith + "'s positive class is '" + positive + "' but " + labels.get(i) + "'s is '"
                    + cls + "' (" + csv + "); the ROC compares runs on the same classes");
            RocCurve r = p.roc(k);
            names.add(labels.get(i));
            fpr.add(r.fpr());
            tpr.add(r.tpr());
            auc.add(r.auc());
            auc95.add(p.aucInterval(k));
        }

        refuseAFolderOfImages(out);
        // an evaluation's folder is not a comparison's: its roc.png is evaluate's own, never replaced by a comparison
        if (overwrite && org.pulmo.train.RunFolder.isReport(out) && !org.pulmo.train.RunFolder.isTrainingRun(out))   // a run: keepEarlier says so
            throw new IllegalArgumentException("--overwrite: " + out + " holds an evaluation (its roc.png is evaluate's); give the comparison a folder of its own");
        out = Cli.keepEarlier(out, overwrite, d -> org.pulmo.train.RunFolder.isReport(d) || COMPARE_FILES.stream().anyMatch(f -> Files.exists(d.resolve(f))),
            org.pulmo.train.RunFolder.isReport(out) ? "an evaluation" : "an earlier comparison");
        Cli.outputFolder(out, "--out");
        for (String f : COMPARE_FILES) Files.deleteIfExists(out.resolve(f));   // --overwrite: no roc.png of the earlier runs stays where none is drawn now
        Plots.compare(labels, runs, out);
        List<String> written = new ArrayList<>(List.of("val_accuracy.png", "train_loss.png", "val_loss.png"));
        if (!names.isEmpty()) {
            Plots.roc("ROC, " + positive + " against the rest (test)", names, fpr, tpr, auc.stream().mapToDouble(Double::doubleValue).toArray(),
                auc95.toArray(org.pulmo.metrics.Intervals.Interval[]::new), out.resolve("roc.png"));
            written.add("roc.png");
        }
        String why = Plots.unavailableReason();
        if (why != null) throw new IllegalStateException("no plots drawn: " + why);
        System.out.println(out + ": " + String.join(", ", written) + " (" + String.join("; ", labels) + ")");
        if (!without.isEmpty() && !names.isEmpty())
            System.out.println("Not in roc.png, without test/predictions.csv: " + String.join("; ", without));
        else if (names.isEmpty())
            System.out.println("No roc.png: none of the runs has test/predictions.csv (pulmo train writes it unless --no-evaluate; pulmo evaluate --out RUN/test)");
        return 0;
    }

    /**
     * Refuses an {@code --out} that holds images of its own, such as a class folder of a data set (plot has no --data
     * to tell): the charts would be read as images of that class by the next training, and numbering past the folder
     * would make a new class beside it. A run's or an evaluation's folder is numbered past as usual (keepEarlier).
     */
    static void refuseAFolderOfImages(Path out) throws java.io.IOException {
        if (!Files.isDirectory(out) || org.pulmo.train.RunFolder.isTrainingRun(out) || org.pulmo.train.RunFolder.isReport(out)) return;
        try (var files = Files.walk(out, 4)) {   // a class folder may keep its images a folder or two down (patient/slice)
            List<String> images = files.filter(f -> Files.isRegularFile(f) && ImageDecoder.hasImageExtension(f)
                    && !(f.getParent().equals(out) && COMPARE_FILES.contains(f.getFileName().toString())))
                .map(f -> out.relativize(f).toString()).limit(3).sorted().toList();
            if (!images.isEmpty())
                throw new IllegalArgumentException("--out " + out + " holds images that are not a comparison's (" + String.join(", ", images)
                    + "), perhaps a data set's class folder: charts written there would be read as its images; give the comparison a folder of its own");
        }
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
        java.util.Map<String, Integer> seen = new java.util.HashMap<>();
        for (int i = 0; i < rows.size(); i++) {
            Csv.Row r = rows.get(i);
            Integer before = seen.put(r.get("source"), r.line());
            if (before != null)   // one image counted twice would weigh twice in the ROC
                throw new DatasetException(csv + " lines " + before + " and " + r.line() + ": the image " + r.get("source") + " twice");
            labels[i] = classes.indexOf(r.get("label"));
            if (labels[i] < 0) throw new DatasetException(csv + " line " + r.line() + ": label '" + r.get("label") + "' is none of the classes " + classes);
            if (!classes.contains(r.get("predicted")))
                throw new DatasetException(csv + " line " + r.line() + ": predicted class '" + r.get("predicted") + "' is none of the classes " + classes);
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
            double sum = 0;
            for (float p : probabilities[i]) sum += p;
            if (Math.abs(sum - 1) > 1e-3)   // evaluate writes a softmax: its probabilities sum to 1 up to float rounding
                throw new DatasetException(csv + " line " + r.line() + ": the class probabilities sum to " + (float) sum + ", not 1");
        }
        return new Predictions(classes, probabilities, labels, null);
    }
}
