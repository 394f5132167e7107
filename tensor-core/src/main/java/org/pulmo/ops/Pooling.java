package org.pulmo.ops;

import org.pulmo.autograd.Graph;
import org.pulmo.backend.Pool2dParams;
import org.pulmo.tensor.Shapes;
import org.pulmo.tensor.Tensor;

/** Max and average pooling over NCHW, and the global pools that end a CNN and feed SE / FAB. */
public final class Pooling {
    private Pooling() {}

    private static void check4d(Tensor x, String op) {
        if (x.dim() != 4) throw new IllegalArgumentException(op + " needs [N, C, H, W] input, got " + Shapes.str(x.shape()));
    }

    /** A window that fits the padded input at least once (PyTorch: "output size is too small"). */
    private static void checkWindow(Tensor x, Pool2dParams p, String op) {
        check4d(x, op);
        int[] xs = x.shape();
        if (p.outH(xs[2]) < 1 || p.outW(xs[3]) < 1)
            throw new IllegalArgumentException(op + ": input " + Shapes.str(xs) + " is too small for a " + p.kH() + "x" + p.kW()
                + " window with padding " + p.padH() + "x" + p.padW() + " (the padded plane is " + (xs[2] + 2 * p.padH()) + "x"
                + (xs[3] + 2 * p.padW()) + "; a model's image smaller than it was built for ends here: check the image size)");
    }

    // y = max over each window; forward keeps argmax (where each max came from) so backward routes g there
    // (a backend that finds the max again from x and y, as cuDNN does, keeps no argmax: see Backend.maxPool2dTraining)
    public static Tensor maxPool2d(Tensor x, Pool2dParams p) {
        checkWindow(x, p, "maxPool2d");
        var be = x.backend();
        var ya = be.maxPool2dTraining(x, p);
        Tensor y = ya.y().detach(), argmax = ya.argmax();
        // a backend that keeps an argmax keeps each window's source as a float32 index into its plane
        if (argmax != null) Shapes.checkIndexable((long) x.shape()[2] * x.shape()[3], "maxPool2d: the planes of " + Shapes.str(x.shape()));
        return Graph.record("maxPool2d", ya.y(), g -> new Tensor[] {be.maxPool2dBackward(g, x.detach(), y, argmax, p)}, x);
    }

    public static Tensor maxPool2d(Tensor x, int kernel, int stride, int padding) { return maxPool2d(x, Pool2dParams.of(kernel, stride, padding)); }

    // y = window mean;  each input receives g / divisor from every window that covers it
    public static Tensor avgPool2d(Tensor x, Pool2dParams p) {
        checkWindow(x, p, "avgPool2d");
        int[] xs = x.shape();
        var be = x.backend();
        return Graph.record("avgPool2d", be.avgPool2d(x, p), g -> new Tensor[] {be.avgPool2dBackward(g, xs, p)}, x);
    }

    public static Tensor avgPool2d(Tensor x, int kernel, int stride, int padding) { return avgPool2d(x, Pool2dParams.of(kernel, stride, padding)); }

    /** [N, C, H, W] -> [N, C]: the mean of each channel plane. */
    public static Tensor globalAvgPool(Tensor x) {
        check4d(x, "globalAvgPool");
        return Reductions.mean(x, new int[] {2, 3}, false);
    }

    /** [N, C, H, W] -> [N, C]: the max of each channel plane (the gradient is shared evenly among ties, as by PyTorch's amax). */
    public static Tensor globalMaxPool(Tensor x) {
        check4d(x, "globalMaxPool");
        return Reductions.max(x, new int[] {2, 3}, false);
    }
}
