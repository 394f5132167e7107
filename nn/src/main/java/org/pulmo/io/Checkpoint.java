package org.pulmo.io;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.pulmo.nn.Module;
import org.pulmo.nn.StateDictException;
import org.pulmo.optim.Sgd;
import org.pulmo.tensor.Rng;
import org.pulmo.tensor.Tensor;

/**
 * A whole training state in one safetensors file, so that training resumed from it continues exactly as if
 * it had never stopped:
 * <ul>
 *   <li>tensors {@code model.<name>}: every parameter and buffer (BatchNorm running statistics);</li>
 *   <li>tensors {@code optimizer.momentum_buffer.<name>}: Sgd's momentum buffers;</li>
 *   <li>metadata: format and version, {@code epoch} (the number of finished epochs, which is the position of
 *       a per-epoch {@link org.pulmo.optim.LrSchedule}), {@code step} (optimiser steps so far), {@code lr},
 *       {@code rng.<name>} (each generator's full state: data shuffling, dropout, augmentation), and any
 *       extra strings the caller adds.</li>
 * </ul>
 * The file is written atomically ({@link AtomicFiles}). Loading checks the whole file against the model,
 * the optimiser and the generators before it changes any of them, so a bad file loads nothing.
 */
public final class Checkpoint {
    private Checkpoint() {}

    public static final String FORMAT = "pulmo-training-state";
    public static final String VERSION = "1";
    private static final String MODEL = "model.", MOMENTUM = "optimizer.momentum_buffer.", RNG = "rng.";

    /** What a checkpoint records besides the tensors. */
    public record Info(int epoch, long step, float lr, Map<String, String> metadata) {}

    public static void save(Path file, Module model, Sgd optimizer, int epoch, long step, Map<String, Rng> rngs, Map<String, String> extra)
            throws IOException {
        Map<String, Tensor> tensors = new LinkedHashMap<>();
        for (var e : model.stateDict().entrySet()) tensors.put(MODEL + e.getKey(), e.getValue());
        if (optimizer != null) for (var e : optimizer.stateDict().entrySet()) tensors.put(MOMENTUM + e.getKey(), e.getValue());
        Map<String, String> meta = new LinkedHashMap<>();
        meta.put("format", FORMAT);
        meta.put("version", VERSION);
        meta.put("epoch", Integer.toString(epoch));
        meta.put("step", Long.toString(step));
        if (optimizer != null) meta.put("lr", Integer.toHexString(Float.floatToRawIntBits(optimizer.lr()))); // exact bits
        for (var e : rngs.entrySet()) {
            long[] s = e.getValue().getState();
            meta.put(RNG + e.getKey(), s[0] + "," + s[1] + "," + s[2]);
        }
        if (extra != null) for (var e : extra.entrySet()) meta.putIfAbsent(e.getKey(), e.getValue());
        Safetensors.write(file, tensors, meta);
    }

    public static void save(Path file, Module model, Sgd optimizer, int epoch, long step, Map<String, Rng> rngs) throws IOException {
        save(file, model, optimizer, epoch, step, rngs, Map.of());
    }

    /**
     * Restores model, optimiser (may be null) and generators from {@code file}. Every generator named in
     * {@code rngs} must be in the file, the model must match strictly, and the momentum buffers must fit the
     * optimiser's parameters; otherwise a {@link SafetensorsException} lists the problems and nothing is
     * changed.
     */
    public static Info load(Path file, Module model, Sgd optimizer, Map<String, Rng> rngs) throws IOException {
        String name = file.toString();
        Safetensors.Contents c = Safetensors.read(file);
        Map<String, String> meta = c.metadata();
        if (!FORMAT.equals(meta.get("format")))
            throw new SafetensorsException(name, "not a Pulmo training checkpoint (metadata format is " + meta.get("format")
                + ", expected " + FORMAT + "); to load bare weights use Safetensors.load");
        if (!VERSION.equals(meta.get("version")))
            throw new SafetensorsException(name, "checkpoint version " + meta.get("version") + " is not supported (expected " + VERSION + ")");

        Map<String, Tensor> modelState = new LinkedHashMap<>(), momentum = new LinkedHashMap<>();
        List<String> problems = new ArrayList<>();
        for (var e : c.tensors().entrySet()) {
            String k = e.getKey();
            if (k.startsWith(MODEL)) modelState.put(k.substring(MODEL.length()), e.getValue());
            else if (k.startsWith(MOMENTUM)) momentum.put(k.substring(MOMENTUM.length()), e.getValue());
            else problems.add("unexpected tensor '" + k + "'");
        }
        int epoch = 0;
        long step = 0;
        float lr = Float.NaN;
        try {
            epoch = Integer.parseInt(require(meta, "epoch", name));
            step = Long.parseLong(require(meta, "step", name));
            if (meta.containsKey("lr")) lr = Float.intBitsToFloat(Integer.parseUnsignedInt(meta.get("lr"), 16));
        } catch (NumberFormatException e) {
            problems.add("corrupt metadata: " + e.getMessage());
        }
        Map<String, long[]> rngStates = new LinkedHashMap<>();
        for (String r : rngs.keySet()) {
            String v = meta.get(RNG + r);
            if (v == null) { problems.add("no state for random generator '" + r + "'"); continue; }
            String[] parts = v.split(",");
            try {
                if (parts.length != 3) throw new NumberFormatException("expected 3 numbers, got '" + v + "'");
                rngStates.put(r, new long[] {Long.parseLong(parts[0]), Long.parseLong(parts[1]), Long.parseLong(parts[2])});
            } catch (NumberFormatException e) {
                problems.add("corrupt state of random generator '" + r + "': " + e.getMessage());
            }
        }
        try {
            model.checkStateDict(modelState, true);
        } catch (StateDictException e) {
            problems.add(e.getMessage());
        }
        if (optimizer != null) {
            try {
                optimizer.checkStateDict(momentum);
            } catch (IllegalArgumentException e) {
                problems.add(e.getMessage());
            }
        } // without an optimiser (evaluation) the momentum buffers are ignored
        if (!problems.isEmpty())
            throw new SafetensorsException(name, "checkpoint does not fit (nothing was loaded):\n  " + String.join("\n  ", problems));

        model.loadStateDict(modelState, true);
        if (optimizer != null) {
            optimizer.loadStateDict(momentum);
            if (!Float.isNaN(lr)) optimizer.setLr(lr);
        }
        for (var e : rngStates.entrySet()) rngs.get(e.getKey()).setState(e.getValue());
        return new Info(epoch, step, lr, meta);
    }

    private static String require(Map<String, String> meta, String key, String file) {
        String v = meta.get(key);
        if (v == null) throw new NumberFormatException("missing '" + key + "'");
        return v;
    }
}
