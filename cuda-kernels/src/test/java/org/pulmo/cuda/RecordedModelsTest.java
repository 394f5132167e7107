package org.pulmo.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.pulmo.backend.Backends;
import org.pulmo.models.Dpn;
import org.pulmo.models.MaNet;
import org.pulmo.models.ResNet;
import org.pulmo.nn.Module;
import org.pulmo.nn.loss.Losses;
import org.pulmo.optim.CapturedStep;
import org.pulmo.optim.Sgd;
import org.pulmo.tensor.Device;
import org.pulmo.tensor.MemoryScope;
import org.pulmo.tensor.Rng;
import org.pulmo.tensor.Tensor;

/**
 * The papers' training steps at their image size (224 x 224) are recorded, not refused: after one ordinary step the
 * step of DPN-92-SE, MA-Net (pairs, adaptive loss) and ResNet-50 becomes one graph launch, with nothing beside it but the
 * batch's copies, and the memory in use stays the same from replay to replay. An op that waits for the device or reads
 * a value back in the middle of a step would make the recording fall back to ordinary steps, which this test reports
 * with the reason. It asserts nothing about values (CudaGraphTest compares recorded with ordinary steps), so the
 * emulated-GPU lane runs it with {@code EMU_NO_COMPUTE=1}, where nothing is computed and it takes seconds.
 */
@Tag("gpu")
class RecordedModelsTest {

    @ParameterizedTest
    @ValueSource(strings = {"dpn92-se", "ma-net", "resnet50"})
    void thePapersTrainingStepsAreRecordedAtTheirImageSize(String name) {
        String why = CudaRuntime.probe();
        Assumptions.assumeTrue(why == null, () -> "no usable GPU: " + why);
        String graphs = CudaGraph.unavailableReason();
        Assumptions.assumeTrue(graphs == null, () -> "no CUDA graphs: " + graphs);
        CudaBackend be = (CudaBackend) Backends.of(Device.cuda(0));
        int batch = 4, side = 224;
        boolean pairs = name.equals("ma-net");
        Module model = switch (name) {
            case "dpn92-se" -> Dpn.dpn92se(4, new Rng(1));
            case "ma-net" -> MaNet.resnet50(2, MaNet.Options.DEFAULT, new Rng(2));
            default -> new ResNet(ResNet.RESNET50, 2, new Rng(3));
        };
        model.to(be.device());
        model.train();
        Sgd sgd = Sgd.forModule(model, 0.01f, 0.9f, 1e-4f, false, false);
        int[] image = {batch, 3, side, side}, labels = {batch};
        Rng data = new Rng(4);
        Tensor x = Tensor.randn(data, image), m = Tensor.randn(data, image);
        Tensor y = Tensor.of(new float[] {0, 1, 0, 1}, batch), yM = Tensor.of(new float[] {1, 0, 1, 0}, batch);
        List<String> problems = new ArrayList<>();
        try (CapturedStep step = new CapturedStep(be.device(), sgd, new MemoryScope.Steps(() -> sgd.trainingState(model)), 1, in -> {
            Tensor loss = pairs ? ((MaNet) model).loss(((MaNet) model).forwardPair(in[0], in[1]), in[2], in[3]).total()
                : Losses.crossEntropy(model.forward(in[0]), in[1]);
            sgd.zeroGrad();
            loss.backward();
            sgd.step();
            return new Tensor[] {loss.detach()};
        }, pairs ? new int[][] {image, image, labels, labels} : new int[][] {image, labels})) {
            long inUse = -1;
            for (int k = 1; k <= 4; k++) {
                var before = be.runtime().counters();
                if (pairs) step.step(x, m, y, yM);
                else step.step(x, y);
                be.runtime().synchronize();
                var c = be.runtime().counters().minus(before);
                long now = be.memoryStats().inUseBytes();
                assertTrue(step.recording(), () -> name + ": the step was not recorded: " + step.whyNotRecorded());
                if (k >= 2 && c.graphLaunches() != 1) problems.add("step " + k + ": " + c.graphLaunches() + " graph launches");
                // the batch's copies into the step's input buffers: one kernel per input
                if (k >= 3 && c.launches() > (pairs ? 4 : 2)) problems.add("step " + k + ": " + c.launches() + " kernels beside the graph");
                if (k >= 4 && now != inUse) problems.add("step " + k + ": in use " + now + " after " + inUse);
                inUse = now;
            }
            assertEquals(1, step.recordings(), name);
        }
        assertTrue(problems.isEmpty(), () -> name + ": " + String.join("; ", problems));
        for (Tensor t : sgd.trainingState(model)) if (!t.storage().isReleased()) t.storage().release();
        be.emptyCache();
    }
}
