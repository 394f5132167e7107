package org.pulmo.data;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

/**
 * Which images a part of a data set holds, in a line a checkpoint can keep: "820 images, sha256 3f1c0a9be2d47781",
 * the digest of the sorted lines "file\tclass" with each file relative to the data folder. The same images with the
 * same classes give the same digest wherever the folder has moved; another split, another folder or a changed folder
 * gives another. {@code pulmo train --resume} compares them with the first run's, {@code pulmo evaluate} with the
 * checkpoint's, so that neither can go on, unawares, with images the model was not trained or tested on as it was.
 */
public final class PartDigest {
    private PartDigest() {}

    /** The part's line: its image count and the digest of its members. */
    public static String of(Dataset part, Path root) {
        List<String> lines = new ArrayList<>(members(part, root));
        java.util.Collections.sort(lines);
        try {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            for (String l : lines) sha.update((l + "\n").getBytes(StandardCharsets.UTF_8));
            return part.size() + (part.size() == 1 ? " image" : " images") + ", sha256 " + HexFormat.of().formatHex(sha.digest(), 0, 8);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every Java platform", e);
        }
    }

    /** The part's members as "file\tclass", the file relative to {@code root} (null: as the data set names it) with '/' between names. */
    public static Set<String> members(Dataset part, Path root) {
        Path base = root == null ? null : root.toAbsolutePath().normalize();
        Set<String> out = new LinkedHashSet<>();
        for (int i = 0; i < part.size(); i++) out.add(relative(part.source(i), base) + "\t" + part.classes().get(part.label(i)));
        return out;
    }

    /** The part's files alone, relative to {@code root} as in {@link #members}. */
    public static Set<String> files(Dataset part, Path root) {
        Path base = root == null ? null : root.toAbsolutePath().normalize();
        Set<String> out = new LinkedHashSet<>();
        for (int i = 0; i < part.size(); i++) out.add(relative(part.source(i), base));
        return out;
    }

    /** An image's file relative to the data folder {@code base} (absolute, normalised; null: as the data set names it), '/' between names. */
    public static String relative(String source, Path base) {
        if (base == null) return source;
        Path p;
        try {
            p = Path.of(source).toAbsolutePath().normalize();
        } catch (RuntimeException e) {   // not a path (the demo set's names)
            return source;
        }
        if (!p.getRoot().equals(base.getRoot())) return source;
        List<String> names = new ArrayList<>();   // "../img/x.png" for a split.csv path outside the folder: moves with the tree
        for (Path n : base.relativize(p)) names.add(n.toString());
        return String.join("/", names);
    }
}
