package org.pulmo.models;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.pulmo.models.Dpn.SePlacement;
import org.pulmo.nn.Module;
import org.pulmo.tensor.Rng;

/**
 * Every model by name, with its class count and input size: what the CLI and the benchmarks create.
 * Names: {@code dpn92-se} (and {@code dpn92-se-resid}, SE on the residual part only), {@code dpn92},
 * {@code dpn68}, {@code dpn98}, {@code dpn107}, {@code dpn131}, {@code resnet18/34/50/101/152},
 * {@code densenet121/169/201}, {@code vgg16}, {@code vgg16-bn}, {@code inception-v3} (with the auxiliary head,
 * as torchvision's default), {@code manet-resnet50}, {@code manet-densenet169}.
 */
public final class ModelRegistry {
    private ModelRegistry() {}

    /** Builds a model for a class count from a seeded generator. */
    @FunctionalInterface
    public interface Factory {
        Module create(int numClasses, Rng rng);
    }

    /**
     * A registered model: the class count it is used with by default (4 for the DPN-SENet paper's COVID-19 /
     * normal / bacterial / viral task, 2 for MA-Net's COVID-19 / non-COVID, 1000 for ImageNet comparison nets),
     * its usual input size, and the smallest input its forward accepts in training (batch statistics need
     * more than one value per channel at the last BN: the smallest map is at least 2 x 2 or N >= 2).
     */
    public record Entry(String name, String description, int defaultClasses, int defaultSize, int minSize, Factory factory) {}

    private static final Map<String, Entry> ENTRIES = new LinkedHashMap<>();

    private static void add(String name, String description, int classes, int size, int minSize, Factory f) {
        ENTRIES.put(name, new Entry(name, description, classes, size, minSize, f));
    }

    static {
        // DPN-SENet's network as we read it: the paper says only that SE is introduced into DPN-92; a gate in
        // every block, on its whole last 1x1 output, is our reading (Dpn.SePlacement, docs/FIDELITY.md).
        add("dpn92-se", "DPN-92 with squeeze-excitation on each block's whole output (DPN-SENet)", 4, 224, 32,
            (c, r) -> new Dpn(Dpn.DPN92, SePlacement.ALL, c, r));
        add("dpn92-se-resid", "DPN-92 with squeeze-excitation on each block's residual part only", 4, 224, 32,
            (c, r) -> new Dpn(Dpn.DPN92, SePlacement.RESID, c, r));
        add("dpn92", "Dual Path Network 92", 1000, 224, 32, (c, r) -> new Dpn(Dpn.DPN92, SePlacement.NONE, c, r));
        add("dpn68", "Dual Path Network 68 (small)", 1000, 224, 32, (c, r) -> new Dpn(Dpn.DPN68, SePlacement.NONE, c, r));
        add("dpn98", "Dual Path Network 98", 1000, 224, 32, (c, r) -> new Dpn(Dpn.DPN98, SePlacement.NONE, c, r));
        add("dpn107", "Dual Path Network 107", 1000, 224, 32, (c, r) -> new Dpn(Dpn.DPN107, SePlacement.NONE, c, r));
        add("dpn131", "Dual Path Network 131", 1000, 224, 32, (c, r) -> new Dpn(Dpn.DPN131, SePlacement.NONE, c, r));
        add("resnet18", "ResNet-18", 1000, 224, 32, (c, r) -> new ResNet(ResNet.RESNET18, c, r));
        add("resnet34", "ResNet-34", 1000, 224, 32, (c, r) -> new ResNet(ResNet.RESNET34, c, r));
        add("resnet50", "ResNet-50", 1000, 224, 32, (c, r) -> new ResNet(ResNet.RESNET50, c, r));
        add("resnet101", "ResNet-101", 1000, 224, 32, (c, r) -> new ResNet(ResNet.RESNET101, c, r));
        add("resnet152", "ResNet-152", 1000, 224, 32, (c, r) -> new ResNet(ResNet.RESNET152, c, r));
        add("densenet121", "DenseNet-121", 1000, 224, 32, (c, r) -> new DenseNet(DenseNet.DENSENET121, c, r));
        add("densenet169", "DenseNet-169", 1000, 224, 32, (c, r) -> new DenseNet(DenseNet.DENSENET169, c, r));
        add("densenet201", "DenseNet-201", 1000, 224, 32, (c, r) -> new DenseNet(DenseNet.DENSENET201, c, r));
        add("vgg16", "VGG-16", 1000, 224, 32, (c, r) -> new Vgg(Vgg.VGG16, false, c, r));
        add("vgg16-bn", "VGG-16 with batch normalisation", 1000, 224, 32, (c, r) -> new Vgg(Vgg.VGG16, true, c, r));
        // Departure: DPN-SENet trains every network at 224 x 224 (Sec. 3.1, Fig. 1); Inception-v3 defaults to torchvision's 299, and
        // training reads its main logits only (the auxiliary head gets no loss) (docs/FIDELITY.md). Inception-v3 is what
        // Table 1 lists; the paper's text names "InceptionV4".
        add("inception-v3", "Inception-v3 with the auxiliary classifier (torchvision's default)", 1000, 299, 75,
            (c, r) -> new InceptionV3(c, true, r));
        add("manet-resnet50", "MA-Net (MAB + FAB after all five stages) on ResNet-50", 2, 224, 32,
            (c, r) -> MaNet.resnet50(c, MaNet.Options.DEFAULT, r));
        add("manet-densenet169", "MA-Net (MAB + FAB after all five stages) on DenseNet-169", 2, 224, 32,
            (c, r) -> MaNet.densenet169(c, MaNet.Options.DEFAULT, r));
    }

    public static List<String> names() { return new ArrayList<>(ENTRIES.keySet()); }

    public static Entry entry(String name) {
        Entry e = ENTRIES.get(name);
        if (e != null) return e;
        String lower = name.toLowerCase(java.util.Locale.ROOT);
        if (ENTRIES.containsKey(lower))   // one spelling, so that a checkpoint, its run.json and --resume agree on the name
            throw new IllegalArgumentException("unknown model '" + name + "': model names are lower case; did you mean '" + lower + "'?");
        throw new IllegalArgumentException("unknown model '" + name + "'; known: " + String.join(", ", ENTRIES.keySet()));
    }

    /**
     * A fresh model with the given class count for square inputs of {@code inputSize} pixels (checked against
     * the model's smallest input; the networks themselves accept any size from there, ending in a global pool
     * or, for VGG, an adaptive one).
     */
    public static Module create(String name, int numClasses, int inputSize, long seed) {
        Entry e = entry(name);
        if (numClasses < 1) throw new IllegalArgumentException("a model needs at least 1 class (--classes), got " + numClasses);
        if (inputSize < e.minSize())
            throw new IllegalArgumentException(name + " needs inputs of at least " + e.minSize() + " x " + e.minSize() + ", got " + inputSize);
        return e.factory().create(numClasses, new Rng(seed));
    }

    /** With the model's default input size and seed 0. */
    public static Module create(String name, int numClasses) { return create(name, numClasses, entry(name).defaultSize(), 0L); }
}
