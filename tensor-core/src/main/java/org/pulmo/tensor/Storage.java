package org.pulmo.tensor;

/**
 * A flat run of float32 values on one device. Tensors are views (shape, strides, offset) over a storage;
 * several tensors may share one storage.
 */
public abstract class Storage {
    private final long size;
    private int version;          // in-place changes: Tensor.copyFrom, fill, set, addInPlace; Sgd's steps; batch norm's running statistics
    private String lastChange;    // the latest of them, for autograd's message

    protected Storage(long size) { this.size = size; }

    public long size() { return size; }

    public abstract Device device();

    /**
     * How many times the values were changed in place ({@link #markChanged}), through any view of this storage. The graph
     * remembers it for each tensor an op read, and backward refuses to go through an op whose tensors have changed
     * since (their gradient would be computed from the new values: wrong, without a word).
     */
    public int version() { return version; }

    /** What changed the values last ("fill", "an optimizer step", ...), or null if nothing has. */
    public String lastChange() { return lastChange; }

    /** Records an in-place change of the values ({@code how}: what made it, for the message). */
    public void markChanged(String how) {
        version++;
        lastChange = how;
    }

    /**
     * Gives the memory back now; the storage must not be used afterwards. Device storages hold memory the
     * garbage collector cannot see (CUDA's return their block to the caching allocator); a pooled host storage
     * returns its array to {@link HostArrays}. A {@link MemoryScope} calls this at a known point. Other host
     * storages: does nothing, the GC reclaims their arrays.
     */
    public void release() {}

    /** Whether {@link #release()} has given the memory back (always false for a host storage that is not pooled). */
    public boolean isReleased() { return false; }

    /**
     * The thread whose open {@link MemoryScope} owns this storage and will release it (set when a scope takes it over,
     * cleared when one keeps it past the outermost scope); null when no scope will.
     */
    volatile Thread owner;

    /**
     * Refuses use on any thread but the owning scope's: when the scope closes, the memory goes to the next op of any
     * thread, so another thread could read other values without a word. Called where an op takes the memory.
     */
    protected final void checkThread(String what) {
        Thread o = owner;
        if (o != null && o != Thread.currentThread())
            throw new IllegalStateException("this " + what + " (" + size + " floats) belongs to a MemoryScope open on thread '" + o.getName()
                + "', which gives its memory back when the scope closes; keep() it past the outermost scope on that thread, or list it in"
                + " the training state of its MemoryScope.Steps (or make it outside any scope), before thread '" + Thread.currentThread().getName() + "' uses it");
    }
}
