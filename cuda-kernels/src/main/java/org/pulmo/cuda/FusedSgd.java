package org.pulmo.cuda;

import java.util.ArrayList;
import java.util.List;
import org.pulmo.tensor.Tensor;

/**
 * SGD with momentum over many parameters in one kernel launch per step (sgd.cu, torch.optim.SGD's rule).
 * The parameter table (addresses of each parameter, gradient and momentum buffer, sizes, weight decays, and
 * the chunk map) is uploaded when the set of (parameter, gradient) storages changes, so a steady training
 * loop only pays the launch. Momentum buffers and the table are allocated here, outside any
 * {@link org.pulmo.tensor.MemoryScope}, and freed by {@link #close()}.
 */
public final class FusedSgd implements AutoCloseable {
    static final int CHUNK = 65536; // SGD_CHUNK in sgd.cu

    private final CudaBackend be;
    private final List<Tensor> params;
    private final float[] weightDecay;
    public float lr;
    public final float momentum, dampening;
    public final boolean nesterov;
    private final Tensor[] buffers;
    private boolean first = true;
    private CudaStorage table;
    private long[] tableKey;
    private int chunks;

    public FusedSgd(CudaBackend be, List<Tensor> params, float[] weightDecay, float lr, float momentum, float dampening, boolean nesterov) {
        if (params.size() != weightDecay.length) throw new IllegalArgumentException("one weight decay per parameter");
        this.be = be;
        this.params = List.copyOf(params);
        this.weightDecay = weightDecay.clone();
        this.lr = lr;
        this.momentum = momentum;
        this.dampening = dampening;
        this.nesterov = nesterov;
        this.buffers = new Tensor[params.size()];
        if (momentum != 0)
            for (int i = 0; i < buffers.length; i++) {
                CudaStorage b = be.rawUnscoped(params.get(i).numel());
                be.runtime().memsetZero(b.pointer(), params.get(i).numel());
                buffers[i] = Tensor.wrap(b, params.get(i).shape());
            }
    }

    /** One update of every parameter that has a gradient (dense, same shape). No host synchronisation. */
    public void step() {
        List<Integer> live = new ArrayList<>();
        for (int i = 0; i < params.size(); i++) if (params.get(i).grad() != null) live.add(i);
        if (live.isEmpty()) return;
        long[] key = new long[live.size() * 2];
        for (int j = 0; j < live.size(); j++) {
            Tensor p = params.get(live.get(j));
            Tensor g = p.grad();
            if (!p.isContiguous() || !g.isContiguous()) throw new IllegalArgumentException("FusedSgd needs contiguous parameters and gradients");
            key[2 * j] = CudaBackend.addr(p);
            key[2 * j + 1] = CudaBackend.addr(g);
        }
        if (!java.util.Arrays.equals(key, tableKey)) upload(live, key);
        be.runtime().launch("sgd_momentum_multi", chunks, 1, 1, 256, 0,
            CudaRuntime.offset(table.pointer(), 0), off(1, live.size()), off(2, live.size()), off(3, live.size()), off(4, live.size()),
            off(5, live.size()), off(6, live.size()), lr, momentum, dampening, nesterov ? 1 : 0, first ? 1 : 0);
        first = false;
    }

    // Table layout, in 8-byte slots: params[n] grads[n] bufs[n] sizes[n] | weightDecay[n] floats (n/2 slots, rounded up)
    // | chunkParam ints | chunkStart longs. off(k, n) is the address of section k.
    private long[] sectionSlots;

    private jcuda.driver.CUdeviceptr off(int section, int n) {
        return CudaRuntime.offset(table.pointer(), sectionSlots[section] * 2); // offset() counts floats: 2 per slot
    }

    private void upload(List<Integer> live, long[] key) {
        int n = live.size();
        List<long[]> chunkList = new ArrayList<>();
        for (int j = 0; j < n; j++) {
            long size = params.get(live.get(j)).numel();
            for (long s = 0; s < size; s += CHUNK) chunkList.add(new long[] {j, s});
        }
        chunks = chunkList.size();
        int wdSlots = (n + 1) / 2, cpSlots = (chunks + 1) / 2;
        sectionSlots = new long[] {0, n, 2L * n, 3L * n, 4L * n, 4L * n + wdSlots, 4L * n + wdSlots + cpSlots};
        long totalSlots = sectionSlots[6] + chunks;
        long[] host = new long[(int) totalSlots];
        for (int j = 0; j < n; j++) {
            int i = live.get(j);
            host[j] = key[2 * j];
            host[n + j] = key[2 * j + 1];
            host[2 * n + j] = buffers[i] == null ? 0L : CudaBackend.addr(buffers[i]);
            host[3 * n + j] = params.get(i).numel();
        }
        for (int j = 0; j < n; j++) {
            long bits = Float.floatToRawIntBits(weightDecay[live.get(j)]) & 0xffffffffL;
            int slot = (int) sectionSlots[4] + j / 2;
            host[slot] |= (j % 2 == 0) ? bits : bits << 32; // little-endian: even index in the low half
        }
        for (int k = 0; k < chunks; k++) {
            long v = chunkList.get(k)[0] & 0xffffffffL;
            int slot = (int) sectionSlots[5] + k / 2;
            host[slot] |= (k % 2 == 0) ? v : v << 32;
            host[(int) sectionSlots[6] + k] = chunkList.get(k)[1];
        }
        if (table != null) table.release();
        table = be.rawUnscoped(totalSlots * 2);
        be.runtime().copyToDevice(host, table.pointer());
        tableKey = key;
    }

    public Tensor momentumBuffer(int i) { return buffers[i]; }

    @Override public void close() {
        if (table != null) table.release();
        table = null;
        for (Tensor b : buffers) if (b != null) CudaBackend.storage(b).release();
    }
}
