package org.pulmo.backend.cpu;

import org.pulmo.backend.Conv2dParams;

/**
 * conv2d as the plain loops of its definition (see {@link CpuConv}), accumulated in double: the ground truth
 * that every CPU strategy (CpuConvTest, WinogradTest) is tested against. Slow; for tests.
 */
public final class ConvReference {
    private ConvReference() {}

    public static float[] forward(float[] x, int n, int cIn, int h, int w, float[] wt, int cOut, int kH, int kW, Conv2dParams p) {
        ConvGeom d = ConvGeom.of(n, cIn, h, w, cOut, kH, kW, p);
        float[] y = new float[n * cOut * d.outPlane()];
        for (int b = 0; b < n; b++)
            for (int o = 0; o < cOut; o++) {
                int g = o / d.og();
                for (int i = 0; i < d.oh(); i++)
                    for (int j = 0; j < d.ow(); j++) {
                        double s = 0;
                        for (int c = 0; c < d.cg(); c++)
                            for (int a = 0; a < kH; a++) {
                                int ih = i * p.strideH() - p.padH() + a * p.dilationH();
                                if (ih < 0 || ih >= h) continue;
                                for (int bb = 0; bb < kW; bb++) {
                                    int iw = j * p.strideW() - p.padW() + bb * p.dilationW();
                                    if (iw < 0 || iw >= w) continue;
                                    s += (double) wt[((o * d.cg() + c) * kH + a) * kW + bb] * x[((b * cIn + g * d.cg() + c) * h + ih) * w + iw];
                                }
                            }
                        y[((b * cOut + o) * d.oh() + i) * d.ow() + j] = (float) s;
                    }
            }
        return y;
    }

    public static float[] backwardInput(float[] dy, int n, int cIn, int h, int w, float[] wt, int cOut, int kH, int kW, Conv2dParams p) {
        ConvGeom d = ConvGeom.of(n, cIn, h, w, cOut, kH, kW, p);
        double[] dx = new double[n * cIn * h * w];
        for (int b = 0; b < n; b++)
            for (int o = 0; o < cOut; o++) {
                int g = o / d.og();
                for (int i = 0; i < d.oh(); i++)
                    for (int j = 0; j < d.ow(); j++) {
                        double g0 = dy[((b * cOut + o) * d.oh() + i) * d.ow() + j];
                        for (int c = 0; c < d.cg(); c++)
                            for (int a = 0; a < kH; a++) {
                                int ih = i * p.strideH() - p.padH() + a * p.dilationH();
                                if (ih < 0 || ih >= h) continue;
                                for (int bb = 0; bb < kW; bb++) {
                                    int iw = j * p.strideW() - p.padW() + bb * p.dilationW();
                                    if (iw < 0 || iw >= w) continue;
                                    dx[((b * cIn + g * d.cg() + c) * h + ih) * w + iw] += g0 * wt[((o * d.cg() + c) * kH + a) * kW + bb];
                                }
                            }
                    }
            }
        float[] out = new float[dx.length];
        for (int i = 0; i < dx.length; i++) out[i] = (float) dx[i];
        return out;
    }

    public static float[] backwardWeight(float[] x, float[] dy, int n, int cIn, int h, int w, int cOut, int kH, int kW, Conv2dParams p) {
        ConvGeom d = ConvGeom.of(n, cIn, h, w, cOut, kH, kW, p);
        float[] dw = new float[cOut * d.colRows()];
        for (int o = 0; o < cOut; o++) {
            int g = o / d.og();
            for (int c = 0; c < d.cg(); c++)
                for (int a = 0; a < kH; a++)
                    for (int bb = 0; bb < kW; bb++) {
                        double s = 0;
                        for (int b = 0; b < n; b++)
                            for (int i = 0; i < d.oh(); i++) {
                                int ih = i * p.strideH() - p.padH() + a * p.dilationH();
                                if (ih < 0 || ih >= h) continue;
                                for (int j = 0; j < d.ow(); j++) {
                                    int iw = j * p.strideW() - p.padW() + bb * p.dilationW();
                                    if (iw < 0 || iw >= w) continue;
                                    s += (double) dy[((b * cOut + o) * d.oh() + i) * d.ow() + j] * x[((b * cIn + g * d.cg() + c) * h + ih) * w + iw];
                                }
                            }
                        dw[((o * d.cg() + c) * kH + a) * kW + bb] = (float) s;
                    }
        }
        return dw;
    }
}
