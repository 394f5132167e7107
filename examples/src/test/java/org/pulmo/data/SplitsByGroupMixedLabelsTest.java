package org.pulmo.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Patient-level splits when a patient's images do not all carry one label (a follow-up film of another class): the
 * patient still lands in one part whole, stratified by the majority label, ties going to the lower label.
 */
class SplitsByGroupMixedLabelsTest {

    /** Images given by (group, label) pairs. */
    record Labelled(List<String> groups, List<Integer> labels) implements Dataset {
        @Override public List<String> classes() { return List.of("a", "b"); }
        @Override public int size() { return labels.size(); }
        @Override public int label(int index) { return labels.get(index); }
        @Override public String group(int index) { return groups.get(index); }
        @Override public Image image(int index) { return Image.zeros(3, 2, 2); }
        @Override public String source(int index) { return "image " + index + " of " + groups.get(index); }

        static Labelled of(Object... groupLabel) {
            List<String> g = new ArrayList<>();
            List<Integer> l = new ArrayList<>();
            for (int i = 0; i < groupLabel.length; i += 2) { g.add((String) groupLabel[i]); l.add((Integer) groupLabel[i + 1]); }
            return new Labelled(g, l);
        }
    }

    @Test void aPatientWithImagesOfTwoClassesStaysInOnePart() {
        List<String> g = new ArrayList<>();
        List<Integer> l = new ArrayList<>();
        for (int p = 0; p < 40; p++)   // every patient: two images of its class, one of the other
            for (int k = 0; k < 3; k++) { g.add("patient" + p); l.add(k < 2 ? p % 2 : 1 - p % 2); }
        Labelled d = new Labelled(g, l);
        for (long seed = 1; seed <= 5; seed++) {
            Splits.Split s = Splits.byGroup(d, 0.25, 0.25, seed);
            Map<String, String> partOf = new HashMap<>();
            int images = 0;
            for (var part : Map.of("train", s.train(), "val", s.val(), "test", s.test()).entrySet())
                for (int i = 0; i < part.getValue().size(); i++, images++) {
                    String before = partOf.put(part.getValue().group(i), part.getKey());
                    assertTrue(before == null || before.equals(part.getKey()),
                        "seed " + seed + ": " + part.getValue().group(i) + " is in " + before + " and in " + part.getKey());
                }
            assertEquals(120, images);
            assertEquals(40, partOf.size());
        }
    }

    /**
     * Groups a, b, c are class a, d class b, and t has one image of each: a tie, counted as class a (the lower label).
     * So class a has 4 groups (round(0.3 * 4) = 1 to test) and class b one (round(0.3 * 1) = 0): exactly one group goes
     * to test, and never d. (Counted as class b, t would make round(0.3 * 3) = 1 and round(0.3 * 2) = 1: two groups.)
     */
    @Test void aTieGoesToTheLowerLabel() {
        Labelled d = Labelled.of("a", 0, "b", 0, "c", 0, "d", 1, "t", 0, "t", 1);
        for (long seed = 1; seed <= 10; seed++) {
            Dataset test = Splits.byGroup(d, 0, 0.3, seed).test();
            List<String> groups = new ArrayList<>();
            for (int i = 0; i < test.size(); i++) if (!groups.contains(test.group(i))) groups.add(test.group(i));
            assertEquals(1, groups.size(), "seed " + seed + ": test groups " + groups);
            assertFalse(groups.contains("d"), "seed " + seed + ": class b's only group cannot go to test");
        }
    }
}
