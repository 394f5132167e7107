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

    /** Kaiming normal, mode fan_in (PyTorch's {@code kaiming_normal_} default), gain sqrt(2): std = sqrt(2 / fan_in). */
    public static Tensor kaimingNormalFanIn(Rng rng, int... shape) {
        return normal(rng, (float) Math.sqrt(2.0 / fanIn(shape)), shape);
    }

    /** Normal with mean 0 and standard deviation {@code std}. */
    public static Tensor normal(Rng rng, float std, int... shape) { return Tensor.randn(rng, shape).mul(std); }

    /**
     * Normal with mean 0 and standard deviation {@code std}, values outside [a, b] drawn again (PyTorch's
     * {@code trunc_normal_}; its bounds are absolute, not in standard deviations).
     */
    public static Tensor truncatedNormal(Rng rng, float std, float a, float b, int... shape) {
        float[] v = Tensor.randn(rng, shape).mul(std).toArray();
        for (int i = 0; i < v.length; i++)
            while (v[i] < a || v[i] > b) v[i] = (float) (rng.nextGaussian() * std);
        return Tensor.of(v, shape);
    }

    /** Uniform in [-bound, bound). */
    public static Tensor uniform(Rng rng, float bound, int... shape) { return Tensor.rand(rng, -bound, bound, shape); }
}
