package org.pulmo.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.pulmo.backend.cpu.SgemmTest.assertClose;
import static org.pulmo.backend.cpu.SgemmTest.random;

import java.util.Random;
import org.junit.jupiter.api.Test;
import org.pulmo.backend.Conv2dParams;
import org.pulmo.ops.Convolution;
import org.pulmo.tensor.HostArrays;

/** CpuConv's fast paths (im2col + SGEMM, direct grouped kernels) against the plain-loop reference on the op page, Convolution. */
class CpuConvTest {

    @Test
    void handExample() {
        // x (1x1x3x3)   w (1x1x2x2)   y = valid correlation, 2x2
        // 1 2 3         1 0           1*1 + 5*1 = 6    2 + 6 = 8
        // 4 5 6         0 1           4 + 8 = 12       5 + 9 = 14
        // 7 8 9
        float[] x = {1, 2, 3, 4, 5, 6, 7, 8, 9};
        float[] w = {1, 0, 0, 1};
        Conv2dParams p = Conv2dParams.of(1, 0, 1, 1);
        assertArrayEquals(new float[] {6, 8, 12, 14}, CpuConv.forward(x, 1, 1, 3, 3, w, 1, 2, 2, p));
        assertArrayEquals(new float[] {6, 8, 12, 14}, Convolution.referenceForward(x, 1, 1, 3, 3, w, 1, 2, 2, p));
        // dy = ones: dx[i, j] counts the kernel taps covering (i, j): w[0,0] and w[1,1] are 1.
        float[] dy = {1, 1, 1, 1};
        assertArrayEquals(new float[] {1, 1, 0, 1, 2, 1, 0, 1, 1}, CpuConv.backwardInput(dy, 1, 1, 3, 3, w, 1, 2, 2, p));
        // dW[a, b] = sum of the 2x2 window of x starting at (a, b): 1+2+4+5, 2+3+5+6, 4+5+7+8, 5+6+8+9.
        assertArrayEquals(new float[] {12, 16, 24, 28}, CpuConv.backwardWeight(x, dy, 1, 1, 3, 3, 1, 2, 2, p));
    }

    /** One configuration: n, cIn, h, w, cOut, kH, kW, params. */
    private record Case(int n, int cIn, int h, int w, int cOut, int kH, int kW, Conv2dParams p) {
        @Override public String toString() {
            return "n=" + n + " c=" + cIn + " " + h + "x" + w + " -> " + cOut + " k=" + kH + "x" + kW + " " + p;
        }
    }

    private static void check(Random rng, Case c) {
        int oh = c.p.outH(c.h, c.kH), ow = c.p.outW(c.w, c.kW);
        if (oh < 1 || ow < 1) return;
        float[] x = random(rng, c.n * c.cIn * c.h * c.w);
        float[] wt = random(rng, c.cOut * (c.cIn / c.p.groups()) * c.kH * c.kW);
        float[] dy = random(rng, c.n * c.cOut * oh * ow);
        float atol = 1e-4f * (c.cIn / c.p.groups()) * c.kH * c.kW, rtol = 1e-4f;
        poisonPool(dy.length);
        assertClose(Convolution.referenceForward(x, c.n, c.cIn, c.h, c.w, wt, c.cOut, c.kH, c.kW, c.p),
                CpuConv.forward(x, c.n, c.cIn, c.h, c.w, wt, c.cOut, c.kH, c.kW, c.p), atol, rtol, "forward " + c);
        poisonPool(x.length);
        assertClose(Convolution.referenceBackwardInput(dy, c.n, c.cIn, c.h, c.w, wt, c.cOut, c.kH, c.kW, c.p),
                CpuConv.backwardInput(dy, c.n, c.cIn, c.h, c.w, wt, c.cOut, c.kH, c.kW, c.p), atol, rtol, "backwardInput " + c);
        float atolW = 1e-4f * c.n * oh * ow;
        poisonPool(wt.length, GemmConv.MAX_WEIGHT_PARTS + 1);   // dw and each run's partial
        assertClose(Convolution.referenceBackwardWeight(x, dy, c.n, c.cIn, c.h, c.w, c.cOut, c.kH, c.kW, c.p),
                CpuConv.backwardWeight(x, dy, c.n, c.cIn, c.h, c.w, c.cOut, c.kH, c.kW, c.p), atolW, rtol, "backwardWeight " + c);
    }

    /**
     * Leaves an array of n NaNs in HostArrays, the pool the next output of that length comes from: a path that
     * skips zeroing its output but does not assign every element then returns NaNs and fails its comparison.
     */
    static void poisonPool(int n) { poisonPool(n, 1); }

    /** {@link #poisonPool(int)} with {@code count} such arrays, for a path that takes several of one length. */
    static void poisonPool(int n, int count) {
        float[][] arrays = new float[count][];
        for (int i = 0; i < count; i++) {
            arrays[i] = HostArrays.uninitialized(n);
            java.util.Arrays.fill(arrays[i], Float.NaN);
        }
        for (float[] a : arrays) HostArrays.giveBack(a);
    }

    @Test
    void gridOfStridesPadsDilationsGroups() {
        Random rng = new Random(11);
        int[][] kernels = {{1, 1}, {3, 3}, {2, 3}};
        for (int[] k : kernels)
            for (int stride = 1; stride <= 2; stride++)
                for (int pad = 0; pad <= 2; pad++)
                    for (int dil = 1; dil <= 2; dil++)
                        for (int groups : new int[] {1, 2, 4}) {
                            Conv2dParams p = new Conv2dParams(stride, stride == 1 ? 1 : 2, pad, pad == 2 ? 1 : pad, dil, dil, groups);
                            check(rng, new Case(2, 4, 7, 9, 8, k[0], k[1], p));
                        }
    }

    @Test
    void depthwise() {
        Random rng = new Random(12);
        for (int stride = 1; stride <= 2; stride++)
            for (int pad = 0; pad <= 2; pad++) {
                check(rng, new Case(2, 6, 9, 8, 6, 3, 3, Conv2dParams.of(stride, pad, 1, 6)));
                check(rng, new Case(1, 4, 6, 11, 8, 3, 3, Conv2dParams.of(stride, pad, 2, 4))); // channel multiplier 2
            }
    }

    @Test
    void sevenBySevenStemAndLargePads() {
        Random rng = new Random(13);
        check(rng, new Case(2, 3, 20, 17, 5, 7, 7, Conv2dParams.of(2, 3, 1, 1)));
        check(rng, new Case(1, 3, 12, 13, 4, 7, 7, Conv2dParams.of(1, 3, 1, 1)));
        // stride-2 rows of 20 to 36 outputs: im2col's vector path, its tail, and its guard at the array's end
        check(rng, new Case(2, 3, 30, 45, 4, 7, 7, Conv2dParams.of(2, 3, 1, 1)));
        check(rng, new Case(2, 5, 9, 71, 6, 1, 1, Conv2dParams.of(2, 0, 1, 1)));
        check(rng, new Case(1, 4, 11, 64, 5, 3, 3, Conv2dParams.of(2, 1, 1, 1)));
        // Padding larger than dilation*(k-1): the transposed-conv shortcut does not apply.
        check(rng, new Case(1, 4, 5, 6, 4, 3, 3, new Conv2dParams(1, 1, 3, 2, 1, 1, 2)));
    }

    @Test
    void dpnStyleGroupedShapes() {
        Random rng = new Random(14);
        // 3 and 6 channels per group, as in DPN-92's grouped 3x3 (scaled down: 8 groups, 14x14).
        check(rng, new Case(2, 24, 14, 14, 24, 3, 3, Conv2dParams.of(1, 1, 1, 8)));
        check(rng, new Case(2, 48, 10, 12, 48, 3, 3, Conv2dParams.of(1, 1, 1, 8)));
        check(rng, new Case(2, 48, 10, 12, 48, 3, 3, Conv2dParams.of(2, 1, 1, 8)));
        // Wide images: the flattened output spans several 64-position chunks per row.
        check(rng, new Case(1, 10, 5, 70, 10, 3, 3, Conv2dParams.of(1, 1, 1, 5)));
        // 12 and 24 channels per group, as DPN-92's conv4_x and conv5_x (scaled down: 4 and 2 groups, 14x14 and 7x7);
        // 13 (blocks of 4, 4, 4, 1 output channels), and groups of 5 inputs and 9 outputs.
        check(rng, new Case(2, 48, 14, 14, 48, 3, 3, Conv2dParams.of(1, 1, 1, 4)));
        check(rng, new Case(2, 48, 7, 7, 48, 3, 3, Conv2dParams.of(1, 1, 1, 2)));
        check(rng, new Case(3, 26, 7, 9, 26, 3, 3, Conv2dParams.of(1, 1, 1, 2)));
        check(rng, new Case(2, 15, 6, 8, 27, 3, 3, Conv2dParams.of(1, 1, 1, 3)));
        // The limit of the direct path (64 output channels per group) and one past it (the GEMM).
        check(rng, new Case(1, 128, 5, 5, 128, 3, 3, Conv2dParams.of(1, 1, 1, 2)));
        check(rng, new Case(1, 130, 5, 5, 130, 3, 3, Conv2dParams.of(1, 1, 1, 2)));
    }

    @Test
    void groupedConvsUpToSixtyFourOutputsPerGroupRunDirect() {
        // DPN-92's grouped 3x3 at every stage (3, 6, 12, 24 per group) and DPN-131's widest (40) take the direct kernels
        for (int perGroup : new int[] {3, 6, 12, 24, 40, 64})
            assertTrue(DirectConv.fits(ConvGeom.of(8, 32 * perGroup, 14, 14, 32 * perGroup, 3, 3, Conv2dParams.of(1, 1, 1, 32))), perGroup + " per group");
        assertFalse(DirectConv.fits(ConvGeom.of(8, 32 * 65, 14, 14, 32 * 65, 3, 3, Conv2dParams.of(1, 1, 1, 32))), "65 per group");
        assertFalse(DirectConv.fits(ConvGeom.of(8, 384, 14, 14, 384, 3, 3, Conv2dParams.of(2, 1, 1, 32))), "stride 2");
        assertFalse(DirectConv.fits(ConvGeom.of(8, 384, 14, 14, 384, 3, 3, Conv2dParams.of(1, 1, 1, 1))), "a dense conv");
    }

    @Test
    void groupedConvsOnSmallPlanesStackTheirSamples() {
        Random rng = new Random(16);
        // DPN-92's last stages at a 32 x 32 input (2 x 2 and 1 x 1 planes, 12 and 24 per group), scaled down to 4 and 2 groups
        check(rng, new Case(16, 48, 2, 2, 48, 3, 3, Conv2dParams.of(1, 1, 1, 4)));
        check(rng, new Case(5, 48, 1, 1, 48, 3, 3, Conv2dParams.of(1, 1, 1, 2)));
        // dilation 2 with pads of 2 and 1, and a 4 x 5 plane
        check(rng, new Case(7, 12, 4, 5, 12, 3, 3, new Conv2dParams(1, 1, 2, 1, 2, 2, 4)));
        check(rng, new Case(30, 128, 4, 4, 128, 3, 3, Conv2dParams.of(1, 1, 1, 2)));
        // 64 per group on 1 x 1: blocks of 113 samples (their planes of 3 x 3 in 2^16 floats), so 120 leave a short last block
        ConvGeom big = ConvGeom.of(120, 128, 1, 1, 128, 3, 3, Conv2dParams.of(1, 1, 1, 2));
        assertEquals(113, DirectConv.samplesPerBlock(big));
        check(rng, new Case(120, 128, 1, 1, 128, 3, 3, Conv2dParams.of(1, 1, 1, 2)));
        // Stacked at the demo's sizes (2 x 2 from 8 lanes up: with 4, a sample's 8 outputs already fill half of a step);
        // every grouped 3x3 of DPN-92 at 224 x 224 (56 down to 7, batch 32) one sample at a time.
        assertEquals(DirectConv.CHUNK >= 32 ? 16 : 1, DirectConv.samplesPerBlock(ConvGeom.of(16, 384, 2, 2, 384, 3, 3, Conv2dParams.of(1, 1, 1, 32))));
        assertEquals(16, DirectConv.samplesPerBlock(ConvGeom.of(16, 768, 1, 1, 768, 3, 3, Conv2dParams.of(1, 1, 1, 32))));
        int[][] paper = {{96, 56}, {192, 28}, {384, 14}, {768, 7}};
        for (int[] cs : paper)
            assertEquals(1, DirectConv.samplesPerBlock(ConvGeom.of(32, cs[0], cs[1], cs[1], cs[0], 3, 3, Conv2dParams.of(1, 1, 1, 32))), cs[1] + " x " + cs[1]);
    }

    @Test
    void denseLargerThanOneTile() {
        Random rng = new Random(15);
        // Single sample (the GEMM is split across threads) and a batch (samples split across threads).
        check(rng, new Case(1, 16, 15, 13, 70, 3, 3, Conv2dParams.of(1, 1, 1, 1)));
        check(rng, new Case(3, 20, 9, 9, 33, 3, 3, Conv2dParams.of(1, 1, 1, 1)));
        check(rng, new Case(3, 40, 8, 8, 24, 1, 1, Conv2dParams.of(1, 0, 1, 1)));
        check(rng, new Case(3, 12, 8, 8, 24, 1, 1, Conv2dParams.of(2, 0, 1, 1)));
    }

    @Test
    void batchedSmallPlanes() {
        // Output planes up to BatchedGemmConv.BATCH_MAX_PLANE with batch > 1 run one GEMM over the whole batch:
        // ResNet layer3/4 shapes scaled down (7x7 and 4x4 planes, 3x3, 1x1 and 1x1 stride-2 downsample).
        Random rng = new Random(16);
        check(rng, new Case(4, 16, 7, 7, 32, 3, 3, Conv2dParams.of(1, 1, 1, 1)));
        check(rng, new Case(4, 16, 7, 7, 24, 3, 3, Conv2dParams.of(2, 1, 1, 1)));   // 7x7 -> 4x4
        check(rng, new Case(4, 32, 4, 4, 70, 1, 1, Conv2dParams.of(1, 0, 1, 1)));
        check(rng, new Case(4, 70, 4, 4, 16, 1, 1, Conv2dParams.of(1, 0, 1, 1)));
        check(rng, new Case(4, 24, 7, 7, 40, 1, 1, Conv2dParams.of(2, 0, 1, 1)));   // downsample 7x7 -> 4x4
        check(rng, new Case(2, 8, 10, 10, 12, 3, 3, new Conv2dParams(1, 2, 1, 0, 1, 1, 1)));
        check(rng, new Case(3, 5, 6, 9, 7, 2, 3, new Conv2dParams(2, 1, 2, 1, 2, 1, 1)));
        // grouped, stride 2 (not the direct kernels'): one GEMM per group over the batch, as DPN-92's conv4_1 and conv5_1 at
        // a 32 x 32 input (4 x 4 -> 2 x 2, 12 per group; 2 x 2 -> 1 x 1, 24 per group), scaled down to 4 and 2 groups
        assertTrue(BatchedGemmConv.fits(ConvGeom.of(16, 384, 4, 4, 384, 3, 3, Conv2dParams.of(2, 1, 1, 32))));
        check(rng, new Case(16, 48, 4, 4, 48, 3, 3, Conv2dParams.of(2, 1, 1, 4)));
        check(rng, new Case(6, 48, 2, 2, 48, 3, 3, Conv2dParams.of(2, 1, 1, 2)));
        // 1x1 on DPN-92's last planes at a 32 x 32 input (2 x 2 and 1 x 1), whose rows of 4 and 1 values move by their own loops
        check(rng, new Case(5, 24, 2, 2, 40, 1, 1, Conv2dParams.of(1, 0, 1, 1)));
        check(rng, new Case(5, 40, 1, 1, 24, 1, 1, Conv2dParams.of(1, 0, 1, 1)));
        check(rng, new Case(3, 6, 2, 3, 9, 1, 1, Conv2dParams.of(1, 0, 1, 1)));
        // Larger planes than the batched limit: per-sample GEMMs, batch split over threads (14x14 = 196
        // columns: three full panels and a narrow tail panel per sample).
        check(rng, new Case(4, 16, 14, 14, 24, 3, 3, Conv2dParams.of(1, 1, 1, 1)));
        check(rng, new Case(2, 6, 32, 32, 8, 3, 3, Conv2dParams.of(1, 1, 1, 1)));
        check(rng, new Case(2, 6, 32, 32, 8, 1, 1, Conv2dParams.of(1, 0, 1, 1)));
    }

    @Test
    void repeatedCallsReuseScratchBuffers() {
        // A large call then a small one: the per-thread buffers are longer than needed and hold stale values.
        Random rng = new Random(17);
        check(rng, new Case(4, 32, 14, 14, 32, 3, 3, Conv2dParams.of(1, 1, 1, 1)));
        check(rng, new Case(2, 3, 5, 5, 4, 3, 3, Conv2dParams.of(1, 1, 1, 1)));
        check(rng, new Case(1, 3, 5, 5, 4, 3, 3, Conv2dParams.of(1, 1, 1, 1)));
    }

    /** y[n, o, i, j] of the definition at one output position, in double. */
    private static double convAt(float[] x, float[] wt, Case c, int n, int o, int i, int j) {
        Conv2dParams p = c.p;
        int cg = c.cIn / p.groups(), og = c.cOut / p.groups(), g = o / og;
        double s = 0;
        for (int ci = 0; ci < cg; ci++)
            for (int a = 0; a < c.kH; a++)
                for (int b = 0; b < c.kW; b++) {
                    int hi = i * p.strideH() - p.padH() + a * p.dilationH(), wi = j * p.strideW() - p.padW() + b * p.dilationW();
                    if (hi < 0 || hi >= c.h || wi < 0 || wi >= c.w) continue;
                    s += (double) wt[((o * cg + ci) * c.kH + a) * c.kW + b] * x[((n * c.cIn + g * cg + ci) * c.h + hi) * c.w + wi];
                }
        return s;
    }

    /** dx[n, ci, hi, wi]: every (o, a, b) whose tap lands on (hi, wi) from a whole output position, in double. */
    private static double dxAt(float[] dy, float[] wt, Case c, int oh, int ow, int n, int ci, int hi, int wi) {
        Conv2dParams p = c.p;
        int cg = c.cIn / p.groups(), og = c.cOut / p.groups(), g = ci / cg;
        double s = 0;
        for (int o = g * og; o < (g + 1) * og; o++)
            for (int a = 0; a < c.kH; a++)
                for (int b = 0; b < c.kW; b++) {
                    int ti = hi + p.padH() - a * p.dilationH(), tj = wi + p.padW() - b * p.dilationW();
                    if (ti < 0 || tj < 0 || ti % p.strideH() != 0 || tj % p.strideW() != 0) continue;
                    int i = ti / p.strideH(), j = tj / p.strideW();
                    if (i >= oh || j >= ow) continue;
                    s += (double) dy[((n * c.cOut + o) * oh + i) * ow + j] * wt[((o * cg + ci % cg) * c.kH + a) * c.kW + b];
                }
        return s;
    }

    /** dW[o, ci, a, b] (ci inside o's group): the sum over samples and output positions, in double. */
    private static double dwAt(float[] x, float[] dy, Case c, int oh, int ow, int o, int ci, int a, int b) {
        Conv2dParams p = c.p;
        int cg = c.cIn / p.groups(), og = c.cOut / p.groups(), g = o / og;
        double s = 0;
        for (int n = 0; n < c.n; n++)
            for (int i = 0; i < oh; i++)
                for (int j = 0; j < ow; j++) {
                    int hi = i * p.strideH() - p.padH() + a * p.dilationH(), wi = j * p.strideW() - p.padW() + b * p.dilationW();
                    if (hi < 0 || hi >= c.h || wi < 0 || wi >= c.w) continue;
                    s += (double) dy[((n * c.cOut + o) * oh + i) * ow + j] * x[((n * c.cIn + g * cg + ci) * c.h + hi) * c.w + wi];
                }
        return s;
    }

    /**
     * The three passes of CpuConv at {@code samples} random positions each, against the definition evaluated there:
     * for shapes too large for the full plain-loop reference to be quick.
     */
    private static void checkSampled(Random rng, Case c, int samples) {
        int oh = c.p.outH(c.h, c.kH), ow = c.p.outW(c.w, c.kW), cg = c.cIn / c.p.groups();
        float[] x = random(rng, c.n * c.cIn * c.h * c.w), wt = random(rng, c.cOut * cg * c.kH * c.kW), dy = random(rng, c.n * c.cOut * oh * ow);
        float[] y = CpuConv.forward(x, c.n, c.cIn, c.h, c.w, wt, c.cOut, c.kH, c.kW, c.p);
        float[] dx = CpuConv.backwardInput(dy, c.n, c.cIn, c.h, c.w, wt, c.cOut, c.kH, c.kW, c.p);
        float[] dw = CpuConv.backwardWeight(x, dy, c.n, c.cIn, c.h, c.w, c.cOut, c.kH, c.kW, c.p);
        assertEquals(c.n * c.cOut * oh * ow, y.length, "forward length " + c);
        float atol = 1e-4f * cg * c.kH * c.kW, atolW = 1e-4f * c.n * oh * ow, rtol = 1e-4f;
        for (int s = 0; s < samples; s++) {
            int n = rng.nextInt(c.n), o = rng.nextInt(c.cOut), i = rng.nextInt(oh), j = rng.nextInt(ow);
            // the corners and edges of the planes, where padding and tile overhang act, as well as the interior
            if (s % 4 == 1) { i = s % 8 < 4 ? 0 : oh - 1; j = s % 16 < 8 ? 0 : ow - 1; }
            assertNear(convAt(x, wt, c, n, o, i, j), y[((n * c.cOut + o) * oh + i) * ow + j], atol, rtol, "forward at " + n + "," + o + "," + i + "," + j + " " + c);
            int ci = rng.nextInt(c.cIn), hi = rng.nextInt(c.h), wi = rng.nextInt(c.w);
            if (s % 4 == 1) { hi = s % 8 < 4 ? 0 : c.h - 1; wi = s % 16 < 8 ? 0 : c.w - 1; }
            assertNear(dxAt(dy, wt, c, oh, ow, n, ci, hi, wi), dx[((n * c.cIn + ci) * c.h + hi) * c.w + wi], atol, rtol, "backwardInput at " + n + "," + ci + "," + hi + "," + wi + " " + c);
            int cw = rng.nextInt(cg), a = rng.nextInt(c.kH), b = rng.nextInt(c.kW);
            assertNear(dwAt(x, dy, c, oh, ow, o, cw, a, b), dw[((o * cg + cw) * c.kH + a) * c.kW + b], atolW, rtol, "backwardWeight at " + o + "," + cw + "," + a + "," + b + " " + c);
        }
    }

    private static void assertNear(double expected, float actual, float atol, float rtol, String what) {
        if (!(Math.abs(actual - expected) <= atol + rtol * Math.abs(expected))) fail(what + ": expected " + expected + ", actual " + actual);
    }

    /**
     * Shapes with enough channels and tiles for Winograd whose stride or dilation differs between the two axes:
     * F(2x2, 3x3) serves only stride 1 and dilation 1 on both, so these must take another path and still give the
     * definition's values.
     */
    @Test
    void winogradSizedConvsWithOneAxisOutsideItsRange() {
        Random rng = new Random(18);
        // 64 channels and 4 x 256 output tiles: the least work Winograd takes
        checkSampled(rng, new Case(4, 64, 32, 32, 64, 3, 3, new Conv2dParams(1, 1, 1, 2, 1, 2, 1)), 64); // dilation 2 along w only
        checkSampled(rng, new Case(4, 64, 32, 64, 64, 3, 3, new Conv2dParams(1, 2, 1, 1, 1, 1, 1)), 64); // stride 2 along w only
        // the same sizes with stride 1 and dilation 1 on both axes do take Winograd
        assertTrue(CpuConv.useWinograd(4, 64, 32, 32, 64, 3, 3, Conv2dParams.of(1, 1, 1, 1)));
    }

    /**
     * Grouped stride-1 convs (the direct kernels) whose padding exceeds dilation * (kernel - 1) along one axis only:
     * there the input gradient is not a plain convolution of dy with the flipped weight, whichever axis it is.
     */
    @Test
    void paddingBeyondTheKernelAlongOneAxis() {
        Random rng = new Random(19);
        check(rng, new Case(1, 4, 5, 6, 4, 3, 3, new Conv2dParams(1, 1, 1, 3, 1, 1, 2)));
        check(rng, new Case(1, 4, 6, 5, 4, 3, 3, new Conv2dParams(1, 1, 3, 1, 1, 1, 2)));
        check(rng, new Case(2, 6, 5, 7, 6, 3, 3, new Conv2dParams(1, 1, 0, 3, 1, 1, 6)));
        check(rng, new Case(2, 6, 7, 5, 6, 2, 3, new Conv2dParams(1, 1, 2, 1, 1, 1, 3)));
    }
}
