package org.pulmo.data;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.stream.Stream;
import javax.imageio.IIOImage;
import javax.imageio.ImageIO;
import javax.imageio.ImageWriteParam;
import javax.imageio.ImageWriter;
import javax.imageio.stream.ImageOutputStream;

/**
 * Copies an image folder with every image made smaller, for carrying a data set where space is short (the GPU
 * machine takes 64 MiB with the code): the short side is scaled down to {@code shortSide} (the loaders' own
 * antialiased resize, {@link Transforms#resizeShortSide}; smaller images keep their size) and the picture is
 * re-encoded as a baseline 8-bit JPEG at {@code quality}, grey where its channels are equal, else RGB. File names
 * and folders stay, so {@code split.csv} and list files stay valid (the decoders choose the format by content, not by
 * extension); every other file is copied as it is, and so is an image that does not decode, with one line naming it
 * (the loaders report it as they would have). Training at {@code --image-size S} with S at most {@code shortSide}
 * then sees almost the same pictures: they are resized to S again on loading.
 *
 * <p>{@code java -cp examples/target/pulmo.jar org.pulmo.data.ShrinkDataset SRC DST [SHORT_SIDE=224] [QUALITY=0.85]}
 * (used by {@code scripts/gpu-data.sh}). DST must not exist yet.
 */
public final class ShrinkDataset {
    private ShrinkDataset() {}

    /** What a shrink did: images re-encoded, files copied as they were (including images that failed to decode), bytes before and after. */
    public record Result(int images, int copied, List<String> undecodable, long bytesBefore, long bytesAfter) {}

    public static void main(String[] args) throws IOException {
        if (args.length < 2) {
            System.err.println("usage: ShrinkDataset SRC DST [SHORT_SIDE=224] [QUALITY=0.85]");
            System.exit(2);
        }
        Path src = Path.of(args[0]), dst = Path.of(args[1]);
        int side = args.length > 2 ? Integer.parseInt(args[2]) : 224;
        float quality = args.length > 3 ? Float.parseFloat(args[3]) : 0.85f;
        try {
            Result r = shrink(src, dst, side, quality);
            for (String u : r.undecodable()) System.out.println("copied as it is (does not decode): " + u);
            System.out.printf(Locale.ROOT, "%s -> %s: %d images re-encoded (short side <= %d, JPEG quality %.2f), %d files copied; %.1f MB -> %.1f MB%n",
                src, dst, r.images(), side, quality, r.copied(), r.bytesBefore() / 1e6, r.bytesAfter() / 1e6);
        } catch (IllegalArgumentException | IOException e) {
            System.err.println("ShrinkDataset: " + e.getMessage());
            System.exit(1);
        }
    }

    public static Result shrink(Path src, Path dst, int shortSide, float quality) throws IOException {
        if (!Files.isDirectory(src)) throw new IllegalArgumentException("no folder " + src);
        if (Files.exists(dst)) throw new IllegalArgumentException(dst + " exists already (give a new folder)");
        if (shortSide < 1) throw new IllegalArgumentException("short side must be at least 1, got " + shortSide);
        if (!(quality > 0 && quality <= 1)) throw new IllegalArgumentException("quality must be in (0, 1], got " + quality);
        List<Path> files;
        try (Stream<Path> s = ImageFileDataset.walk(src)) { files = s.filter(Files::isRegularFile).sorted().toList(); }
        int images = 0, copied = 0;
        long before = 0, after = 0;
        List<String> undecodable = new ArrayList<>();
        Transform resize = Transforms.resizeShortSide(shortSide);
        for (Path f : files) {
            Path out = dst.resolve(src.relativize(f).toString());
            Files.createDirectories(out.getParent());
            before += Files.size(f);
            boolean done = false;
            if (ImageDecoder.hasImageExtension(f)) {
                try {
                    Image img = ImageDecoder.decode(f);
                    if (Math.min(img.height(), img.width()) > shortSide) img = resize.apply(img, null);
                    writeJpeg(img, out, quality);
                    images++;
                    done = true;
                } catch (ImageDecodeException e) {
                    undecodable.add(src.relativize(f).toString());
                }
            }
            if (!done) {
                Files.copy(f, out);
                copied++;
            }
            after += Files.size(out);
        }
        return new Result(images, copied, undecodable, before, after);
    }

    /** An 8-bit baseline JPEG of {@code img} ([1 or 3, H, W] in [0, 1]): grey when its channels are equal. */
    static void writeJpeg(Image img, Path file, float quality) throws IOException {
        BufferedImage out = img.toBufferedImage("a JPEG");
        ImageWriter writer = ImageIO.getImageWritersByFormatName("jpeg").next();
        try (OutputStream os = Files.newOutputStream(file); ImageOutputStream ios = ImageIO.createImageOutputStream(os)) {
            ImageWriteParam p = writer.getDefaultWriteParam();
            p.setCompressionMode(ImageWriteParam.MODE_EXPLICIT);
            p.setCompressionQuality(quality);
            writer.setOutput(ios);
            writer.write(null, new IIOImage(out, null, null), p);
        } finally {
            writer.dispose();
        }
    }
}
