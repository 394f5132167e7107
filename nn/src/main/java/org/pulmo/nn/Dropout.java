package org.pulmo.nn;

import org.pulmo.tensor.Rng;
import org.pulmo.tensor.Tensor;

/**
 * In training, zeroes each element with probability p and scales the rest by 1 / (1 - p) (inverted dropout,
 * so evaluation is the identity). The mask is drawn from the given {@link Rng}: save that generator's state
 * with a checkpoint and resumed training draws the same masks.
 */
public final class Dropout extends Module {
    public final float p;
    private final Rng rng;

    public Dropout(float p, Rng rng) {
        if (!(p >= 0f && p < 1f)) throw new IllegalArgumentException("Dropout probability must be in [0, 1), got " + p);
        this.p = p;
        this.rng = rng;
    }

    @Override public Tensor forward(Tensor x) {
        if (!isTraining() || p == 0f) return x;
        // The mask is drawn on the host: a recorded step (CUDA graph) would replay the first mask at every step, and the
        // generator would stop moving. Refused, so that the recording fails and the steps run as ordinary code.
        if (x.backend().capturing())
            throw new IllegalStateException("Dropout draws its mask on the host, so a training step with dropout cannot be recorded as a"
                + " CUDA graph (every replay would reuse one mask)");
        float keep = 1f / (1f - p);
        float[] mask = new float[Math.toIntExact(x.numel())];
        for (int i = 0; i < mask.length; i++) mask[i] = rng.nextFloat() < p ? 0f : keep;
        return x.mul(Tensor.of(mask, x.shape()).to(x.device()));
    }

    /**
     * The generators of every Dropout in {@code model}, by the module's name ("dropout" + its path, e.g.
     * {@code dropout.classifier.2}): what a checkpoint saves so that resumed training draws the masks an unbroken run
     * would have drawn. Empty for a model without dropout.
     */
    public static java.util.Map<String, Rng> generators(Module model) {
        java.util.Map<String, Rng> out = new java.util.LinkedHashMap<>();
        for (var e : model.namedModules().entrySet())
            if (e.getValue() instanceof Dropout d) out.put(e.getKey().isEmpty() ? "dropout" : "dropout." + e.getKey(), d.rng);
        return out;
    }

    @Override protected String extraRepr() { return "p=" + p; }
}
