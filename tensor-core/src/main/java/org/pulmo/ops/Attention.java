package org.pulmo.ops;

import java.util.Arrays;
import org.pulmo.autograd.Graph;
import org.pulmo.backend.Backend;
import org.pulmo.tensor.Shapes;
import org.pulmo.tensor.Tensor;

/**
 * The attention ops of the two papers as single differentiable ops, each one backend call forward and one
 * backward (fused on the CPU and CUDA backends, composed from primitives elsewhere): MA-Net's mutex
 * attention (eq. 3-5) and FAB fusion (eq. 10-11), and Squeeze-and-Excitation's channel scale (eq. 4).
 * The compositions they replace (sub, square, softmax, mul; sigmoid and two products) give the same values;
 * these save the memory of their intermediates and most of the passes.
 */
public final class Attention {
    private Attention() {}

    private static Backend backend(String op, Tensor... ts) {
        for (Tensor t : ts)
            if (!t.device().equals(ts[0].device()))
                throw new IllegalArgumentException(op + ": tensors on different devices: " + ts[0].device() + " and " + t.device());
        return ts[0].backend();
    }

    private static void requireMaps(String op, Tensor a, Tensor b) {
        if (a.dim() != 4 || !Arrays.equals(a.shape(), b.shape()))
            throw new IllegalArgumentException(op + " needs two [N, C, H, W] maps of one shape, got "
                + Shapes.str(a.shape()) + " and " + Shapes.str(b.shape()));
    }

    private static void requirePerChannel(String op, Tensor map, Tensor z) {
        int[] s = map.shape();
        if (!Arrays.equals(z.shape(), new int[] {s[0], s[1]}))
            throw new IllegalArgumentException(op + " needs per-channel values [" + s[0] + ", " + s[1] + "] for a map "
                + Shapes.str(s) + ", got " + Shapes.str(z.shape()));
    }

    /**
     * MAB (MA-Net Fig. 3): F_am = softmax_HW((F_rei - F_rem)^2) (.) F_rem, per sample and channel.
     * Saved for backward: the two inputs (the graph holds them anyway) and lse [N, C], the log of each
     * plane's softmax denominator, from which backward rebuilds the softmax (no [N, C, H, W] kept).
     */
    public static Tensor mutexAttention(Tensor fRei, Tensor fRem) {
        requireMaps("mutexAttention", fRei, fRem);
        Backend be = backend("mutexAttention", fRei, fRem);
        Tensor[] out = be.mutexAttention(fRei, fRem);
        Tensor lse = out[1];
        // dP = g F_rem; dD = P (dP - sum_hw P dP); dF_rei = 2 (F_rei - F_rem) dD; dF_rem = g P - dF_rei
        return Graph.record("mutexAttention", out[0], g -> {
            Tensor[] d = be.mutexAttentionBackward(fRei, fRem, lse, g);
            return new Tensor[] {fRei.requiresGrad() ? d[0] : null, fRem.requiresGrad() ? d[1] : null};
        }, fRei, fRem);
    }

    /** SE's F_scale: y = x (.) s[n, c] for x [N, C, H, W] and s [N, C]. Saves x and s (both graph inputs). */
    public static Tensor channelScale(Tensor x, Tensor s) {
        if (x.dim() != 4) throw new IllegalArgumentException("channelScale needs x [N, C, H, W], got " + Shapes.str(x.shape()));
        requirePerChannel("channelScale", x, s);
        Backend be = backend("channelScale", x, s);
        // dx = g s[n, c];  ds[n, c] = sum_hw g x
        return Graph.record("channelScale", be.channelScale(x, s), g -> {
            Tensor[] d = be.channelScaleBackward(x, s, g);
            return new Tensor[] {x.requiresGrad() ? d[0] : null, s.requiresGrad() ? d[1] : null};
        }, x, s);
    }

    /**
     * FAB's fusion (MA-Net eq. 10-11): alpha = e^z1 / (e^z1 + e^z2) per sample and channel, y = alpha x1 +
     * (1 - alpha) x2. x1, x2 [N, C, H, W]; z1, z2 [N, C] (the paper's M and N). Saves the four inputs.
     */
    public static Tensor fabFuse(Tensor x1, Tensor x2, Tensor z1, Tensor z2) {
        requireMaps("fabFuse", x1, x2);
        requirePerChannel("fabFuse", x1, z1);
        requirePerChannel("fabFuse", x1, z2);
        Backend be = backend("fabFuse", x1, x2, z1, z2);
        // dx1 = alpha g; dx2 = (1 - alpha) g; dz1 = alpha (1 - alpha) sum_hw g (x1 - x2); dz2 = -dz1
        return Graph.record("fabFuse", be.fabFuse(x1, x2, z1, z2), g -> {
            Tensor[] d = be.fabFuseBackward(x1, x2, z1, z2, g);
            Tensor[] in = {x1, x2, z1, z2};
            for (int i = 0; i < 4; i++) if (!in[i].requiresGrad()) d[i] = null;
            return d;
        }, x1, x2, z1, z2);
    }
}
