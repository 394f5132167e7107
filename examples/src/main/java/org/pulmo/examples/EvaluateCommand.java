package org.pulmo.examples;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.pulmo.data.ClassMap;
import org.pulmo.data.Dataset;
import org.pulmo.data.Splits;
import org.pulmo.io.AtomicFiles;
import org.pulmo.metrics.ClassificationReport;
import org.pulmo.metrics.RocCurve;
import org.pulmo.train.Plots;
import org.pulmo.train.Inference;
import org.pulmo.train.TrainedModel;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

/**
 * {@code pulmo evaluate -c C --data D}: the papers' tables on the test part (accuracy; per class precision,
 * recall/sensitivity, specificity, F1, ROC AUC; macro averages; the confusion matrix; per patient when the
 * images have group ids), printed and written to the output folder with {@code roc.png},
 * {@code confusion_matrix.png}, {@code report.txt}, {@code metrics.json} and {@code predictions.csv}.
 */
@Command(name = "evaluate", mixinStandardHelpOptions = true, sortOptions = false,
    description = "Evaluate a checkpoint on the test part of a data set: the papers' tables, ROC and confusion-matrix plots.")
public final class EvaluateCommand implements Callable<Integer> {
    @Option(names = {"-c", "--checkpoint"}, required = true, description = "A checkpoint written by 'pulmo train'.") Path checkpoint;
    @Mixin DataOptions data;
    @Option(names = "--split", defaultValue = "test", description = "test, val, train or all (every image of the folder, e.g. a folder of other images"
        + " than the training run's; default: ${DEFAULT-VALUE}). On the training run's own folder the split options left out are the run's (from the checkpoint),"
        + " and images the checkpoint trained on are refused, but for --split train, which evaluates them on purpose (with a note).") String split;
    @Option(names = "--batch-size", description = "Batch size (default: the checkpoint's training batch size, with which training"
        + " evaluated its own test part: the CPU's convolutions pick their method by batch size, so another batch can move the last"
        + " digits of the probabilities; 32 when the checkpoint does not say).") Integer batchSize;
    @Mixin DeviceOptions deviceOptions;
    @Option(names = "--class-map", description = "DATA_CLASS=CHECKPOINT_CLASS,...: data folders or labels named otherwise than the checkpoint's classes "
        + "(e.g. pneumonia_bac=bacterial,pneumonia_vir=viral). Classes are matched by name, never by position.") String classMap;
    @Option(names = "--recompute-bn", description = "First re-estimate every batch norm's running mean and variance from one pass over the "
        + "training part (shuffled, without augmentation; for MA-Net the main path): a check of whether the stored statistics "
        + "fit the images the model is evaluated on. The checkpoint is not changed.") boolean recomputeBn;
    @Option(names = {"-o", "--out"}, defaultValue = "runs/evaluate", description = "Output folder (default: ${DEFAULT-VALUE}). An earlier evaluation"
        + " in it is kept: the next free <out>2, <out>3, ... is used instead (--overwrite replaces it).") Path out;
    @Option(names = "--overwrite", description = "Replace an earlier evaluation in --out.") boolean overwrite;

    /**
     * What an evaluation writes into its folder. A folder with metrics.json (written last) holds a finished evaluation; one
     * with {@link org.pulmo.train.RunFolder#REPORT_UNFINISHED} and no metrics.json, what a killed one left; any other
     * folder with one of these files, the user's files (kept).
     */
    static final List<String> FILES = org.pulmo.train.RunFolder.REPORT_FILES;

    /** The batch size a checkpoint was trained with (its metadata's batch_size), or 32 when it does not say. */
    static int trainingBatchSize(Map<String, String> meta) {
        try {
            int b = Integer.parseInt(meta.getOrDefault("batch_size", "32"));
            return b >= 1 ? b : 32;
        } catch (NumberFormatException e) {
            return 32;
        }
    }

    /**
     * Whether {@code out} is the {@code test/} report of the training run whose best checkpoint {@code checkpoint} is:
     * the report {@code pulmo train} writes itself at the end (and drops when a resumed run replaces that checkpoint).
     */
    static boolean isOwnReport(Path out, Path checkpoint) {
        if (!Cli.isRunsReport(out)) return false;
        Path best = out.toAbsolutePath().normalize().getParent().resolve(org.pulmo.train.Trainer.BEST);
        try {
            return Files.exists(best) && Files.isSameFile(best, checkpoint);
        } catch (java.io.IOException e) {
            return false;
        }
    }

    /** Whether {@code dir} holds a finished evaluation: its metrics.json, which an evaluation writes last, is there. */
    static boolean holdsEvaluation(Path dir) {
        return Files.isRegularFile(dir.resolve("metrics.json"));
    }

    /**
     * Whether {@code dir} holds what an evaluation stopped before its end (killed, the machine stopped) left: the mark an
     * evaluation writes first and removes after metrics.json, and no metrics.json.
     */
    static boolean unfinishedEvaluation(Path dir) {
        return Files.exists(dir.resolve(org.pulmo.train.RunFolder.REPORT_UNFINISHED)) && !holdsEvaluation(dir);
    }

    /** Which of {@link #FILES} {@code dir} holds (none where it is not a folder). */
    private static List<String> reportFiles(Path dir) {
        return FILES.stream().filter(f -> Files.exists(dir.resolve(f))).toList();
    }

    @Override public Integer call() throws Exception {
        if (!List.of("test", "val", "train", "all").contains(split))
            throw new IllegalArgumentException("--split must be test, val, train or all, not '" + split + "'");
        Map<String, String> map = ClassMap.parse(classMap);
        ClassMap.merged(map).forEach(System.out::println);
        Cli.notInsideARunInTraining(out);
        data.checkOutputOutsideTheImages(out, "--out");
        Cli.checkOutputFolder(out, "--out");   // a folder that cannot be written is said before anything is read
        if (overwrite && org.pulmo.train.RunFolder.isTrainingRun(out)) throw new IllegalArgumentException(Cli.intoTrainingRun(out));
        TrainedModel tm = TrainedModel.load(checkpoint, deviceOptions.resolve());
        Map<String, String> meta = org.pulmo.io.Safetensors.readMetadata(checkpoint);
        if (batchSize == null) batchSize = trainingBatchSize(meta);
        if (batchSize < 1) throw new IllegalArgumentException("--batch-size must be at least 1, got " + batchSize);
        data.adoptSplitOf(meta, System.out);
        Splits.Split s = data.loadParts(tm.imageSize());
        String part = split;
        if (part.equals("test") && s.test().size() == 0) {
            System.out.println("No test part in " + data.data + ": evaluating on the validation part.");
            part = "val";
        }
        Dataset d = switch (part) {
            case "test" -> s.test();
            case "val" -> s.val();
            case "train" -> s.train();
            default -> all(s, tm.classes(), map);
        };
        if (d.size() == 0) throw new org.pulmo.data.DatasetException(data.where(part) + " has no images");
        data.checkNotTrainedOn(meta, s, d, part, System.out);
        if (part.equals("train") && java.util.Objects.equals(meta.get("data_train"), org.pulmo.data.PartDigest.of(s.train(), data.root())))
            System.out.println("Note: these are the images the checkpoint trained on: the numbers say how well it fits them, not how it does on new images.");
        if (!part.equals("all")) d = ClassMap.onto(d, data.where(part), tm.classes(), "the checkpoint " + checkpoint, map);
        List<String> absent = ClassMap.missing(d);
        if (!absent.isEmpty())
            System.out.println("Note: no image of class " + ClassMap.quotedNames(absent) + " in " + data.where(part)
                + ": its AUC is n/a and left out of the macro AUC; its precision, recall and F1 count as 0 in the other macro averages (as scikit-learn's do).");
        // the output folder (--out or the next free one) is chosen once the checkpoint and the data are known to fit
        // RUN/test from RUN's own best checkpoint on the run's own test images, as they are, is the report training writes
        // (unless --no-evaluate): written there when empty or with --overwrite; any other results are kept out of it
        // an evaluation stopped before its end is not kept: this one takes its place (a folder of other files is kept)
        java.util.function.Predicate<Path> held = dir -> holdsEvaluation(dir) || !unfinishedEvaluation(dir) && !reportFiles(dir).isEmpty();
        boolean ownReport = isOwnReport(out, checkpoint) && (overwrite || !held.test(out)) && part.equals("test") && map.isEmpty()
            && !recomputeBn && java.util.Objects.equals(meta.get("data_test"), org.pulmo.data.PartDigest.of(s.test(), data.root()));
        Path chosen = ownReport ? out : Cli.keepEarlier(out, overwrite, held, "an earlier evaluation");
        if (!overwrite && unfinishedEvaluation(chosen)) {
            List<String> left = reportFiles(chosen);
            System.out.println(chosen + " holds what an evaluation stopped before its end left (" + (left.isEmpty() ? "no file yet" : String.join(", ", left))
                + "; no metrics.json, which is written last): this evaluation replaces it");
        }
        if (!chosen.equals(out)) Cli.checkOutputFolder(chosen, "--out");   // --out itself was checked above
        out = chosen;
        if (recomputeBn) recomputeRunningStatistics(tm, ClassMap.onto(s.train(), data.where("train"), tm.classes(), "the checkpoint " + checkpoint, map));
        evaluate(tm, d, part, out, batchSize, data.strict, System.out);
        return 0;
    }

    /**
     * {@code --split all}: every part put onto the checkpoint's classes and joined. A part may lack some of the folder's
     * classes, so each takes the --class-map entries of its own classes; an entry no part has is refused as usual.
     */
    private Dataset all(Splits.Split s, List<String> classes, Map<String, String> map) {
        List<Dataset> parts = List.of(s.train(), s.val(), s.test()).stream().filter(x -> x.size() > 0).toList();
        java.util.Set<String> present = new java.util.HashSet<>();
        for (Dataset p : parts) present.addAll(p.classes());
        for (String from : map.keySet())
            if (!present.contains(from))
                throw new org.pulmo.data.DatasetException("--class-map " + from + "=" + map.get(from) + ": '" + from + "' is not a class of "
                    + data.where("all") + " " + present.stream().sorted().toList());
        return Dataset.concat(parts.stream().map(p -> {
            Map<String, String> own = new java.util.LinkedHashMap<>(map);
            own.keySet().retainAll(p.classes());
            return ClassMap.onto(p, data.where("all"), classes, "the checkpoint " + checkpoint, own);
        }).toList());
    }

    /** --recompute-bn: one shuffled pass over {@code train} (evaluation transform) re-estimates the running statistics. */
    private void recomputeRunningStatistics(TrainedModel tm, Dataset train) {
        if (train.size() < 2) throw new org.pulmo.data.DatasetException("--recompute-bn needs training images; " + data.where("train") + " has " + train.size());
        var opts = org.pulmo.data.DataLoader.Options.training(Math.min(batchSize, train.size()), 0).withDropLast(true).withStrict(data.strict);
        var dev = tm.model().parameters().getFirst().device();
        try (var loader = new org.pulmo.data.DataLoader(train, tm.evalTransform(), opts); var batches = loader.epoch(0)) {
            Iterable<org.pulmo.tensor.Tensor> images = () -> new java.util.Iterator<>() {
                @Override public boolean hasNext() { return batches.hasNext(); }
                @Override public org.pulmo.tensor.Tensor next() { return batches.next().images().to(dev); }
            };
            int k = org.pulmo.nn.BatchNorm.recomputeRunningStatistics(tm.model(), images, tm.model()::forward);
            System.out.printf(Locale.ROOT, "Batch-norm running statistics re-estimated from %d training images (%d batches of %d%s); the checkpoint is unchanged.%n",
                k * opts.batchSize(), k, opts.batchSize(), tm.model() instanceof org.pulmo.models.MaNet ? ", main path" : "");
        }
    }

    /** {@code part}: which part of the data {@code d} is (test, val, train or all), recorded in metrics.json as "split". */
    static ClassificationReport evaluate(TrainedModel tm, Dataset d, String part, Path out, int batchSize, boolean strict, PrintStream ps) throws Exception {
        Inference.Result inference = Inference.run(tm.model(), d, tm.classes(), tm.evalTransform(), batchSize, strict);
        var mp = inference.predictions();
        if (mp.size() == 0)   // a report of 0 images would read as a result
            throw new org.pulmo.data.DatasetException("none of the " + d.size() + " image" + (d.size() == 1 ? "" : "s")
                + " could be read (each unreadable one was skipped, named above): nothing to evaluate");
        int[] predicted = mp.predicted();
        ClassificationReport report = new ClassificationReport(mp);
        String text = report.format(tm.name());
        ps.print(text);
        Files.createDirectories(out);
        // the mark first, removed once metrics.json is written: until then the folder holds an unfinished evaluation
        Path unfinished = out.resolve(org.pulmo.train.RunFolder.REPORT_UNFINISHED);
        AtomicFiles.writeString(unfinished, "An evaluation is being written into this folder; while this file is here and metrics.json is not, it did not finish.\n");
        for (String f : FILES) {
            Files.deleteIfExists(out.resolve(f));   // --overwrite: no plot of the earlier evaluation stays where none is drawn now
            AtomicFiles.removeStale(out.resolve(f));   // and no half-written file of an evaluation that was killed
        }
        // metrics.json last: the folder holds a finished evaluation once it is there (what pulmo table reads, and
        // what a later evaluate into this folder keeps); a kill before it leaves the mark, and the next evaluation replaces it
        AtomicFiles.writeString(out.resolve("report.txt"), text);
        StringBuilder csv = new StringBuilder("source,label,predicted," + String.join(",", tm.classes()) + "\n");
        for (int i = 0; i < mp.size(); i++) {
            csv.append('"').append(inference.sources()[i].replace("\"", "\"\"")).append("\",").append(tm.classes().get(mp.labels()[i])).append(',')
                .append(tm.classes().get(predicted[i]));
            // every digit a float has (Float.toString round-trips): near-equal probabilities of a model that barely
            // separates the classes stay ordered, so that ROC curves drawn again from this file (pulmo plot) are the same
            for (float v : mp.probabilities()[i]) csv.append(',').append(Float.toString(v));
            csv.append('\n');
        }
        AtomicFiles.writeString(out.resolve("predictions.csv"), csv);
        plots(mp, report.positiveClass(), out);
        AtomicFiles.writeString(out.resolve("metrics.json"), metricsJson(part, report));
        Files.deleteIfExists(unfinished);
        ps.println("Written to " + out + ": report.txt, metrics.json, predictions.csv, " + Plots.listed("roc.png", "confusion_matrix.png"));
        return report;
    }

    /**
     * metrics.json: the part scored and every figure of {@code report}, with every digit the double has (Double.toString
     * round-trips), so that {@code pulmo table} rounds from the value report.txt rounds from: six significant digits
     * rounded some figures twice (206 of 258: 79.84 in the report, 79.85 in the table).
     */
    static String metricsJson(String part, ClassificationReport report) {
        StringBuilder json = new StringBuilder("{\n  \"split\": \"" + part + "\",\n");
        List<Map.Entry<String, Double>> vals = new ArrayList<>(report.values().entrySet());
        for (int i = 0; i < vals.size(); i++) {
            double v = vals.get(i).getValue();
            json.append(String.format(Locale.ROOT, "  \"%s\": %s%s%n", vals.get(i).getKey(), Double.isFinite(v) ? Double.toString(v) : "null",
                i + 1 < vals.size() ? "," : ""));
        }
        return json.append("}\n").toString();
    }

    /** {@code roc.png} (one curve per class, one-vs-rest; for two classes the positive class's) and {@code confusion_matrix.png}. */
    static void plots(org.pulmo.metrics.Predictions mp, int positiveClass, Path out) throws java.io.IOException {
        int k = mp.numClasses();
        List<String> names = new ArrayList<>();
        List<double[]> fpr = new ArrayList<>(), tpr = new ArrayList<>();
        List<Double> aucs = new ArrayList<>();
        List<org.pulmo.metrics.Intervals.Interval> auc95 = new ArrayList<>();
        for (int c = 0; c < k; c++) {
            if (k == 2 && c != positiveClass) continue;  // binary: one curve, for the positive class
            RocCurve r = mp.roc(c);
            names.add(mp.classes().get(c));
            fpr.add(r.fpr());
            tpr.add(r.tpr());
            aucs.add(r.auc());
            auc95.add(mp.aucInterval(c));
        }
        Plots.roc(names, fpr, tpr, aucs.stream().mapToDouble(Double::doubleValue).toArray(),
            auc95.toArray(org.pulmo.metrics.Intervals.Interval[]::new), out.resolve("roc.png"));
        Plots.confusion(mp.classes(), mp.confusionMatrix().table(), out.resolve("confusion_matrix.png"));
    }
}
