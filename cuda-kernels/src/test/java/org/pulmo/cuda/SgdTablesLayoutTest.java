package org.pulmo.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * No GPU needed: the parameter table SgdTables uploads, read back the way sgd.cu's sgd_momentum_multi reads it (the
 * bytes in device order, little-endian: 64-bit pointers and sizes, 32-bit weight decays and chunk owners, 64-bit
 * chunk starts, each section at its offset). Every parameter's fields come back, and its chunks of SGD_CHUNK elements
 * cover it exactly once, in order.
 */
class SgdTablesLayoutTest {

    @Test void theKernelReadsBackEveryParameterAndItsChunks() {
        long[] sizes = {70000, 15, 130001, SgdTables.CHUNK, 1};
        float[] wd = {1e-4f, 0f, 5e-4f, -2.5f, 3.0e-38f};   // a sign bit and a tiny value in the packed halves
        int n = sizes.length;
        List<Long> key = new ArrayList<>();
        for (int j = 0; j < n; j++) {
            key.add(0x7f0000001000L + 0x100000L * j);                       // parameter
            key.add(j == 1 ? 0L : 0x7e0000002000L + 0x100000L * j);          // buffer (0: none)
            key.add(sizes[j] << 32 | (Float.floatToRawIntBits(wd[j]) & 0xffffffffL));
        }
        SgdTables.Layout l = SgdTables.layout(key, n);
        ByteBuffer dev = ByteBuffer.allocate(l.slots().length * 8).order(ByteOrder.LITTLE_ENDIAN);
        for (long v : l.slots()) dev.putLong(v);
        long[] sec = l.sections();
        for (int t = 0; t < n; t++) {
            assertEquals(key.get(3 * t), dev.getLong((int) (sec[0] * 8 + t * 8L)), "params[" + t + "]");
            assertEquals(key.get(3 * t + 1), dev.getLong((int) (sec[1] * 8 + t * 8L)), "bufs[" + t + "]");
            assertEquals(sizes[t], dev.getLong((int) (sec[2] * 8 + t * 8L)), "sizes[" + t + "]");
            assertEquals(Float.floatToRawIntBits(wd[t]), Float.floatToRawIntBits(dev.getFloat((int) (sec[3] * 8 + t * 4L))), "weightDecay[" + t + "]");
        }
        int expectedChunks = 0;
        for (long s : sizes) expectedChunks += (int) ((s + SgdTables.CHUNK - 1) / SgdTables.CHUNK);
        assertEquals(expectedChunks, l.chunks(), "one block per chunk");
        long[] next = new long[n];   // each parameter's next uncovered element
        for (int k = 0; k < l.chunks(); k++) {
            int t = dev.getInt((int) (sec[4] * 8 + k * 4L));
            long start = dev.getLong((int) (sec[5] * 8 + k * 8L));
            assertEquals(next[t], start, "chunk " + k + " of parameter " + t + " starts where the last one ended");
            next[t] = Math.min(start + SgdTables.CHUNK, sizes[t]);
        }
        for (int t = 0; t < n; t++) assertEquals(sizes[t], next[t], "parameter " + t + " covered to its end");
        assertEquals(l.slots().length, sec[5] + l.chunks(), "the table ends with the chunk starts");
    }
}
