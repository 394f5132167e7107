package org.pulmo.io;

import java.io.IOException;
import java.nio.file.Files;
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
 * The file is written atomically ({@link AtomicFiles}) with a digest of every tensor ({@link Safetensors}),
 * and never holds NaN or infinite values: saving refuses them and keeps the previous file. Loading checks the
 * whole file (digests, finite values) against the model, the optimiser and the generators before it changes
 * any of them, so a bad file loads nothing.
 *
 * <p>A training run keeps two files, {@code last} and {@code best}; {@link #saveEpoch} writes them in the order
 * that keeps them consistent whatever moment the process dies at, and {@link #recoverBest} completes the pair
 * on resuming.
 */
public final class Checkpoint {
    private Checkpoint() {}

    public static final String FORMAT = "pulmo-training-state";
    public static final String VERSION = "1";
    private static final String MODEL = "model.", MOMENTUM = "optimizer.momentum_buffer.", RNG = "rng.";

    /** Metadata of a run's {@code last} file: the epoch whose weights {@code best} holds (0: none yet). */
    public static final String BEST_EPOCH = "best_epoch";

    /** Runs between the two writes of {@link #saveEpoch}; tests make it throw to stand for a crash there. */
    static Runnable betweenLastAndBest = () -> {};

    /** What a checkpoint records besides the tensors. */
    public record Info(int epoch, long step, float lr, Map<String, String> metadata) {}

    public static void save(Path file, Module model, Sgd optimizer, int epoch, long step, Map<String, Rng> rngs, Map<String, String> extra)
            throws IOException {
        AtomicFiles.write(file, encode(file, model, optimizer, epoch, step, rngs, extra));
    }

    public static void save(Path file, Module model, Sgd optimizer, int epoch, long step, Map<String, Rng> rngs) throws IOException {
        save(file, model, optimizer, epoch, step, rngs, Map.of());
    }

    /**
     * The end of an epoch: {@code last} always, and {@code best} too when {@code bestEpoch == epoch} (the same
     * bytes: best is last at the epoch it was best). {@code last} records {@code bestEpoch} ({@link #BEST_EPOCH}).
     *
     * <p>Order: last, then best, each atomically. Dying at any point leaves each file either the old or the new
     * complete file, with best's epoch &lt;= last's epoch. The one inconsistent moment, between the two renames,
     * leaves a new last that names its own epoch as best beside the old best; {@link #recoverBest} sees this and
     * copies last to best. (Writing best first would instead leave a best newer than last.)
     */
    public static void saveEpoch(Path last, Path best, int bestEpoch, Module model, Sgd optimizer, int epoch, long step,
                                 Map<String, Rng> rngs, Map<String, String> extra) throws IOException {
        writeEpoch(last, best, bestEpoch, epoch, encodeEpoch(last, bestEpoch, model, optimizer, epoch, step, rngs, extra), null);
    }

    /** Work that may fail with an IOException (what must happen just before a new best is written). */
    @FunctionalInterface
    public interface IoAction { void run() throws IOException; }

    /** The bytes {@link #saveEpoch} writes: the state of this moment, with {@link #BEST_EPOCH}. */
    private static byte[] encodeEpoch(Path last, int bestEpoch, Module model, Sgd optimizer, int epoch, long step,
                                      Map<String, Rng> rngs, Map<String, String> extra) throws SafetensorsException {
        Map<String, String> meta = extra == null ? new LinkedHashMap<>() : new LinkedHashMap<>(extra);
        meta.put(BEST_EPOCH, Integer.toString(bestEpoch)); // this value, whatever extra says
        return encode(last, model, optimizer, epoch, step, rngs, meta);
    }

    /**
     * last, then best when it is this epoch's (else best's stale temporary files go), each atomically; {@code beforeBest}
     * (may be null) runs between the two when best is written.
     */
    private static void writeEpoch(Path last, Path best, int bestEpoch, int epoch, byte[] bytes, IoAction beforeBest) throws IOException {
        AtomicFiles.write(last, bytes);
        betweenLastAndBest.run();
        if (bestEpoch == epoch) {
            if (beforeBest != null) beforeBest.run();
            AtomicFiles.write(best, bytes);
        } else {
            AtomicFiles.removeStale(best);
        }
    }

    /**
     * The end-of-epoch checkpoints of {@link Checkpoint#saveEpoch} written on a thread of their own, so that training
     * goes on while the bytes reach the disk (hundreds of megabytes an epoch, fsync'd: on a GPU this took as long as a
     * short epoch's training). {@link #saveEpoch} first waits for the previous epoch's files, then encodes the state
     * of this moment on the caller's thread (weights that are NaN or infinite are refused there, at once, as by
     * {@link Checkpoint#saveEpoch}), and hands the bytes to the writer; the files are written exactly as
     * {@link Checkpoint#saveEpoch} writes them (at once, on the caller's thread's time, where the bytes take a quarter of
     * the heap or more). A failed write is thrown by {@link #throwIfFailed} once it has failed, by the next
     * {@link #saveEpoch}, by {@link #await} or by {@link #close}, which waits for the last one. A process killed before a write ends leaves
     * the previous epoch's complete files (a resume then trains that epoch again). {@code -Dpulmo.checkpoint.writeDelayMs=N}
     * makes every write start N ms late, for tests of what happens while one is still under way.
     */
    public static final class Writer implements AutoCloseable {
        private final java.util.concurrent.ExecutorService thread = java.util.concurrent.Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "pulmo-checkpoint-writer");
            t.setDaemon(true);
            return t;
        });
        private java.util.concurrent.Future<?> pending;

        /** As {@link Checkpoint#saveEpoch}, the writing in the background; returns once the state is encoded. */
        public void saveEpoch(Path last, Path best, int bestEpoch, Module model, Sgd optimizer, int epoch, long step,
                              Map<String, Rng> rngs, Map<String, String> extra) throws IOException {
            saveEpoch(last, best, bestEpoch, model, optimizer, epoch, step, rngs, extra, null);
        }

        /**
         * As {@link #saveEpoch(Path, Path, int, Module, Sgd, int, long, Map, Map)}, with {@code beforeBest} run on the
         * writer's thread once last is on disk and just before this epoch's best is written (not at all when this epoch
         * is not the best, or when an earlier write failed): for what describes the best checkpoint it replaces.
         */
        public void saveEpoch(Path last, Path best, int bestEpoch, Module model, Sgd optimizer, int epoch, long step,
                              Map<String, Rng> rngs, Map<String, String> extra, IoAction beforeBest) throws IOException {
            saveEpoch(last, best, bestEpoch, model, optimizer, epoch, step, rngs, extra, beforeBest, null);
        }

        /**
         * As {@link #saveEpoch(Path, Path, int, Module, Sgd, int, long, Map, Map, IoAction)}, with {@code written} (may be
         * null) run on the writer's thread once this epoch's files are on disk, and not at all when writing them failed:
         * for a record that must never claim an epoch whose checkpoint a kill could still lose.
         */
        public void saveEpoch(Path last, Path best, int bestEpoch, Module model, Sgd optimizer, int epoch, long step,
                              Map<String, Rng> rngs, Map<String, String> extra, IoAction beforeBest, IoAction written) throws IOException {
            await();   // one epoch's bytes in memory at a time, and the files in epoch order
            byte[] bytes = encodeEpoch(last, bestEpoch, model, optimizer, epoch, step, rngs, extra);
            long delayMs = Long.getLong("pulmo.checkpoint.writeDelayMs", 0);   // tests: a slow disk
            pending = thread.submit(() -> {
                if (delayMs > 0) Thread.sleep(delayMs);
                writeEpoch(last, best, bestEpoch, epoch, bytes, beforeBest);
                if (written != null) written.run();
                return null;
            });
            // bytes that take a quarter of the heap or more are written before training goes on: held through the next
            // epoch beside the model, its gradients and momentum, they left a 1 GB heap (Java's default on a 4 GB
            // machine) without room for DPN-92-SE's training (318 MB a checkpoint)
            if (bytes.length >= Runtime.getRuntime().maxMemory() / 4) await();
        }

        /**
         * Throws what writing the last {@link #saveEpoch}'s files threw, if that write has already failed; returns at once
         * otherwise (still writing, or written). A training loop calls it every step, so that a full disk stops the run
         * then, not an epoch later.
         */
        public void throwIfFailed() throws IOException {
            java.util.concurrent.Future<?> f = pending;
            if (f != null && f.state() == java.util.concurrent.Future.State.FAILED) await();
        }

        /** Waits until the files of the last {@link #saveEpoch} are written; throws what writing them threw. */
        public void await() throws IOException {
            if (pending == null) return;
            java.util.concurrent.Future<?> f = pending;
            pending = null;
            try {
                f.get();
            } catch (java.util.concurrent.ExecutionException e) {
                switch (e.getCause()) {
                    case IOException io -> throw io;
                    case RuntimeException r -> throw r;
                    case Error err -> throw err;
                    default -> throw new IOException("writing a checkpoint failed: " + e.getCause(), e.getCause());
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new java.io.InterruptedIOException("interrupted while waiting for a checkpoint to be written");
            }
        }

        /** Waits for the last write (its failure thrown) and ends the writer thread. */
        @Override public void close() throws IOException {
            try {
                await();
            } finally {
                thread.shutdown();
            }
        }
    }

    /**
     * On resuming from {@code last} (already loaded, {@code lastInfo}): checks that {@code best} holds the epoch
     * last names as best and removes temporary files of interrupted writes of either. When best is missing,
     * unreadable or holds another epoch and the best epoch is last's own (the process died between the two
     * writes of {@link #saveEpoch}), best is rewritten from last and a one-line note saying so is returned;
     * when all is well, null. When best cannot be rebuilt (its epoch is older than last's and the file is gone
     * or damaged), a {@link SafetensorsException} names the file and what is missing.
     */
    public static String recoverBest(Path last, Info lastInfo, Path best) throws IOException {
        AtomicFiles.removeStale(last);
        AtomicFiles.removeStale(best);
        String recorded = lastInfo.metadata().get(BEST_EPOCH);
        if (recorded == null) return null; // not written by saveEpoch: nothing to check against
        int bestEpoch;
        try {
            bestEpoch = Integer.parseInt(recorded);
        } catch (NumberFormatException e) {
            throw new SafetensorsException(last.toString(), "corrupt metadata: " + BEST_EPOCH + " is '" + recorded + "'");
        }
        if (bestEpoch <= 0) return null; // no epoch was best yet (e.g. no validation images)
        String problem;
        if (!Files.exists(best)) problem = "is missing";
        else {
            try {
                String e = Safetensors.read(best).metadata().get("epoch");
                problem = Integer.toString(bestEpoch).equals(e) ? null : "holds epoch " + e;
            } catch (SafetensorsException e) {
                problem = "cannot be read (" + e.getMessage().substring(best.toString().length() + 2) + ")";
            }
        }
        if (problem == null) return null;
        if (bestEpoch == lastInfo.epoch()) {
            AtomicFiles.write(best, Files.readAllBytes(last));
            return best + " " + problem + " but " + last + " names its own epoch " + bestEpoch
                + " as the best (training stopped between writing the two); rewrote " + best + " from it";
        }
        throw new SafetensorsException(best.toString(), problem + ", but " + last + " (epoch " + lastInfo.epoch() + ") records epoch "
            + bestEpoch + " as the best, whose weights only this file held; put the file back, or train again into a new folder");
    }

    /** The checkpoint's bytes; non-finite values refused with the file, tensor and index named. */
    private static byte[] encode(Path file, Module model, Sgd optimizer, int epoch, long step, Map<String, Rng> rngs,
                                 Map<String, String> extra) throws SafetensorsException {
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
        try {
            return Safetensors.encode(tensors, meta, true);
        } catch (Safetensors.NonFiniteException e) {
            throw new SafetensorsException.NonFiniteWeights(file.toString(), "not written: " + e.getMessage()
                + " (the weights diverged); the previous file, if any, is kept");
        }
    }

    /** Which of the generators named in {@code rngs} a checkpoint's metadata holds a state for. */
    public static java.util.Set<String> savedGenerators(Map<String, String> metadata, java.util.Collection<String> names) {
        java.util.Set<String> out = new java.util.LinkedHashSet<>();
        for (String n : names) if (metadata.containsKey(RNG + n)) out.add(n);
        return out;
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

        for (var e : c.tensors().entrySet()) { // a finite loss is not enough: a diverged step can leave NaN weights
            String nonFinite = Safetensors.firstNonFinite(e.getKey(), e.getValue().toArray());
            if (nonFinite != null)
                throw new SafetensorsException(name, nonFinite + ": the weights had diverged when this file was written; nothing was loaded");
        }
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
        String field = "epoch";
        try {
            epoch = Integer.parseInt(require(meta, field, name));
            field = "step";
            step = Long.parseLong(require(meta, field, name));
            field = "lr";
            if (meta.containsKey(field)) lr = Float.intBitsToFloat(Integer.parseUnsignedInt(meta.get(field), 16));
            if (!Float.isNaN(lr) && !(lr >= 0 && Float.isFinite(lr)))   // the optimiser would refuse it after the weights were loaded
                problems.add("metadata field 'lr' is " + lr + ", not a learning rate (finite, 0 or more)");
        } catch (NumberFormatException e) {
            problems.add(meta.get(field) == null ? "no metadata field '" + field + "'"
                : "corrupt metadata field '" + field + "': \"" + meta.get(field) + "\" is not " + (field.equals("lr") ? "a float's bits in hex" : "a whole number"));
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
            int own = model.stateDict().size(), off = e.missing().size() + e.wrongShape().size();
            if (4 * off >= own)
                problems.add(off + " of the model's " + own + " tensors are missing from the file or shaped otherwise: are these another architecture's"
                    + " weights (or was the metadata's model edited)?");
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

    /** The model's tensors of a checkpoint's tensors, named as in the model's state dict (the optimiser's left out). */
    public static Map<String, Tensor> modelState(Map<String, Tensor> checkpointTensors) {
        Map<String, Tensor> out = new LinkedHashMap<>();
        for (var e : checkpointTensors.entrySet()) if (e.getKey().startsWith(MODEL)) out.put(e.getKey().substring(MODEL.length()), e.getValue());
        return out;
    }

    private static String require(Map<String, String> meta, String key, String file) {
        String v = meta.get(key);
        if (v == null) throw new NumberFormatException("missing '" + key + "'");
        return v;
    }
}
