package org.pulmo.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pulmo.backend.Backends;
import org.pulmo.data.Augmentation;
import org.pulmo.data.Dataset;
import org.pulmo.data.DemoChestDataset;
import org.pulmo.data.Image;
import org.pulmo.models.ResNet;
import org.pulmo.nn.Module;
import org.pulmo.tensor.Device;
import org.pulmo.tensor.Rng;
import org.pulmo.tensor.Tensor;

/**
 * With {@code --cuda-graphs}, a training batch short of an unreadable image (skipped, not {@code --strict}) runs as an
 * ordinary step beside the recorded one, instead of ending training: the recorded step takes the full batch's shape
 * only. Two epochs of ResNet-18 with one unreadable training image give the weights of the same training run ordinarily.
 */
@Tag("gpu")
class RecordedShortBatchTest {
    private static final java.util.concurrent.atomic.AtomicBoolean unreadableAsked = new java.util.concurrent.atomic.AtomicBoolean();

    @Test void aBatchShortOfAnUnreadableImageRunsBesideTheRecordedStep(@TempDir Path dir) throws IOException {
        String why = Backends.unavailableReason(Device.cuda(0));
        assumeTrue(why == null, () -> "no usable GPU: " + why);
        String noGraphs = Backends.of(Device.cuda(0)).captureUnsupported();
        assumeTrue(noGraphs == null, () -> "this GPU cannot record CUDA graphs: " + noGraphs);
        ByteArrayOutputStream recordedLog = new ByteArrayOutputStream();
        Map<String, Tensor> recorded = train(dir.resolve("recorded"), true, recordedLog);
        assertTrue(unreadableAsked.getAndSet(false), "a batch lost image 5");
        Map<String, Tensor> ordinary = train(dir.resolve("ordinary"), false, new ByteArrayOutputStream());
        String log = recordedLog.toString(StandardCharsets.UTF_8);
        assertTrue(log.contains("recorded once as a CUDA graph"), log);
        assertEquals(ordinary.keySet(), recorded.keySet());
        for (var e : ordinary.entrySet()) {
            float[] a = e.getValue().toArray(), b = recorded.get(e.getKey()).toArray();
            for (int i = 0; i < a.length; i++)
                assertEquals(a[i], b[i], 1e-5f * Math.max(1f, Math.abs(a[i])), e.getKey() + "[" + i + "]");
        }
    }

    /** The weights after two epochs on 32 demo images of which image 5 cannot be read, batch 8, steps recorded or not. */
    private static Map<String, Tensor> train(Path out, boolean record, ByteArrayOutputStream log) throws IOException {
        DemoChestDataset train = new DemoChestDataset(32, 32, 3), val = new DemoChestDataset(16, 32, 4);
        Dataset oneUnreadable = new Dataset() {
            @Override public List<String> classes() { return train.classes(); }
            @Override public int size() { return train.size(); }
            @Override public int label(int i) { return train.label(i); }
            @Override public Image image(int i) throws IOException {
                if (i == 5) {   // its batch has 7 images
                    unreadableAsked.set(true);
                    throw new IOException("truncated file");
                }
                return train.image(i);
            }
            @Override public String source(int i) { return "t" + i + ".png"; }
        };
        Trainer.Settings s = new Trainer.Settings("resnet18", train.classes(), 2, 8, 0.01f, 0.9f, 1e-4f, "step", 32,
            Augmentation.NONE, 7, out, false, 1, false, null, Device.cuda(0), null);
        Module net = new ResNet(ResNet.RESNET18, 4, new Rng(5)).to(Device.cuda(0));
        new Trainer(s, net, oneUnreadable, val, new PrintStream(log, true, StandardCharsets.UTF_8), false).recordSteps(record).run();
        return net.stateDict();
    }
}
