package org.pulmo.examples;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.pulmo.data.Dataset;
import org.pulmo.data.ImageFileDataset;
import org.pulmo.train.Inference;
import org.pulmo.train.TrainedModel;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code pulmo predict --checkpoint C <image or folder>}: class probabilities per image (printed, and as CSV with --csv). */
@Command(name = "predict", mixinStandardHelpOptions = true, description = "Class probabilities for one image or every image under a folder.")
public final class PredictCommand implements Callable<Integer> {
    @Option(names = {"-c", "--checkpoint"}, required = true, description = "A checkpoint written by 'pulmo train'.") Path checkpoint;
    @Parameters(index = "0", description = "An image file or a folder (searched recursively).") Path input;
    @Mixin DeviceOptions deviceOptions;
    @Option(names = "--csv", description = "Also write the probabilities to this CSV file, with every digit (the printed table rounds to 4 decimals); an existing file is refused unless --overwrite is given.") Path csv;
    @Option(names = "--overwrite", description = "Replace the --csv file if it exists.") boolean overwrite;


    @Override public Integer call() throws Exception {
        if (!Files.exists(input)) { System.err.println("pulmo predict: no such file or folder: " + input); return 2; }
        if (csv != null) Cli.checkNewFile(csv, overwrite, "--csv");   // a place the CSV cannot go is said before any image is read
        TrainedModel tm = TrainedModel.load(checkpoint, deviceOptions.resolve());
        List<Path> files = new ArrayList<>();
        if (Files.isDirectory(input)) {
            // Pulmo's output inside (the data folder's runs/, a run or an evaluation saved among the images) is not scanned
            ImageFileDataset.Listing l = ImageFileDataset.list(input, true);
            files.addAll(l.images());
            for (Path d : l.leftOut()) System.out.println("Left out " + d + ": Pulmo's own output (runs, evaluations), not images to classify");
        } else files.add(input);
        if (files.isEmpty()) { System.err.println("pulmo predict: no images under " + input); return 2; }
        List<ImageFileDataset.Entry> entries = files.stream().map(p -> new ImageFileDataset.Entry(p, 0, null)).toList();
        Dataset data = new ImageFileDataset(tm.classes(), entries, null);
        Inference.Result r = Inference.run(tm.model(), data, tm.classes(), tm.evalTransform(), 16, false);
        var p = r.predictions();
        int[] predicted = p.predicted();
        if (p.size() == 0) {
            System.err.printf("pulmo predict: none of the %d file(s) could be read as an image (see above)%n", files.size());
            return 2;
        }
        StringBuilder out = new StringBuilder("path,predicted," + String.join(",", tm.classes()) + "\n");
        // one column per class, as wide as its name or a probability (0.1234), whichever is wider
        int[] width = tm.classes().stream().mapToInt(c -> Math.max(6, c.length())).toArray();
        StringBuilder head = new StringBuilder();
        for (int k = 0; k < width.length; k++) head.append(String.format(Locale.ROOT, "%-" + width[k] + "s  ", tm.classes().get(k)));
        System.out.printf("%-50s %-12s %s%n", "image", "predicted", head.toString().stripTrailing());
        for (int i = 0; i < p.size(); i++) {
            StringBuilder probs = new StringBuilder();
            for (int k = 0; k < width.length; k++) probs.append(String.format(Locale.ROOT, "%-" + width[k] + ".4f  ", p.probabilities()[i][k]));
            String cls = tm.classes().get(predicted[i]);
            System.out.printf("%-50s %-12s %s%n", r.sources()[i], cls, probs.toString().trim());
            // the CSV keeps every digit a float has, as evaluate's predictions.csv (the printed table rounds to 4 decimals)
            out.append('"').append(r.sources()[i].replace("\"", "\"\"")).append("\",").append(cls);
            for (float v : p.probabilities()[i]) out.append(',').append(Float.toString(v));
            out.append('\n');
        }
        if (csv != null) Cli.write(csv, f -> org.pulmo.io.AtomicFiles.writeString(f, out));
        if (p.size() < files.size()) {   // the others' probabilities stand; the exit code says the input was not all good
            System.err.printf("pulmo predict: %d of %d image(s) could not be read (see above)%n", files.size() - p.size(), files.size());
            return 2;
        }
        return 0;
    }
}
