package org.pulmo.backend;

import java.util.Map;
import java.util.ServiceLoader;
import java.util.concurrent.ConcurrentHashMap;
import java.util.logging.Logger;
import org.pulmo.tensor.Device;

/**
 * Finds the backend of a device through the {@link BackendProvider}s on the class path: the CPU backend's in
 * tensor-core itself, the CUDA backend's in {@code cuda-kernels}. This class names no implementation.
 */
public final class Backends {
    private static final Logger LOG = Logger.getLogger(Backends.class.getName());
    private static final Backend CPU = cpuFromProvider();
    private static volatile Backend cpuActive = CPU; // CPU, or a ProfilingBackend around it
    private static final Map<Device, Backend> CACHE = new ConcurrentHashMap<>();

    private Backends() {}

    public static Backend cpu() { return cpuActive; }

    /** The CPU provider ships in this jar, so it is looked up with this class's loader (not the thread's). */
    private static Backend cpuFromProvider() {
        for (BackendProvider p : ServiceLoader.load(BackendProvider.class, Backends.class.getClassLoader())) {
            if (p.kind() != Device.Kind.CPU) continue;
            Backend b = p.create(Device.CPU);
            if (b != null) return b;
        }
        throw new IllegalStateException("no CPU backend: META-INF/services/" + BackendProvider.class.getName()
            + " of tensor-core is not on the class path (a fat jar must merge service files)");
    }

    /**
     * Routes every CPU op through a {@link ProfilingBackend} until {@link #stopCpuProfile()}; for
     * benchmarks that ask where a training step spends its time.
     */
    public static synchronized ProfilingBackend startCpuProfile() { return startCpuProfile(false); }

    /** As {@link #startCpuProfile()}; byShape true keeps one row per method and argument shapes (per layer). */
    public static synchronized ProfilingBackend startCpuProfile(boolean byShape) {
        ProfilingBackend p = new ProfilingBackend(CPU, byShape, false);
        cpuActive = p.proxy();
        return p;
    }

    public static synchronized void stopCpuProfile() { cpuActive = CPU; }

    /** Devices whose ops go through a {@link ProfilingBackend} ({@link #startProfile}), with it. */
    private static final Map<Device, Backend> PROFILED = new ConcurrentHashMap<>();

    /**
     * Routes every op of {@code device} through a {@link ProfilingBackend} until {@link #stopProfile}; on a device
     * other than the CPU each op then waits for the device to finish it, so that the times are the device's.
     */
    public static synchronized ProfilingBackend startProfile(Device device, boolean byShape) {
        if (device.isCpu()) return startCpuProfile(byShape);
        PROFILED.remove(device);
        ProfilingBackend p = new ProfilingBackend(of(device), byShape, true);
        PROFILED.put(device, p.proxy());
        return p;
    }

    public static synchronized void stopProfile(Device device) {
        if (device.isCpu()) stopCpuProfile();
        else PROFILED.remove(device);
    }

    public static Backend of(Device device) {
        if (device.isCpu()) return cpuActive;
        if (!PROFILED.isEmpty()) {
            Backend p = PROFILED.get(device);
            if (p != null) return p;
        }
        return CACHE.computeIfAbsent(device, d -> {
            for (BackendProvider p : ServiceLoader.load(BackendProvider.class)) {
                if (p.kind() != d.kind()) continue;
                Backend b = p.create(d);
                if (b != null) return b;
            }
            throw new IllegalStateException("no backend for device " + d + ": " + unavailableReason(d)
                + " (Backends.bestAvailable() gives the CPU where CUDA is not usable)");
        });
    }

    /** Why {@code device} cannot be used, or null when it can. */
    public static String unavailableReason(Device device) {
        if (device.isCpu()) return null;
        String reason = "no " + device.kind() + " backend on the class path";
        for (BackendProvider p : ServiceLoader.load(BackendProvider.class)) {
            if (p.kind() != device.kind()) continue;
            String r = p.unavailableReason(device);
            if (r == null) return null;
            reason = r;
        }
        return reason;
    }

    private static volatile boolean fellBack;

    /** CUDA when it is usable, else the CPU, with one log line saying why. */
    public static Device bestAvailable() {
        Device cuda = Device.cuda(0);
        String why = unavailableReason(cuda);
        if (why == null) return cuda;
        if (!fellBack) {   // one line per process, however often a device is chosen
            fellBack = true;
            LOG.info("using the CPU: CUDA is not usable (" + why + ")");
        }
        return Device.CPU;
    }
}
