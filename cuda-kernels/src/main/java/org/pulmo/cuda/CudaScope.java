package org.pulmo.cuda;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import org.pulmo.tensor.Tensor;

/**
 * Frees device memory at a known point: every {@link CudaStorage} created on this thread while the scope is
 * open is released when it closes, except those passed to {@link #keep}. Scopes nest; a kept storage moves
 * to the enclosing scope (or to nobody at the outermost one, and then its owner releases it).
 * <pre>
 *   for (step ...) try (CudaScope s = CudaScope.open()) {
 *       Tensor loss = model.loss(batch); loss.backward(); sgd.step();
 *       s.keep(...)   // whatever must survive the step
 *   }   // every activation and temporary gradient of the step is back in the allocator's cache here
 * </pre>
 */
public final class CudaScope implements AutoCloseable {
    private static final ThreadLocal<CudaScope> CURRENT = new ThreadLocal<>();
    private final CudaScope parent;
    private final Map<CudaStorage, Boolean> owned = new IdentityHashMap<>();
    private boolean closed;

    private CudaScope(CudaScope parent) { this.parent = parent; }

    public static CudaScope open() {
        CudaScope s = new CudaScope(CURRENT.get());
        CURRENT.set(s);
        return s;
    }

    static void register(CudaStorage s) {
        CudaScope c = CURRENT.get();
        if (c != null) c.owned.put(s, Boolean.TRUE);
    }

    /** Keeps the storages of these tensors alive past this scope. Returns the first tensor. */
    public Tensor keep(Tensor... tensors) {
        for (Tensor t : tensors)
            if (t != null && t.storage() instanceof CudaStorage cs && owned.remove(cs) != null && parent != null)
                parent.owned.put(cs, Boolean.TRUE);
        return tensors.length > 0 ? tensors[0] : null;
    }

    public int ownedCount() { return owned.size(); }

    @Override public void close() {
        if (closed) return;
        closed = true;
        if (CURRENT.get() != this) throw new IllegalStateException("CudaScopes must close in the reverse order of opening");
        CURRENT.set(parent);
        List<CudaStorage> list = new ArrayList<>(owned.keySet());
        owned.clear();
        for (CudaStorage s : list) s.release();
    }
}
