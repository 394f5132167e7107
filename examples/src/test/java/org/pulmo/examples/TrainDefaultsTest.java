package org.pulmo.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * What {@code pulmo train} takes for the options left out: seed 42 (docs/REPRODUCTION.md's runs leave --seed out and
 * mean 42), MA-Net's adaptive loss, running statistics from the main path and a constant attention map in backward (the
 * settings docs/FIDELITY.md argues for), and the paper's numbers where --epochs, --lr, ... are not given.
 */
class TrainDefaultsTest {

    @Test void optionsLeftOutTakeTheDocumentedDefaults() {
        TrainCommand t = new TrainCommand();
        new CommandLine(t).parseArgs();
        assertEquals(42L, t.seed);
        assertEquals("dpn92-se", t.model);
        assertEquals("adaptive", t.maNetLoss);
        assertEquals("main", t.maNetBnStats);
        assertEquals("constant", t.maNetAttentionGrad);
        assertEquals(0, t.workers);
        assertNull(t.epochs, "the model's paper decides");
        assertNull(t.lr, "the model's paper decides (the demo data its own)");
    }
}
