package org.pulmo.examples;

import java.util.concurrent.Callable;
import org.pulmo.models.ModelRegistry;
import org.pulmo.models.ModelSummary;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

/** {@code pulmo summary <model> --classes N}: layer table, output shapes, parameters and MACs. */
@Command(name = "summary", mixinStandardHelpOptions = true, description = "Print a model's layers, output shapes and parameter count.")
public final class SummaryCommand implements Callable<Integer> {
    @Parameters(index = "0", arity = "0..1", description = "Model name.") String model;
    @Option(names = "--classes", description = "Output classes (default: the model's usual count).") Integer classes;
    @Option(names = "--image-size", description = "Input side in pixels (default: the model's usual size).") Integer size;
    @Option(names = "--list", description = "List the model names.") boolean list;

    @Override public Integer call() {
        if (list || model == null) {
            for (String n : ModelRegistry.names()) System.out.printf("%-18s %s%n", n, ModelRegistry.entry(n).description());
            if (model == null && !list) System.err.println("pulmo summary: name a model, one of those above (e.g. pulmo summary dpn92-se); --list lists them");
            return model == null && !list ? 2 : 0;
        }
        ModelRegistry.Entry e = ModelRegistry.entry(model);
        if (classes != null && classes < 1) throw new IllegalArgumentException("--classes must be at least 1, got " + classes);
        if (size != null && (size < e.minSize() || size > TrainCommand.MAX_IMAGE_SIZE))
            throw new IllegalArgumentException("--image-size must be " + e.minSize() + " to " + TrainCommand.MAX_IMAGE_SIZE + " for " + model + ", got " + size);
        System.out.print(ModelSummary.of(model, classes != null ? classes : e.defaultClasses(), size != null ? size : e.defaultSize()).format());
        return 0;
    }
}
