package org.pulmo.examples;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.pulmo.models.MaNet;
import org.pulmo.train.PretrainedWeights;
import org.pulmo.train.TrainedModel;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * {@code pulmo export -c CKPT -o model.safetensors}: a trained checkpoint's model weights as a plain PyTorch state
 * dict (torchvision/timm names, float32, {@code num_batches_tracked} as int64), which
 * {@code model.load_state_dict(safetensors.torch.load_file(...))} accepts for the torchvision or timm model of the
 * same name and class count. MA-Net: its backbone, as a plain torchvision model.
 */
@Command(name = "export", mixinStandardHelpOptions = true, sortOptions = false,
    description = {"Write a checkpoint's model weights as a plain PyTorch state dict (safetensors) for torchvision or timm.",
        "MA-Net: the backbone alone (what its inference runs), as a plain torchvision ResNet-50 or DenseNet-169."})
public final class ExportCommand implements Callable<Integer> {
    @Option(names = {"-c", "--checkpoint"}, required = true, description = "A checkpoint written by 'pulmo train'.") Path checkpoint;
    @Option(names = {"-o", "--out"}, required = true, description = "The safetensors file to write.") Path out;
    @Option(names = "--overwrite", description = "Replace --out if it exists.") boolean overwrite;

    @Override public Integer call() throws Exception {
        if (Files.isDirectory(out)) throw new IllegalArgumentException("--out " + out + " is a folder; give a file name such as model.safetensors");
        if (Files.exists(out) && !overwrite) throw new IllegalArgumentException("--out " + out + " exists; give --overwrite to replace it");
        TrainedModel tm = TrainedModel.load(checkpoint);
        int n = tm.classes().size();
        Cli.write(out, f -> PretrainedWeights.export(tm.model(), f));
        int tensors = PretrainedWeights.exportable(tm.model()).size();
        System.out.printf(Locale.ROOT, "Wrote %d tensors of %s (%d classes: %s, epoch %d) to %s (float32; num_batches_tracked int64)%n",
            tensors, tm.name(), n, String.join(", ", tm.classes()), tm.epoch(), out);
        if (tm.model() instanceof MaNet)
            System.out.println("  MA-Net: the backbone alone, 'backbone.' stripped: a plain torchvision model, which is what MA-Net's"
                + " inference runs (FAB and MAB act on the training pairs only)");
        String py = PretrainedWeights.pytorchModel(tm.name(), n);
        if (py != null)
            System.out.printf("  In PyTorch: m = %s; m.load_state_dict(safetensors.torch.load_file(\"%s\"))%n", py, out.toAbsolutePath().normalize());
        else
            System.out.println("  " + tm.name() + " has no PyTorch definition at hand; timm's dpn92 takes all but the SE tensors"
                + " (strict=False) and computes another function");
        if (tm.name().equals("dpn92-se"))
            System.out.println("  torch_roundtrip is scripts/torch_roundtrip.py of Pulmo's repository (no torchvision or timm model has"
                + " DPN-92-SE's SE layers; timm's dpn92 takes the other tensors with strict=False, and computes another function)");
        else if (tm.name().matches("dpn\\d+"))
            System.out.println("  fc_act_layer=\"relu\": Pulmo's conv5_bn_ac ends in ReLU, timm's default in ELU (same tensors,"
                + " other logits); older timm releases call the option fc_act");
        System.out.println("  Inputs as in training: RGB in [0, 1], normalised with ImageNet's mean (0.485, 0.456, 0.406) and std"
            + " (0.229, 0.224, 0.225), " + tm.imageSize() + " x " + tm.imageSize());
        return 0;
    }
}
