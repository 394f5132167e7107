package org.pulmo.io;

import static org.junit.jupiter.api.Assertions.*;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pulmo.nn.BatchNorm2d;
import org.pulmo.nn.Sequential;
import org.pulmo.tensor.Tensor;

/** Safetensors and AtomicFiles beyond their tests: unsigned bytes, extra fields, name-map collisions, a failed rename. */
class SafetensorsEdgesTest {
    @TempDir Path dir;

    private static byte[] foreign(String header, byte[] data) {
        byte[] h = header.getBytes(StandardCharsets.UTF_8);
        ByteBuffer b = ByteBuffer.allocate(8 + h.length + data.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(h.length).put(h).put(data);
        return b.array();
    }

    @Test void unsignedBytesAndBoolsReadAsTheirValues() throws IOException {
        String h = "{\"u\":{\"dtype\":\"U8\",\"shape\":[3],\"data_offsets\":[0,3]},"
            + "\"b\":{\"dtype\":\"BOOL\",\"shape\":[1],\"data_offsets\":[3,4]},"
            + "\"i\":{\"dtype\":\"I8\",\"shape\":[1],\"data_offsets\":[4,5]}}";
        byte[] data = {(byte) 200, (byte) 255, 7, 1, (byte) -3};
        Safetensors.Contents c = Safetensors.decode(foreign(h, data), "bytes.safetensors");
        assertArrayEquals(new float[] {200f, 255f, 7f}, c.tensors().get("u").toArray());
        assertEquals(1f, c.tensors().get("b").item());
        assertEquals(-3f, c.tensors().get("i").item());
    }

    @Test void aTensorWithFieldsBeyondTheSpecIsRefused() {
        String h = "{\"x\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"scale\":2}}";
        SafetensorsException e = assertThrows(SafetensorsException.class, () -> Safetensors.decode(foreign(h, new byte[4]), "f.safetensors"));
        assertTrue(e.getMessage().contains("fields other than"), e.getMessage());
    }

    @Test void aNameMapSendingTwoTensorsToOneNameIsRefused() throws IOException {
        Sequential m = new Sequential(new BatchNorm2d(2));
        Map<String, Tensor> t = new LinkedHashMap<>();
        for (var e : m.stateDict().entrySet()) t.put("a." + e.getKey(), e.getValue());
        t.put("b.0.weight", Tensor.full(5f, 2));
        Path f = dir.resolve("two.safetensors");
        Safetensors.write(f, t, Map.of());
        SafetensorsException e = assertThrows(SafetensorsException.class,
            () -> Safetensors.load(f, m, n -> n.substring(2), false));
        assertTrue(e.getMessage().contains("two tensors to '0.weight'"), e.getMessage());
        assertArrayEquals(new float[] {1f, 1f}, m.stateDict().get("0.weight").toArray(), "nothing loaded");
    }

    @Test void aWriteThatCannotBeRenamedLeavesNoTemporaryFile() throws IOException {
        Path target = Files.createDirectories(dir.resolve("last.safetensors"));   // a non-empty folder where the file should go
        Files.writeString(target.resolve("inside"), "x");
        assertThrows(IOException.class, () -> AtomicFiles.write(target, new byte[] {1, 2, 3}));
        try (var s = Files.list(dir)) {
            assertEquals(java.util.List.of("last.safetensors"), s.map(p -> p.getFileName().toString()).toList(), "no .last.safetensors.N.tmp left");
        }
    }
}
