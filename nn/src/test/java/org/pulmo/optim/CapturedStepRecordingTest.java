package org.pulmo.optim;

import static org.junit.jupiter.api.Assertions.*;

import java.lang.reflect.Field;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import org.junit.jupiter.api.Test;
import org.pulmo.backend.Backend;
import org.pulmo.backend.Backends;
import org.pulmo.nn.Linear;
import org.pulmo.nn.Module;
import org.pulmo.nn.ReLU;
import org.pulmo.nn.Sequential;
import org.pulmo.nn.loss.Losses;
import org.pulmo.tensor.Device;
import org.pulmo.tensor.MemoryScope;
import org.pulmo.tensor.Rng;
import org.pulmo.tensor.Tensor;

/**
 * CapturedStep's recording logic without a GPU: the CPU backend wrapped so that it "records" (capture runs the work once
 * with capturing() true, as a recording that is launched at once; each replay runs it again as ordinary code). What the
 * class decides is then visible on any machine: eager steps before the first recording (the first SGD step makes the
 * momentum buffers, which the optimiser refuses to do while recording), and a new recording per change of the rate or
 * of the backend's precision or determinism (after one ordinary step).
 */
class CapturedStepRecordingTest {
    private static boolean recordingNow, strictFp32 = true, deterministic = true;

    /** Runs body with Backends' CPU backend replaced by a recording fake; restores it after. */
    private static void withRecordingCpu(Runnable body) throws Exception {
        Field active = Backends.class.getDeclaredField("cpuActive");
        active.setAccessible(true);
        Backend real = (Backend) active.get(null);
        Backend fake = (Backend) Proxy.newProxyInstance(Backend.class.getClassLoader(), new Class<?>[] {Backend.class}, (proxy, m, args) -> {
            switch (m.getName()) {
                case "captureUnsupported": return null;
                case "capturing": return recordingNow;
                case "strictFp32": return strictFp32;                       // a precision setting, as a GPU's backend has
                case "setStrictFp32": strictFp32 = (Boolean) args[0]; return null;
                case "deterministic": return deterministic;                 // cuDNN's determinism, as a GPU's backend has
                case "setDeterministic": deterministic = (Boolean) args[0]; return null;
                case "capture": {
                    Runnable work = (Runnable) args[0];
                    recordingNow = true;
                    try { work.run(); } finally { recordingNow = false; }
                    return new Backend.Captured() {
                        boolean launched;   // the recording's first launch is the run above
                        @Override public void replay() { if (launched) work.run(); launched = true; }
                        @Override public void close() {}
                    };
                }
                case "hashCode": return System.identityHashCode(proxy);
                case "equals": return proxy == args[0];
                case "toString": return "recording " + real;
                default:
                    try { return m.invoke(real, args); } catch (InvocationTargetException e) { throw e.getCause(); }
            }
        });
        active.set(null, fake);
        try { body.run(); } finally { active.set(null, real); recordingNow = false; strictFp32 = true; deterministic = true; }
    }

    private static Module model() {
        Rng rng = new Rng(3);
        return new Sequential(new Linear(6, 8, rng), new ReLU(), new Linear(8, 3, rng));
    }

    @Test void oneEagerStepThenARecordingPerLearningRate() throws Exception {
        Rng data = new Rng(9);
        int steps = 9;
        Tensor[] xs = new Tensor[steps], ys = new Tensor[steps];
        for (int k = 0; k < steps; k++) {
            xs[k] = Tensor.randn(data, 5, 6);
            ys[k] = Tensor.of(new float[] {0, 1, 2, (k + 1) % 3, k % 3}, 5);
        }
        Module plain = model();
        Sgd sgdP = Sgd.forModule(plain, 0.1f, 0.9f, 1e-3f, false, false);
        float[] lossP = new float[steps];
        for (int k = 0; k < steps; k++) {
            if (k == 3) sgdP.setLr(0.05f);
            sgdP.zeroGrad();
            Tensor loss = Losses.crossEntropy(plain.forward(xs[k]), ys[k]);
            loss.backward();
            sgdP.step();
            lossP[k] = loss.item();
        }
        Module stepped = model();
        Sgd sgdC = Sgd.forModule(stepped, 0.1f, 0.9f, 1e-3f, false, false);
        float[] lossC = new float[steps];
        withRecordingCpu(() -> {
            try (CapturedStep step = new CapturedStep(Device.CPU, sgdC, new MemoryScope.Steps(() -> sgdC.trainingState(stepped)), 1, in -> {
                sgdC.zeroGrad();
                Tensor loss = Losses.crossEntropy(stepped.forward(in[0]), in[1]);
                loss.backward();
                sgdC.step();
                return new Tensor[] {loss.detach()};
            }, new int[] {5, 6}, new int[] {5})) {
                assertTrue(step.recording(), step.whyNotRecorded());
                for (int k = 0; k < steps; k++) {
                    if (k == 3) sgdC.setLr(0.05f);
                    // the math mode and cuDNN's determinism are fixed into a recording too: after a change, one ordinary
                    // step (cuDNN chooses its algorithms anew, which cannot happen while recording), then a new recording
                    if (k == 5) Backends.cpu().setStrictFp32(false);
                    if (k == 7) Backends.cpu().setDeterministic(false);
                    lossC[k] = step.step(xs[k], ys[k])[0].item();
                    assertEquals(k == 0 ? 0 : k < 3 ? 1 : k < 6 ? 2 : k < 8 ? 3 : 4, step.recordings(), "recordings after step " + (k + 1));
                }
                assertTrue(step.recording(), "no recording failed: " + step.whyNotRecorded());
            }
        });
        assertArrayEquals(lossP, lossC, "the same losses, step for step");
        for (var e : plain.stateDict().entrySet())
            assertArrayEquals(e.getValue().toArray(), stepped.stateDict().get(e.getKey()).toArray(), e.getKey());
    }
}
