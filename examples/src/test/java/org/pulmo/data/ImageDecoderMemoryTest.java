package org.pulmo.data;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Iterator;
import java.util.Locale;
import javax.imageio.IIOException;
import javax.imageio.ImageIO;
import javax.imageio.ImageReadParam;
import javax.imageio.ImageReader;
import javax.imageio.ImageTypeSpecifier;
import javax.imageio.metadata.IIOMetadata;
import javax.imageio.spi.IIORegistry;
import javax.imageio.spi.ImageReaderSpi;
import org.junit.jupiter.api.Test;

/**
 * The JDK's PNG reader catches every Throwable and rethrows it as IIOException("Caught exception during read"),
 * so a heap too small for a large film reached the decoder as an IOException and was reported (and skipped by the
 * loader) as "corrupt or truncated data". A stand-in BMP reader that fails the same way shows the decoder now
 * passes the OutOfMemoryError on, naming the file and its size.
 */
class ImageDecoderMemoryTest {

    /** Reads nothing: every read fails as the JDK's PNG reader does when the heap runs out. */
    static final class OutOfMemoryReaderSpi extends ImageReaderSpi {
        OutOfMemoryReaderSpi() {
            super("test", "1", new String[] {"bmp"}, new String[] {"bmp"}, new String[] {"image/bmp"}, OutOfMemoryReader.class.getName(),
                new Class<?>[] {javax.imageio.stream.ImageInputStream.class}, null, false, null, null, null, null, false, null, null, null, null);
        }
        @Override public boolean canDecodeInput(Object source) { return true; }
        @Override public ImageReader createReaderInstance(Object extension) { return new OutOfMemoryReader(this); }
        @Override public String getDescription(Locale locale) { return "test reader that runs out of memory"; }
    }

    static final class OutOfMemoryReader extends ImageReader {
        OutOfMemoryReader(ImageReaderSpi spi) { super(spi); }
        @Override public int getNumImages(boolean allowSearch) { return 1; }
        @Override public int getWidth(int i) { return 9000; }   // within ImageDecoder.MAX_PIXELS: the decoder reads it
        @Override public int getHeight(int i) { return 9000; }
        @Override public Iterator<ImageTypeSpecifier> getImageTypes(int i) { return java.util.Collections.emptyIterator(); }
        @Override public IIOMetadata getStreamMetadata() { return null; }
        @Override public IIOMetadata getImageMetadata(int i) { return null; }
        @Override public java.awt.image.BufferedImage read(int i, ImageReadParam p) throws IOException {
            throw new IIOException("Caught exception during read: ", new OutOfMemoryError("Java heap space"));
        }
    }

    @Test void outOfMemoryIsNotACorruptImage() {
        IIORegistry registry = IIORegistry.getDefaultInstance();
        ImageReaderSpi fake = new OutOfMemoryReaderSpi();
        registry.registerServiceProvider(fake, ImageReaderSpi.class);
        try {
            for (Iterator<ImageReader> it = ImageIO.getImageReadersByFormatName("bmp"); it.hasNext(); ) {
                ImageReaderSpi other = it.next().getOriginatingProvider();
                if (other != fake) registry.setOrdering(ImageReaderSpi.class, fake, other);
            }
            byte[] bmp = {'B', 'M', 0, 0, 0, 0};
            OutOfMemoryError e = assertThrows(OutOfMemoryError.class, () -> ImageDecoder.decode(bmp, Path.of("film.bmp")));
            assertEquals("decoding film.bmp (9000x9000 pixels): Java heap space", e.getMessage());
        } finally {
            registry.deregisterServiceProvider(fake, ImageReaderSpi.class);
        }
    }
}
