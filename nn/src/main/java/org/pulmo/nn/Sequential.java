package org.pulmo.nn;

import java.util.ArrayList;
import java.util.List;
import org.pulmo.tensor.Tensor;

/** Applies its children in order; they are named "0", "1", ... as in PyTorch's nn.Sequential. */
public final class Sequential extends Module {
    private final List<Module> layers = new ArrayList<>();

    public Sequential(Module... layers) { for (Module m : layers) add(m); }

    public Sequential add(Module m) {
        if (m == null) throw new IllegalArgumentException("Sequential: layer " + layers.size() + " is null");
        registerModule(Integer.toString(layers.size()), m);
        layers.add(m);
        return this;
    }

    public Module get(int i) { return layers.get(i); }

    public int size() { return layers.size(); }

    /**
     * Each child on the previous one's output. A child that refuses its input (a wrong shape, say) is named in the
     * message by its index, as in the state-dict names: "Sequential[3] Conv2d(4, 8, ...) got input ...".
     */
    @Override public Tensor forward(Tensor x) {
        for (int i = 0; i < layers.size(); i++) {
            try {
                x = layers.get(i).forward(x);
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("Sequential[" + i + "] " + e.getMessage(), e);
            }
        }
        return x;
    }
}
