package org.pulmo.data;

import org.pulmo.tensor.Rng;

/**
 * One step of image preprocessing or augmentation: {@code Image -> Image}, drawing any randomness from the
 * given generator only. The loader hands each sample a generator seeded from (seed, epoch, sample index)
 * ({@link #sampleRng}), so an augmented image does not depend on which thread made it or when.
 */
@FunctionalInterface
public interface Transform {

    Image apply(Image image, Rng rng);

    /** This step, then {@code next}. */
    default Transform then(Transform next) {
        Transform first = this;
        return (img, rng) -> next.apply(first.apply(img, rng), rng);
    }

    static Transform identity() { return (img, rng) -> img; }

    static Transform compose(Transform... steps) {
        Transform t = identity();
        for (Transform s : steps) t = t.then(s);
        return t;
    }

    /** The generator for sample {@code index} in epoch {@code epoch} of a run seeded {@code seed}. */
    static Rng sampleRng(long seed, int epoch, int index) {
        // Three rounds of the SplitMix64 finaliser over the inputs: nearby (epoch, index) pairs give unrelated streams.
        long h = mix(seed ^ 0x5DEECE66DL);
        h = mix(h ^ (epoch * 0x9E3779B97F4A7C15L));
        h = mix(h ^ (index * 0xC2B2AE3D27D4EB4FL));
        return new Rng(h);
    }

    private static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xBF58476D1CE4E5B9L;
        z = (z ^ (z >>> 27)) * 0x94D049BB133111EBL;
        return z ^ (z >>> 31);
    }
}
