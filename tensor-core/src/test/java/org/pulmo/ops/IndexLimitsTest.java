package org.pulmo.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.pulmo.tensor.Shapes;
import org.pulmo.tensor.Tensor;

/**
 * Indices are float32 tensors, exact up to 2^24: an op whose indices would run past that is refused naming the
 * dimension, instead of returning (or following) a rounded index. The long dimensions are stride-0 views, so nothing
 * large is allocated.
 */
class IndexLimitsTest {
    private static final int TOO_LONG = Shapes.MAX_EXACT_INDEX + 2;

    @Test void indicesPastTwoToThe24AreRefused() {
        Tensor row = Tensor.zeros(1, 1).expand(3, TOO_LONG);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> row.argmax(1, false));
        assertTrue(e.getMessage().startsWith("argmax: dim 1 of [3, 16777218] has 16777218 positions, but indices are float32"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Reductions.argmin(row, 1, false));
        assertThrows(IllegalArgumentException.class, () -> Indexing.gather(row, 1, Tensor.zeros(3, 1)));
        assertThrows(IllegalArgumentException.class, () -> Indexing.oneHot(Tensor.zeros(2), TOO_LONG));
        // the longest dimension whose every index is exact still works, to its last position
        float[] last = new float[Shapes.MAX_EXACT_INDEX + 1];
        last[Shapes.MAX_EXACT_INDEX] = 1f;
        assertEquals((float) Shapes.MAX_EXACT_INDEX, Tensor.of(last, last.length).argmax(0, false).item());
    }
}
