package org.pulmo.tensor;

/**
 * Where a tensor's storage lives: the host CPU or a CUDA device by index. To choose one,
 * {@link org.pulmo.backend.Backends#bestAvailable()} gives CUDA when it is usable and the CPU otherwise (with one log
 * line saying why); {@link org.pulmo.backend.Backends#unavailableReason(Device)} says why a device cannot be used
 * (null when it can). {@code tensor.to(device)} and {@code module.to(device)} move values there.
 */
public record Device(Kind kind, int index) {

    public enum Kind { CPU, CUDA }

    public static final Device CPU = new Device(Kind.CPU, 0);

    public Device {
        if (kind == null) throw new IllegalArgumentException("device: no kind (cpu or cuda)");
        if (index < 0 || kind == Kind.CPU && index != 0)
            throw new IllegalArgumentException("device " + kind.name().toLowerCase(java.util.Locale.ROOT) + ":" + index
                + ": " + (kind == Kind.CPU ? "the CPU has only index 0" : "a GPU's number counts from 0"));
    }

    public static Device cuda(int index) { return new Device(Kind.CUDA, index); }

    public boolean isCpu() { return kind == Kind.CPU; }

    /** Parses "cpu", "cuda" or "cuda:N". */
    public static Device parse(String s) {
        String t = s.trim().toLowerCase(java.util.Locale.ROOT);
        if (t.equals("cpu")) return CPU;
        if (t.equals("cuda")) return cuda(0);
        if (t.matches("cuda:[0-9]{1,4}")) return cuda(Integer.parseInt(t.substring(5)));
        throw new IllegalArgumentException("unknown device '" + s + "' (expected cpu, cuda or cuda:N, N a GPU's number from 0)");
    }

    @Override public String toString() { return kind == Kind.CPU ? "cpu" : "cuda:" + index; }
}
