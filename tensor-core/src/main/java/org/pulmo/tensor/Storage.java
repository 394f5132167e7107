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
}
