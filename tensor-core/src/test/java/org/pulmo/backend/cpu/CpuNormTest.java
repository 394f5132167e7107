package org.pulmo.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Random;
import org.junit.jupiter.api.Test;

/** Batch-norm statistics and backward sums (widened-vector double sums) against scalar double loops. */
class CpuNormTest {

    @Test
    void statsAndBackwardMatchScalarDoubleLoops() {
        Random rng = new Random(41);
        java.util.List<int[]> shapes = new java.util.ArrayList<>(java.util.List.of(
            new int[] {3, 4, 5, 7}, new int[] {2, 3, 16, 16}, new int[] {4, 2, 1, 1}, new int[] {1, 5, 9, 13}));
        // planes on both sides of every vector loop's first trip, for 2-, 4- and 8-lane double vectors
        for (int len : new int[] {2, 3, 4, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33}) shapes.add(new int[] {3, 2, 1, len});
        for (int[] s : shapes) {
            int n = s[0], c = s[1], sp = s[2] * s[3];
            float[] x = new float[n * c * sp], g = new float[x.length];
            for (int i = 0; i < x.length; i++) { x[i] = 100f + (float) rng.nextGaussian(); g[i] = (float) rng.nextGaussian(); }
            float[] mean = new float[c], var = new float[c];
            CpuNorm.stats(x, 0, s, mean, var);
            float[] invStd = new float[c];
            for (int ch = 0; ch < c; ch++) {
                double sum = 0, sq = 0;
                for (int b = 0; b < n; b++) for (int i = 0; i < sp; i++) sum += x[(b * c + ch) * sp + i];
                double mu = sum / (n * sp);
                for (int b = 0; b < n; b++) for (int i = 0; i < sp; i++) { double v = x[(b * c + ch) * sp + i] - mu; sq += v * v; }
                assertEquals((float) mu, mean[ch], 1e-5f * 100, "mean");
                assertEquals((float) (sq / (n * sp)), var[ch], 1e-5f, "variance");
                invStd[ch] = (float) (1 / Math.sqrt(var[ch] + 1e-5));
            }
            float[] dx = new float[x.length], dw = new float[c], db = new float[c];
            CpuNorm.backward(g, 0, x, 0, s, mean, invStd, null, null, false, dx, dw, db);
            for (int ch = 0; ch < c; ch++) {
                double sg = 0, sgx = 0;
                for (int b = 0; b < n; b++)
                    for (int i = 0; i < sp; i++) {
                        int at = (b * c + ch) * sp + i;
                        sg += g[at];
                        sgx += (double) g[at] * (x[at] - mean[ch]);
                    }
                assertEquals((float) sg, db[ch], 1e-4f * Math.max(1, Math.abs((float) sg)), "dbias");
                assertEquals((float) (sgx * invStd[ch]), dw[ch], 1e-4f * Math.max(1, Math.abs((float) (sgx * invStd[ch]))), "dweight");
            }
        }
    }

    /**
     * Planes under a vector run per sample against per-value copies of the channels' numbers; they must give the bits of
     * the per-plane loop, whose float operations this repeats one value at a time: y = max(x * scale + shift, 0) and
     * dx = k * (M * g' - dbias - xhat * dweight) with g' = g where x * scale + shift > 0.
     */
    @Test
    void smallPlanesGiveThePerPlaneLoopsBits() {
        Random rng = new Random(43);
        for (int[] s : new int[][] {{16, 24, 2, 2}, {5, 37, 1, 1}, {3, 5, 3, 3}, {2, 7, 1, 3}}) {
            int n = s[0], c = s[1], sp = s[2] * s[3], len = n * c * sp;
            float[] x = new float[len], g = new float[len];
            for (int i = 0; i < len; i++) { x[i] = (float) rng.nextGaussian(); g[i] = (float) rng.nextGaussian(); }
            float[] mean = new float[c], var = new float[c], invStd = new float[c], w = new float[c], b = new float[c];
            CpuNorm.stats(x, 0, s, mean, var);
            for (int ch = 0; ch < c; ch++) {
                invStd[ch] = (float) (1 / Math.sqrt(var[ch] + 1e-5));
                w[ch] = 0.5f + (float) rng.nextDouble();
                b[ch] = (float) rng.nextGaussian() * 0.3f;
            }
            for (boolean relu : new boolean[] {false, true}) {
                String at = java.util.Arrays.toString(s) + (relu ? " relu" : "");
                float[] y = CpuNorm.apply(x, 0, s, mean, invStd, w, b, relu);
                float[] dx = new float[len], dw = new float[c], db = new float[c];
                CpuNorm.backward(g, 0, x, 0, s, mean, invStd, w, b, relu, dx, dw, db);
                for (int i = 0; i < len; i++) {
                    int ch = i / sp % c;
                    float scale = invStd[ch] * w[ch], shift = b[ch] - mean[ch] * scale, v = x[i] * scale + shift;
                    assertEquals(Float.floatToIntBits(relu ? Math.max(v, 0f) : v), Float.floatToIntBits(y[i]), at + " y at " + i);
                    float gm = relu && !(v > 0f) ? 0f : g[i], xhat = (x[i] - mean[ch]) * invStd[ch];
                    float k = w[ch] * invStd[ch] / (n * sp), mf = n * sp;
                    assertEquals(Float.floatToIntBits(k * (mf * gm - db[ch] - xhat * dw[ch])), Float.floatToIntBits(dx[i]), at + " dx at " + i);
                }
            }
        }
    }
}
