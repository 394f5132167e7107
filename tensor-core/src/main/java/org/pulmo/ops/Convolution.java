package org.pulmo.ops;

import org.pulmo.autograd.Graph;
import org.pulmo.backend.Conv2dParams;
import org.pulmo.tensor.Shapes;
import org.pulmo.tensor.Tensor;

/**
 * conv2d, the 2-D convolution of every network here (cross-correlation, as every framework computes it) over NCHW
 * inputs with OIHW weights, stride, zero padding, dilation and groups ({@link Conv2dParams}). Not a paper op but the
 * heaviest primitive, so it has a page like the papers' ops: its definition, forward, backward, plain-loop reference
 * and where everything else about it lives.
 *
 * <h2>Definition</h2>
 * x [N, C, H, W], w [Cout, C/groups, kH, kW], output channel o in group g(o) = o / (Cout/groups), whose input
 * channels are c in [g(o) C/groups, (g(o) + 1) C/groups). Below, w[o, c, a, b] stands for w's element at
 * [o, c - g(o) C/groups, a, b]: w's second axis counts the channels within the group (the same with groups = 1):
 * <pre>
 *   y[n, o, i, j] = sum_{c in g(o), a < kH, b < kW} w[o, c, a, b] x[n, c, i sH - pH + a dH, j sW - pW + b dW]   (+ bias[o])
 * </pre>
 * with x = 0 outside the plane; outH = (H + 2 pH - dH (kH - 1) - 1) / sH + 1 (floor), outW likewise.
 * FLOPs: 2 N Cout outH outW (C/groups) kH kW for each of forward, backward-input and backward-weight.
 *
 * <h2>Forward</h2>
 * The sum above; kept for backward: x and w (graph inputs).
 *
 * <h2>Backward</h2>
 * With g = dy, each term of the sum sends g back along both of its factors:
 * <pre>
 *   dx[n, c, i sH - pH + a dH, j sW - pW + b dW] += w[o, c, a, b] g[n, o, i, j]   (a transposed convolution of g)
 *   dw[o, c, a, b] = sum_{n, i, j} g[n, o, i, j] x[n, c, i sH - pH + a dH, j sW - pW + b dW]
 *   dbias[o]       = sum_{n, i, j} g[n, o, i, j]
 * </pre>
 *
 * <h2>Index</h2>
 * <ul>
 * <li>Op with autograd: {@link #conv2d(Tensor, Tensor, Tensor, Conv2dParams)}; its module: {@code org.pulmo.nn.Conv2d}.</li>
 * <li>Reference: {@link #referenceForward}, {@link #referenceBackwardInput} and {@link #referenceBackwardWeight}
 *   below, the one ground truth of the CPU kernels' tests and the GPU parity test.</li>
 * <li>Backend contract: {@link org.pulmo.backend.Backend#conv2d}, {@code conv2dBackwardInput},
 *   {@code conv2dBackwardWeight} (no composed default: every backend implements them).</li>
 * <li>Fast CPU kernels: {@link org.pulmo.backend.cpu.CpuConv}, which picks per call among
 *   {@code Winograd} F(2x2, 3x3), {@code GemmConv} (im2col + SGEMM), {@code BatchedGemmConv} and
 *   {@code DirectConv} (unrolled kernels in {@code DirectConvKernels}, written by the test-side
 *   {@code DirectConvKernelsGenerator}), all in {@code org.pulmo.backend.cpu} on arrays and shapes.</li>
 * <li>CUDA: no {@code .cu} kernel of its own; cuDNN's convolutions through {@code org.pulmo.cuda.Cudnn} (algorithms
 *   by find or heuristics).</li>
 * <li>Tests: {@code CpuConvTest} and {@code WinogradTest} (every CPU strategy against the reference),
 *   {@code DirectConvKernelsGeneratorTest}, {@code HandExamplesTest.conv2d*} and {@code LayerOpsGradTest} (hand
 *   examples and gradient checks of this op); {@code GpuParityTest.findAndHeuristicConvolutionsMatchTheReference}
 *   and {@code CudnnSelectionTest} (cuda-kernels).</li>
 * <li>Benchmarks: {@code Conv2dBench} (CPU, the models' layer shapes), {@code ResNetConvProfile} (per ResNet-50
 *   layer and strategy), {@code GpuKernelsBench.conv} (cuDNN).</li>
 * </ul>
 */
public final class Convolution {
    private Convolution() {}

    /**
     * x [N, Cin, H, W], w [Cout, Cin/groups, kH, kW], bias [Cout] or null -> y [N, Cout, outH, outW].
     * Backward: dx = conv-transpose of dy with w, dw = correlation of x with dy, dbias = sum of dy over N, H, W
     * (through the bias add).
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
            throw new IllegalArgumentException("conv2d: input " + Shapes.str(xs) + " is too small for kernel " + ws[2] + "x" + ws[3] + " with "
                + p.describe() + " (a model's image smaller than it was built for ends here: check the image size)");
        if (bias != null && (bias.dim() != 1 || bias.shape()[0] != ws[0]))
            throw new IllegalArgumentException("conv2d: bias shape " + Shapes.str(bias.shape()) + " does not match " + ws[0] + " output channels");
        Tensor y = be.conv2d(x, w, p);
        Tensor out = Graph.record("conv2d", y, g -> new Tensor[] {
            x.requiresGrad() ? be.conv2dBackwardInput(g, w, xs, p) : null,
            w.requiresGrad() ? be.conv2dBackwardWeight(x, g, ws, p) : null}, x, w);
        return bias == null ? out : Elementwise.add(out, Views.reshape(bias, 1, ws[0], 1, 1));
    }

    // ---------------------------------------------------------------- the plain-loop reference
    // The definition's loops on row-major arrays (x [n, cIn, h, w], wt [cOut, cIn/groups, kH, kW], y and dy
    // [n, cOut, outH, outW]), accumulated in double. Slow; for tests.

    /** y of the definition above (no bias). */
    public static float[] referenceForward(float[] x, int n, int cIn, int h, int w, float[] wt, int cOut, int kH, int kW, Conv2dParams p) {
        int cg = cIn / p.groups(), og = cOut / p.groups(), oh = p.outH(h, kH), ow = p.outW(w, kW);
        float[] y = new float[n * cOut * oh * ow];
        for (int b = 0; b < n; b++)
            for (int o = 0; o < cOut; o++) {
                int g = o / og;
                for (int i = 0; i < oh; i++)
                    for (int j = 0; j < ow; j++) {
                        double s = 0;
                        for (int c = 0; c < cg; c++)
                            for (int a = 0; a < kH; a++) {
                                int ih = i * p.strideH() - p.padH() + a * p.dilationH();
                                if (ih < 0 || ih >= h) continue;
                                for (int bb = 0; bb < kW; bb++) {
                                    int iw = j * p.strideW() - p.padW() + bb * p.dilationW();
                                    if (iw < 0 || iw >= w) continue;
                                    s += (double) wt[((o * cg + c) * kH + a) * kW + bb] * x[((b * cIn + g * cg + c) * h + ih) * w + iw];
                                }
                            }
                        y[((b * cOut + o) * oh + i) * ow + j] = (float) s;
                    }
            }
        return y;
    }

    /** dx of the backward above, from dy and the weight. */
    public static float[] referenceBackwardInput(float[] dy, int n, int cIn, int h, int w, float[] wt, int cOut, int kH, int kW, Conv2dParams p) {
        int cg = cIn / p.groups(), og = cOut / p.groups(), oh = p.outH(h, kH), ow = p.outW(w, kW);
        double[] dx = new double[n * cIn * h * w];
        for (int b = 0; b < n; b++)
            for (int o = 0; o < cOut; o++) {
                int g = o / og;
                for (int i = 0; i < oh; i++)
                    for (int j = 0; j < ow; j++) {
                        double g0 = dy[((b * cOut + o) * oh + i) * ow + j];
                        for (int c = 0; c < cg; c++)
                            for (int a = 0; a < kH; a++) {
                                int ih = i * p.strideH() - p.padH() + a * p.dilationH();
                                if (ih < 0 || ih >= h) continue;
                                for (int bb = 0; bb < kW; bb++) {
                                    int iw = j * p.strideW() - p.padW() + bb * p.dilationW();
                                    if (iw < 0 || iw >= w) continue;
                                    dx[((b * cIn + g * cg + c) * h + ih) * w + iw] += g0 * wt[((o * cg + c) * kH + a) * kW + bb];
                                }
                            }
                    }
            }
        float[] out = new float[dx.length];
        for (int i = 0; i < dx.length; i++) out[i] = (float) dx[i];
        return out;
    }

    /** dw of the backward above, from x and dy. */
    public static float[] referenceBackwardWeight(float[] x, float[] dy, int n, int cIn, int h, int w, int cOut, int kH, int kW, Conv2dParams p) {
        int cg = cIn / p.groups(), og = cOut / p.groups(), oh = p.outH(h, kH), ow = p.outW(w, kW);
        float[] dw = new float[cOut * cg * kH * kW];
        for (int o = 0; o < cOut; o++) {
            int g = o / og;
            for (int c = 0; c < cg; c++)
                for (int a = 0; a < kH; a++)
                    for (int bb = 0; bb < kW; bb++) {
                        double s = 0;
                        for (int b = 0; b < n; b++)
                            for (int i = 0; i < oh; i++) {
                                int ih = i * p.strideH() - p.padH() + a * p.dilationH();
                                if (ih < 0 || ih >= h) continue;
                                for (int j = 0; j < ow; j++) {
                                    int iw = j * p.strideW() - p.padW() + bb * p.dilationW();
                                    if (iw < 0 || iw >= w) continue;
                                    s += (double) dy[((b * cOut + o) * oh + i) * ow + j] * x[((b * cIn + g * cg + c) * h + ih) * w + iw];
                                }
                            }
                        dw[((o * cg + c) * kH + a) * kW + bb] = (float) s;
                    }
        }
        return dw;
    }
}
