package org.pulmo.nn;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.pulmo.tensor.Rng;
import org.pulmo.tensor.Tensor;

/** Module's documented contracts beyond ModuleTest: shape checks in lenient loads, member names, and the fans of Init. */
class ModuleContractsTest {

    static final class Pair extends Module {
        final Linear a, b;

        Pair(Rng rng) {
            a = registerModule("a", new Linear(3, 2, rng));
            b = registerModule("b", new Linear(2, 4, rng));
        }

        @Override public Tensor forward(Tensor x) { return b.forward(a.forward(x)); }
    }

    @Test void aWronglyShapedEntryFailsEvenANonStrictLoadAndNothingIsCopied() {
        Pair src = new Pair(new Rng(1)), dst = new Pair(new Rng(2));
        float[] before = dst.a.weight.toArray();
        Map<String, Tensor> sd = new LinkedHashMap<>(src.stateDict());
        sd.put("b.weight", Tensor.randn(new Rng(3), 2, 4));   // transposed
        StateDictException e = assertThrows(StateDictException.class, () -> dst.loadStateDict(sd, false));
        assertEquals(1, e.wrongShape().size(), e.getMessage());
        assertTrue(e.wrongShape().get(0).startsWith("b.weight"), e.getMessage());
        assertArrayEquals(before, dst.a.weight.toArray(), "checked before anything is copied");
    }

    @Test void memberNamesWithADotAreRefused() {
        // a dot would make "a.b" ambiguous between a member of a child and a member of this module
        assertThrows(IllegalArgumentException.class, () -> new Module() {
            { registerParameter("w.x", Tensor.zeros(1)); }
            @Override public Tensor forward(Tensor x) { return x; }
        });
        assertThrows(IllegalArgumentException.class, () -> new Module() {
            { registerModule("layer.0", new ReLU()); }
            @Override public Tensor forward(Tensor x) { return x; }
        });
        assertThrows(IllegalArgumentException.class, () -> new Module() {
            { registerBuffer("", Tensor.zeros(1)); }
            @Override public Tensor forward(Tensor x) { return x; }
        });
    }

    @Test void fansFollowPyTorchsDefinition() {
        // weight [out, in, kH, kW] = [8, 3, 5, 2]: fan_in = 3 * 10, fan_out = 8 * 10; Linear [out, in]: in and out
        assertEquals(30, Init.fanIn(new int[] {8, 3, 5, 2}));
        assertEquals(80, Init.fanOut(new int[] {8, 3, 5, 2}));
        assertEquals(7, Init.fanIn(new int[] {4, 7}));
        assertEquals(4, Init.fanOut(new int[] {4, 7}));
    }

    @Test void evalReachesModulesNestedSeveralLevelsDown() {
        Sequential deep = new Sequential(new Sequential(new Sequential(new Dropout(0.5f, new Rng(1)))));
        deep.eval();
        for (Module m : deep.namedModules().values()) assertTrue(!m.isTraining(), "every level in evaluation mode");
        Tensor x = Tensor.randn(new Rng(2), 4, 5);
        assertArrayEquals(x.toArray(), deep.forward(x).toArray(), "dropout three levels down is the identity in evaluation");
        assertEquals(List.of("", "0", "0.0", "0.0.0"), List.copyOf(deep.namedModules().keySet()));
    }
}
