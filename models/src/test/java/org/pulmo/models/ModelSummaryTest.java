package org.pulmo.models;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Map;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.pulmo.models.ModelSummary.Row;

class ModelSummaryTest {

    static Map<String, Row> byName(ModelSummary.Summary s) { return s.rows().stream().collect(Collectors.toMap(Row::name, r -> r)); }

    @Test void resnet18LayersByHand() {
        var s = ModelSummary.of("resnet18", 1000, 64);
        Map<String, Row> rows = byName(s);
        Row conv1 = rows.get("conv1");                           // 7x7/2, 3 -> 64, 64 -> 32
        assertArrayEquals(new int[] {1, 64, 32, 32}, conv1.outputShape());
        assertEquals(64 * 3 * 49, conv1.params());
        assertEquals(64L * 32 * 32 * 3 * 49, conv1.macs());
        Row down = rows.get("layer2.0.downsample.0");              // 1x1/2, 64 -> 128, 16 -> 8
        assertArrayEquals(new int[] {1, 128, 8, 8}, down.outputShape());
        assertEquals(128L * 8 * 8 * 64, down.macs());
        Row fc = rows.get("fc");
        assertArrayEquals(new int[] {1, 1000}, fc.outputShape());
        assertEquals(512 * 1000 + 1000, fc.params());
        assertEquals(512L * 1000, fc.macs());
        Row bn = rows.get("layer4.1.bn2");
        assertArrayEquals(new int[] {1, 512, 2, 2}, bn.outputShape());
        assertEquals(0, bn.macs());
        assertEquals(11_689_512, s.totalParams());
        assertEquals(11_689_512, s.rows().stream().mapToLong(Row::params).sum());
        assertEquals(s.totalMacs(), s.rows().stream().mapToLong(Row::macs).sum());
        String text = s.format();
        assertTrue(text.lines().anyMatch(l -> l.equals("Total parameters: 11689512")), text);
        // the same text in a German locale (decimal comma, full stop between thousands): the table is read by scripts
        java.util.Locale before = java.util.Locale.getDefault();
        try {
            java.util.Locale.setDefault(java.util.Locale.GERMANY);
            assertEquals(text, s.format());
        } finally {
            java.util.Locale.setDefault(before);
        }
        assertTrue(text.contains("(11.69 M)"), text);
    }

    @Test void resnet50MacsEqualTorchvisionsPublishedFigure() {
        // torchvision lists ResNet-50 at 4.09 "GFLOPS" (multiply-accumulates of convs and the fc, 224 x 224)
        var s = ModelSummary.of("resnet50", 1000, 224);
        assertEquals(4_089_184_256L, s.totalMacs());
        assertArrayEquals(new int[] {1, 2048, 7, 7}, byName(s).get("layer4.2.bn3").outputShape());
    }

    @Test void groupedConvCountsCinOverGroups() {
        var s = ModelSummary.of("dpn92", 1000, 64);
        Row c3 = byName(s).get("features.conv2_1.c3x3_b.conv");   // 96 -> 96, groups 32, 3x3, 16 x 16
        assertArrayEquals(new int[] {1, 96, 16, 16}, c3.outputShape());
        assertEquals(96L * 16 * 16 * 3 * 9, c3.macs());
        Row cls = byName(s).get("classifier");                      // 1x1 conv with bias, 2688 -> 1000
        assertArrayEquals(new int[] {1, 1000, 1, 1}, cls.outputShape());
        assertEquals(2688L * 1000, cls.macs());
        assertEquals(37_668_392, s.totalParams());
    }

    @Test void manetSummaryCoversBothPathsAndTheFabs() {
        var s = ModelSummary.of("manet-resnet50", 2, 64);
        Map<String, Row> rows = byName(s);
        assertEquals(30_152_286, s.totalParams());
        Row conv1 = rows.get("backbone.conv1");
        assertEquals(2 * 64L * 32 * 32 * 3 * 49, conv1.macs());     // both images of the pair
        Row fc1 = rows.get("fab.4.fc1");
        assertNotNull(fc1.outputShape());
        assertEquals(2048L * 2048, fc1.macs());
    }

    @Test void inceptionAuxHeadIsListedWithoutShapeInEvaluation() {
        var s = ModelSummary.of("inception-v3", 1000, 75);
        Row aux = byName(s).get("AuxLogits.fc");
        assertEquals(null, aux.outputShape());
        assertEquals(27_161_264, s.totalParams());
        assertArrayEquals(new int[] {1, 1000}, byName(s).get("fc").outputShape());
    }
}
