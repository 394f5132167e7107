package org.pulmo.optim;

import static org.junit.jupiter.api.Assertions.*;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.pulmo.nn.Linear;
import org.pulmo.nn.Sequential;
import org.pulmo.tensor.Rng;
import org.pulmo.tensor.Tensor;

/**
 * Sgd beyond SgdTest: the update rule on the backend's default path (a parameter that is not contiguous, which the CPU's
 * fused loop hands to Backend.sgdUpdate), forModule's Nesterov switch, the weight-decay table for names the map leaves
 * out, and loadStateDict replacing (not merging, not aliasing) the momentum buffers.
 */
class SgdStateAndSetupTest {
    private static final float[][] GRADS = {{0.5f, -1f, 0.25f, 2f}, {0.25f, 2f, -0.5f, 1f}, {-0.75f, 0.5f, 1f, -1f}, {1f, 1f, 0.5f, 0.5f}};
    private static final float[] START = {1f, -2f, 0.5f, 3f};

    /** torch.optim.SGD's loop for one parameter of four elements, in float (as SgdTest's reference). */
    private static float[] reference(float lr, float mu, float tau, float wd, boolean nesterov) {
        float[] p = START.clone(), buf = null;
        for (float[] g0 : GRADS) {
            float[] g = g0.clone();
            for (int i = 0; i < 4; i++) if (wd != 0) g[i] = g[i] + wd * p[i];
            if (mu != 0) {
                if (buf == null) buf = g.clone();
                else for (int i = 0; i < 4; i++) buf[i] = buf[i] * mu + (1 - tau) * g[i];
                for (int i = 0; i < 4; i++) g[i] = nesterov ? g[i] + mu * buf[i] : buf[i];
            }
            for (int i = 0; i < 4; i++) p[i] = p[i] + -lr * g[i];
        }
        return p;
    }

    /** The same steps on a [2, 2] parameter that is a transposed view (logical order START), so not contiguous. */
    private static float[] runOnTransposedView(float lr, float mu, float tau, float wd, boolean nesterov) {
        // storage [a, c, b, d] read transposed is [[a, b], [c, d]]: logical START
        Tensor base = Tensor.of(new float[] {START[0], START[2], START[1], START[3]}, 2, 2);
        Tensor p = base.transpose(0, 1).requiresGrad(true);
        assertFalse(p.isContiguous(), "the test needs a parameter the fused CPU loop does not take");
        Sgd sgd = new Sgd(Map.of("p", p), Map.of("p", wd), lr, mu, tau, nesterov);
        for (float[] g : GRADS) {
            sgd.zeroGrad();
            p.setGrad(Tensor.of(g, 2, 2));
            sgd.step();
        }
        return p.toArray();
    }

    @Test void theBackendsDefaultUpdateIsPyTorchsRuleToo() {
        float[][] cases = {{0.1f, 0f, 0f, 1e-2f}, {0.1f, 0.9f, 0f, 0f}, {0.1f, 0.9f, 0f, 5e-2f}, {0.05f, 0.9f, 0.3f, 1e-2f}};
        for (float[] c : cases)
            assertArrayEquals(reference(c[0], c[1], c[2], c[3], false), runOnTransposedView(c[0], c[1], c[2], c[3], false), 1e-6f,
                java.util.Arrays.toString(c));
        assertArrayEquals(reference(0.1f, 0.9f, 0f, 5e-2f, true), runOnTransposedView(0.1f, 0.9f, 0f, 5e-2f, true), 1e-6f, "nesterov");
    }

    @Test void forModuleKeepsNesterov() {
        Sequential a = new Sequential(new Linear(3, 2, new Rng(1))), b = new Sequential(new Linear(3, 2, new Rng(1)));
        Sgd nesterov = Sgd.forModule(a, 0.1f, 0.9f, 1e-2f, false, true);
        assertTrue(nesterov.nesterov);
        assertFalse(Sgd.forModule(a, 0.1f, 0.9f, 1e-2f, false, false).nesterov);
        // the same steps as the constructor with Nesterov on and the same decay table
        Map<String, Float> wd = new LinkedHashMap<>();
        for (String n : b.namedParameters().keySet()) wd.put(n, n.endsWith("bias") ? 0f : 1e-2f);
        Sgd explicit = new Sgd(b.namedParameters(), wd, 0.1f, 0.9f, 0f, true);
        Tensor x = Tensor.randn(new Rng(2), 4, 3);
        for (int k = 0; k < 3; k++) {
            for (var pair : List.of(new Object[] {a, nesterov}, new Object[] {b, explicit})) {
                Sequential m = (Sequential) pair[0];
                Sgd s = (Sgd) pair[1];
                s.zeroGrad();
                m.forward(x).square().sum().backward();
                s.step();
            }
        }
        for (var e : a.stateDict().entrySet())
            assertArrayEquals(b.stateDict().get(e.getKey()).toArray(), e.getValue().toArray(), e.getKey());
    }

    @Test void nesterovWithDampeningIsRefusedAsPyTorchDoes() {
        Map<String, Tensor> params = Map.of("p", Tensor.ones(2).requiresGrad(true));
        assertThrows(IllegalArgumentException.class, () -> new Sgd(params, Map.of(), 0.1f, 0.9f, 0.1f, true));
        assertThrows(IllegalArgumentException.class, () -> new Sgd(params, Map.of(), 0.1f, 0f, 0f, true));
    }

    /**
     * Set-ups that would train wrongly without a word are refused naming what is wrong: a rate that is NaN, infinite or
     * negative (also through setLr: -1 climbed the loss), one tensor under two names (stepped twice), a computed tensor
     * (never moves), a decay for a name that is not a parameter (a typo left its parameter undecayed), no parameters.
     */
    @Test void setUpsThatWouldTrainWronglyAreRefused() {
        Tensor w = Tensor.ones(2).requiresGrad(true);
        Map<String, Tensor> one = Map.of("w", w);
        for (float bad : new float[] {Float.NaN, Float.POSITIVE_INFINITY, -1f})
            assertTrue(assertThrows(IllegalArgumentException.class, () -> new Sgd(one, Map.of(), bad, 0f, 0f, false))
                .getMessage().startsWith("Sgd: learning rate must be a finite number >= 0, got " + bad));
        assertThrows(IllegalArgumentException.class, () -> new Sgd(one, Map.of(), 0.1f, Float.NaN, 0f, false));
        assertThrows(IllegalArgumentException.class, () -> new Sgd(one, Map.of(), 0.1f, 0.9f, Float.NaN, false));
        Sgd sgd = new Sgd(one, Map.of(), 0.1f, 0f, 0f, false);
        assertThrows(IllegalArgumentException.class, () -> sgd.setLr(-1f));
        assertThrows(IllegalArgumentException.class, () -> sgd.setLr(Float.NaN));
        assertEquals(0.1f, sgd.lr(), "a refused rate leaves the old one");
        Map<String, Tensor> twice = new LinkedHashMap<>();
        twice.put("a", w);
        twice.put("b", w);
        assertEquals("Sgd: parameters 'a' and 'b' are the same tensor; give it once",
            assertThrows(IllegalArgumentException.class, () -> new Sgd(twice, Map.of(), 0.1f, 0f, 0f, false)).getMessage());
        Tensor computed = w.mul(2f);
        assertTrue(assertThrows(IllegalArgumentException.class, () -> new Sgd(Map.of("c", computed), Map.of(), 0.1f, 0f, 0f, false))
            .getMessage().startsWith("Sgd: parameter 'c' is computed from other tensors"));
        assertEquals("Sgd: weight decay given for 'W', which is not one of the parameters",
            assertThrows(IllegalArgumentException.class, () -> new Sgd(one, Map.of("W", 1e-4f), 0.1f, 0f, 0f, false)).getMessage());
        assertThrows(IllegalArgumentException.class, () -> new Sgd(Map.of(), Map.of(), 0.1f, 0f, 0f, false));
        assertEquals("Sgd: no parameter named 'v'", assertThrows(IllegalArgumentException.class, () -> sgd.weightDecay("v")).getMessage());
    }

    @Test void aParameterMissingFromTheDecayMapIsUndecayed() {
        Tensor a = Tensor.of(new float[] {1f, 2f}, 2).requiresGrad(true), b = Tensor.of(new float[] {1f, 2f}, 2).requiresGrad(true);
        Map<String, Tensor> params = new LinkedHashMap<>();
        params.put("a", a);
        params.put("b", b);
        Sgd sgd = new Sgd(params, Map.of("a", 0.5f), 0.1f, 0f, 0f, false);
        assertEquals(0.5f, sgd.weightDecay("a"));
        assertEquals(0f, sgd.weightDecay("b"));
        a.setGrad(Tensor.zeros(2));
        b.setGrad(Tensor.zeros(2));
        sgd.step();
        assertArrayEquals(new float[] {1f - 0.1f * 0.5f * 1f, 2f - 0.1f * 0.5f * 2f}, a.toArray(), 1e-7f);
        assertArrayEquals(new float[] {1f, 2f}, b.toArray(), "no decay, no gradient: unchanged");
    }

    @Test void loadingStateReplacesEveryBufferWithACopy() {
        Tensor a = Tensor.ones(2).requiresGrad(true), b = Tensor.ones(3).requiresGrad(true);
        Map<String, Tensor> params = new LinkedHashMap<>();
        params.put("a", a);
        params.put("b", b);
        Sgd source = new Sgd(params, 0.1f, 0.9f, 0f);
        a.setGrad(Tensor.of(new float[] {1f, 2f}, 2));
        source.step();                                     // a has a buffer, b none

        Sgd target = new Sgd(params, 0.1f, 0.9f, 0f);
        a.setGrad(Tensor.ones(2));
        b.setGrad(Tensor.ones(3));
        target.step();                                     // both have buffers
        target.loadStateDict(source.stateDict());
        assertEquals(List.of("a"), List.copyOf(target.stateDict().keySet()), "b's buffer is not in the loaded state: it goes");

        float[] sourceBuffer = source.stateDict().get("a").toArray();
        a.setGrad(Tensor.of(new float[] {5f, 5f}, 2));
        b.setGrad(Tensor.of(new float[] {2f, 2f, 2f}, 3));
        target.step();
        assertArrayEquals(sourceBuffer, source.stateDict().get("a").toArray(), "the loaded buffer is a copy: the source's is untouched");
        assertArrayEquals(new float[] {0.9f * 1f + 5f, 0.9f * 2f + 5f}, target.stateDict().get("a").toArray(), 1e-6f);
        assertArrayEquals(new float[] {2f, 2f, 2f}, target.stateDict().get("b").toArray(), "b starts again: its first step's buffer is its gradient");
    }
}
