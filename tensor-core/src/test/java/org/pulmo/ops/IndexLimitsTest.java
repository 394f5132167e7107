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

    /**
     * CPU tensors are single float arrays, walked with int positions: a view with more elements than an int counts (an
     * expand()ed one, whose storage is small) and an output that large are refused naming the shape. Before, the sum of
     * ones(1, 1).expand(65536, 65536) was 0 and its max -Infinity, and a broadcast add of [65536, 1] and [1, 65536]
     * failed with an ArrayIndexOutOfBoundsException.
     */
    @Test void tensorsPastAnIntsCountAreRefusedNotMisread() {
        Tensor big = Tensor.ones(1, 1).expand(65536, 65536);
        for (Runnable op : new Runnable[] {() -> big.sum(), () -> big.max(), () -> big.sum(0, false), () -> big.add(1f)}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, op::run);
            assertTrue(e.getMessage().startsWith("CPU tensors hold at most 2^31 elements; "), e.getMessage());
            assertTrue(e.getMessage().contains("[65536, 65536]") && e.getMessage().endsWith("has 4294967296"), e.getMessage());
        }
        Tensor x = Tensor.ones(1, 1).requiresGrad(true);
        assertThrows(IllegalArgumentException.class, () -> x.expand(65536, 65536).sum().backward());
        assertThrows(IllegalArgumentException.class, () -> Tensor.zeros(46341, 1).add(Tensor.zeros(1, 46341)));
        assertThrows(IllegalArgumentException.class, () -> Tensor.ones(65536, 1).mul(Tensor.ones(1, 65537)));
        // a count past a long (65536^4 wrapped to 0, an empty tensor) and one past an array
        assertEquals("shape [65536, 65536, 65536, 65536] has more elements than a long counts",
            assertThrows(IllegalArgumentException.class, () -> Tensor.zeros(65536, 65536, 65536, 65536)).getMessage());
        assertThrows(IllegalArgumentException.class, () -> Tensor.of(new float[0], 65536, 65536, 65536, 65536));
        assertThrows(IllegalArgumentException.class, () -> Tensor.arange(0f, 1e10f, 1f));
        assertThrows(IllegalArgumentException.class, () -> Tensor.arange(0f, Float.NaN, 1f));
        assertThrows(IllegalArgumentException.class, () -> Tensor.arange(0f, 1f, Float.NaN));
        assertThrows(IllegalArgumentException.class, () -> Tensor.oneHot(Tensor.zeros(2), -1));
        // a convolution whose padding makes an output past the limit (it threw ArrayIndexOutOfBounds, or ran out of heap)
        for (int pad : new int[] {32768, 40000, 1 << 30})
            assertTrue(assertThrows(IllegalArgumentException.class, () -> Tensor.ones(1, 1, 1, 1).conv2d(Tensor.ones(1, 1, 1, 1), null, 1, pad, 1, 1))
                .getMessage().contains("conv2d's"), "padding " + pad);
        // the same ops within the limit still work, and an expanded view's sum is right
        assertEquals(4096f * 4096f, Tensor.ones(1, 1).expand(4096, 4096).sum().item());
    }

    /** A view reaching past its storage read zeros (or threw an ArrayIndexOutOfBoundsException later): refused when made. */
    @Test void aViewOutsideItsStorageIsRefused() {
        var storage = Tensor.of(new float[] {1, 2, 3, 4}, 4).storage();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Tensor.view(storage, new int[] {6}, new int[] {1}, 0));
        assertEquals("a view of shape [6], strides [1] and offset 0 reaches elements 0 to 5, outside its storage of 4", e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> Tensor.view(storage, new int[] {2}, new int[] {1}, -1));
        assertThrows(IllegalArgumentException.class, () -> Tensor.view(storage, new int[] {2, 2}, new int[] {3, 1}, 0));
        assertThrows(IllegalArgumentException.class, () -> Tensor.view(storage, new int[] {2}, new int[] {-2}, 1));
        assertEquals(java.util.List.of(4f, 2f), toList(Tensor.view(storage, new int[] {2}, new int[] {-2}, 3)));
        assertEquals(java.util.List.of(1f, 4f), toList(Tensor.view(storage, new int[] {2}, new int[] {3}, 0)));
        assertEquals(0, Tensor.view(storage, new int[] {0, 7}, new int[] {7, 1}, 4).numel(), "an empty view reaches nothing");
    }

    private static java.util.List<Float> toList(Tensor t) {
        java.util.List<Float> out = new java.util.ArrayList<>();
        for (float v : t.toArray()) out.add(v);
        return out;
    }
}
