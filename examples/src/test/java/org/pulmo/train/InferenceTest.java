package org.pulmo.train;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.pulmo.data.Augmentation;
import org.pulmo.data.DemoChestDataset;
import org.pulmo.models.ResNet;
import org.pulmo.nn.Module;
import org.pulmo.tensor.Rng;
import org.pulmo.tensor.Tensor;

/** A model whose outputs are not finite gives no predictions: the first such image is named, nothing is scored. */
class InferenceTest {

    @Test void outputsThatAreNotFiniteAreRefusedNamingTheImage() {
        DemoChestDataset data = new DemoChestDataset(8, 32, 3);
        Module net = new ResNet(ResNet.RESNET18, 4, new Rng(5));
        Inference.Result ok = Inference.run(net, data, data.classes(), Augmentation.NONE.eval(32), 4, false);
        assertEquals(8, ok.predictions().size());
        Module broken = new Module() {
            { registerModule("net", net); }
            int calls;
            @Override public Tensor forward(Tensor x) {   // the second batch overflows
                Tensor y = net.forward(x);
                return ++calls == 2 ? y.mul(Float.POSITIVE_INFINITY) : y;
            }
        };
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
            () -> Inference.run(broken, data, data.classes(), Augmentation.NONE.eval(32), 4, false));
        assertTrue(e.getMessage().startsWith("the model's class probabilities for " + data.source(4) + " are [") && e.getMessage().contains("not finite"),
            e.getMessage());
    }
}
