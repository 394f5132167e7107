package org.pulmo.examples;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.pulmo.autograd.GradMode;
import org.pulmo.io.Safetensors;
import org.pulmo.nn.Module;
import org.pulmo.tensor.Tensor;
import org.pulmo.train.Models;
import org.pulmo.train.PretrainedWeights;
import org.pulmo.train.TrainedModel;
import picocli.CommandLine;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The Java side of {@code scripts/torch-roundtrip.sh}: a model's eval-mode logits on a given input tensor, so that
 * they can be compared number by number with PyTorch's. The model comes either from a PyTorch state dict loaded by
 * {@code --init-from}'s own code ({@link PretrainedWeights#load}) or from a checkpoint of {@code pulmo train}
 * ({@link TrainedModel#load}, what {@code pulmo export} writes out).
 *
 * <p>Input: a safetensors file with one F32 tensor {@code input} [N, 3, H, W], already normalised (no
 * preprocessing is applied). Output: a safetensors file with {@code logits} [N, classes] (F32, before softmax).
 * MA-Net's logits are its inference path, the backbone's.
 *
 * <pre>
 * java -cp pulmo.jar org.pulmo.examples.TorchRoundTrip --model resnet50 --init-from w.safetensors --input x.safetensors --out y.safetensors
 * java -cp pulmo.jar org.pulmo.examples.TorchRoundTrip --checkpoint runs/train/last.safetensors --input x.safetensors --out y.safetensors
 * </pre>
 */
@Command(name = "torch-roundtrip", mixinStandardHelpOptions = true, sortOptions = false,
    description = "Eval-mode logits of a Pulmo model on an input tensor, for comparison with PyTorch (scripts/torch-roundtrip.sh).")
public final class TorchRoundTrip implements Callable<Integer> {

    static final class Source {
        @ArgGroup(exclusive = false) FromTorch torch;
        @Option(names = {"-c", "--checkpoint"}, description = "A checkpoint written by 'pulmo train'.") Path checkpoint;
    }

    static final class FromTorch {
        @Option(names = "--model", required = true, description = "Pulmo's model name (as 'pulmo summary --list' prints).") String model;
        @Option(names = "--init-from", required = true, description = "A PyTorch state dict saved as safetensors.") Path initFrom;
        @Option(names = "--classes", description = "Classes of the model (default: the rows of the file's classifier).") Integer classes;
    }

    @ArgGroup(exclusive = true, multiplicity = "1") Source source;
    @Option(names = "--input", required = true, description = "safetensors with an F32 tensor 'input' [N, 3, H, W].") Path input;
    @Option(names = "--out", required = true, description = "safetensors to write 'logits' [N, classes] to.") Path out;

    public static void main(String[] args) { System.exit(run(args)); }

    /** Runs one command line; the exit code: 0 written, 2 bad input (one line on stderr), 1 anything else. */
    public static int run(String... args) {
        CommandLine cli = new CommandLine(new TorchRoundTrip());
        cli.setExecutionExceptionHandler((e, cmd, parsed) -> {
            cmd.getErr().println("torch-roundtrip: " + Cli.describe(e));
            return Cli.isUserError(e) ? 2 : 1;
        });
        return cli.execute(args);
    }

    @Override public Integer call() throws Exception {
        Tensor x = Safetensors.read(input).tensors().get("input");
        if (x == null || x.shape().length != 4) throw new IllegalArgumentException("--input " + input + " needs a tensor 'input' [N, 3, H, W]");
        Module model;
        String name;
        if (source.checkpoint != null) {
            TrainedModel tm = TrainedModel.load(source.checkpoint);
            model = tm.model();
            name = tm.name();
        } else {
            FromTorch t = source.torch;
            int classes = t.classes != null ? t.classes : headRows(t.initFrom);
            model = Models.create(t.model, classes, x.shape()[2], 0, null);
            System.out.print(PretrainedWeights.load(t.initFrom, model, t.model).summary());
            name = t.model;
        }
        Tensor logits = logits(model, x);
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("model", name);
        Safetensors.write(out, Map.of("logits", logits), meta);
        int[] s = logits.shape();
        System.out.printf(Locale.ROOT, "%s: logits [%d, %d] written to %s%n", name, s[0], s[1], out);
        return 0;
    }

    /** Eval mode (BatchNorm from its running statistics), no graph: [N, classes]. */
    static Tensor logits(Module model, Tensor x) {
        model.eval();
        try (var ignored = GradMode.noGrad()) {
            return model.forward(x);
        }
    }

    /** The class count of a PyTorch file: the rows of its classifier ({@code fc.weight} or {@code classifier.weight}). */
    static int headRows(Path file) throws java.io.IOException {
        Map<String, Tensor> t = Safetensors.read(file).tensors();
        for (String k : new String[] {"fc.weight", "classifier.weight", "classifier.6.weight"})
            if (t.containsKey(k)) return t.get(k).shape()[0];
        throw new IllegalArgumentException(file + " has no fc.weight or classifier.weight: give --classes");
    }
}
