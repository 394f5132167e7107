package org.pulmo.ops;

import java.util.Arrays;
import org.pulmo.backend.Backend;
import org.pulmo.tensor.Shapes;
import org.pulmo.tensor.Tensor;

/** The argument checks the attention op pages ({@link Mab}, {@link SeScale}, {@link FabFuse}) share. */
final class AttentionChecks {
    private AttentionChecks() {}

    /** The backend of tensors that must all be on one device. */
    static Backend backend(String op, Tensor... ts) {
        for (Tensor t : ts)
            if (!t.device().equals(ts[0].device()))
                throw new IllegalArgumentException(op + ": tensors on different devices: " + ts[0].device() + " and " + t.device());
        return ts[0].backend();
    }

    /** Two [N, C, H, W] maps of one shape. */
    static void requireMaps(String op, Tensor a, Tensor b) {
        if (a.dim() != 4 || !Arrays.equals(a.shape(), b.shape()))
            throw new IllegalArgumentException(op + " needs two [N, C, H, W] maps of one shape, got "
                + Shapes.str(a.shape()) + " and " + Shapes.str(b.shape()));
    }

    /** Per-channel values [N, C] for a map [N, C, H, W]. */
    static void requirePerChannel(String op, Tensor map, Tensor z) {
        int[] s = map.shape();
        if (!Arrays.equals(z.shape(), new int[] {s[0], s[1]}))
            throw new IllegalArgumentException(op + " needs per-channel values [" + s[0] + ", " + s[1] + "] for a map "
                + Shapes.str(s) + ", got " + Shapes.str(z.shape()));
    }
}
