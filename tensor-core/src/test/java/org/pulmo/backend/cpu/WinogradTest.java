package org.pulmo.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.pulmo.backend.cpu.SgemmTest.assertClose;
import static org.pulmo.backend.cpu.SgemmTest.random;

import java.util.Locale;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.pulmo.autograd.GradCheck;
import org.pulmo.backend.Conv2dParams;
import org.pulmo.ops.Convolution;
import org.pulmo.tensor.Rng;
import org.pulmo.tensor.Tensor;

/** Winograd F(2x2, 3x3) and F(4x4, 3x3) (forward, backward input, backward weight) against the plain-loop reference on the op page, Convolution. */
class WinogradTest {

    /** Runs the three passes through Winograd directly (whatever CpuConv would pick) and compares. */
    private static void check(Random rng, int n, int c, int h, int w, int cOut, int pH, int pW) {
        for (Winograd.Variant v : Winograd.Variant.values()) check(v, rng, n, c, h, w, cOut, pH, pW);
    }

    private static void check(Winograd.Variant v, Random rng, int n, int c, int h, int w, int cOut, int pH, int pW) {
        Conv2dParams p = new Conv2dParams(1, 1, pH, pW, 1, 1, 1);
        int oh = h + 2 * pH - 2, ow = w + 2 * pW - 2;
        String what = v + " n=" + n + " c=" + c + " " + h + "x" + w + " -> " + cOut + " pad " + pH + "," + pW;
        float[] x = random(rng, n * c * h * w), wt = random(rng, cOut * c * 9), dy = random(rng, n * cOut * oh * ow);
        float atol = 1e-4f * c * 9, rtol = 1e-4f;

        float[] y = new float[n * cOut * oh * ow];
        java.util.Arrays.fill(y, Float.NaN);   // every output must be written
        Winograd.forward(v, x, n, c, h, w, wt, false, cOut, pH, pW, y);
        assertClose(Convolution.referenceForward(x, n, c, h, w, wt, cOut, 3, 3, p), y, atol, rtol, "forward " + what);

        float[] dx = new float[n * c * h * w];
        java.util.Arrays.fill(dx, Float.NaN);
        Winograd.forward(v, dy, n, cOut, oh, ow, wt, true, c, 2 - pH, 2 - pW, dx);
        assertClose(Convolution.referenceBackwardInput(dy, n, c, h, w, wt, cOut, 3, 3, p), dx, 1e-4f * cOut * 9, rtol, "backwardInput " + what);

        float[] dw = new float[cOut * c * 9];
        java.util.Arrays.fill(dw, Float.NaN);
        Winograd.backwardWeight(v, x, dy, n, c, h, w, cOut, pH, pW, dw);
        assertClose(Convolution.referenceBackwardWeight(x, dy, n, c, h, w, cOut, 3, 3, p), dw, 1e-4f * n * oh * ow, rtol, "backwardWeight " + what);
    }

    @Test
    void shapesPaddingsAndPartialTiles() {
        Random rng = new Random(21);
        check(rng, 1, 1, 6, 6, 1, 0, 0);      // one tile, no padding
        check(rng, 1, 3, 5, 5, 2, 1, 1);      // one partial tile (5x5 output)
        check(rng, 2, 17, 13, 11, 20, 1, 1);  // odd sizes, channels not a multiple of the vector length
        check(rng, 3, 5, 4, 9, 7, 0, 0);      // 2x7 output
        check(rng, 2, 4, 7, 6, 3, 2, 2);      // padding 2: output larger than the input
        check(rng, 2, 6, 8, 8, 5, 0, 2);      // different padding per axis
        check(rng, 2, 33, 9, 10, 17, 1, 0);
        check(rng, 1, 8, 3, 3, 8, 2, 1);      // the input smaller than a tile
        check(rng, 5, 20, 7, 7, 40, 1, 1);    // ResNet layer4-like 7x7 planes, 2x2 tiles per image, batch 5
        check(rng, 2, 3, 5, 40, 4, 1, 1);     // rows of 20 tiles: the phase split's vector path
        check(rng, 1, 4, 4, 45, 3, 1, 2);
    }

    @Test
    void batchChunksGiveTheSameResult() {
        // Force one image per chunk: forward writes each chunk's outputs, backward weight accumulates over chunks.
        long saved = Winograd.maxBuffer;
        try {
            Winograd.maxBuffer = 1;
            Random rng = new Random(22);
            check(rng, 3, 16, 9, 11, 18, 1, 1);
            check(rng, 4, 5, 6, 6, 3, 0, 0);
        } finally {
            Winograd.maxBuffer = saved;
        }
    }

    @Test
    void handExample() {
        // x = all ones 6x6, w = all ones, no padding: every output of the 4x4 sums 9 ones. The 1/6 and 1/24
        // in G make this exact only up to rounding.
        float[] x = new float[36], w = new float[9];
        java.util.Arrays.fill(x, 1f);
        java.util.Arrays.fill(w, 1f);
        float[] nine = new float[16];
        java.util.Arrays.fill(nine, 9f);
        for (Winograd.Variant v : Winograd.Variant.values()) {
            float[] y = new float[16];
            Winograd.forward(v, x, 1, 1, 6, 6, w, false, 1, 0, 0, y);
            assertArrayEquals(nine, y, 1e-5f, v.toString());
        }
    }

    @Test
    void cpuConvPicksWinogradForResNetShapes() {
        assertTrue(CpuConv.useWinograd(8, 128, 28, 28, 128, 3, 3, Conv2dParams.of(1, 1, 1, 1)), "ResNet layer2 3x3 at 224");
        assertTrue(CpuConv.useWinograd(8, 512, 7, 7, 512, 3, 3, Conv2dParams.of(1, 1, 1, 1)), "ResNet layer4 3x3 at 224");
        assertTrue(CpuConv.useWinograd(8, 64, 56, 56, 64, 3, 3, Conv2dParams.of(1, 1, 1, 1)), "ResNet layer1 3x3 at 224");
        assertTrue(!CpuConv.useWinograd(4, 64, 28, 28, 64, 3, 3, Conv2dParams.of(1, 1, 1, 1)), "ResNet layer1 3x3 at 112, batch 4");
        assertTrue(!CpuConv.useWinograd(4, 512, 4, 4, 512, 3, 3, Conv2dParams.of(1, 1, 1, 1)), "ResNet layer4 3x3 at 112, batch 4");
        assertTrue(!CpuConv.useWinograd(8, 128, 28, 28, 128, 3, 3, Conv2dParams.of(2, 1, 1, 1)), "stride 2 is not Winograd");
        assertTrue(!CpuConv.useWinograd(8, 128, 28, 28, 128, 3, 3, Conv2dParams.of(1, 1, 1, 2)), "groups are not Winograd");
        assertTrue(!CpuConv.useWinograd(8, 128, 28, 28, 128, 3, 3, Conv2dParams.of(1, 1, 2, 1)), "dilation is not Winograd");
    }

    @Test
    void accuracyOnResNetShapes() {
        // ResNet-50's stride-1 3x3 convs (at 112 and 224 input, batch reduced), both versions and the im2col
        // path: the largest deviation from the double-accumulated reference over the largest reference value.
        Random rng = new Random(23);
        int[][] shapes = {{2, 64, 28, 64}, {2, 128, 14, 128}, {8, 256, 7, 256}, {8, 512, 4, 512}};
        for (int[] s : shapes) {
            int n = s[0], c = s[1], hw = s[2], cOut = s[3];
            Conv2dParams p = Conv2dParams.of(1, 1, 1, 1);
            float[] x = random(rng, n * c * hw * hw), wt = random(rng, cOut * c * 9), dy = random(rng, n * cOut * hw * hw);
            float[] yRef = Convolution.referenceForward(x, n, c, hw, hw, wt, cOut, 3, 3, p);
            float[] dxRef = Convolution.referenceBackwardInput(dy, n, c, hw, hw, wt, cOut, 3, 3, p);
            float[] dwRef = Convolution.referenceBackwardWeight(x, dy, n, c, hw, hw, cOut, 3, 3, p);
            CpuConv.setWinograd(0);
            try {
                report("im2col", s, 1e-6, yRef, CpuConv.forward(x, n, c, hw, hw, wt, cOut, 3, 3, p),
                        dxRef, CpuConv.backwardInput(dy, n, c, hw, hw, wt, cOut, 3, 3, p),
                        dwRef, CpuConv.backwardWeight(x, dy, n, c, hw, hw, cOut, 3, 3, p));
            } finally {
                CpuConv.setWinograd(2);
            }
            for (Winograd.Variant v : Winograd.Variant.values()) {
                float[] y = new float[yRef.length], dx = new float[dxRef.length], dw = new float[dwRef.length];
                Winograd.forward(v, x, n, c, hw, hw, wt, false, cOut, 1, 1, y);
                Winograd.forward(v, dy, n, cOut, hw, hw, wt, true, c, 1, 1, dx);
                Winograd.backwardWeight(v, x, dy, n, c, hw, hw, cOut, 1, 1, dw);
                report(v.toString(), s, v == Winograd.Variant.F2X2 ? 2e-6 : 3e-5, yRef, y, dxRef, dx, dwRef, dw);
            }
        }
    }

    private static void report(String path, int[] s, double limit, float[] yRef, float[] y, float[] dxRef, float[] dx, float[] dwRef, float[] dw) {
        double[] err = {relErr(yRef, y), relErr(dxRef, dx), relErr(dwRef, dw)};
        System.out.printf(Locale.ROOT, "3x3 %d->%d %dx%d n=%d %-6s max |err| / max |ref|: fwd %.2e bwdIn %.2e bwdW %.2e%n",
                s[1], s[3], s[2], s[2], s[0], path, err[0], err[1], err[2]);
        for (double e : err) assertTrue(e < limit, path + ": relative error " + e + " for " + s[1] + "->" + s[3] + " " + s[2] + "x" + s[2]);
    }

    private static double relErr(float[] ref, float[] got) {
        double maxErr = 0, maxRef = 0;
        for (int i = 0; i < ref.length; i++) {
            maxErr = Math.max(maxErr, Math.abs((double) got[i] - ref[i]));
            maxRef = Math.max(maxRef, Math.abs(ref[i]));
        }
        return maxErr / maxRef;
    }

    @Test
    void gradientsThroughTheOpOnANonContiguousInput() {
        // A shape CpuConv sends to Winograd (64 channels, 4 x 16x16 tiles of 31x32 outputs), x a permuted view.
        assertTrue(CpuConv.useWinograd(4, 64, 31, 32, 64, 3, 3, Conv2dParams.of(1, 1, 1, 1)));
        Rng rng = new Rng(24);
        Tensor x = Tensor.randn(rng, 64, 4, 31, 32).permute(1, 0, 2, 3).requiresGrad(true);
        Tensor w = Tensor.randn(rng, 64, 64, 3, 3).mul(0.05f).detach().requiresGrad(true);
        Tensor b = Tensor.randn(rng, 64).requiresGrad(true);
        // The loss is quadratic along a direction (x and w both move), so central differences are exact up to
        // rounding; a large step keeps the float rounding of the 254k-output sum below the tolerance.
        GradCheck.checkDirections(in -> Convolution.conv2d(in.get(0), in.get(1), in.get(2), Conv2dParams.of(1, 1, 1, 1)),
                GradCheck.Options.DEFAULT.withEps(0.25), 4, x, w, b).assertOk();
    }
}
