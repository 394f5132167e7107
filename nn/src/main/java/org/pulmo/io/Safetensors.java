package org.pulmo.io;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.function.Predicate;
import java.util.zip.CRC32C;
import org.pulmo.nn.Module;
import org.pulmo.nn.StateDictException;
import org.pulmo.tensor.HostArrays;
import org.pulmo.tensor.Shapes;
import org.pulmo.tensor.Tensor;

/**
 * The safetensors format (huggingface/safetensors), which PyTorch, timm and Hugging Face read and write:
 * <pre>
 *   8 bytes   N, unsigned little-endian: length of the header
 *   N bytes   UTF-8 JSON: {"name": {"dtype": "F32", "shape": [..], "data_offsets": [begin, end]}, ...,
 *                          "__metadata__": {"key": "value", ...}}   (padded with spaces to a multiple of 8)
 *   rest      the tensors' bytes, row-major, little-endian; offsets count from the start of this part
 * </pre>
 * Pulmo writes F32, and I64 where a caller asks (PyTorch's num_batches_tracked); it reads F32, F64, F16, BF16
 * and the integer types and converts them to float32. Reading validates everything (header length, JSON,
 * dtypes, shapes, offsets inside the file, no overlaps, no missing or trailing bytes) before any tensor is
 * returned; every problem is a {@link SafetensorsException} naming the file.
 *
 * <p>Integrity: Pulmo records a CRC32C of every tensor's bytes in the metadata ({@value #DIGEST_KEY}: one
 * 8-hex-digit digest per tensor, in data-offset order) and checks it on reading, so a flipped bit or a
 * truncated copy is caught and the error names the first tensor that differs. CRC32C, not SHA-256: the digest
 * guards against accidents (bad disks, partial copies, editing), not tampering, and the JDK computes it with the
 * CPU's CRC instructions at several GB/s, about 0.05 s for a 160 MB checkpoint, where SHA-256 takes several
 * times longer. Files without the key (older Pulmo, PyTorch) are read unchecked. The key is not returned in
 * {@link Contents#metadata()}.
 */
public final class Safetensors {
    private Safetensors() {}

    /** The spec's cap on the header (100 MB); a larger length means a corrupt or foreign file. */
    public static final long MAX_HEADER_BYTES = 100L * 1024 * 1024;

    /** The metadata key of the per-tensor CRC32C digests. */
    public static final String DIGEST_KEY = "pulmo.crc32c";

    /** Tensors in file order and the "__metadata__" strings. */
    public record Contents(Map<String, Tensor> tensors, Map<String, String> metadata) {}

    private record Dtype(String name, int bytes) {}

    private static final Map<String, Dtype> DTYPES = Map.ofEntries(
        Map.entry("F32", new Dtype("F32", 4)), Map.entry("F64", new Dtype("F64", 8)),
        Map.entry("F16", new Dtype("F16", 2)), Map.entry("BF16", new Dtype("BF16", 2)),
        Map.entry("I64", new Dtype("I64", 8)), Map.entry("I32", new Dtype("I32", 4)),
        Map.entry("I16", new Dtype("I16", 2)), Map.entry("I8", new Dtype("I8", 1)),
        Map.entry("U8", new Dtype("U8", 1)), Map.entry("BOOL", new Dtype("BOOL", 1)));

    // ------------------------------------------------------------------ writing

    /** The whole file as bytes: header then float32 data, tensors in map order, with their digests. */
    public static byte[] encode(Map<String, Tensor> tensors, Map<String, String> metadata) {
        return encode(tensors, metadata, false);
    }

    /** A tensor holds NaN or an infinity where the caller asked for finite values only. */
    static final class NonFiniteException extends IllegalArgumentException {
        NonFiniteException(String message) { super(message); }
    }

    /** "tensor NAME holds NaN at index I" for the first value of {@code v} that is not finite, or null when all are. */
    public static String firstNonFinite(String tensor, float[] v) {
        for (int i = 0; i < v.length; i++) if (!Float.isFinite(v[i])) return "tensor " + tensor + " holds " + v[i] + " at index " + i;
        return null;
    }

    /**
     * As {@link #encode(Map, Map)}; with {@code finiteOnly} a NaN or infinite value anywhere is a
     * {@link NonFiniteException} naming the tensor and the index of the first one.
     */
    static byte[] encode(Map<String, Tensor> tensors, Map<String, String> metadata, boolean finiteOnly) {
        return encode(tensors, metadata, finiteOnly, name -> false);
    }

    /**
     * As {@link #encode(Map, Map)}, but the tensors {@code int64} accepts are written as I64 (their values
     * rounded), as PyTorch stores BatchNorm's {@code num_batches_tracked}; the rest as F32.
     */
    public static byte[] encode(Map<String, Tensor> tensors, Map<String, String> metadata, Predicate<String> int64) {
        return encode(tensors, metadata, false, int64);
    }

    private static byte[] encode(Map<String, Tensor> tensors, Map<String, String> metadata, boolean finiteOnly, Predicate<String> int64) {
        List<Boolean> wide = new ArrayList<>(); // I64 (8 bytes) rather than F32 (4)
        List<int[]> shapes = new ArrayList<>();
        if (metadata != null)
            for (var e : metadata.entrySet()) { notUnicode("metadata key", e.getKey()); notUnicode("metadata value of " + e.getKey(), e.getValue()); }
        for (var e : tensors.entrySet()) {
            if (e.getKey().equals("__metadata__")) throw new IllegalArgumentException("a tensor may not be named __metadata__");
            notUnicode("tensor name", e.getKey());
            shapes.add(e.getValue().shape());
            wide.add(int64.test(e.getKey()));
        }
        // The digests come after the data is laid out, but their text has a fixed width (8 hex digits each), so
        // the header is built once with zeros to size the file and again, same length, with the real values.
        String[] digests = new String[tensors.size()];
        Arrays.fill(digests, "00000000");
        byte[] header = header(tensors.keySet(), shapes, wide, metadata, digests);
        int padded = (header.length + 7) / 8 * 8; // keep the data 8-byte aligned, as the reference writer does
        long dataBytes = 0;
        for (int t = 0; t < shapes.size(); t++) dataBytes += (wide.get(t) ? 8L : 4L) * Shapes.numel(shapes.get(t));
        long total = 8L + padded + dataBytes;
        if (total > Integer.MAX_VALUE - 16) throw new IllegalArgumentException("safetensors: " + total + " bytes is more than one array holds");
        // the file's bytes are the one whole copy: each tensor is read into it and its own copy dropped before the next
        // (a DPN-92-SE checkpoint, weights and momentum, is 318 MB: twice that would not fit a 1 GB heap beside the model)
        ByteBuffer buf = HostArrays.withRoom(() -> ByteBuffer.allocate((int) total)).order(ByteOrder.LITTLE_ENDIAN);
        buf.position(8 + padded);
        CRC32C crc = new CRC32C();
        int t = 0;
        for (var e : tensors.entrySet()) {
            float[] v = e.getValue().toArray();
            String nonFinite = finiteOnly ? firstNonFinite(e.getKey(), v) : null;
            if (nonFinite != null) throw new NonFiniteException(nonFinite);
            int begin = buf.position();
            if (wide.get(t)) for (float x : v) buf.putLong(Math.round((double) x));
            else buf.asFloatBuffer().put(v);
            buf.position(begin + (wide.get(t) ? 8 : 4) * v.length);
            crc.reset();
            crc.update(buf.array(), begin, buf.position() - begin);
            digests[t++] = hex8(crc.getValue());
        }
        byte[] finalHeader = header(tensors.keySet(), shapes, wide, metadata, digests);
        if (finalHeader.length != header.length) throw new AssertionError("digest text changed the header length");
        buf.position(0);
        buf.putLong(padded);
        buf.put(finalHeader);
        for (int i = finalHeader.length; i < padded; i++) buf.put((byte) ' ');
        return buf.array();
    }

    /**
     * Refuses a text holding half of a UTF-16 surrogate pair: UTF-8 cannot encode it, and Java would write '?' in its
     * place, so the file would name a tensor the model does not have (or hold a metadata value other than the one given).
     */
    private static void notUnicode(String what, String text) {
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (Character.isHighSurrogate(c) && i + 1 < text.length() && Character.isLowSurrogate(text.charAt(i + 1))) i++;
            else if (Character.isSurrogate(c))
                throw new IllegalArgumentException("safetensors: the " + what + " \"" + Json.ascii(text) + "\" is not Unicode text (half of a"
                    + " surrogate pair at index " + i + "), which UTF-8 cannot hold");
        }
    }

    /** The JSON header: metadata (with the digests, in data order) first, then the tensors in map order. */
    private static byte[] header(Iterable<String> names, List<int[]> shapes, List<Boolean> wide,
                                 Map<String, String> metadata, String[] digests) {
        Map<String, String> meta = new LinkedHashMap<>();
        if (metadata != null) meta.putAll(metadata);
        meta.put(DIGEST_KEY, String.join(",", digests));
        StringBuilder h = new StringBuilder("{\"__metadata__\":{");
        boolean f = true;
        for (var e : meta.entrySet()) {
            if (!f) h.append(',');
            f = false;
            h.append(Json.quote(e.getKey())).append(':').append(Json.quote(e.getValue()));
        }
        h.append('}');
        long offset = 0;
        int t = 0;
        for (String name : names) {
            h.append(',').append(Json.quote(name)).append(":{\"dtype\":\"").append(wide.get(t) ? "I64" : "F32").append("\",\"shape\":[");
            int[] shape = shapes.get(t);
            for (int i = 0; i < shape.length; i++) h.append(i == 0 ? "" : ",").append(shape[i]);
            long end = offset + (wide.get(t) ? 8L : 4L) * Shapes.numel(shape);
            h.append("],\"data_offsets\":[").append(offset).append(',').append(end).append("]}");
            offset = end;
            t++;
        }
        return h.append('}').toString().getBytes(StandardCharsets.UTF_8);
    }

    private static String hex8(long crc) { return java.util.HexFormat.of().toHexDigits((int) crc); }

    /** Writes tensors (as F32) and metadata to {@code file} atomically. */
    public static void write(Path file, Map<String, Tensor> tensors, Map<String, String> metadata) throws IOException {
        AtomicFiles.write(file, encode(tensors, metadata));
    }

    /** A module's state dict, names as they are (PyTorch's names when the module uses them). */
    public static void save(Path file, Module module, Map<String, String> metadata) throws IOException {
        write(file, module.stateDict(), metadata);
    }

    // ------------------------------------------------------------------ reading

    /** Reads and checks a whole file (header, layout and, where recorded, the digests). */
    public static Contents read(Path file) throws IOException {
        String name = file.toString();
        long size = size(file);
        byte[] header = readHeader(file, size); // a bogus header length is refused before the file is read whole
        if (size > Integer.MAX_VALUE - 16)
            throw new SafetensorsException(name, "file of " + size + " bytes is larger than Pulmo reads in one piece (2 GB)");
        // the file mapped, not read into the heap: only the tensors' own arrays are made there (a 318 MB checkpoint read
        // whole, beside the model it loads into, did not fit a 1 GB heap), and the digests are computed from the mapping
        java.nio.MappedByteBuffer all;
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            all = ch.map(FileChannel.MapMode.READ_ONLY, 0, size);
        }
        try {
            return decode(header, all, name, size);
        } catch (InternalError e) {   // how Java reports a read past the end of a mapped file that shrank (SIGBUS)
            throw new SafetensorsException(name, "the file changed while it was read (truncated by another program?): " + e.getMessage());
        }
    }

    /**
     * The metadata alone, reading only the header: the header and the tensors' layout are checked against the
     * file's size, the data and its digests are not (that is {@link #read}'s work).
     */
    public static Map<String, String> readMetadata(Path file) throws IOException {
        long size = size(file);
        byte[] header = readHeader(file, size);
        return decode(header, null, file.toString(), size).metadata();
    }

    private static long size(Path file) throws IOException {
        if (!Files.isRegularFile(file))
            throw new SafetensorsException(file.toString(), Files.isDirectory(file) ? "a folder, not a checkpoint file (e.g. " + file.resolve("best.safetensors") + ")"
                : "no such file");
        return Files.size(file);
    }

    /** The first 8 + N bytes of the file: the length field and the header it announces, after checking N. */
    private static byte[] readHeader(Path file, long size) throws IOException {
        String name = file.toString();
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ)) {
            ByteBuffer len = ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN);
            while (len.hasRemaining() && ch.read(len) >= 0) {}
            long n = headerLength(len.array(), len.position(), size, name);
            ByteBuffer all = ByteBuffer.allocate((int) (8 + n));
            all.put(len.flip());
            while (all.hasRemaining()) if (ch.read(all) < 0) throw new SafetensorsException(name, "truncated while reading the header");
            return all.array();
        }
    }

    /** N from the first 8 bytes, checked against the cap and against the {@code size} bytes of the file. */
    private static long headerLength(byte[] first, int available, long size, String name) throws SafetensorsException {
        if (available < 8) throw new SafetensorsException(name, "truncated: " + size + " bytes, fewer than the 8-byte header length");
        long n = ByteBuffer.wrap(first, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        if (n < 2 || n > MAX_HEADER_BYTES)
            throw new SafetensorsException(name, "not a safetensors file: header length " + Long.toUnsignedString(n)
                + " is outside [2, " + MAX_HEADER_BYTES + "]");
        if (n > size - 8)
            throw new SafetensorsException(name, "truncated: header length " + n + " but only " + (size - 8) + " bytes follow");
        return n;
    }

    /** Parses a whole file's bytes; {@code name} is used in error messages. */
    public static Contents decode(byte[] bytes, String name) throws SafetensorsException {
        return decode(bytes, ByteBuffer.wrap(bytes), name, bytes.length);
    }

    /**
     * A file of {@code size} bytes: {@code bytes} holds its length field and header (and may hold more); {@code file} the
     * whole file, or null for the metadata alone, the layout then checked against the size only.
     */
    private static Contents decode(byte[] bytes, ByteBuffer file, String name, long size) throws SafetensorsException {
        long n = headerLength(bytes, bytes.length, size, name);
        long dataSize = size - 8 - n;
        if (bytes[8] != '{') throw new SafetensorsException(name, "not a safetensors file: header does not start with '{'");
        String json;
        try {
            json = StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes, 8, (int) n)).toString();
        } catch (CharacterCodingException e) {
            throw new SafetensorsException(name, "corrupt header: not valid UTF-8");
        }
        Object root;
        try {
            root = Json.parse(json);
        } catch (Json.JsonException e) {
            throw new SafetensorsException(name, "corrupt header: invalid JSON: " + e.getMessage());
        }
        if (!(root instanceof Map<?, ?> entries)) throw new SafetensorsException(name, "corrupt header: not a JSON object");
        long dataStart = 8 + n;

        Map<String, String> metadata = new LinkedHashMap<>();
        record Entry(String name, Dtype dtype, int[] shape, long begin, long end) {}
        List<Entry> list = new ArrayList<>();
        for (var e : entries.entrySet()) {
            String key = (String) e.getKey();
            if (key.equals("__metadata__")) {
                if (!(e.getValue() instanceof Map<?, ?> meta)) throw new SafetensorsException(name, "corrupt header: __metadata__ is not an object");
                for (var m : meta.entrySet()) {
                    if (!(m.getValue() instanceof String v))
                        throw new SafetensorsException(name, "corrupt header: metadata value of '" + m.getKey() + "' is not a string");
                    metadata.put((String) m.getKey(), v);
                }
                continue;
            }
            String where = "tensor '" + key + "'";
            if (!(e.getValue() instanceof Map<?, ?> info)) throw new SafetensorsException(name, "corrupt header: " + where + " is not an object");
            if (!(info.get("dtype") instanceof String dt)) throw new SafetensorsException(name, "corrupt header: " + where + " has no dtype string");
            Dtype dtype = DTYPES.get(dt);
            if (dtype == null) throw new SafetensorsException(name, where + " has dtype " + dt + ", which Pulmo does not read (it reads " + new java.util.TreeSet<>(DTYPES.keySet()) + ")");
            if (!(info.get("shape") instanceof List<?> shapeList)) throw new SafetensorsException(name, "corrupt header: " + where + " has no shape array");
            if (shapeList.size() > 8) throw new SafetensorsException(name, "corrupt header: " + where + " has rank " + shapeList.size() + " (more than 8)");
            int[] shape = new int[shapeList.size()];
            long numel = 1;
            for (int i = 0; i < shape.length; i++) {
                if (!(shapeList.get(i) instanceof Long d) || d < 0 || d > Integer.MAX_VALUE)
                    throw new SafetensorsException(name, "corrupt header: " + where + " has an invalid size " + shapeList.get(i) + " in its shape");
                shape[i] = (int) (long) d;
                numel *= d; // both factors < 2^31: no overflow; bounded again on the next line
                if (numel > Integer.MAX_VALUE - 16L)
                    throw new SafetensorsException(name, where + " with shape " + shapeList + " has more elements than Pulmo holds in one tensor");
            }
            if (!(info.get("data_offsets") instanceof List<?> offs) || offs.size() != 2
                || !(offs.get(0) instanceof Long begin) || !(offs.get(1) instanceof Long end))
                throw new SafetensorsException(name, "corrupt header: " + where + " needs data_offsets [begin, end] of integers");
            if (begin < 0 || end < begin)
                throw new SafetensorsException(name, "corrupt header: " + where + " has invalid data_offsets [" + begin + ", " + end + "]");
            if (end > dataSize)
                throw new SafetensorsException(name, "truncated: " + where + " ends at data byte " + end + " but the file has only " + dataSize + " data bytes");
            if (end - begin != numel * dtype.bytes())
                throw new SafetensorsException(name, "corrupt header: " + where + " of shape " + Arrays.toString(shape) + " and dtype " + dt
                    + " needs " + numel * dtype.bytes() + " bytes but data_offsets span " + (end - begin));
            if (info.size() != 3)
                throw new SafetensorsException(name, "corrupt header: " + where + " has fields other than dtype, shape and data_offsets: " + info.keySet());
            list.add(new Entry(key, dtype, shape, begin, end));
        }
        // the tensors must tile the data part: sorted by offset, each starts where the last ended (an empty
        // tensor sorts before a non-empty one at the same offset, whatever the header's order)
        List<Entry> sorted = new ArrayList<>(list);
        sorted.sort((a, b) -> a.begin() != b.begin() ? Long.compare(a.begin(), b.begin()) : Long.compare(a.end(), b.end()));
        long at = 0;
        for (Entry en : sorted) {
            if (en.begin() != at)
                throw new SafetensorsException(name, "corrupt header: tensor '" + en.name() + "' starts at data byte " + en.begin()
                    + (en.begin() < at ? ", overlapping the tensor before it" : ", leaving a gap") + " (expected " + at + ")");
            at = en.end();
        }
        if (at != dataSize)
            throw new SafetensorsException(name, "corrupt: " + (dataSize - at) + " bytes after the last tensor (header describes " + at
                + " data bytes, file has " + dataSize + ")");

        String recorded = metadata.remove(DIGEST_KEY);
        if (file == null) return new Contents(Map.of(), metadata);
        if (recorded != null) {
            String[] digests = recorded.isEmpty() ? new String[0] : recorded.split(",", -1);
            if (digests.length != sorted.size())
                throw new SafetensorsException(name, "corrupt header: " + digests.length + " recorded digests for " + sorted.size() + " tensors");
            CRC32C crc = new CRC32C();
            for (int t = 0; t < digests.length; t++) {
                Entry en = sorted.get(t);
                crc.reset();
                crc.update(file.slice((int) (dataStart + en.begin()), (int) (en.end() - en.begin())));
                if (!digests[t].equals(hex8(crc.getValue())))
                    throw new SafetensorsException(name, "tensor data does not match its recorded digest (first at tensor '" + en.name()
                        + "'): the file is corrupt (truncated or modified)");
            }
        }

        Map<String, Tensor> tensors = new LinkedHashMap<>();
        for (Entry en : list) {
            ByteBuffer b = file.slice((int) (dataStart + en.begin()), (int) (en.end() - en.begin())).order(ByteOrder.LITTLE_ENDIAN);
            float[] v = new float[(int) ((en.end() - en.begin()) / en.dtype().bytes())];
            if (en.dtype().name().equals("F32")) b.asFloatBuffer().get(v);
            else for (int i = 0; i < v.length; i++) {
                v[i] = switch (en.dtype().name()) {
                    case "F32" -> b.getFloat();
                    case "F64" -> (float) b.getDouble();
                    case "F16" -> Float.float16ToFloat(b.getShort());
                    case "BF16" -> Float.intBitsToFloat((b.getShort() & 0xffff) << 16);
                    case "I64" -> (float) b.getLong();
                    case "I32" -> (float) b.getInt();
                    case "I16" -> (float) b.getShort();
                    case "I8" -> (float) b.get();
                    case "U8", "BOOL" -> (float) (b.get() & 0xff);
                    default -> throw new AssertionError(en.dtype());
                };
            }
            tensors.put(en.name(), Tensor.of(v, en.shape()));
        }
        return new Contents(tensors, metadata);
    }

    // ------------------------------------------------------------------ into a module

    /**
     * Loads a file's tensors into a module after renaming them with {@code nameMap} (file name -> module
     * name; return null to skip a tensor, e.g. a classifier head being replaced). Strict: every module entry
     * must be provided and every kept file tensor must be used, shapes equal; a mismatch lists every problem
     * and loads nothing. Without strict, returns the names that were missing and unused.
     */
    public static Module.LoadResult load(Path file, Module module, Function<String, String> nameMap, boolean strict) throws IOException {
        Contents c = read(file);
        Map<String, Tensor> renamed = new LinkedHashMap<>();
        for (var e : c.tensors().entrySet()) {
            String to = nameMap.apply(e.getKey());
            if (to == null) continue;
            if (renamed.put(to, e.getValue()) != null)
                throw new SafetensorsException(file.toString(), "the name map sends two tensors to '" + to + "'");
        }
        try {
            return module.loadStateDict(renamed, strict);
        } catch (StateDictException e) {
            throw new SafetensorsException(file.toString(), e.getMessage(), e);
        }
    }

    public static void load(Path file, Module module) throws IOException { load(file, module, Function.identity(), true); }
}
