package org.pulmo.train;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.pulmo.data.Augmentation;
import org.pulmo.data.Transform;
import org.pulmo.io.Checkpoint;
import org.pulmo.io.Safetensors;
import org.pulmo.models.MaNet;
import org.pulmo.nn.Module;
import org.pulmo.tensor.Device;

/**
 * A model rebuilt from a training checkpoint alone: the checkpoint's metadata names the model, classes, input
 * size and preprocessing ({@link Trainer#describe}), its tensors hold the weights.
 */
public record TrainedModel(String name, Module model, List<String> classes, int imageSize, Augmentation augmentation, int epoch) {

    /** On the CPU. */
    public static TrainedModel load(Path checkpoint) throws IOException { return load(checkpoint, Device.CPU); }

    /** The model rebuilt on the CPU, loaded, then moved to {@code device}. */
    public static TrainedModel load(Path checkpoint, Device device) throws IOException {
        if (!Files.exists(checkpoint)) throw new IOException("checkpoint does not exist: " + checkpoint);
        Map<String, String> meta = Safetensors.readMetadata(checkpoint); // the header only; Checkpoint.load reads and checks the rest
        String name = meta.get("model"), classes = meta.get("classes"), size = meta.get("image_size");
        if (name == null || classes == null || size == null)
            throw new IOException(checkpoint + " is not a checkpoint written by 'pulmo train' (no model/classes/image_size metadata)");
        CheckpointMetadata.check(checkpoint, meta);
        List<String> cls = Arrays.asList(classes.split("\n"));
        int s;
        MaNet.Options mo;
        Module m;
        Augmentation aug;
        try {
            s = Integer.parseInt(size);
            mo = meta.containsKey("manet_mab") ? new MaNet.Options(Boolean.parseBoolean(meta.get("manet_mab")),
                Boolean.parseBoolean(meta.get("manet_fab")), MaNet.LossMode.valueOf(meta.get("manet_loss")), 16,
                Boolean.parseBoolean(meta.getOrDefault("manet_mutex_running_stats", "false")),
                // checkpoints written before the switch existed trained with the attention map differentiated
                Boolean.parseBoolean(meta.getOrDefault("manet_attention_grad", "true"))) : null;
            m = Models.create(name, cls.size(), s, 0, mo);
            aug = Augmentation.parse(meta.getOrDefault("augmentation", "none"));
        } catch (IllegalArgumentException | NullPointerException e) { // a damaged or hand-edited metadata value
            throw new IOException(checkpoint + ": corrupt metadata, the model cannot be rebuilt: " + e.getMessage());
        }
        Checkpoint.Info info = Checkpoint.load(checkpoint, m, null, Map.of());
        m.to(device).eval();
        return new TrainedModel(name, m, cls, s, aug, info.epoch());
    }

    /** The deterministic preprocessing the model was validated with. */
    public Transform evalTransform() { return augmentation.eval(imageSize); }
}
