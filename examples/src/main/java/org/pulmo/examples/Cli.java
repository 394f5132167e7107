package org.pulmo.examples;

import java.util.logging.Logger;
import org.pulmo.backend.Backends;
import org.pulmo.tensor.Device;

/** Small helpers shared by the commands. */
final class Cli {
    private Cli() {}

    private static final Logger LOG = Logger.getLogger("pulmo");

    /**
     * auto, cpu or cuda[:N]. A usable GPU is reported, but the nn modules keep their parameters on the CPU (nn
     * has no Module.to(Device) yet), so the work runs on the CPU.
     */
    static Device device(String name) {
        Device want = name.equalsIgnoreCase("auto") ? Backends.bestAvailable() : Device.parse(name);
        if (want.isCpu()) return Device.CPU;
        String why = Backends.unavailableReason(want);
        if (why != null) throw new IllegalArgumentException("device " + want + " is not usable: " + why);
        LOG.warning(want + " is usable, but models cannot be moved to it yet (nn has no Module.to(Device)); running on the CPU");
        return Device.CPU;
    }
}
