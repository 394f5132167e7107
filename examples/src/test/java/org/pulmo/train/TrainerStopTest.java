package org.pulmo.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pulmo.data.Augmentation;
import org.pulmo.data.DemoChestDataset;
import org.pulmo.io.Safetensors;
import org.pulmo.models.ResNet;
import org.pulmo.nn.Module;
import org.pulmo.tensor.Device;
import org.pulmo.tensor.Rng;
import org.pulmo.tensor.Tensor;

/**
 * A stop asked in the middle of an epoch (Ctrl-C, {@link Trainer#requestStop}), made deterministic: the model asks for
 * it from inside its own forward at a chosen batch. The partial epoch must not count as finished: no validation,
 * last.safetensors and metrics.csv keep the epochs before it, interrupted.safetensors holds that moment.
 */
class TrainerStopTest {

    /** ResNet-18 that calls {@code onForward} before each forward of a training batch. */
    static final class Calling extends Module {
        final Module net;
        Runnable onForward = () -> {};
        Calling(Module net) { this.net = registerModule("net", net); }
        @Override public Tensor forward(Tensor x) {
            if (isTraining()) onForward.run();
            return net.forward(x);
        }
    }

    /** A trainer of {@code model} on {@code images} demo training images (16 for validation), batches of 8, its lines into {@code log}. */
    private static Trainer trainer(Path dir, int images, int epochs, Module model, ByteArrayOutputStream log) {
        DemoChestDataset train = new DemoChestDataset(images, 32, 3), val = new DemoChestDataset(16, 32, 4);
        Trainer.Settings s = new Trainer.Settings("resnet18", train.classes(), epochs, 8, 0.01f, 0.9f, 1e-4f, "step", 32,
            Augmentation.NONE, 7, dir, false, 1, false, null, Device.CPU, null);
        return new Trainer(s, model, train, val, new PrintStream(log, true, StandardCharsets.UTF_8), false);
    }

    @Test void aStopInTheMiddleOfAnEpochKeepsTheFinishedEpochsOnly(@TempDir Path dir) throws Exception {
        Calling model = new Calling(new ResNet(ResNet.RESNET18, 4, new Rng(5)));
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        Trainer t = trainer(dir, 64, 3, model, log);
        AtomicInteger forwards = new AtomicInteger();
        int perEpoch = 64 / 8;
        model.onForward = () -> { if (forwards.incrementAndGet() == perEpoch + 3) t.requestStop(); };   // batch 3 of epoch 2

        Trainer.Result r = t.run();
        String text = log.toString(StandardCharsets.UTF_8);
        assertTrue(r.interrupted(), text);
        assertEquals(perEpoch + 3, forwards.get(), "training stops after the batch in which the stop was asked\n" + text);
        assertEquals(1, r.epochsDone(), text);
        assertTrue(text.contains("(interrupted)") && text.contains("Interrupted: the weights of this moment are in"), text);
        assertEquals("1", Safetensors.read(dir.resolve(Trainer.LAST)).metadata().get("epoch"), "last.safetensors keeps epoch 1");
        assertEquals("1", Safetensors.read(dir.resolve(Trainer.INTERRUPTED)).metadata().get("epoch"), "the epoch it stopped in, unfinished");
        List<String> rows = Files.readAllLines(dir.resolve("metrics.csv"));
        assertEquals(2, rows.size(), "header and epoch 1 only: " + rows);
        assertEquals(1, text.lines().filter(l -> l.contains("val acc")).count(), "one validation (epoch 1's)\n" + text);
    }
    /** Stopped in epoch 1, a run has no last.safetensors: the line says so, and --resume starts it again in its folder. */
    @Test void aStopInTheFirstEpochLeavesNothingToContinueAndResumeStartsItAgain(@TempDir Path dir) throws Exception {
        Calling model = new Calling(new ResNet(ResNet.RESNET18, 4, new Rng(5)));
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        Trainer t = trainer(dir, 32, 1, model, log);
        AtomicInteger forwards = new AtomicInteger();
        model.onForward = () -> { if (forwards.incrementAndGet() == 2) t.requestStop(); };
        Trainer.Result r = t.run();
        String text = log.toString(StandardCharsets.UTF_8);
        assertTrue(r.interrupted() && r.epochsDone() == 0, text);
        assertTrue(text.contains("no epoch had finished, so there is no last.safetensors; the same options with --resume --out " + dir
            + " start the run again from epoch 1 there."), text);
        assertTrue(!Files.exists(dir.resolve(Trainer.LAST)) && Files.exists(dir.resolve(Trainer.INTERRUPTED)));

        RunFolder.Choice c = RunFolder.choose(dir, true, false);
        assertTrue(c.startOver(), c.toString());
        assertEquals(List.of(dir.resolve(Trainer.INTERRUPTED)), c.stale());
        int code = org.pulmo.examples.Main.run("train", "--model", "resnet18", "--data", "demo", "--demo-images", "32", "--image-size", "32",
            "--batch-size", "8", "--epochs", "1", "--workers", "1", "--device", "cpu", "--no-evaluate", "--out", dir.toString(), "--resume");
        assertEquals(0, code);
        assertEquals("1", Safetensors.read(dir.resolve(Trainer.LAST)).metadata().get("epoch"), "trained from epoch 1 in the same folder");
        assertTrue(!Files.exists(dir.resolve(Trainer.INTERRUPTED)), "the stopped attempt's weights are gone");
    }

    /**
     * A finite training loss but outputs that overflow in evaluation mode (as batch norm's running statistics do at a
     * large learning rate): the epoch's validation loss is NaN, and training stops as diverged with no checkpoint of it.
     */
    @Test void aValidationLossThatIsNotFiniteStopsTrainingAsDiverged(@TempDir Path dir) throws Exception {
        AtomicInteger validations = new AtomicInteger();
        Module net = new ResNet(ResNet.RESNET18, 4, new Rng(5));
        Module model = new Module() {
            { registerModule("net", net); }
            int seen = -1;
            @Override public Tensor forward(Tensor x) {
                Tensor y = net.forward(x);
                if (isTraining()) { seen = -1; return y; }
                if (seen < 0) seen = validations.incrementAndGet();
                return seen >= 2 ? y.mul(Float.NaN) : y;   // from epoch 2's validation on
            }
        };
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        Trainer.DivergedException e = org.junit.jupiter.api.Assertions.assertThrows(Trainer.DivergedException.class,
            () -> trainer(dir, 32, 3, model, log).run());
        assertTrue(e.getMessage().contains("the validation loss became NaN at epoch 2") && e.getMessage().contains("The last good checkpoint is "
            + dir.resolve(Trainer.LAST)), e.getMessage());
        assertEquals("1", Safetensors.read(dir.resolve(Trainer.LAST)).metadata().get("epoch"));
        assertEquals("1", Safetensors.read(dir.resolve(Trainer.BEST)).metadata().get("epoch"), "best must not come from the NaN epoch");
        assertEquals(2, Files.readAllLines(dir.resolve("metrics.csv")).size(), "header and epoch 1 only");
    }

    /**
     * A finite loss, but the epoch's last step leaves a weight that is not finite: the checkpoint refuses it, training
     * stops as diverged, and the epoch's row, already written, is taken back, so that metrics.csv, run.json and the
     * checkpoints all end at the last good epoch.
     */
    @Test void weightsBrokenAtAnEpochsLastStepTakeItsRowBack(@TempDir Path dir) throws Exception {
        Module net = new ResNet(ResNet.RESNET18, 4, new Rng(5));
        AtomicInteger forwards = new AtomicInteger();
        Module model = new Module() {
            final Tensor spare = registerBuffer("spare", Tensor.ones(3));
            { registerModule("net", net); }
            @Override public Tensor forward(Tensor x) {
                if (isTraining() && forwards.incrementAndGet() == 8) {   // the last batch of epoch 2 (32 images in batches of 8)
                    try (var off = org.pulmo.autograd.GradMode.noGrad()) { spare.set(Float.NaN, 1); }
                }
                return net.forward(x);
            }
        };
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        Trainer.DivergedException e = org.junit.jupiter.api.Assertions.assertThrows(Trainer.DivergedException.class,
            () -> trainer(dir, 32, 3, model, log).run());
        assertTrue(e.getMessage().contains("spare") && e.getMessage().contains("The last good checkpoint is " + dir.resolve(Trainer.LAST)),
            e.getMessage());
        assertEquals("1", Safetensors.read(dir.resolve(Trainer.LAST)).metadata().get("epoch"));
        List<String> rows = Files.readAllLines(dir.resolve("metrics.csv"));
        assertEquals(2, rows.size(), "header and epoch 1 only: " + rows);
        assertTrue(rows.get(1).startsWith("1,"), rows.toString());
    }

    /** A validation part whose every image fails to decode (truncated files pass the first look) is an error, not 0 %. */
    @Test void aValidationPartWithNoReadableImageIsAnError(@TempDir Path dir) throws Exception {
        DemoChestDataset train = new DemoChestDataset(32, 32, 3), demo = new DemoChestDataset(16, 32, 4);
        org.pulmo.data.Dataset unreadable = new org.pulmo.data.Dataset() {
            @Override public List<String> classes() { return demo.classes(); }
            @Override public int size() { return demo.size(); }
            @Override public int label(int i) { return demo.label(i); }
            @Override public org.pulmo.data.Image image(int i) throws java.io.IOException { throw new java.io.IOException("truncated " + i); }
            @Override public String source(int i) { return "v" + i + ".png"; }
        };
        Trainer.Settings s = new Trainer.Settings("resnet18", train.classes(), 2, 8, 0.01f, 0.9f, 1e-4f, "step", 32,
            Augmentation.NONE, 7, dir, false, 1, false, null, Device.CPU, null);
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        Trainer t = new Trainer(s, new ResNet(ResNet.RESNET18, 4, new Rng(5)), train, unreadable, new PrintStream(log, true, StandardCharsets.UTF_8), false);
        RuntimeException e = org.junit.jupiter.api.Assertions.assertThrows(org.pulmo.data.DatasetException.class, t::run);
        assertTrue(e.getMessage().contains("none of the 16 validation images could be read"), e.getMessage());
        assertTrue(!Files.exists(dir.resolve(Trainer.BEST)), "no best chosen from nothing");
    }
}
