package org.pulmo.data;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.pulmo.tensor.Rng;

/**
 * MA-Net's pairing (Zheng et al. 2022, Sec. 3.2 and 4.1): for each training sample, a mutex sample drawn uniformly at
 * random from all training samples of any other class. Departure: the paper says only that the pairs of opposite-class
 * images are "randomly selected"; one partner per image per epoch, uniform over the other classes, is our reading
 * (docs/FIDELITY.md). Seeded; {@link #state()} and {@link #setState} let a
 * checkpoint resume the same sequence of pairs.
 */
public final class MutexPairSampler {
    private final int[] labels;
    private final Map<Integer, int[]> byClass = new TreeMap<>(); // class -> indices of its samples
    private final Rng rng;

    /** labels[i] is the class of training sample i; at least two classes must be present. */
    public MutexPairSampler(int[] labels, long seed) {
        this.labels = labels.clone();
        Map<Integer, List<Integer>> lists = new TreeMap<>();
        for (int i = 0; i < labels.length; i++) lists.computeIfAbsent(labels[i], k -> new ArrayList<>()).add(i);
        if (lists.size() < 2) throw new IllegalArgumentException("MutexPairSampler needs samples of at least two classes, got " + lists.keySet());
        for (var e : lists.entrySet()) byClass.put(e.getKey(), e.getValue().stream().mapToInt(Integer::intValue).toArray());
        this.rng = new Rng(seed);
    }

    /** A random sample index whose class differs from sample {@code index}'s, uniform over all such samples. */
    public int mutexOf(int index) {
        int own = labels[index];
        int r = rng.nextInt(labels.length - byClass.get(own).length);
        for (var e : byClass.entrySet()) {
            if (e.getKey() == own) continue;
            int[] idx = e.getValue();
            if (r < idx.length) return idx[r];
            r -= idx.length;
        }
        throw new AssertionError("unreachable");
    }

    /** The mutex partner of each sample of a batch. */
    public int[] mutexFor(int[] batch) {
        int[] out = new int[batch.length];
        for (int i = 0; i < batch.length; i++) out[i] = mutexOf(batch[i]);
        return out;
    }

    public int label(int index) { return labels[index]; }

    public long[] state() { return rng.getState(); }

    public void setState(long[] state) { rng.setState(state); }
}
