package org.pulmo.backend.cpu;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * The sum of a vector's lanes, stored by the caller, in one fixed order: {@link #sum} is a butterfly that adds lane i
 * to lane i + h for h = L/2, ..., 2, 1 and returns lane 0; {@link #sumInLaneOrder} adds lane after lane in double
 * (MAB's long softmax sums). {@code reduceLanes(ADD)} promises no order, and the interpreter, C1 and C2 do add in
 * different orders, so a sum could change in its last bits once the JIT compiles the caller: the same
 * training step gave different weights early and late in a run. With explicit operations every compiler
 * computes the same thing.
 */
final class Lanes {
    private Lanes() {}

    /**
     * The double vectors of the CPU backend's double sums: the machine's own width (8 lanes with AVX-512, 4 with AVX2),
     * at least 2 lanes. A fixed width above the machine's would not be compiled to vector instructions at all: each
     * operation would run as a Java loop over an array, some hundred times slower.
     */
    static final VectorSpecies<Double> D = DoubleVector.SPECIES_PREFERRED.length() >= 2 ? DoubleVector.SPECIES_PREFERRED : DoubleVector.SPECIES_128;

    /**
     * The {@code lanes} floats at a[at ..], a vector's lanes that the caller stored there, added in the butterfly order
     * (a[at + i] + a[at + i + h] for h = lanes/2, ..., 1; a[at ..] is overwritten): the bits a vector butterfly of
     * shuffles and adds gives. Scalar code on purpose: a method of ours that takes a vector is compiled into its caller
     * only where C2 finds the call site hot enough (or the caller small enough), and elsewhere every vector passed to it
     * is allocated and each operation inside runs as a Java loop, hundreds of times slower, for as long as the program
     * runs. So the callers store the vector (the Vector API's own methods are always compiled in) and call this.
     */
    static float sum(float[] a, int at, int lanes) {
        for (int h = lanes / 2; h >= 1; h /= 2)
            for (int i = 0; i < h; i++) a[at + i] += a[at + i + h];
        return a[at];
    }

    /** As the float sum, for a double vector's lanes stored at a[at ..] (a[at ..] overwritten). */
    static double sum(double[] a, int at, int lanes) {
        for (int h = lanes / 2; h >= 1; h /= 2)
            for (int i = 0; i < h; i++) a[at + i] += a[at + i + h];
        return a[at];
    }

    /** Runs of {@code lanes} floats stored one after another at a[0 ..]: out[k] = the sum of run k, for k < count. */
    static void sums(float[] a, int count, int lanes, float[] out) {
        for (int k = 0; k < count; k++) out[k] = sum(a, k * lanes, lanes);
    }

    /** The lanes of a vector stored in a[0 .. a.length) added one after another in lane order, in double. */
    static double sumInLaneOrder(float[] a) {
        double s = 0;
        for (float v : a) s += v;
        return s;
    }
}
