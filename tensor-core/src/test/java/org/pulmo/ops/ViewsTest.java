package org.pulmo.ops;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.pulmo.tensor.Tensor;

/** Views alias their base (both ways); copies do not; layouts are what they claim. */
class ViewsTest {

    /** [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]]. */
    private static Tensor base() { return Tensor.arange(12).reshape(3, 4); }

    @Test void writingThroughANarrowViewChangesTheBase() {
        Tensor b = base();
        Tensor n = b.narrow(1, 1, 2);
        assertSame(b.storage(), n.storage());
        n.fill(-1);
        assertArrayEquals(new float[] {0, -1, -1, 3, 4, -1, -1, 7, 8, -1, -1, 11}, b.toArray());
        n.set(50, 2, 0);
        assertEquals(50, b.get(2, 1));
        n.copyFrom(Tensor.of(new float[] {7, 8}, 2)); // broadcasts over rows
        assertArrayEquals(new float[] {0, 7, 8, 3, 4, 7, 8, 7, 8, 7, 8, 11}, b.toArray());
        // and the other way: the base's writes show in the view
        b.set(99, 1, 2);
        assertEquals(99, n.get(1, 1));
    }

    @Test void writingThroughATransposeChangesTheBase() {
        Tensor b = base();
        Tensor t = b.transpose(0, 1); // [4, 3]
        assertArrayEquals(new int[] {4, 3}, t.shape());
        assertArrayEquals(new int[] {1, 4}, t.strides());
        assertFalse(t.isContiguous());
        t.set(100, 2, 1); // = b[1][2]
        assertEquals(100, b.get(1, 2));
        t.narrow(0, 0, 1).fill(-5); // first column of b
        assertArrayEquals(new float[] {-5, 1, 2, 3, -5, 5, 100, 7, -5, 9, 10, 11}, b.toArray());
        b.set(42, 2, 3);
        assertEquals(42, t.get(3, 2));
        assertArrayEquals(new float[] {-5, -5, -5, 1, 5, 9, 2, 100, 10, 3, 7, 42}, t.toArray());
    }

    @Test void writingThroughAPermuteChangesTheBase() {
        Tensor b = Tensor.arange(24).reshape(2, 3, 4);
        Tensor p = b.permute(2, 0, 1); // [4, 2, 3]: p[k][i][j] = b[i][j][k]
        assertArrayEquals(new int[] {4, 2, 3}, p.shape());
        assertEquals(b.get(1, 2, 3), p.get(3, 1, 2));
        p.copyFrom(Tensor.full(0f, 4, 2, 3).add(Tensor.arange(4).reshape(4, 1, 1)));
        // now b[i][j][k] = k
        for (int i = 0; i < 2; i++) for (int j = 0; j < 3; j++) for (int k = 0; k < 4; k++) assertEquals(k, b.get(i, j, k));
        b.fill(3);
        assertArrayEquals(Tensor.full(3, 24).toArray(), p.toArray());
    }

    @Test void copyFromAnOverlappingViewReadsTheOldValues() {
        Tensor b = Tensor.of(new float[] {0, 1, 2, 3}, 2, 2);
        b.copyFrom(b.transpose(0, 1)); // reading and writing the same storage in another order
        assertArrayEquals(new float[] {0, 2, 1, 3}, b.toArray());
        Tensor c = Tensor.of(new float[] {1, 2, 3, 4}, 4);
        c.narrow(0, 1, 3).addInPlace(c.narrow(0, 0, 3), 1f); // shifted overlap: each element adds its old left neighbour
        assertArrayEquals(new float[] {1, 3, 5, 7}, c.toArray());
    }

    @Test void sliceWithStepAliases() {
        Tensor b = Tensor.arange(10);
        Tensor s = b.slice(0, 1, 10, 3); // 1, 4, 7
        assertArrayEquals(new float[] {1, 4, 7}, s.toArray());
        assertArrayEquals(new int[] {3}, s.strides());
        assertEquals(1, s.offset());
        s.fill(0);
        assertArrayEquals(new float[] {0, 0, 2, 3, 0, 5, 6, 0, 8, 9}, b.toArray());
        assertArrayEquals(new float[] {0}, b.slice(0, 0, 1, 5).toArray());
        assertEquals(0, b.slice(0, 4, 4, 1).numel());
        assertThrows(IllegalArgumentException.class, () -> b.slice(0, 2, 11, 1));
        assertThrows(IllegalArgumentException.class, () -> b.slice(0, 0, 5, 0));
    }

    @Test void squeezeUnsqueezeAndSplitAlias() {
        Tensor b = base();
        Tensor u = b.unsqueeze(1); // [3, 1, 4]
        assertArrayEquals(new int[] {3, 1, 4}, u.shape());
        assertSame(b.storage(), u.storage());
        u.set(-1, 2, 0, 3);
        assertEquals(-1, b.get(2, 3));
        Tensor s = u.squeeze(1);
        assertArrayEquals(new int[] {3, 4}, s.shape());
        assertArrayEquals(b.toArray(), s.toArray());
        List<Tensor> parts = b.split(0, 1, 2);
        parts.get(1).fill(0);
        assertArrayEquals(new float[] {0, 1, 2, 3, 0, 0, 0, 0, 0, 0, 0, 0}, b.toArray());
        assertThrows(IllegalArgumentException.class, () -> b.squeeze(0));
        assertThrows(IllegalArgumentException.class, () -> b.split(1, 1, 2));
    }

    @Test void expandGivesZeroStrides() {
        Tensor col = Tensor.of(new float[] {1, 2, 3}, 3, 1);
        Tensor e = col.expand(2, 3, 4);
        assertArrayEquals(new int[] {2, 3, 4}, e.shape());
        assertArrayEquals(new int[] {0, 1, 0}, e.strides());
        assertSame(col.storage(), e.storage());
        assertFalse(e.isContiguous());
        assertArrayEquals(new float[] {1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3}, e.toArray());
        col.set(9, 0, 0); // the expansion is a view: it sees the change everywhere
        assertEquals(9, e.get(1, 0, 3));
        assertArrayEquals(new int[] {3, 5}, col.expand(-1, 5).shape());
        IllegalArgumentException ex = assertThrows(IllegalArgumentException.class, () -> col.expand(4, 4));
        assertTrue(ex.getMessage().contains("[3, 1]") && ex.getMessage().contains("[4, 4]"), ex.getMessage());
    }

    /** A write into an expanded view would write one memory location several times, racing on a GPU: refused, naming it. */
    @Test void writingIntoAnExpandedViewIsRefused() {
        Tensor row = Tensor.of(new float[] {1, 2, 3}, 1, 3);
        Tensor e = row.expand(4, 3);
        IllegalArgumentException add = assertThrows(IllegalArgumentException.class, () -> e.addInPlace(Tensor.ones(4, 3), 1f));
        assertTrue(add.getMessage().startsWith("addInPlace: the destination (shape [4, 3], strides [0, 1]) holds dimension 0's 4"), add.getMessage());
        IllegalArgumentException copy = assertThrows(IllegalArgumentException.class, () -> e.copyFrom(Tensor.arange(12).reshape(4, 3)));
        assertTrue(copy.getMessage().contains("expand()ed view"), copy.getMessage());
        assertArrayEquals(new float[] {1, 2, 3}, row.toArray(), "nothing written");
        // a dimension of one element with stride 0 holds no two elements in one place: still writable
        Tensor one = Tensor.of(new float[] {1, 2, 3}, 3).expand(1, 3);
        one.addInPlace(Tensor.ones(1, 3), 1f);
        assertArrayEquals(new float[] {2, 3, 4}, one.toArray());
        e.fill(5);   // every write of one location writes the same value: allowed
        assertArrayEquals(new float[] {5, 5, 5}, row.toArray());
    }

    /** An empty tensor has no element out of place: contiguous, so its views and reshapes work as in PyTorch (they were refused). */
    @Test void emptyTensorsAreContiguousAndReshape() {
        Tensor e = Tensor.zeros(2, 0, 3);
        assertTrue(e.isContiguous());
        assertArrayEquals(new int[] {0, 6}, e.reshape(0, 6).shape());
        assertArrayEquals(new int[] {0}, Tensor.zeros(2, 0).reshape(0).shape());
        assertArrayEquals(new int[] {2, 0}, e.flatten(1).shape());
        assertArrayEquals(new int[] {2, 3, 4}, Tensor.zeros(2, 3, 0).matmul(Tensor.zeros(0, 4)).shape());
        // an empty view reads nothing, wherever it starts: slices, joins and splits of empty tensors work
        assertArrayEquals(new int[] {0, 2}, Tensor.zeros(0, 4).narrow(1, 2, 2).shape());
        assertArrayEquals(new int[] {0, 5}, Tensor.cat(java.util.List.of(Tensor.zeros(0, 3), Tensor.zeros(0, 2)), 1).shape());
        assertEquals(2, Tensor.zeros(0, 6).split(1, 3, 3).size());
        assertArrayEquals(new int[] {0, 2}, Tensor.zeros(2, 3).narrow(0, 2, 0).narrow(1, 1, 2).shape());
    }

    @Test void reshapeOfNonContiguousCopiesAndViewThrows() {
        Tensor b = base();
        Tensor t = b.transpose(0, 1);
        Tensor r = t.reshape(12);
        assertNotSame(b.storage(), r.storage(), "reshape of a transposed tensor must copy");
        assertArrayEquals(new float[] {0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11}, r.toArray());
        r.fill(0);
        assertEquals(11, b.get(2, 3), "the copy is independent of the base");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> t.view(12));
        assertTrue(e.getMessage().contains("not contiguous") && e.getMessage().contains("reshape"), e.getMessage());
        assertTrue(e.getMessage().contains("[4, 3]"), e.getMessage());
        // reshape and view of a contiguous tensor share the storage
        assertSame(b.storage(), b.reshape(2, 6).storage());
        assertSame(b.storage(), b.view(-1).storage());
        assertSame(b.storage(), b.narrow(0, 1, 2).view(8).storage()); // a contiguous row block with an offset
        assertArrayEquals(new float[] {4, 5, 6, 7, 8, 9, 10, 11}, b.narrow(0, 1, 2).view(8).toArray());
        assertThrows(IllegalArgumentException.class, () -> b.reshape(5, -1));
        assertThrows(IllegalArgumentException.class, () -> b.reshape(-1, -1));
    }

    @Test void catCopiesAndContiguousCopiesOnlyWhenNeeded() {
        Tensor a = Tensor.of(new float[] {1, 2}, 1, 2), c = Tensor.of(new float[] {3, 4, 5, 6}, 2, 2);
        Tensor cat = Tensor.cat(0, a, c);
        assertArrayEquals(new float[] {1, 2, 3, 4, 5, 6}, cat.toArray());
        cat.fill(0);
        assertArrayEquals(new float[] {1, 2}, a.toArray());
        assertArrayEquals(new float[] {1, 3, 5, 2, 4, 6}, Tensor.cat(1, a.transpose(0, 1), c.transpose(0, 1)).toArray());
        Tensor b = base();
        assertSame(b, b.contiguous());
        Tensor t = b.transpose(0, 1).contiguous();
        assertTrue(t.isContiguous());
        assertNotSame(b.storage(), t.storage());
        Tensor copy = b.copy();
        assertNotSame(b.storage(), copy.storage());
        copy.fill(0);
        assertEquals(11, b.get(2, 3));
    }

    @Test void flattenAndNegativeDims() {
        Tensor x = Tensor.zeros(2, 3, 4, 5);
        assertArrayEquals(new int[] {2, 60}, x.flatten(1).shape());
        assertArrayEquals(new int[] {120}, x.flatten(0).shape());
        assertArrayEquals(new int[] {2, 3, 5, 4}, x.transpose(-1, -2).shape());
        assertArrayEquals(new int[] {2, 3, 4, 5, 1}, x.unsqueeze(-1).shape());
        assertArrayEquals(new int[] {2, 3, 4}, x.sum(-1, false).shape());
        assertThrows(IllegalArgumentException.class, () -> x.sum(4, false));
        assertThrows(IllegalArgumentException.class, () -> x.permute(0, 1, 2, 2));
    }

    /** Each misuse named for what it is, not as one range "outside" the dimension. */
    @Test void sliceNarrowAndSplitNameWhatIsWrong() {
        Tensor x = base();
        assertTrue(assertThrows(IllegalArgumentException.class, () -> x.narrow(0, 2, -1)).getMessage().startsWith("narrow: length -1 is negative"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> x.slice(0, 0, 3, 0)).getMessage().startsWith("slice: step 0 must be at least 1"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> x.slice(0, 2, 1, 1)).getMessage().startsWith("slice: start 2 is past end 1"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> x.slice(0, 0, 4, 1)).getMessage().contains("outside dimension 0 of size 3"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> x.split(1, 5, -1)).getMessage().startsWith("split: size -1 in [5, -1] is negative"));
        assertTrue(assertThrows(IllegalArgumentException.class, () -> x.split(1)).getMessage().startsWith("split: no sizes given"));
        assertEquals(List.of(2, 2), x.split(1, 2, 2).stream().map(t -> t.shape()[1]).toList());
    }
}
