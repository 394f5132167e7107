package org.pulmo.nn;

import org.pulmo.ops.SeScale;
import org.pulmo.tensor.Rng;
import org.pulmo.tensor.Tensor;

/**
 * Squeeze-and-Excitation (Hu et al., "Squeeze-and-Excitation Networks", 2018, Fig. 1): per channel,
 * s = sigmoid(fc2(relu(fc1(mean over H, W of x)))) and y = x * s.
 * Shapes: x [N, C, H, W] -> squeeze [N, C] -> fc1 [N, C/r] -> fc2 [N, C] -> sigmoid s [N, C] -> y = x * s (s broadcast over H, W) [N, C, H, W].
 * r = 16 by default; the reduced width is floor(C / r), at least 1. Both FCs carry a bias (as the paper's
 * reference and timm's SEModule). The scale's page (equation, backward, reference, kernels, tests, benchmarks):
 * {@link SeScale}.
 */
public final class SqueezeExcitation extends Module {
    public final int channels, reduced;
    public final Linear fc1, fc2;

    public SqueezeExcitation(int channels, int reduction, Rng rng) {
        if (channels < 1 || reduction < 1) throw new IllegalArgumentException("SqueezeExcitation needs channels >= 1 and reduction >= 1, got " + channels + ", " + reduction);
        this.channels = channels;
        this.reduced = Math.max(1, channels / reduction);
        this.fc1 = registerModule("fc1", new Linear(channels, reduced, true, rng));
        this.fc2 = registerModule("fc2", new Linear(reduced, channels, true, rng));
    }

    public SqueezeExcitation(int channels, Rng rng) { this(channels, 16, rng); }

    @Override public Tensor forward(Tensor x) {
        if (x.dim() != 4 || x.shape()[1] != channels)
            throw new IllegalArgumentException("SqueezeExcitation(" + channels + ") needs [N, " + channels + ", H, W] input, got " + java.util.Arrays.toString(x.shape()));
        Tensor z = x.globalAvgPool();                  // [N, C]     Hu et al. eq. 2, squeeze: z
        Tensor s = fc2.forward(fc1.forward(z).relu()).sigmoid(); // eq. 3, excitation: s = sigmoid(W2 ReLU(W1 z)) (with biases), [N, C/r] then [N, C]
        return SeScale.seScale(x, s);                  // [N, C, H, W] eq. 4, F_scale: x * s[n, c] (page: org.pulmo.ops.SeScale)
    }

    @Override protected String extraRepr() { return channels + ", reduced=" + reduced; }
}
