package org.pulmo.data;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Only the short side decides whether ShrinkDataset resizes: a picture whose short side is already small keeps its size. */
class ShrinkKeepsSmallShortSideTest {

    @Test void aLongButNarrowPictureIsNotEnlarged(@TempDir Path dir) throws IOException {
        Path src = Files.createDirectories(dir.resolve("set/covid")).getParent(), dst = dir.resolve("small");
        Image wide = Image.zeros(3, 150, 300);   // long side above 224, short side below
        for (int i = 0; i < wide.pixels().length; i++) wide.pixels()[i] = (i % 300) / 300f;
        wide.writePng(src.resolve("covid/wide.png"));
        ShrinkDataset.shrink(src, dst, 224, 0.85f);
        Image out = ImageDecoder.decode(dst.resolve("covid/wide.png"));
        assertEquals(150, out.height());
        assertEquals(300, out.width());
    }
}
