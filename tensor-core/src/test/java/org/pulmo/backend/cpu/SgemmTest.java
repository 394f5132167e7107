package org.pulmo.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.Random;
import org.junit.jupiter.api.Test;

/** Sgemm against the triple-loop reference: every transpose pair, edge sizes, offsets, leading dims, beta. */
class SgemmTest {

    /** Fails with the first element where |actual - expected| > atol + rtol * |expected|. */
    static void assertClose(float[] expected, float[] actual, float atol, float rtol, String what) {
        if (expected.length != actual.length) fail(what + ": length " + actual.length + " != " + expected.length);
        for (int i = 0; i < expected.length; i++) {
            float e = expected[i], a = actual[i];
            if (!(Math.abs(a - e) <= atol + rtol * Math.abs(e))) {
                fail(what + ": first mismatch at index " + i + ": expected " + e + ", actual " + a);
            }
        }
    }

    static float[] random(Random rng, int size) {
        float[] x = new float[size];
        for (int i = 0; i < size; i++) x[i] = rng.nextFloat() * 2 - 1;
        return x;
    }

    /**
     * Runs sgemm and the reference on the same random data, with op(A) stored at an offset inside a larger
     * array and every leading dimension padded by pad columns, and compares all of C, padding included.
     */
    private static void check(Random rng, boolean transA, boolean transB, int m, int n, int k, int pad, float beta, boolean nanInC) {
        int aRows = transA ? k : m, aCols = transA ? m : k;
        int bRows = transB ? n : k, bCols = transB ? k : n;
        int lda = aCols + pad, ldb = bCols + pad, ldc = n + pad;
        int aOff = 3, bOff = 5, cOff = 7;
        float[] a = random(rng, aOff + Math.max(1, aRows * lda));
        float[] b = random(rng, bOff + Math.max(1, bRows * ldb));
        float[] c = random(rng, cOff + Math.max(1, m * ldc) + 2);
        if (nanInC) for (int i = 0; i < m; i++) for (int j = 0; j < n; j++) c[cOff + i * ldc + j] = Float.NaN;
        float[] expected = c.clone();
        Sgemm.sgemmReference(transA, transB, m, n, k, a, aOff, lda, b, bOff, ldb, beta, expected, cOff, ldc);
        float[] actual = c.clone();
        Sgemm.sgemm(transA, transB, m, n, k, a, aOff, lda, b, bOff, ldb, beta, actual, cOff, ldc);
        String what = "sgemm transA=" + transA + " transB=" + transB + " m=" + m + " n=" + n + " k=" + k
                + " pad=" + pad + " beta=" + beta;
        assertClose(expected, actual, 1e-4f * Math.max(1, k), 1e-4f, what);
        float[] serial = c.clone();
        Sgemm.sgemmSerial(transA, transB, m, n, k, a, aOff, lda, b, bOff, ldb, beta, serial, cOff, ldc);
        assertClose(expected, serial, 1e-4f * Math.max(1, k), 1e-4f, "serial " + what);
    }

    /**
     * A packed once and reused gives exactly the bits of the plain call (the same panels reach the same
     * kernels), serial and split over threads, with beta 0 (over NaN) and 1, at sizes with partial MR panels,
     * several KC blocks of k and several NC blocks of n.
     */
    @Test
    void prePackedAMatchesThePlainCall() {
        Random rng = new Random(7);
        int[][] shapes = {{1, 1, 1}, {5, 9, 3}, {13, 70, 300}, {64, 600, 64}, {100, 1100, 530}, {256, 196, 257}};
        for (boolean transA : new boolean[] {false, true})
            for (boolean transB : new boolean[] {false, true})
                for (int[] s : shapes) {
                    int m = s[0], n = s[1], k = s[2], lda = (transA ? m : k) + 2, ldb = (transB ? k : n) + 1, ldc = n + 3;
                    float[] a = random(rng, 4 + (transA ? k : m) * lda), b = random(rng, (transB ? n : k) * ldb);
                    Sgemm.PackedA pa = Sgemm.pack(transA, m, k, a, 4, lda);
                    for (float beta : new float[] {0f, 1f}) {
                        float[] c0 = random(rng, m * ldc);
                        if (beta == 0f) for (int i = 0; i < m; i++) java.util.Arrays.fill(c0, i * ldc, i * ldc + n, Float.NaN);
                        float[] plain = c0.clone(), packed = c0.clone(), packedSerial = c0.clone();
                        Sgemm.sgemm(transA, transB, m, n, k, a, 4, lda, b, 0, ldb, beta, plain, 0, ldc);
                        Sgemm.sgemm(pa, transB, n, b, 0, ldb, beta, packed, 0, ldc);
                        Sgemm.sgemmSerial(pa, transB, n, b, 0, ldb, beta, packedSerial, 0, ldc);
                        String what = "transA=" + transA + " transB=" + transB + " " + m + "x" + n + "x" + k + " beta=" + beta;
                        if (m > Sgemm.SKINNY_MAX_M || transA || !transB) assertArrayEquals(plain, packed, what);
                        else assertClose(plain, packed, 1e-4f * k, 1e-4f, what); // the plain call took the dot-product path
                        assertArrayEquals(packed, packedSerial, "serial " + what);
                    }
                }
    }

    /**
     * A large call split into column strips packs op(A) once for all of them (Sgemm.packShared): the same bits as each
     * strip packing its own, for both transposes of A and of B, a partial MR panel (298 rows) and a partial KC block.
     */
    @Test
    void sharedPackedAMatchesPerStripPacking() {
        Random rng = new Random(11);
        int m = 298, n = 1280, k = 720; // 2^28 multiply-adds and wider than tall: column strips, op(A) shared
        for (boolean transA : new boolean[] {false, true})
            for (boolean transB : new boolean[] {false, true}) {
                float[] a = random(rng, m * k), b = random(rng, k * n);
                int lda = transA ? m : k, ldb = transB ? k : n;
                float[] perStrip = new float[m * n], shared = new float[m * n];
                boolean before = Sgemm.SHARED_PACK;
                try {
                    Sgemm.SHARED_PACK = false;
                    Sgemm.sgemm(transA, transB, m, n, k, a, 0, lda, b, 0, ldb, 0f, perStrip, 0, n);
                    Sgemm.SHARED_PACK = true;
                    long calls = Sgemm.sharedPacks.get();
                    Sgemm.sgemm(transA, transB, m, n, k, a, 0, lda, b, 0, ldb, 0f, shared, 0, n);
                    if (Parallel.threads() > 1 && Sgemm.sharedPacks.get() != calls + 1) fail("the call did not share its packed A");
                } finally {
                    Sgemm.SHARED_PACK = before;
                }
                assertArrayEquals(perStrip, shared, "transA=" + transA + " transB=" + transB);
            }
    }

    @Test
    void handExample() {
        // [1 2 3]   [ 7  8]   [ 58  64]
        // [4 5 6] * [ 9 10] = [139 154]
        //           [11 12]
        float[] a = {1, 2, 3, 4, 5, 6};
        float[] b = {7, 8, 9, 10, 11, 12};
        float[] c = new float[4];
        Sgemm.sgemm(false, false, 2, 2, 3, a, 0, 3, b, 0, 2, 0f, c, 0, 2);
        assertArrayEquals(new float[] {58, 64, 139, 154}, c);
    }

    @Test
    void allTransposesOddSizes() {
        Random rng = new Random(42);
        int[][] shapes = {
            {1, 1, 1}, {1, 7, 3}, {7, 1, 3}, {3, 5, 1}, {5, 3, 2}, {13, 17, 19}, {6, 64, 8}, {7, 65, 9},
            {31, 97, 41}, {64, 64, 64}, {97, 130, 257}, {130, 67, 300}, {2, 300, 5}, {300, 2, 5}, {37, 211, 520},
            {8, 100, 2051}, {16, 33, 700}, {17, 40, 300}, // up to 16 rows with transposed B take the dot-product path
            {18, 66, 2049}, {64, 147, 4100}, // long k and small C with transposed B: 4 x 4 dot-product tiles, k in blocks
        };
        for (boolean transA : new boolean[] {false, true}) {
            for (boolean transB : new boolean[] {false, true}) {
                for (int[] s : shapes) {
                    check(rng, transA, transB, s[0], s[1], s[2], 0, 0f, false);
                    check(rng, transA, transB, s[0], s[1], s[2], 3, 1f, false);
                }
            }
        }
    }

    @Test
    void narrowTailPanels() {
        // n past the last full 64-wide panel: 1, 2 or 3 whole vectors (written straight to C when m is a
        // multiple of 6) and partial vectors (through the tile), as small conv planes give (49, 196, 4x16).
        Random rng = new Random(8);
        int[][] shapes = {{12, 16, 20}, {12, 32, 7}, {6, 48, 9}, {18, 112, 30}, {12, 196, 40}, {64, 49, 33},
            {7, 17, 5}, {6, 40, 300}, {130, 64 + 48, 70}};
        for (boolean transA : new boolean[] {false, true})
            for (boolean transB : new boolean[] {false, true})
                for (int[] s : shapes) {
                    check(rng, transA, transB, s[0], s[1], s[2], 0, 0f, false);
                    check(rng, transA, transB, s[0], s[1], s[2], 2, 1f, false);
                }
    }

    @Test
    void largeEnoughToRunOnEveryThread() {
        Random rng = new Random(7);
        for (boolean transA : new boolean[] {false, true}) {
            for (boolean transB : new boolean[] {false, true}) {
                check(rng, transA, transB, 150, 200, 270, 1, 0f, false);
                check(rng, transA, transB, 400, 30, 100, 0, 1f, false);
                check(rng, transA, transB, 64, 196, 90, 0, 0f, false);    // rows balance better than 128 + 68 columns
                check(rng, transA, transB, 20, 700, 40, 1, 1f, false);
            }
        }
    }

    @Test
    void gatherAndScalarPackingAgree() {
        // The gathered panels (full 64-column panels of a transposed B) beside the scalar tails: k not a multiple
        // of KC, n past the last full panel, leading dimensions changing between calls (the gather offsets are
        // cached per ldb), and k = 1024 + pad, where a stride of 4 KB turns the gathers off.
        Random rng = new Random(11);
        int[][] shapes = {{64, 64, 300}, {64, 64, 17}, {66, 128, 15}, {13, 64 + 33, 531}, {6, 64, 16}, {64, 576, 90},
            {130, 192, 257}, {5, 70, 40}, {12, 64, 1024}};
        boolean saved = Sgemm.GATHER_PACK;
        try {
            for (boolean gather : new boolean[] {true, false}) {
                Sgemm.setGatherPack(gather);
                for (boolean transA : new boolean[] {false, true})
                    for (boolean transB : new boolean[] {false, true})
                        for (int[] s : shapes)
                            for (int pad : new int[] {0, 5, 1}) check(rng, transA, transB, s[0], s[1], s[2], pad, pad == 1 ? 1f : 0f, false);
            }
        } finally {
            Sgemm.setGatherPack(saved);
        }
    }

    @Test
    void betaZeroIgnoresNaNInC() {
        Random rng = new Random(3);
        check(rng, false, false, 9, 70, 11, 2, 0f, true);
        check(rng, true, true, 100, 100, 300, 0, 0f, true);
    }

    @Test
    void betaOneAccumulatesAndOtherBetaScales() {
        Random rng = new Random(5);
        check(rng, false, false, 20, 33, 17, 1, 1f, false);
        check(rng, false, true, 20, 33, 17, 1, 0.5f, false);
        check(rng, true, false, 70, 129, 300, 0, -2f, false);
    }

    @Test
    void emptyK() {
        Random rng = new Random(9);
        check(rng, false, false, 4, 5, 0, 1, 0f, true);
        check(rng, false, false, 4, 5, 0, 1, 1f, false);
        check(rng, true, false, 4, 5, 0, 0, 3f, false);
    }
}
