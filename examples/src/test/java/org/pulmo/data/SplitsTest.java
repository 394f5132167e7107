package org.pulmo.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

class SplitsTest {

    static int[] indices(Dataset d) { return ((Dataset.Subset) d).indices(); }

    @Test void stratifiedKeepsClassRatiosAndIsSeeded() {
        DemoChestDataset d = new DemoChestDataset(400, 16, 1); // 100 per class
        Splits.Split s = Splits.stratified(d, 0.1, 0.2, 42);
        assertArrayEquals(new int[] {70, 70, 70, 70}, s.train().classCounts());
        assertArrayEquals(new int[] {10, 10, 10, 10}, s.val().classCounts());
        assertArrayEquals(new int[] {20, 20, 20, 20}, s.test().classCounts());
        Set<Integer> all = new HashSet<>();
        for (Dataset part : new Dataset[] {s.train(), s.val(), s.test()}) for (int i : indices(part)) assertTrue(all.add(i), "index " + i + " twice");
        assertEquals(400, all.size());
        assertArrayEquals(indices(s.test()), indices(Splits.stratified(d, 0.1, 0.2, 42).test()));
        assertFalse(java.util.Arrays.equals(indices(s.test()), indices(Splits.stratified(d, 0.1, 0.2, 43).test())));
        assertThrows(IllegalArgumentException.class, () -> Splits.stratified(d, 0.5, 0.5, 1));
    }

    @Test void byGroupNeverSplitsAPatient() {
        DemoChestDataset d = new DemoChestDataset(480, 16, 1); // 160 patients of 3 images, 40 per class
        Splits.Split s = Splits.byGroup(d, 0.25, 0.25, 7);
        Set<String> train = groups(s.train()), val = groups(s.val()), test = groups(s.test());
        assertEquals(80, train.size());
        assertEquals(40, val.size());
        assertEquals(40, test.size());
        for (String g : test) assertFalse(train.contains(g) || val.contains(g), g);
        for (String g : val) assertFalse(train.contains(g), g);
        assertArrayEquals(new int[] {30, 30, 30, 30}, s.test().classCounts()); // 10 patients x 3 images per class
        Dataset noGroups = ImageFileDatasetStub.of(4);
        assertThrows(DatasetException.class, () -> Splits.byGroup(noGroups, 0.25, 0.25, 1));
    }

    static Set<String> groups(Dataset d) {
        Set<String> g = new HashSet<>();
        for (int i = 0; i < d.size(); i++) g.add(d.group(i));
        return g;
    }

    /** A data set with labels only, no groups. */
    record ImageFileDatasetStub(int n) implements Dataset {
        static Dataset of(int n) { return new ImageFileDatasetStub(n); }
        @Override public java.util.List<String> classes() { return java.util.List.of("a", "b"); }
        @Override public int size() { return n; }
        @Override public int label(int index) { return index % 2; }
        @Override public Image image(int index) { return Image.zeros(3, 2, 2); }
        @Override public String source(int index) { return "stub " + index; }
    }
}
