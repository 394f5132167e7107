package org.pulmo.backend;

import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * Wraps a backend and adds up wall time and calls per backend method (conv2d, batchNormBackward, ...),
 * counting only the outermost call on each thread, so that a kernel which reads a small tensor back through
 * the backend is not counted twice. Started with {@link Backends#startCpuProfile()} or, for any device,
 * {@link Backends#startProfile}.
 *
 * <p>On a device, whose ops return as soon as their work is queued, each outermost call ends with
 * {@link Backend#synchronize()}, so that its time is the device's time for it (plus one launch and one wait,
 * some microseconds: a per-op breakdown of a step, not the step's own speed, which this waiting slows).
 *
 * <p>Where the backend counts the tensor storage it hands out ({@link Backend#allocatedBytes()}, a device backend), each
 * row also sums the bytes its calls allocated: outputs and dense copies, a device-independent lower bound on the memory
 * traffic of the row's kernels.
 */
public final class ProfilingBackend {
    private final Backend target;
    /** Per row: nanoseconds, calls, bytes allocated. */
    private final Map<String, LongAdder[]> stats = new ConcurrentHashMap<>();
    private final ThreadLocal<int[]> depth = ThreadLocal.withInitial(() -> new int[1]);

    /** Whether calls are told apart by their arguments' shapes as well as by method. */
    private final boolean byShape;
    /** Whether each outermost call waits for the device to finish it (a device backend). */
    private final boolean waitEach;
    /** Whether the backend counts the bytes it allocates. */
    private final boolean countsBytes;

    ProfilingBackend(Backend target, boolean byShape, boolean waitEach) {
        this.target = target;
        this.byShape = byShape;
        this.waitEach = waitEach;
        this.countsBytes = target.allocatedBytes() >= 0;
    }

    /** " [8, 64, 56, 56] [64, 64, 3, 3]": the shapes of the tensor and int[] arguments (conv2d's x, w; a backward's xShape). */
    private static String shapes(Object[] args) {
        StringBuilder sb = new StringBuilder();
        if (args != null) for (Object a : args) {
            if (a instanceof org.pulmo.tensor.Tensor t) sb.append(' ').append(java.util.Arrays.toString(t.shape()));
            else if (a instanceof int[] ints) sb.append(' ').append(java.util.Arrays.toString(ints));
        }
        return sb.toString();
    }

    Backend proxy() {
        return (Backend) Proxy.newProxyInstance(Backend.class.getClassLoader(), new Class<?>[] {Backend.class}, (p, m, args) -> {
            if (m.getDeclaringClass() == Object.class)   // identity (a map keyed by backend), not an op: neither timed nor waited for
                return switch (m.getName()) {
                    case "hashCode" -> System.identityHashCode(p);
                    case "equals" -> p == args[0];
                    default -> "profiled " + target;
                };
            if (waitEach && (m.getName().equals("capture") || m.getName().equals("captureUnsupported"))) {   // waiting after every op and recording exclude each other
                String why = "the profiler waits for every op, and nothing waits while work is being recorded";
                if (m.getName().equals("captureUnsupported")) return why;
                throw new UnsupportedOperationException(why);
            }
            int[] d = depth.get();
            boolean outer = d[0] == 0;
            long b0 = outer && countsBytes ? target.allocatedBytes() : 0;
            long t0 = outer ? System.nanoTime() : 0;
            d[0]++;
            boolean ok = false;
            try {
                Object r = m.invoke(target, args);
                ok = true;
                return r;
            } catch (InvocationTargetException e) {
                throw e.getCause();
            } finally {
                d[0]--;
                if (d[0] == 0) {
                    if (waitEach && ok) target.synchronize();
                    long t1 = System.nanoTime();
                    LongAdder[] s = stats.computeIfAbsent(byShape ? m.getName() + shapes(args) : m.getName(),
                        k -> new LongAdder[] {new LongAdder(), new LongAdder(), new LongAdder()});
                    s[0].add(t1 - t0);
                    s[1].increment();
                    if (countsBytes) s[2].add(target.allocatedBytes() - b0);
                }
            }
        });
    }

    /** One row: its total time, its calls and the bytes they allocated (-1 where the backend does not count them). */
    public record Entry(String method, long nanos, long calls, long bytes) {}

    /** Methods by total time, largest first. */
    public List<Entry> entries() {
        List<Entry> list = new ArrayList<>();
        stats.forEach((k, v) -> list.add(new Entry(k, v[0].sum(), v[1].sum(), countsBytes ? v[2].sum() : -1)));
        list.sort((a, b) -> Long.compare(b.nanos, a.nanos));
        return list;
    }

    public void reset() { stats.clear(); }

    /**
     * A table: method, total ms, share of the backend's total, calls, mean microseconds per call, and where the backend
     * counts them, the megabytes (10^6 B) the row's calls allocated.
     */
    public String table() {
        List<Entry> es = entries();
        long total = es.stream().mapToLong(Entry::nanos).sum();
        int w = Math.max(24, es.stream().mapToInt(e -> e.method.length()).max().orElse(0));   // the name column fits the longest row
        String mb = countsBytes ? String.format(Locale.ROOT, " %10s", "alloc MB") : "";
        StringBuilder sb = new StringBuilder(String.format(Locale.ROOT, "%-" + w + "s %10s %7s %8s %10s%s%n", "backend method", "total ms", "share", "calls", "us/call", mb));
        for (Entry e : es)
            sb.append(String.format(Locale.ROOT, "%-" + w + "s %10.1f %6.1f%% %8d %10.1f%s%n", e.method, e.nanos / 1e6,
                100.0 * e.nanos / Math.max(total, 1), e.calls, e.nanos / 1e3 / Math.max(e.calls, 1),
                countsBytes ? String.format(Locale.ROOT, " %10.1f", e.bytes / 1e6) : ""));
        sb.append(String.format(Locale.ROOT, "%-" + w + "s %10.1f%s%n", "all backend calls", total / 1e6,
            countsBytes ? String.format(Locale.ROOT, "%28s %10.1f", "", es.stream().mapToLong(Entry::bytes).sum() / 1e6) : ""));
        return sb.toString();
    }
}
