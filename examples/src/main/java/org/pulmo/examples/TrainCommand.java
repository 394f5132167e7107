package org.pulmo.examples;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import org.pulmo.data.Augmentation;
import org.pulmo.data.ImageDecoder;
import org.pulmo.data.Splits;
import org.pulmo.io.Safetensors;
import org.pulmo.models.MaNet;
import org.pulmo.models.ModelRegistry;
import org.pulmo.nn.Module;
import org.pulmo.tensor.Device;
import org.pulmo.train.Models;
import org.pulmo.train.PretrainedWeights;
import org.pulmo.train.RunFolder;
import org.pulmo.train.Trainer;
import org.pulmo.train.TrainedModel;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;
import org.pulmo.train.RunRecord;

/**
 * {@code pulmo train}: trains a model on an image folder or the demo data. Options left out follow the paper of
 * the model ({@link Models#defaults}); on the demo data on a CPU they are scaled down to run in minutes.
 */
@Command(name = "train", mixinStandardHelpOptions = true, sortOptions = false,
    description = {"Train a model on an image folder or the built-in demo data.",
        "Options left out follow the model's paper (DPN-92-SE: 100 epochs; MA-Net: lr 0.01, momentum 0.9, batch 16 pairs, 120 epochs, images resized to"
        + " SxS, lr x0.5 every 30 epochs (our reading of its eq. 17)); what the papers leave open is our choice (docs/FIDELITY.md).",
        "On the demo data the learning rate is 0.02 and, on a CPU, the run shrinks to a few minutes (5 epochs at 32x32); on a GPU the demo runs at 224x224.",
        "A finished run is never overwritten: if --out holds one, the next free <out>2, <out>3, ... is used (--resume continues it, --overwrite replaces it).",
        "MA-Net on more than two classes draws each image's mutex partner uniformly from the training images of all other classes."})
public final class TrainCommand implements Callable<Integer> {

    /** The demo run of {@code ./pulmo} on a CPU: small images and few epochs so that it ends in minutes. */
    static final int DEMO_CPU_EPOCHS = 5, DEMO_CPU_SIZE = 32;
    static final float DEMO_LR = 0.02f;  // 0.05 swung the loss into the hundreds in epoch 1; 0.02 and 0.01 both pass 70 % by epoch 5

    @Option(names = {"-m", "--model"}, defaultValue = "dpn92-se", description = "Model name (see 'pulmo summary --list'; default: ${DEFAULT-VALUE}).")
    String model;

    @Mixin DataOptions data;

    @Spec CommandSpec spec;

    @Option(names = "--epochs", description = "Epochs (paper default per model).") Integer epochs;
    @Option(names = "--batch-size", description = "Batch size (default 16).") Integer batchSize;
    @Option(names = "--lr", description = "Base learning rate (default 0.01; on the demo data 0.02).") Float lr;
    @Option(names = "--momentum", description = "SGD momentum (default 0.9).") Float momentum;
    @Option(names = "--weight-decay", description = "L2 weight decay on conv/linear weights (default 1e-4).") Float weightDecay;
    @Option(names = "--schedule", description = "step (x0.5 every 30 epochs; our reading of MA-Net's eq. 17), step:PERIOD:FACTOR, cosine, exp (0.5^(epoch/30), eq. 17 as printed) or constant (default step).") String schedule;
    @Option(names = "--image-size", description = "Input side in pixels (default: the model's, 224; inception-v3 299; demo on CPU: " + DEMO_CPU_SIZE + ").") Integer imageSize;
    @Option(names = "--augmentation", description = "dpn-senet (resize the short side, random crop, flip, rotate, scale), ma-net (resize to SxS, flips,"
        + " rotation: MA-Net's dataset-C), resize (to SxS, nothing random: MA-Net's default, as its paper's other data sets) or none (resize the"
        + " short side, centre crop) (default: the model's paper).") String augmentation;
    @Option(names = "--seed", defaultValue = "42", description = "Seed of initialisation, batch order and augmentation (default: ${DEFAULT-VALUE}).") long seed;
    @Mixin DeviceOptions deviceOptions;
    @Option(names = {"-o", "--out"}, defaultValue = "runs/train", description = "Output folder (default: ${DEFAULT-VALUE}); if it holds an earlier run, the next free <out>2, <out>3, ... is used instead.") Path out;
    @Option(names = "--resume", description = "Continue the run in <out> from its last.safetensors (same options; --epochs may grow, --device may change);"
        + " a run stopped before its first epoch ended starts again (one begun with --init-from needs the same --init-from again).") boolean resume;
    @Option(names = "--init-from", paramLabel = "FILE", description = "Start from PyTorch weights: a torchvision or timm state dict saved as safetensors"
        + " (MA-Net: a ResNet-50 or DenseNet-169 file for its backbone), or a checkpoint of an earlier 'pulmo train' run (its model's"
        + " weights, a MA-Net's FAB included; the optimiser starts afresh); a classifier of another class count starts afresh.") Path initFrom;
    @Option(names = "--overwrite", description = "Replace the run in <out>: its checkpoints, metrics, plots and test/ report are removed first (refused where test/ holds other files).") boolean overwrite;
    @Option(names = "--workers", defaultValue = "0", description = "Image decoding threads, each making a whole batch ahead (0: half the cores, at most 8; at most 64).") int workers;
    @Option(names = "--no-mab", description = "MA-Net ablation: no mutex attention block (Table 8; with FAB on, FAB fuses the main path's own map: not in the paper, see docs/FIDELITY.md).") boolean noMab;
    @Option(names = "--no-fab", description = "MA-Net ablation: no fusion attention block (Table 8); the mutex path goes on with F_am + F_rem (our reading: docs/FIDELITY.md).") boolean noFab;
    @Option(names = "--manet-loss", defaultValue = "adaptive", description = "MA-Net loss: ce, ce-cs or adaptive (Table 7; default: ${DEFAULT-VALUE}); "
        + "adaptive-grad: the adaptive weights differentiated too.") String maNetLoss;
    @Option(names = "--manet-bn-stats", defaultValue = "main", description = "MA-Net: which path's activations the backbone's batch-norm running "
        + "statistics follow: main (the path inference runs; default) or both (each forward moves them, the framework default).") String maNetBnStats;
    @Option(names = "--manet-attention-grad", defaultValue = "constant", description = "MA-Net: constant (the mutex attention map is a constant in"
        + " backward; default: ${DEFAULT-VALUE}) or through (differentiated through its softmax, what autograd does).") String maNetAttentionGrad;
    @Option(names = "--no-evaluate", description = "Skip the test-set evaluation after training.") boolean noEvaluate;
    @Option(names = "--cuda-graphs", description = "On cuda: record the training step once as a CUDA graph and replay it for every batch"
        + " (the host launches one graph per step instead of every kernel; the same results). Elsewhere the steps run as usual.") boolean cudaGraphs;

    /** This process's claim on the run folder ({@link RunFolder#claim}), given up when the command ends. */
    private AutoCloseable claim;

    @Override public Integer call() throws Exception {
        try {
            return train();
        } finally {
            if (claim != null) claim.close();
        }
    }

    private Integer train() throws Exception {
        checkOptions();                          // bad numbers fail before the device, the data or the output folder is touched
        Device dev = deviceOptions.resolve();
        Trainer.Settings s = settings(dev);
        int size = s.imageSize();
        Models.schedule(schedule != null ? schedule : s.schedule(), s.lr(), s.epochs()); // a bad --schedule fails before any image is read, named as typed
        data.checkOutputOutsideTheImages(out, "--out");
        RunFolder.Choice folder = RunFolder.choose(out, resume, overwrite);
        Cli.checkOutputFolder(folder.dir(), "--out");   // a folder that cannot be written is said before the data is read
        boolean continuing = resume && !folder.startOver();   // --resume of a run stopped before its first epoch ended starts it again
        // --init-from goes with --resume only where the run starts again: from the same weights as it first did
        if (continuing && initFrom != null)
            throw new IllegalArgumentException("--init-from starts a run from other weights and --resume continues one from its checkpoint: give one of them"
                + " (the run in " + folder.dir() + " goes on from its own last.safetensors)");
        String startedFrom = resume && folder.startOver() ? RunFolder.startedFrom(folder.dir()) : null;
        if (startedFrom != null && initFrom == null)
            throw new IllegalArgumentException("the run in " + folder.dir() + " was started from " + startedFrom + " (--init-from) and stopped before its"
                + " first epoch ended: give --init-from with --resume to start it again from those weights, not from a random initialisation");
        if (resume && initFrom != null && !initFrom.getFileName().toString().equals(startedFrom))
            throw new IllegalArgumentException("--resume starts the run in " + folder.dir() + " again as it began, " + (startedFrom == null
                ? "from a random initialisation: leave out --init-from, or train into another --out" : "from " + startedFrom + ", not " + initFrom.getFileName()));
        if (resume) claim = RunFolder.claim(folder.dir(), System.out);   // the run's own folder: refused before anything is said of it

        Splits.Split split = data.load(size);
        try {
            checkData(s, split);
        } catch (IllegalArgumentException e) {
            // a run resumed on other images: that is what to name, not what those images lack
            if (continuing) DataOptions.checkResume(Safetensors.read(folder.dir().resolve(Trainer.LAST)).metadata(), data.splitRecord(split));
            throw e;
        }
        if (s.strict()) checkEveryImage(split);
        data.warnOfMissingValidationClasses(split);
        split.train().requireClassCount(split.train().numClasses());
        s = withClasses(s, split, folder.dir(), continuing);
        Map<String, String> splitRecord = data.splitRecord(split);
        if (continuing) { // the checkpoint records the first run's options and images: refuse a different run before building the model
            Map<String, String> meta = Safetensors.read(folder.dir().resolve(Trainer.LAST)).metadata();
            org.pulmo.train.CheckpointMetadata.check(folder.dir().resolve(Trainer.LAST), meta);
            String had = meta.get("augmentation");
            if (augmentation == null && had != null && !had.equals(s.augmentation().label())) {   // a default that has changed since
                s = asBegun(s, Augmentation.parse(had), s.initFrom());
                System.out.println("--resume: augmentation " + had + ", as the first run trained (today's default for " + model + " is "
                    + Models.defaults(model).augmentation().label() + ")");
            }
            // the weights the run began from stay its record's and its checkpoints' (before: null from the first resume on)
            if (meta.get("init_from") != null) s = asBegun(s, s.augmentation(), meta.get("init_from"));
            for (String note : Trainer.checkResume(s, meta)) System.out.println(note);
            for (String note : DataOptions.checkResume(meta, splitRecord)) System.out.println(note);
        }
        Module net = Models.create(model, split.train().numClasses(), size, seed, s.maNet()); // initialised on the CPU, then moved
        // weights that do not fit are refused before the output folder is touched
        String initSummary = initFrom == null ? null : PretrainedWeights.load(initFrom, net, model).summary();
        // made and claimed only now: inside a data folder an empty one made earlier would read as a class; another pulmo
        // process training into it (or resuming it) is refused before anything of the folder is removed or written
        if (claim == null) claim = RunFolder.claim(folder.dir(), System.out);
        if (!resume && !overwrite && !RunFolder.choose(out, false, false).dir().equals(folder.dir()))   // another run finished there meanwhile
            throw new IllegalArgumentException(folder.dir() + " received another run's files while this command read its data; run it again"
                + " (it goes to the next free folder)");
        for (String note : folder.notes()) System.out.println(note);
        folder.clear();                          // --overwrite: the old run's files go only now, when nothing can fail on the options
        Path dir = folder.dir();
        if (initSummary != null) System.out.print(initSummary);
        net = net.to(dev);
        System.out.printf(Locale.ROOT, "Training %s (%,d parameters) on %s: %d training, %d validation, %d test images, classes %s%n",
            model, net.parameterCount(), data.isDemo() ? "the demo data" : data.data, split.train().size(), split.val().size(),
            split.test().size(), split.train().classes());
        System.out.printf(Locale.ROOT, "  %d epoch" + (s.epochs() == 1 ? "" : "s") + ", batch %d, SGD lr %s momentum %s weight decay %s, schedule %s, %dx%d, augmentation %s, seed %d, %s -> %s%n",
            s.epochs(), s.batchSize(), s.lr(), s.momentum(), s.weightDecay(), s.schedule(), size, size, s.augmentation().label(), seed,
            dev.isCpu() ? "cpu (" + org.pulmo.backend.cpu.CpuBackend.describe() + ")" : dev, dir);
        if (s.maNet() != null)
            System.out.printf(Locale.ROOT, "  MA-Net variant: MAB %s, FAB %s, loss %s, batch-norm running statistics from %s, attention map %s%n",
                s.maNet().mab() ? "on" : "off", s.maNet().fab() ? "on" : "off", s.maNet().loss().name().toLowerCase(Locale.ROOT).replace('_', '-'),
                s.maNet().mutexRunningStats() ? "both paths" : "the main path",
                s.maNet().attentionGradient() ? "differentiated" : "constant in backward");
        if (s.maNet() != null && split.train().numClasses() > 2)
            System.out.printf("  MA-Net on %d classes: each image's mutex partner is drawn uniformly from the training images of all"
                + " other classes (the paper pairs two classes, COVID-19 and non-COVID-19)%n", split.train().numClasses());

        RunRecord record = RunRecord.begin(resume ? withClasses(s, split, dir, true) : s, RunRecord.commandLine("pulmo", spec.commandLine().getParseResult().originalArgs()),
            new RunRecord.DataSummary(data.isDemo() ? "demo" : Path.of(data.data).toAbsolutePath().normalize().toString(), split.train().size(),
                split.val().size(), split.test().size(), split.train().classes(), split.train().classCounts(), splitRecord), cudaGraphs, System.out);
        Trainer trainer = new Trainer(s, net, split.train(), split.val(), System.out, System.console() != null).recordSteps(cudaGraphs).record(record)
            .dataRecord(splitRecord);
        Trainer.Result r;
        java.util.concurrent.atomic.AtomicReference<String> stoppedBy = new java.util.concurrent.atomic.AtomicReference<>("Ctrl-C");
        try (AutoCloseable ctrlC = Cli.onInterrupt(signal -> { stoppedBy.set(signal); trainer.requestStop(); },   // stop after this batch and save
                 signal -> record.end("interrupted", "quit at once by a second " + signal + "; " + (Files.exists(dir.resolve(Trainer.LAST))
                     ? Trainer.LAST + " holds the last finished epoch" : "no epoch had finished, so there is no " + Trainer.LAST)))) {
            r = trainer.run();
        } catch (Trainer.DivergedException e) { // training ran but learned nothing usable: not a success
            record.end("diverged", e.getMessage());
            System.err.println("pulmo train: " + e.getMessage());
            return 3;
        } catch (Trainer.NoStepException e) {
            record.end("failed", e.getMessage());
            System.err.println("pulmo train: " + e.getMessage());
            return 3;
        } catch (Exception | Error e) {   // the error is reported as usual (Main); the record says how the run ended
            endQuietly(record, e);
            throw e;
        }
        if (r.interrupted() || trainer.stopRequested()) record.end("interrupted", "stopped by " + stoppedBy.get() + (!r.interrupted()
            ? " after the last epoch; training is complete" : r.epochsDone() == 0 ? " before the first epoch ended; --resume starts it again" : "; --resume continues"));
        int signalled = stoppedBy.get().equals("SIGTERM") ? 143 : 130;   // 128 + the signal's number, as a shell reports it
        if (r.interrupted()) return signalled;
        if (trainer.stopRequested()) { // Ctrl-C during the last validation: training is complete, skip the test set
            System.out.println("Interrupted after the last epoch: training is complete; evaluate later with 'pulmo evaluate'.");
            return signalled;
        }
        if (r.bestEpoch() < 1 || !Files.exists(dir.resolve(Trainer.BEST))) { // a guard: checkData should make this unreachable
            record.end("failed", "no epoch produced a validation accuracy");
            System.err.println("pulmo train: no epoch produced a validation accuracy, so there is no best.safetensors in " + dir);
            return 3;
        }
        System.out.printf(Locale.ROOT, "Done: %d epoch" + (r.epochsDone() == 1 ? "" : "s") + " in %s; best validation accuracy %.2f%% at epoch %d (chance: %.1f%%). Files in %s: "
            + "last.safetensors, best.safetensors, metrics.csv, metrics.json, run.json, %s%n",
            r.epochsDone(), record.summary(), 100 * r.bestValAcc(), r.bestEpoch(), 100.0 / split.train().numClasses(), dir,
            s.maNet() != null ? org.pulmo.train.Plots.listed("loss.png", "accuracy.png", "manet_weights.png") : org.pulmo.train.Plots.listed("loss.png", "accuracy.png"));
        // "finished" once the test report is written too: a process killed during the evaluation leaves the run "running"
        // (then unrecorded), and --resume, with every epoch done, writes the report
        try (AutoCloseable ctrlC = Cli.onInterruptQuit("stopped during the test-set evaluation; training is complete, and --resume (or"
                 + " 'pulmo evaluate') writes the test report", signal -> record.end("interrupted", "stopped by " + signal
                 + " during the test-set evaluation; training is complete: --resume writes the test report"))) {
            if (!noEvaluate && split.test().size() > 0) {
                System.out.println("Test set, best checkpoint:");
                long delayMs = Long.getLong("pulmo.test.evaluateDelayMs", 0);   // tests: a signal that lands during the evaluation
                if (delayMs > 0) Thread.sleep(delayMs);
                record.test(EvaluateCommand.evaluate(TrainedModel.load(dir.resolve(Trainer.BEST), dev), split.test(), "test", dir.resolve("test"),
                    s.batchSize(), data.strict, System.out).values());
            } else if (!noEvaluate) {
                System.out.println("No test images, so no test-set evaluation.");
            }
        } catch (Exception | Error e) {
            endQuietly(record, e);
            throw e;
        }
        record.end("finished", null);
        return 0;
    }

    /** Marks the record failed with the error's one line; a record that cannot be written must not hide the error. */
    private static void endQuietly(RunRecord record, Throwable e) {
        try {
            record.end("failed", Cli.failure(e));
        } catch (IOException | RuntimeException | Error writing) {   // out of memory again, say: the first error is what counts
            e.addSuppressed(writing);
        }
    }

    /**
     * The run's settings from the options given and, for those left out, the model's paper ({@link Models#defaults}) or,
     * for the demo data, the demo's; classes are filled in once the data is read. Refuses an image size the model cannot take.
     */
    Trainer.Settings settings(Device dev) {
        Models.Defaults d = Models.defaults(model);
        boolean demoCpu = data.isDemo() && dev.isCpu();
        int size = imageSize != null ? imageSize : demoCpu ? DEMO_CPU_SIZE : d.imageSize();
        int minSize = ModelRegistry.entry(model).minSize();
        if (size < minSize)
            throw new IllegalArgumentException("--image-size " + size + " is too small for " + model + ": it needs at least " + minSize + " pixels");
        return new Trainer.Settings(model, null,
            epochs != null ? epochs : demoCpu ? DEMO_CPU_EPOCHS : d.epochs(),
            batchSize != null ? batchSize : d.batchSize(),
            lr != null ? lr : data.isDemo() ? DEMO_LR : d.lr(),
            momentum != null ? momentum : d.momentum(),
            weightDecay != null ? weightDecay : d.weightDecay(),
            schedule != null ? schedule.strip().toLowerCase(Locale.ROOT) : d.schedule(), size,   // one spelling in run.json and checkpoints
            augmentation != null ? Augmentation.parse(augmentation) : d.augmentation(),
            seed, out, resume, workers, data.strict,
            Models.isMaNet(model) ? new MaNet.Options(!noMab, !noFab, Models.lossMode(maNetLoss), 16,
                Models.mutexRunningStats(maNetBnStats), Models.attentionGradient(maNetAttentionGrad)) : null, dev,
            initFrom == null ? null : initFrom.getFileName().toString());
    }

    /** The largest --image-size: a batch of 16 at 4096 x 4096 is already some 3 GiB of input alone. */
    static final int MAX_IMAGE_SIZE = org.pulmo.train.CheckpointMetadata.MAX_IMAGE_SIZE;

    /** Numbers that cannot give a training run, refused with the option and the value. */
    private void checkOptions() {
        if (initFrom != null && !Files.isRegularFile(initFrom))
            throw new IllegalArgumentException("--init-from " + initFrom + (Files.isDirectory(initFrom) ? " is a folder; give a safetensors file" : ": no such file"));
        if (resume && overwrite) throw new IllegalArgumentException("--resume continues the run in " + out + " and --overwrite replaces it: give one of them");
        if (!Models.isMaNet(model) && org.pulmo.models.ModelRegistry.names().contains(model)) {   // an ablation switch on another model would be ignored without a word
            List<String> given = java.util.stream.Stream.of("--no-mab", "--no-fab", "--manet-loss", "--manet-bn-stats", "--manet-attention-grad")
                .filter(o -> spec.commandLine().getParseResult() != null && spec.commandLine().getParseResult().hasMatchedOption(o)).toList();
            if (!given.isEmpty())
                throw new IllegalArgumentException(String.join(", ", given) + (given.size() == 1 ? " applies" : " apply")
                    + " to MA-Net models only (manet-resnet50, manet-densenet169), not to " + model);
        }
        if (epochs != null && epochs < 1) throw new IllegalArgumentException("--epochs must be at least 1, got " + epochs);
        if (batchSize != null && batchSize < 1) throw new IllegalArgumentException("--batch-size must be at least 1, got " + batchSize);
        if (lr != null && !(lr > 0 && Float.isFinite(lr))) throw new IllegalArgumentException("--lr must be a positive number, got " + lr);
        if (momentum != null && !(momentum >= 0 && momentum < 1))
            throw new IllegalArgumentException("--momentum must be in [0, 1), got " + momentum);
        if (weightDecay != null && !(weightDecay >= 0 && Float.isFinite(weightDecay)))
            throw new IllegalArgumentException("--weight-decay must be 0 or more, got " + weightDecay);
        if (imageSize != null && imageSize < 1) throw new IllegalArgumentException("--image-size must be at least 1, got " + imageSize);
        if (imageSize != null && imageSize > MAX_IMAGE_SIZE)
            throw new IllegalArgumentException("--image-size must be at most " + MAX_IMAGE_SIZE + " (the papers train at 224), got " + imageSize);
        if (workers < 0) throw new IllegalArgumentException("--workers must be 0 (half the cores) or more, got " + workers);
        if (workers > MAX_WORKERS)
            throw new IllegalArgumentException("--workers must be at most " + MAX_WORKERS + " (each one holds a whole batch of decoded images ahead of"
                + " training), got " + workers);
    }

    /** The most image decoding threads: each makes a whole batch ahead, so that their batches all lie in memory at once. */
    static final int MAX_WORKERS = 64;

    /**
     * {@code --strict}: every training and validation image is decoded before training, so that an unreadable one stops
     * the run before its first step rather than in whichever epoch first reads it.
     */
    static void checkEveryImage(Splits.Split split) {
        List<org.pulmo.data.BadImage> bad = new ArrayList<>();
        for (org.pulmo.data.Dataset part : List.of(split.train(), split.val()))
            bad.addAll(org.pulmo.data.DataLoader.findBadImages(part, Runtime.getRuntime().availableProcessors()));
        if (!bad.isEmpty())
            throw new org.pulmo.data.DataLoadException("--strict: " + bad.size() + " unreadable image(s) among the training and validation images, the"
                + " first " + bad.getFirst() + "; nothing was trained (mend or remove them, or leave out --strict to have them skipped)", null);
    }

    /** A data set that would train nothing, or nothing worth reporting, is refused with the reason. */
    static void checkData(Trainer.Settings s, Splits.Split split) {
        int n = split.train().size();
        if (n == 0) throw new IllegalArgumentException("there are no training images");
        for (String c : split.train().classes())
            if (org.pulmo.metrics.ClassificationReport.RESERVED_CLASS_NAMES.contains(c))
                throw new IllegalArgumentException("a class is named '" + c + "', which the reports could not tell from their " + c
                    + "_* figures; rename its folder (or its label in split.csv)");
        List<String> present = new ArrayList<>();
        int[] counts = split.train().classCounts();
        boolean[] images = hasImageFiles(split.train());
        for (int k = 0; k < counts.length; k++) if (images[k]) present.add(split.train().classes().get(k));
        List<String> none = new ArrayList<>();
        for (int k = 0; k < counts.length; k++)
            if (counts[k] > 0 && !images[k]) none.add("'" + split.train().classes().get(k) + "' has " + counts[k] + " file(s), none of them an image");
        String noImages = none.isEmpty() ? "" : String.join(", ", none) + " (empty, or not PNG, JPEG, BMP, GIF or TIFF)";
        if (present.size() < 2)
            throw new IllegalArgumentException("the training images hold only one class (" + String.join(", ", present) + ")"
                + (none.isEmpty() ? "" : "; " + noImages) + ": a classifier needs at least two");
        if (!none.isEmpty())   // a class the model would be built for but never see
            throw new IllegalArgumentException("in the training part, " + noImages + ": every class needs images to learn from (remove the folder"
                + " or fix its files)");
        // the training loader drops the last partial batch (BatchNorm needs more than one image; every step sees a full batch)
        if (n < s.batchSize())
            throw new IllegalArgumentException(n + " training images but batch size " + s.batchSize() + ": no full batch, so no optimiser step;"
                + " use --batch-size " + n + " or fewer, or more images");
        if (split.val().size() == 0)
            throw new IllegalArgumentException("there are no validation images, and best.safetensors is chosen by validation accuracy;"
                + " give a val/ folder or a larger --val-fraction");
        boolean anyImage = false;
        for (boolean b : hasImageFiles(split.val())) anyImage |= b;
        if (!anyImage)
            throw new IllegalArgumentException("none of the " + split.val().size() + " validation files is an image (empty, or not PNG, JPEG, BMP, GIF"
                + " or TIFF; the first: " + split.val().source(0) + "), and best.safetensors is chosen by validation accuracy");
    }

    /**
     * Per class, whether any file of {@code part} starts as an image does ({@link ImageDecoder#looksLikeImage}); images
     * that are not files (the demo's) count as images. Each class's files are looked at only until one is an image, so a
     * data set of good images costs a file or two per class, not a read of every file.
     */
    static boolean[] hasImageFiles(org.pulmo.data.Dataset part) {
        boolean[] found = new boolean[part.classes().size()];
        for (int i = 0; i < part.size(); i++) {
            if (found[part.label(i)]) continue;
            Path f;
            try {
                f = Path.of(part.source(i));
            } catch (java.nio.file.InvalidPathException e) {
                f = null;
            }
            if (f == null || !Files.isRegularFile(f) || ImageDecoder.looksLikeImage(f)) found[part.label(i)] = true;
        }
        return found;
    }

    /** {@code s} with the first run's augmentation and starting weights (a resumed run goes on as it began). */
    private static Trainer.Settings asBegun(Trainer.Settings s, Augmentation a, String initFrom) {
        return new Trainer.Settings(s.model(), s.classes(), s.epochs(), s.batchSize(), s.lr(), s.momentum(), s.weightDecay(),
            s.schedule(), s.imageSize(), a, s.seed(), s.out(), s.resume(), s.workers(), s.strict(), s.maNet(), s.device(), initFrom);
    }

    private static Trainer.Settings withClasses(Trainer.Settings s, Splits.Split split, Path dir, boolean resume) {
        return new Trainer.Settings(s.model(), split.train().classes(), s.epochs(), s.batchSize(), s.lr(), s.momentum(), s.weightDecay(),
            s.schedule(), s.imageSize(), s.augmentation(), s.seed(), dir, resume, s.workers(), s.strict(), s.maNet(), s.device(),
            s.initFrom());
    }
}
