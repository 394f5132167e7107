package org.pulmo.autograd;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.pulmo.tensor.Rng;
import org.pulmo.tensor.Tensor;

/**
 * Gradient check by central differences: the analytic gradient that {@code backward()} computes is compared
 * with {@code (L(x + h) - L(x - h)) / 2h}, element by element, as {@code |a - b| <= atol + rtol * |b|}
 * (a analytic, b numeric). Shipped in tensor-core's test jar so that nn and models tests reuse it.
 *
 * <p><b>The scalar.</b> The function under test maps a list of inputs to one or more outputs. They are
 * reduced to a scalar {@code L = sum_k <out_k, R_k>} with fixed random tensors R_k (seeded, never zero), so
 * that every output element matters: with {@code out.sum()} a backward that forgot a transpose or a
 * permutation of the gradient would still pass. Analytically, {@code out_k.backward(R_k)} computes exactly
 * dL/dx; numerically L is accumulated in double from the float outputs.
 *
 * <p><b>Float32 choices.</b> The op runs in float32, so L carries a rounding error of roughly
 * {@code 1e-7 * sqrt(#outputs) * |out|}; dividing by {@code 2h} magnifies it, which argues for a large step,
 * while the truncation error {@code h^2 f'''/6} argues for a small one. {@code h = 2^-8 ~ 3.9e-3} (a power of
 * two, so {@code x +- h} loses no bits for |x| < 1) balances the two for O(1) values; the step actually taken
 * is {@code float(x + h) - float(x - h)}, not 2h, to remove the rounding of the perturbed input. With it,
 * {@code rtol = 1e-2, atol = 1e-3} passes every correct op here with a wide margin and fails a gradient that
 * is off by a factor, a sign, a transpose or a missing term. Use {@link Options} to loosen them for deep
 * compositions (whole networks) and tighten them for smooth ops.
 *
 * <p><b>Inputs.</b> Differentiated inputs are the ones with {@code requiresGrad()}; others (gather indices,
 * running statistics) are held constant. Inputs must be leaves (no grad_fn) but may be non-contiguous
 * views of a leaf storage (a transposed or narrowed tensor), which checks that backward copes with strides;
 * they must not overlap themselves (no expanded tensors). Near a kink (ReLU at 0, ties in max-pool, |x| at
 * 0, max/min of equal values) the numeric derivative straddles two branches and means nothing: build inputs
 * with {@link #spaced} or {@link #spacedBy}, whose values are pairwise at least a gap apart and half a gap
 * from zero. The check also refuses an input whose numeric gradient is all zero (a check that cannot fail proves nothing), unless
 * {@link Options#allowZeroGradient()} says so.
 *
 * <p><b>Large inputs.</b> The full check costs two evaluations per input element. {@link #checkDirections}
 * instead compares directional derivatives: for a random unit direction v (over all inputs together),
 * {@code <grad L, v>} against {@code (L(x + h v) - L(x - h v)) / 2h}; a handful of directions catch any
 * gradient error that is not orthogonal to all of them, which random directions almost never are.
 */
public final class GradCheck {
    private GradCheck() {}

    /** The function under test: inputs in, one output out. */
    @FunctionalInterface
    public interface Fn {
        Tensor apply(List<Tensor> inputs);
    }

    /** The function under test with several outputs (split, batchNormStats, a model with two heads). */
    @FunctionalInterface
    public interface MultiFn {
        List<Tensor> apply(List<Tensor> inputs);
    }

    /**
     * @param eps     the half step h of the central difference
     * @param rtol    relative tolerance against the numeric value
     * @param atol    absolute tolerance
     * @param seed    seed of the random projection tensors R_k (and of the directions)
     * @param allowZeroGradient accept an input whose numeric gradient is zero everywhere
     */
    public record Options(double eps, double rtol, double atol, long seed, boolean allowZeroGradient) {
        public static final Options DEFAULT = new Options(0x1p-8, 1e-2, 1e-3, 1234L, false);

        public Options withEps(double e) { return new Options(e, rtol, atol, seed, allowZeroGradient); }

        public Options withTolerance(double r, double a) { return new Options(eps, r, a, seed, allowZeroGradient); }

        public Options allowingZeroGradient() { return new Options(eps, rtol, atol, seed, true); }
    }

    /** One compared value: input index, flat row-major element index (-1 for a direction), analytic, numeric. */
    public record Mismatch(int input, int element, int[] index, double analytic, double numeric) {
        @Override public String toString() {
            String where = element < 0 ? "direction " + (-element - 1) : "element " + element + " " + Arrays.toString(index);
            return String.format("input %d, %s: analytic %.6g, numeric %.6g, diff %.3g", input, where, analytic, numeric,
                Math.abs(analytic - numeric));
        }
    }

    /** What a check found. {@link #ok()} is false on any mismatch or on a gradient that is all zero. */
    public record Result(int compared, List<Mismatch> mismatches, List<String> problems, double maxAbsError) {
        public boolean ok() { return mismatches.isEmpty() && problems.isEmpty(); }

        /** The first mismatches (input index, element index, analytic, numeric) and any other problem. */
        public String report() {
            StringBuilder sb = new StringBuilder();
            sb.append(ok() ? "gradient check passed" : "gradient check FAILED").append(": ").append(compared)
                .append(" values compared, ").append(mismatches.size()).append(" mismatches, max |a - n| = ")
                .append(String.format("%.3g", maxAbsError));
            for (String p : problems) sb.append("\n  ").append(p);
            for (int i = 0; i < Math.min(10, mismatches.size()); i++) sb.append("\n  ").append(mismatches.get(i));
            if (mismatches.size() > 10) sb.append("\n  ... ").append(mismatches.size() - 10).append(" more");
            return sb.toString();
        }

        /** Throws an AssertionError carrying {@link #report()} unless the check passed. */
        public Result assertOk() {
            if (!ok()) throw new AssertionError(report());
            return this;
        }
    }

    // ------------------------------------------------------------------ entry points

    /** Full check of every element of every input that requires grad, default options; throws on failure. */
    public static void assertGradients(Fn f, Tensor... inputs) { check(f, Options.DEFAULT, inputs).assertOk(); }

    public static void assertGradients(Options o, Fn f, Tensor... inputs) { check(f, o, inputs).assertOk(); }

    public static Result check(Fn f, Tensor... inputs) { return check(f, Options.DEFAULT, inputs); }

    public static Result check(Fn f, Options o, Tensor... inputs) { return checkMulti(single(f), o, inputs); }

    public static Result checkMulti(MultiFn f, Options o, Tensor... inputs) {
        List<Tensor> in = checkInputs(inputs);
        List<Tensor> rs = projections(f, in, o.seed());
        Tensor[] analytic = analytic(f, in, rs);
        List<Mismatch> bad = new ArrayList<>();
        List<String> problems = new ArrayList<>();
        int compared = 0;
        double maxErr = 0;
        for (int i = 0; i < in.size(); i++) {
            Tensor x = in.get(i);
            if (!x.requiresGrad()) continue;
            int[] shape = x.shape();
            float[] a = analytic[i].toArray();
            double maxNumeric = 0;
            for (int e = 0; e < a.length; e++) {
                int[] idx = unravel(e, shape);
                float orig = x.get(idx);
                float hi = (float) (orig + o.eps()), lo = (float) (orig - o.eps());
                double lPlus = withValue(x, idx, hi, () -> loss(f, in, rs));
                double lMinus = withValue(x, idx, lo, () -> loss(f, in, rs));
                double numeric = (lPlus - lMinus) / ((double) hi - lo);
                double err = Math.abs(a[e] - numeric);
                maxErr = Math.max(maxErr, err);
                maxNumeric = Math.max(maxNumeric, Math.abs(numeric));
                compared++;
                if (!(err <= o.atol() + o.rtol() * Math.abs(numeric))) bad.add(new Mismatch(i, e, idx, a[e], numeric));
            }
            if (!o.allowZeroGradient() && a.length > 0 && maxNumeric <= o.atol())
                problems.add("input " + i + " of shape " + Arrays.toString(shape) + ": numeric gradient is zero everywhere "
                    + "(max " + maxNumeric + "), so this check cannot fail; use other inputs or Options.allowingZeroGradient()");
        }
        Result r = new Result(compared, List.copyOf(bad), List.copyOf(problems), maxErr);
        if (!r.ok()) System.out.println(r.report());
        return r;
    }

    /** Directional check with {@code directions} random unit directions, default options; throws on failure. */
    public static void assertDirections(int directions, Fn f, Tensor... inputs) {
        checkDirectionsMulti(single(f), Options.DEFAULT, directions, inputs).assertOk();
    }

    public static Result checkDirections(Fn f, Options o, int directions, Tensor... inputs) {
        return checkDirectionsMulti(single(f), o, directions, inputs);
    }

    /**
     * Compares {@code <grad L, v>} with {@code (L(x + h v) - L(x - h v)) / 2h} for random unit directions v
     * spanning all inputs that require grad. Mismatches carry element {@code -(d + 1)} for direction d.
     */
    public static Result checkDirectionsMulti(MultiFn f, Options o, int directions, Tensor... inputs) {
        List<Tensor> in = checkInputs(inputs);
        List<Tensor> rs = projections(f, in, o.seed());
        Tensor[] analytic = analytic(f, in, rs);
        Rng rng = new Rng(o.seed() ^ 0x5DEECE66DL);
        List<Mismatch> bad = new ArrayList<>();
        List<String> problems = new ArrayList<>();
        double maxErr = 0, maxNumeric = 0;
        List<float[]> saved = new ArrayList<>();
        for (Tensor x : in) saved.add(x.toArray());
        for (int d = 0; d < directions; d++) {
            List<float[]> v = new ArrayList<>();
            double norm2 = 0;
            for (Tensor x : in) {
                float[] dir = new float[(int) x.numel()];
                if (x.requiresGrad()) for (int e = 0; e < dir.length; e++) { dir[e] = (float) rng.nextGaussian(); norm2 += dir[e] * dir[e]; }
                v.add(dir);
            }
            double inv = 1 / Math.sqrt(norm2);
            double a = 0;
            for (int i = 0; i < in.size(); i++) {
                float[] dir = v.get(i);
                for (int e = 0; e < dir.length; e++) dir[e] *= (float) inv;
                if (in.get(i).requiresGrad()) {
                    float[] g = analytic[i].toArray();
                    for (int e = 0; e < dir.length; e++) a += (double) g[e] * dir[e];
                }
            }
            double lPlus = withShift(in, saved, v, o.eps(), () -> loss(f, in, rs));
            double lMinus = withShift(in, saved, v, -o.eps(), () -> loss(f, in, rs));
            double numeric = (lPlus - lMinus) / (2 * o.eps());
            double err = Math.abs(a - numeric);
            maxErr = Math.max(maxErr, err);
            maxNumeric = Math.max(maxNumeric, Math.abs(numeric));
            if (!(err <= o.atol() + o.rtol() * Math.abs(numeric))) bad.add(new Mismatch(-1, -(d + 1), new int[0], a, numeric));
        }
        if (!o.allowZeroGradient() && directions > 0 && maxNumeric <= o.atol())
            problems.add("every directional derivative is zero (max " + maxNumeric + "), so this check cannot fail");
        Result r = new Result(directions, List.copyOf(bad), List.copyOf(problems), maxErr);
        if (!r.ok()) System.out.println(r.report());
        return r;
    }

    // ------------------------------------------------------------------ inputs

    /**
     * Values pairwise at least {@code gap} apart and at least {@code gap / 2} away from zero, in random order:
     * the odd multiples of gap, {@code +-gap, +-3 gap, ...}, each jittered by at most gap / 2. Safe for
     * ReLU, abs, max-pool and max/min reductions as long as {@code gap > 2 * eps} (the default eps is
     * ~0.004, so gap 0.05 leaves room). With n values the range is about {@code +-n * gap}.
     */
    public static Tensor spacedBy(Rng rng, float gap, int... shape) {
        int n = (int) org.pulmo.tensor.Shapes.numel(shape);
        int[] perm = permutation(rng, n);
        float[] d = new float[n];
        for (int i = 0; i < n; i++) {
            float base = (perm[i] - n / 2 + 0.5f) * 2 * gap;
            d[i] = base + (rng.nextFloat() - 0.5f) * gap * 0.999f;
        }
        return Tensor.of(d, shape);
    }

    /** {@link #spacedBy} with a gap chosen so the values span about [-2, 2] (never below 0.02). */
    public static Tensor spaced(Rng rng, int... shape) {
        long n = org.pulmo.tensor.Shapes.numel(shape);
        return spacedBy(rng, Math.max(0.02f, 2f / Math.max(1, n)), shape);
    }

    /** Normal values, redrawn while any is closer than {@code minAbs} to zero (for 1/x, ReLU at random points). */
    public static Tensor randnAwayFromZero(Rng rng, float minAbs, int... shape) {
        float[] d = new float[(int) org.pulmo.tensor.Shapes.numel(shape)];
        for (int i = 0; i < d.length; i++) {
            float v;
            do { v = (float) rng.nextGaussian(); } while (Math.abs(v) < minAbs);
            d[i] = v;
        }
        return Tensor.of(d, shape);
    }

    /** Uniform in [lo, hi) (for log, sqrt, pow: positive inputs). */
    public static Tensor uniform(Rng rng, float lo, float hi, int... shape) { return Tensor.rand(rng, lo, hi, shape); }

    /** A seeded random permutation of 0..n-1 (Fisher-Yates). */
    public static int[] permutation(Rng rng, int n) {
        int[] p = new int[n];
        for (int i = 0; i < n; i++) p[i] = i;
        for (int i = n - 1; i > 0; i--) {
            int j = rng.nextInt(i + 1);
            int t = p[i]; p[i] = p[j]; p[j] = t;
        }
        return p;
    }

    /** Marks every tensor as requiring grad and returns them (for {@code check(f, leaves(a, b))}). */
    public static Tensor[] leaves(Tensor... ts) {
        for (Tensor t : ts) t.requiresGrad(true);
        return ts;
    }

    // ------------------------------------------------------------------ machinery

    private static MultiFn single(Fn f) { return in -> List.of(f.apply(in)); }

    private static List<Tensor> checkInputs(Tensor[] inputs) {
        boolean any = false;
        for (int i = 0; i < inputs.length; i++) {
            Tensor x = inputs[i];
            if (x.gradFn() != null)
                throw new IllegalArgumentException("GradCheck: input " + i + " was computed by '" + x.gradFn().op()
                    + "'; pass leaves (a view of a tensor made without grad, then requiresGrad(true), is fine)");
            for (int s : x.strides())
                if (s == 0) throw new IllegalArgumentException("GradCheck: input " + i + " has a zero stride (expanded); "
                    + "perturbing one element would move several. Expand inside the function instead");
            any |= x.requiresGrad();
        }
        if (!any) throw new IllegalArgumentException("GradCheck: no input requires grad");
        return Arrays.asList(inputs);
    }

    /** R_k: seeded normal tensors shaped like each output (values at least 0.1 from zero). */
    private static List<Tensor> projections(MultiFn f, List<Tensor> in, long seed) {
        List<Tensor> outs;
        try (var s = GradMode.noGrad()) { outs = f.apply(in); }
        Rng rng = new Rng(seed);
        List<Tensor> rs = new ArrayList<>();
        for (Tensor out : outs) rs.add(randnAwayFromZero(rng, 0.1f, out.shape()));
        return rs;
    }

    private static Tensor[] analytic(MultiFn f, List<Tensor> in, List<Tensor> rs) {
        for (Tensor x : in) x.zeroGrad();
        List<Tensor> outs = f.apply(in);
        if (outs.size() != rs.size()) throw new IllegalStateException("GradCheck: the function returned " + outs.size() + " outputs, then " + rs.size());
        for (int k = 0; k < outs.size(); k++) {
            Tensor out = outs.get(k);
            if (out.requiresGrad()) out.backward(rs.get(k), k < outs.size() - 1);
        }
        Tensor[] g = new Tensor[in.size()];
        for (int i = 0; i < in.size(); i++) {
            Tensor x = in.get(i);
            g[i] = x.grad() != null ? x.grad() : Tensor.zeros(x.shape());
            if (x.grad() != null && !Arrays.equals(x.grad().shape(), x.shape()))
                throw new AssertionError("gradient of input " + i + " has shape " + Arrays.toString(x.grad().shape())
                    + ", input " + Arrays.toString(x.shape()));
            x.zeroGrad();
        }
        return g;
    }

    /** L = sum_k <out_k, R_k>, accumulated in double, computed without a graph. */
    private static double loss(MultiFn f, List<Tensor> in, List<Tensor> rs) {
        try (var s = GradMode.noGrad()) {
            List<Tensor> outs = f.apply(in);
            double l = 0;
            for (int k = 0; k < outs.size(); k++) {
                float[] y = outs.get(k).toArray(), r = rs.get(k).toArray();
                if (y.length != r.length) throw new IllegalStateException("GradCheck: output " + k + " changed size between calls");
                for (int j = 0; j < y.length; j++) l += (double) y[j] * r[j];
            }
            return l;
        }
    }

    private interface Eval { double run(); }

    private static double withValue(Tensor x, int[] idx, float v, Eval e) {
        try (var s = GradMode.noGrad()) {
            float orig = x.get(idx);
            x.set(v, idx);
            try { return e.run(); } finally { x.set(orig, idx); }
        }
    }

    private static double withShift(List<Tensor> in, List<float[]> saved, List<float[]> v, double h, Eval e) {
        try (var s = GradMode.noGrad()) {
            for (int i = 0; i < in.size(); i++) {
                float[] x0 = saved.get(i), dir = v.get(i), xs = new float[x0.length];
                for (int j = 0; j < xs.length; j++) xs[j] = (float) (x0[j] + h * dir[j]);
                in.get(i).copyFrom(Tensor.of(xs, in.get(i).shape()));
            }
            try { return e.run(); }
            finally { for (int i = 0; i < in.size(); i++) in.get(i).copyFrom(Tensor.of(saved.get(i), in.get(i).shape())); }
        }
    }

    static int[] unravel(int flat, int[] shape) {
        int[] idx = new int[shape.length];
        for (int d = shape.length - 1; d >= 0; d--) {
            idx[d] = flat % shape[d];
            flat /= shape[d];
        }
        return idx;
    }
}
