package org.pulmo.data;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.awt.image.BufferedImage;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** Premultiplied colour samples are divided by alpha, so a half-transparent pixel keeps its colour, not half of it. */
class PremultipliedAlphaTest {

    @Test void premultipliedSamplesAreUnpremultiplied() throws ImageDecodeException {
        BufferedImage img = new BufferedImage(2, 1, BufferedImage.TYPE_INT_ARGB_PRE);
        img.setRGB(0, 0, 0xFF_FF_80_00);   // opaque orange
        img.setRGB(1, 0, 0x80_FF_80_00);   // the same orange, half transparent: stored as about (128, 64, 0)
        Image im = ImageDecoder.toImage(img, Path.of("pre.png"));
        for (int x = 0; x < 2; x++) {
            assertEquals(1f, im.get(0, 0, x), 0.01f, "red at " + x);
            assertEquals(0x80 / 255f, im.get(1, 0, x), 0.01f, "green at " + x);
            assertEquals(0f, im.get(2, 0, x), 0.01f, "blue at " + x);
        }
    }
}
