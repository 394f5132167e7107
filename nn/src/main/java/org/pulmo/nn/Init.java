package org.pulmo.nn;

import org.pulmo.tensor.Rng;
import org.pulmo.tensor.Tensor;

/**
 * Weight initialisation as torchvision's ResNet does it, every draw from a seeded {@link Rng} so a run can be
 * repeated exactly. Fans follow {@code torch.nn.init._calculate_fan_in_and_fan_out}: for a weight
 * [out, in, k...] fan_in = in * prod(k) and fan_out = out * prod(k) (groups are not divided out).
 */
public final class Init {
    private Init() {}

    static long receptiveField(int[] shape) {
        long r = 1;
        for (int i = 2; i < shape.length; i++) r *= shape[i];
        return r;
    }

    public static long fanIn(int[] shape) { return shape[1] * receptiveField(shape); }

    public static long fanOut(int[] shape) { return shape[0] * receptiveField(shape); }

    /** Kaiming He et al. 2015, normal, mode fan_out, gain sqrt(2) for ReLU: std = sqrt(2 / fan_out). */
    public static Tensor kaimingNormalFanOut(Rng rng, int... shape) {
        float std = (float) Math.sqrt(2.0 / fanOut(shape));
        return Tensor.randn(rng, shape).mul(std);
    }

    /** Uniform in [-bound, bound). */
    public static Tensor uniform(Rng rng, float bound, int... shape) { return Tensor.rand(rng, -bound, bound, shape); }
}
