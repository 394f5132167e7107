package org.pulmo.examples;

import java.util.Locale;
import org.pulmo.backend.Backends;
import org.pulmo.tensor.Device;
import picocli.CommandLine.Option;

/** {@code --device} and {@code --precision}, shared by the commands that run a model. */
final class DeviceOptions {
    @Option(names = "--device", defaultValue = "auto", description = "auto (a usable GPU, else the CPU), cpu or cuda (GPU 0; CUDA_VISIBLE_DEVICES chooses which GPU that is) (default: ${DEFAULT-VALUE}).")
    String device;

    // Departure: the papers trained in float32 (MA-Net on a GTX 1070, without TF32); on cuda TF32 is the default, as for
    // PyTorch's cuDNN convolutions, and --precision fp32 computes as they did (docs/FIDELITY.md).
    @Option(names = "--precision", description = "On cuda: tf32 (convolutions and matrix products on TF32 tensor cores, as PyTorch's"
        + " cuDNN convolutions by default) or fp32 (full float32 throughout, slower). Default tf32; the CPU always computes in FP32.")
    String precision;

    @Option(names = "--deterministic", description = "On cuda: only the convolution algorithms cuDNN reports as deterministic, so that"
        + " the same command gives the same numbers bit for bit (some are slower). The CPU always is.")
    boolean deterministic;

    /** The device asked for, its backend set to the precision asked for; a bad value is refused naming the option. */
    Device resolve() {
        String p = precision == null ? null : precision.toLowerCase(Locale.ROOT);
        if (p != null && !p.equals("fp32") && !p.equals("tf32"))
            throw new IllegalArgumentException("--precision must be fp32 or tf32, got '" + precision + "'");
        Device dev = Cli.device(device);
        if (p != null) {
            if (dev.isCpu() && p.equals("tf32")) System.out.println("--precision tf32: the CPU has no TF32 and computes in FP32.");
            Backends.of(dev).setStrictFp32(p.equals("fp32"));
        }
        if (deterministic) Backends.of(dev).setDeterministic(true);
        return dev;
    }
}
