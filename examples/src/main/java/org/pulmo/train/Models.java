package org.pulmo.train;

import java.util.Locale;
import org.pulmo.data.Augmentation;
import org.pulmo.models.MaNet;
import org.pulmo.models.ModelRegistry;
import org.pulmo.nn.Module;
import org.pulmo.optim.LrSchedule;
import org.pulmo.tensor.Rng;

/**
 * Builds models by name for the CLI ({@link ModelRegistry}, plus MA-Net's ablation switches of Tables 7-8) and
 * knows each paper's training defaults.
 */
public final class Models {
    private Models() {}

    /**
     * The training defaults of the paper a model comes from.
     * <ul>
     *   <li>MA-Net (Zheng et al. 2022, Sec. 4.1): SGD, lr 0.01, momentum 0.9, batch 16 (read as 16 pairs), 120 epochs,
     *       images resized to 224 x 224 and not augmented (the paper augments only its small dataset-C: --augmentation
     *       ma-net); lr x0.5 every 30 epochs, our reading of eq. 17. Weight decay is not given; 1e-4 is our
     *       choice.</li>
     *   <li>DPN-SENet (and the other comparison networks): 100 epochs and the DPN-SENet augmentation as the
     *       paper gives; lr 0.01, momentum 0.9, step x0.5/30, batch 16, weight decay 1e-4 are our choice (the
     *       paper does not list them).</li>
     * </ul>
     * Departure: every default the papers do not give (above) is ours, and MA-Net's "batch size was 16" is read as 16
     * pairs (docs/FIDELITY.md).
     */
    public record Defaults(int epochs, int batchSize, float lr, float momentum, float weightDecay, String schedule,
                           Augmentation augmentation, int imageSize) {}

    public static Defaults defaults(String model) {
        int size = ModelRegistry.entry(model).defaultSize();
        if (isMaNet(model)) return new Defaults(120, 16, 0.01f, 0.9f, 1e-4f, "step", Augmentation.RESIZE, size);
        return new Defaults(100, 16, 0.01f, 0.9f, 1e-4f, "step", Augmentation.DPN_SENET, size);
    }

    public static boolean isMaNet(String model) { return model.startsWith("manet-"); }

    /** A fresh model; for MA-Net with the given ablation switches (null: the paper's full model). */
    public static Module create(String model, int classes, int imageSize, long seed, MaNet.Options maNet) {
        ModelRegistry.Entry e = ModelRegistry.entry(model); // unknown names fail here with the list of known ones
        if (isMaNet(model) && maNet != null && !maNet.equals(MaNet.Options.DEFAULT)) {
            if (imageSize < e.minSize()) throw new IllegalArgumentException(model + " needs inputs of at least " + e.minSize() + " pixels");
            Rng rng = new Rng(seed);
            return model.equals("manet-densenet169") ? MaNet.densenet169(classes, maNet, rng) : MaNet.resnet50(classes, maNet, rng);
        }
        return ModelRegistry.create(model, classes, imageSize, seed);
    }

    /**
     * "step" (x0.5 every 30 epochs), "step:P:F" (x F every P epochs: P a whole number of epochs from 1, F positive),
     * "cosine", "exp" or "constant", from base lr {@code lr}. Anything else, a rate that would stop or turn negative
     * among them, is refused naming {@code --schedule}.
     */
    public static LrSchedule schedule(String spec, double lr, int epochs) {
        String[] p = spec.toLowerCase(Locale.ROOT).split(":", -1);
        String choose = "; choose step, step:PERIOD:FACTOR (e.g. step:30:0.5), cosine, exp or constant";
        if (p.length > 1 && !(p[0].equals("step") && p.length == 3))
            throw new IllegalArgumentException("--schedule '" + spec + "': " + (p[0].equals("step") ? "step takes two parameters, PERIOD and FACTOR"
                : "only step takes parameters") + ", as step:PERIOD:FACTOR" + choose);
        return switch (p[0]) {
            case "step" -> {
                if (p.length == 1) yield new LrSchedule.Step(lr);
                int period;
                double factor;
                try {
                    period = Integer.parseInt(p[1]);
                    factor = Double.parseDouble(p[2]);
                } catch (NumberFormatException e) {
                    throw new IllegalArgumentException("--schedule '" + spec + "': PERIOD must be a whole number of epochs and FACTOR a number,"
                        + " as in step:30:0.5");
                }
                if (period < 1) throw new IllegalArgumentException("--schedule '" + spec + "': PERIOD must be at least 1 epoch, got " + period);
                if (!(factor > 0 && Double.isFinite(factor)))
                    throw new IllegalArgumentException("--schedule '" + spec + "': FACTOR must be a positive number, got " + p[2]
                        + (factor <= 0 ? " (the learning rate would stop or turn negative)" : ""));
                yield new LrSchedule.Step(lr, period, factor);
            }
            case "cosine" -> new LrSchedule.Cosine(lr, Math.max(1, epochs), 0);
            case "exp", "exponential" -> new LrSchedule.Exponential(lr);
            case "constant", "none" -> new LrSchedule.Constant(lr);
            default -> throw new IllegalArgumentException("--schedule '" + spec + "' is unknown" + choose);
        };
    }

    /** MA-Net's --manet-bn-stats by name: main (false: the mutex path leaves the running statistics alone) or both (true). */
    public static boolean mutexRunningStats(String name) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "main" -> false;
            case "both" -> true;
            default -> throw new IllegalArgumentException("unknown --manet-bn-stats '" + name + "'; choose main or both");
        };
    }

    /** MA-Net's --manet-attention-grad by name: through (true: MAB differentiated through its attention map) or constant (false). */
    public static boolean attentionGradient(String name) {
        return switch (name.toLowerCase(Locale.ROOT)) {
            case "through" -> true;
            case "constant" -> false;
            default -> throw new IllegalArgumentException("unknown --manet-attention-grad '" + name + "'; choose through or constant");
        };
    }

    /** MA-Net's loss switch by name: ce, ce-cs, adaptive, adaptive-grad. */
    public static MaNet.LossMode lossMode(String name) {
        return switch (name.toLowerCase(Locale.ROOT).replace('_', '-')) {
            case "ce" -> MaNet.LossMode.CE;
            case "ce-cs", "cecs" -> MaNet.LossMode.CE_CS;
            case "adaptive" -> MaNet.LossMode.ADAPTIVE;
            case "adaptive-grad" -> MaNet.LossMode.ADAPTIVE_GRAD;
            default -> throw new IllegalArgumentException("unknown MA-Net loss '" + name + "'; choose ce, ce-cs, adaptive or adaptive-grad");
        };
    }
}
