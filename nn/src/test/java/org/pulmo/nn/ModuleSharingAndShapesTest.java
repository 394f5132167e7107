package org.pulmo.nn;

import static org.junit.jupiter.api.Assertions.*;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.pulmo.optim.Sgd;
import org.pulmo.tensor.Rng;
import org.pulmo.tensor.Tensor;

/** Module beyond ModuleTest: a layer used twice is one set of parameters (stepped once); a wrong shape is refused even non-strict. */
class ModuleSharingAndShapesTest {

    @Test void aSharedLayersParametersAppearOnceAndAreSteppedOnce() {
        Linear shared = new Linear(2, 2, new Rng(1));
        Sequential net = new Sequential(shared, new ReLU(), shared);
        assertEquals(List.of("0.weight", "0.bias"), List.copyOf(net.namedParameters().keySet()));
        assertEquals(List.of("0.weight", "0.bias"), List.copyOf(net.stateDict().keySet()));
        assertEquals(6, net.parameterCount());
        float[] w = shared.weight.toArray();
        Sgd sgd = new Sgd(net.namedParameters(), 0.1f, 0f, 0f);
        shared.weight.setGrad(Tensor.ones(2, 2));
        shared.bias.setGrad(Tensor.ones(2));
        sgd.step();
        for (int i = 0; i < 4; i++) assertEquals(w[i] - 0.1f, shared.weight.toArray()[i], 1e-7f, "one step of lr * g, not two");
    }

    @Test void aWrongShapeIsAnErrorEvenWhenNotStrict() {
        Linear a = new Linear(3, 2, new Rng(1)), b = new Linear(3, 2, new Rng(2));
        float[] before = b.weight.toArray();
        Map<String, Tensor> sd = new LinkedHashMap<>(a.stateDict());
        sd.put("weight", Tensor.randn(new Rng(3), 3, 2));      // as many values, transposed shape
        StateDictException e = assertThrows(StateDictException.class, () -> b.loadStateDict(sd, false));
        assertEquals(1, e.wrongShape().size(), e.getMessage());
        assertArrayEquals(before, b.weight.toArray(), "nothing loaded");
    }
}
