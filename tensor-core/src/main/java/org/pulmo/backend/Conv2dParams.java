package org.pulmo.backend;

/**
 * Geometry of a 2-D convolution over NCHW input with an OIHW weight ([Cout, Cin/groups, kH, kW]).
 * Output size per axis: (in + 2*pad - dilation*(k-1) - 1) / stride + 1, as in PyTorch.
 */
public record Conv2dParams(int strideH, int strideW, int padH, int padW, int dilationH, int dilationW, int groups) {

    public Conv2dParams {
        if (strideH < 1 || strideW < 1) throw new IllegalArgumentException("conv2d: stride must be >= 1, got " + strideH + "x" + strideW);
        if (padH < 0 || padW < 0) throw new IllegalArgumentException("conv2d: padding must be >= 0, got " + padH + "x" + padW);
        if (dilationH < 1 || dilationW < 1) throw new IllegalArgumentException("conv2d: dilation must be >= 1, got " + dilationH + "x" + dilationW);
        if (groups < 1) throw new IllegalArgumentException("conv2d: groups must be >= 1, got " + groups);
    }

    /** "stride 2, padding 1, dilation 1, groups 32" (each "HxW" where the two axes differ), for messages. */
    public String describe() {
        return "stride " + pair(strideH, strideW) + ", padding " + pair(padH, padW) + ", dilation " + pair(dilationH, dilationW)
            + ", groups " + groups;
    }

    private static String pair(int h, int w) { return h == w ? Integer.toString(h) : h + "x" + w; }

    public static Conv2dParams of(int stride, int padding, int dilation, int groups) {
        return new Conv2dParams(stride, stride, padding, padding, dilation, dilation, groups);
    }

    // floorDiv: a kernel larger than the padded input gives no output (0 or less), not 1 as / would round it
    public int outH(int inH, int kH) { return out(inH, kH, padH, dilationH, strideH); }

    public int outW(int inW, int kW) { return out(inW, kW, padW, dilationW, strideW); }

    /** In long arithmetic, clamped to an int: a padding of 2^30 wrapped the size around before. */
    private static int out(int in, int k, int pad, int dilation, int stride) {
        long o = Math.floorDiv((long) in + 2L * pad - (long) dilation * (k - 1) - 1, (long) stride) + 1;
        return (int) Math.max(Integer.MIN_VALUE, Math.min(Integer.MAX_VALUE, o));
    }
}
