package org.pulmo.cuda;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
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
import org.pulmo.optim.CapturedStep;
import org.pulmo.optim.Sgd;
import org.pulmo.tensor.Device;
import org.pulmo.tensor.MemoryScope;
import org.pulmo.tensor.Rng;
import org.pulmo.tensor.Tensor;

/**
 * CUDA graphs ({@link CudaGraph}) and the recorded training step built on them ({@link CapturedStep}): a recorded step
 * trains exactly as ordinary steps do, across a change of the learning rate; nothing can be read back while recording;
 * the memory a graph uses is its own while it lives; host values copied during a recording are the recording's own.
 */
@Tag("gpu")
class CudaGraphTest {
    private CudaBackend be;

    @BeforeEach void gpu() {
        String why = CudaRuntime.probe();
        Assumptions.assumeTrue(why == null, () -> "no usable GPU: " + why);
        String graphs = CudaGraph.unavailableReason();
        Assumptions.assumeTrue(graphs == null, () -> "no CUDA graphs: " + graphs);
        be = (CudaBackend) Backends.of(Device.cuda(0));
        // recorded and ordinary steps are compared to 1e-5: with cuDNN's deterministic algorithms only, both run the
        // same kernels on the same data and agree to the bit; one that sums with atomics could differ from run to run
        if (be.hasCudnn()) {
            wasDeterministic = be.cudnn().deterministic();
            be.cudnn().setDeterministic(true);
        }
    }

    private boolean wasDeterministic;

    @AfterEach void algorithmsAsBefore() {
        if (be != null && be.hasCudnn()) be.cudnn().setDeterministic(wasDeterministic);
    }

    /** One SGD step on the loss {@code lossOf} computes: gradients zeroed, the loss, backward, the update; the loss. */
    private static Tensor sgdStep(Sgd sgd, java.util.function.Supplier<Tensor> lossOf) {
        sgd.zeroGrad();
        Tensor loss = lossOf.get();
        loss.backward();
        sgd.step();
        return loss;
    }

    /** A small CNN with what the papers' models train: convolution, batch norm, ReLU, max-pool, SE, linear. */
    private static Module model() {
        Rng rng = new Rng(17);
        return new Sequential(
            new Conv2d(3, 8, 3, 1, 1, false, rng), new BatchNorm2d(8), new ReLU(), new MaxPool2d(2),
            new Conv2d(8, 16, 3, 1, 1, false, rng), new BatchNorm2d(16), new ReLU(),
            new SqueezeExcitation(16, 4, rng), new GlobalAvgPool(), new Linear(16, 4, rng));
    }

    @Test void aRecordedStepTrainsExactlyAsOrdinaryStepsDo() {
        int steps = 7, batch = 8;
        Rng data = new Rng(5);
        List<Tensor> xs = new ArrayList<>(), ys = new ArrayList<>();
        for (int k = 0; k < steps; k++) {
            xs.add(Tensor.randn(data, batch, 3, 16, 16));
            float[] y = new float[batch];
            for (int i = 0; i < batch; i++) y[i] = (i + k) % 4;
            ys.add(Tensor.of(y, batch));
        }
        // No SGD table of an earlier test (nor, below, of the ordinary run): emptying the caches at step 6 must leave the
        // memory in use as it is, the recorded step's table being held by its graph.
        be.emptyCache();
        // ordinary steps
        Module eager = model().to(be.device());
        eager.train();
        Sgd sgdE = Sgd.forModule(eager, 0.05f, 0.9f, 5e-4f, false, false);
        MemoryScope.Steps scopesE = new MemoryScope.Steps(() -> sgdE.trainingState(eager));
        float[] lossE = new float[steps];
        for (int k = 0; k < steps; k++) {
            if (k == 4) sgdE.setLr(0.025f);
            try (MemoryScope ignored = scopesE.open()) {
                Tensor x = xs.get(k).to(be.device()), y = ys.get(k).to(be.device());
                Tensor loss = sgdStep(sgdE, () -> Losses.crossEntropy(eager.forward(x), y));
                lossE[k] = loss.item();
            }
        }
        be.emptyCache();   // nor the ordinary run's
        // the same steps recorded: step 1 ordinary, step 2 recorded and replayed, 3-4 replayed, 5 recorded anew (new rate)
        Module recorded = model().to(be.device());
        recorded.train();
        Sgd sgdR = Sgd.forModule(recorded, 0.05f, 0.9f, 5e-4f, false, false);
        float[] lossR = new float[steps];
        RecordedRun run = new RecordedRun();
        long recordings;
        try (CapturedStep step = new CapturedStep(be.device(), sgdR, new MemoryScope.Steps(() -> sgdR.trainingState(recorded)), 1,
                in -> {
                    Tensor loss = sgdStep(sgdR, () -> Losses.crossEntropy(recorded.forward(in[0]), in[1]));
                    return new Tensor[] {loss.detach()};
                }, new int[] {batch, 3, 16, 16}, new int[] {batch})) {
            assertTrue(step.recording(), step.whyNotRecorded());
            for (int k = 0; k < steps; k++) {
                if (k == 4) sgdR.setLr(0.025f);
                // the backend's caches emptied between replays: the graph keeps what it reads (SGD's parameter table)
                if (k == 5) be.emptyCache();
                Losses.checkLabels("batch " + k, ys.get(k).toArray(), 4);
                var before = be.runtime().counters();
                lossR[k] = step.step(xs.get(k), ys.get(k))[0].item();
                run.after(k, be, be.runtime().counters().minus(before));
            }
            recordings = step.recordings();
        }
        // The recorded step runs the same kernels in the same order on the same data (cuDNN's choices are cached and
        // deterministic here), so the two agree bit for bit; 1e-5 leaves room for nothing a wrong replay (a missed step,
        // an old learning rate) would give.
        for (int k = 0; k < steps; k++)
            assertEquals(lossE[k], lossR[k], 1e-5f * Math.abs(lossE[k]), "loss of step " + (k + 1) + ": ordinary vs recorded");
        assertNotEquals(lossE[steps - 2], lossE[steps - 1], "the steps train: each sees new weights");
        Map<String, Tensor> a = eager.stateDict(), b = recorded.stateDict();
        for (String name : a.keySet()) assertClose(a.get(name), b.get(name), "state " + name);
        Map<String, Tensor> ma = sgdE.stateDict(), mb = sgdR.stateDict();
        assertEquals(ma.keySet(), mb.keySet());
        for (String name : ma.keySet()) assertClose(ma.get(name), mb.get(name), "momentum buffer of " + name);
        run.check();
        assertEquals(2, recordings, "recorded at step 2 and again at step 5, when the learning rate changed");
    }

    /**
     * cuDNN's determinism (and likewise the precision) is fixed into a recording: after it changes, one step runs as
     * ordinary code, choosing cuDNN's algorithms anew (which cannot happen while recording), and the next records again,
     * rather than replaying the old choice or falling back to ordinary steps for good. Losses as an ordinary twin's.
     */
    @Test void aChangeOfDeterminismRecordsAgainAfterOneOrdinaryStep() {
        int steps = 6, batch = 4;
        Rng data = new Rng(6);
        List<Tensor> xs = new ArrayList<>(), ys = new ArrayList<>();
        for (int k = 0; k < steps; k++) {
            xs.add(Tensor.randn(data, batch, 3, 16, 16));
            ys.add(Tensor.of(new float[] {k % 4, (k + 1) % 4, (k + 2) % 4, (k + 3) % 4}, batch));
        }
        boolean start = be.cudnn().deterministic();
        float[] lossE = new float[steps], lossR = new float[steps];
        long[] graphs = new long[steps], recordingsAt = new long[steps];
        try {
            Module eager = model().to(be.device());
            eager.train();
            Sgd sgdE = Sgd.forModule(eager, 0.05f, 0.9f, 0f, false, false);
            MemoryScope.Steps scopesE = new MemoryScope.Steps(() -> sgdE.trainingState(eager));
            for (int k = 0; k < steps; k++) {
                be.cudnn().setDeterministic(k >= 3 != start);
                try (MemoryScope ignored = scopesE.open()) {
                    Tensor x = xs.get(k).to(be.device()), y = ys.get(k).to(be.device());
                    lossE[k] = sgdStep(sgdE, () -> Losses.crossEntropy(eager.forward(x), y)).item();
                }
            }
            be.cudnn().setDeterministic(start);
            Module recorded = model().to(be.device());
            recorded.train();
            Sgd sgdR = Sgd.forModule(recorded, 0.05f, 0.9f, 0f, false, false);
            try (CapturedStep step = new CapturedStep(be.device(), sgdR, new MemoryScope.Steps(() -> sgdR.trainingState(recorded)), 1,
                    in -> new Tensor[] {sgdStep(sgdR, () -> Losses.crossEntropy(recorded.forward(in[0]), in[1])).detach()},
                    new int[] {batch, 3, 16, 16}, new int[] {batch})) {
                for (int k = 0; k < steps; k++) {
                    be.cudnn().setDeterministic(k >= 3 != start);   // changed before step 4
                    var before = be.runtime().counters();
                    lossR[k] = step.step(xs.get(k), ys.get(k))[0].item();
                    graphs[k] = be.runtime().counters().minus(before).graphLaunches();
                    recordingsAt[k] = step.recordings();
                }
                assertTrue(step.recording(), step.whyNotRecorded());
            }
        } finally {
            be.cudnn().setDeterministic(start);
        }
        assertArrayEquals(new long[] {0, 1, 1, 0, 1, 1}, graphs, "step 4 ordinary after the change, then recorded and replayed again");
        assertArrayEquals(new long[] {0, 1, 1, 1, 2, 2}, recordingsAt);
        for (int k = 0; k < steps; k++)
            assertEquals(lossE[k], lossR[k], 1e-5f * Math.abs(lossE[k]), "loss of step " + (k + 1) + ": ordinary vs recorded");
    }

    /**
     * The papers' models, recorded: DPN-92-SE (grouped convolutions, SE, dual paths), MA-Net on pairs (paired batch
     * norm, MAB, FAB, the adaptive loss computed on the device) and ResNet-50, three steps each (ordinary, recorded,
     * replayed) against three ordinary steps of a twin, at 32 x 32 so that the emulated GPU runs it in seconds.
     */
    @org.junit.jupiter.params.ParameterizedTest
    @org.junit.jupiter.params.provider.ValueSource(strings = {"dpn92-se", "ma-net", "resnet50"})
    void thePapersModelsTrainTheSameRecorded(String name) {
        int batch = 2, side = 32, steps = 3;
        java.util.function.Supplier<Module> build = () -> switch (name) {
            case "dpn92-se" -> org.pulmo.models.Dpn.dpn92se(4, new Rng(1));
            case "ma-net" -> org.pulmo.models.MaNet.resnet50(2, org.pulmo.models.MaNet.Options.DEFAULT, new Rng(2));
            default -> new org.pulmo.models.ResNet(org.pulmo.models.ResNet.RESNET50, 2, new Rng(3));
        };
        boolean pairs = name.equals("ma-net");
        Rng data = new Rng(8);
        List<Tensor[]> batches = new ArrayList<>();
        for (int k = 0; k < steps; k++)
            batches.add(new Tensor[] {Tensor.randn(data, batch, 3, side, side), Tensor.randn(data, batch, 3, side, side),
                Tensor.of(new float[] {k % 2, (k + 1) % 2}, batch), Tensor.of(new float[] {(k + 1) % 2, k % 2}, batch)});
        java.util.function.BiFunction<Module, Tensor[], Tensor> lossOf = (model, in) -> pairs
            ? ((org.pulmo.models.MaNet) model).loss(((org.pulmo.models.MaNet) model).forwardPair(in[0], in[1]), in[2], in[3]).total()
            : Losses.crossEntropy(model.forward(in[0]), in[2]);
        float[][] losses = new float[2][steps];
        Module[] models = new Module[2];
        Sgd[] sgds = new Sgd[2];
        for (int variant = 0; variant < 2; variant++) {
            Module model = build.get().to(be.device());
            model.train();
            Sgd sgd = Sgd.forModule(model, 0.01f, 0.9f, 1e-4f, false, false);
            models[variant] = model;
            sgds[variant] = sgd;
            MemoryScope.Steps scopes = new MemoryScope.Steps(() -> sgd.trainingState(model));
            if (variant == 0) {
                for (int k = 0; k < steps; k++) try (MemoryScope ignored = scopes.open()) {
                    Tensor[] in = batches.get(k).clone();
                    for (int i = 0; i < in.length; i++) in[i] = in[i].to(be.device());
                    Tensor loss = sgdStep(sgd, () -> lossOf.apply(model, in));
                    losses[0][k] = loss.item();
                }
                continue;
            }
            int[] image = {batch, 3, side, side}, labels = {batch};
            try (CapturedStep step = new CapturedStep(be.device(), sgd, scopes, 1, in -> {
                Tensor loss = sgdStep(sgd, () -> lossOf.apply(model, in));
                return new Tensor[] {loss.detach()};
            }, image, image, labels, labels)) {
                for (int k = 0; k < steps; k++) losses[1][k] = step.step(batches.get(k))[0].item();
                assertEquals(1, step.recordings());
            }
        }
        // Bit for bit on the emulated GPU. On a GPU, cuDNN's algorithms that sum with atomics differ from run to run in the
        // last bits, and at 32 x 32 and batch 2 the last stages' batch norms see 2 to 8 values per channel, which magnifies
        // such differences: 1e-3 there, still far below what a missed step or a stale learning rate makes.
        double tol = be.runtime().deviceName().startsWith("EMULATED") ? 1e-6 : 1e-3;
        for (int k = 0; k < steps; k++)
            assertEquals(losses[0][k], losses[1][k], tol * Math.abs(losses[0][k]), name + ": loss of step " + (k + 1) + ", ordinary vs recorded");
        Map<String, Tensor> a = models[0].stateDict(), b = models[1].stateDict();
        for (String key : a.keySet()) assertClose(a.get(key), b.get(key), name + " state " + key, tol);
        for (var e : sgds[0].stateDict().entrySet())
            assertClose(e.getValue(), sgds[1].stateDict().get(e.getKey()), name + " momentum of " + e.getKey(), tol);
        for (int v = 0; v < 2; v++) for (Tensor t : sgds[v].trainingState(models[v])) if (!t.storage().isReleased()) t.storage().release();
    }

    /**
     * What each recorded step asked of the device: from step 2 on one graph launch; in the replays (steps 3, 4, 6, 7) no
     * kernel beside the batch's two copies and the memory in use unchanged; in steady replays (4 and 7: not the first after
     * a recording, whose batch copies may need blocks the recording took, nor step 6, after the caches were emptied) no
     * driver allocation.
     */
    private static final class RecordedRun {
        private long inUse = -1, driverAllocs = -1;
        private final List<String> problems = new ArrayList<>();

        void after(int k, CudaBackend be, CudaRuntime.Counters c) {
            CudaAllocator.Stats st = be.memoryStats();
            boolean replay = k >= 2 && k != 4, steady = k == 3 || k == 6;
            if (k >= 1 && c.graphLaunches() != 1) problems.add("step " + (k + 1) + ": " + c.graphLaunches() + " graph launches");
            if (replay) {
                // the batch's copies: two device copies of the host batch into the input buffers, nothing else
                if (c.launches() > 2) problems.add("step " + (k + 1) + " launched " + c.launches() + " kernels beside the graph");
                if (st.inUseBytes() != inUse) problems.add("step " + (k + 1) + ": in use " + st.inUseBytes() + " after " + inUse);
            }
            if (steady && st.driverAllocs() != driverAllocs) problems.add("step " + (k + 1) + " allocated from the driver");
            inUse = st.inUseBytes();
            driverAllocs = st.driverAllocs();
        }

        void check() { assertTrue(problems.isEmpty(), () -> String.join("\n", problems)); }
    }

    private static void assertClose(Tensor expected, Tensor actual, String what) { assertClose(expected, actual, what, 1e-5); }

    private static void assertClose(Tensor expected, Tensor actual, String what, double tol) {
        float[] e = expected.toArray(), g = actual.toArray();
        assertEquals(e.length, g.length, what);
        double worst = 0, scale = 1e-6;
        for (float v : e) scale = Math.max(scale, Math.abs(v));
        for (int i = 0; i < e.length; i++) worst = Math.max(worst, Math.abs(e[i] - g[i]));
        assertTrue(worst <= tol * scale, what + ": ordinary and recorded steps differ by " + worst + " (largest value " + scale + ")");
    }

    @Test void aRecordingReadsNothingBackAndLeavesTheStreamUsable() {
        Tensor x = Tensor.of(new float[] {1, 2, 3}, 3).to(be.device());
        IllegalStateException e;
        try (MemoryScope ignored = MemoryScope.open()) {
            e = assertThrows(IllegalStateException.class, () -> be.capture(() -> x.mul(2f).toArray()));
        }
        assertTrue(e.getMessage().contains("CUDA graph") && e.getMessage().contains("CudaGraphTest"),
            "the error says what was refused and who asked: " + e.getMessage());
        assertTrue(!be.capturing(), "the capture ended");
        assertArrayEquals(new float[] {3, 4, 5}, x.add(2f).toArray(), "the stream runs ordinary work again");
        try (MemoryScope ignored = MemoryScope.open(); CudaGraph g = be.capture(() -> x.mul(3f))) {
            g.replay();   // and records again
        }
        x.storage().release();
    }

    /**
     * A body that cannot be recorded (it reads a value back) makes the recording fail; that step, which has not run, runs
     * as ordinary code, and so do the later ones: the same losses as ordinary steps, and the reason is kept.
     */
    @Test void aStepThatCannotBeRecordedRunsAsOrdinaryCode() {
        Module model = model().to(be.device());
        model.train();
        Sgd sgd = Sgd.forModule(model, 0.05f, 0.9f, 0f, false, false);
        Module twin = model().to(be.device());
        twin.train();
        Sgd sgdT = Sgd.forModule(twin, 0.05f, 0.9f, 0f, false, false);
        MemoryScope.Steps scopesT = new MemoryScope.Steps(() -> sgdT.trainingState(twin));
        float[] peeked = new float[3];
        Rng data = new Rng(6);
        try (CapturedStep step = new CapturedStep(be.device(), sgd, new MemoryScope.Steps(() -> sgd.trainingState(model)), 1, in -> {
            Tensor loss = sgdStep(sgd, () -> Losses.crossEntropy(model.forward(in[0]), in[1]));
            peeked[0] = loss.item();   // a host decision on a value: cannot be recorded
            return new Tensor[] {loss.detach()};
        }, new int[] {4, 3, 16, 16}, new int[] {4})) {
            for (int k = 0; k < 3; k++) {
                Tensor x = Tensor.randn(data, 4, 3, 16, 16), y = Tensor.of(new float[] {0, 1, 2, 3}, 4);
                float got = step.step(x, y)[0].item();
                float expected;
                try (MemoryScope ignored = scopesT.open()) {
                    Tensor loss = sgdStep(sgdT, () -> Losses.crossEntropy(twin.forward(x.to(be.device())), y.to(be.device())));
                    expected = loss.item();
                }
                assertEquals(expected, got, 1e-5f * Math.abs(expected), "step " + (k + 1));
            }
            assertTrue(!step.recording() && step.whyNotRecorded().contains("recording the step failed"), step.whyNotRecorded());
            assertEquals(0, step.recordings());
        }
        assertTrue(!be.capturing());
        for (Tensor t : sgd.trainingState(model)) if (!t.storage().isReleased()) t.storage().release();
        for (Tensor t : sgdT.trainingState(twin)) if (!t.storage().isReleased()) t.storage().release();
    }

    /** Dropout draws its masks on the host: a step with it is refused by the recording and runs as ordinary code. */
    @Test void aStepWithDropoutIsNotRecorded() {
        Rng rng = new Rng(2);
        Module model = new Sequential(new org.pulmo.nn.Flatten(), new Linear(12, 8, rng), new ReLU(), new org.pulmo.nn.Dropout(0.5f, rng),
            new Linear(8, 4, rng)).to(be.device());
        model.train();
        Sgd sgd = Sgd.forModule(model, 0.05f, 0.9f, 0f, false, false);
        try (CapturedStep step = new CapturedStep(be.device(), sgd, new MemoryScope.Steps(() -> sgd.trainingState(model)), 1, in -> {
            Tensor loss = sgdStep(sgd, () -> Losses.crossEntropy(model.forward(in[0]), in[1]));
            return new Tensor[] {loss.detach()};
        }, new int[] {4, 3, 2, 2}, new int[] {4})) {
            Rng data = new Rng(3);
            for (int k = 0; k < 3; k++)
                assertTrue(Float.isFinite(step.step(Tensor.randn(data, 4, 3, 2, 2), Tensor.of(new float[] {0, 1, 2, 3}, 4))[0].item()));
            assertTrue(!step.recording() && step.whyNotRecorded().contains("Dropout"), step.whyNotRecorded());
        }
        for (Tensor t : sgd.trainingState(model)) if (!t.storage().isReleased()) t.storage().release();
    }

    /** A recorded forward in evaluation mode (inference, {@link CapturedStep#forward}) gives the ordinary forward's logits. */
    @Test void aRecordedForwardGivesTheOrdinaryLogits() {
        Module model = model().to(be.device());
        model.eval();
        Rng data = new Rng(21);
        try (CapturedStep forward = CapturedStep.forward(be.device(), in -> {
            try (var noGrad = org.pulmo.autograd.GradMode.noGrad()) { return new Tensor[] {model.forward(in[0])}; }
        }, new int[] {4, 3, 16, 16})) {
            for (int k = 0; k < 4; k++) {
                Tensor x = Tensor.randn(data, 4, 3, 16, 16);
                float[] expected;
                try (var noGrad = org.pulmo.autograd.GradMode.noGrad(); MemoryScope ignored = MemoryScope.open()) {
                    expected = model.forward(x.to(be.device())).toArray();
                }
                assertArrayEquals(expected, forward.step(x)[0].toArray(), 1e-5f, "forward " + (k + 1));
            }
            assertEquals(1, forward.recordings());
        }
        for (Tensor t : model.stateDict().values()) t.storage().release();
    }

    /**
     * What an ordinary first step makes (a parameter's momentum buffer, cuDNN's choice of algorithm for a new shape) is
     * refused while recording, naming it: made there, it would be wrong at every replay (the first SGD step's rule fixed
     * into the graph) or break the recording (finding an algorithm waits for the device).
     */
    @Test void stateAFirstStepMakesIsRefusedWhileRecording() {
        Rng rng = new Rng(12);
        Module model = new Sequential(new Linear(6, 5, rng), new ReLU(), new Linear(5, 3, rng)).to(be.device());
        Sgd sgd = Sgd.forModule(model, 0.1f, 0.9f, 0f, false, false);
        Tensor x = Tensor.randn(rng, 4, 6).to(be.device()), y = Tensor.of(new float[] {0, 1, 2, 0}, 4).to(be.device());
        try (MemoryScope ignored = MemoryScope.open()) {
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> be.capture(() -> {
                sgdStep(sgd, () -> Losses.crossEntropy(model.forward(x), y));
            }));
            assertTrue(e.getMessage().contains("first update while the step is being recorded"), e.getMessage());
            assertTrue(sgd.stateDict().isEmpty(), "no momentum buffer was made");
            Tensor w = Tensor.randn(rng, 7, 3, 3, 3).to(be.device()), img = Tensor.randn(rng, 1, 3, 9, 9).to(be.device());
            IllegalStateException c = assertThrows(IllegalStateException.class,
                () -> be.capture(() -> org.pulmo.ops.Convolution.conv2d(img, w, null, org.pulmo.backend.Conv2dParams.of(1, 1, 1, 1))));
            assertTrue(c.getMessage().contains("first met while a step is being recorded"), c.getMessage());
            assertEquals(7, org.pulmo.ops.Convolution.conv2d(img, w, null, org.pulmo.backend.Conv2dParams.of(1, 1, 1, 1)).shape()[1], "an ordinary call chooses and runs");
        }
        assertTrue(!be.capturing());
        for (Tensor t : sgd.trainingState(model)) if (!t.storage().isReleased()) t.storage().release();
    }

    @Test void aGraphsMemoryIsItsOwnWhileItLives() {
        int n = 1 << 12;
        float[] ones = new float[n];
        java.util.Arrays.fill(ones, 1f);
        Tensor x = Tensor.of(ones, n).to(be.device());
        Tensor[] out = new Tensor[1];
        long inUseBefore = be.memoryStats().inUseBytes();
        CudaGraph g;
        try (MemoryScope scope = MemoryScope.open()) {
            g = be.capture(() -> {
                Tensor t = x.add(1f);            // an intermediate, freed during the recording
                out[0] = scope.keep(t.mul(t));   // the output: (x + 1)^2 = 4
                t.storage().release();
            });
        }
        // emptying the cache leaves the graph's free block (its intermediate's) to it, and counts it as cached
        be.runtime().allocator().emptyCache();
        assertTrue(be.memoryStats().cachedBytes() >= CudaAllocator.roundUp(n * 4L), "the graph's free block: " + be.memoryStats());
        // one graph at a time: a second capture while this one lives is refused
        IllegalStateException second = assertThrows(IllegalStateException.class, () -> be.capture(() -> {}));
        assertTrue(second.getMessage().contains("another CUDA graph is still alive"), second.getMessage());
        // blocks the ordinary code takes now must not be the graph's (the intermediate's block is free, but the graph's)
        List<Tensor> others = new ArrayList<>();
        try (MemoryScope ignored = MemoryScope.open()) {
            for (int i = 0; i < 8; i++) others.add(ignored.keep(Tensor.full(7f, be.device(), n)));
        }
        g.replay();
        for (Tensor o : others) {
            float[] v = o.toArray();
            assertEquals(7f, v[0]);
            assertEquals(7f, v[n - 1], "a tensor allocated after the recording was not overwritten by its replay");
        }
        assertEquals(4f, out[0].toArray()[n - 1]);
        assertTrue(g.blocks() >= 2, "the graph holds its intermediate's block and its output's: " + g.blocks());
        out[0].storage().release();
        g.close();
        for (Tensor o : others) o.storage().release();
        assertEquals(inUseBefore, be.memoryStats().inUseBytes(), "closed, the graph's memory is free again");
        x.storage().release();
    }

    /** n seeded random values (never all equal), on the host. */
    private static float[] random(int n, long seed) { return Tensor.randn(new org.pulmo.tensor.Rng(seed), n).toArray(); }

    /**
     * A block made before a recording and freed during it stays the graph's: the recorded work read it and reads it again
     * at every replay, so tensors allocated after the recording never get it (had one got it, the replay would read its
     * values instead of the freed tensor's).
     */
    @Test void aBlockFreedDuringARecordingStaysTheGraphs() {
        int n = 1 << 12;
        float[] xv = random(n, 18);
        Tensor pre = Tensor.of(xv, n).to(be.device());   // made before the recording
        Tensor[] out = new Tensor[1];
        CudaGraph g;
        try (MemoryScope scope = MemoryScope.open()) {
            g = be.capture(() -> {
                out[0] = scope.keep(pre.mul(pre));
                pre.storage().release();
            });
        }
        List<Tensor> others = new ArrayList<>();
        try (MemoryScope ignored = MemoryScope.open()) {
            for (int i = 0; i < 8; i++) others.add(ignored.keep(Tensor.full(7f, be.device(), n)));
        }
        g.replay();
        float[] want = new float[n];
        for (int i = 0; i < n; i++) want[i] = xv[i] * xv[i];
        assertArrayEquals(want, out[0].toArray(), "the replay read the freed tensor's block, unchanged");
        for (Tensor o : others) assertEquals(7f, o.toArray()[n - 1], "a tensor allocated after the recording was not overwritten");
        out[0].storage().release();
        g.close();
        for (Tensor o : others) o.storage().release();
    }

    /**
     * A block made before a recording and freed during it serves no later request of that recording: the recorded work
     * read it, and a later node writing into it would change what every replay after the first reads.
     */
    @Test void aBlockMadeBeforeARecordingServesNoRequestOfIt() {
        int n = 1 << 12;
        float[] xv = random(n, 21);
        Tensor pre = Tensor.of(xv, n).to(be.device());   // made before the recording
        Tensor[] out = new Tensor[2];
        CudaGraph g;
        try (MemoryScope scope = MemoryScope.open()) {
            g = be.capture(() -> {
                out[0] = scope.keep(pre.mul(pre));
                pre.storage().release();
                out[1] = scope.keep(Tensor.full(5f, be.device(), n));   // pre's size: its block would fit
            });
        }
        float[] want = new float[n];
        for (int i = 0; i < n; i++) want[i] = xv[i] * xv[i];
        for (int replay = 1; replay <= 2; replay++) {
            g.replay();
            assertArrayEquals(want, out[0].toArray(), "replay " + replay + " read the values pre held before the recording");
            assertEquals(5f, out[1].toArray()[n - 1]);
        }
        for (Tensor o : out) o.storage().release();
        g.close();
    }

    /**
     * During a recording, a block the recording has freed serves its next request of that size: a chain of three
     * intermediates of one size, each freed after the next is made, takes two blocks.
     */
    @Test void aRecordingReusesTheBlocksItFrees() {
        int n = 1 << 12;
        float[] xv = random(n, 19);
        Tensor x = Tensor.of(xv, n).to(be.device());
        Tensor[] out = new Tensor[1];
        CudaGraph g;
        try (MemoryScope scope = MemoryScope.open()) {
            g = be.capture(() -> {
                Tensor t = x.add(1f), u = t.mul(t);
                t.storage().release();
                out[0] = scope.keep(u.add(2f));   // t's block
                u.storage().release();
            });
        }
        g.replay();
        float[] want = new float[n];
        for (int i = 0; i < n; i++) want[i] = (xv[i] + 1f) * (xv[i] + 1f) + 2f;
        assertArrayEquals(want, out[0].toArray());
        assertEquals(2, g.blocks(), "the output took the block its first intermediate freed");
        out[0].storage().release();
        g.close();
        x.storage().release();
    }

    /**
     * Once a graph is closed, its blocks still held by tensors are ordinary blocks again: freed, such a block goes back
     * to the cache and is handed out again before the driver is asked for a new one.
     */
    @Test void aClosedGraphsBlocksGoBackToTheCache() {
        int n = 1 << 12;
        Tensor x = Tensor.of(random(n, 20), n).to(be.device());
        Tensor[] out = new Tensor[1];
        CudaGraph g;
        try (MemoryScope scope = MemoryScope.open()) {
            g = be.capture(() -> out[0] = scope.keep(x.mul(2f)));
        }
        g.replay();
        g.close();
        long outAt = CudaBackend.addr(out[0]);
        out[0].storage().release();
        CudaAllocator a = be.runtime().allocator();
        long allocs = a.stats().driverAllocs();
        List<jcuda.driver.CUdeviceptr> taken = new ArrayList<>();
        boolean again = false;
        while (!again && a.stats().driverAllocs() == allocs && taken.size() < 10_000) {
            taken.add(a.allocate(n * 4L));
            again = CudaRuntime.address(taken.getLast()) == outAt;
        }
        for (jcuda.driver.CUdeviceptr p : taken) a.free(p);
        assertTrue(again, "the graph's output block, freed after the graph closed, is handed out again (" + taken.size() + " blocks taken)");
        x.storage().release();
    }

    /**
     * Nothing goes back to the driver during a recording (cuMemFree and the stream synchronisation before it cannot be
     * recorded): emptyCache leaves the cache as it is, and a block made before the recording and given straight back to
     * the driver during it joins the graph instead; the recording replays.
     */
    @Test void nothingGoesBackToTheDriverDuringARecording() {
        int n = 1 << 12;
        float[] xv = random(n, 21);
        Tensor x = Tensor.of(xv, n).to(be.device());
        CudaAllocator a = be.runtime().allocator();
        jcuda.driver.CUdeviceptr pre = a.allocate(5 * 4096);
        Tensor[] out = new Tensor[1];
        long[] cached = new long[2];
        CudaGraph g;
        try (MemoryScope scope = MemoryScope.open()) {
            g = be.capture(() -> {
                Tensor t = x.add(1f);
                out[0] = scope.keep(t.mul(3f));
                t.storage().release();            // a free block of the graph's: cached
                cached[0] = a.stats().cachedBytes();
                a.emptyCache();
                cached[1] = a.stats().cachedBytes();
                a.freeToDriver(pre);
            });
        }
        assertTrue(cached[0] >= CudaAllocator.roundUp(n * 4L), "the cache held a block during the recording: " + cached[0]);
        assertEquals(cached[0], cached[1], "emptyCache during a recording keeps the cache");
        assertEquals(3, g.blocks(), "the intermediate's block, the output's, and the one given back during the recording");
        g.replay();
        float[] want = new float[n];
        for (int i = 0; i < n; i++) want[i] = (xv[i] + 1f) * 3f;
        assertArrayEquals(want, out[0].toArray());
        out[0].storage().release();
        g.close();
        x.storage().release();
    }

    @Test void hostValuesCopiedDuringARecordingAreTheRecordingsOwn() {
        float[] host = {1, 2, 3};
        Tensor[] out = new Tensor[1];
        CudaGraph g;
        try (MemoryScope scope = MemoryScope.open()) {
            g = be.capture(() -> out[0] = scope.keep(Tensor.of(host, 3).to(be.device()).mul(2f)));
        }
        host[0] = 100;   // the array changes after the recording (the GC may also move it): the graph copies its own copy
        g.replay();
        assertArrayEquals(new float[] {2, 4, 6}, out[0].toArray());
        out[0].storage().release();
        g.close();
    }
}
