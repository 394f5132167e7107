package org.pulmo.cuda;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import jcuda.driver.CUdeviceptr;
import org.pulmo.tensor.Tensor;

/**
 * The parameter tables of sgd.cu's {@code sgd_momentum_multi}, which updates many parameters in one launch: the
 * addresses of each parameter and momentum buffer, their sizes and weight decays, and the chunk map (block k updates
 * elements [chunkStart[k], chunkStart[k] + SGD_CHUNK) of parameter chunkParam[k]). A table depends only on those,
 * so it is built and uploaded once per such set and kept. The gradients' addresses change from step to step (the
 * caching allocator hands a step's new gradients whichever blocks of their sizes are free), so they go in a list of
 * their own, copied over at every step: n addresses, without waiting for the device.
 *
 * <p>Tables live outside any MemoryScope; the oldest of more than {@link #KEPT} goes back to the allocator, which
 * hands its block out again only to work queued after the launches that read it (so does each step's list). A CUDA graph
 * reads its table again at every replay: the graph holds a reference to it until it is closed ({@link CudaGraph}), so
 * neither the cache nor {@code emptyCache} frees it under the graph.
 */
final class SgdTables {
    static final int CHUNK = 65536; // SGD_CHUNK in sgd.cu
    static final int KEPT = 4;

    /** A table on the device: its storage, section offsets (8-byte slots: params, bufs, sizes, weight decays, chunk map) and chunk count. */
    record Table(CudaStorage storage, long[] sections, int chunks) {
        CUdeviceptr section(int k) { return CudaRuntime.offset(storage.pointer(), sections[k] * 2); } // offset() counts floats
    }

    private final CudaBackend be;
    private final Map<List<Long>, Table> tables = new LinkedHashMap<>(8, 0.75f, true); // access order: eldest = least used
    private long uploads;

    SgdTables(CudaBackend be) { this.be = be; }

    /** Tables built and uploaded so far (a steady training loop stops adding to this after its first steps). */
    long uploads() { return uploads; }

    /** Device bytes the kept tables hold (as the allocator counts them in use). */
    long bytes() {
        long b = 0;
        for (Table t : tables.values()) b += CudaAllocator.roundUp(t.storage().size() * Float.BYTES);
        return b;
    }

    /**
     * Updates parameters {@code which} (indices into the lists) in one launch: {@code params}, {@code grads} and
     * (momentum on) {@code bufs} contiguous and of equal sizes pairwise; {@code firstStep} applies to all of them
     * (buf = g). Nothing to do for an empty selection.
     */
    void step(List<Tensor> params, List<Tensor> grads, List<Tensor> bufs, float[] weightDecay, int[] which, float lr,
              float momentum, float dampening, boolean nesterov, boolean firstStep) {
        int n = which.length;
        if (n == 0) return;
        boolean withBuf = momentum != 0f;
        List<Long> key = new ArrayList<>(3 * n);
        long[] gradAddresses = new long[n];
        for (int j = 0; j < n; j++) {
            int i = which[j];
            key.add(CudaBackend.addr(params.get(i)));
            key.add(withBuf ? CudaBackend.addr(bufs.get(i)) : 0L);
            key.add(params.get(i).numel() << 32 | (Float.floatToRawIntBits(weightDecay[i]) & 0xffffffffL));
            gradAddresses[j] = CudaBackend.addr(grads.get(i));
        }
        Table t = tables.get(key);
        boolean recording = be.runtime().capturing(), uncached = t == null && recording;
        if (uncached) {
            // A table made during a capture is not cached: its upload runs only when the graph does, so after a capture
            // that fails a cached one would never have been written. The graph keeps it, and uploads it at every replay.
            t = upload(key, n);
        } else if (t == null) {
            t = upload(key, n);
            tables.put(key, t);
            if (tables.size() > KEPT) {
                var eldest = tables.entrySet().iterator();
                Table old = eldest.next().getValue();
                eldest.remove();
                old.storage().release();
            }
        }
        if (recording) be.runtime().keepUntilGraphCloses(t.storage());   // the graph reads it at every replay, whatever the cache does
        CudaStorage gradList = null;
        try {
            gradList = be.rawUnscoped(2L * n);
            be.runtime().copyToDevice(gradAddresses, gradList.pointer());
            be.runtime().launch("sgd_momentum_multi", t.chunks(), 1, 1, 256, 0, t.section(0), gradList.pointer(), t.section(1),
                t.section(2), t.section(3), t.section(4), t.section(5), lr, momentum, dampening, nesterov ? 1 : 0, firstStep ? 1 : 0);
        } finally {
            if (gradList != null) gradList.release();   // stream-ordered: its block serves only work queued after this launch
            if (uncached) t.storage().release();   // the graph's reference remains
        }
    }

    /** A table's host image: its 8-byte slots, the section offsets (in slots) and the chunk count. */
    record Layout(long[] slots, long[] sections, int chunks) {}

    /**
     * The table of {@code n} parameters described by {@code key} (per parameter: address, buffer address, numel << 32 |
     * weight decay's float bits), as sgd_momentum_multi reads it. Layout, in 8-byte slots: params[n] bufs[n] sizes[n] |
     * weightDecay[n] floats (n/2 slots, rounded up) | chunkParam ints (chunks/2 slots, rounded up) | chunkStart longs.
     * Floats and ints are packed two to a slot, little-endian: the even index in the low half.
     */
    static Layout layout(List<Long> key, int n) {
        List<long[]> chunkList = new ArrayList<>();
        for (int j = 0; j < n; j++) {
            long size = key.get(3 * j + 2) >>> 32;
            for (long s = 0; s < size; s += CHUNK) chunkList.add(new long[] {j, s});
        }
        int chunks = chunkList.size();
        int wdSlots = (n + 1) / 2, cpSlots = (chunks + 1) / 2;
        long[] sections = {0, n, 2L * n, 3L * n, 3L * n + wdSlots, 3L * n + wdSlots + cpSlots};
        long[] host = new long[(int) (sections[5] + chunks)];
        for (int j = 0; j < n; j++) {
            host[j] = key.get(3 * j);
            host[n + j] = key.get(3 * j + 1);
            host[2 * n + j] = key.get(3 * j + 2) >>> 32;
            long bits = key.get(3 * j + 2) & 0xffffffffL;
            int slot = (int) sections[3] + j / 2;
            host[slot] |= (j % 2 == 0) ? bits : bits << 32;
        }
        for (int k = 0; k < chunks; k++) {
            long v = chunkList.get(k)[0] & 0xffffffffL;
            int slot = (int) sections[4] + k / 2;
            host[slot] |= (k % 2 == 0) ? v : v << 32;
            host[(int) sections[5] + k] = chunkList.get(k)[1];
        }
        return new Layout(host, sections, chunks);
    }

    private Table upload(List<Long> key, int n) {
        Layout l = layout(key, n);
        long[] host = l.slots(), sections = l.sections();
        int chunks = l.chunks();
        CudaStorage storage = be.rawUnscoped(host.length * 2L);
        be.runtime().copyToDevice(host, storage.pointer());
        uploads++;
        return new Table(storage, sections, chunks);
    }

    /** Gives every table back to the allocator. */
    void close() {
        for (Table t : tables.values()) t.storage().release();
        tables.clear();
    }
}
