package org.pulmo.data;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Finds images that are in two parts of a split (train and test, train and validation, validation and test),
 * which inflates every validation and test number. Two files count as one image when
 * <ul>
 *   <li>they are the same file: the same real path, symbolic links resolved (a {@code test/covid} that links
 *       to {@code train/covid}); one {@code stat} per file;</li>
 *   <li>their bytes are identical (a copy under another name). Only files whose size equals a file's size in
 *       another part are read and hashed (SHA-256), so the check reads almost nothing for compressed images
 *       (JPEG, PNG), whose sizes rarely coincide; when such candidates add up to more than
 *       {@link #HASH_BUDGET_BYTES} (uncompressed images of one size), the content check is skipped and
 *       {@link Report#contentChecked} says so.</li>
 * </ul>
 * The same relative name in two parts ({@code train/covid/1.png}, {@code test/covid/1.png}) is not enough: data
 * sets number their images per folder.
 */
public final class Leakage {
    private Leakage() {}

    /** Bytes of same-size candidates the content check may read. */
    public static final long HASH_BUDGET_BYTES = 256L << 20;

    /** One image in two parts. */
    public record Pair(String partA, Path a, String partB, Path b, boolean sameFile) {
        @Override public String toString() {
            return a + " (" + partA + ") and " + b + " (" + partB + ")" + (sameFile ? " are the same file" : " have identical bytes");
        }
    }

    /** The pairs found, and whether file contents were compared (false: only real paths were). */
    public record Report(List<Pair> pairs, boolean contentChecked) {}

    /** {@code parts}: part name to its image files, in order; a part may be empty. */
    public static Report find(Map<String, List<Path>> parts) {
        record File(String part, Path path, Path real, long size) {}
        List<File> files = new ArrayList<>();
        for (Map.Entry<String, List<Path>> p : parts.entrySet())
            for (Path f : p.getValue()) {
                long size;
                try {
                    size = Files.size(f);
                } catch (IOException e) {
                    size = -1;  // unreadable: reported when it is decoded
                }
                files.add(new File(p.getKey(), f, ImageFileDataset.sameFile(f), size));
            }
        List<Pair> pairs = new ArrayList<>();
        // The same file in two parts.
        Map<Path, File> byReal = new LinkedHashMap<>();
        for (File f : files) {
            File before = byReal.putIfAbsent(f.real, f);
            if (before != null && !before.part.equals(f.part)) pairs.add(new Pair(before.part, before.path, f.part, f.path, true));
        }
        // Identical bytes in two parts: group by size, hash only sizes seen in more than one part. Empty files hold no
        // picture (they are unreadable, reported when decoded), so two of them are no leak.
        Map<Long, List<File>> bySize = new LinkedHashMap<>();
        for (File f : byReal.values()) if (f.size > 0) bySize.computeIfAbsent(f.size, k -> new ArrayList<>()).add(f);
        List<File> candidates = new ArrayList<>();
        long bytes = 0;
        for (List<File> same : bySize.values())
            if (same.stream().map(File::part).distinct().count() > 1) {
                candidates.addAll(same);
                bytes += same.getFirst().size * same.size();
            }
        if (bytes > HASH_BUDGET_BYTES) return new Report(pairs, false);
        Map<String, File> byHash = new HashMap<>();
        for (File f : candidates) {
            String h = sha256(f.path);
            if (h == null) continue;
            File before = byHash.putIfAbsent(f.size + ":" + h, f);
            if (before != null && !before.part.equals(f.part)) pairs.add(new Pair(before.part, before.path, f.part, f.path, false));
        }
        return new Report(pairs, true);
    }

    private static String sha256(Path f) {
        try (InputStream in = Files.newInputStream(f)) {
            MessageDigest md = MessageDigest.getInstance("SHA-256");
            byte[] buf = new byte[1 << 16];
            for (int n; (n = in.read(buf)) > 0; ) md.update(buf, 0, n);
            return HexFormat.of().formatHex(md.digest());
        } catch (IOException e) {
            return null;  // unreadable: reported when it is decoded
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
