package org.pulmo.backend.cpu;

import jdk.incubator.vector.DoubleVector;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorShuffle;
import jdk.incubator.vector.VectorSpecies;

/**
 * The sum of a vector's lanes in one fixed order: {@link #sum} is a butterfly that adds lane i to lane i ^ h for
 * h = L/2, ..., 2, 1 and returns lane 0; {@link #sumInLaneOrder} adds lane after lane in double (MAB's long
 * softmax sums). {@code reduceLanes(ADD)} promises no order, and the interpreter, C1 and C2 do add in
 * different orders, so a sum could change in its last bits once the JIT compiles the caller: the same
 * training step gave different weights early and late in a run. With explicit operations every compiler
 * computes the same thing.
 */
final class Lanes {
    private Lanes() {}

    private static final VectorSpecies<Float> F = FloatVector.SPECIES_PREFERRED;
    /**
     * The double vectors of the CPU backend's double sums: the machine's own width (8 lanes with AVX-512, 4 with AVX2),
     * at least 2 lanes. A fixed width above the machine's would not be compiled to vector instructions at all: each
     * operation would run as a Java loop over an array, some hundred times slower.
     */
    static final VectorSpecies<Double> D = DoubleVector.SPECIES_PREFERRED.length() >= 2 ? DoubleVector.SPECIES_PREFERRED : DoubleVector.SPECIES_128;
    private static final VectorShuffle<Float>[] F_SWAPS = swaps(F);
    private static final VectorShuffle<Double>[] D_SWAPS = swaps(D);

    @SuppressWarnings("unchecked")
    private static <E> VectorShuffle<E>[] swaps(VectorSpecies<E> species) {
        int n = Integer.numberOfTrailingZeros(species.length());
        VectorShuffle<E>[] out = new VectorShuffle[n];
        for (int k = 0, h = species.length() / 2; h >= 1; k++, h /= 2) {
            int step = h;
            out[k] = VectorShuffle.fromOp(species, i -> i ^ step);
        }
        return out;
    }

    static float sum(FloatVector v) {
        for (VectorShuffle<Float> s : F_SWAPS) v = v.add(v.rearrange(s));
        return v.lane(0);
    }

    /**
     * As the float sum; its last step (h = 1) adds lanes 0 and 1 as scalars, since a two-lane shuffle of doubles is not
     * compiled everywhere (x86 with 128-bit vectors).
     */
    static double sum(DoubleVector v) {
        for (int k = 0; k < D_SWAPS.length - 1; k++) v = v.add(v.rearrange(D_SWAPS[k]));
        return v.lane(0) + v.lane(1);
    }

    /** The lanes of v added one after another in lane order, in double; scratch holds one vector's floats. */
    static double sumInLaneOrder(FloatVector v, float[] scratch) {
        v.intoArray(scratch, 0);
        double s = 0;
        for (int l = 0; l < scratch.length; l++) s += scratch[l];
        return s;
    }
}
