package org.pulmo.ops;

import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.pulmo.tensor.Tensor;

/**
 * An index equal to the size of its dimension (one past the last position) is refused by gather and oneHot, also
 * where the flat position it would name lies inside the array (the first element of the next row), so that no
 * wrong value is read or written silently.
 */
class IndexPastTheEndTest {

    @Test void gatherRefusesAnIndexEqualToTheDimSize() {
        Tensor x = Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, 2, 3);
        var e = assertThrows(IndexOutOfBoundsException.class, () -> x.gather(1, Tensor.of(new float[] {3, 0}, 2, 1)));
        assertTrue(e.getMessage().contains("out of range"), e.getMessage());
        // along dim 0: index 2 of 2 rows in the first column
        var e0 = assertThrows(IndexOutOfBoundsException.class, () -> x.gather(0, Tensor.of(new float[] {2, 0, 0}, 1, 3)));
        assertTrue(e0.getMessage().contains("out of range"), e0.getMessage());
    }

    @Test void oneHotRefusesALabelEqualToTheClassCount() {
        var e = assertThrows(IndexOutOfBoundsException.class, () -> Tensor.oneHot(Tensor.of(new float[] {4, 1}, 2), 4));
        assertTrue(e.getMessage().contains("out of range"), e.getMessage());
    }
}
