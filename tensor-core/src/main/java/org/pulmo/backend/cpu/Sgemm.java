package org.pulmo.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Single-precision matrix multiply, row-major: {@code C = op(A) * op(B) + beta * C}, with op(A) m x k,
 * op(B) k x n and C m x n. {@code op(X)} is X or its transpose; element (i, j) of a row-major X with
 * leading dimension ld is {@code x[off + i * ld + j]}.
 *
 * <p>FLOPs: 2*m*n*k. Design (Goto / BLIS): the k x n B block and the m x k A block are copied ("packed")
 * into contiguous panels, kc rows of k at a time, so that the micro-kernel reads both with unit stride;
 * packing also absorbs the transposes. The micro-kernel keeps an MR x NR tile of C in 24 vector registers
 * (MR = 6 rows, NR = 4 vectors: 6 x 64 with 512-bit vectors) and per step of k does 4 vector loads of B,
 * 6 broadcasts of A and 24 FMAs. Loop order, outermost first: jc (NC columns of B, packed block fits L2),
 * pc (KC of k), ic (MC rows of A), ir (MR rows: the A micro-panel stays in L1), jr (NR columns: B
 * micro-panels stream from L2).
 *
 * <p>Threads: C is cut into one column (or row) strip per thread; each strip is an independent GEMM with
 * its own packing buffers, so the threads never synchronise inside a call.
 */
public final class Sgemm {
    private Sgemm() {}

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();
    static final int MR = 6;
    static final int NR = 4 * L;
    // Blocking; the properties are for A/B measurements (on the Zen 5 host, KC 128-1024 and NC 2-16 panels all
    // measured within the run-to-run spread of SGEMM 1024, 66-75 % of the FMA peak; benchmarks/RESULTS.md).
    private static final int KC = Integer.getInteger("pulmo.sgemm.kc", 256);
    private static final int MC = MR * Integer.getInteger("pulmo.sgemm.mcPanels", 24);
    private static final int NC = NR * Integer.getInteger("pulmo.sgemm.ncPanels", 8);
    /** Transposed B packed in blocks of 16 rows of k (false: the column-by-column copy); for A/B measurements. */
    static boolean TRANSPOSED_PACK_BLOCKED = !"false".equals(System.getProperty("pulmo.sgemm.blockedPack"));
    /**
     * Pack a transposed B with vector gathers instead of scalar copies where its leading dimension allows
     * (see {@link Buffers#bGather}); false: always the scalar copies. For A/B measurements.
     */
    static boolean GATHER_PACK = !"false".equals(System.getProperty("pulmo.sgemm.gatherPack"));
    /** At most this many of a gathered panel's NR source lines may share one of L1's 64 sets (48 KB, 12 ways). */
    private static final int MAX_LINES_PER_SET = 8;
    /** Below this many multiply-adds a call runs on one thread. */
    private static final long MIN_PARALLEL_MACS = 1L << 18;

    private static final class Buffers {
        final float[] a = new float[MC * KC];
        final float[] b = new float[KC * NC];
        final float[] tile = new float[MR * NR];
        /** Gather offsets for a transposed B panel row: j * ldb for j < NR, valid for ldb == bLd. */
        final int[] bIdx = new int[NR];
        int bLd = -1;
        /**
         * Whether ldb == bLd spreads the NR source lines of a panel over enough L1 sets for the gathers: each
         * line serves 16 consecutive rows of the panel, so all NR must stay resident. A stride of a multiple
         * of 4 KB (k = 8 x 112 x 112 in the stem's backward weight) puts all in one set and misses on every
         * gather; there the scalar copy, which reads 16 values of one line at once, is faster.
         */
        boolean bGather;
    }

    private static final ThreadLocal<Buffers> BUFFERS = ThreadLocal.withInitial(Buffers::new);

    /** C = op(A) * op(B) + beta * C, split over Parallel.threads(). beta == 0 ignores what C held (NaN too). */
    public static void sgemm(boolean transA, boolean transB, int m, int n, int k,
                             float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                             float beta, float[] c, int cOff, int ldc) {
        gemm(transA, transB, m, n, k, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc, true, null);
    }

    /** As {@link #sgemm} but on the calling thread only: for callers that already parallelise outside. */
    public static void sgemmSerial(boolean transA, boolean transB, int m, int n, int k,
                                   float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                                   float beta, float[] c, int cOff, int ldc) {
        gemm(transA, transB, m, n, k, a, aOff, lda, b, bOff, ldb, beta, c, cOff, ldc, false, null);
    }

    /**
     * op(A) already cut into the micro-kernel's MR-row panels, every KC block of k one after the other:
     * block pc holds the ceil(m / MR) panels of op(A)[:, pc : pc + kc], panel r at pc * mPad + r * MR * kc.
     * For an A shared by many GEMMs: a convolution's weights serve every sample, and packing them once per
     * call instead of once per sample and per NC block of columns took ~5 % of a ResNet-50 step.
     */
    public record PackedA(float[] panels, int offset, int m, int k, int mPad) {}

    /** Packs op(A) (m x k) once, for {@link #sgemm(PackedA, boolean, int, float[], int, int, float, float[], int, int)}. */
    public static PackedA pack(boolean transA, int m, int k, float[] a, int aOff, int lda) {
        return pack(transA, m, k, a, aOff, lda, null);
    }

    /** Floats a packed m x k operand takes. */
    public static int packedSize(int m, int k) { return Math.max(1, (m + MR - 1) / MR * MR * k); }

    /** As {@link #pack(boolean, int, int, float[], int, int)}, into buffer when it holds packedSize(m, k) floats. */
    public static PackedA pack(boolean transA, int m, int k, float[] a, int aOff, int lda, float[] buffer) {
        return packInto(transA, m, k, a, aOff, lda, buffer != null && buffer.length >= packedSize(m, k) ? buffer : new float[packedSize(m, k)], 0);
    }

    /** Packs op(A) into buffer[at .. at + packedSize(m, k)) (several packed operands may share one buffer). */
    public static PackedA packInto(boolean transA, int m, int k, float[] a, int aOff, int lda, float[] buffer, int at) {
        int mPad = (m + MR - 1) / MR * MR;
        for (int pc = 0; pc < k; pc += KC) packA(transA, a, aOff, lda, 0, m, pc, Math.min(KC, k - pc), buffer, at + pc * mPad);
        return new PackedA(buffer, at, m, k, mPad);
    }

    /** C = A * op(B) + beta * C with A packed by {@link #pack}, split over Parallel.threads(). */
    public static void sgemm(PackedA a, boolean transB, int n, float[] b, int bOff, int ldb, float beta, float[] c, int cOff, int ldc) {
        gemm(false, transB, a.m(), n, a.k(), null, 0, 0, b, bOff, ldb, beta, c, cOff, ldc, true, a);
    }

    /** As {@link #sgemm(PackedA, boolean, int, float[], int, int, float, float[], int, int)}, on the calling thread only. */
    public static void sgemmSerial(PackedA a, boolean transB, int n, float[] b, int bOff, int ldb, float beta, float[] c, int cOff, int ldc) {
        gemm(false, transB, a.m(), n, a.k(), null, 0, 0, b, bOff, ldb, beta, c, cOff, ldc, false, a);
    }

    private static void gemm(boolean transA, boolean transB, int m, int n, int k,
                             float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                             float beta, float[] c, int cOff, int ldc, boolean parallel, PackedA pa) {
        if (m < 0 || n < 0 || k < 0) throw new IllegalArgumentException("sgemm: negative size " + m + "x" + n + "x" + k);
        if (m == 0 || n == 0) return;
        if (k == 0 || (beta != 0f && beta != 1f)) {
            scale(m, n, beta, c, cOff, ldc);
            if (k == 0) return;
            beta = 1f;
        }
        boolean overwrite = beta == 0f;
        long macs = (long) m * n * k;
        int threads = parallel && macs >= MIN_PARALLEL_MACS ? Parallel.threads() : 1;
        if (pa == null && !transA && transB && m <= SKINNY_MAX_M) {
            skinnyTransB(m, n, k, a, aOff, lda, b, bOff, ldb, overwrite, c, cOff, ldc, threads > 1);
            return;
        }
        if (pa == null && !transA && transB && DOT_TILES && k >= DOT_MIN_K && (long) m * n <= DOT_MAX_MN) {
            dotTiles(m, n, k, a, aOff, lda, b, bOff, ldb, overwrite, c, cOff, ldc, threads > 1);
            return;
        }
        if (threads == 1) {
            strip(transA, transB, 0, m, 0, n, k, a, aOff, lda, pa, b, bOff, ldb, overwrite, c, cOff, ldc);
            return;
        }
        // Cut along n in whole NR panels or along m in MR panels, whichever leaves the busiest thread the
        // least work: n = 196 (a batch of 7x7 conv planes) in 64-wide panels splits 128 + 68, so there
        // rows balance better; n = 3136 splits evenly by columns.
        int nUnits = (n + NR - 1) / NR, mUnits = (m + MR - 1) / MR;
        long busiestByCols = (long) Math.min(n, (nUnits + threads - 1) / threads * NR) * m;
        long busiestByRows = (long) Math.min(m, (mUnits + threads - 1) / threads * MR) * n;
        boolean byCols = busiestByCols <= busiestByRows;
        int unit = byCols ? NR : MR;
        int extent = byCols ? n : m;
        int units = (extent + unit - 1) / unit;
        int parts = Math.min(threads, units);
        // Column strips all read the whole of op(A): pack it once, split over the threads, instead of once per strip.
        PackedA shared = pa == null && byCols && parts > 1 && SHARED_PACK && macs >= SHARED_PACK_MIN_MACS ? packShared(transA, m, k, a, aOff, lda) : null;
        PackedA packed = shared != null ? shared : pa;
        Parallel.forRange(parts, Long.MAX_VALUE / parts, (s, e) -> {
            for (int t = s; t < e; t++) {
                int lo = Math.min(extent, (int) ((long) units * t / parts) * unit);
                int hi = Math.min(extent, (int) ((long) units * (t + 1) / parts) * unit);
                if (lo >= hi) continue;
                if (byCols) strip(transA, transB, 0, m, lo, hi, k, a, aOff, lda, packed, b, bOff, ldb, overwrite, c, cOff, ldc);
                else strip(transA, transB, lo, hi, 0, n, k, a, aOff, lda, packed, b, bOff, ldb, overwrite, c, cOff, ldc);
            }
        });
    }

    /** Whether column strips share one packed op(A) ({@link #packShared}); false: each strip packs its own. For A/B measurements. */
    static boolean SHARED_PACK = !"false".equals(System.getProperty("pulmo.sgemm.sharedPack"));
    /**
     * Smallest call whose strips share op(A). Measured A/B on the Zen 5 host (benchmarks/RESULTS.md): SGEMM 1024 and 2048
     * 5-15 % faster shared, 512 even, 256 15 % slower (the extra fork and join, and half of A read from the other
     * core's cache, cost more than the packing saved).
     */
    private static final long SHARED_PACK_MIN_MACS = 1L << 28;
    /** Largest op(A) packed once for all strips, in floats (16 MB); larger ones are packed per strip as before. */
    private static final int SHARED_PACK_MAX = 1 << 22;
    /** Calls that shared one packed op(A) so far (tests check that a shape takes the shared path). */
    static final java.util.concurrent.atomic.AtomicLong sharedPacks = new java.util.concurrent.atomic.AtomicLong();
    /** The calling thread's buffer for a shared packed op(A); kept for the next call. */
    private static final ThreadLocal<float[][]> SHARED_A = ThreadLocal.withInitial(() -> new float[1][0]);

    /**
     * op(A) packed once for every column strip of a threaded call, its MR-row panels split over the threads. Each
     * strip otherwise packs all of op(A) itself: for SGEMM 1024 on two threads, 0.48 ms of each thread's 6.5 ms
     * went to packing the whole of A, half of it a copy of the other thread's work. Null when op(A) is too large
     * for the buffer's cap (the strips then pack their own).
     */
    private static PackedA packShared(boolean transA, int m, int k, float[] a, int aOff, int lda) {
        int size = packedSize(m, k);
        if (size > SHARED_PACK_MAX) return null;
        sharedPacks.incrementAndGet();
        float[][] holder = SHARED_A.get();
        if (holder[0].length < size) holder[0] = new float[size];
        float[] buf = holder[0];
        int mPad = (m + MR - 1) / MR * MR, panels = mPad / MR;
        Parallel.forRange(panels, 2L * k * MR, (r0, r1) -> {
            int i0 = r0 * MR, rows = Math.min(m, r1 * MR) - i0;
            if (rows <= 0) return;
            for (int pc = 0; pc < k; pc += KC) {
                int kc = Math.min(KC, k - pc);
                packA(transA, a, aOff, lda, i0, rows, pc, kc, buf, pc * mPad + i0 * kc); // panel i0 / MR of block pc
            }
        });
        return new PackedA(buf, 0, m, k, mPad);
    }

    /** At most this many rows of A take {@link #skinnyTransB} when B is transposed. */
    static final int SKINNY_MAX_M = 16;

    /**
     * C (+)= A * B^T for a few rows of A: a Linear layer on a small batch (x [N, in] times weight [out, in]
     * transposed; SE's and the classifiers' fully connected layers). Row i of A and row j of B both run along
     * k with unit stride, so C[i, j] is a dot product, and B is read straight from its rows once per 4 rows of
     * A. The packed path would transpose all of B into panels for these few rows: for ResNet-50's fc at batch
     * 8 (8 x 1000 x 2048) that copy took 3.2 ms against 0.3 ms of arithmetic. Lane sums are added in lane
     * order, so the result does not depend on the thread count or on JIT compilation.
     */
    private static void skinnyTransB(int m, int n, int k, float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                                     boolean overwrite, float[] c, int cOff, int ldc, boolean parallel) {
        int kv = k - k % L;
        Parallel.RangeBody body = (j0, j1) -> {
            float[] lanes = new float[4 * L];
            for (int j = j0; j < j1; j++) {
                int bj = bOff + j * ldb;
                for (int i0 = 0; i0 < m; i0 += 4) {
                    int rows = Math.min(4, m - i0);
                    // Rows past m repeat row i0 (computed, not stored), so the loop has no branches.
                    int a0 = aOff + i0 * lda, a1 = rows > 1 ? a0 + lda : a0, a2 = rows > 2 ? a0 + 2 * lda : a0, a3 = rows > 3 ? a0 + 3 * lda : a0;
                    FloatVector s0 = FloatVector.zero(S), s1 = s0, s2 = s0, s3 = s0;
                    for (int p = 0; p < kv; p += L) {
                        FloatVector bv = FloatVector.fromArray(S, b, bj + p);
                        s0 = FloatVector.fromArray(S, a, a0 + p).fma(bv, s0);
                        s1 = FloatVector.fromArray(S, a, a1 + p).fma(bv, s1);
                        s2 = FloatVector.fromArray(S, a, a2 + p).fma(bv, s2);
                        s3 = FloatVector.fromArray(S, a, a3 + p).fma(bv, s3);
                    }
                    s0.intoArray(lanes, 0);
                    s1.intoArray(lanes, L);
                    s2.intoArray(lanes, 2 * L);
                    s3.intoArray(lanes, 3 * L);
                    for (int r = 0; r < rows; r++) {
                        float sum = 0f;
                        for (int l = 0; l < L; l++) sum += lanes[r * L + l];
                        int ar = aOff + (i0 + r) * lda;
                        for (int p = kv; p < k; p++) sum += a[ar + p] * b[bj + p];
                        int at = cOff + (i0 + r) * ldc + j;
                        c[at] = overwrite ? sum : c[at] + sum;
                    }
                }
            }
        };
        if (parallel) Parallel.forRange(n, 2L * m * k, body);
        else body.run(0, n);
    }

    /** Whether {@link #dotTiles} serves its shapes (false: the packed path); for A/B measurements. */
    static boolean DOT_TILES = !"false".equals(System.getProperty("pulmo.sgemm.dotTiles"));
    /** {@link #dotTiles} takes A * B^T with k at least this long and m * n at most DOT_MAX_MN. */
    static final int DOT_MIN_K = 2048;
    static final long DOT_MAX_MN = 16384;

    /**
     * C (+)= A * B^T with a long k and a small C: a convolution's weight gradient over a large plane (dW [64, 64]
     * = dy [64, 3136] * x^T for ResNet-50's first 1x1s, [64, 147] over 12544 positions for the stem, Winograd's
     * per-element sums over all tiles). Both operands run along k with unit stride, so each 4 x 4 tile of C is
     * 16 dot products: 4 rows of A and 4 of B loaded per step of L values, 16 FMAs, no packing. The packed path
     * copies (m + n) * k values to do 2 m n k FLOPs; with m, n = 64 that copying took a third of the time.
     * Measured alone on one core (quiet host): 64 x 64 x 3136 62 -> 95 GFLOP/s, 256 x 64 x 3136 79 -> 89,
     * 64 x 147 x 12544 56 -> 78; but 512 x 256 x 784 100 -> 85 and k = 196 three times slower, hence the
     * bounds. k runs in blocks that keep n rows of B in L2; each tile's 16 vector sums carry over between
     * blocks in a buffer and are added across lanes, in lane order, only at the end, so the result does not
     * depend on the blocking, the threads or JIT compilation.
     */
    private static void dotTiles(int m, int n, int k, float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                                 boolean overwrite, float[] c, int cOff, int ldc, boolean parallel) {
        int kv = k - k % L, jTiles = (n + 3) / 4, iTiles = (m + 3) / 4;
        int kb = Math.max(32 * L, Math.min(kv, (131072 / n) / L * L)); // n rows x kb floats ~ 512 KB of L2
        Parallel.RangeBody body = (t0, t1) -> {
            float[] acc = new float[jTiles * 16 * L];
            for (int it = t0; it < t1; it++) {
                int i0 = it * 4;
                // Rows and columns past the edge repeat the last one (computed, not stored): no branches inside.
                int a0 = aOff + i0 * lda, a1 = aOff + Math.min(i0 + 1, m - 1) * lda;
                int a2 = aOff + Math.min(i0 + 2, m - 1) * lda, a3 = aOff + Math.min(i0 + 3, m - 1) * lda;
                java.util.Arrays.fill(acc, 0f);
                for (int p0 = 0; p0 < kv; p0 += kb) {
                    int p1 = Math.min(kv, p0 + kb);
                    for (int jt = 0; jt < jTiles; jt++) {
                        int j0 = jt * 4, s = jt * 16 * L;
                        int b0 = bOff + j0 * ldb, b1 = bOff + Math.min(j0 + 1, n - 1) * ldb;
                        int b2 = bOff + Math.min(j0 + 2, n - 1) * ldb, b3 = bOff + Math.min(j0 + 3, n - 1) * ldb;
                        FloatVector c00 = FloatVector.fromArray(S, acc, s), c01 = FloatVector.fromArray(S, acc, s + L);
                        FloatVector c02 = FloatVector.fromArray(S, acc, s + 2 * L), c03 = FloatVector.fromArray(S, acc, s + 3 * L);
                        FloatVector c10 = FloatVector.fromArray(S, acc, s + 4 * L), c11 = FloatVector.fromArray(S, acc, s + 5 * L);
                        FloatVector c12 = FloatVector.fromArray(S, acc, s + 6 * L), c13 = FloatVector.fromArray(S, acc, s + 7 * L);
                        FloatVector c20 = FloatVector.fromArray(S, acc, s + 8 * L), c21 = FloatVector.fromArray(S, acc, s + 9 * L);
                        FloatVector c22 = FloatVector.fromArray(S, acc, s + 10 * L), c23 = FloatVector.fromArray(S, acc, s + 11 * L);
                        FloatVector c30 = FloatVector.fromArray(S, acc, s + 12 * L), c31 = FloatVector.fromArray(S, acc, s + 13 * L);
                        FloatVector c32 = FloatVector.fromArray(S, acc, s + 14 * L), c33 = FloatVector.fromArray(S, acc, s + 15 * L);
                        for (int p = p0; p < p1; p += L) {
                            FloatVector x0 = FloatVector.fromArray(S, a, a0 + p), x1 = FloatVector.fromArray(S, a, a1 + p);
                            FloatVector x2 = FloatVector.fromArray(S, a, a2 + p), x3 = FloatVector.fromArray(S, a, a3 + p);
                            FloatVector y = FloatVector.fromArray(S, b, b0 + p);
                            c00 = x0.fma(y, c00); c10 = x1.fma(y, c10); c20 = x2.fma(y, c20); c30 = x3.fma(y, c30);
                            y = FloatVector.fromArray(S, b, b1 + p);
                            c01 = x0.fma(y, c01); c11 = x1.fma(y, c11); c21 = x2.fma(y, c21); c31 = x3.fma(y, c31);
                            y = FloatVector.fromArray(S, b, b2 + p);
                            c02 = x0.fma(y, c02); c12 = x1.fma(y, c12); c22 = x2.fma(y, c22); c32 = x3.fma(y, c32);
                            y = FloatVector.fromArray(S, b, b3 + p);
                            c03 = x0.fma(y, c03); c13 = x1.fma(y, c13); c23 = x2.fma(y, c23); c33 = x3.fma(y, c33);
                        }
                        // acc[s + (4 r + q) L ..]: row i0 + r, column j0 + q.
                        c00.intoArray(acc, s); c01.intoArray(acc, s + L); c02.intoArray(acc, s + 2 * L); c03.intoArray(acc, s + 3 * L);
                        c10.intoArray(acc, s + 4 * L); c11.intoArray(acc, s + 5 * L); c12.intoArray(acc, s + 6 * L); c13.intoArray(acc, s + 7 * L);
                        c20.intoArray(acc, s + 8 * L); c21.intoArray(acc, s + 9 * L); c22.intoArray(acc, s + 10 * L); c23.intoArray(acc, s + 11 * L);
                        c30.intoArray(acc, s + 12 * L); c31.intoArray(acc, s + 13 * L); c32.intoArray(acc, s + 14 * L); c33.intoArray(acc, s + 15 * L);
                    }
                }
                for (int r = 0; r < 4 && i0 + r < m; r++) {
                    int ar = aOff + (i0 + r) * lda, row = cOff + (i0 + r) * ldc;
                    for (int j = 0; j < n; j++) {
                        int at = ((j >> 2) * 16 + r * 4 + (j & 3)) * L;
                        float sum = 0f;
                        for (int l = 0; l < L; l++) sum += acc[at + l];
                        int bj = bOff + j * ldb;
                        for (int p = kv; p < k; p++) sum += a[ar + p] * b[bj + p];
                        c[row + j] = overwrite ? sum : c[row + j] + sum;
                    }
                }
            }
        };
        if (parallel) Parallel.forRange(iTiles, 8L * n * k, body);
        else body.run(0, iTiles);
    }

    /** Turns the gather packing of a transposed B on or off; for benchmarks comparing the two. */
    public static void setGatherPack(boolean on) {
        GATHER_PACK = on;
    }

    private static void scale(int m, int n, float beta, float[] c, int cOff, int ldc) {
        for (int i = 0; i < m; i++) {
            int row = cOff + i * ldc;
            if (beta == 0f) java.util.Arrays.fill(c, row, row + n, 0f);
            else for (int j = 0; j < n; j++) c[row + j] *= beta;
        }
    }

    /**
     * C[m0:m1, n0:n1] (+)= op(A)[m0:m1, :] * op(B)[:, n0:n1] on the calling thread; op(A) from pa when packed
     * already (m0 is then a multiple of MR, as every strip cut along m is).
     */
    private static void strip(boolean transA, boolean transB, int m0, int m1, int n0, int n1, int k,
                              float[] a, int aOff, int lda, PackedA pa, float[] b, int bOff, int ldb,
                              boolean overwrite, float[] c, int cOff, int ldc) {
        Buffers buf = BUFFERS.get();
        float[] ap = pa != null ? pa.panels() : buf.a, bp = buf.b, tile = buf.tile;
        if (GATHER_PACK && transB && buf.bLd != ldb) {
            int[] perSet = new int[64];
            int most = 0;
            for (int j = 0; j < NR; j++) {
                buf.bIdx[j] = j * ldb;
                most = Math.max(most, ++perSet[(int) (((long) j * ldb >> 4) & 63)]);
            }
            buf.bGather = most <= MAX_LINES_PER_SET;
            buf.bLd = ldb;
        }
        int[] bIdx = GATHER_PACK && transB && buf.bGather ? buf.bIdx : null;
        for (int jc = n0; jc < n1; jc += NC) {
            int nc = Math.min(NC, n1 - jc);
            for (int pc = 0; pc < k; pc += KC) {
                int kc = Math.min(KC, k - pc);
                boolean first = overwrite && pc == 0;
                packB(transB, b, bOff, ldb, pc, kc, jc, nc, bp, bIdx);
                for (int ic = m0; ic < m1; ic += MC) {
                    int mc = Math.min(MC, m1 - ic);
                    int aBase = 0;
                    if (pa == null) packA(transA, a, aOff, lda, ic, mc, pc, kc, ap, 0);
                    else aBase = pa.offset() + pc * pa.mPad() + ic * kc; // panel ic / MR of block pc
                    for (int ir = 0; ir < mc; ir += MR) {
                        int mr = Math.min(MR, mc - ir);
                        int aPanel = aBase + ir * kc;
                        for (int jr = 0; jr < nc; jr += NR) {
                            int nr = Math.min(NR, nc - jr);
                            int bPanel = jr * kc;
                            int cAt = cOff + (ic + ir) * ldc + jc + jr;
                            // A tail panel narrower than NR runs a kernel of as many vectors as it needs
                            // (small conv planes give n = 49, 196, ...: a 64-wide tile for 4 columns wastes 94%).
                            int nv = (nr + L - 1) / L;
                            if (mr == MR && nr == NR) {
                                kernel(kc, ap, aPanel, bp, bPanel, c, cAt, ldc, first);
                            } else if (mr == MR && nr == nv * L) {
                                narrow(nv, kc, ap, aPanel, bp, bPanel, c, cAt, ldc, first);
                            } else {
                                narrow(nv, kc, ap, aPanel, bp, bPanel, tile, 0, NR, true);
                                for (int i = 0; i < mr; i++) {
                                    int row = cAt + i * ldc;
                                    for (int j = 0; j < nr; j++) {
                                        c[row + j] = first ? tile[i * NR + j] : c[row + j] + tile[i * NR + j];
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }

    /**
     * Packs op(A)[i0:i0+mc, p0:p0+kc] into MR-row panels: panel r holds, for each p, the MR values of
     * column p (rows past mc are zero).
     */
    private static void packA(boolean transA, float[] a, int aOff, int lda, int i0, int mc, int p0, int kc, float[] ap, int apOff) {
        for (int ir = 0; ir < mc; ir += MR) {
            int mr = Math.min(MR, mc - ir);
            int dst = apOff + ir * kc;
            if (transA) {
                // op(A)[i][p] = a[p * lda + i]: the MR values of column p are contiguous.
                int src = aOff + p0 * lda + i0 + ir;
                for (int p = 0; p < kc; p++, src += lda, dst += MR) {
                    int i = 0;
                    for (; i < mr; i++) ap[dst + i] = a[src + i];
                    for (; i < MR; i++) ap[dst + i] = 0f;
                }
            } else if (mr == MR) {
                int r0 = aOff + (i0 + ir) * lda + p0;
                int r1 = r0 + lda, r2 = r1 + lda, r3 = r2 + lda, r4 = r3 + lda, r5 = r4 + lda;
                for (int p = 0; p < kc; p++, dst += MR) {
                    ap[dst] = a[r0 + p];
                    ap[dst + 1] = a[r1 + p];
                    ap[dst + 2] = a[r2 + p];
                    ap[dst + 3] = a[r3 + p];
                    ap[dst + 4] = a[r4 + p];
                    ap[dst + 5] = a[r5 + p];
                }
            } else {
                // The last mr < MR rows: one source row at a time, the missing rows zero.
                for (int i = 0; i < MR; i++) {
                    int src = aOff + (i0 + ir + i) * lda + p0;
                    if (i < mr) for (int p = 0, d = dst + i; p < kc; p++, d += MR) ap[d] = a[src + p];
                    else for (int p = 0, d = dst + i; p < kc; p++, d += MR) ap[d] = 0f;
                }
            }
        }
    }

    /**
     * Packs op(B)[p0:p0+kc, j0:j0+nc] into NR-column panels: panel j holds, for each p, the NR values of
     * row p (columns past nc are zero). With bIdx (transposed B only; see {@link Buffers#bIdx}) each row of
     * a full panel is NR / L gathers, one per vector: 4 instructions for 64 values instead of 64 strided
     * scalar stores.
     */
    private static void packB(boolean transB, float[] b, int bOff, int ldb, int p0, int kc, int j0, int nc, float[] bp, int[] bIdx) {
        for (int jr = 0; jr < nc; jr += NR) {
            int nr = Math.min(NR, nc - jr);
            int dst = jr * kc;
            if (!transB && nr == NR) {
                // Row p of op(B) is contiguous: copy NR floats per row with vector moves.
                int src = bOff + p0 * ldb + j0 + jr;
                for (int p = 0; p < kc; p++, src += ldb, dst += NR) {
                    FloatVector.fromArray(S, b, src).intoArray(bp, dst);
                    FloatVector.fromArray(S, b, src + 1 * L).intoArray(bp, dst + 1 * L);
                    FloatVector.fromArray(S, b, src + 2 * L).intoArray(bp, dst + 2 * L);
                    FloatVector.fromArray(S, b, src + 3 * L).intoArray(bp, dst + 3 * L);
                }
            } else if (!transB) {
                int src = bOff + p0 * ldb + j0 + jr;
                for (int p = 0; p < kc; p++, src += ldb, dst += NR) {
                    int j = 0;
                    for (; j < nr; j++) bp[dst + j] = b[src + j];
                    for (; j < NR; j++) bp[dst + j] = 0f;
                }
            } else if (bIdx != null && nr == NR) {
                // op(B)[p][j] = b[j * ldb + p]: row p of the panel gathers element p of NR source rows. The NR
                // source lines (4 KB) stay in L1 across the 16 consecutive p that use each of them.
                int src = bOff + (j0 + jr) * ldb + p0;
                for (int p = 0; p < kc; p++, src++, dst += NR) {
                    FloatVector.fromArray(S, b, src, bIdx, 0).intoArray(bp, dst);
                    FloatVector.fromArray(S, b, src, bIdx, L).intoArray(bp, dst + L);
                    FloatVector.fromArray(S, b, src, bIdx, 2 * L).intoArray(bp, dst + 2 * L);
                    FloatVector.fromArray(S, b, src, bIdx, 3 * L).intoArray(bp, dst + 3 * L);
                }
            } else if (TRANSPOSED_PACK_BLOCKED) {
                // op(B)[p][j] = b[j * ldb + p]: a transpose. In blocks of 16 values of p, so that the 16 panel
                // rows being written (4 KB) stay in L1 while every source row gives one 64-byte run; column
                // by column over all of kc would evict each panel line 15 times before it is full.
                for (int p0b = 0; p0b < kc; p0b += 16) {
                    int pn = Math.min(16, kc - p0b);
                    int d0 = dst + p0b * NR;
                    for (int j = 0; j < nr; j++) {
                        int src = bOff + (j0 + jr + j) * ldb + p0 + p0b;
                        for (int p = 0, d = d0 + j; p < pn; p++, d += NR) bp[d] = b[src + p];
                    }
                    for (int j = nr; j < NR; j++)
                        for (int p = 0, d = d0 + j; p < pn; p++, d += NR) bp[d] = 0f;
                }
            } else {
                // op(B)[p][j] = b[j * ldb + p]: read each source row contiguously, write with stride NR.
                for (int j = 0; j < nr; j++) {
                    int src = bOff + (j0 + jr + j) * ldb + p0;
                    for (int p = 0, d = dst + j; p < kc; p++, d += NR) bp[d] = b[src + p];
                }
                for (int j = nr; j < NR; j++) {
                    for (int p = 0, d = dst + j; p < kc; p++, d += NR) bp[d] = 0f;
                }
            }
        }
    }

    /**
     * The MR x NR micro-kernel: C[0:MR, 0:NR] (+)= Apanel (kc x MR, packed) * Bpanel (kc x NR, packed).
     * 24 accumulators, 4 B vectors and one broadcast live in registers (29 of 32 zmm). Package-private
     * so that a micro-benchmark can time it alone: from L1 it runs at ~116 of the 117 GFLOP/s one Zen 4
     * core can issue.
     */
    static void kernel(int kc, float[] ap, int aAt, float[] bp, int bAt, float[] c, int cAt, int ldc, boolean overwrite) {
        FloatVector c00 = FloatVector.zero(S), c01 = c00, c02 = c00, c03 = c00;
        FloatVector c10 = c00, c11 = c00, c12 = c00, c13 = c00;
        FloatVector c20 = c00, c21 = c00, c22 = c00, c23 = c00;
        FloatVector c30 = c00, c31 = c00, c32 = c00, c33 = c00;
        FloatVector c40 = c00, c41 = c00, c42 = c00, c43 = c00;
        FloatVector c50 = c00, c51 = c00, c52 = c00, c53 = c00;
        for (int p = 0; p < kc; p++) {
            int bi = bAt + p * NR, ai = aAt + p * MR;
            FloatVector b0 = FloatVector.fromArray(S, bp, bi);
            FloatVector b1 = FloatVector.fromArray(S, bp, bi + L);
            FloatVector b2 = FloatVector.fromArray(S, bp, bi + 2 * L);
            FloatVector b3 = FloatVector.fromArray(S, bp, bi + 3 * L);
            FloatVector x = FloatVector.broadcast(S, ap[ai]);
            c00 = b0.fma(x, c00); c01 = b1.fma(x, c01); c02 = b2.fma(x, c02); c03 = b3.fma(x, c03);
            x = FloatVector.broadcast(S, ap[ai + 1]);
            c10 = b0.fma(x, c10); c11 = b1.fma(x, c11); c12 = b2.fma(x, c12); c13 = b3.fma(x, c13);
            x = FloatVector.broadcast(S, ap[ai + 2]);
            c20 = b0.fma(x, c20); c21 = b1.fma(x, c21); c22 = b2.fma(x, c22); c23 = b3.fma(x, c23);
            x = FloatVector.broadcast(S, ap[ai + 3]);
            c30 = b0.fma(x, c30); c31 = b1.fma(x, c31); c32 = b2.fma(x, c32); c33 = b3.fma(x, c33);
            x = FloatVector.broadcast(S, ap[ai + 4]);
            c40 = b0.fma(x, c40); c41 = b1.fma(x, c41); c42 = b2.fma(x, c42); c43 = b3.fma(x, c43);
            x = FloatVector.broadcast(S, ap[ai + 5]);
            c50 = b0.fma(x, c50); c51 = b1.fma(x, c51); c52 = b2.fma(x, c52); c53 = b3.fma(x, c53);
        }
        // Stores written out in full: a helper method taking a FloatVector would box it when not inlined.
        if (overwrite) {
            c00.intoArray(c, cAt);
            c01.intoArray(c, cAt + L);
            c02.intoArray(c, cAt + 2 * L);
            c03.intoArray(c, cAt + 3 * L);
            cAt += ldc;
            c10.intoArray(c, cAt);
            c11.intoArray(c, cAt + L);
            c12.intoArray(c, cAt + 2 * L);
            c13.intoArray(c, cAt + 3 * L);
            cAt += ldc;
            c20.intoArray(c, cAt);
            c21.intoArray(c, cAt + L);
            c22.intoArray(c, cAt + 2 * L);
            c23.intoArray(c, cAt + 3 * L);
            cAt += ldc;
            c30.intoArray(c, cAt);
            c31.intoArray(c, cAt + L);
            c32.intoArray(c, cAt + 2 * L);
            c33.intoArray(c, cAt + 3 * L);
            cAt += ldc;
            c40.intoArray(c, cAt);
            c41.intoArray(c, cAt + L);
            c42.intoArray(c, cAt + 2 * L);
            c43.intoArray(c, cAt + 3 * L);
            cAt += ldc;
            c50.intoArray(c, cAt);
            c51.intoArray(c, cAt + L);
            c52.intoArray(c, cAt + 2 * L);
            c53.intoArray(c, cAt + 3 * L);
        } else {
            c00.add(FloatVector.fromArray(S, c, cAt)).intoArray(c, cAt);
            c01.add(FloatVector.fromArray(S, c, cAt + L)).intoArray(c, cAt + L);
            c02.add(FloatVector.fromArray(S, c, cAt + 2 * L)).intoArray(c, cAt + 2 * L);
            c03.add(FloatVector.fromArray(S, c, cAt + 3 * L)).intoArray(c, cAt + 3 * L);
            cAt += ldc;
            c10.add(FloatVector.fromArray(S, c, cAt)).intoArray(c, cAt);
            c11.add(FloatVector.fromArray(S, c, cAt + L)).intoArray(c, cAt + L);
            c12.add(FloatVector.fromArray(S, c, cAt + 2 * L)).intoArray(c, cAt + 2 * L);
            c13.add(FloatVector.fromArray(S, c, cAt + 3 * L)).intoArray(c, cAt + 3 * L);
            cAt += ldc;
            c20.add(FloatVector.fromArray(S, c, cAt)).intoArray(c, cAt);
            c21.add(FloatVector.fromArray(S, c, cAt + L)).intoArray(c, cAt + L);
            c22.add(FloatVector.fromArray(S, c, cAt + 2 * L)).intoArray(c, cAt + 2 * L);
            c23.add(FloatVector.fromArray(S, c, cAt + 3 * L)).intoArray(c, cAt + 3 * L);
            cAt += ldc;
            c30.add(FloatVector.fromArray(S, c, cAt)).intoArray(c, cAt);
            c31.add(FloatVector.fromArray(S, c, cAt + L)).intoArray(c, cAt + L);
            c32.add(FloatVector.fromArray(S, c, cAt + 2 * L)).intoArray(c, cAt + 2 * L);
            c33.add(FloatVector.fromArray(S, c, cAt + 3 * L)).intoArray(c, cAt + 3 * L);
            cAt += ldc;
            c40.add(FloatVector.fromArray(S, c, cAt)).intoArray(c, cAt);
            c41.add(FloatVector.fromArray(S, c, cAt + L)).intoArray(c, cAt + L);
            c42.add(FloatVector.fromArray(S, c, cAt + 2 * L)).intoArray(c, cAt + 2 * L);
            c43.add(FloatVector.fromArray(S, c, cAt + 3 * L)).intoArray(c, cAt + 3 * L);
            cAt += ldc;
            c50.add(FloatVector.fromArray(S, c, cAt)).intoArray(c, cAt);
            c51.add(FloatVector.fromArray(S, c, cAt + L)).intoArray(c, cAt + L);
            c52.add(FloatVector.fromArray(S, c, cAt + 2 * L)).intoArray(c, cAt + 2 * L);
            c53.add(FloatVector.fromArray(S, c, cAt + 3 * L)).intoArray(c, cAt + 3 * L);
        }
    }

    /** MR x nv*L tile, nv = 1..4 vectors (4 is the full kernel). */
    private static void narrow(int nv, int kc, float[] ap, int aAt, float[] bp, int bAt, float[] c, int cAt, int ldc, boolean overwrite) {
        switch (nv) {
            case 1 -> kernel1(kc, ap, aAt, bp, bAt, c, cAt, ldc, overwrite);
            case 2 -> kernel2(kc, ap, aAt, bp, bAt, c, cAt, ldc, overwrite);
            case 3 -> kernel3(kc, ap, aAt, bp, bAt, c, cAt, ldc, overwrite);
            default -> kernel(kc, ap, aAt, bp, bAt, c, cAt, ldc, overwrite);
        }
    }

    /** The MR x 1L tail kernel: as {@link #kernel} on the first 1 vector(s) of each packed B row. */
    static void kernel1(int kc, float[] ap, int aAt, float[] bp, int bAt, float[] c, int cAt, int ldc, boolean overwrite) {
        FloatVector c00 = FloatVector.zero(S), c10 = c00, c20 = c00, c30 = c00, c40 = c00, c50 = c00;
        for (int p = 0; p < kc; p++) {
            int bi = bAt + p * NR, ai = aAt + p * MR;
            FloatVector b0 = FloatVector.fromArray(S, bp, bi);
            FloatVector x = FloatVector.broadcast(S, ap[ai]);
            c00 = b0.fma(x, c00);
            x = FloatVector.broadcast(S, ap[ai + 1]);
            c10 = b0.fma(x, c10);
            x = FloatVector.broadcast(S, ap[ai + 2]);
            c20 = b0.fma(x, c20);
            x = FloatVector.broadcast(S, ap[ai + 3]);
            c30 = b0.fma(x, c30);
            x = FloatVector.broadcast(S, ap[ai + 4]);
            c40 = b0.fma(x, c40);
            x = FloatVector.broadcast(S, ap[ai + 5]);
            c50 = b0.fma(x, c50);
        }
        if (overwrite) {
            c00.intoArray(c, cAt);
            cAt += ldc;
            c10.intoArray(c, cAt);
            cAt += ldc;
            c20.intoArray(c, cAt);
            cAt += ldc;
            c30.intoArray(c, cAt);
            cAt += ldc;
            c40.intoArray(c, cAt);
            cAt += ldc;
            c50.intoArray(c, cAt);
        } else {
            c00.add(FloatVector.fromArray(S, c, cAt)).intoArray(c, cAt);
            cAt += ldc;
            c10.add(FloatVector.fromArray(S, c, cAt)).intoArray(c, cAt);
            cAt += ldc;
            c20.add(FloatVector.fromArray(S, c, cAt)).intoArray(c, cAt);
            cAt += ldc;
            c30.add(FloatVector.fromArray(S, c, cAt)).intoArray(c, cAt);
            cAt += ldc;
            c40.add(FloatVector.fromArray(S, c, cAt)).intoArray(c, cAt);
            cAt += ldc;
            c50.add(FloatVector.fromArray(S, c, cAt)).intoArray(c, cAt);
        }
    }

    /** The MR x 2L tail kernel: as {@link #kernel} on the first 2 vector(s) of each packed B row. */
    static void kernel2(int kc, float[] ap, int aAt, float[] bp, int bAt, float[] c, int cAt, int ldc, boolean overwrite) {
        FloatVector c00 = FloatVector.zero(S), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00, c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00;
        for (int p = 0; p < kc; p++) {
            int bi = bAt + p * NR, ai = aAt + p * MR;
            FloatVector b0 = FloatVector.fromArray(S, bp, bi);
            FloatVector b1 = FloatVector.fromArray(S, bp, bi + 1 * L);
            FloatVector x = FloatVector.broadcast(S, ap[ai]);
            c00 = b0.fma(x, c00); c01 = b1.fma(x, c01);
            x = FloatVector.broadcast(S, ap[ai + 1]);
            c10 = b0.fma(x, c10); c11 = b1.fma(x, c11);
            x = FloatVector.broadcast(S, ap[ai + 2]);
            c20 = b0.fma(x, c20); c21 = b1.fma(x, c21);
            x = FloatVector.broadcast(S, ap[ai + 3]);
            c30 = b0.fma(x, c30); c31 = b1.fma(x, c31);
            x = FloatVector.broadcast(S, ap[ai + 4]);
            c40 = b0.fma(x, c40); c41 = b1.fma(x, c41);
            x = FloatVector.broadcast(S, ap[ai + 5]);
            c50 = b0.fma(x, c50); c51 = b1.fma(x, c51);
        }
        if (overwrite) {
            c00.intoArray(c, cAt);
            c01.intoArray(c, cAt + 1 * L);
            cAt += ldc;
            c10.intoArray(c, cAt);
            c11.intoArray(c, cAt + 1 * L);
            cAt += ldc;
            c20.intoArray(c, cAt);
            c21.intoArray(c, cAt + 1 * L);
            cAt += ldc;
            c30.intoArray(c, cAt);
            c31.intoArray(c, cAt + 1 * L);
            cAt += ldc;
            c40.intoArray(c, cAt);
            c41.intoArray(c, cAt + 1 * L);
            cAt += ldc;
            c50.intoArray(c, cAt);
            c51.intoArray(c, cAt + 1 * L);
        } else {
            c00.add(FloatVector.fromArray(S, c, cAt)).intoArray(c, cAt);
            c01.add(FloatVector.fromArray(S, c, cAt + 1 * L)).intoArray(c, cAt + 1 * L);
            cAt += ldc;
            c10.add(FloatVector.fromArray(S, c, cAt)).intoArray(c, cAt);
            c11.add(FloatVector.fromArray(S, c, cAt + 1 * L)).intoArray(c, cAt + 1 * L);
            cAt += ldc;
            c20.add(FloatVector.fromArray(S, c, cAt)).intoArray(c, cAt);
            c21.add(FloatVector.fromArray(S, c, cAt + 1 * L)).intoArray(c, cAt + 1 * L);
            cAt += ldc;
            c30.add(FloatVector.fromArray(S, c, cAt)).intoArray(c, cAt);
            c31.add(FloatVector.fromArray(S, c, cAt + 1 * L)).intoArray(c, cAt + 1 * L);
            cAt += ldc;
            c40.add(FloatVector.fromArray(S, c, cAt)).intoArray(c, cAt);
            c41.add(FloatVector.fromArray(S, c, cAt + 1 * L)).intoArray(c, cAt + 1 * L);
            cAt += ldc;
            c50.add(FloatVector.fromArray(S, c, cAt)).intoArray(c, cAt);
            c51.add(FloatVector.fromArray(S, c, cAt + 1 * L)).intoArray(c, cAt + 1 * L);
        }
    }

    /** The MR x 3L tail kernel: as {@link #kernel} on the first 3 vector(s) of each packed B row. */
    static void kernel3(int kc, float[] ap, int aAt, float[] bp, int bAt, float[] c, int cAt, int ldc, boolean overwrite) {
        FloatVector c00 = FloatVector.zero(S), c01 = c00, c02 = c00, c10 = c00, c11 = c00, c12 = c00, c20 = c00, c21 = c00, c22 = c00, c30 = c00, c31 = c00, c32 = c00, c40 = c00, c41 = c00, c42 = c00, c50 = c00, c51 = c00, c52 = c00;
        for (int p = 0; p < kc; p++) {
            int bi = bAt + p * NR, ai = aAt + p * MR;
            FloatVector b0 = FloatVector.fromArray(S, bp, bi);
            FloatVector b1 = FloatVector.fromArray(S, bp, bi + 1 * L);
            FloatVector b2 = FloatVector.fromArray(S, bp, bi + 2 * L);
            FloatVector x = FloatVector.broadcast(S, ap[ai]);
            c00 = b0.fma(x, c00); c01 = b1.fma(x, c01); c02 = b2.fma(x, c02);
            x = FloatVector.broadcast(S, ap[ai + 1]);
            c10 = b0.fma(x, c10); c11 = b1.fma(x, c11); c12 = b2.fma(x, c12);
            x = FloatVector.broadcast(S, ap[ai + 2]);
            c20 = b0.fma(x, c20); c21 = b1.fma(x, c21); c22 = b2.fma(x, c22);
            x = FloatVector.broadcast(S, ap[ai + 3]);
            c30 = b0.fma(x, c30); c31 = b1.fma(x, c31); c32 = b2.fma(x, c32);
            x = FloatVector.broadcast(S, ap[ai + 4]);
            c40 = b0.fma(x, c40); c41 = b1.fma(x, c41); c42 = b2.fma(x, c42);
            x = FloatVector.broadcast(S, ap[ai + 5]);
            c50 = b0.fma(x, c50); c51 = b1.fma(x, c51); c52 = b2.fma(x, c52);
        }
        if (overwrite) {
            c00.intoArray(c, cAt);
            c01.intoArray(c, cAt + 1 * L);
            c02.intoArray(c, cAt + 2 * L);
            cAt += ldc;
            c10.intoArray(c, cAt);
            c11.intoArray(c, cAt + 1 * L);
            c12.intoArray(c, cAt + 2 * L);
            cAt += ldc;
            c20.intoArray(c, cAt);
            c21.intoArray(c, cAt + 1 * L);
            c22.intoArray(c, cAt + 2 * L);
            cAt += ldc;
            c30.intoArray(c, cAt);
            c31.intoArray(c, cAt + 1 * L);
            c32.intoArray(c, cAt + 2 * L);
            cAt += ldc;
            c40.intoArray(c, cAt);
            c41.intoArray(c, cAt + 1 * L);
            c42.intoArray(c, cAt + 2 * L);
            cAt += ldc;
            c50.intoArray(c, cAt);
            c51.intoArray(c, cAt + 1 * L);
            c52.intoArray(c, cAt + 2 * L);
        } else {
            c00.add(FloatVector.fromArray(S, c, cAt)).intoArray(c, cAt);
            c01.add(FloatVector.fromArray(S, c, cAt + 1 * L)).intoArray(c, cAt + 1 * L);
            c02.add(FloatVector.fromArray(S, c, cAt + 2 * L)).intoArray(c, cAt + 2 * L);
            cAt += ldc;
            c10.add(FloatVector.fromArray(S, c, cAt)).intoArray(c, cAt);
            c11.add(FloatVector.fromArray(S, c, cAt + 1 * L)).intoArray(c, cAt + 1 * L);
            c12.add(FloatVector.fromArray(S, c, cAt + 2 * L)).intoArray(c, cAt + 2 * L);
            cAt += ldc;
            c20.add(FloatVector.fromArray(S, c, cAt)).intoArray(c, cAt);
            c21.add(FloatVector.fromArray(S, c, cAt + 1 * L)).intoArray(c, cAt + 1 * L);
            c22.add(FloatVector.fromArray(S, c, cAt + 2 * L)).intoArray(c, cAt + 2 * L);
            cAt += ldc;
            c30.add(FloatVector.fromArray(S, c, cAt)).intoArray(c, cAt);
            c31.add(FloatVector.fromArray(S, c, cAt + 1 * L)).intoArray(c, cAt + 1 * L);
            c32.add(FloatVector.fromArray(S, c, cAt + 2 * L)).intoArray(c, cAt + 2 * L);
            cAt += ldc;
            c40.add(FloatVector.fromArray(S, c, cAt)).intoArray(c, cAt);
            c41.add(FloatVector.fromArray(S, c, cAt + 1 * L)).intoArray(c, cAt + 1 * L);
            c42.add(FloatVector.fromArray(S, c, cAt + 2 * L)).intoArray(c, cAt + 2 * L);
            cAt += ldc;
            c50.add(FloatVector.fromArray(S, c, cAt)).intoArray(c, cAt);
            c51.add(FloatVector.fromArray(S, c, cAt + 1 * L)).intoArray(c, cAt + 1 * L);
            c52.add(FloatVector.fromArray(S, c, cAt + 2 * L)).intoArray(c, cAt + 2 * L);
        }
    }

    /** Reference: the triple loop with a double accumulator. Used by tests. */
    public static void sgemmReference(boolean transA, boolean transB, int m, int n, int k,
                                      float[] a, int aOff, int lda, float[] b, int bOff, int ldb,
                                      float beta, float[] c, int cOff, int ldc) {
        for (int i = 0; i < m; i++) {
            for (int j = 0; j < n; j++) {
                double s = 0;
                for (int p = 0; p < k; p++) {
                    float x = transA ? a[aOff + p * lda + i] : a[aOff + i * lda + p];
                    float y = transB ? b[bOff + j * ldb + p] : b[bOff + p * ldb + j];
                    s += (double) x * y;
                }
                int at = cOff + i * ldc + j;
                c[at] = beta == 0f ? (float) s : (float) (s + (double) beta * c[at]);
            }
        }
    }
}
