package org.pulmo.train;

import java.util.ArrayList;
import java.util.List;
import org.pulmo.autograd.GradMode;
import org.pulmo.data.DataLoader;
import org.pulmo.data.Dataset;
import org.pulmo.data.Transform;
import org.pulmo.nn.Module;
import org.pulmo.tensor.Device;
import org.pulmo.tensor.Tensor;

/**
 * Softmax probabilities of a model over a data set, in data set order (unreadable images are left out, so
 * {@code index[i]} says which image row i is).
 */
public record Predictions(List<String> classes, float[][] probabilities, int[] labels, int[] index, String[] groups, String[] sources) {

    public static Predictions run(Module model, Dataset data, Transform transform, int batchSize, boolean strict) {
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
                    probs.add(row);
                    idx.add(b.indices()[i]);
                }
            }
        }
        int n = probs.size();
        int[] labels = new int[n], index = new int[n];
        String[] groups = new String[n], sources = new String[n];
        for (int i = 0; i < n; i++) {
            index[i] = idx.get(i);
            labels[i] = data.label(index[i]);
            groups[i] = data.group(index[i]);
            sources[i] = data.source(index[i]);
        }
        return new Predictions(data.classes(), probs.toArray(new float[0][]), labels, index, groups, sources);
    }

    /** Where the model's parameters are (the CPU for a model without any). */
    public static Device deviceOf(Module model) {
        var ps = model.parameters();
        return ps.isEmpty() ? Device.CPU : ps.getFirst().device();
    }

    public int size() { return labels.length; }

    public int predicted(int i) {
        int best = 0;
        for (int k = 1; k < probabilities[i].length; k++) if (probabilities[i][k] > probabilities[i][best]) best = k;
        return best;
    }

    public boolean hasGroups() {
        for (String g : groups) if (g == null) return false;
        return groups.length > 0;
    }
}
