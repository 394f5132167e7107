package org.pulmo.nn;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.pulmo.tensor.Rng;

/**
 * {@link Dropout#generators}: one entry per Dropout, named "dropout." + its module path ("dropout" alone for a model
 * that is itself a Dropout), each the layer's own generator. A checkpoint saves these by name, so two dropouts
 * under one name would resume with one of them drawing another's masks.
 */
class DropoutGeneratorsTest {

    @Test void everyDropoutIsNamedByItsPath() {
        Rng r1 = new Rng(1), r2 = new Rng(2);
        Sequential inner = new Sequential(new ReLU(), new Dropout(0.3f, r2));
        Sequential model = new Sequential(new Dropout(0.5f, r1), new ReLU(), inner);
        Map<String, Rng> g = Dropout.generators(model);
        assertEquals(List.of("dropout.0", "dropout.2.1"), List.copyOf(g.keySet()));
        assertSame(r1, g.get("dropout.0"));
        assertSame(r2, g.get("dropout.2.1"));
        Rng alone = new Rng(3);
        assertEquals(Map.of("dropout", alone), Dropout.generators(new Dropout(0.1f, alone)));
        assertEquals(Map.of(), Dropout.generators(new Sequential(new ReLU())));
    }
}
