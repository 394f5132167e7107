package org.pulmo.backend.cpu;

import org.pulmo.backend.Conv2dParams;
import org.pulmo.tensor.HostArrays;

/**
 * 2-D convolution on raw arrays, no bias: x [N, C, H, W] (NCHW), weight [Cout, C/groups, kH, kW] (OIHW),
 * y [N, Cout, outH, outW], with stride, zero padding, dilation and groups from {@link Conv2dParams}:
 *
 * <pre>  y[n, o, i, j] = sum_{c in group(o), a, b} w[o, c, a, b] * x[n, c, i*sH - pH + a*dH, j*sW - pW + b*dW]</pre>
 *
 * FLOPs: 2 * N * Cout * outH * outW * (C/groups) * kH * kW for each of forward, backwardInput and
 * backwardWeight. Four implementations, picked per call:
 * <ul>
 * <li><b>Winograd F(2x2, 3x3)</b> ({@link Winograd}; dense 3x3, stride 1, dilation 1, padding at most 2,
 *   enough channels and output tiles over the batch, see {@link #WINOGRAD_MIN_WORK}: ResNet's stride-1
 *   3x3s at batch 8, 224x224): 16 GEMMs over all tiles of the batch, 4 multiplies per
 *   output and input channel instead of 9, plus transforms that are linear in the channel counts. All
 *   three passes. F(4x4, 3x3) (2.25 multiplies) is kept beside it, selectable with {@link #setWinograd}.</li>
 * <li><b>Batched im2col + one SGEMM</b> ({@link BatchedGemmConv}; batch > 1, output planes of at most 64
 *   positions, e.g. ResNet-50 layer4): the whole batch is unfolded into col [C*kH*kW, N*outH*outW]
 *   so that one GEMM with n = N*outH*outW replaces N GEMMs with n = 16 or 49; grouped convs that the direct
 *   kernels do not take (stride 2), one such GEMM per group.</li>
 * <li><b>im2col + SGEMM</b> ({@link GemmConv}; dense convs and the grouped ones no other path takes): per sample
 *   and group, y_g = W_g * col, dcol = W_g^T * dy_g (folded back by col2im), dW_g += dy_g * col^T.</li>
 * <li><b>Direct</b> ({@link DirectConv}, unrolled kernels in {@link DirectConvKernels}; groups > 1 with at
 *   most 64 output channels per group, stride 1: the DPN grouped 3x3s, depthwise convs): each tap is a constant
 *   shift into a zero-padded copy of the group's input, up to 4 output channels x 4 vectors per step.</li>
 * </ul>
 * This class picks the implementation; the sizes of a call are a {@link ConvGeom}. The op's page,
 * {@link org.pulmo.ops.Convolution}, has the definition, the backward and the plain-loop reference the tests hold
 * every implementation to (CpuConvTest, WinogradTest; benchmarks: Conv2dBench, ResNetConvProfile).
 */
public final class CpuConv {
    private CpuConv() {}

    // ------------------------------------------------------------------------------------------------
    // Forward

    /** y [n, cOut, outH, outW] = conv(x [n, cIn, h, w], wt [cOut, cIn/groups, kH, kW]). */
    public static float[] forward(float[] x, int n, int cIn, int h, int w, float[] wt, int cOut, int kH, int kW, Conv2dParams p) {
        ConvGeom d = ConvGeom.of(n, cIn, h, w, cOut, kH, kW, p);
        d.checkLengths(x, "x", (long) n * cIn * h * w, wt, null, null, 0);
        Winograd.Variant wv = winograd(d);
        // Every path assigns each output once (GEMM with beta = 0, Winograd's output transform, the direct kernel's
        // row copies out of its padded-width buffer), so y needs no zero fill.
        float[] y = HostArrays.uninitialized(n * cOut * d.outPlane());
        if (wv != null) Winograd.forward(wv, x, n, cIn, h, w, wt, false, cOut, p.padH(), p.padW(), y);
        else if (DirectConv.fits(d)) DirectConv.forward(d, x, wt, y);
        else if (BatchedGemmConv.fits(d)) BatchedGemmConv.forward(d, x, wt, y);
        else GemmConv.forward(d, x, wt, y);
        return y;
    }

    // ------------------------------------------------------------------------------------------------
    // Winograd F(2x2, 3x3) (or F(4x4, 3x3)) for dense 3x3 stride-1 convs (see Winograd)

    /** Output tile of the Winograd path: 2 (F(2x2, 3x3)), 4 (F(4x4, 3x3)) or 0 (off). */
    private static volatile int winogradTile = Integer.getInteger("pulmo.conv.winograd", 2);
    /**
     * Winograd pays only when its GEMMs (m = Cout, k = C, n = N*tiles) outweigh its transforms, which move
     * alpha^2 / tile^2 = 4 (F(2x2)) floats per input and output value through memory and are linear in the
     * channels: fewer channels leave little GEMM work per transformed value, fewer tiles leave GEMMs too small
     * to run near peak. Measured with ResNetConvProfile (RESULTS.md) per ResNet-50 layer: faster at
     * (C, tiles) = (64, 6272), (128, 1568), (256, 392), (512, 128); slower at (64, 784), (512, 16); about even
     * at (128, 196), (256, 64). Hence min(C, Cout) >= 64 and min(C, Cout) * tiles >= 65536.
     */
    static final int WINOGRAD_MIN_CHANNELS = Integer.getInteger("pulmo.conv.winogradChannels", 64);
    static final long WINOGRAD_MIN_WORK = Long.getLong("pulmo.conv.winogradWork", 65536);

    /**
     * Selects the Winograd version for dense 3x3 stride-1 convs: output tile 2 or 4, or 0 for none (the
     * im2col + SGEMM path then serves those shapes); for A/B measurements in one JVM. Default 2;
     * {@code -Dpulmo.conv.winograd=T} sets it at start-up.
     */
    public static void setWinograd(int outputTile) {
        if (outputTile != 0 && outputTile != 2 && outputTile != 4) throw new IllegalArgumentException("conv2d: Winograd output tile " + outputTile + " is not 0, 2 or 4");
        winogradTile = outputTile;
    }

    static int winogradTile() { return winogradTile; }

    /** Whether a conv of these sizes runs on the Winograd path (for tests). */
    static boolean useWinograd(int n, int cIn, int h, int w, int cOut, int kH, int kW, Conv2dParams p) {
        return winograd(ConvGeom.of(n, cIn, h, w, cOut, kH, kW, p)) != null;
    }

    /** The Winograd version for this conv, or null when it takes another path. */
    private static Winograd.Variant winograd(ConvGeom d) {
        int tile = winogradTile;
        if (tile == 0) return null;
        Winograd.Variant v = Winograd.Variant.ofTile(tile);
        Conv2dParams p = d.p();
        boolean fits = d.n() > 0 && d.groups() == 1 && d.kH() == 3 && d.kW() == 3
                && p.strideH() == 1 && p.strideW() == 1 && p.dilationH() == 1 && p.dilationW() == 1
                && p.padH() <= 2 && p.padW() <= 2
                && Math.min(d.c(), d.cOut()) >= WINOGRAD_MIN_CHANNELS
                && (long) Math.min(d.c(), d.cOut()) * d.n() * Winograd.tilesH(v, d.oh()) * Winograd.tilesH(v, d.ow()) >= WINOGRAD_MIN_WORK;
        return fits ? v : null;
    }


    // ------------------------------------------------------------------------------------------------
    // Backward, input: dx = conv^T(dy, w)

    /** dx [n, cIn, h, w] from dy [n, cOut, outH, outW] and wt [cOut, cIn/groups, kH, kW]. */
    public static float[] backwardInput(float[] dy, int n, int cIn, int h, int w, float[] wt, int cOut, int kH, int kW, Conv2dParams p) {
        ConvGeom d = ConvGeom.of(n, cIn, h, w, cOut, kH, kW, p);
        d.checkLengths(dy, "dy", (long) n * cOut * d.outPlane(), wt, null, null, 0);
        int padH2 = p.dilationH() * (kH - 1) - p.padH(), padW2 = p.dilationW() * (kW - 1) - p.padW();
        Winograd.Variant wv = winograd(d);
        // Winograd, the direct kernel (a forward conv of dy) and the pointwise GEMMs (beta = 0) assign every dx; col2im adds into it.
        boolean direct = wv == null && DirectConv.fits(d) && padH2 >= 0 && padW2 >= 0;
        boolean assigns = wv != null || direct || (GemmConv.isPointwise(d) && !DirectConv.fits(d));
        int len = n * cIn * h * w;
        float[] dx = assigns ? HostArrays.uninitialized(len) : HostArrays.zeroed(len);
        if (wv != null) {
            // The same transposed conv as below (dy padded by 2 - pad, flipped and transposed weight), by Winograd.
            Winograd.forward(wv, dy, n, cOut, d.oh(), d.ow(), wt, true, cIn, padH2, padW2, dx);
        } else if (direct) {
            // Stride 1: a conv of dy with the flipped, transposed weight.
            DirectConv.backwardInput(d, dy, wt, dx, padH2, padW2);
        } else if (BatchedGemmConv.fits(d)) {
            BatchedGemmConv.backwardInput(d, dy, wt, dx);
        } else {
            GemmConv.backwardInput(d, dy, wt, dx);
        }
        return dx;
    }

    // ------------------------------------------------------------------------------------------------
    // Backward, weight: dW = sum over samples of dy (x) x

    /** dW [cOut, cIn/groups, kH, kW] from x [n, cIn, h, w] and dy [n, cOut, outH, outW]. */
    public static float[] backwardWeight(float[] x, float[] dy, int n, int cIn, int h, int w, int cOut, int kH, int kW, Conv2dParams p) {
        ConvGeom d = ConvGeom.of(n, cIn, h, w, cOut, kH, kW, p);
        d.checkLengths(x, "x", (long) n * cIn * h * w, null, dy, "dy", (long) n * cOut * d.outPlane());
        float[] dw = HostArrays.zeroed(cOut * d.colRows());
        if (n == 0) return dw;
        Winograd.Variant wv = winograd(d);
        if (wv != null) Winograd.backwardWeight(wv, x, dy, n, cIn, h, w, cOut, p.padH(), p.padW(), dw);
        else if (DirectConv.fits(d)) DirectConv.backwardWeight(d, x, dy, dw);
        else if (BatchedGemmConv.fits(d)) BatchedGemmConv.backwardWeight(d, x, dy, dw);
        else GemmConv.backwardWeight(d, x, dy, dw);
        return dw;
    }
}
