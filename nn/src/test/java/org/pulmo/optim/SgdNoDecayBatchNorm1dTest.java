package org.pulmo.optim;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.pulmo.nn.BatchNorm1d;
import org.pulmo.nn.Linear;
import org.pulmo.nn.Sequential;
import org.pulmo.tensor.Rng;

/**
 * {@link Sgd#noDecayNames} promises "the parameters of BatchNorm layers", every kind: MA-Net's FABs normalise with
 * BatchNorm1d, so a rule that only knew BatchNorm2d would decay their scales and shifts towards 0 at every step.
 */
class SgdNoDecayBatchNorm1dTest {

    @Test void batchNorm1dParametersAreSparedWeightDecay() {
        Sequential net = new Sequential(new Linear(4, 3, false, new Rng(1)), new BatchNorm1d(3), new Linear(3, 2, new Rng(2)));
        assertEquals(List.of("1.weight", "1.bias", "2.bias"), Sgd.noDecayNames(net));
        Sgd sgd = Sgd.forModule(net, 0.1f, 0.9f, 1e-4f, false, false);
        assertEquals(0f, sgd.weightDecay("1.weight"), "BatchNorm1d scale");
        assertEquals(0f, sgd.weightDecay("1.bias"), "BatchNorm1d shift");
        assertEquals(1e-4f, sgd.weightDecay("0.weight"));
        assertEquals(1e-4f, sgd.weightDecay("2.weight"));
    }
}
