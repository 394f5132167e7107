package org.pulmo.tensor;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/** Forward checks of creation, argmax/argmin, one-hot, the seeded generator and reading values back. */
class TensorTest {

    @Test void argmaxAndArgminTakeTheFirstOfTies() {
        Tensor x = Tensor.of(new float[] {
            1, 3, 3, 0,
            2, 2, 2, 2,
            -1, -5, 4, -5}, 3, 4);
        assertArrayEquals(new float[] {1, 0, 2}, x.argmax(1, false).toArray());
        assertArrayEquals(new float[] {3, 0, 1}, x.argmin(1, false).toArray());
        assertArrayEquals(new int[] {3, 1}, x.argmax(1, true).shape());
        assertArrayEquals(new float[] {1, 0, 2, 1}, x.argmax(0, false).toArray());
        assertArrayEquals(new float[] {2, 2, 1, 2}, x.argmin(0, false).toArray());
        assertArrayEquals(new float[] {1, 0, 2}, x.argmax(-1, false).toArray());
    }

    @Test void moveToKeepsTheObjectAndRefusesComputedTensors() {
        Tensor leaf = Tensor.of(new float[] {1, 2, 3}, 3).requiresGrad(true);
        assertSame(leaf, leaf.moveTo(Device.CPU));
        assertArrayEquals(new float[] {1, 2, 3}, leaf.toArray());
        Tensor computed = leaf.mul(2f);
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> computed.moveTo(Device.CPU));
        assertTrue(e.getMessage().contains("[3]") && e.getMessage().contains("to(device)"), e.getMessage());
    }

    @Test void oneHot() {
        Tensor y = Tensor.oneHot(Tensor.of(new float[] {2, 0, 3, 0}, 4), 4);
        assertArrayEquals(new int[] {4, 4}, y.shape());
        assertArrayEquals(new float[] {0, 0, 1, 0, 1, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0}, y.toArray());
        assertThrows(IndexOutOfBoundsException.class, () -> Tensor.oneHot(Tensor.of(new float[] {4}, 1), 4));
        assertTrue(assertThrows(IndexOutOfBoundsException.class, () -> Tensor.oneHot(Tensor.of(new float[] {1.5f}, 1), 4))
            .getMessage().contains("not a whole number"));
        assertTrue(assertThrows(IndexOutOfBoundsException.class, () -> Tensor.oneHot(Tensor.of(new float[] {1e10f}, 1), 4))
            .getMessage().contains("out of range"), "a whole number too large for an int is out of range");
        assertThrows(IllegalArgumentException.class, () -> Tensor.oneHot(Tensor.zeros(2, 2), 4));
    }

    @Test void arange() {
        assertArrayEquals(new float[] {0, 1, 2, 3, 4}, Tensor.arange(5).toArray());
        assertArrayEquals(new float[] {2, 4.5f, 7}, Tensor.arange(2, 8, 2.5f).toArray());
        assertArrayEquals(new float[] {5, 4, 3, 2, 1}, Tensor.arange(5, 0, -1).toArray());
        assertEquals(10, Tensor.arange(0, 1, 0.1f).numel());
        assertEquals(0, Tensor.arange(3, 3, 1).numel());
        assertEquals(0, Tensor.arange(0).numel());
        assertThrows(IllegalArgumentException.class, () -> Tensor.arange(0, 1, 0));
    }

    @Test void fullZerosOnesScalar() {
        assertArrayEquals(new float[] {2.5f, 2.5f, 2.5f, 2.5f, 2.5f, 2.5f}, Tensor.full(2.5f, 2, 3).toArray());
        assertArrayEquals(new int[] {2, 3}, Tensor.full(2.5f, 2, 3).shape());
        assertArrayEquals(new float[6], Tensor.zeros(3, 2).toArray());
        assertArrayEquals(new float[] {1, 1}, Tensor.ones(2).toArray());
        Tensor s = Tensor.scalar(7f);
        assertEquals(0, s.dim());
        assertEquals(1, s.numel());
        assertEquals(7f, s.item());
        assertEquals(0, Tensor.zeros(0, 3).numel());
        assertThrows(IllegalArgumentException.class, () -> Tensor.zeros(2, -1));
        assertThrows(IllegalArgumentException.class, () -> Tensor.of(new float[] {1, 2, 3}, 2, 2));
    }

    @Test void itemOnNonScalarErrorsWithTheShape() {
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> Tensor.zeros(2, 3).item());
        assertTrue(e.getMessage().contains("[2, 3]"), e.getMessage());
        assertEquals(4f, Tensor.full(4f, 1, 1).item()); // one element in any rank is fine
        assertEquals(6f, Tensor.arange(12).reshape(3, 4).get(1, 2));
        assertThrows(IndexOutOfBoundsException.class, () -> Tensor.zeros(2, 3).get(2, 0));
        assertThrows(IllegalArgumentException.class, () -> Tensor.zeros(2, 3).get(1));
    }

    @Test void randnIsDeterministicForASeed() {
        float[] a = Tensor.randn(new Rng(42), 3, 5).toArray(), b = Tensor.randn(new Rng(42), 3, 5).toArray();
        assertArrayEquals(a, b);
        float[] c = Tensor.randn(new Rng(43), 3, 5).toArray();
        assertFalse(java.util.Arrays.equals(a, c));
        float[] u = Tensor.rand(new Rng(1), -1f, 2f, 1000).toArray();
        for (float v : u) assertTrue(v >= -1f && v < 2f);
        // roughly standard normal
        float[] big = Tensor.randn(new Rng(7), 20_000).toArray();
        double mean = 0, sq = 0;
        for (float v : big) { mean += v; sq += v * v; }
        mean /= big.length;
        assertEquals(0, mean, 0.03);
        assertEquals(1, sq / big.length - mean * mean, 0.05);
    }

    @Test void rngStateSaveAndRestoreReproducesTheStream() {
        Rng rng = new Rng(123);
        rng.nextGaussian(); // leaves a spare normal in the state
        long[] state = rng.getState();
        double[] first = new double[9];
        for (int i = 0; i < 3; i++) { first[3 * i] = rng.nextGaussian(); first[3 * i + 1] = rng.nextFloat(); first[3 * i + 2] = rng.nextInt(1000); }
        Rng other = new Rng(999);
        other.setState(state);
        for (int i = 0; i < 3; i++) {
            assertEquals(first[3 * i], other.nextGaussian());
            assertEquals(first[3 * i + 1], other.nextFloat());
            assertEquals(first[3 * i + 2], other.nextInt(1000));
        }
        // the same through tensors
        Rng r1 = new Rng(5);
        Tensor.randn(r1, 7);
        long[] s = r1.getState();
        float[] next = Tensor.randn(r1, 4, 4).toArray();
        r1.setState(s);
        assertArrayEquals(next, Tensor.randn(r1, 4, 4).toArray());
        assertThrows(IllegalArgumentException.class, () -> r1.setState(new long[2]));
        // forks are reproducible and differ from the parent
        Rng parentA = new Rng(9), parentB = new Rng(9);
        Rng forkA = parentA.fork(), forkB = parentB.fork();
        long[] a = {forkA.nextLong(), forkA.nextLong(), forkA.nextLong()}, b = {forkB.nextLong(), forkB.nextLong(), forkB.nextLong()};
        assertArrayEquals(a, b, "forks of equally seeded generators must draw the same");
        assertNotEquals(a[0], parentA.nextLong(), "a fork must not repeat its parent's stream");
        for (int i = 0; i < 1000; i++) { int k = rng.nextInt(7); assertTrue(k >= 0 && k < 7); }
    }

    @Test void sumOfALargeTensorIsAccurate() {
        // 4M copies of 0.1f: one float running sum drifts by 4% (402740 for 419430); float partials over short
        // blocks added in double stay within a few ulps of the float result
        int n = 1 << 22;
        Tensor x = Tensor.full(0.1f, n);
        double exact = n * (double) 0.1f;
        assertEquals(exact, x.sum().item(), exact * 1e-5);
        assertEquals(0.1f, x.mean().item(), 1e-6);
        // also over a strided, reshaped view and over one dim
        Tensor m = Tensor.full(0.1f, 1024, 4096).transpose(0, 1);
        assertEquals(exact, m.sum().item(), exact * 1e-5);
        float[] rows = Tensor.full(0.1f, 2, 1 << 21).sum(1, false).toArray();
        assertEquals(exact / 2, rows[0], exact * 1e-5);
        assertEquals(exact / 2, rows[1], exact * 1e-5);
    }

    @Test void emptyTensorsWork() {
        // a size-0 dim (an empty split piece, an empty batch) must not divide by zero in the strided loops
        assertEquals(0, Tensor.zeros(2, 0).add(1f).numel());
        assertEquals(0, Tensor.zeros(0, 3).add(Tensor.ones(3)).numel());
        assertEquals(0f, Tensor.zeros(2, 0).sum().item());
        assertArrayEquals(new float[] {0, 0}, Tensor.zeros(2, 0).sum(1, false).toArray());
        assertArrayEquals(new float[] {1, 1, 1, 1}, Tensor.cat(1, Tensor.ones(2, 2), Tensor.zeros(2, 0)).toArray());
        assertEquals(0, Tensor.zeros(3, 0).transpose(0, 1).copy().numel());
        assertThrows(IllegalArgumentException.class, () -> Tensor.zeros(2, 0).max());
    }

    @Test void tiesInMaxShareTheGradientAndMaxPoolPicksTheFirst() {
        Tensor x = Tensor.of(new float[] {1, 3, 3}, 3).requiresGrad(true);
        x.max().backward();
        assertArrayEquals(new float[] {0, 0.5f, 0.5f}, x.grad().toArray());
        Tensor y = Tensor.of(new float[] {1, 3, 3, 0}, 1, 1, 2, 2).requiresGrad(true);
        y.maxPool2d(2, 2, 0).sum().backward();
        assertArrayEquals(new float[] {0, 1, 0, 0}, y.grad().toArray());
    }

    @Test void toStringShowsShapeAndGrad() {
        Tensor x = Tensor.ones(2).requiresGrad(true);
        assertTrue(x.toString().contains("[2]"), x.toString());
        assertTrue(x.mul(2f).toString().contains("scale"), x.mul(2f).toString());
    }

    /** cuda(-1) was taken and then blamed on the missing driver; parse already refused "cuda:-1". */
    @Test void aDeviceIndexBelowZeroIsRefusedWhereItIsMade() {
        assertEquals("device cuda:-1: a GPU's number counts from 0",
            assertThrows(IllegalArgumentException.class, () -> Device.cuda(-1)).getMessage());
        assertThrows(IllegalArgumentException.class, () -> new Device(Device.Kind.CPU, 1));
        assertEquals(Device.cuda(1), Device.parse("cuda:1"));
        assertThrows(IllegalArgumentException.class, () -> Device.parse("cuda:-1"));
    }
}
