package org.pulmo.tensor;

import java.util.Arrays;

/** Small helpers on shapes (int[] of sizes, outermost first) and strides (row-major by default). */
public final class Shapes {
    private Shapes() {}

    /** The element count of {@code shape}; a count beyond a long (65536^4 wrapped to 0 before) is refused. */
    public static long numel(int[] shape) {
        long n = 1;
        try {
            for (int s : shape) n = Math.multiplyExact(n, s);
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException("shape " + str(shape) + " has more elements than a long counts");
        }
        return n;
    }

    /** The most elements a CPU tensor's array holds (a Java array's limit, less the JVM's header margin). */
    public static final int MAX_ARRAY = Integer.MAX_VALUE - 16;

    /**
     * {@code numel} as a Java array length, or a clear error; {@code what} names the shape or tensor, asked for only when
     * the count does not fit (it is on the path of every CPU op).
     */
    public static int arrayLength(long numel, java.util.function.Supplier<String> what) {
        if (numel > MAX_ARRAY)
            throw new IllegalArgumentException("CPU tensors hold at most 2^31 elements; " + what.get() + " has " + numel);
        return (int) numel;
    }

    /** The element count of {@code shape} as a Java array length, or a clear error naming the shape. */
    public static int arrayLength(int[] shape) { return arrayLength(numel(shape), () -> "shape " + str(shape)); }

    public static int[] contiguousStrides(int[] shape) {
        int[] st = new int[shape.length];
        int s = 1;
        for (int i = shape.length - 1; i >= 0; i--) { st[i] = s; s *= Math.max(shape[i], 1); }
        return st;
    }

    public static String str(int[] shape) { return Arrays.toString(shape); }

    /** The largest index a float32 holds exactly (2^24): indices (argmax, gather's, a label) are float32 tensors here. */
    public static final int MAX_EXACT_INDEX = 1 << 24;

    /**
     * Refuses indexing along a dimension of {@code size} positions when its last index would not be exact as a float32
     * ({@code what}: the op and the dimension, for the message).
     */
    public static void checkIndexable(long size, String what) {
        if (size > MAX_EXACT_INDEX + 1L)
            throw new IllegalArgumentException(what + " has " + size + " positions, but indices are float32 tensors here, exact only up"
                + " to 2^24 = " + MAX_EXACT_INDEX + "; split that dimension first");
    }

    /** Normalises a possibly negative dimension index; names the op in the error. */
    public static int dim(int d, int rank, String op) {
        int r = d < 0 ? d + rank : d;
        if (r < 0 || r >= rank) throw new IllegalArgumentException(op + ": dimension " + d + " out of range for a tensor of rank " + rank);
        return r;
    }

    /** NumPy broadcasting: align trailing dims; sizes must match or be 1. */
    public static int[] broadcast(int[] a, int[] b, String op) {
        int r = Math.max(a.length, b.length);
        int[] out = new int[r];
        for (int i = 0; i < r; i++) {
            int da = i < r - a.length ? 1 : a[i - (r - a.length)];
            int db = i < r - b.length ? 1 : b[i - (r - b.length)];
            if (da != db && da != 1 && db != 1)
                throw new IllegalArgumentException(op + ": shapes " + str(a) + " and " + str(b) + " cannot be broadcast together");
            out[i] = da == 1 ? db : da;
        }
        return out;
    }

    /** Strides that read a tensor of {@code shape}/{@code strides} as if it had {@code target} shape (0 on broadcast dims). */
    public static int[] broadcastStrides(int[] shape, int[] strides, int[] target) {
        int off = target.length - shape.length;
        int[] st = new int[target.length];
        for (int i = 0; i < target.length; i++) {
            if (i < off) { st[i] = 0; continue; }
            st[i] = shape[i - off] == 1 && target[i] != 1 ? 0 : strides[i - off];
        }
        return st;
    }

    public static int[] concat(int[] a, int... b) {
        int[] r = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }
}
