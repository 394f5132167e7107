package org.pulmo.examples;

import static org.junit.jupiter.api.Assertions.*;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pulmo.backend.Backends;
import org.pulmo.io.Safetensors;
import org.pulmo.tensor.Device;

/** The CLI with {@code --device cuda}: training, its checkpoints, evaluate and explain on the GPU. */
@Tag("gpu")
class CliGpuTest {

    @Test void tinyTrainingRunsOnTheGpuAndItsCheckpointLoadsOnTheCpu(@TempDir Path dir) throws Exception {
        String why = Backends.unavailableReason(Device.cuda(0));
        assumeTrue(why == null, () -> "no usable GPU: " + why);
        Path out = dir.resolve("run");
        CliEndToEndTest.Run r = CliEndToEndTest.pulmo(CliEndToEndTest.tinyTrain(out, "--epochs", "2", "--device", "cuda"));
        assertEquals(0, r.code(), r.out() + r.err());
        assertTrue(r.out().contains("cuda:0 -> "), r.out());
        CliEndToEndTest.checkDeviceMemoryRecorded(out, r.out());
        assertTrue(Safetensors.read(out.resolve("last.safetensors")).tensors().size() > 0);
        // written from device tensors, read back on the CPU
        assertEquals(0, CliEndToEndTest.pulmo("evaluate", "-c", out.resolve("best.safetensors").toString(), "--data", "demo",
            "--demo-images", "32", "--device", "cpu", "--out", dir.resolve("eval").toString()).code());
        CliEndToEndTest.Run e = CliEndToEndTest.pulmo("explain", "-c", out.resolve("best.safetensors").toString(), "demo:1", "--samples", "16",
            "--superpixels", "8", "--device", "cuda", "--out", dir.resolve("explain").toString());
        assertEquals(0, e.code(), e.out() + e.err());
        assertTrue(Files.size(dir.resolve("explain").resolve("demo1_gradcam.png")) > 0);
    }

    /**
     * {@code --cuda-graphs}: the training step recorded once and replayed trains as the ordinary one does, with a
     * validation pass and a checkpoint between epochs: the same metrics, and weights and momentum buffers equal to 1e-5.
     */
    @Test void recordedTrainingStepsTrainAsOrdinaryOnes(@TempDir Path dir) throws Exception {
        String why = Backends.unavailableReason(Device.cuda(0));
        assumeTrue(why == null, () -> "no usable GPU: " + why);
        String graphs = org.pulmo.cuda.CudaGraph.unavailableReason();
        assumeTrue(graphs == null, () -> "no CUDA graphs: " + graphs);
        Path plain = dir.resolve("plain"), recorded = dir.resolve("recorded");
        CliEndToEndTest.Run a = CliEndToEndTest.pulmo(CliEndToEndTest.tinyTrain(plain, "--epochs", "2", "--device", "cuda", "--no-evaluate"));
        assertEquals(0, a.code(), a.out() + a.err());
        CliEndToEndTest.Run b = CliEndToEndTest.pulmo(CliEndToEndTest.tinyTrain(recorded, "--epochs", "2", "--device", "cuda", "--no-evaluate",
            "--cuda-graphs"));
        assertEquals(0, b.code(), b.out() + b.err());
        assertTrue(b.out().contains("recorded once as a CUDA graph"), b.out());
        assertTrue(CliEndToEndTest.runRecord(recorded).get("steps_recorded").getAsBoolean(), "run.json says the steps ran recorded");
        java.util.List<String> ma = Files.readAllLines(plain.resolve("metrics.csv")), mb = Files.readAllLines(recorded.resolve("metrics.csv"));
        assertEquals(3, ma.size(), "a header and two epochs");
        assertEquals(ma.get(0), mb.get(0));
        for (int i = 1; i < ma.size(); i++) {   // epoch, lr, train loss and accuracy, validation loss and accuracy: not the timings
            // Equal on the emulated GPU; on a GPU cuDNN's algorithms may sum in an order of their own (atomics), so the
            // losses are held to 1e-4 and the accuracies to 5 points (a prediction at a near tie may flip)
            String[] x = ma.get(i).split(","), y = mb.get(i).split(",");
            for (int c = 0; c < 6; c++) {
                double u = Double.parseDouble(x[c]), v = Double.parseDouble(y[c]);
                double tol = c == 3 || c == 5 ? 0.05 : c == 2 || c == 4 ? 1e-4 * Math.abs(u) : 0;
                assertEquals(u, v, tol, "metrics.csv line " + (i + 1) + ", column " + (c + 1) + ": " + ma.get(i) + " vs " + mb.get(i));
            }
        }
        java.util.Map<String, org.pulmo.tensor.Tensor> wa = Safetensors.read(plain.resolve("last.safetensors")).tensors(),
            wb = Safetensors.read(recorded.resolve("last.safetensors")).tensors();
        assertEquals(wa.keySet(), wb.keySet());
        for (String name : wa.keySet()) {
            float[] x = wa.get(name).toArray(), y = wb.get(name).toArray();
            double worst = 0, scale = 1e-6;
            for (int i = 0; i < x.length; i++) { worst = Math.max(worst, Math.abs(x[i] - y[i])); scale = Math.max(scale, Math.abs(x[i])); }
            assertTrue(worst <= 1e-5 * scale, name + ": ordinary and recorded training differ by " + worst);
        }
    }
}
