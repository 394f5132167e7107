package org.pulmo.backend.cpu;

import static org.pulmo.backend.cpu.ConvGeom.copyRows;

import java.util.Arrays;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;
import org.pulmo.backend.Conv2dParams;

/**
 * The direct strategy of {@link CpuConv}, for groups > 1 with at most {@link #DIRECT_MAX_COUT_PER_GROUP}
 * output channels per group and stride 1: the DPN grouped 3x3, depthwise convs. One tiny GEMM per group would
 * waste the 6 x 64 SGEMM tile, so instead the group's input is copied into a zero-padded buffer with row width
 * Wp = W + 2*pW and the output is computed at every position of that padded width ("flattened" output of
 * outH rows x Wp). A tap (c, a, b) then is a constant shift of c*plane + a*dH*Wp + b*dW, so the kernel runs
 * along one contiguous run of 64 outputs, up to 4 output channels in 16 registers, one vector load per tap and
 * 16 FMAs; the columns past outW are computed and dropped (2*pW / Wp extra work). backwardInput is the same
 * kernel on dy with the flipped, transposed weight (a stride-1 transposed conv is a conv); backwardWeight uses
 * the same shifts, reducing dy * shifted x over positions, 3 taps x up to 4 output channels per pass. The
 * unrolled kernels are in {@link DirectConvKernels}.
 */
final class DirectConv {
    private DirectConv() {}

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();
    /** Output positions per direct-kernel step: 4 vectors. */
    static final int CHUNK = 4 * L;
    /**
     * The direct kernels serve groups with at most this many output channels. Measured against one im2col + SGEMM per
     * sample and group at batch 8 (Conv2dBench, RESULTS.md): direct is 2-4x faster at 3, 6, 12 and 24 channels per group
     * (DPN-92's four stages, 56x56 down to 7x7) and still ahead at 32 and 64 (28x28 to 7x7) in all but the 7x7 weight
     * gradient at 64 (about 10 % behind); the GEMM's tiles fill only past that. Every registered model's groups (DPN-68
     * to DPN-131: 3 to 40 per group) take this path. {@code -Dpulmo.conv.directPerGroup=N} moves the limit (for A/B
     * runs; 0 sends every grouped conv to the GEMM).
     */
    static final int DIRECT_MAX_COUT_PER_GROUP = Integer.getInteger("pulmo.conv.directPerGroup", 64);

    static boolean fits(ConvGeom d) {
        return d.groups() > 1 && d.og() <= DIRECT_MAX_COUT_PER_GROUP && d.p().strideH() == 1 && d.p().strideW() == 1;
    }

    /**
     * Largest stacked buffer of one group (input channels or output channels times samples times padded plane), in
     * floats: 256 KB, so that a block of samples stays in L2 while its taps are read.
     */
    private static final int STACK_MAX_FLOATS = 1 << 16;

    /**
     * Samples per block ({@link Padded#sb}): 1, each sample on its own (every shape of the papers' 224 x 224 runs); or
     * several, their padded planes stacked one after another, when a sample's outputs fill too little of a
     * {@link #CHUNK}-wide step. A tap stays one shift in the stack, since a sample's rows and its padding rows go down
     * to the next sample's. DPN-92's grouped 3x3 on 2 x 2 planes (the last stages at a 32 x 32 input): a sample has 8
     * flattened outputs (2 rows of the padded width 4), so one sample a step computes 64 values for 4 kept ones; 16
     * samples stacked (16 planes of 4 x 4) take 4 steps instead of 16, and the weight gradient's sums run over 16
     * vectors before their lanes are added, instead of one. Stacked only where that does at most three quarters of
     * the single-sample steps' work. The block size depends on the sizes alone, never on the thread count: each output
     * is computed the same either way, but the weight gradient's sums run in the order of the blocks.
     */
    static int samplesPerBlock(ConvGeom d) {
        int wp = d.w() + 2 * d.p().padW(), plane = (d.h() + 2 * d.p().padH()) * wp;
        int sb = Math.min(d.n(), Math.max(1, STACK_MAX_FLOATS / (Math.max(d.cg(), d.og()) * plane)));
        if (sb < 2) return 1;
        long single = (long) steps(d.oh() * wp) * sb, stacked = steps((sb - 1) * plane + d.oh() * wp);
        return 4 * stacked <= 3 * single ? sb : 1;
    }

    private static int steps(int positions) { return (positions + CHUNK - 1) / CHUNK; }

    /**
     * Layout of one group's zero-padded input for a block of sb samples: cg channels, each sb planes of hp rows x wp
     * columns one after another, plus read-ahead slack; tapOffsets are the taps' shifts, positions the flattened
     * outputs of a whole block (the last sample's padding rows at the bottom left out).
     */
    private record Padded(int sb, int hp, int wp, int plane, int positions, int[] tapOffsets, int length) {
        static Padded of(ConvGeom d) {
            Conv2dParams p = d.p();
            int sb = samplesPerBlock(d);
            int hp = d.h() + 2 * p.padH(), wp = d.w() + 2 * p.padW();
            int plane = hp * wp;
            int positions = (sb - 1) * plane + d.oh() * wp; // flattened outputs, padded width
            int[] taps = new int[d.colRows()];
            for (int c = 0, t = 0; c < d.cg(); c++)
                for (int a = 0; a < d.kH(); a++)
                    for (int b = 0; b < d.kW(); b++) taps[t++] = c * sb * plane + a * p.dilationH() * wp + b * p.dilationW();
            int maxTap = taps[taps.length - 1];
            return new Padded(sb, hp, wp, plane, positions, taps, Math.max(d.cg() * sb * plane, steps(positions) * CHUNK + maxTap));
        }

        /** Blocks of samples: ceil(n / sb). */
        int blocks(ConvGeom d) { return (d.n() + sb - 1) / sb; }

        /** Samples in block k: sb, or fewer in the last one. */
        int samples(ConvGeom d, int k) { return Math.min(sb, d.n() - k * sb); }

        /**
         * Copies group g's channels of samples b0 .. b0 + ns - 1 into the interior of xp. Only the interiors are ever
         * written, so the borders and the slack stay zero from the buffer's allocation. A short last block zeroes
         * the planes past its ns samples, which the block before filled: the forward drops the outputs there, but the
         * weight gradient's sums run over the whole stack, against the block before's dy rows still in its buffer.
         */
        void fill(ConvGeom d, float[] x, int b0, int ns, int g, float[] xp) {
            int pH = d.p().padH(), pW = d.p().padW();
            for (int c = 0; c < d.cg(); c++) {
                if (ns < sb) Arrays.fill(xp, (c * sb + ns) * plane, (c + 1) * sb * plane, 0f);
                for (int s = 0; s < ns; s++) {
                    int from = ((b0 + s) * d.c() + g * d.cg() + c) * d.inPlane(), to = (c * sb + s) * plane + pH * wp + pW;
                    copyRows(x, from, d.w(), xp, to, wp, d.h(), d.w());
                }
            }
        }
    }

    /**
     * Stride 1: dx[c, i, j] = sum_{o, a, b} dy[o, i + pH - a*dH, j + pW - b*dW] * w[o, c, a, b]
     * = a conv of dy (padding d*(k-1) - p, here padH2 and padW2, both >= 0) with w flipped in a, b and
     * transposed in (o, c).
     */
    static void backwardInput(ConvGeom d, float[] dy, float[] wt, float[] dx, int padH2, int padW2) {
        Conv2dParams p = d.p();
        ConvGeom t = ConvGeom.of(d.n(), d.cOut(), d.oh(), d.ow(), d.c(), d.kH(), d.kW(),
                new Conv2dParams(1, 1, padH2, padW2, p.dilationH(), p.dilationW(), d.groups()));
        forward(t, dy, flipTranspose(d, wt), dx);
    }

    /** w [G*og, cg, kH, kW] -> wT [G*cg, og, kH, kW] with wT[g*cg + c, o, a, b] = w[g*og + o, c, kH-1-a, kW-1-b]. */
    private static float[] flipTranspose(ConvGeom d, float[] wt) {
        float[] t = new float[wt.length];
        for (int g = 0; g < d.groups(); g++)
            for (int o = 0; o < d.og(); o++)
                for (int c = 0; c < d.cg(); c++)
                    for (int a = 0; a < d.kH(); a++)
                        for (int b = 0; b < d.kW(); b++)
                            t[(((g * d.cg() + c) * d.og() + o) * d.kH() + a) * d.kW() + b] =
                                    wt[(((g * d.og() + o) * d.cg() + c) * d.kH() + (d.kH() - 1 - a)) * d.kW() + (d.kW() - 1 - b)];
        return t;
    }

    static void forward(ConvGeom d, float[] x, float[] wt, float[] y) {
        Padded pad = Padded.of(d);
        int chunks = steps(pad.positions);
        int ypStride = chunks * CHUNK;
        int taps = d.colRows(), blocks = pad.blocks(d);
        Parallel.forRange(blocks * d.groups(), d.flopsPerItem() * pad.sb, (s, e) -> {
            float[] xp = new float[pad.length];
            float[] yp = new float[d.og() * ypStride];
            for (int it = s; it < e; it++) {
                int k = it / d.groups(), g = it % d.groups(), b0 = k * pad.sb, ns = pad.samples(d, k);
                pad.fill(d, x, b0, ns, g, xp);
                for (int o = 0; o < d.og(); o += 4) {
                    int cb = Math.min(4, d.og() - o);
                    int w0 = (g * d.og() + o) * taps;
                    for (int q = 0; q < chunks * CHUNK; q += CHUNK) {
                        switch (cb) {
                            case 4 -> DirectConvKernels.fwd4(xp, q, pad.tapOffsets, taps, wt, w0, yp, o * ypStride + q, ypStride);
                            case 3 -> DirectConvKernels.fwd3(xp, q, pad.tapOffsets, taps, wt, w0, yp, o * ypStride + q, ypStride);
                            case 2 -> DirectConvKernels.fwd2(xp, q, pad.tapOffsets, taps, wt, w0, yp, o * ypStride + q, ypStride);
                            default -> DirectConvKernels.fwd1(xp, q, pad.tapOffsets, taps, wt, w0, yp, o * ypStride + q, ypStride);
                        }
                    }
                }
                // Keep the valid columns of each sample's padded-width rows.
                for (int sm = 0; sm < ns; sm++) {
                    int yOff = ((b0 + sm) * d.cOut() + g * d.og()) * d.outPlane();
                    for (int o = 0; o < d.og(); o++)
                        copyRows(yp, o * ypStride + sm * pad.plane, pad.wp, y, yOff + o * d.outPlane(), d.ow(), d.oh(), d.ow());
                }
            }
        });
    }

    static void backwardWeight(ConvGeom d, float[] x, float[] dy, float[] dw) {
        Padded pad = Padded.of(d);
        int taps = d.colRows(), blocks = pad.blocks(d);
        int vecs = (pad.positions + L - 1) / L;
        // Taps in blocks of 3; the padded tail repeats tap 0 and its sums are dropped.
        int tapBlocks = (taps + 2) / 3;
        int[] tapOff = Arrays.copyOf(pad.tapOffsets, tapBlocks * 3);
        // Each group's slice of dW belongs to one thread, so no partial sums are needed.
        Parallel.forRange(d.groups(), d.flopsPerItem() * d.n(), (s, e) -> {
            float[] xp = new float[pad.length];
            float[] dyp = new float[d.og() * vecs * L];
            float[] sums = new float[12], lanes = new float[12 * L];
            for (int g = s; g < e; g++) {
                for (int k = 0; k < blocks; k++) {
                    int b0 = k * pad.sb, ns = pad.samples(d, k);
                    pad.fill(d, x, b0, ns, g, xp);
                    // dy rows laid out as the outputs of the stack, at the padded width: the extra columns and rows are
                    // never written and stay zero (past a short last block's samples, fill zeroed x instead).
                    for (int o = 0; o < d.og(); o++) {
                        int row = o * vecs * L;
                        for (int sm = 0; sm < ns; sm++) {
                            int dyOff = ((b0 + sm) * d.cOut() + g * d.og() + o) * d.outPlane();
                            copyRows(dy, dyOff, d.ow(), dyp, row + sm * pad.plane, pad.wp, d.oh(), d.ow());
                        }
                    }
                    for (int o = 0; o < d.og(); o += 4) {
                        int cb = Math.min(4, d.og() - o);
                        for (int tb = 0; tb < tapBlocks; tb++) {
                            int t = tb * 3;
                            int o0 = tapOff[t], o1 = tapOff[t + 1], o2 = tapOff[t + 2];
                            switch (cb) {
                                case 4 -> DirectConvKernels.bww4(xp, o0, o1, o2, dyp, o * vecs * L, vecs * L, vecs, sums, lanes);
                                case 3 -> DirectConvKernels.bww3(xp, o0, o1, o2, dyp, o * vecs * L, vecs * L, vecs, sums, lanes);
                                case 2 -> DirectConvKernels.bww2(xp, o0, o1, o2, dyp, o * vecs * L, vecs * L, vecs, sums, lanes);
                                default -> DirectConvKernels.bww1(xp, o0, o1, o2, dyp, o * vecs * L, vecs * L, vecs, sums, lanes);
                            }
                            for (int oo = 0; oo < cb; oo++)
                                for (int kk = 0; kk < 3 && t + kk < taps; kk++)
                                    dw[(g * d.og() + o + oo) * taps + t + kk] += sums[oo * 3 + kk];
                        }
                    }
                }
            }
        });
    }
}
