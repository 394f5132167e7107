package org.pulmo.backend.cpu;

import java.util.Set;
import java.util.TreeSet;
import org.pulmo.backend.Conv2dParams;

/**
 * A child JVM of {@link ConvDeterminismTest}: computes the im2col weight gradient ({@link GemmConv#backwardWeight})
 * of a few convolutions many times, on the threads {@code -Dpulmo.threads} gives it, and prints one line per shape:
 * its name and the distinct CRC-32s of the results' bits.
 */
public final class WeightGradientBits {
    private WeightGradientBits() {}

    /**
     * The shapes: a ResNet stem (7x7, stride 2) at batches 16 and 5, a strided 3x3, a grouped 3x3, and one with 64 output
     * channels (its GEMMs take Sgemm's packed path; the others its few-rows path). On 16 threads the batch of 5 runs its
     * parts one after another with each GEMM split over the threads; the rest give their parts to the threads.
     */
    static final int[][] SHAPES = {
        {16, 3, 32, 32, 16, 7, 2, 3, 1},
        {5, 3, 32, 32, 16, 7, 2, 3, 1},
        {12, 8, 14, 14, 16, 3, 2, 1, 1},
        {9, 16, 10, 10, 16, 3, 1, 1, 4},
        {20, 32, 16, 16, 64, 3, 2, 1, 1},
    };

    public static void main(String[] args) {
        int repeats = Integer.parseInt(args[0]);
        for (String line : lines(repeats)) System.out.println(line);
    }

    /** "n c h w cOut k stride pad groups: crc[,crc...]" for each shape, computed {@code repeats} times. */
    static java.util.List<String> lines(int repeats) {
        java.util.List<String> out = new java.util.ArrayList<>();
        for (int[] s : SHAPES) {
            int n = s[0], c = s[1], h = s[2], w = s[3], cOut = s[4], k = s[5], stride = s[6], pad = s[7], groups = s[8];
            Conv2dParams p = new Conv2dParams(stride, stride, pad, pad, 1, 1, groups);
            ConvGeom d = ConvGeom.of(n, c, h, w, cOut, k, k, p);
            org.pulmo.tensor.Rng rng = new org.pulmo.tensor.Rng(11);
            float[] x = new float[n * c * h * w], dy = new float[n * cOut * d.outPlane()];
            for (int i = 0; i < x.length; i++) x[i] = (float) rng.nextGaussian();
            for (int i = 0; i < dy.length; i++) dy[i] = (float) rng.nextGaussian();
            Set<String> crcs = new TreeSet<>();
            for (int r = 0; r < repeats; r++) {
                float[] dw = new float[cOut * d.colRows()];
                GemmConv.backwardWeight(d, x, dy, dw);
                java.util.zip.CRC32 crc = new java.util.zip.CRC32();
                java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(4 * dw.length);
                b.asFloatBuffer().put(dw);
                crc.update(b.array());
                crcs.add(Long.toHexString(crc.getValue()));
            }
            out.add(java.util.Arrays.toString(s) + ": " + String.join(",", crcs));
        }
        return out;
    }
}
