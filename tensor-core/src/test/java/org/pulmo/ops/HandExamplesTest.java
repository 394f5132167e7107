package org.pulmo.ops;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import org.junit.jupiter.api.Test;
import org.pulmo.backend.Pool2dParams;
import org.pulmo.tensor.Tensor;

/** Examples small enough to work out on paper; the expected numbers are derived in the comments. */
class HandExamplesTest {

    private static final float TOL = 1e-5f;

    /**
     * x [1, 2, 3, 3], w [2, 1, 2, 2], stride 2, padding 1, groups 2: output channel c sees input channel c only.
     * The output is 2x2 ((3 + 2 - 2) / 2 + 1); window (i, j) covers input rows 2i-1..2i and cols 2j-1..2j
     * (row or col -1 is padding, 0).
     */
    @Test void conv2dStride2Padding1Groups2() {
        Tensor x = Tensor.of(new float[] {
            1, 2, 3,   4, 5, 6,   7, 8, 9,        // channel 0
            1, 0, 2,   0, 3, 0,   4, 0, 5}, 1, 2, 3, 3).requiresGrad(true);
        Tensor w = Tensor.of(new float[] {
            1, 2, 3, 4,                          // w0 = [[1, 2], [3, 4]]
            1, -1, 0, 2}, 2, 1, 2, 2).requiresGrad(true); // w1 = [[1, -1], [0, 2]]
        Tensor b = Tensor.of(new float[] {0, 10}, 2).requiresGrad(true);
        Tensor y = x.conv2d(w, b, 2, 1, 1, 2);
        assertArrayEquals(new int[] {1, 2, 2, 2}, y.shape());
        assertArrayEquals(new float[] {
            // channel 0: (0,0) sees [[0,0],[0,1]] -> 4*1;  (0,1) [[0,0],[2,3]] -> 3*2 + 4*3;
            //            (1,0) [[0,4],[0,7]] -> 2*4 + 4*7;  (1,1) [[5,6],[8,9]] -> 5 + 12 + 24 + 36
            4, 18, 36, 77,
            // channel 1, plus bias 10: [[0,0],[0,1]] -> 2;  [[0,0],[0,2]] -> 4;  [[0,0],[0,4]] -> 8;
            //                          [[3,0],[0,5]] -> 3 + 10
            12, 14, 18, 23}, y.toArray(), TOL);

        y.sum().backward();
        // with stride 2 the 2x2 windows tile the padded input: each input pixel is in exactly one window, at
        // kernel position ((r + 1) % 2, (c + 1) % 2), so dx[r][c] = w[(r + 1) % 2][(c + 1) % 2]
        assertArrayEquals(new float[] {
            4, 3, 4,   2, 1, 2,   4, 3, 4,
            2, 0, 2,   -1, 1, -1,  2, 0, 2}, x.grad().toArray(), TOL);
        // dw[a][b] = sum of x over the pixels that meet kernel position (a, b):
        // w0: (0,0) <- x(1,1) = 5;  (0,1) <- x(1,0) + x(1,2) = 10;  (1,0) <- x(0,1) + x(2,1) = 10;  (1,1) <- corners = 20
        // w1: (0,0) <- 3;  (0,1) <- 0 + 0;  (1,0) <- 0 + 0;  (1,1) <- 1 + 2 + 4 + 5 = 12
        assertArrayEquals(new float[] {5, 10, 10, 20, 3, 0, 0, 12}, w.grad().toArray(), TOL);
        assertArrayEquals(new float[] {4, 4}, b.grad().toArray(), TOL); // four outputs per channel
    }

    /** A 3x3 "edge" kernel without padding on a ramp: every output is the same. */
    @Test void conv2dOnARamp() {
        float[] ramp = new float[16];
        for (int i = 0; i < 16; i++) ramp[i] = i % 4; // columns 0 1 2 3
        Tensor x = Tensor.of(ramp, 1, 1, 4, 4);
        Tensor w = Tensor.of(new float[] {-1, 0, 1, -1, 0, 1, -1, 0, 1}, 1, 1, 3, 3);
        // each output: 3 rows of (x[c+2] - x[c]) = 3 * 2
        assertArrayEquals(new float[] {6, 6, 6, 6}, x.conv2d(w, null, 1, 0, 1, 1).toArray(), TOL);
        // dilation 2 on 5x5 with a 2x2 kernel of ones: sums of pixels two apart
        float[] v = new float[25];
        for (int i = 0; i < 25; i++) v[i] = i;
        Tensor x5 = Tensor.of(v, 1, 1, 5, 5), ones = Tensor.ones(1, 1, 2, 2);
        // output (i, j) = x(i,j) + x(i,j+2) + x(i+2,j) + x(i+2,j+2) = 4 * x(i,j) + 2 + 10 + 12
        float[] expected = new float[9];
        for (int i = 0; i < 3; i++) for (int j = 0; j < 3; j++) expected[i * 3 + j] = 4 * (i * 5 + j) + 24;
        assertArrayEquals(expected, x5.conv2d(ones, null, 1, 0, 2, 1).toArray(), TOL);
    }

    private static final float[] PLANE = {
        1, 5, 2, 0,
        3, 4, 8, 6,
        7, 0, 1, 2,
        9, 3, 4, 5};

    /** An empty inner dimension sums nothing: the product is zeros, in every transpose mode and with a batch. */
    @Test void matmulOverAnEmptyInnerDimensionIsZeros() {
        float[] poison = org.pulmo.tensor.HostArrays.uninitialized(24);   // the pool the output would come from, NaN
        java.util.Arrays.fill(poison, Float.NaN);
        org.pulmo.tensor.HostArrays.giveBack(poison);
        assertArrayEquals(new float[24], LinearAlgebra.matmul(Tensor.zeros(2, 3, 0), Tensor.zeros(2, 0, 4)).toArray());
        assertArrayEquals(new int[] {2, 3, 4}, LinearAlgebra.matmul(Tensor.zeros(2, 3, 0), Tensor.zeros(2, 0, 4)).shape());
        var cpu = org.pulmo.backend.Backends.cpu();
        assertArrayEquals(new float[12], cpu.matmul(Tensor.zeros(0, 3), Tensor.zeros(4, 0), true, true).toArray());
        assertArrayEquals(new float[12], cpu.matmul(Tensor.zeros(3, 0), Tensor.zeros(4, 0), false, true).toArray());
    }

    @Test void maxPool2dOn4x4() {
        Tensor x = Tensor.of(PLANE, 1, 1, 4, 4).requiresGrad(true);
        Tensor y = x.maxPool2d(2, 2, 0);
        assertArrayEquals(new float[] {5, 8, 9, 5}, y.toArray(), TOL);
        y.backward(Tensor.of(new float[] {1, 2, 3, 4}, 1, 1, 2, 2));
        // each gradient lands on the position of its window's maximum
        assertArrayEquals(new float[] {
            0, 1, 0, 0,
            0, 0, 2, 0,
            0, 0, 0, 0,
            3, 0, 0, 4}, x.grad().toArray(), TOL);
        // kernel 3, stride 2, padding 1: windows rows/cols {0..1, 1..3}
        assertArrayEquals(new float[] {5, 8, 9, 8}, x.maxPool2d(3, 2, 1).toArray(), TOL);
        // padding is -infinity, not 0: on an all-negative plane the result stays negative
        assertArrayEquals(new float[] {-5, -2, -1, -2}, x.sub(10f).maxPool2d(3, 2, 1).toArray(), TOL);
    }

    @Test void avgPool2dOn4x4() {
        Tensor x = Tensor.of(PLANE, 1, 1, 4, 4).requiresGrad(true);
        assertArrayEquals(new float[] {13 / 4f, 16 / 4f, 19 / 4f, 12 / 4f}, x.avgPool2d(2, 2, 0).toArray(), TOL);
        // kernel 3, stride 2, padding 1, count_include_pad: every window divides by 9
        // window sums: rows 0..1 x cols 0..1 = 13, rows 0..1 x cols 1..3 = 25, rows 1..3 x cols 0..1 = 26, rest = 33
        Tensor y = x.avgPool2d(3, 2, 1);
        assertArrayEquals(new float[] {13 / 9f, 25 / 9f, 26 / 9f, 33 / 9f}, y.toArray(), TOL);
        y.sum().backward();
        // each pixel receives 1/9 per window covering it: rows/cols 0 in one window, 1 in two, 2..3 in one
        float[] dx = new float[16];
        int[] cover = {1, 2, 1, 1};
        for (int r = 0; r < 4; r++) for (int c = 0; c < 4; c++) dx[r * 4 + c] = cover[r] * cover[c] / 9f;
        assertArrayEquals(dx, x.grad().toArray(), TOL);
        // without counting the padding: divisors 4, 6, 6, 9
        Tensor z = Pooling.avgPool2d(x, new Pool2dParams(3, 3, 2, 2, 1, 1, false));
        assertArrayEquals(new float[] {13 / 4f, 25 / 6f, 26 / 6f, 33 / 9f}, z.toArray(), TOL);
    }

    @Test void globalPoolsAndSoftmax() {
        Tensor x = Tensor.of(PLANE, 1, 1, 4, 4);
        assertArrayEquals(new float[] {60 / 16f}, x.globalAvgPool().toArray(), TOL);
        assertArrayEquals(new float[] {9}, x.globalMaxPool().toArray(), TOL);
        Tensor s = Tensor.of(new float[] {0, (float) Math.log(3)}, 1, 2).softmax(1);
        assertArrayEquals(new float[] {0.25f, 0.75f}, s.toArray(), TOL);
        Tensor ls = Tensor.of(new float[] {1000, 1000}, 2).logSoftmax(0);
        assertArrayEquals(new float[] {(float) -Math.log(2), (float) -Math.log(2)}, ls.toArray(), TOL);
    }

    @Test void batchNormOnTwoValuesPerChannel() {
        // channel 0: {1, 3}: mean 2, var 1 -> (-1, 1);  channel 1: {2, 2}: var 0 -> 0 (eps keeps it finite)
        Tensor x = Tensor.of(new float[] {1, 2, 3, 2}, 2, 2);
        Tensor y = Normalization.batchNorm(x, Tensor.of(new float[] {2, 1}, 2), Tensor.of(new float[] {0.5f, -1}, 2),
            null, null, true, 0.1f, 0f + 1e-5f);
        assertArrayEquals(new float[] {-2 + 0.5f, -1, 2 + 0.5f, -1}, y.toArray(), 1e-4f);
        Tensor rm = Tensor.zeros(2), rv = Tensor.ones(2);
        Normalization.batchNorm(x, null, null, rm, rv, true, 0.1f, 1e-5f);
        // running = 0.9 running + 0.1 batch, with the unbiased variance (M / (M - 1) = 2): var0 = 0.9 + 0.1 * 2
        assertArrayEquals(new float[] {0.2f, 0.2f}, rm.toArray(), TOL);
        assertArrayEquals(new float[] {1.1f, 0.9f}, rv.toArray(), TOL);
        var mv = x.batchNormStats();
        assertArrayEquals(new float[] {2, 2}, mv.mean().toArray(), TOL);
        assertArrayEquals(new float[] {1, 0}, mv.var().toArray(), TOL);
    }

    @Test void matmulByHand() {
        Tensor a = Tensor.of(new float[] {1, 2, 3, 4, 5, 6}, 2, 3), b = Tensor.of(new float[] {1, 0, 0, 1, 1, 1}, 3, 2);
        assertArrayEquals(new float[] {4, 5, 10, 11}, a.matmul(b).toArray(), TOL);
        assertArrayEquals(new float[] {14, 32, 32, 77}, a.matmul(a.transpose(0, 1)).toArray(), TOL);
    }
}
