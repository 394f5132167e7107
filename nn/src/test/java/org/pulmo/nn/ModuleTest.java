package org.pulmo.nn;

import static org.junit.jupiter.api.Assertions.*;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.pulmo.optim.Sgd;
import org.pulmo.tensor.Rng;
import org.pulmo.tensor.Tensor;

class ModuleTest {

    /** A ResNet-style block, to see nested names such as layer1.0.conv1.weight. */
    static final class Block extends Module {
        final Conv2d conv1;
        final BatchNorm2d bn1;

        Block(Rng rng) {
            conv1 = registerModule("conv1", new Conv2d(2, 2, 3, 1, 1, false, rng));
            bn1 = registerModule("bn1", new BatchNorm2d(2));
        }

        @Override public Tensor forward(Tensor x) { return bn1.forward(conv1.forward(x)).relu(); }
    }

    static final class Net extends Module {
        final Sequential layer1;
        final Linear fc;

        Net(Rng rng) {
            layer1 = registerModule("layer1", new Sequential(new Block(rng), new Block(rng)));
            fc = registerModule("fc", new Linear(2, 3, rng));
        }

        @Override public Tensor forward(Tensor x) { return fc.forward(layer1.forward(x).globalAvgPool()); }
    }

    @Test void namesAreHierarchicalInPyTorchOrder() {
        Net net = new Net(new Rng(1));
        assertEquals(List.of("layer1.0.conv1.weight", "layer1.0.bn1.weight", "layer1.0.bn1.bias",
            "layer1.1.conv1.weight", "layer1.1.bn1.weight", "layer1.1.bn1.bias", "fc.weight", "fc.bias"),
            List.copyOf(net.namedParameters().keySet()));
        assertEquals(List.of("layer1.0.conv1.weight", "layer1.0.bn1.weight", "layer1.0.bn1.bias", "layer1.0.bn1.running_mean",
            "layer1.0.bn1.running_var", "layer1.0.bn1.num_batches_tracked"), List.copyOf(net.stateDict().keySet()).subList(0, 6));
        assertEquals(2 * (2 * 2 * 9 + 4) + 2 * 3 + 3, net.parameterCount());
        assertTrue(net.parameters().stream().allMatch(Tensor::requiresGrad));
        assertFalse(net.namedBuffers().values().stream().anyMatch(Tensor::requiresGrad));
    }

    @Test void toDeviceMovesEveryTensorInPlace() {
        Net net = new Net(new Rng(1));
        Map<String, Tensor> before = new LinkedHashMap<>(net.stateDict());
        net.to(org.pulmo.tensor.Device.CPU);
        Map<String, Tensor> after = net.stateDict();
        assertEquals(before.keySet(), after.keySet());
        for (var e : before.entrySet()) {
            assertSame(e.getValue(), after.get(e.getKey()), e.getKey() + " must stay the same object: layers hold it in a field");
            assertEquals(org.pulmo.tensor.Device.CPU, after.get(e.getKey()).device());
        }
    }

    @Test void trainAndEvalReachEveryDescendant() {
        Net net = new Net(new Rng(1));
        assertTrue(net.isTraining());
        net.eval();
        for (Module m : net.namedModules().values()) assertFalse(m.isTraining());
        net.train();
        for (Module m : net.namedModules().values()) assertTrue(m.isTraining());
    }

    @Test void stateDictRoundTripsIntoAFreshModel() {
        Net a = new Net(new Rng(1)), b = new Net(new Rng(2));
        Tensor bWeight = b.fc.weight;
        b.loadStateDict(a.stateDict());
        assertSame(bWeight, b.fc.weight, "loading copies in place so optimisers keep their tensors");
        for (var e : a.stateDict().entrySet())
            assertArrayEquals(e.getValue().toArray(), b.stateDict().get(e.getKey()).toArray(), e.getKey());
    }

    @Test void strictLoadListsEveryMismatchAndLoadsNothing() {
        Net a = new Net(new Rng(1)), b = new Net(new Rng(2));
        float[] before = b.layer1.get(0).namedParameters().get("conv1.weight").toArray();
        Map<String, Tensor> sd = new LinkedHashMap<>(a.stateDict());
        sd.remove("fc.bias");
        sd.remove("layer1.1.bn1.running_var");
        sd.put("fc.extra", Tensor.zeros(1));
        sd.put("fc.weight", Tensor.zeros(4, 2));
        StateDictException e = assertThrows(StateDictException.class, () -> b.loadStateDict(sd));
        assertEquals(List.of("layer1.1.bn1.running_var", "fc.bias"), e.missing());
        assertEquals(List.of("fc.extra"), e.unexpected());
        assertEquals(1, e.wrongShape().size());
        assertTrue(e.getMessage().contains("fc.weight: expected [3, 2], got [4, 2]"), e.getMessage());
        assertTrue(e.getMessage().contains("fc.bias") && e.getMessage().contains("fc.extra"), e.getMessage());
        assertArrayEquals(before, b.layer1.get(0).namedParameters().get("conv1.weight").toArray(), "nothing loaded");
    }

    @Test void nonStrictLoadReportsWhatItSkipped() {
        Net a = new Net(new Rng(1)), b = new Net(new Rng(2));
        Map<String, Tensor> sd = new LinkedHashMap<>(a.stateDict());
        sd.remove("fc.bias");
        sd.put("head.weight", Tensor.zeros(1));
        Module.LoadResult r = b.loadStateDict(sd, false);
        assertEquals(List.of("fc.bias"), r.missing());
        assertEquals(List.of("head.weight"), r.unexpected());
        assertArrayEquals(a.fc.weight.toArray(), b.fc.weight.toArray());
    }

    @Test void toStringReadsLikePyTorch() {
        String s = new Net(new Rng(1)).toString();
        assertTrue(s.startsWith("Net(\n  (layer1): Sequential(\n    (0): Block(\n      (conv1): Conv2d(2, 2, kernel_size=3, stride=1, padding=1, bias=false)\n"), s);
        assertTrue(s.contains("(bn1): BatchNorm2d(2, eps=1.0E-5, momentum=0.1)"), s);
        assertTrue(s.endsWith("  (fc): Linear(in_features=2, out_features=3)\n)"), s);
    }

    @Test void duplicateNamesAreRejected() {
        Module m = new Module() {
            { registerParameter("w", Tensor.zeros(1)); }
            @Override public Tensor forward(Tensor x) { return x; }
        };
        assertEquals(java.util.List.of("w"), java.util.List.copyOf(m.namedParameters().keySet()), "one parameter, named once");
        assertThrows(IllegalArgumentException.class, () -> new Module() {
            { registerParameter("w", Tensor.zeros(1)); registerBuffer("w", Tensor.zeros(1)); }
            @Override public Tensor forward(Tensor x) { return x; }
        });
    }

    @Test void noDecayNamesAreBatchNormAndBiasParameters() {
        Net net = new Net(new Rng(1));
        assertEquals(List.of("layer1.0.bn1.weight", "layer1.0.bn1.bias", "layer1.1.bn1.weight", "layer1.1.bn1.bias", "fc.bias"),
            Sgd.noDecayNames(net));
        Sgd sgd = Sgd.forModule(net, 0.1f, 0.9f, 1e-4f, false, false);
        assertEquals(0f, sgd.weightDecay("fc.bias"));
        assertEquals(1e-4f, sgd.weightDecay("fc.weight"));
        assertEquals(1e-4f, Sgd.forModule(net, 0.1f, 0.9f, 1e-4f, true, false).weightDecay("fc.bias"));
    }
}
