package org.pulmo.optim;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.pulmo.autograd.GradMode;
import org.pulmo.nn.BatchNorm;
import org.pulmo.nn.Module;
import org.pulmo.tensor.Tensor;

/**
 * Stochastic gradient descent with momentum, exactly {@code torch.optim.SGD}'s rule. Per parameter p with
 * gradient g, momentum mu, dampening tau, weight decay lambda and learning rate lr:
 * <pre>
 *   g = g + lambda * p                       (weight decay, when lambda != 0)
 *   b = g                      on the first step      (momentum buffer, when mu != 0)
 *   b = mu * b + (1 - tau) * g on later steps
 *   g = g + mu * b  (Nesterov)   or   g = b
 *   p = p - lr * g
 * </pre>
 * Parameters without a gradient are skipped. Each parameter has its own weight decay, so BN and bias
 * parameters can be left undecayed ({@link #forModule}). Parameters are known by name, so that the momentum
 * buffers can be saved and loaded with a checkpoint ({@link #stateDict()}).
 */
public final class Sgd {
    private final Map<String, Tensor> params;
    private final Map<String, Float> weightDecay;
    private final Map<String, Tensor> momentumBuffers = new LinkedHashMap<>();
    private float lr;
    public final float momentum, dampening;
    public final boolean nesterov;

    /**
     * @param params      parameters by name (a module's {@link Module#namedParameters()})
     * @param weightDecay per-parameter weight decay (missing names get 0)
     */
    public Sgd(Map<String, Tensor> params, Map<String, Float> weightDecay, float lr, float momentum, float dampening, boolean nesterov) {
        checkLr(lr);
        if (!(momentum >= 0) || Float.isInfinite(momentum)) throw new IllegalArgumentException("Sgd: momentum must be a finite number >= 0, got " + momentum);
        if (!Float.isFinite(dampening)) throw new IllegalArgumentException("Sgd: dampening must be finite, got " + dampening);
        if (params.isEmpty()) throw new IllegalArgumentException("Sgd: no parameters to optimise");
        java.util.Map<Tensor, String> seen = new java.util.IdentityHashMap<>();
        for (var e : params.entrySet()) {
            String before = seen.put(e.getValue(), e.getKey());
            if (before != null)   // it would be stepped twice per step
                throw new IllegalArgumentException("Sgd: parameters '" + before + "' and '" + e.getKey() + "' are the same tensor; give it once");
            if (e.getValue().gradFn() != null)   // its gradient is never kept, so it would never move
                throw new IllegalArgumentException("Sgd: parameter '" + e.getKey() + "' is computed from other tensors, not a leaf; optimise the tensors it is computed from");
        }
        for (var e : weightDecay.entrySet()) {
            if (!params.containsKey(e.getKey()))   // a misspelt name would leave its parameter without decay
                throw new IllegalArgumentException("Sgd: weight decay given for '" + e.getKey() + "', which is not one of the parameters");
            if (!(e.getValue() >= 0) || Float.isInfinite(e.getValue()))   // NaN too
                throw new IllegalArgumentException("Sgd: weight decay must be a finite number >= 0, got " + e.getValue() + " for " + e.getKey());
        }
        if (nesterov && (momentum <= 0 || dampening != 0))
            throw new IllegalArgumentException("Sgd: Nesterov momentum needs momentum > 0 and zero dampening (as PyTorch)");
        this.params = new LinkedHashMap<>(params);
        this.weightDecay = new LinkedHashMap<>();
        for (String name : params.keySet()) this.weightDecay.put(name, weightDecay.getOrDefault(name, 0f));
        this.lr = lr;
        this.momentum = momentum;
        this.dampening = dampening;
        this.nesterov = nesterov;
    }

    /** Every parameter with the same weight decay. */
    public Sgd(Map<String, Tensor> params, float lr, float momentum, float weightDecay) {
        this(params, uniform(params, weightDecay), lr, momentum, 0f, false);
    }

    private static Map<String, Float> uniform(Map<String, Tensor> params, float wd) {
        Map<String, Float> m = new LinkedHashMap<>();
        for (String k : params.keySet()) m.put(k, wd);
        return m;
    }

    /**
     * The usual set-up for a CNN: weight decay on conv and linear weights; when {@code decayNormAndBias} is
     * false, none on BatchNorm parameters and on biases (names ending in "bias").
     */
    public static Sgd forModule(Module model, float lr, float momentum, float weightDecay, boolean decayNormAndBias, boolean nesterov) {
        Map<String, Tensor> named = model.namedParameters();
        Map<String, Float> wd = new LinkedHashMap<>();
        List<String> exempt = decayNormAndBias ? List.of() : noDecayNames(model);
        for (String name : named.keySet()) wd.put(name, exempt.contains(name) ? 0f : weightDecay);
        return new Sgd(named, wd, lr, momentum, 0f, nesterov);
    }

    /** Names of the parameters of BatchNorm layers and of every parameter named "bias". */
    public static List<String> noDecayNames(Module model) {
        List<String> out = new ArrayList<>();
        for (var m : model.namedModules().entrySet()) {
            String prefix = m.getKey().isEmpty() ? "" : m.getKey() + ".";
            for (var p : m.getValue().namedParameters().entrySet()) {
                String local = p.getKey();
                if (local.contains(".")) continue; // a descendant's; visited with that module
                if (m.getValue() instanceof BatchNorm || local.equals("bias")) out.add(prefix + local);
            }
        }
        return out;
    }

    public float lr() { return lr; }

    public void setLr(float lr) {
        checkLr(lr);
        this.lr = lr;
    }

    private static void checkLr(float lr) {
        if (!(lr >= 0) || Float.isInfinite(lr)) throw new IllegalArgumentException("Sgd: learning rate must be a finite number >= 0, got " + lr);
    }

    public float weightDecay(String name) {
        Float wd = weightDecay.get(name);
        if (wd == null) throw new IllegalArgumentException("Sgd: no parameter named '" + name + "'");
        return wd;
    }

    /** Drops every parameter's gradient. */
    public void zeroGrad() { for (Tensor p : params.values()) p.zeroGrad(); }

    /**
     * One update of every parameter that has a gradient, all of a device's parameters in one call of
     * {@link org.pulmo.backend.Backend#sgdUpdateAll} (one launch on a GPU instead of one per parameter).
     */
    public void step() {
        try (var ignored = GradMode.noGrad()) {
            Map<org.pulmo.backend.Backend, List<String>> byBackend = new LinkedHashMap<>();
            for (var e : params.entrySet()) {
                Tensor p = e.getValue();
                if (p.grad() == null) continue;
                byBackend.computeIfAbsent(p.backend(), k -> new ArrayList<>()).add(e.getKey());
            }
            for (var group : byBackend.entrySet()) {
                List<String> names = group.getValue();
                int n = names.size();
                List<Tensor> ps = new ArrayList<>(n), gs = new ArrayList<>(n), bufs = new ArrayList<>(n);
                boolean[] first = new boolean[n];
                float[] wd = new float[n];
                for (int i = 0; i < n; i++) {
                    String name = names.get(i);
                    Tensor p = params.get(name);
                    Tensor buf = momentumBuffers.get(name);
                    first[i] = buf == null;
                    if (first[i] && momentum != 0f && p.backend().capturing())
                        throw new IllegalStateException("Sgd: parameter " + name + " gets its first update while the step is being recorded"
                            + " as a CUDA graph; its momentum buffer must exist before (run an ordinary step first)");
                    if (first[i] && momentum != 0f) {
                        buf = Tensor.wrap(p.backend().allocate(p.numel()), p.shape());
                        momentumBuffers.put(name, buf);
                    }
                    ps.add(p);
                    gs.add(p.grad());
                    bufs.add(buf);
                    wd[i] = weightDecay.get(name);
                }
                // d = g + wd*p; buf = momentum*buf + (1-dampening)*d (d on the first step); p -= lr*(buf or Nesterov's d + momentum*buf)
                group.getKey().sgdUpdateAll(ps, gs, bufs, first, lr, momentum, dampening, wd, nesterov);
            }
        }
        stepped();
    }

    /**
     * Records that the parameters with a gradient were changed in place (Storage.markChanged), so that a graph that
     * read them refuses to backpropagate: by {@link #step}, and by whoever runs a step outside it (a replayed CUDA graph).
     */
    public void stepped() {
        for (Tensor p : params.values()) if (p.grad() != null) p.storage().markChanged("an optimizer step");
    }

    /**
     * Every tensor that outlives a training step of {@code model} under this optimiser: the model's parameters
     * and buffers, the parameters' gradients and the momentum buffers (what a MemoryScope.Steps must keep).
     */
    public List<Tensor> trainingState(Module model) {
        List<Tensor> state = new ArrayList<>(model.stateDict().values());
        for (Tensor p : model.parameters()) if (p.grad() != null) state.add(p.grad());
        state.addAll(momentumBuffers.values());
        return state;
    }

    // ------------------------------------------------------------------ state

    /** The momentum buffers by parameter name (live tensors). Parameters not yet stepped have none. */
    public Map<String, Tensor> stateDict() { return new LinkedHashMap<>(momentumBuffers); }

    /**
     * Replaces the momentum buffers with copies of {@code state}. Every name must be a parameter of this
     * optimiser with the same shape; all are checked before anything changes.
     */
    public void loadStateDict(Map<String, Tensor> state) {
        checkStateDict(state);
        momentumBuffers.clear();
        for (String name : params.keySet()) {
            Tensor b = state.get(name);
            if (b != null) momentumBuffers.put(name, b.to(params.get(name).device()).copy());
        }
    }

    /** The checks of {@link #loadStateDict} without the change. */
    public void checkStateDict(Map<String, Tensor> state) {
        List<String> problems = new ArrayList<>();
        for (var e : state.entrySet()) {
            Tensor p = params.get(e.getKey());
            if (p == null) problems.add("unexpected momentum buffer '" + e.getKey() + "' (no such parameter)");
            else if (!Arrays.equals(p.shape(), e.getValue().shape()))
                problems.add("momentum buffer '" + e.getKey() + "': expected " + Arrays.toString(p.shape()) + ", got " + Arrays.toString(e.getValue().shape()));
        }
        if (!problems.isEmpty()) throw new IllegalArgumentException("Sgd state does not fit these parameters:\n  " + String.join("\n  ", problems));
    }

    public Map<String, Tensor> namedParameters() { return new LinkedHashMap<>(params); }
}
