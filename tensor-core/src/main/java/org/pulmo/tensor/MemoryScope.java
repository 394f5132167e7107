package org.pulmo.tensor;

import java.util.ArrayList;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;

/**
 * Frees device memory (and recycles the CPU backend's output arrays) at a known point, without finalisers and
 * without reference counts on tensors.
 *
 * <p><b>Why a scope.</b> A training step creates hundreds of device tensors (activations, the tensors the
 * graph saves for backward, gradients on their way to the leaves, optimiser temporaries) and keeps only a few
 * (new gradients, momentum buffers). The Java graph may hold the others long after the step, and the GC does
 * not see device memory, so they must be released explicitly. Reference counting every tensor through every
 * op and node would touch all of tensor-core; releasing what the autograd engine saved after backward would
 * miss activations still referenced by user code and free inputs that others hold. A scope needs neither:
 * every device storage created on this thread while a scope is open is released when it closes, except what
 * is kept. A device storage registers itself at creation ({@link #register}), and so does a host storage
 * holding a CPU op's output ({@link CpuStorage#pooled}): released, its array goes back to {@link HostArrays}
 * and the next step's ops reuse it instead of faulting in fresh heap pages. Host storages made from a
 * caller's array never register.
 *
 * <p><b>What survives.</b> A plain scope keeps what {@link #keep} names (they move to the enclosing scope,
 * or, at the outermost one, to nobody: their owner frees them). A training loop uses {@link Steps}: its
 * scopes keep whatever belongs to the training state at the end of each step (parameters, gradients,
 * buffers, momentum buffers, as a supplier lists them), and also free state created by an earlier step that
 * the state no longer holds (last step's gradients after {@code zeroGrad()} dropped them). So memory in use
 * after every step is the state alone and stays the same from step to step.
 * <pre>
 *   MemoryScope.Steps steps = new MemoryScope.Steps(() -&gt; sgd.trainingState(model));
 *   for (batch : loader) try (MemoryScope s = steps.open()) {
 *       sgd.zeroGrad(); Tensor loss = lossOf(model, batch); loss.backward(); sgd.step();
 *       log(loss.item());
 *   }   // every activation and temporary of the step is back in the device allocator here
 * </pre>
 * Using a tensor whose storage a scope released fails loudly on the device (a CUDA storage throws on use);
 * keep, or list in the state, anything that must outlive the step. Scopes are per thread and nest.
 *
 * <p><b>Threads.</b> A storage a scope owns is that thread's: the scope gives its memory back when it closes, and the
 * next op of any thread may then be handed the same memory. So a tensor made inside a scope (host or device) is refused
 * on any other thread (an {@link IllegalStateException} naming both threads) until {@link #keep} has moved it past the outermost
 * scope, or a training loop's {@link Steps} has kept it as training state at the end of its step; tensors made outside
 * every scope, or from a caller's array, go to any thread.
 */
public final class MemoryScope implements AutoCloseable {
    private static final ThreadLocal<MemoryScope> CURRENT = new ThreadLocal<>();

    private final MemoryScope parent;
    private final Steps steps; // null for a plain scope
    private final Map<Storage, Boolean> owned = new IdentityHashMap<>();
    private boolean closed;

    private MemoryScope(MemoryScope parent, Steps steps) {
        this.parent = parent;
        this.steps = steps;
    }

    /** Opens a plain scope on this thread. */
    public static MemoryScope open() { return push(null); }

    private static MemoryScope push(Steps steps) {
        MemoryScope s = new MemoryScope(CURRENT.get(), steps);
        CURRENT.set(s);
        return s;
    }

    /**
     * Called by device storages when created: the innermost open scope of this thread takes them over, and only this
     * thread may use them until one is kept past the outermost scope ({@link Storage#checkThread}).
     */
    public static void register(Storage s) {
        MemoryScope c = CURRENT.get();
        if (c != null) {
            c.owned.put(s, Boolean.TRUE);
            s.owner = Thread.currentThread();
        }
        Set<Storage> r = RECORDING.get();
        if (r != null) r.add(s);
    }

    private static final ThreadLocal<Set<Storage>> RECORDING = new ThreadLocal<>();

    /**
     * While open, every releasable storage created on this thread (device storages, pooled host arrays) is also
     * added to {@code into}: the backward walk uses it to tell the gradients it made, which it may free as soon as
     * they are consumed, from tensors that existed before it (activations, parameters), which it never frees.
     * Recordings do not nest: the previous one is restored on close.
     */
    public static Recording recordAllocations(Set<Storage> into) {
        Set<Storage> previous = RECORDING.get();
        RECORDING.set(into);
        return () -> RECORDING.set(previous);
    }

    /** An open recording of {@link #recordAllocations}. */
    public interface Recording extends AutoCloseable {
        @Override void close();
    }

    /** Whether a scope is open on this thread. */
    public static boolean isOpen() { return CURRENT.get() != null; }

    /** Storages created in this scope and not yet released or kept. */
    public int ownedCount() { return owned.size(); }

    /** Keeps these tensors' storages past this scope (they move to the enclosing scope). Returns the first tensor. */
    public Tensor keep(Tensor... tensors) {
        for (Tensor t : tensors) if (t != null) keepStorage(t.storage());
        return tensors.length > 0 ? tensors[0] : null;
    }

    private void keepStorage(Storage s) {
        if (owned.remove(s) == null) return;
        if (parent != null) parent.owned.put(s, Boolean.TRUE);
        else s.owner = null;   // nobody releases it now: any thread may use it
    }

    @Override public void close() {
        if (closed) return;
        if (CURRENT.get() != this) throw new IllegalStateException("MemoryScopes must close in the reverse order of opening, on their thread");
        closed = true;
        CURRENT.set(parent);
        List<Storage> list = new ArrayList<>(owned.keySet());
        owned.clear();
        if (steps != null) steps.finish(list);
        else for (Storage s : list) release(s);
    }

    private static void release(Storage s) { if (!s.isReleased()) s.release(); }

    /**
     * Scopes for a loop of training steps, keeping the training state. {@code state} lists, at the end of each
     * step, every tensor that must outlive it: typically the model's state dict, each parameter's gradient
     * and the optimiser's momentum buffers. A storage created in a step survives it iff a state tensor views
     * it; one that survived an earlier step is freed once no state tensor views it any more.
     */
    public static final class Steps {
        private final Supplier<? extends Iterable<Tensor>> state;
        private final Set<Storage> held = Collections.newSetFromMap(new IdentityHashMap<>());
        private static final java.util.concurrent.atomic.AtomicLong LOOPS = new java.util.concurrent.atomic.AtomicLong();
        private final long loop = LOOPS.incrementAndGet();   // for HostArrays, which counts the loops running at once

        public Steps(Supplier<? extends Iterable<Tensor>> state) { this.state = state; }

        /** Opens the scope of one step on this thread. */
        public MemoryScope open() { return push(this); }

        /** Storages kept from earlier steps because the state holds them. */
        public int heldCount() { return held.size(); }

        private void finish(List<Storage> created) {
            Set<Storage> live = Collections.newSetFromMap(new IdentityHashMap<>());
            for (Tensor t : state.get()) if (t != null) live.add(t.storage());
            for (Storage s : created) {
                if (live.contains(s)) {
                    held.add(s);
                    s.owner = null;   // the training state (gradients, momentum): any thread may read it, as a kept tensor
                } else release(s);
            }
            for (var it = held.iterator(); it.hasNext(); ) {
                Storage s = it.next();
                if (!live.contains(s)) { release(s); it.remove(); }
            }
            HostArrays.endStep(loop);
        }
    }
}
