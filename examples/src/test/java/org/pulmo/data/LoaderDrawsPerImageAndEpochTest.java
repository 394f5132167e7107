package org.pulmo.data;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/**
 * Each image is augmented from {@code Transform.sampleRng(seed, epoch, index)}, as the loader promises: so an image is
 * augmented anew every epoch, and each image of a batch on draws of its own.
 */
class LoaderDrawsPerImageAndEpochTest {

    @Test void everyImageDrawsFromItsOwnSeedEpochAndIndex() {
        Dataset d = new DemoChestDataset(12, 16, 1);
        Transform draw = (image, rng) -> new Image(1, 1, 1, new float[] {rng.nextFloat()});   // paints its first draw
        try (DataLoader loader = new DataLoader(d, draw, DataLoader.Options.training(4, 7).withWorkers(2))) {
            for (int epoch = 0; epoch < 3; epoch++) {
                int seen = 0;
                for (DataLoader.Batch b : DataLoaderTest.epoch(loader, epoch)) {
                    float[] x = b.images().toArray();
                    for (int k = 0; k < b.size(); k++, seen++) {
                        int i = b.indices()[k];
                        assertEquals(Transform.sampleRng(7, epoch, i).nextFloat(), x[k], "image " + i + " in epoch " + epoch);
                    }
                }
                assertEquals(12, seen);
            }
        }
    }
}
