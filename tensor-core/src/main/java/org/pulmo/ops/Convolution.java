package org.pulmo.ops;

import org.pulmo.autograd.Graph;
import org.pulmo.backend.Conv2dParams;
import org.pulmo.tensor.Shapes;
import org.pulmo.tensor.Tensor;

/** 2-D convolution (cross-correlation, as every framework computes it) over NCHW with OIHW weights. */
public final class Convolution {
    private Convolution() {}

    /**
     * x [N, Cin, H, W], w [Cout, Cin/groups, kH, kW], bias [Cout] or null -> y [N, Cout, outH, outW].
     * Backward: dx = conv-transpose of dy with w, dw = correlation of x with dy, dbias = sum of dy over N, H, W.
     */
    public static Tensor conv2d(Tensor x, Tensor w, Tensor bias, Conv2dParams p) {
        var be = Elementwise.backend("conv2d", x, w);
        int[] xs = x.shape(), ws = w.shape();
        if (xs.length != 4 || ws.length != 4)
            throw new IllegalArgumentException("conv2d: input must be [N, C, H, W] and weight [Cout, Cin/groups, kH, kW], got "
                + Shapes.str(xs) + " and " + Shapes.str(ws));
        if (xs[1] != ws[1] * p.groups() || ws[0] % p.groups() != 0)
            throw new IllegalArgumentException("conv2d: input " + Shapes.str(xs) + " and weight " + Shapes.str(ws)
                + " do not agree for groups=" + p.groups() + " (need Cin = weight[1] * groups and Cout divisible by groups)");
        int oh = p.outH(xs[2], ws[2]), ow = p.outW(xs[3], ws[3]);
        if (oh < 1 || ow < 1)
            throw new IllegalArgumentException("conv2d: input " + Shapes.str(xs) + " is too small for kernel " + ws[2] + "x" + ws[3] + " with " + p);
        if (bias != null && (bias.dim() != 1 || bias.shape()[0] != ws[0]))
            throw new IllegalArgumentException("conv2d: bias shape " + Shapes.str(bias.shape()) + " does not match " + ws[0] + " output channels");
        Tensor y = be.conv2d(x, w, p);
        Tensor out = Graph.record("conv2d", y, g -> new Tensor[] {
            x.requiresGrad() ? be.conv2dBackwardInput(g, w, xs, p) : null,
            w.requiresGrad() ? be.conv2dBackwardWeight(x, g, ws, p) : null}, x, w);
        return bias == null ? out : Elementwise.add(out, Views.reshape(bias, 1, ws[0], 1, 1));
    }
}
