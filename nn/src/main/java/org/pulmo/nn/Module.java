package org.pulmo.nn;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.pulmo.autograd.GradMode;
import org.pulmo.tensor.Tensor;

/**
 * A layer or a network: parameters (tensors that require grad and that the optimiser changes), buffers
 * (state that is saved but not trained, such as BatchNorm's running statistics) and child modules, each by
 * name. Names nest with dots, as PyTorch writes them ({@code layer1.0.conv1.weight}), so that a state dict
 * here and one from PyTorch differ at most by a name map.
 *
 * <p>Order: a module's own parameters, then its own buffers, then each child in registration order, as
 * {@code torch.nn.Module.state_dict()} does.
 */
public abstract class Module {
    private final Map<String, Tensor> parameters = new LinkedHashMap<>();
    private final Map<String, Tensor> buffers = new LinkedHashMap<>();
    private final Map<String, Module> children = new LinkedHashMap<>();
    private boolean training = true;

    public abstract Tensor forward(Tensor x);

    // ------------------------------------------------------------------ registration

    private void checkName(String name, String what) {
        if (name == null || name.isEmpty() || name.contains("."))
            throw new IllegalArgumentException(what + " name must be non-empty and contain no '.', got '" + name + "'");
        if (parameters.containsKey(name) || buffers.containsKey(name) || children.containsKey(name))
            throw new IllegalArgumentException(getClass().getSimpleName() + " already has a member named '" + name + "'");
    }

    /** Registers a trainable tensor (marks it requiresGrad) and returns it. */
    protected final Tensor registerParameter(String name, Tensor value) {
        checkName(name, "parameter");
        parameters.put(name, value.requiresGrad(true));
        return value;
    }

    /** Registers saved, untrained state (running statistics, counters) and returns it. */
    protected final Tensor registerBuffer(String name, Tensor value) {
        checkName(name, "buffer");
        buffers.put(name, value);
        return value;
    }

    protected final <M extends Module> M registerModule(String name, M module) {
        checkName(name, "module");
        children.put(name, module);
        return module;
    }

    // ------------------------------------------------------------------ walking

    /** Direct children by name. */
    public final Map<String, Module> namedChildren() { return Collections.unmodifiableMap(children); }

    /** This module (name "") and every descendant by dotted name, parents first. */
    public final Map<String, Module> namedModules() {
        Map<String, Module> out = new LinkedHashMap<>();
        collectModules("", out);
        return out;
    }

    private void collectModules(String name, Map<String, Module> out) {
        out.put(name, this);
        for (var e : children.entrySet()) e.getValue().collectModules(name.isEmpty() ? e.getKey() : name + "." + e.getKey(), out);
    }

    /** Every parameter by full name; a tensor registered twice appears once, under its first name. */
    public final Map<String, Tensor> namedParameters() { return collect(true, false); }

    public final Map<String, Tensor> namedBuffers() { return collect(false, true); }

    public final List<Tensor> parameters() { return new ArrayList<>(namedParameters().values()); }

    public final long parameterCount() {
        long n = 0;
        for (Tensor p : parameters()) n += p.numel();
        return n;
    }

    private Map<String, Tensor> collect(boolean params, boolean bufs) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        IdentityHashMap<Tensor, Boolean> seen = new IdentityHashMap<>();
        walk("", params, bufs, out, seen);
        return out;
    }

    private void walk(String prefix, boolean params, boolean bufs, Map<String, Tensor> out, IdentityHashMap<Tensor, Boolean> seen) {
        if (params) for (var e : parameters.entrySet()) if (seen.put(e.getValue(), Boolean.TRUE) == null) out.put(prefix + e.getKey(), e.getValue());
        if (bufs) for (var e : buffers.entrySet()) if (seen.put(e.getValue(), Boolean.TRUE) == null) out.put(prefix + e.getKey(), e.getValue());
        for (var e : children.entrySet()) e.getValue().walk(prefix + e.getKey() + ".", params, bufs, out, seen);
    }

    /** Calls fn on this module and every descendant, parents first. */
    public final void apply(Consumer<Module> fn) { for (Module m : namedModules().values()) fn.accept(m); }

    // ------------------------------------------------------------------ modes

    /** Training mode (batch statistics in BatchNorm, dropout on) for this module and its descendants. */
    public Module train(boolean on) {
        apply(m -> m.training = on);
        return this;
    }

    public final Module train() { return train(true); }

    public final Module eval() { return train(false); }

    public final boolean isTraining() { return training; }

    /**
     * Moves every parameter and buffer of this module and its descendants to {@code device}, in place (the
     * tensors stay the same objects, so layers' fields follow). Returns this.
     */
    public final Module to(org.pulmo.tensor.Device device) {
        for (Tensor t : namedParameters().values()) t.moveTo(device);
        for (Tensor t : namedBuffers().values()) t.moveTo(device);
        return this;
    }

    /** Drops the gradient of every parameter (the next backward starts from zero). */
    public final void zeroGrad() { for (Tensor p : parameters()) p.zeroGrad(); }

    // ------------------------------------------------------------------ state dict

    /** Parameters and buffers by full name: the live tensors (not copies), in state-dict order. */
    public final Map<String, Tensor> stateDict() { return collect(true, true); }

    /** {@link #loadStateDict(Map, boolean)} with strict = true. */
    public final void loadStateDict(Map<String, Tensor> state) { loadStateDict(state, true); }

    /**
     * Copies {@code state} into this module's parameters and buffers in place (so optimisers that hold the
     * tensors keep working). Everything is checked before anything is copied: a wrongly shaped entry is
     * always an error, and with {@code strict} so are missing and unexpected names; the error lists every
     * mismatch. Without strict, returns the names that were missing and unexpected.
     */
    public final LoadResult loadStateDict(Map<String, Tensor> state, boolean strict) {
        LoadResult result = checkStateDict(state, strict);
        Map<String, Tensor> own = stateDict();
        try (var ignored = GradMode.noGrad()) {
            for (var e : own.entrySet()) {
                Tensor src = state.get(e.getKey());
                if (src != null) e.getValue().copyFrom(src);
            }
        }
        return result;
    }

    /** The checks of {@link #loadStateDict(Map, boolean)} without the copy: throws on a mismatch. */
    public final LoadResult checkStateDict(Map<String, Tensor> state, boolean strict) {
        Map<String, Tensor> own = stateDict();
        List<String> missing = new ArrayList<>(), unexpected = new ArrayList<>(), wrongShape = new ArrayList<>();
        for (var e : own.entrySet()) {
            Tensor src = state.get(e.getKey());
            if (src == null) missing.add(e.getKey());
            else if (!Arrays.equals(src.shape(), e.getValue().shape()))
                wrongShape.add(e.getKey() + ": expected " + Arrays.toString(e.getValue().shape()) + ", got " + Arrays.toString(src.shape()));
        }
        for (String k : state.keySet()) if (!own.containsKey(k)) unexpected.add(k);
        if (!wrongShape.isEmpty() || (strict && (!missing.isEmpty() || !unexpected.isEmpty())))
            throw new StateDictException(getClass().getSimpleName(), missing, unexpected, wrongShape);
        return new LoadResult(List.copyOf(missing), List.copyOf(unexpected));
    }

    /** What a non-strict load skipped. */
    public record LoadResult(List<String> missing, List<String> unexpected) {}

    // ------------------------------------------------------------------ printing

    /** The constructor arguments worth printing, e.g. {@code 3, 64, kernel_size=7, stride=2}. */
    protected String extraRepr() { return ""; }

    /** A tree as PyTorch prints it: {@code Name(extra)} with {@code (child): ...} lines indented. */
    @Override public String toString() {
        StringBuilder sb = new StringBuilder(getClass().getSimpleName()).append('(').append(extraRepr());
        if (!children.isEmpty()) {
            if (!extraRepr().isEmpty()) sb.append(',');
            sb.append('\n');
            for (var e : children.entrySet()) {
                String child = e.getValue().toString().replace("\n", "\n  ");
                sb.append("  (").append(e.getKey()).append("): ").append(child).append('\n');
            }
        }
        return sb.append(')').toString();
    }
}
