package org.pulmo.tensor;

/**
 * A flat run of float32 values on one device. Tensors are views (shape, strides, offset) over a storage;
 * several tensors may share one storage.
 */
public abstract class Storage {
    private final long size;

    protected Storage(long size) { this.size = size; }

    public long size() { return size; }

    public abstract Device device();

    /**
     * Gives the memory back now; the storage must not be used afterwards. Device storages hold memory the
     * garbage collector cannot see (CUDA's return their block to the caching allocator); a pooled host storage
     * returns its array to {@link HostArrays}. A {@link MemoryScope} calls this at a known point. Other host
     * storages: does nothing, the GC reclaims their arrays.
     */
    public void release() {}

    /** Whether {@link #release()} has given the memory back (always false for a host storage that is not pooled). */
    public boolean isReleased() { return false; }
}
