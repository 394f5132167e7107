package org.pulmo.models;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/**
 * What the registry builds by default for each paper: the DPN-SENet paper's four classes (COVID-19, normal, bacterial,
 * viral), MA-Net's two (COVID-19, non-COVID) with the paper's configuration (MAB and FAB on, adaptive loss), and the
 * ImageNet comparison nets' 1000.
 */
class RegistryDefaultsTest {

    @Test void defaultClassCountsAreThePapers() {
        for (String name : ModelRegistry.names()) {
            int expected = name.startsWith("dpn92-se") ? 4 : name.startsWith("manet-") ? 2 : 1000;
            assertEquals(expected, ModelRegistry.entry(name).defaultClasses(), name);
        }
    }

    @Test void registeredMaNetsUseTheDefaultOptions() {
        for (String name : new String[] {"manet-resnet50", "manet-densenet169"}) {
            MaNet m = (MaNet) ModelRegistry.create(name, 2, 224, 0L);
            assertEquals(MaNet.Options.DEFAULT, m.options, name);
            assertEquals(2, ((Backbone) m.backbone()).numClasses(), name);
        }
    }
}
