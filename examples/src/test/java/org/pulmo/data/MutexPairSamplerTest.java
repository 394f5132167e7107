package org.pulmo.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class MutexPairSamplerTest {
    static final int[] LABELS = {0, 0, 1, 2, 1, 0, 3, 2, 2, 0};

    @Test void partnerIsAlwaysOfAnotherClassAndEveryCandidateIsDrawn() {
        MutexPairSampler s = new MutexPairSampler(LABELS, 5);
        int[] seen = new int[LABELS.length];
        for (int it = 0; it < 4000; it++) {
            int i = it % LABELS.length, j = s.mutexOf(i);
            assertNotEquals(LABELS[i], LABELS[j]);
            if (i == 0) seen[j]++;
        }
        // sample 0 (class 0) has 6 candidates of other classes, drawn uniformly: ~400/6 each
        for (int j = 0; j < LABELS.length; j++)
            if (LABELS[j] != 0) assertTrue(seen[j] > 30 && seen[j] < 110, "candidate " + j + " drawn " + seen[j] + " times");
            else assertTrue(seen[j] == 0);
    }

    @Test void seededAndResumable() {
        int[] batch = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9};
        MutexPairSampler a = new MutexPairSampler(LABELS, 9), b = new MutexPairSampler(LABELS, 9);
        assertArrayEquals(a.mutexFor(batch), b.mutexFor(batch));
        long[] state = a.state();
        int[] next = a.mutexFor(batch);
        b.setState(state);
        assertArrayEquals(next, b.mutexFor(batch));
    }

    @Test void needsTwoClasses() {
        assertThrows(IllegalArgumentException.class, () -> new MutexPairSampler(new int[] {1, 1, 1}, 0));
    }
}
