package org.pulmo.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.pulmo.backend.Backends;
import org.pulmo.nn.BatchNorm2d;
import org.pulmo.nn.Conv2d;
import org.pulmo.nn.GlobalAvgPool;
import org.pulmo.nn.Linear;
import org.pulmo.nn.MaxPool2d;
import org.pulmo.nn.Module;
import org.pulmo.nn.ReLU;
import org.pulmo.nn.Sequential;
import org.pulmo.nn.SqueezeExcitation;
import org.pulmo.nn.loss.Losses;
import org.pulmo.optim.Sgd;
import org.pulmo.tensor.Device;
import org.pulmo.tensor.MemoryScope;
import org.pulmo.tensor.Rng;
import org.pulmo.tensor.Tensor;

/**
 * The memory criterion: 200 SGD steps of a small CNN (convolutions, batch norm, max-pool, SE, linear,
 * cross-entropy, momentum) on the GPU, each step in a {@link MemoryScope.Steps} scope that keeps the training
 * state; the allocator's in-use bytes after every step equal those after the first, and exceed the bytes
 * before training by exactly the gradients and momentum buffers that the first step created.
 */
@Tag("gpu")
class SteadyMemoryTest {

    @Test void twoHundredTrainingStepsHoldSteadyMemory() {
        String why = CudaRuntime.probe();
        Assumptions.assumeTrue(why == null, () -> "no usable GPU: " + why);
        CudaBackend be = (CudaBackend) Backends.of(Device.cuda(0));
        Rng rng = new Rng(41);
        Module model = new Sequential(
            new Conv2d(3, 8, 3, 1, 1, false, rng), new BatchNorm2d(8), new ReLU(), new MaxPool2d(2),   // [8, 8, 8, 8]
            new Conv2d(8, 16, 3, 1, 1, false, rng), new BatchNorm2d(16), new ReLU(),                     // [8, 16, 8, 8]
            new SqueezeExcitation(16, 4, rng), new GlobalAvgPool(), new Linear(16, 4, rng));            // [8, 4]
        model.to(be.device());
        model.train();
        Sgd sgd = Sgd.forModule(model, 0.05f, 0.9f, 5e-4f, false, false);
        Tensor x = Tensor.randn(rng, 8, 3, 16, 16).to(be.device());
        Tensor y = Tensor.of(new float[] {0, 1, 2, 3, 0, 1, 2, 3}, 8).to(be.device());

        be.emptyCache();   // no SGD table of an earlier test in this JVM: the one this training keeps is counted below
        long before = be.memoryStats().inUseBytes(), afterFirst = -1;
        MemoryScope.Steps steps = new MemoryScope.Steps(() -> sgd.trainingState(model));
        float firstLoss = 0, lastLoss = 0;
        for (int step = 0; step < 200; step++) {
            try (MemoryScope s = steps.open()) {
                sgd.zeroGrad();
                Tensor loss = Losses.crossEntropy(model.forward(x), y);
                loss.backward();
                sgd.step();
                if (step == 0) firstLoss = loss.item();
                if (step == 199) lastLoss = loss.item();
            }
            long inUse = be.memoryStats().inUseBytes();
            if (step == 0) afterFirst = inUse;
            else assertEquals(afterFirst, inUse, "in-use bytes after step " + step + " (" + be.memoryStats() + ")");
        }
        long stateBytes = 0;
        for (Tensor p : model.parameters()) stateBytes += 2 * CudaAllocator.roundUp(p.numel() * Float.BYTES); // gradient + momentum
        long tableBytes = be.sgdTableBytes();   // SGD's parameter table (one launch per step), kept by the backend
        assertTrue(tableBytes > 0 && tableBytes <= 64 * 1024, "one small SGD table is kept: " + tableBytes + " B");
        assertEquals(before + stateBytes + tableBytes, afterFirst,
            "after the first step: what was there, plus gradients, momentum buffers and SGD's parameter table");
        assertTrue(lastLoss < firstLoss, "the loss falls (" + firstLoss + " -> " + lastLoss + "), so the steps did train");
        System.out.println("steady memory: " + be.memoryStats() + "; loss " + firstLoss + " -> " + lastLoss);
    }

    /**
     * The SGD parameter tables the backend keeps for sgdUpdateAll are bounded: after updates of ten parameter sets (each a
     * table of its own), the bytes in use exceed those before by exactly the tables still kept, so the ones dropped from
     * the cache went back to the allocator.
     */
    @Test void parameterTablesOfManyParameterSetsHoldOnlyTheKeptOnes() {
        String why = CudaRuntime.probe();
        Assumptions.assumeTrue(why == null, () -> "no usable GPU: " + why);
        CudaBackend be = (CudaBackend) Backends.of(Device.cuda(0));
        Rng rng = new Rng(42);
        be.emptyCache();   // no table of an earlier test
        long before = be.memoryStats().inUseBytes(), uploads = be.sgdTableUploads();
        for (int set = 0; set < 10; set++) {
            int n = 100 + set;   // a size of its own: a table of its own
            Tensor p = be.fromArray(Tensor.randn(rng, n).toArray(), new int[] {n}), g = be.fromArray(Tensor.randn(rng, n).toArray(), new int[] {n});
            be.sgdUpdateAll(java.util.List.of(p), java.util.List.of(g), java.util.Arrays.asList((Tensor) null), new boolean[] {true}, 0.1f, 0f, 0f,
                new float[] {1e-4f}, false);
            p.storage().release();
            g.storage().release();
        }
        assertEquals(uploads + 10, be.sgdTableUploads(), "one table per parameter set");
        long kept = be.sgdTableBytes();
        assertTrue(kept > 0 && kept <= SgdTables.KEPT * CudaAllocator.roundUp(1), "at most " + SgdTables.KEPT + " small tables kept: " + kept + " B");
        assertEquals(before + kept, be.memoryStats().inUseBytes(), "in use: what was there and the kept tables (" + be.memoryStats() + ")");
    }
}
