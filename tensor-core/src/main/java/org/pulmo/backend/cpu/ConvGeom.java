package org.pulmo.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.pulmo.backend.Conv2dParams;

/** The sizes of one {@link CpuConv} call, checked once; shared by every strategy. */
record ConvGeom(int n, int c, int h, int w, int cOut, int kH, int kW, Conv2dParams p,
                int groups, int cg, int og, int oh, int ow, int kk) {
    static ConvGeom of(int n, int c, int h, int w, int cOut, int kH, int kW, Conv2dParams p) {
        int g = p.groups();
        if (c % g != 0 || cOut % g != 0) {
            throw new IllegalArgumentException("conv2d: channels " + c + " -> " + cOut + " not divisible by groups " + g);
        }
        int oh = p.outH(h, kH), ow = p.outW(w, kW);
        if (n < 0 || kH < 1 || kW < 1 || oh < 1 || ow < 1) {
            throw new IllegalArgumentException("conv2d: empty output for input " + h + "x" + w + ", kernel " + kH + "x" + kW + ", " + p);
        }
        return new ConvGeom(n, c, h, w, cOut, kH, kW, p, g, c / g, cOut / g, oh, ow, kH * kW);
    }

    int inPlane() { return h * w; }
    int outPlane() { return oh * ow; }
    /** Rows of the unfolded matrix (GEMM k for forward). */
    int colRows() { return cg * kk; }
    long flopsPerItem() { return 2L * og * outPlane() * colRows(); }

    void checkLengths(float[] x, String xName, long xLen, float[] wt, float[] y, String yName, long yLen) {
        if (x != null && x.length != xLen) throw new IllegalArgumentException("conv2d: " + xName + " has " + x.length + " values, expected " + xLen);
        if (wt != null && wt.length != (long) cOut * cg * kk) throw new IllegalArgumentException("conv2d: weight has " + wt.length + " values, expected " + (long) cOut * cg * kk);
        if (y != null && y.length != yLen) throw new IllegalArgumentException("conv2d: " + yName + " has " + y.length + " values, expected " + yLen);
    }

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();

    /**
     * rows rows of len floats: dst[t + r*ds ..] = src[s + r*ss ..], r < rows. Rows under a vector (the 2 x 2 and 1 x 1
     * planes of the last stages at small inputs, tens of thousands of them a call) are copied by loops with the row
     * length fixed, where a call of {@link #copyRow} per row spent more on its set-up than on its 1 to 4 values.
     */
    static void copyRows(float[] src, int s, int ss, float[] dst, int t, int ds, int rows, int len) {
        switch (len) {
            case 1 -> { for (int r = 0; r < rows; r++) dst[t + r * ds] = src[s + r * ss]; }
            case 4 -> {
                for (int r = 0, a = s, b = t; r < rows; r++, a += ss, b += ds) {
                    dst[b] = src[a]; dst[b + 1] = src[a + 1]; dst[b + 2] = src[a + 2]; dst[b + 3] = src[a + 3];
                }
            }
            default -> { for (int r = 0; r < rows; r++) copyRow(src, s + r * ss, dst, t + r * ds, len); }
        }
    }

    /** dst[t .. t+len) = src[s .. s+len). Short rows are the norm here, where System.arraycopy's call cost shows. */
    static void copyRow(float[] src, int s, float[] dst, int t, int len) {
        if (len < L) {
            for (int i = 0; i < len; i++) dst[t + i] = src[s + i];
            return;
        }
        int i = 0;
        for (; i + L <= len; i += L) FloatVector.fromArray(S, src, s + i).intoArray(dst, t + i);
        // The last, partial vector overlaps the previous one: rewriting equal values is harmless.
        if (i < len) FloatVector.fromArray(S, src, s + len - L).intoArray(dst, t + len - L);
    }
}
