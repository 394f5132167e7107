package org.pulmo.cuda;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.pulmo.models.MaNet;
import org.pulmo.nn.BatchNorm;
import org.pulmo.nn.Module;
import org.pulmo.nn.loss.Losses;
import org.pulmo.optim.Sgd;
import org.pulmo.tensor.Device;
import org.pulmo.tensor.Tensor;

/**
 * Whole-model parity of a few training steps on two devices: the same weights (the model built twice from one
 * seed), the same batch, and {@link #STEPS} steps of forward, loss, backward and SGD (lr 0.01, momentum 0.9,
 * weight decay 1e-4) with ONE optimiser on each, so that the momentum buffers and the weight decay of the steps
 * after the first are compared too (a fresh optimiser per step would compare only the first step's {@code b = g}).
 * After every step, every observable, compared by relative L2 error ||a - b|| / max(||b||, 1e-7 sqrt(n)) (the
 * floor keeps a gradient that is zero up to rounding, as a bias before batch norm has, from dividing by
 * zero). Observables: the model's outputs and loss, each parameter's gradient, each batch norm's running
 * statistics after the forward, and what the SGD step changed in each parameter.
 *
 * <p>Used by {@link WholeModelParityTest} (CPU against GPU) and, on the CPU alone, to prove that the
 * comparison catches a deliberately wrong gradient or momentum buffer ({@link TrainingStepParityTest}).
 */
final class TrainingStepParity {
    private TrainingStepParity() {}

    static final float LR = 0.01f, MOMENTUM = 0.9f, WEIGHT_DECAY = 1e-4f;
    /** Steps per comparison: the second is the first to use a momentum buffer, the third one built from two steps. */
    static final int STEPS = 3;

    /**
     * What one step left behind, as host arrays by name (insertion order: outputs, gradients, statistics, updates).
     * {@code updates} holds what the SGD step changed, parameter after minus before: compared relatively, the
     * parameters themselves would hide the update behind their own size (a weight) or show only the gradient's
     * noise (a zero-initialised bias, whose update is -lr * grad). {@code resolution} holds, per parameter, the L2 norm
     * of the spacing of float32 values at its new values (one ulp each): storing p - lr * b rounds to that spacing, so
     * two devices whose updates agree to a part in 1e7 can still store parameters an ulp apart, and where the update is
     * a few hundred ulps (a batch norm weight near 1 with a small gradient) that ulp is a relative error of 1e-3 in
     * after - before. The comparison takes it off the difference before dividing (see compare).
     */
    record StepResult(String label, Map<String, float[]> outputs, Map<String, float[]> grads, Map<String, float[]> stats,
                      Map<String, float[]> updates, Map<String, Double> resolution) {}

    /** Relative L2 tolerances per kind of observable. */
    record Tolerances(double outputs, double grads, double stats, double params) {}

    /**
     * A deliberate bug, applied in step {@code step} (1-based) after backward and before the SGD step: it may
     * change the gradients or the optimiser's momentum buffers (those left by the steps before).
     */
    interface Plant {
        void apply(int step, Module model, Sgd sgd);
    }

    /** The comparison's table (one line per observable and step, each line starting "step k") and its failures (likewise). */
    record Comparison(List<String> table, List<String> failures, double worstGrad) {
        boolean passed() { return failures.isEmpty(); }

        String report(String title) {
            StringBuilder sb = new StringBuilder(title).append('\n');
            for (String l : table) sb.append("  ").append(l).append('\n');
            sb.append(String.format("  worst gradient relL2 %.2e; %d failure(s)", worstGrad, failures.size()));
            return sb.toString();
        }
    }

    /** The forward of one model kind: from the model, the batch on the device, to named outputs and the loss to call backward on. */
    interface Forward {
        /** Returns the outputs by name; the entry "loss" is the scalar to differentiate. */
        Map<String, Tensor> run(Module model, List<Tensor> batch);
    }

    /** A classifier (DPN-92-SE): batch = {x, labels}; outputs logits and mean cross-entropy. */
    static final Forward CLASSIFIER = (model, b) -> {
        Map<String, Tensor> out = new LinkedHashMap<>();
        Tensor logits = model.forward(b.get(0));
        out.put("logits", logits);
        out.put("loss", Losses.crossEntropy(logits, b.get(1)));
        return out;
    };

    /** MA-Net on a pair: batch = {x, m, yX, yM}; outputs both paths' logits, L_CE, L_CS and the adaptive total. */
    static final Forward MANET_PAIR = (model, b) -> {
        MaNet net = (MaNet) model;
        MaNet.PairOutput o = net.forwardPair(b.get(0), b.get(1));
        MaNet.LossValue l = net.loss(o, b.get(2), b.get(3));
        Map<String, Tensor> out = new LinkedHashMap<>();
        out.put("logits_x", o.logitsX());
        out.put("logits_m", o.logitsM());
        out.put("l_ce", Tensor.scalar(l.ce()));
        out.put("l_cs", Tensor.scalar(l.cs()));
        out.put("loss", l.total());
        return out;
    };

    /**
     * {@code steps} training steps of {@code model} (already on {@code device}) in train or eval mode on the host
     * {@code batch} (copied to the device once), with one optimiser; one result per step. {@code plant} may
     * change gradients or momentum before each SGD step (null: none).
     */
    static List<StepResult> run(String label, Module model, Device device, boolean train, List<Tensor> batch, Forward forward,
                                int steps, Plant plant) {
        model.train(train);
        Sgd sgd = Sgd.forModule(model, LR, MOMENTUM, WEIGHT_DECAY, false, false);
        List<Tensor> onDevice = new ArrayList<>();
        for (Tensor t : batch) onDevice.add(t.to(device));
        List<StepResult> results = new ArrayList<>();
        for (int step = 1; step <= steps; step++) {
            String at = label + " step " + step;
            sgd.zeroGrad();
            Map<String, Tensor> out = forward.run(model, onDevice);
            out.get("loss").backward();
            if (plant != null) plant.apply(step, model, sgd);
            Map<String, float[]> outputs = new LinkedHashMap<>(), grads = new LinkedHashMap<>(), stats = new LinkedHashMap<>(),
                after = new LinkedHashMap<>();
            out.forEach((k, v) -> outputs.put(k, v.toArray()));
            model.namedParameters().forEach((k, p) -> {
                if (p.grad() == null) throw new AssertionError(at + ": no gradient reached " + k);
                grads.put(k, p.grad().toArray());
            });
            model.namedModules().forEach((k, m) -> {
                if (m instanceof BatchNorm bn) {
                    stats.put(k + ".running_mean", bn.runningMean.toArray());
                    stats.put(k + ".running_var", bn.runningVar.toArray());
                }
            });
            Map<String, float[]> before = new LinkedHashMap<>();
            Map<String, Double> resolution = new LinkedHashMap<>();
            model.namedParameters().forEach((k, p) -> before.put(k, p.toArray()));
            sgd.step();
            model.namedParameters().forEach((k, p) -> {
                float[] v = p.toArray(), b = before.get(k);
                double ulps = 0;
                for (int i = 0; i < v.length; i++) {
                    ulps += (double) Math.ulp(v[i]) * Math.ulp(v[i]);
                    v[i] -= b[i];
                }
                after.put(k, v);
                resolution.put(k, Math.sqrt(ulps));
            });
            results.add(new StepResult(at, outputs, grads, stats, after, resolution));
        }
        return results;
    }

    static double relL2(float[] actual, float[] expected) { return relL2(actual, expected, 1e-7); }

    /** Root mean square of v. */
    static double rms(float[] v) {
        double s = 0;
        for (float x : v) s += (double) x * x;
        return Math.sqrt(s / Math.max(1, v.length));
    }

    /**
     * ||actual - expected|| / max(||expected||, rmsFloor * sqrt(n)). The floor keeps values that are zero in exact
     * arithmetic (a bias right before a training-mode batch norm has a zero gradient; with a batch of 2 the whole
     * layer in front of it nearly so) from turning rounding noise into a relative error of order one.
     */
    static double relL2(float[] actual, float[] expected, double rmsFloor) { return relL2(actual, expected, rmsFloor, 0); }

    /**
     * As {@link #relL2(float[], float[], double)}, with {@code resolution} taken off ||actual - expected|| first (not
     * below 0): the part of the difference that rounding to the stored float32 values alone can make.
     */
    static double relL2(float[] actual, float[] expected, double rmsFloor, double resolution) {
        if (actual.length != expected.length) return Double.POSITIVE_INFINITY;
        double num = 0, den = 0;
        for (int i = 0; i < actual.length; i++) {
            double d = (double) actual[i] - expected[i];
            num += d * d;
            den += (double) expected[i] * expected[i];
        }
        double floor = rmsFloor * Math.sqrt(Math.max(1, actual.length));
        double diff = Math.sqrt(num);
        if (resolution > 0 && diff > 0) diff = Math.max(0, diff - resolution); // keeps NaN
        return diff / Math.max(Math.sqrt(den), floor); // NaN stays NaN and fails below
    }

    /**
     * A bias is measured against 1e-4 of its layer's weight gradient (or update): a bias right before a
     * training-mode batch norm (MA-Net's FAB fc1 before bn1) has a gradient that is zero in exact arithmetic, and
     * its float32 value is the rounding noise of a sum that cancels, different on every device (relL2 3 between CPU
     * and GPU on the anchor's MA-Net). A genuine bias gradient is of the order of its weight's and is not affected;
     * a wrong non-zero one at 1e-3 of the weight's still fails.
     */
    static double biasFloor(Map<String, float[]> want, String name) {
        if (!name.endsWith(".bias")) return 0;
        float[] w = want.get(name.substring(0, name.length() - ".bias".length()) + ".weight");
        return w == null ? 0 : 1e-4 * rms(w);
    }

    /** Step by step, every observable of {@code expected} against {@code actual}; a missing step or name is a failure. */
    static Comparison compare(List<StepResult> expected, List<StepResult> actual, Tolerances tol) {
        return compare(expected, actual, tol, tol);
    }

    /** As {@link #compare(List, List, Tolerances)}, the first step held to {@code first}, the later ones to {@code later}. */
    static Comparison compare(List<StepResult> expected, List<StepResult> actual, Tolerances first, Tolerances later) {
        List<String> table = new ArrayList<>(), failures = new ArrayList<>();
        double worstGrad = 0;
        if (expected.size() != actual.size()) failures.add("steps: " + expected.size() + " vs " + actual.size());
        for (int i = 0; i < Math.min(expected.size(), actual.size()); i++) {
            Comparison c = compare(expected.get(i), actual.get(i), i == 0 ? first : later);
            String step = "step " + (i + 1) + " ";
            c.table().forEach(l -> table.add(step + l));
            c.failures().forEach(f -> failures.add(step + f));
            worstGrad = Math.max(worstGrad, c.worstGrad());
        }
        return new Comparison(table, failures, worstGrad);
    }

    /** Every observable of {@code expected} against {@code actual}; a missing name is a failure. */
    static Comparison compare(StepResult expected, StepResult actual, Tolerances tol) {
        List<String> table = new ArrayList<>(), failures = new ArrayList<>();
        double[] worstGrad = {0};
        // resolution: per name, what rounding to the stored values alone can make of the difference (updates only, StepResult)
        record Kind(String name, Map<String, float[]> want, Map<String, float[]> got, double tol, java.util.function.ToDoubleFunction<String> resolution) {}
        java.util.function.ToDoubleFunction<String> none = name -> 0;
        for (Kind k : List.of(new Kind("output", expected.outputs(), actual.outputs(), tol.outputs(), none),
                new Kind("grad", expected.grads(), actual.grads(), tol.grads(), none),
                new Kind("running", expected.stats(), actual.stats(), tol.stats(), none),
                // one ulp per element of the larger of the two sides' stored parameters
                new Kind("SGD step", expected.updates(), actual.updates(), tol.params(),
                    name -> Math.max(expected.resolution().getOrDefault(name, 0d), actual.resolution().getOrDefault(name, 0d))))) {
            if (!k.want().keySet().equals(k.got().keySet())) {
                failures.add(k.name() + ": names differ: " + k.want().keySet() + " vs " + k.got().keySet());
                continue;
            }
            // floor: 1e-6 of the largest RMS of this kind across the model (gradients of a layer span decades;
            // those far below the largest are rounding noise of cancelling sums, see relL2)
            double scale = k.want().values().stream().mapToDouble(TrainingStepParity::rms).max().orElse(0);
            double rmsFloor = Math.max(1e-7, 1e-6 * scale);
            k.want().forEach((name, want) -> {
                double err = relL2(k.got().get(name), want, Math.max(rmsFloor, biasFloor(k.want(), name)), k.resolution().applyAsDouble(name));
                boolean ok = err <= k.tol(); // NaN fails
                if (k.name().equals("grad")) worstGrad[0] = Math.max(worstGrad[0], Double.isNaN(err) ? Double.POSITIVE_INFINITY : err);
                table.add(String.format("%-10s %-60s relL2 %.2e tol %.0e %s", k.name(), name, err, k.tol(), ok ? "ok" : "FAIL"));
                if (!ok) failures.add(k.name() + " " + name + ": relL2 " + err + " > " + k.tol());
            });
        }
        return new Comparison(table, failures, worstGrad[0]);
    }
}
