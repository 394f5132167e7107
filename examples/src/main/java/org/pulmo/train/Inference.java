package org.pulmo.train;

import java.util.ArrayList;
import java.util.List;
import org.pulmo.autograd.GradMode;
import org.pulmo.data.DataLoader;
import org.pulmo.data.Dataset;
import org.pulmo.data.Transform;
import org.pulmo.metrics.Predictions;
import org.pulmo.nn.Module;
import org.pulmo.tensor.Device;
import org.pulmo.tensor.Tensor;

/** Runs a model over a data set in eval mode: its softmax {@link Predictions}, and which image each row is. */
public final class Inference {
    private Inference() {}

    /**
     * {@code predictions} in data set order without the unreadable images, which are left out: row i is image
     * {@code index[i]} of the data set, read from {@code sources[i]}.
     */
    public record Result(Predictions predictions, int[] index, String[] sources) {}

    /** Class probabilities of {@code model} on {@code data}, labelled with {@code classes} (the model's outputs, in order). */
    public static Result run(Module model, Dataset data, List<String> classes, Transform transform, int batchSize, boolean strict) {
        List<float[]> probs = new ArrayList<>();
        List<Integer> idx = new ArrayList<>();
        model.eval();
        Device device = deviceOf(model);
        try (var ignored = GradMode.noGrad();
             DataLoader loader = new DataLoader(data, transform, DataLoader.Options.evaluation(batchSize).withStrict(strict));
             DataLoader.Epoch batches = loader.epoch(0)) {
            for (DataLoader.Batch b : batches) {
                Tensor p = model.forward(b.images().to(device)).softmax(1);
                int k = p.shape()[1];
                float[] flat = p.toArray();
                for (int i = 0; i < b.size(); i++) {
                    float[] row = new float[k];
                    System.arraycopy(flat, i * k, row, 0, k);
                    checkFinite(row, data.source(b.indices()[i]));
                    probs.add(row);
                    idx.add(b.indices()[i]);
                }
            }
        }
        int n = probs.size();
        int[] labels = new int[n], index = new int[n];
        String[] groups = new String[n], sources = new String[n];
        boolean allGroups = n > 0;
        for (int i = 0; i < n; i++) {
            index[i] = idx.get(i);
            labels[i] = data.label(index[i]);
            groups[i] = data.group(index[i]);
            sources[i] = data.source(index[i]);
            allGroups &= groups[i] != null;
        }
        return new Result(new Predictions(classes, probs.toArray(new float[0][]), labels, allGroups ? groups : null), index, sources);
    }

    /**
     * Refuses class probabilities that are not finite (those of a model whose weights or batch-norm statistics
     * overflowed, as in a training run that diverged), naming the image: no result is made of them.
     */
    public static void checkFinite(float[] probabilities, String image) {
        for (float v : probabilities)
            if (!Float.isFinite(v))
                throw new IllegalArgumentException("the model's class probabilities for " + image + " are " + java.util.Arrays.toString(probabilities)
                    + ": its outputs are not finite (the checkpoint's weights or batch norm's running statistics overflowed, as in a run that"
                    + " diverged; train again with a smaller --lr)");
    }

    /** Where the model's parameters are (the CPU for a model without any). */
    public static Device deviceOf(Module model) {
        var ps = model.parameters();
        return ps.isEmpty() ? Device.CPU : ps.getFirst().device();
    }
}
