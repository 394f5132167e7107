package org.pulmo.examples;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.pulmo.backend.Backends;
import org.pulmo.tensor.Device;

/** Small helpers shared by the commands. */
final class Cli {
    private Cli() {}

    /**
     * auto (a usable GPU, else the CPU), cpu or cuda[:N]. Asking for a GPU that is not usable is an error that
     * says why (no driver, no cuDNN, ...), not a silent fall back to the CPU.
     */
    static Device device(String name) {
        Device want = name.equalsIgnoreCase("auto") ? Backends.bestAvailable() : Device.parse(name);
        if (want.isCpu()) return Device.CPU;
        String why = Backends.unavailableReason(want);
        if (why != null) throw new IllegalArgumentException("device " + want + " is not usable: " + why);
        return want;
    }

    /**
     * Runs {@code stop} on the first Ctrl-C (SIGINT) or SIGTERM instead of ending the JVM; a second one ends it
     * at once (exit code 130). Closing restores the previous handlers.
     *
     * <p>Why a signal handler and not a shutdown hook: a hook runs after the JVM has begun to shut down, and
     * the JVM halts as soon as the hook returns. With the hook, a SIGINT that came right after an epoch's
     * checkpoint ended the child JVM of {@code CtrlCTest} with 130 but without the trainer's "Interrupted"
     * line or {@code interrupted.safetensors}: whatever the training thread then needs that shutdown forbids
     * (registering a shutdown hook, as first-time font set-up for the plots may) fails, and the JVM halts before
     * the error is printed. With the handler the JVM keeps running, the trainer saves and returns, and the
     * command exits normally.
     */
    @SuppressWarnings("sunapi")
    static AutoCloseable onInterrupt(Runnable stop) {
        AtomicBoolean asked = new AtomicBoolean();
        List<Runnable> restore = new ArrayList<>();
        for (String name : new String[] {"INT", "TERM"}) {
            try {
                sun.misc.Signal signal = new sun.misc.Signal(name);
                sun.misc.SignalHandler old = sun.misc.Signal.handle(signal, sig -> {
                    if (asked.getAndSet(true)) Runtime.getRuntime().halt(128 + sig.getNumber()); // the second: quit now
                    System.err.println("\npulmo: stopping after this batch and saving (once more to quit at once)");
                    stop.run();
                });
                restore.add(() -> sun.misc.Signal.handle(signal, old));
            } catch (IllegalArgumentException | UnsupportedOperationException notHere) {
                // the JVM runs with -Xrs or the platform has no such signal: the default (exit) stays
            }
        }
        return () -> restore.forEach(Runnable::run);
    }
}
