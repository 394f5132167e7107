package org.pulmo.backend;

/**
 * Window of a 2-D max or average pool over NCHW input. Output size per axis:
 * (in + 2*pad - k) / stride + 1 (floor mode, as PyTorch's default). Average pooling divides by the
 * full window (padding counted) when {@code countIncludePad}, else by the in-bounds part.
 */
public record Pool2dParams(int kH, int kW, int strideH, int strideW, int padH, int padW, boolean countIncludePad) {

    public Pool2dParams {
        if (kH < 1 || kW < 1) throw new IllegalArgumentException("pool2d: kernel must be >= 1, got " + kH + "x" + kW);
        if (strideH < 1 || strideW < 1) throw new IllegalArgumentException("pool2d: stride must be >= 1, got " + strideH + "x" + strideW);
        if (padH < 0 || padW < 0 || 2 * padH > kH || 2 * padW > kW)
            throw new IllegalArgumentException("pool2d: padding must be in [0, kernel/2], got " + padH + "x" + padW + " for kernel " + kH + "x" + kW);
    }

    public static Pool2dParams of(int kernel, int stride, int padding) {
        return new Pool2dParams(kernel, kernel, stride, stride, padding, padding, true);
    }

    // floorDiv: a window larger than the padded input gives no output (0 or less), not 1 as / would round it
    public int outH(int inH) { return Math.floorDiv(inH + 2 * padH - kH, strideH) + 1; }

    public int outW(int inW) { return Math.floorDiv(inW + 2 * padW - kW, strideW) + 1; }
}
