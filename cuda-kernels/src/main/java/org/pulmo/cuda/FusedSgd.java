package org.pulmo.cuda;

import java.util.ArrayList;
import java.util.List;
import org.pulmo.tensor.Tensor;

/**
 * SGD with momentum over many parameters in one kernel launch per step (sgd.cu, torch.optim.SGD's rule), holding
 * its own momentum buffers: a stand-alone optimiser over device tensors. nn's {@code Sgd} reaches the same launch
 * through {@link CudaBackend#sgdUpdateAll}. The parameter tables ({@link SgdTables}) are uploaded when the set of
 * (parameter, gradient) storages changes, so a steady loop only pays the launch. Momentum buffers and tables are
 * allocated outside any {@link org.pulmo.tensor.MemoryScope} and freed by {@link #close()}.
 */
public final class FusedSgd implements AutoCloseable {
    private final CudaBackend be;
    private final List<Tensor> params;
    private final float[] weightDecay;
    public float lr;
    public final float momentum, dampening;
    public final boolean nesterov;
    private final Tensor[] buffers;
    private final SgdTables tables;
    private boolean first = true;

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
        this.tables = new SgdTables(be);
        if (momentum != 0)
            for (int i = 0; i < buffers.length; i++) {
                CudaStorage b = be.rawUnscoped(params.get(i).numel());
                be.runtime().memsetZero(b.pointer(), params.get(i).numel());
                buffers[i] = Tensor.wrap(b, params.get(i).shape());
            }
    }

    /** One update of every parameter that has a gradient (dense, same shape). No host synchronisation. */
    public void step() {
        List<Tensor> grads = new ArrayList<>(params.size());
        List<Integer> live = new ArrayList<>();
        for (int i = 0; i < params.size(); i++) {
            Tensor p = params.get(i), g = p.grad();
            grads.add(g);
            if (g == null) continue;
            if (!p.isContiguous() || !g.isContiguous()) throw new IllegalArgumentException("FusedSgd needs contiguous parameters and gradients");
            live.add(i);
        }
        if (live.isEmpty()) return;
        tables.step(params, grads, java.util.Arrays.asList(buffers), weightDecay, live.stream().mapToInt(i -> i).toArray(), lr, momentum,
            dampening, nesterov, first);
        first = false;
    }

    public Tensor momentumBuffer(int i) { return buffers[i]; }

    @Override public void close() {
        tables.close();
        for (Tensor b : buffers) if (b != null) CudaBackend.storage(b).release();
    }
}
