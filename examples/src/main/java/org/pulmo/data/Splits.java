package org.pulmo.data;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.pulmo.tensor.Rng;

/**
 * Seeded train/validation/test splits of a data set.
 * <ul>
 *   <li>{@link #stratified}: per class, the images are shuffled and cut, so each part keeps the class ratio;</li>
 *   <li>{@link #byGroup}: whole groups (patients) go to one part, so no patient's images are on both sides;
 *       groups are stratified by their majority label.</li>
 * </ul>
 * Per class (in class order) one generator {@code new Rng(seed)} shuffles, then the first
 * {@code round(test * n)} go to test, the next {@code round(val * n)} to validation, the rest to train.
 * Indices inside each part are ascending; the same seed gives the same parts.
 */
public final class Splits {
    private Splits() {}

    /** The three parts; {@code val} or {@code test} may be empty. */
    public record Split(Dataset train, Dataset val, Dataset test) {}

    public static Split stratified(Dataset data, double valFraction, double testFraction, long seed) {
        checkFractions(valFraction, testFraction);
        List<List<Integer>> units = new ArrayList<>();
        for (int i = 0; i < data.size(); i++) units.add(List.of(i));
        return cut(data, units, unitLabels(data, units), valFraction, testFraction, seed);
    }

    /**
     * A split in which all images of a group land in the same part. Every image needs a group id
     * ({@link ImageFileDataset#withGroups}).
     */
    public static Split byGroup(Dataset data, double valFraction, double testFraction, long seed) {
        checkFractions(valFraction, testFraction);
        Map<String, List<Integer>> groups = new LinkedHashMap<>();
        for (int i = 0; i < data.size(); i++) {
            String g = data.group(i);
            if (g == null) throw new DatasetException(data.source(i) + " has no group id; a group-level split needs one for every image");
            groups.computeIfAbsent(g, k -> new ArrayList<>()).add(i);
        }
        List<String> names = new ArrayList<>(groups.keySet());
        names.sort(null); // independent of file order
        List<List<Integer>> units = new ArrayList<>();
        for (String g : names) units.add(groups.get(g));
        return cut(data, units, unitLabels(data, units), valFraction, testFraction, seed);
    }

    private static void checkFractions(double val, double test) {
        if (!(val >= 0 && test >= 0 && val + test < 1))
            throw new IllegalArgumentException("validation and test fractions must be >= 0 and sum to < 1, got " + val + " and " + test);
    }

    /** Majority label of each unit (ties: the lower label). */
    private static int[] unitLabels(Dataset data, List<List<Integer>> units) {
        int[] out = new int[units.size()];
        for (int u = 0; u < units.size(); u++) {
            int[] votes = new int[data.numClasses()];
            for (int i : units.get(u)) votes[data.label(i)]++;
            int best = 0;
            for (int k = 1; k < votes.length; k++) if (votes[k] > votes[best]) best = k;
            out[u] = best;
        }
        return out;
    }

    private static Split cut(Dataset data, List<List<Integer>> units, int[] unitLabel, double val, double test, long seed) {
        Rng rng = new Rng(seed);
        List<Integer> trainIdx = new ArrayList<>(), valIdx = new ArrayList<>(), testIdx = new ArrayList<>();
        for (int k = 0; k < data.numClasses(); k++) {
            List<Integer> members = new ArrayList<>();
            for (int u = 0; u < units.size(); u++) if (unitLabel[u] == k) members.add(u);
            for (int i = members.size() - 1; i > 0; i--) { // Fisher-Yates
                int j = rng.nextInt(i + 1);
                Integer t = members.get(i); members.set(i, members.get(j)); members.set(j, t);
            }
            int n = members.size(), nTest = (int) Math.round(test * n), nVal = (int) Math.round(val * n);
            if (nTest + nVal > n) nVal = n - nTest;
            for (int m = 0; m < n; m++) {
                List<Integer> part = m < nTest ? testIdx : m < nTest + nVal ? valIdx : trainIdx;
                part.addAll(units.get(members.get(m)));
            }
        }
        return new Split(sub(data, trainIdx), sub(data, valIdx), sub(data, testIdx));
    }

    private static Dataset sub(Dataset data, List<Integer> idx) {
        int[] a = idx.stream().mapToInt(Integer::intValue).toArray();
        Arrays.sort(a);
        return data.subset(a);
    }
}
