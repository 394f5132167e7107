package org.pulmo.models;

import java.nio.charset.StandardCharsets;
import java.util.Map;
import org.pulmo.autograd.GradMode;
import org.pulmo.nn.Module;
import org.pulmo.tensor.Tensor;

/**
 * The portable weight generator "splitmix64-v1" of the PyTorch reference ({@code anchors/export_weights.py}):
 * every value is a function of the tensor's state-dict name, a seed and the flat index alone, so Java and
 * Python build bit-identical weights and inputs without shipping them. Spec (all arithmetic mod 2^64,
 * unsigned shifts):
 * <pre>
 *   fnv1a64(s)  FNV-1a 64 over the UTF-8 bytes of s (offset 0xcbf29ce484222325, prime 0x100000001b3)
 *   key(name)   fnv1a64(name) + seed * GOLDEN                      GOLDEN = 0x9E3779B97F4A7C15
 *   mix(z)      splitmix64's finaliser (Steele, Lea, Flood 2014)
 *   u01[i]      (mix(key + (i + 1) * GOLDEN) >>> 40) * 2^-24       i = flat row-major index, 24 bits
 *   value[i]    (float) (lo + (hi - lo) * u01[i])                   in double, rounded once
 * </pre>
 * Ranges by state-dict key and shape ({@link #range}): BN gamma [0.2, 0.4) (damped, so eval-mode activations
 * stay O(1)), BN beta and running_mean [-0.1, 0.1), running_var [0.75, 1.25), conv/linear weights
 * [-b, b) with b = sqrt(6 / fan_in), their biases [-1/sqrt(fan_in), 1/sqrt(fan_in)), num_batches_tracked 0.
 * fan_in = numel / shape[0] (the grouped conv's in/groups times the kernel area).
 */
public final class PortableInit {
    private PortableInit() {}

    /** The generator's name in the reference files' metadata ("init"). */
    public static final String VERSION = "splitmix64-v1";

    static final long GOLDEN = 0x9E3779B97F4A7C15L;

    static long fnv1a64(String s) {
        long h = 0xcbf29ce484222325L;
        for (byte b : s.getBytes(StandardCharsets.UTF_8)) {
            h ^= b & 0xff;
            h *= 0x100000001b3L;
        }
        return h;
    }

    static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }

    /** u01[0..n): the top 24 bits of each mixed counter, exactly representable, in [0, 1). */
    public static double[] uniform01(long seed, String name, int n) {
        long key = fnv1a64(name) + seed * GOLDEN;
        double[] u = new double[n];
        for (int i = 0; i < n; i++) u[i] = (mix(key + (i + 1L) * GOLDEN) >>> 40) * 0x1p-24;
        return u;
    }

    /** A tensor of {@code shape} uniform in [lo, hi), as {@code portable_uniform} in the reference. */
    public static Tensor uniform(long seed, String name, double lo, double hi, int... shape) {
        int n = 1;
        for (int d : shape) n = Math.multiplyExact(n, d);
        double[] u = uniform01(seed, name, n);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) (lo + (hi - lo) * u[i]);
        return Tensor.of(v, shape);
    }

    /** Class labels floor(u01 * numClasses) as floats (the reference stores them as int64). */
    public static Tensor labels(long seed, String name, int n, int numClasses) {
        double[] u = uniform01(seed, name, n);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (float) Math.floor(u[i] * numClasses);
        return Tensor.of(v, n);
    }

    static long fanIn(int[] shape) {
        long numel = 1;
        for (int d : shape) numel *= d;
        return numel / shape[0];
    }

    /**
     * {lo, hi} for a state-dict entry; {@code state} supplies the weight beside a bias. Throws for a name the
     * spec has no rule for (num_batches_tracked is handled by {@link #apply}).
     */
    public static double[] range(String key, int[] shape, Map<String, Tensor> state) {
        if (key.endsWith(".running_mean")) return new double[] {-0.1, 0.1};
        if (key.endsWith(".running_var")) return new double[] {0.75, 1.25};
        if (key.endsWith(".weight")) {
            if (shape.length == 1) return new double[] {0.2, 0.4};
            double b = Math.sqrt(6.0 / fanIn(shape));
            return new double[] {-b, b};
        }
        if (key.endsWith(".bias")) {
            String wName = key.substring(0, key.length() - ".bias".length()) + ".weight";
            Tensor w = state.get(wName);
            if (w == null) throw new IllegalArgumentException("no portable rule for " + key + ": no " + wName + " beside it");
            if (w.dim() == 1) return new double[] {-0.1, 0.1};
            double b = 1.0 / Math.sqrt(fanIn(w.shape()));
            return new double[] {-b, b};
        }
        throw new IllegalArgumentException("no portable rule for " + key + " " + java.util.Arrays.toString(shape));
    }

    /** Overwrites every parameter and buffer of {@code module} in place from its state-dict name and shape. */
    public static void apply(Module module, long seed) {
        Map<String, Tensor> state = module.stateDict();
        try (var ignored = GradMode.noGrad()) {
            for (var e : state.entrySet()) {
                String key = e.getKey();
                Tensor t = e.getValue();
                if (key.endsWith(".num_batches_tracked")) {
                    t.fill(0f);
                    continue;
                }
                int[] shape = t.shape();
                double[] r = range(key, shape, state);
                t.copyFrom(uniform(seed, key, r[0], r[1], shape));
            }
        }
    }
}
