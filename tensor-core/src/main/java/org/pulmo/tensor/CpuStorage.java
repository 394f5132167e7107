package org.pulmo.tensor;

/**
 * Host storage: a Java float array.
 *
 * <p>A storage made by {@link #pooled} holds an array from {@link HostArrays}: it registers with the open
 * {@link MemoryScope} like a device storage, and when that scope releases it the array goes back to the pool
 * for the next step's ops, and this storage refuses further use. Every other host storage (arrays a caller
 * handed in, {@link Tensor#zeros}, ...) is left to the garbage collector and never released.
 */
public final class CpuStorage extends Storage {
    private float[] data;
    private final boolean pooled;

    public CpuStorage(float[] data) { this(data, false); }

    public CpuStorage(int size) { this(new float[size]); }

    private CpuStorage(float[] data, boolean pooled) {
        super(data.length);
        this.data = data;
        this.pooled = pooled;
        if (pooled) MemoryScope.register(this);
    }

    /** Wraps an array taken from {@link HostArrays}; the array comes back to the pool when a scope releases this. */
    public static CpuStorage pooled(float[] fromPool) { return new CpuStorage(fromPool, true); }

    /** A pooled storage of {@code size} zeros. */
    public static CpuStorage zeroed(int size) { return pooled(HostArrays.zeroed(size)); }

    /**
     * The backing array, shared with every tensor viewing this storage. Refused once released, and on any thread but
     * the owning scope's (its array may go to another op when the scope closes, so another thread could read other
     * values without a word).
     */
    public float[] data() {
        float[] d = data;
        if (d == null)
            throw new IllegalStateException("this CPU tensor (" + size() + " floats) was released when the MemoryScope that "
                + "created it closed (the end of its training step); keep() it, or list it in the training state, to use it afterwards");
        checkThread("CPU tensor");
        return d;
    }

    @Override public Device device() { return Device.CPU; }

    @Override public void release() {
        if (!pooled || data == null) return;
        float[] d = data;
        data = null;
        HostArrays.giveBack(d);
    }

    @Override public boolean isReleased() { return data == null; }
}
