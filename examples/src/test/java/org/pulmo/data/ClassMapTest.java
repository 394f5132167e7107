package org.pulmo.data;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Labels are put onto a checkpoint's classes by name, with --class-map for other names; never by position. */
class ClassMapTest {
    static final List<String> CHECKPOINT = List.of("bacterial", "covid", "normal", "viral");

    /** One image per class, labels 0..n-1, named after the class. */
    static Dataset data(String... classes) {
        List<ImageFileDataset.Entry> e = new ArrayList<>();
        for (int k = 0; k < classes.length; k++) e.add(new ImageFileDataset.Entry(Path.of(classes[k] + "/1.png"), k, null));
        return new ImageFileDataset(List.of(classes), e, null);
    }

    static List<String> labelNames(Dataset d) {
        List<String> out = new ArrayList<>();
        for (int i = 0; i < d.size(); i++) out.add(d.classes().get(d.label(i)));
        return out;
    }

    @Test void differentNamesAreAnErrorNamingBothLists() {
        DatasetException e = assertThrows(DatasetException.class, () -> ClassMap.onto(data("covid", "normal", "pneumonia_bac", "pneumonia_vir"),
            "the test part of x", CHECKPOINT, "the checkpoint c", Map.of()));
        String m = e.getMessage();
        assertTrue(m.contains("[covid, normal, pneumonia_bac, pneumonia_vir]") && m.contains("[bacterial, covid, normal, viral]")
            && m.contains("'pneumonia_bac', 'pneumonia_vir' are not among them") && m.contains("--class-map"), m);
    }

    @Test void aClassMapRenamesAndLabelsFollowNames() {
        Dataset d = ClassMap.onto(data("covid", "normal", "pneumonia_bac", "pneumonia_vir"), "x", CHECKPOINT, "c",
            ClassMap.parse("pneumonia_bac=bacterial, pneumonia_vir=viral"));
        assertEquals(CHECKPOINT, d.classes());
        // Image i is in data folder i; by name: covid, normal, bacterial, viral (by position it would be bacterial, covid, normal, viral).
        assertEquals(List.of("covid", "normal", "bacterial", "viral"), labelNames(d));
        assertEquals("pneumonia_bac/1.png", d.source(2));
    }

    @Test void aSubsetOfTheClassesMapsByName() {
        Dataset d = ClassMap.onto(data("normal", "viral"), "x", CHECKPOINT, "c", Map.of());
        assertEquals(List.of("normal", "viral"), labelNames(d));
        assertEquals(List.of("bacterial", "covid"), ClassMap.missing(d));
        Dataset same = data("bacterial", "covid", "normal", "viral");
        assertSame(same, ClassMap.onto(same, "x", CHECKPOINT, "c", Map.of()));
    }

    @Test void badMapsAreErrors() {
        for (String bad : List.of("pneumonia_bac", "=viral", "a=", "a=b=c"))
            assertTrue(assertThrows(IllegalArgumentException.class, () -> ClassMap.parse(bad)).getMessage().contains("DATA_CLASS=CHECKPOINT_CLASS"), bad);
        assertTrue(assertThrows(IllegalArgumentException.class, () -> ClassMap.parse("a=covid,a=normal")).getMessage().contains("'a' twice"));
        DatasetException typo = assertThrows(DatasetException.class, () -> ClassMap.onto(data("covid", "pneumonia_bac"), "x", CHECKPOINT, "c",
            ClassMap.parse("pneumonia_bak=bacterial")));
        assertTrue(typo.getMessage().contains("'pneumonia_bak' is not a class of x [covid, pneumonia_bac]"), typo.getMessage());
        DatasetException target = assertThrows(DatasetException.class, () -> ClassMap.onto(data("covid", "pneumonia_bac"), "x", CHECKPOINT, "c",
            ClassMap.parse("pneumonia_bac=bacteria")));
        assertTrue(target.getMessage().contains("'bacteria' is not a class of c [bacterial, covid, normal, viral]"), target.getMessage());
    }

    @Test void classesPutOntoOneAreSaid() {
        assertEquals(java.util.List.of("Note: --class-map puts 'covid', 'noncovid' all onto 'normal': their images count as one class"),
            ClassMap.merged(ClassMap.parse("covid=normal, noncovid=normal, viral=viral")));
        assertTrue(ClassMap.merged(ClassMap.parse("a=x,b=y")).isEmpty());
    }
}
