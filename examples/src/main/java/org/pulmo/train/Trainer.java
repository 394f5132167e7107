package org.pulmo.train;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import org.pulmo.autograd.GradMode;
import org.pulmo.data.Augmentation;
import org.pulmo.data.DataLoader;
import org.pulmo.data.Dataset;
import org.pulmo.data.Transform;
import org.pulmo.io.Checkpoint;
import org.pulmo.models.MaNet;
import org.pulmo.data.MutexPairSampler;
import org.pulmo.nn.Module;
import org.pulmo.nn.loss.Losses;
import org.pulmo.optim.LrSchedule;
import org.pulmo.optim.Sgd;
import org.pulmo.tensor.Device;
import org.pulmo.optim.CapturedStep;
import org.pulmo.tensor.MemoryScope;
import org.pulmo.tensor.Tensor;

/**
 * The training loop: epochs of shuffled, augmented batches through the model, cross-entropy (or MA-Net's pair
 * loss), backward and SGD; after each epoch a validation pass, a metrics row ({@code metrics.csv},
 * {@code metrics.json}; for MA-Net also the training means of L_CE, L_CS, a1 and a2), the curves ({@code loss.png}, {@code accuracy.png}; MA-Net: {@code manet_weights.png}) and two checkpoints:
 * {@code last.safetensors} (every epoch) and {@code best.safetensors} (best validation accuracy), encoded at the end of
 * the epoch and written to disk while the next one trains ({@link Checkpoint.Writer}); {@code run.json} ({@link RunRecord})
 * when the caller gives one.
 *
 * <p>MA-Net on more than two classes: the mutex partner of an image is drawn uniformly from the training images
 * of all other classes ({@link MutexPairSampler}); the paper pairs two classes (COVID-19, non-COVID-19), so with
 * two classes this is exactly its pairing. A training part with a single class is refused before training.
 *
 * <p>Resuming is exact: the batch order and every augmentation are functions of (seed, epoch, image) in the
 * {@link DataLoader}, MA-Net's mutex partners are drawn from a generator seeded by (seed, epoch), and the
 * checkpoint holds weights, BatchNorm statistics, momentum buffers, the dropout generators' states and the epoch (the
 * schedule's position).
 *
 * <p>{@link #requestStop()} (Ctrl-C) ends training after the current batch; the weights of that moment go to
 * {@code interrupted.safetensors}, and {@code last.safetensors} keeps the last finished epoch to resume from.
 * A NaN or infinite loss ends training with a {@link DivergedException}; no checkpoint is written after it (nor
 * after the few steps that may have run past it before it was read).
 *
 * <p>Device: the model must already be on {@code Settings.device} ({@code Module.to}); images are moved there
 * before the forward, labels go to the loss as the host's. What the loop reads back (each step's loss and
 * predictions, MA-Net's loss parts) stays on the device until {@link StepReadings} reads a few steps at once, so
 * that the host is not made to wait for the device every step; a loss that is not finite is found there, named
 * by its batch. Checkpoints are written from the device tensors (Safetensors copies them to the host).
 */
public final class Trainer {
    /** Above this share of an epoch spent waiting for the data loader, the epoch's line says the run is data-bound. */
    static final double DATA_BOUND = 0.1;

    /**
     * "  | about 1:23:45 left" for {@code epochsLeft} more epochs at the mean wall time of the {@code epochsDone} epochs
     * this invocation has run so far (training, validation and checkpoints); "" after the last epoch.
     */
    static String timeLeft(double secondsSoFar, int epochsDone, int epochsLeft) {
        if (epochsLeft <= 0 || epochsDone <= 0) return "";
        return "  | about " + RunRecord.clock(secondsSoFar / epochsDone * epochsLeft) + " left";
    }

    /** The epoch line's note on the loader's share of an epoch: empty unless it is large enough to be what limits the run. */
    static String dataBound(double waitedSeconds, double epochSeconds) {
        return waitedSeconds > DATA_BOUND * epochSeconds ? String.format(Locale.ROOT,
            "  | waited %.1f s of %.1f for images (data-bound: more --workers, or smaller files)", waitedSeconds, epochSeconds) : "";
    }

    /** What a run is; the paper defaults are filled in by the CLI. {@code initFrom}: the file name of the starting weights, or null. */
    public record Settings(String model, List<String> classes, int epochs, int batchSize, float lr, float momentum,
                           float weightDecay, String schedule, int imageSize, Augmentation augmentation, long seed,
                           Path out, boolean resume, int workers, boolean strict, MaNet.Options maNet, Device device,
                           String initFrom) {}

    public record Result(int epochsDone, double bestValAcc, int bestEpoch, boolean interrupted, History history) {}

    /** The loss stopped being a finite number. */
    public static final class DivergedException extends RuntimeException {
        public DivergedException(String message) { super(message); }
    }

    /** An epoch ended without a single optimiser step (every batch was short of images): nothing was learned. */
    public static final class NoStepException extends RuntimeException {
        public NoStepException(String message) { super(message); }
    }

    public static final String LAST = "last.safetensors", BEST = "best.safetensors", INTERRUPTED = "interrupted.safetensors";

    private final Settings s;
    private final Module model;
    private final Dataset train, val;
    private final PrintStream out;
    private final boolean liveProgress;
    private final AtomicBoolean stop = new AtomicBoolean();

    public Trainer(Settings settings, Module model, Dataset train, Dataset val, PrintStream out, boolean liveProgress) {
        this.s = settings;
        this.model = model;
        this.train = train;
        this.val = val;
        this.out = out;
        this.liveProgress = liveProgress;
    }

    private boolean recordSteps;
    private RunRecord record;
    private Map<String, String> dataRecord = Map.of();

    /** The run's {@code run.json}, updated after every epoch (null: none). */
    public Trainer record(RunRecord r) {
        record = r;
        return this;
    }

    /**
     * Records the training step once as device work and replays it for every batch (a CUDA graph; {@link CapturedStep}),
     * where the device can: the host then launches one graph per step instead of every kernel. Elsewhere (the CPU) the
     * steps run as ordinary code, with one line saying why. The results are those of ordinary steps (cuda-kernels'
     * CudaGraphTest compares them). Off by default.
     */
    public Trainer recordSteps(boolean on) {
        recordSteps = on;
        return this;
    }

    /**
     * The recorded training step for batches shaped as {@code b} (and its mutex batch {@code mb}, MA-Net), or one that
     * runs ordinarily where nothing can be recorded, after a line saying so. Outputs: the step's {@link StepReadings#values}.
     */
    private CapturedStep recordedStep(Sgd sgd, MemoryScope.Steps steps, MaNet maNet, DataLoader.Batch b, DataLoader.Batch mb) {
        String why = org.pulmo.backend.Backends.of(s.device()).captureUnsupported();
        out.println(why == null ? "  Training steps recorded once as a CUDA graph and replayed (--cuda-graphs)"
            : "  Training steps run as ordinary code, not recorded (--cuda-graphs): " + why);
        int[][] shapes = java.util.Arrays.stream(recordedInputs(b, mb)).map(Tensor::shape).toArray(int[][]::new);
        if (maNet != null)
            return new CapturedStep(s.device(), sgd, steps, 1, in -> trainingStep(maNet, sgd, in[0], in[1], in[2], in[3]).values(), shapes);
        return new CapturedStep(s.device(), sgd, steps, 1, in -> trainingStep(null, sgd, in[0], null, in[1], null).values(), shapes);
    }

    /** A batch as the recorded step takes it: images then labels; MA-Net's (mutex batch {@code mb}) images, mutex images, labels, mutex labels. */
    private static Tensor[] recordedInputs(DataLoader.Batch b, DataLoader.Batch mb) {
        return mb == null ? new Tensor[] {b.images(), b.labels()} : new Tensor[] {b.images(), mb.images(), b.labels(), mb.labels()};
    }

    /** One step's results: the loss minimised, the main path's logits, MA-Net's loss parts (null for other models). */
    private record StepOut(Tensor loss, Tensor logits, MaNet.LossValue maNet) {
        Tensor[] values() { return StepReadings.values(loss, logits, maNet); }
    }

    /**
     * Forward, loss, backward and SGD step on images {@code x} with labels {@code y}; MA-Net ({@code maNet} not null) on
     * pairs, with the mutex images {@code m} and their labels {@code yM}.
     */
    private StepOut trainingStep(MaNet maNet, Sgd sgd, Tensor x, Tensor m, Tensor y, Tensor yM) {
        Tensor loss, logits;
        MaNet.LossValue lv = null;
        if (maNet != null) {
            MaNet.PairOutput po = maNet.forwardPair(x, m);
            lv = maNet.loss(po, y, yM);
            loss = lv.total();
            logits = po.logitsX();
        } else {
            logits = model.forward(x);
            loss = Losses.crossEntropy(logits, y);
        }
        sgd.zeroGrad();
        loss.backward();
        sgd.step();
        return new StepOut(loss, logits, lv);
    }

    /** Asks the loop to stop after the current batch (safe from any thread, e.g. a shutdown hook). */
    public void requestStop() { stop.set(true); }

    public boolean stopRequested() { return stop.get(); }

    /** What a stop during epoch {@code epoch} + 1 leaves, and how to go on. */
    private String interruptedLine(int epoch) {
        Path at = s.out().resolve(INTERRUPTED);
        if (epoch == 0) return "Interrupted: the weights of this moment are in " + at + "; no epoch had finished, so there is no " + LAST
            + "; the same options" + (s.initFrom() != null ? " (--init-from included)" : "") + " with --resume --out " + s.out()
            + " start the run again from epoch 1 there.";
        return "Interrupted: the weights of this moment are in " + at + "; " + s.out().resolve(LAST) + " keeps the last finished epoch ("
            + epoch + "); continue with the same options" + (s.initFrom() != null ? " less --init-from (the run goes on from its own weights)" : "")
            + " and --resume --out " + s.out() + ".";
    }

    /** The checkpoint's metadata: {@link #describe} and the data record ({@link #dataRecord}). */
    private Map<String, String> meta(int bestEpoch, double bestValAcc) {
        Map<String, String> m = describe(s, bestEpoch, bestValAcc);
        m.putAll(dataRecord);
        return m;
    }

    /**
     * Where the images came from and which each part held (the CLI's split record: the data folder, the split options,
     * a digest per part), kept in every checkpoint so that --resume and evaluate can tell the run's own parts.
     */
    public Trainer dataRecord(Map<String, String> record) {
        this.dataRecord = java.util.Collections.unmodifiableMap(new java.util.TreeMap<>(record));   // a fixed order: the same run, the same bytes
        return this;
    }

    /** The checkpoint metadata that lets evaluate/predict/explain rebuild the model without options. */
    public static Map<String, String> describe(Settings s, int bestEpoch, double bestValAcc) {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("model", s.model());
        m.put("classes", String.join("\n", s.classes()));
        m.put("image_size", Integer.toString(s.imageSize()));
        m.put("augmentation", s.augmentation().label());
        m.put("seed", Long.toString(s.seed()));
        // the rest of the options, so that --resume can refuse a different run (checkResume)
        m.put("batch_size", Integer.toString(s.batchSize()));
        m.put("base_lr", Float.toString(s.lr()));        // "lr" is the checkpoint's own key: the rate of the last epoch
        m.put("momentum", Float.toString(s.momentum()));
        m.put("weight_decay", Float.toString(s.weightDecay()));
        m.put("schedule", s.schedule().toLowerCase(Locale.ROOT));
        m.put("epochs", Integer.toString(s.epochs()));
        if (s.device() != null) m.put("device", s.device().toString());
        if (s.initFrom() != null) m.put("init_from", s.initFrom()); // the PyTorch weights training started from (file name)
        if (s.maNet() != null) {
            m.put("manet_mab", Boolean.toString(s.maNet().mab()));
            m.put("manet_fab", Boolean.toString(s.maNet().fab()));
            m.put("manet_loss", s.maNet().loss().name());
            m.put("manet_mutex_running_stats", Boolean.toString(s.maNet().mutexRunningStats()));
            m.put("manet_attention_grad", Boolean.toString(s.maNet().attentionGradient()));
        }
        m.put("best_epoch", Integer.toString(bestEpoch));
        m.put("best_val_acc", Double.toString(bestValAcc));
        return m;
    }

    public Result run() throws IOException {
        Files.createDirectories(s.out());
        LrSchedule schedule = Models.schedule(s.schedule(), s.lr(), s.epochs());
        // Departure: neither paper says which parameters weight decay reaches; batch norm's and every bias are exempt here
        // (docs/FIDELITY.md).
        Sgd sgd = Sgd.forModule(model, s.lr(), s.momentum(), s.weightDecay(), false, false);
        MemoryScope.Steps steps = new MemoryScope.Steps(() -> sgd.trainingState(model));
        Path last = s.out().resolve(LAST), best = s.out().resolve(BEST);
        int start = 0, bestEpoch = 0;
        long step = 0;
        double bestAcc = -1;
        History history = new History();
        if (s.resume()) {
            if (!Files.exists(last)) throw new IOException("--resume: no checkpoint " + last + " to resume from");
            // dropout's generators go on from where they were (a checkpoint written before they were saved has none:
            // its masks then start again from the model's seed, and the resumed run is not the unbroken one)
            Map<String, org.pulmo.tensor.Rng> generators = new java.util.LinkedHashMap<>(org.pulmo.nn.Dropout.generators(model));
            Map<String, String> header = org.pulmo.io.Safetensors.readMetadata(last);
            CheckpointMetadata.check(last, header);   // before anything of it is loaded into the model
            java.util.Set<String> saved = Checkpoint.savedGenerators(header, generators.keySet());
            if (saved.size() < generators.size()) {
                out.println("Note: " + last + " holds no state for the dropout masks (written by an older version); they start again from the"
                    + " model's seed, so this run will not repeat an unbroken one exactly");
                generators.keySet().retainAll(saved);
            }
            Checkpoint.Info info = Checkpoint.load(last, model, sgd, generators);
            checkResume(s, info.metadata()); // the CLI calls it before building the model; here for other callers
            String repaired = Checkpoint.recoverBest(last, info, best);   // a crash between writing last and best
            if (repaired != null) out.println(repaired);
            start = info.epoch();
            step = info.step();
            bestEpoch = Integer.parseInt(info.metadata().getOrDefault("best_epoch", "0"));
            bestAcc = Double.parseDouble(info.metadata().getOrDefault("best_val_acc", "-1"));
            Path csv = s.out().resolve("metrics.csv");
            try {
                history = History.read(csv, start);
            } catch (History.DamagedException damaged) {   // not readable: kept aside, and the run goes on without those rows
                Path aside = csv.resolveSibling(csv.getFileName() + ".unreadable");
                Files.move(csv, aside, java.nio.file.StandardCopyOption.REPLACE_EXISTING);
                out.println("Note: " + csv + " could not be read (" + damaged.getReason() + "); it is kept as " + aside);
                history = new History();
            }
            if (history.rows().size() < start)   // deleted or cut: the weights go on, the curves miss the epochs that are gone
                out.printf(Locale.ROOT, "Note: %s holds %d of the %d finished epochs' rows; the missing ones cannot be recovered, so the"
                    + " metrics and plots of this run lack them%n", csv, history.rows().size(), start);
            out.printf(Locale.ROOT, "Resuming from %s: %d epoch%s done, best validation accuracy %.2f%% (epoch %d)%n",
                last, start, start == 1 ? "" : "s", 100 * bestAcc, bestEpoch);
        }
        MaNet maNet = model instanceof MaNet m ? m : null;
        Transform trainTf = s.augmentation().train(s.imageSize()), evalTf = s.augmentation().eval(s.imageSize());
        // Departure: the papers do not say; the last partial batch is dropped (PyTorch's DataLoader keeps it), so every step
        // has the full batch; each epoch reshuffles, so no image is left out for good (docs/FIDELITY.md).
        DataLoader.Options opts = DataLoader.Options.training(s.batchSize(), s.seed()).withDropLast(true).withStrict(s.strict());
        if (s.workers() > 0) opts = opts.withWorkers(s.workers());
        int[] labels = new int[train.size()];
        for (int i = 0; i < labels.length; i++) labels[i] = train.label(i);
        Device dev = s.device();   // the model is already there (Module.to); each batch follows it before the forward
        boolean interrupted = false;
        CapturedStep recorded = null;   // with recordSteps, made at the first batch (its shapes)
        try (Checkpoint.Writer checkpoints = new Checkpoint.Writer();   // last/best written while the next epoch trains
             DataLoader trainLoader = new DataLoader(train, trainTf, opts);
             DataLoader valLoader = new DataLoader(val, evalTf, DataLoader.Options.evaluation(Math.max(s.batchSize(), 32)).withStrict(s.strict()))) {
            long loopStart = System.nanoTime();
            for (int epoch = start; epoch < s.epochs() && !interrupted; epoch++) {
                if (stop.get()) { // asked between epochs (during validation or saving): the last checkpoint is this moment
                    interrupted = true;
                    saveInterrupted(model, sgd, epoch, step, meta(bestEpoch, bestAcc));
                    out.println(interruptedLine(epoch));
                    break;
                }
                float lr = (float) schedule.lr(epoch);
                sgd.setLr(lr);
                model.train();
                Progress bar = new Progress(out, liveProgress, String.format(Locale.ROOT, "epoch %d/%d", epoch + 1, s.epochs()),
                    trainLoader.batchesPerEpoch());
                // MA-Net: the mutex partner of every training image for this epoch, read in step with the main loader
                // (MutexBatches checks every pair's labels).
                StepReadings readings = new StepReadings(); // the steps' losses and predictions, read every few steps
                org.pulmo.backend.Backend backend = org.pulmo.backend.Backends.of(dev);
                backend.resetPeakMemory();                  // the epoch's own peak (training and validation)
                long epochSteps = 0;
                double dataWait = 0;
                try (DataLoader.Epoch batches = trainLoader.epoch(epoch);
                     MutexBatches mutexBatches = maNet == null ? null : new MutexBatches(train, labels, trainTf, opts, MutexBatches.pairSeed(s.seed(), epoch), epoch)) {
                    for (DataLoader.Batch b : batches) {
                        DataLoader.Batch mb = maNet == null ? null : mutexBatches.next(b);
                        if (maNet != null && mb == null) continue; // an unreadable image broke the pairing of this batch
                        // recorded for the full batch; a batch short of an unreadable image (not --strict) runs ordinarily,
                        // with the same parameters, momentum and statistics, which both update in place
                        boolean full = b.size() == s.batchSize() && (mb == null || mb.size() == s.batchSize());
                        if (recordSteps && recorded == null && full) recorded = recordedStep(sgd, steps, maNet, b, mb);
                        if (recorded != null && recorded.recording() && recorded.takes(recordedInputs(b, mb))) {
                            // one replay of the recorded step; the readings keep copies of its outputs, which the next
                            // replay overwrites. Labels are checked here, as the recorded cross-entropy cannot read them.
                            Losses.checkLabels("batch " + b.number(), b.labels().toArray(), train.numClasses());
                            if (mb != null) Losses.checkLabels("mutex batch of batch " + b.number(), mb.labels().toArray(), train.numClasses());
                            readings.addCopies(b.number(), b.labelArray(), recorded.step(recordedInputs(b, mb)));
                        } else try (MemoryScope scope = steps.open()) {
                            // on a device, the scope frees every tensor the step made except the training state and
                            // what the readings keep; the labels go as the host's (crossEntropy checks them there)
                            StepOut o = maNet != null ? trainingStep(maNet, sgd, b.images().to(dev), mb.images().to(dev), b.labels(), mb.labels())
                                : trainingStep(null, sgd, b.images().to(dev), null, b.labels(), null);
                            readings.add(scope, b.number(), b.labelArray(), o.loss(), o.logits(), o.maNet());
                        }
                        step++;
                        epochSteps++;
                        if (stop.get()) { interrupted = true; break; }
                        checkpoints.throwIfFailed();   // the last epoch's files could not be written (a full disk): stop now
                        if (readings.due()) diverged(readings.read(bar), bar, epoch, lr, last, checkpoints);
                    }
                    dataWait = batches.waitSeconds() + (mutexBatches == null ? 0 : mutexBatches.waitSeconds());
                } catch (RuntimeException | IOException | Error e) {   // IOException: a checkpoint write that failed
                    readings.release();
                    throw e;
                }
                diverged(readings.read(bar), bar, epoch, lr, last, checkpoints); // the rest, before any checkpoint of this epoch
                if (interrupted) {
                    bar.finish("  (interrupted)");
                    saveInterrupted(model, sgd, epoch, step, meta(bestEpoch, bestAcc));
                    out.println(interruptedLine(epoch));
                    break;
                }
                if (epochSteps == 0) {
                    bar.finish("");
                    throw new NoStepException(String.format(Locale.ROOT, "epoch %d made no optimiser step: %d training images in batches of %d%s;"
                        + " nothing was learned and no checkpoint was written for it", epoch + 1, train.size(), s.batchSize(),
                        maNet != null ? " (MA-Net needs every image of a batch and of its mutex batch readable)" : " (unreadable images are skipped)"));
                }
                double[] v = validate(valLoader, epoch);
                if (val.size() > 0 && !Double.isFinite(v[0])) {   // a finite training loss, but in eval mode the outputs overflow
                    bar.finish("  | val loss " + v[0]);
                    checkpoints.await();   // the previous epoch's files are the last good checkpoint
                    throw new DivergedException(String.format(Locale.ROOT, "the validation loss became %s at epoch %d (lr %g): the model's outputs in"
                        + " evaluation mode are not finite (weights or batch norm's running statistics overflowed); training stopped and no"
                        + " checkpoint was written for this epoch. %s", v[0], epoch + 1, lr,
                        lastGood(last)));
                }
                bar.finish(String.format(Locale.ROOT, "  | val loss %.4f  val acc %5.1f%%%s%s", v[0], 100 * v[1], dataBound(dataWait, bar.seconds()),
                    timeLeft((System.nanoTime() - loopStart) / 1e9, epoch + 1 - start, s.epochs() - epoch - 1)));
                org.pulmo.backend.Backend.MemoryUse mem = backend.memoryUse();
                if (mem != null) out.println("  " + dev + " memory after epoch " + (epoch + 1) + ": " + mem.summary());
                double peakMib = mem == null ? Double.NaN : mem.peakInUseBytes() / (double) (1 << 20);
                double[] ms = readings.maNetSums;
                long mn = readings.maNetImages;
                History.MaNetLosses ml = mn == 0 ? null : new History.MaNetLosses(ms[0] / mn, ms[1] / mn, ms[2] / mn, ms[3] / mn);
                history.add(new History.Row(epoch + 1, lr, bar.loss(), bar.accuracy(), v[0], v[1], bar.imagesPerSecond(), bar.seconds(), dataWait, peakMib, ml));
                boolean improved = v[1] > bestAcc;
                if (improved) { bestAcc = v[1]; bestEpoch = epoch + 1; }
                Map<String, String> meta = meta(bestEpoch, bestAcc);
                // the epoch's row before its checkpoint: a write that fails (a full disk) leaves the epoch to be trained again
                // by --resume, never a checkpoint whose row is lost (a resume drops rows past its checkpoint)
                history.write(s.out());
                Path report = s.out().resolve("test");
                boolean staleReport = improved && !reportDropped && RunFolder.isReport(report);   // once: the drop runs later
                reportDropped |= staleReport;
                try {
                    // best too when improved; a resumed run's report of the best it replaces goes just before the new best
                    // is written (once last is on disk): never beside a checkpoint it does not describe, and kept when this
                    // epoch's checkpoint is refused or an earlier write failed
                    if (record != null && recorded != null) record.stepsRecorded(recorded.recording(), recorded.whyNotRecorded());
                    // run.json claims the epoch once its checkpoint is on disk: a kill while it is written leaves a record
                    // that says what --resume will find (the figures of this moment, the history as it is now)
                    History upToHere = history.copy();
                    int be = bestEpoch;
                    double ba = bestAcc;
                    checkpoints.saveEpoch(last, best, bestEpoch, model, sgd, epoch + 1, step, org.pulmo.nn.Dropout.generators(model), meta,
                        staleReport ? () -> dropStaleReport(report) : null, record == null ? null : () -> record.epoch(upToHere, be, ba));
                    if (staleReport) out.println("Removing " + report + ": it reported the best checkpoint that epoch " + (epoch + 1)
                        + " replaces (a new report is written after training)");
                } catch (org.pulmo.io.SafetensorsException.NonFiniteWeights e) { // finite loss, but the last step broke the weights
                    // the epoch's row goes too: metrics.csv, run.json and the checkpoints all end at the last good epoch
                    history.removeLast();
                    String unwritten = "";
                    try {
                        history.write(s.out());
                    } catch (IOException w) {
                        unwritten = " (its row in metrics.csv could not be taken back: " + w.getMessage() + "; --resume drops it)";
                    }
                    throw new DivergedException(e.getMessage() + unwritten + ". " + lastGood(last));
                }
                Plots.curves(history, s.out());
            }
        } catch (Throwable t) {
            if (recorded != null) {   // its own failure (a device already broken) must not hide the one that ended training
                try { recorded.close(); } catch (RuntimeException | Error closing) { t.addSuppressed(closing); }
            }
            throw t;
        }
        if (recorded != null) recorded.close();
        return new Result(history.rows().isEmpty() ? start : history.rows().getLast().epoch(), bestAcc, bestEpoch, interrupted, history);
    }

    private boolean reportDropped;   // the old report's removal is handed to the writer (it may not have run yet)

    /**
     * A resumed run's {@code test/} report, which described the best checkpoint about to be replaced, goes with run.json's
     * test figures (the evaluation after training writes new ones); on the checkpoint writer's thread, just before the new
     * best is written, so that the report never stands beside a checkpoint it does not describe. Until then it stays, true
     * of the best checkpoint beside it, however the resumed run ends; a process killed between the two loses the report
     * ({@code pulmo evaluate} makes it again).
     */
    private void dropStaleReport(Path test) throws IOException {
        for (String f : RunFolder.REPORT_FILES) Files.deleteIfExists(test.resolve(f));   // the report; a file of the user's beside it stays
        Files.deleteIfExists(test.resolve(RunFolder.REPORT_UNFINISHED));
        try (var left = Files.list(test)) {
            if (left.findAny().isEmpty()) Files.delete(test);
        }
        if (record != null) record.testRemoved();
    }

    /**
     * {@code interrupted.safetensors}: the weights of the moment training was stopped. {@code -Dpulmo.interrupt.saveDelayMs=N}
     * makes the save start N ms late, for tests of a second Ctrl-C that comes while the first one's stop is under way.
     */
    private void saveInterrupted(Module model, Sgd sgd, int epoch, long step, Map<String, String> meta) throws IOException {
        long delayMs = Long.getLong("pulmo.interrupt.saveDelayMs", 0);
        if (delayMs > 0) {
            try {
                Thread.sleep(delayMs);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        Checkpoint.save(s.out().resolve(INTERRUPTED), model, sgd, epoch, step, org.pulmo.nn.Dropout.generators(model), meta);
    }

    /** Where a run that diverged can go back to: its last checkpoint, or none. */
    private static String lastGood(Path last) {
        return Files.exists(last) ? "The last good checkpoint is " + last : "No epoch had finished, so there is no checkpoint to go back to";
    }

    /** Ends training with a {@link DivergedException} when the readings found a loss that is not finite. */
    private void diverged(StepReadings.Diverged d, Progress bar, int epoch, float lr, Path last, Checkpoint.Writer checkpoints) {
        if (d == null) return;
        bar.finish("");
        String unwritten = "";
        try {
            checkpoints.await();   // the previous epoch's files, still being written, are the last good checkpoint
        } catch (IOException e) {
            unwritten = "; writing it failed: " + e.getMessage();
        }
        throw new DivergedException(String.format(Locale.ROOT,
            "the loss became %s at epoch %d, batch %d (lr %g); training stopped. %s",
            d.loss(), epoch + 1, d.batch() + 1, lr, lastGood(last) + (Files.exists(last) ? "" : unwritten)));
    }

    /**
     * Whether {@code s} may continue the run whose {@code last.safetensors} has metadata {@code meta}
     * ({@link #describe}). Everything that shapes the weights must be the same: model, MA-Net switches, classes,
     * image size, augmentation, seed, batch size, lr, momentum, weight decay, schedule; else one line saying what
     * differs. {@code --epochs} may grow (not below the epochs done) and the device may change; those come back
     * as notes. Keys an older checkpoint lacks are not checked.
     */
    public static List<String> checkResume(Settings s, Map<String, String> meta) {
        List<String> asked = new ArrayList<>(), notes = new ArrayList<>();
        String model = meta.getOrDefault("model", "?"), size = meta.getOrDefault("image_size", "?");
        if (!model.equals(s.model())) asked.add(s.model());
        if (!size.equals(Integer.toString(s.imageSize()))) asked.add(s.imageSize() + " px");
        if (s.classes() != null && meta.containsKey("classes") && !meta.get("classes").equals(String.join("\n", s.classes())))
            asked.add("the classes " + String.join(", ", s.classes()) + " instead of " + meta.get("classes").replace("\n", ", "));
        differs(meta, "augmentation", "--augmentation", s.augmentation().label(), asked);
        differs(meta, "seed", "--seed", Long.toString(s.seed()), asked);
        differs(meta, "batch_size", "--batch-size", Integer.toString(s.batchSize()), asked);
        differs(meta, "base_lr", "--lr", Float.toString(s.lr()), asked);
        differs(meta, "momentum", "--momentum", Float.toString(s.momentum()), asked);
        differs(meta, "weight_decay", "--weight-decay", Float.toString(s.weightDecay()), asked);
        differs(meta, "schedule", "--schedule", s.schedule().toLowerCase(Locale.ROOT), asked);
        if (model.equals(s.model()) && s.maNet() != null) {
            differs(meta, "manet_mab", "MAB (--no-mab)", Boolean.toString(s.maNet().mab()), asked);
            differs(meta, "manet_fab", "FAB (--no-fab)", Boolean.toString(s.maNet().fab()), asked);
            differs(meta, "manet_loss", "--manet-loss", s.maNet().loss().name(), asked);
            differs(meta, "manet_mutex_running_stats", "--manet-bn-stats", Boolean.toString(s.maNet().mutexRunningStats()), asked);
            differs(meta, "manet_attention_grad", "--manet-attention-grad", Boolean.toString(s.maNet().attentionGradient()), asked);
        }
        if (!asked.isEmpty())
            throw new IllegalArgumentException("--resume: the checkpoint is " + model + " at " + size + " px; this run asks for "
                + String.join(", ", asked) + " (use the first run's options, or start a new run)");
        int done = Integer.parseInt(meta.getOrDefault("epoch", "0"));
        if (s.epochs() < done)
            throw new IllegalArgumentException("--resume: the checkpoint has " + done + " epochs done; --epochs " + s.epochs()
                + " asks for fewer (give --epochs " + done + " or more to continue, or start a new run)");
        String planned = meta.get("epochs");
        if (planned != null && !planned.equals(Integer.toString(s.epochs())))
            notes.add("--resume: the run planned " + planned + (planned.equals("1") ? " epoch" : " epochs") + " when it last trained; this one goes on to " + s.epochs()
                + (s.schedule().toLowerCase(Locale.ROOT).startsWith("cosine") ? " (the cosine schedule is stretched to the new length from here on)" : ""));
        if (s.epochs() == done) notes.add("--resume: " + (done == 1 ? "its one epoch is" : "all " + done + " epochs are") + " done; nothing to train"
            + " (a larger --epochs trains it further; below, the run as it stands)");
        String dev = meta.get("device");
        if (dev != null && s.device() != null && !dev.equals(s.device().toString()))
            notes.add("--resume: the first run trained on " + dev + ", this one on " + s.device() + " (the last bits of the results may differ)");
        return notes;
    }

    private static void differs(Map<String, String> meta, String key, String option, String asked, List<String> out) {
        String had = meta.get(key);
        if (had != null && !had.equalsIgnoreCase(asked)) out.add(option + " " + asked + " instead of " + had);
    }

    /** {mean loss, accuracy} over the validation set in evaluation mode. */
    private double[] validate(DataLoader loader, int epoch) {
        if (val.size() == 0) return new double[] {Double.NaN, Double.NaN};
        model.eval();
        double lossSum = 0;
        long n = 0, ok = 0;
        try (var ignored = GradMode.noGrad(); DataLoader.Epoch batches = loader.epoch(epoch)) {
            for (DataLoader.Batch b : batches) try (MemoryScope scope = MemoryScope.open()) {
                Tensor logits = model.forward(b.images().to(s.device()));
                lossSum += Losses.crossEntropy(logits, b.labels()).item() * b.size();
                ok += correct(logits, b.labelArray());
                n += b.size();
            }
        }
        model.train();
        if (n == 0)
            throw new org.pulmo.data.DatasetException("none of the " + val.size() + " validation images could be read (each unreadable image was skipped"
                + " with a line naming it); a validation part is needed to choose the best checkpoint");
        return new double[] {lossSum / n, ok / (double) n};
    }

    static int correct(Tensor logits, int[] labels) { return StepReadings.correct(logits.argmax(1, false).toArray(), labels); }
}
