package org.pulmo.tensor;

/** Host storage: a Java float array. */
public final class CpuStorage extends Storage {
    private final float[] data;

    public CpuStorage(float[] data) {
        super(data.length);
        this.data = data;
    }

    public CpuStorage(int size) { this(new float[size]); }

    /** The backing array, shared with every tensor viewing this storage. */
    public float[] data() { return data; }

    @Override public Device device() { return Device.CPU; }
}
