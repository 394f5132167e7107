package org.pulmo.train;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;
import org.pulmo.data.Augmentation;
import org.pulmo.optim.LrSchedule;

/** The papers' training defaults and the schedules the CLI builds from their names. */
class ModelsDefaultsTest {

    /** MA-Net (Zheng et al. 2022, Sec. 4.1): 120 epochs, batch 16, lr 0.01, momentum 0.9, resized, not augmented. */
    @Test void maNetTrainsAsItsPaperSays() {
        Models.Defaults d = Models.defaults("manet-resnet50");
        assertEquals(120, d.epochs());
        assertEquals(16, d.batchSize());
        assertEquals(0.01f, d.lr());
        assertEquals(0.9f, d.momentum());
        assertEquals(Augmentation.RESIZE, d.augmentation());
    }

    /** DPN-SENet and the comparison networks: the paper's 100 epochs and its augmentation. */
    @Test void dpnTrainsAsItsPaperSays() {
        Models.Defaults d = Models.defaults("dpn92-se");
        assertEquals(100, d.epochs());
        assertEquals(Augmentation.DPN_SENET, d.augmentation());
    }

    /**
     * "cosine" over the run's 10 epochs: lr(e) = 0.1 (1 + cos(pi e / 10)) / 2, so the base rate at epoch 0, half of it
     * half-way (epoch 5), and 0.1 (1 + cos(0.9 pi)) / 2 = 0.00245 in the last epoch.
     */
    @Test void cosineSpansTheRunsEpochs() {
        LrSchedule s = Models.schedule("cosine", 0.1, 10);
        assertEquals(0.1, s.lr(0), 1e-12);
        assertEquals(0.05, s.lr(5), 1e-12);
        assertEquals(0.1 * (1 + Math.cos(0.9 * Math.PI)) / 2, s.lr(9), 1e-12);
    }
}
