package org.pulmo.examples;

import java.io.PrintStream;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import org.pulmo.data.Dataset;
import picocli.CommandLine.Command;

@Command(name = "evaluate", mixinStandardHelpOptions = true, description = "Evaluate a checkpoint on a test set.")
public final class EvaluateCommand implements Callable<Integer> {
    @Override public Integer call() { return 1; }

    static void evaluate(Path checkpoint, Dataset data, Path outDir, int batchSize, PrintStream out) throws Exception {
        var tm = org.pulmo.train.TrainedModel.load(checkpoint);
        var p = org.pulmo.train.Predictions.run(tm.model(), data, tm.evalTransform(), batchSize, false);
        int ok = 0;
        for (int i = 0; i < p.size(); i++) if (p.predicted(i) == p.labels()[i]) ok++;
        out.printf("accuracy %.2f%%%n", 100.0 * ok / p.size());
    }
}
