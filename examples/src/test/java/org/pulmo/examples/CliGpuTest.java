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
        assertTrue(Safetensors.read(out.resolve("last.safetensors")).tensors().size() > 0);
        // written from device tensors, read back on the CPU
        assertEquals(0, CliEndToEndTest.pulmo("evaluate", "-c", out.resolve("best.safetensors").toString(), "--data", "demo",
            "--demo-images", "32", "--device", "cpu", "--out", dir.resolve("eval").toString()).code());
        CliEndToEndTest.Run e = CliEndToEndTest.pulmo("explain", "-c", out.resolve("best.safetensors").toString(), "demo:1", "--samples", "16",
            "--superpixels", "8", "--device", "cuda", "--out", dir.resolve("explain").toString());
        assertEquals(0, e.code(), e.out() + e.err());
        assertTrue(Files.size(dir.resolve("explain").resolve("demo1_gradcam.png")) > 0);
    }
}
