package org.pulmo.io;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pulmo.nn.BatchNorm2d;
import org.pulmo.nn.Conv2d;
import org.pulmo.nn.Sequential;
import org.pulmo.tensor.Rng;
import org.pulmo.tensor.Tensor;

class SafetensorsTest {
    @TempDir Path dir;

    private static Map<String, Tensor> sample() {
        Map<String, Tensor> m = new LinkedHashMap<>();
        m.put("layer1.0.conv1.weight", Tensor.randn(new Rng(1), 2, 3, 3, 3));
        m.put("bn.num_batches_tracked", Tensor.scalar(7f));
        m.put("empty", Tensor.zeros(0, 4));
        m.put("名前 \"quoted\"\n", Tensor.of(new float[] {-0f, Float.MIN_VALUE, Float.MAX_VALUE, 1.5f}, 4));
        return m;
    }

    private static void assertSameTensors(Map<String, Tensor> a, Map<String, Tensor> b) {
        assertEquals(List.copyOf(a.keySet()), List.copyOf(b.keySet()));
        for (var e : a.entrySet()) {
            assertArrayEquals(e.getValue().shape(), b.get(e.getKey()).shape(), e.getKey());
            float[] x = e.getValue().toArray(), y = b.get(e.getKey()).toArray();
            for (int i = 0; i < x.length; i++) assertEquals(Float.floatToRawIntBits(x[i]), Float.floatToRawIntBits(y[i]), e.getKey());
        }
    }

    @Test void roundTripsBitForBitWithMetadata() throws IOException {
        Path f = dir.resolve("w.safetensors");
        Map<String, String> meta = Map.of("epoch", "3", "note", "tab\there \\ \"q\" ü");
        Safetensors.write(f, sample(), meta);
        Safetensors.Contents c = Safetensors.read(f);
        assertSameTensors(sample(), c.tensors());
        assertEquals(meta, c.metadata());
        try (var s = Files.list(dir)) { assertEquals(1, s.count(), "no temporary file left behind"); }
    }

    @Test void layoutIsTheSafetensorsFormat() {
        byte[] b = Safetensors.encode(Map.of("x", Tensor.of(new float[] {1f, 2f}, 2)), Map.of());
        ByteBuffer buf = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        long n = buf.getLong();
        assertEquals(0, n % 8, "header padded to 8 bytes");
        String header = new String(b, 8, (int) n, StandardCharsets.UTF_8).strip();
        String crc = String.format("%08x", crcOf(1f, 2f));
        assertEquals("{\"__metadata__\":{\"pulmo.crc32c\":\"" + crc + "\"},\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}}", header);
        buf.position(8 + (int) n);
        assertEquals(1f, buf.getFloat());
        assertEquals(2f, buf.getFloat());
        assertFalse(buf.hasRemaining());
    }

    private static long crcOf(float... v) {
        ByteBuffer b = ByteBuffer.allocate(4 * v.length).order(ByteOrder.LITTLE_ENDIAN);
        for (float x : v) b.putFloat(x);
        java.util.zip.CRC32C c = new java.util.zip.CRC32C();
        c.update(b.array());
        return c.getValue();
    }

    @Test void everyTensorsDigestIsCheckedAndFilesWithoutDigestsStillLoad() throws IOException {
        byte[] good = Safetensors.encode(sample(), Map.of("k", "v"));
        int dataStart = 8 + (int) ByteBuffer.wrap(good).order(ByteOrder.LITTLE_ENDIAN).getLong();
        assertFalse(Safetensors.decode(good, "good").metadata().containsKey(Safetensors.DIGEST_KEY), "the digest is not caller metadata");
        // a flipped bit in the last tensor's data (a finite float either way) names that tensor
        byte[] flipped = good.clone();
        flipped[good.length - 2] ^= 0x10;
        assertTrue(errorOf(flipped).endsWith("tensor data does not match its recorded digest (first at tensor '名前 \"quoted\"\n'): "
            + "the file is corrupt (truncated or modified)"), errorOf(flipped));
        // the same file with the digests removed from the header, as an older Pulmo or PyTorch writes it: read unchecked
        String header = new String(good, 8, dataStart - 8, StandardCharsets.UTF_8);
        String noDigest = header.replaceFirst(",?\"pulmo\\.crc32c\":\"[0-9a-f,]*\"", "");
        assertNotEquals(header, noDigest);
        byte[] old = foreign(noDigest, java.util.Arrays.copyOfRange(flipped, dataStart, flipped.length));
        assertEquals(Map.of("k", "v"), Safetensors.decode(old, "old").metadata());
        // a digest list that does not fit the tensors is a corrupt header, not a crash
        String fewer = header.replaceFirst("\"pulmo\\.crc32c\":\"[0-9a-f]{8},", "\"pulmo.crc32c\":\"");
        assertTrue(errorOf(foreign(fewer, java.util.Arrays.copyOfRange(good, dataStart, good.length))).contains("recorded digests for"));
    }

    @Test void anEmptyTensorMayShareItsOffsetWithTheNextWhateverTheHeaderOrder() throws IOException {
        String h = "{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
            + "\"e\":{\"dtype\":\"F32\",\"shape\":[0],\"data_offsets\":[0,0]}}";
        assertEquals(2, Safetensors.decode(foreign(h, new byte[4]), "order.safetensors").tensors().size());
    }

    @Test void readingTheMetadataAloneChecksTheHeaderAgainstTheFile() throws IOException {
        Path f = dir.resolve("m.safetensors");
        Safetensors.write(f, sample(), Map.of("epoch", "4"));
        assertEquals(Map.of("epoch", "4"), Safetensors.readMetadata(f));
        byte[] b = Files.readAllBytes(f);
        Files.write(f, java.util.Arrays.copyOf(b, b.length - 3));
        SafetensorsException e = assertThrows(SafetensorsException.class, () -> Safetensors.readMetadata(f));
        assertTrue(e.getMessage().startsWith(f + ": truncated"), e.getMessage());
    }

    /** A file as PyTorch/safetensors would write it, with other dtypes. */
    private static byte[] foreign(String header, byte[] data) {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h).put(data);
        return b.array();
    }

    @Test void readsOtherDtypesAsFloat() throws IOException {
        ByteBuffer d = ByteBuffer.allocate(8 + 2 + 2 + 8).order(ByteOrder.LITTLE_ENDIAN);
        d.putLong(12345L);                                          // I64 num_batches_tracked
        d.putShort(Float.floatToFloat16(1.5f));                      // F16
        d.putShort((short) (Float.floatToRawIntBits(-2.25f) >>> 16)); // BF16
        d.putDouble(0.125);                                          // F64
        String h = "{\"n\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[0,8]},"
            + "\"h\":{\"dtype\":\"F16\",\"shape\":[1],\"data_offsets\":[8,10]},"
            + "\"b\":{\"dtype\":\"BF16\",\"shape\":[1,1],\"data_offsets\":[10,12]},"
            + "\"d\":{\"dtype\":\"F64\",\"shape\":[1],\"data_offsets\":[12,20]}}";
        Safetensors.Contents c = Safetensors.decode(foreign(h, d.array()), "foreign.safetensors");
        assertEquals(12345f, c.tensors().get("n").item());
        assertEquals(1.5f, c.tensors().get("h").item());
        assertEquals(-2.25f, c.tensors().get("b").item());
        assertEquals(0.125f, c.tensors().get("d").item());
    }

    @Test void writesChosenTensorsAsInt64AsPyTorchStoresBatchNormCounters() throws IOException {
        Map<String, Tensor> t = new LinkedHashMap<>();
        t.put("bn.weight", Tensor.of(new float[] {0.5f, -1f}, 2));
        t.put("bn.num_batches_tracked", Tensor.scalar(1234f));
        byte[] bytes = Safetensors.encode(t, Map.of("format", "pt"), name -> name.endsWith("num_batches_tracked"));
        String header = new String(bytes, 8, (int) ByteBuffer.wrap(bytes, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong(),
            StandardCharsets.UTF_8);
        assertTrue(header.contains("\"bn.num_batches_tracked\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[8,16]}"), header);
        assertTrue(header.contains("\"bn.weight\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}"), header);
        assertEquals(1234L, ByteBuffer.wrap(bytes, bytes.length - 8, 8).order(ByteOrder.LITTLE_ENDIAN).getLong());
        Safetensors.Contents c = Safetensors.decode(bytes, "int64.safetensors"); // digests checked over the 8-byte values
        assertEquals(1234f, c.tensors().get("bn.num_batches_tracked").item());
        assertArrayEquals(new float[] {0.5f, -1f}, c.tensors().get("bn.weight").toArray());
    }

    private static String errorOf(byte[] bytes) {
        SafetensorsException e = assertThrows(SafetensorsException.class, () -> Safetensors.decode(bytes, "bad.safetensors"));
        assertTrue(e.getMessage().startsWith("bad.safetensors: "), e.getMessage());
        return e.getMessage();
    }

    @Test void clearErrors() {
        byte[] good = Safetensors.encode(sample(), Map.of("k", "v"));
        assertTrue(errorOf(new byte[3]).contains("truncated"));
        assertTrue(errorOf(java.util.Arrays.copyOf(good, good.length - 1)).contains("truncated"));
        byte[] longer = java.util.Arrays.copyOf(good, good.length + 4);
        assertTrue(errorOf(longer).contains("bytes after the last tensor"));
        byte[] huge = good.clone();
        huge[7] = 0x7f;
        assertTrue(errorOf(huge).contains("not a safetensors file"));
        assertTrue(errorOf("PK\3\4 this is a zip file, not weights".getBytes(StandardCharsets.ISO_8859_1)).contains("not a safetensors file"));
        assertTrue(errorOf(foreign("{\"x\":{\"dtype\":\"C64\",\"shape\":[1],\"data_offsets\":[0,8]}}", new byte[8])).contains("dtype C64"));
        assertTrue(errorOf(foreign("{\"x\":{\"dtype\":\"F32\",\"shape\":[3],\"data_offsets\":[0,8]}}", new byte[8])).contains("needs 12 bytes"));
        assertTrue(errorOf(foreign("{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
            + "\"y\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", new byte[8])).contains("overlapping"));
        assertTrue(errorOf(foreign("{\"x\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}", new byte[8])).contains("invalid JSON"));
        assertTrue(errorOf(foreign("{\"x\":1, \"x\":2}", new byte[0])).contains("duplicate key"));
        assertTrue(errorOf(foreign("{\"x\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,0]}}", new byte[0])).contains("invalid size"));
        assertTrue(errorOf(foreign("{\"x\":{\"dtype\":\"F32\",\"shape\":[99999999999999],\"data_offsets\":[0,0]}}", new byte[0])).contains("invalid size"));
        assertTrue(errorOf(foreign("{\"x\":{\"dtype\":\"F32\",\"shape\":[2000000000,2000000000],\"data_offsets\":[0,8]}}", new byte[8])).contains("more elements"));
    }

    @Test void textUtf8CannotHoldIsRefusedNotWrittenAsQuestionMarks() throws SafetensorsException {
        Tensor x = Tensor.of(new float[] {1f}, 1);
        // a pair is fine (one supplementary character), half of one is not; before, it became "?" in the file
        assertEquals(Map.of("w\uD83D\uDE00", 1), Safetensors.decode(Safetensors.encode(Map.of("w\uD83D\uDE00", x), Map.of()), "mem").tensors().entrySet()
            .stream().collect(java.util.stream.Collectors.toMap(Map.Entry::getKey, e -> e.getValue().shape()[0])));
        for (String bad : new String[] {"w\uD83D", "\uDE00w", "a\uD83Db", "\uDE00\uD83D"}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> Safetensors.encode(Map.of(bad, x), Map.of()), bad);
            assertTrue(e.getMessage().contains("tensor name") && e.getMessage().contains("not Unicode text"), e.getMessage());
            IllegalArgumentException m = assertThrows(IllegalArgumentException.class, () -> Safetensors.encode(Map.of("x", x), Map.of("note", bad)), bad);
            assertTrue(m.getMessage().contains("metadata value of note"), m.getMessage());
        }
        IllegalArgumentException at = assertThrows(IllegalArgumentException.class, () -> Safetensors.encode(Map.of("ab\uD83D", x), Map.of()));
        assertTrue(at.getMessage().contains("\"ab\\ud83d\"") && at.getMessage().contains("at index 2"), at.getMessage());
    }

    @Test void missingFileNamesTheFile() {
        Path f = dir.resolve("nope.safetensors");
        SafetensorsException e = assertThrows(SafetensorsException.class, () -> Safetensors.read(f));
        assertTrue(e.getMessage().contains("nope.safetensors") && e.getMessage().contains("no such file"));
    }

    /** Every prefix of a valid file, random bytes and random corruptions: only SafetensorsException, never another. */
    @Test void fuzzTheParser() {
        byte[] good = Safetensors.encode(sample(), Map.of("epoch", "1", "rng.data", "1,0,0"));
        for (int len = 0; len < good.length; len++) {
            byte[] cut = java.util.Arrays.copyOf(good, len);
            assertThrows(SafetensorsException.class, () -> Safetensors.decode(cut, "cut"), "prefix of " + len + " bytes");
        }
        Rng rng = new Rng(2024);
        int headerEnd = 8 + (int) ByteBuffer.wrap(good).order(ByteOrder.LITTLE_ENDIAN).getLong();
        for (int trial = 0; trial < 20000; trial++) {
            byte[] b;
            switch (trial % 4) {
                case 0 -> { // random bytes behind a plausible length
                    b = new byte[8 + rng.nextInt(200)];
                    for (int i = 8; i < b.length; i++) b[i] = (byte) rng.nextInt(256);
                    ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN).putLong(rng.nextInt(b.length));
                    if (rng.nextInt(2) == 0) b[8 % b.length] = '{';
                }
                case 1 -> { // a few bytes of the header changed
                    b = good.clone();
                    for (int k = 0, n = 1 + rng.nextInt(4); k < n; k++) b[8 + rng.nextInt(headerEnd - 8)] = (byte) rng.nextInt(256);
                }
                case 2 -> { // a header character replaced by a JSON-significant one
                    b = good.clone();
                    byte[] alphabet = "{}[]\",:0123456789-eE.tfn \\u".getBytes(StandardCharsets.US_ASCII);
                    b[8 + rng.nextInt(headerEnd - 8)] = alphabet[rng.nextInt(alphabet.length)];
                }
                default -> { // the length field changed
                    b = good.clone();
                    b[rng.nextInt(8)] = (byte) rng.nextInt(256);
                }
            }
            byte[] input = b;
            try {
                Safetensors.decode(input, "fuzz");
            } catch (SafetensorsException expected) {
                // the only acceptable failure
            } catch (Throwable t) {
                fail("trial " + trial + ": " + t + " for input " + java.util.HexFormat.of().formatHex(input), t);
            }
        }
    }

    @Test void loadsIntoAModuleThroughANameMapOrLoadsNothing() throws IOException {
        Sequential a = new Sequential(new Conv2d(1, 2, 3, new Rng(1)), new BatchNorm2d(2));
        // PyTorch-style names, as timm would write them
        Map<String, Tensor> torchNames = new LinkedHashMap<>();
        for (var e : a.stateDict().entrySet()) torchNames.put("features." + e.getKey(), e.getValue());
        torchNames.put("classifier.weight", Tensor.zeros(5, 2));
        Path f = dir.resolve("timm.safetensors");
        Safetensors.write(f, torchNames, Map.of());
        Sequential b = new Sequential(new Conv2d(1, 2, 3, new Rng(2)), new BatchNorm2d(2));
        float[] before = b.stateDict().get("0.weight").toArray();
        SafetensorsException e = assertThrows(SafetensorsException.class,
            () -> Safetensors.load(f, b, n -> n.startsWith("features.") ? n.substring(9) : n, true));
        assertTrue(e.getMessage().contains("timm.safetensors") && e.getMessage().contains("classifier.weight"), e.getMessage());
        assertArrayEquals(before, b.stateDict().get("0.weight").toArray(), "nothing loaded");
        Safetensors.load(f, b, n -> n.startsWith("features.") ? n.substring(9) : null, true);
        assertSameTensors(a.stateDict(), b.stateDict());
    }
}
