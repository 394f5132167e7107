package org.pulmo.data;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

/** A shuffled batch's group ids are those of the images it holds, position by position. */
class BatchCarriesItsImagesGroupsTest {

    @Test void groupsFollowTheirImages() {
        Dataset d = new DemoChestDataset(48, 16, 1);   // 16 patients of three images
        try (DataLoader loader = new DataLoader(d, Transform.identity(), DataLoader.Options.training(8, 5).withWorkers(1))) {
            for (DataLoader.Batch b : DataLoaderTest.epoch(loader, 0))
                for (int k = 0; k < b.size(); k++) {
                    int i = b.indices()[k];
                    assertEquals(d.group(i), b.groups()[k], "batch " + b.number() + " position " + k + " (image " + i + ")");
                    assertEquals(d.label(i), b.labelArray()[k]);
                }
        }
    }
}
