package org.pulmo.optim;

import static org.junit.jupiter.api.Assertions.*;

import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.pulmo.tensor.Tensor;

/** Sgd against PyTorch's update rule written out in plain float arithmetic, and the schedules by hand. */
class SgdTest {
    private static final float[][] GRADS = {{0.5f, -1f}, {0.25f, 2f}, {-0.75f, 0.5f}, {1f, 1f}};

    /** torch.optim.SGD's loop for one parameter of two elements, in float. */
    private static float[] reference(float lr, float mu, float tau, float wd, boolean nesterov) {
        float[] p = {1f, -2f}, buf = null;
        for (float[] g0 : GRADS) {
            float[] g = g0.clone();
            for (int i = 0; i < 2; i++) if (wd != 0) g[i] = g[i] + wd * p[i];
            if (mu != 0) {
                if (buf == null) buf = g.clone();
                else for (int i = 0; i < 2; i++) buf[i] = buf[i] * mu + (1 - tau) * g[i];
                for (int i = 0; i < 2; i++) g[i] = nesterov ? g[i] + mu * buf[i] : buf[i];
            }
            for (int i = 0; i < 2; i++) p[i] = p[i] + -lr * g[i];
        }
        return p;
    }

    private static float[] run(float lr, float mu, float tau, float wd, boolean nesterov) {
        Tensor p = Tensor.of(new float[] {1f, -2f}, 2).requiresGrad(true);
        Map<String, Tensor> params = new LinkedHashMap<>();
        params.put("p", p);
        Sgd sgd = new Sgd(params, Map.of("p", wd), lr, mu, tau, nesterov);
        for (float[] g : GRADS) {
            sgd.zeroGrad();
            assertNull(p.grad());
            p.setGrad(Tensor.of(g, 2));
            sgd.step();
        }
        return p.toArray();
    }

    @Test void matchesPyTorchsRule() {
        float[][] cases = {{0.1f, 0f, 0f, 0f}, {0.1f, 0.9f, 0f, 0f}, {0.1f, 0.9f, 0f, 1e-2f}, {0.05f, 0.9f, 0.3f, 1e-3f}};
        for (float[] c : cases)
            assertArrayEquals(reference(c[0], c[1], c[2], c[3], false), run(c[0], c[1], c[2], c[3], false), 1e-6f, java.util.Arrays.toString(c));
        assertArrayEquals(reference(0.1f, 0.9f, 0f, 1e-2f, true), run(0.1f, 0.9f, 0f, 1e-2f, true), 1e-6f);
    }

    @Test void plainSgdByHand() {
        // p = 1 - 0.1 * 0.5 = 0.95 after the first step, no momentum
        Tensor p = Tensor.of(new float[] {1f}, 1).requiresGrad(true);
        Sgd sgd = new Sgd(Map.of("p", p), 0.1f, 0f, 0f);
        p.setGrad(Tensor.of(new float[] {0.5f}, 1));
        sgd.step();
        assertEquals(0.95f, p.item(), 1e-7f);
    }

    /** A step changes the parameters a retained graph read: a second backward through it is refused, not computed at the new values. */
    @Test void aGraphThatReadTheParametersIsStaleAfterAStep() {
        Tensor p = Tensor.of(new float[] {1f, 2f}, 2).requiresGrad(true);
        Sgd sgd = new Sgd(Map.of("p", p), 0.1f, 0.9f, 0f);
        Tensor loss = p.mul(p).sum();
        loss.backward(null, true);
        sgd.step();
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> loss.backward(null, true));
        assertTrue(e.getMessage().contains("an optimizer step"), e.getMessage());
        sgd.zeroGrad();
        p.mul(p).sum().backward();   // a new forward reads the stepped values
        assertArrayEquals(new float[] {2 * 0.8f, 2 * 1.6f}, p.grad().toArray(), 1e-6f);
    }

    @Test void parametersWithoutGradientAreSkippedAndStateRoundTrips() {
        Tensor a = Tensor.ones(2).requiresGrad(true), b = Tensor.ones(3).requiresGrad(true);
        Map<String, Tensor> params = new LinkedHashMap<>();
        params.put("a", a);
        params.put("b", b);
        Sgd sgd = new Sgd(params, 0.1f, 0.9f, 0f);
        a.setGrad(Tensor.ones(2));
        sgd.step();
        assertArrayEquals(new float[] {1, 1, 1}, b.toArray());
        assertEquals(java.util.List.of("a"), java.util.List.copyOf(sgd.stateDict().keySet()));
        Sgd fresh = new Sgd(params, 0.1f, 0.9f, 0f);
        fresh.loadStateDict(sgd.stateDict());
        assertArrayEquals(sgd.stateDict().get("a").toArray(), fresh.stateDict().get("a").toArray());
        assertThrows(IllegalArgumentException.class, () -> fresh.loadStateDict(Map.of("a", Tensor.ones(3))));
        assertThrows(IllegalArgumentException.class, () -> fresh.loadStateDict(Map.of("c", Tensor.ones(2))));
        assertThrows(IllegalArgumentException.class, () -> new Sgd(params, Map.of(), 0.1f, 0f, 0f, true));
    }

    @Test void schedules() {
        LrSchedule step = new LrSchedule.Step(0.1);
        assertEquals(0.1, step.lr(0));
        assertEquals(0.1, step.lr(29));
        assertEquals(0.05, step.lr(30));
        assertEquals(0.025, step.lr(60), 1e-15);
        assertEquals(0.01, new LrSchedule.Step(0.1, 10, 0.1).lr(10), 1e-15);
        LrSchedule exp = new LrSchedule.Exponential(0.1);
        assertEquals(0.05, exp.lr(30), 1e-15);
        assertEquals(0.1 * Math.pow(0.5, 0.5), exp.lr(15), 1e-15);
        LrSchedule cos = new LrSchedule.Cosine(0.1, 100, 0.001);
        assertEquals(0.1, cos.lr(0), 1e-15);
        assertEquals((0.1 + 0.001) / 2, cos.lr(50), 1e-15);
        assertEquals(0.001, cos.lr(100));
        assertEquals(0.001, cos.lr(150));
        assertEquals(0.3, new LrSchedule.Constant(0.3).lr(1000));
    }
}
