package org.pulmo.data;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DemoChestDatasetTest {

    static Image demoImage(int size) { return new DemoChestDataset(4, size, 1).image(1); }

    @Test void imagesAreSeededGreyInRangeAndBalanced() {
        DemoChestDataset d = new DemoChestDataset(16, 32, 5);
        Image a = d.image(3);
        assertEquals(3, a.channels());
        assertEquals(32, a.height());
        int plane = 32 * 32;
        for (int i = 0; i < plane; i++) {
            assertTrue(a.pixels()[i] >= 0 && a.pixels()[i] <= 1);
            assertEquals(a.pixels()[i], a.pixels()[plane + i]);
        }
        assertArrayEquals(a.pixels(), new DemoChestDataset(16, 32, 5).image(3).pixels());
        assertFalse(Arrays.equals(a.pixels(), new DemoChestDataset(16, 32, 6).image(3).pixels()));
        assertFalse(Arrays.equals(d.image(3).pixels(), d.image(7).pixels())); // same class, different picture
        assertArrayEquals(new int[] {4, 4, 4, 4}, d.classCounts());
        assertEquals(d.group(0), d.group(4));
        assertFalse(d.group(0).equals(d.group(1)));
        assertTrue(d.hasGroups());
    }

    /** The lesions make the classes differ in mean lung brightness as described: consolidation brightest. */
    @Test void classesShowTheirPatterns() {
        DemoChestDataset d = new DemoChestDataset(400, 32, 11);
        double[] mean = new double[4];
        for (int i = 0; i < d.size(); i++) {
            float s = 0;
            for (float v : d.image(i).grey().pixels()) s += v;
            mean[d.label(i)] += s / (32 * 32) / 100;
        }
        assertTrue(mean[1] > mean[0] + 0.005 && mean[2] > mean[0] + 0.005 && mean[3] > mean[0] + 0.005, Arrays.toString(mean));
    }

    @Test void writesAnImageFolderThatReadsBack(@TempDir Path dir) throws IOException {
        DemoChestDataset d = new DemoChestDataset(8, 24, 2);
        assertEquals(8, d.writeTo(dir));
        ImageFileDataset back = ImageFileDataset.folder(dir, DemoChestDataset.CLASSES);
        assertEquals(8, back.size());
        for (int i = 0; i < back.size(); i++) {
            String name = back.path(i).getFileName().toString();
            int index = Integer.parseInt(name.substring(name.indexOf('_') + 1, name.indexOf('.')));
            assertEquals(d.label(index), back.label(i));
            assertArrayEquals(d.image(index).pixels(), back.image(i).pixels(), 0.5f / 255 + 1e-6f); // 8-bit rounding
        }
    }
}
