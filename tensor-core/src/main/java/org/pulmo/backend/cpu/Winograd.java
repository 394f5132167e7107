package org.pulmo.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorSpecies;

/**
 * Winograd's minimal filtering F(m x m, 3x3) (Lavin and Gray 2016, "Fast Algorithms for Convolutional Neural
 * Networks", eq. 8), in two versions, m = 2 and m = 4 ({@link Variant}), for dense 3x3, stride-1, dilation-1
 * convolutions, NCHW, batched over tiles so that the element-wise stage is alpha^2 GEMMs through {@link Sgemm}
 * (alpha = m + 2: 16 GEMMs for F(2x2), 36 for F(4x4)).
 *
 * <p>The output is cut into m x m tiles; tile t of channel o needs the alpha x alpha input patch d (rows
 * m*ti - padH .., columns m*tj - padW .., zero outside the input) of every input channel c:
 *
 * <pre>  Y_t[o] = A^T [ sum_c U[o, c] (.) V_t[c] ] A,   U[o, c] = G g[o, c] G^T,   V_t[c] = B^T d_t[c] B</pre>
 *
 * with (.) the element-wise product of alpha x alpha matrices. For each element e the sum over c is a matrix
 * product M_e [Cout, T] = U_e [Cout, C] * V_e [C, T] over all T = N * tilesH * tilesW tiles. The direct
 * convolution does 9 multiply-adds per output and input channel; F(2x2) does 16 per 4 outputs (4 per output),
 * F(4x4) 36 per 16 (2.25), plus the transforms, which are O(C + Cout) per tile instead of O(C * Cout).
 * Layouts (row-major, rows padded to whole vectors): U [Cout, E, Cp], V [C, E, Tp], M [Cout, E, Tp] with
 * E = alpha^2: a channel's transformed elements lie together, and the GEMM for element e reads a strided matrix.
 *
 * <p>Backward input is the same algorithm on dy with the weight flipped in (a, b) and transposed in (o, c)
 * (a stride-1 transposed convolution is a convolution, padding 2 - pad). Backward weight differentiates the
 * formula above: dU_e [Cout, C] = Z_e [Cout, T] * V_e^T with Z_t[o] = A dy_t[o] A^T (dy's m x m tile, zero past
 * the output), then dW[o, c] = G^T dU[o, c] G.
 *
 * <p>Transforms run on vectors of 16 tiles of a tile row (input, output, dy) or 16 channels (filter, weight
 * gradient). Accuracy: F(4x4)'s transform matrices hold 4, 5, 8 and 1/24, so its FP32 rounding is larger than
 * the direct conv's; WinogradTest measures the error on ResNet-50 shapes (max error over max output: F(2x2)
 * 3e-7 .. 7e-7, like im2col's 2e-7 .. 5e-7; F(4x4) 2e-6 .. 1.3e-5), which is why CpuConv uses F(2x2).
 */
final class Winograd {
    private Winograd() {}

    private static final VectorSpecies<Float> S = FloatVector.SPECIES_PREFERRED;
    private static final int L = S.length();
    /**
     * The two versions: output tile m x m, transformed tile alpha = m + 2, alpha^2 GEMMs. F(4x4, 3x3) does 2.25
     * multiplies per output and input channel (direct: 9), F(2x2, 3x3) 4; F(2x2)'s transforms hold only 0, +-1
     * and 1/2, so its FP32 error is close to the direct conv's, while F(4x4)'s is 20-40x larger.
     */
    enum Variant {
        F2X2(2), F4X4(4);
        final int tile, alpha, elems;
        Variant(int tile) { this.tile = tile; this.alpha = tile + 2; this.elems = alpha * alpha; }
        static Variant ofTile(int tile) { return tile == 4 ? F4X4 : F2X2; }
    }
    /** Largest transformed buffer (floats) per batch chunk; the batch is processed in chunks below it (tests lower it). */
    static long maxBuffer = 1L << 24;

    static int tilesH(Variant v, int oh) { return (oh + v.tile - 1) / v.tile; }

    private static int roundUp(int v) { return (v + L - 1) / L * L; }

    // Scratch: the caller's transformed matrices (slots 0-2, reused across calls), each thread's gather
    // buffer (slot 3) and the caller's packed U (slot 4).
    private static final ThreadLocal<float[][]> SCRATCH = ThreadLocal.withInitial(() -> new float[5][0]);

    private static float[] scratch(int slot, long len) {
        float[][] s = SCRATCH.get();
        if (s[slot].length < len) s[slot] = new float[(int) len];
        return s[slot];
    }

    /** Sizes of one call: conv input [n, c, h, w] -> output [n, cOut, oh, ow], 3x3, stride 1, padding pH, pW. */
    private record Plan(Variant v, int n, int c, int h, int w, int cOut, int pH, int pW, int oh, int ow, int tH, int tW) {
        static Plan of(Variant v, int n, int c, int h, int w, int cOut, int pH, int pW) {
            int oh = h + 2 * pH - 2, ow = w + 2 * pW - 2;
            return new Plan(v, n, c, h, w, cOut, pH, pW, oh, ow, tilesH(v, oh), tilesH(v, ow));
        }
        int tilesPerImage() { return tH * tW; }
        /** Images per chunk, so that V and M stay under maxBuffer floats. */
        int chunk() {
            long perImage = (long) v.elems * Math.max(c, cOut) * roundUp(tilesPerImage());
            return (int) Math.max(1, Math.min(n, maxBuffer / perImage));
        }
    }

    /**
     * The tiles of images b0 .. b0+nb in order (b, ti, tj): tile t = (b - b0)*tH*tW + ti*tW + tj. Each row of
     * a transformed matrix holds the count tiles and L padding entries plus rounding (padded): the transforms
     * store whole vectors of 16 tiles from the start of a tile row, so a row's last vector spills into the next
     * tile row (rewritten right after, in order) or, at the end, into the padding, which no GEMM reads.
     */
    private record Tiles(int b0, int nb, int count, int padded) {
        static Tiles of(Plan pl, int b0, int nb) {
            int count = nb * pl.tilesPerImage();
            return new Tiles(b0, nb, count, roundUp(count) + L);
        }
    }

    // Layouts, E = alpha^2. U, M, Z and dU keep each channel's elements together (one block per channel; the
    // GEMM for element e reads a strided matrix with leading dimension elems * row length); V is element-major,
    // so that its rows are tp apart: backward weight's GEMM reads V transposed, and Sgemm gathers a transposed
    // operand's 64 rows only when they spread over L1's sets, which rows elems * tp apart (a multiple of 1 KB)
    // do not:
    //   U [Cout, E, cp]  V [E, C, tp]  M and Z [Cout, E, tp]  dU [Cout, E, cp]

    // ------------------------------------------------------------------------------------------------
    // Forward (and backward input)

    /**
     * y [n, cOut, oh, ow] = conv3x3(x [n, c, h, w], g) with stride 1 and padding pH, pW. The weight is
     * g[o, c, a, b] = wt[((o*c + c)*3 + a)*3 + b], or with {@code flipped} (backward input, wt [c, cOut, 3, 3])
     * wt[((c*cOut + o)*3 + 2 - a)*3 + 2 - b].
     */
    static void forward(Variant var, float[] x, int n, int c, int h, int w, float[] wt, boolean flipped, int cOut, int pH, int pW, float[] y) {
        Plan pl = Plan.of(var, n, c, h, w, cOut, pH, pW);
        int cp = roundUp(c), el = var.elems;
        float[] u = scratch(0, (long) el * cOut * cp);
        filterTransform(var, wt, flipped, c, cOut, cp, u);
        // Each U_e serves every chunk of the batch and every block of tiles: packed for the GEMM once per call.
        int packed = Sgemm.packedSize(cOut, c);
        float[] up = scratch(4, (long) el * packed);
        Sgemm.PackedA[] ue = new Sgemm.PackedA[el];
        Parallel.forRange(el, (long) cOut * c, (s, e) -> {
            for (int k = s; k < e; k++) ue[k] = Sgemm.packInto(false, cOut, c, u, k * cp, el * cp, up, k * packed);
        });
        int chunk = pl.chunk();
        for (int b0 = 0; b0 < n; b0 += chunk) {
            int nb = Math.min(chunk, n - b0);
            Tiles tl = Tiles.of(pl, b0, nb);
            int tiles = tl.count, tp = tl.padded;
            float[] v = scratch(1, (long) el * c * tp);
            float[] m = scratch(2, (long) el * cOut * tp);
            inputTransform(pl, tl, x, v);
            // M_e [Cout, T] = U_e [Cout, C] * V_e [C, T], one GEMM per element e, elements split over threads.
            Parallel.forRange(el, 2L * cOut * c * tiles, (s, e) -> {
                for (int k = s; k < e; k++)
                    Sgemm.sgemmSerial(ue[k], false, tiles, v, k * c * tp, tp, 0f, m, k * tp, el * tp);
            });
            outputTransform(pl, tl, m, y);
        }
    }

    /** Output channels per block of the filter transforms: their taps are gathered together. */
    private static final int FILTER_BLOCK = 16;

    /** U [cOut, E, cp] = G g G^T for every (o, c), vectorised over 16 input channels. */
    private static void filterTransform(Variant var, float[] wt, boolean flipped, int c, int cOut, int cp, float[] u) {
        int blocks = (cOut + FILTER_BLOCK - 1) / FILTER_BLOCK, alpha = var.alpha;
        Parallel.forRange(blocks, 200L * c * FILTER_BLOCK, (s, e) -> {
            int g9Len = 9 * cp;
            float[] buf = scratch(3, (long) FILTER_BLOCK * g9Len + 3L * alpha * L);
            int wA = FILTER_BLOCK * g9Len;
            for (int blk = s; blk < e; blk++) {
                int o0 = blk * FILTER_BLOCK, ob = Math.min(FILTER_BLOCK, cOut - o0);
                // buf [ob, 9, cp]: the 3x3 taps of (o, c) as rows over c, written as 9 sequential streams per o.
                // The flipped weight [c, cOut, 3, 3] is read 9 values cOut*9 apart; its lines serve the next
                // output channels from cache (a whole flipped Winograd.forward for 512 x 512 at 7 x 7 took 13 ms
                // walking o inside each c, 9 ms this way: the 144 scattered writes per c cost more than the strided
                // reads).
                if (flipped) {
                    for (int ol = 0; ol < ob; ol++)
                        for (int ci = 0, at = (o0 + ol) * 9; ci < c; ci++, at += cOut * 9)
                            for (int k = 0; k < 9; k++) buf[ol * g9Len + k * cp + ci] = wt[at + 8 - k];
                } else {
                    for (int ol = 0; ol < ob; ol++)
                        for (int ci = 0, at = (o0 + ol) * c * 9; ci < c; ci++, at += 9)
                            for (int k = 0; k < 9; k++) buf[ol * g9Len + k * cp + ci] = wt[at + k];
                }
                for (int ol = 0; ol < ob; ol++) {
                    int g9 = ol * g9Len, uo = (o0 + ol) * var.elems * cp;
                    for (int cv = 0; cv < cp; cv += L) {
                        // Columns b: [g0b, g1b, g2b] -> G [..] = w[i][b] (alpha x 3); rows i: [w_i0, w_i1, w_i2] -> G [..].
                        for (int b = 0; b < 3; b++) filterRows(var, buf, g9 + b * cp + cv, 3 * cp, buf, wA + b * L, 3 * L);
                        for (int i = 0; i < alpha; i++) filterRows(var, buf, wA + i * 3 * L, L, u, uo + i * alpha * cp + cv, cp);
                    }
                }
            }
        });
    }

    /**
     * Input transform: V[e, c, t] = (B^T d_t[c] B)[e], channels split over threads. Each input plane is first
     * split into tile phase planes, P[ph][i][j] = x[i - pH, j*tile + ph - pW] (zero outside): column k of
     * tile tj is then column j = tj + k / tile of phase k % tile, so the 16 tiles tj .. tj+15 of a tile row are
     * one vector load per patch element, and both 1-D transforms run on whole vectors.
     */
    private static void inputTransform(Plan pl, Tiles tl, float[] x, float[] v) {
        Variant var = pl.v;
        int c = pl.c, tp = tl.padded, alpha = var.alpha, tile = var.tile, el = var.elems, ct = c * tp;
        int hp = pl.tH * tile + 2, rl = roundUp(pl.tW + 1);
        Parallel.forRange(c, 20L * tp, (s, e) -> {
            float[] buf = scratch(3, (long) tile * hp * rl + (long) el * L);
            int wA = tile * hp * rl;
            for (int ci = s; ci < e; ci++) {
                int vc = ci * tp;
                for (int b = tl.b0; b < tl.b0 + tl.nb; b++) {
                    splitPhases(x, (b * c + ci) * pl.h * pl.w, pl.h, pl.w, pl.pH, pl.pW, tile, hp, pl.tW + 1, rl, buf);
                    for (int ti = 0; ti < pl.tH; ti++) {
                        int t0 = ((b - tl.b0) * pl.tH + ti) * pl.tW;
                        for (int jv = 0; jv < pl.tW; jv += L) {
                            // Columns k (alpha rows each, stride rl) -> B^T, then rows r -> B^T into V.
                            for (int k = 0; k < alpha; k++)
                                inputRows(var, buf, ((k % tile) * hp + ti * tile) * rl + k / tile + jv, rl, buf, wA + k * L, alpha * L);
                            for (int r = 0; r < alpha; r++)
                                inputRows(var, buf, wA + r * alpha * L, L, v, vc + r * alpha * ct + t0 + jv, ct);
                        }
                    }
                }
            }
        });
    }

    /**
     * P[ph][i][j] (ph < tile, i < hp, j < jn, rows rl apart) = plane[i - pH, j*tile + ph - pW] of the h x w
     * plane at x[off ..], zero outside it (or past its last row/column, for the tiles' overhang).
     */
    private static void splitPhases(float[] x, int off, int h, int w, int pH, int pW, int tile, int hp, int jn, int rl, float[] p) {
        for (int ph = 0; ph < tile; ph++) {
            // Columns j with j*tile + ph - pW inside [0, w).
            int jLo = Math.max(0, (pW - ph + tile - 1) / tile), jHi = Math.min(jn, (w - 1 + pW - ph) / tile + 1);
            if (w - 1 + pW - ph < 0) jHi = 0;
            for (int i = 0; i < hp; i++) {
                int row = (ph * hp + i) * rl, ih = i - pH;
                if (ih < 0 || ih >= h || jHi <= jLo) {
                    for (int j = 0; j < jn; j++) p[row + j] = 0f;
                    continue;
                }
                for (int j = 0; j < jLo; j++) p[row + j] = 0f;
                if (tile == 2) GemmConv.everyOther(x, off + ih * w + ph - pW, p, row, jLo, jHi); // F(2x2): by vector shuffles
                else for (int j = jLo, at = off + ih * w + jLo * tile + ph - pW; j < jHi; j++, at += tile) p[row + j] = x[at];
                for (int j = Math.max(jLo, jHi); j < jn; j++) p[row + j] = 0f;
            }
        }
    }

    /** Output transform: y[b, o] tiles = A^T M_t[o] A, cropped to oh x ow, on vectors of 16 tiles of a tile row. */
    private static void outputTransform(Plan pl, Tiles tl, float[] m, float[] y) {
        Variant var = pl.v;
        int cOut = pl.cOut, tp = tl.padded, alpha = var.alpha, tile = var.tile;
        int oh = pl.oh, ow = pl.ow;
        Parallel.forRange(cOut, 20L * tp, (s, e) -> {
            float[] buf = scratch(3, (long) tile * tile * L + (long) tile * alpha * L);
            int wA = tile * tile * L;
            for (int o = s; o < e; o++) {
                int mo = o * var.elems * tp;
                for (int b = tl.b0; b < tl.b0 + tl.nb; b++) {
                    int plane = (b * cOut + o) * oh * ow;
                    for (int ti = 0; ti < pl.tH; ti++) {
                        int t0 = ((b - tl.b0) * pl.tH + ti) * pl.tW;
                        int rows = Math.min(tile, oh - ti * tile);
                        for (int jv = 0; jv < pl.tW; jv += L) {
                            for (int k = 0; k < alpha; k++) outputRows(var, m, mo + k * tp + t0 + jv, alpha * tp, buf, wA + k * L, alpha * L);
                            for (int r = 0; r < tile; r++) outputRows(var, buf, wA + r * alpha * L, L, buf, r * tile * L, L);
                            // buf[(r*tile + q)*L + l] is output (ti*tile + r, (jv + l)*tile + q).
                            int x0 = jv * tile, cols = Math.min(L * tile, ow - x0);
                            for (int r = 0; r < rows; r++) {
                                int at = plane + (ti * tile + r) * ow + x0;
                                for (int xx = 0; xx < cols; xx++) y[at + xx] = buf[(r * tile + xx % tile) * L + xx / tile];
                            }
                        }
                    }
                }
            }
        });
    }

    // ------------------------------------------------------------------------------------------------
    // Backward weight

    /** dw [cOut, c, 3, 3] from x [n, c, h, w] and dy [n, cOut, oh, ow] (stride 1, padding pH, pW). */
    static void backwardWeight(Variant var, float[] x, float[] dy, int n, int c, int h, int w, int cOut, int pH, int pW, float[] dw) {
        Plan pl = Plan.of(var, n, c, h, w, cOut, pH, pW);
        int cp = roundUp(c), el = var.elems;
        float[] du = scratch(0, (long) el * cOut * cp);
        int chunk = pl.chunk();
        for (int b0 = 0; b0 < n; b0 += chunk) {
            int nb = Math.min(chunk, n - b0);
            Tiles tl = Tiles.of(pl, b0, nb);
            int tiles = tl.count, tp = tl.padded;
            float[] v = scratch(1, (long) el * c * tp);
            float[] z = scratch(2, (long) el * cOut * tp);
            inputTransform(pl, tl, x, v);
            gradTransform(pl, tl, dy, z);
            float beta = b0 == 0 ? 0f : 1f;
            // dU_e [Cout, C] (+)= Z_e [Cout, T] * V_e^T [T, C]: the sum over tiles (and the batch) is the GEMM's k.
            Parallel.forRange(el, 2L * cOut * c * tiles, (s, e) -> {
                for (int k = s; k < e; k++)
                    Sgemm.sgemmSerial(false, true, cOut, c, tiles, z, k * tp, el * tp, v, k * c * tp, tp,
                            beta, du, k * cp, el * cp);
            });
        }
        weightTransform(var, du, c, cOut, cp, dw);
    }

    /**
     * Z[o, e, t] = (A dy_t[o] A^T)[e], dy's tile zero past the output plane; output channels split over threads.
     * As in the input transform, dy's plane is split into tile phases first (tiles do not overlap here).
     */
    private static void gradTransform(Plan pl, Tiles tl, float[] dy, float[] z) {
        Variant var = pl.v;
        int cOut = pl.cOut, tp = tl.padded, alpha = var.alpha, tile = var.tile;
        int hq = pl.tH * tile, rl = roundUp(pl.tW);
        Parallel.forRange(cOut, 20L * tp, (s, e) -> {
            float[] buf = scratch(3, (long) tile * hq * rl + (long) tile * alpha * L);
            int wA = tile * hq * rl;
            for (int o = s; o < e; o++) {
                int zo = o * var.elems * tp;
                for (int b = tl.b0; b < tl.b0 + tl.nb; b++) {
                    splitPhases(dy, (b * cOut + o) * pl.oh * pl.ow, pl.oh, pl.ow, 0, 0, tile, hq, pl.tW, rl, buf);
                    for (int ti = 0; ti < pl.tH; ti++) {
                        int t0 = ((b - tl.b0) * pl.tH + ti) * pl.tW;
                        for (int jv = 0; jv < pl.tW; jv += L) {
                            for (int q = 0; q < tile; q++)
                                gradRows(var, buf, (q * hq + ti * tile) * rl + jv, rl, buf, wA + q * L, tile * L);
                            for (int i = 0; i < alpha; i++)
                                gradRows(var, buf, wA + i * tile * L, L, z, zo + i * alpha * tp + t0 + jv, tp);
                        }
                    }
                }
            }
        });
    }

    /** dw[o, c] = G^T dU[o, c] G (3x3 from alpha x alpha), vectorised over 16 input channels, output channels split over threads. */
    private static void weightTransform(Variant var, float[] du, int c, int cOut, int cp, float[] dw) {
        int alpha = var.alpha;
        Parallel.forRange(cOut, 200L * c, (s, e) -> {
            float[] buf = scratch(3, 9L * cp + 3L * alpha * L);
            int wA = 9 * cp;
            for (int o = s; o < e; o++) {
                int uo = o * var.elems * cp;
                for (int cv = 0; cv < cp; cv += L) {
                    // Columns j: [dU_0j ..] -> G^T [..] = w[a][j] (3 x alpha); rows a: [w_a0 ..] -> G^T [..].
                    for (int j = 0; j < alpha; j++) weightRows(var, du, uo + j * cp + cv, alpha * cp, buf, wA + j * L, alpha * L);
                    for (int a = 0; a < 3; a++) weightRows(var, buf, wA + a * alpha * L, L, buf, a * 3 * cp + cv, cp);
                }
                for (int ci = 0, at = o * c * 9; ci < c; ci++, at += 9)
                    for (int k = 0; k < 9; k++) dw[at + k] = buf[k * cp + ci];
            }
        });
    }

    // ------------------------------------------------------------------------------------------------
    // The 1-D transforms, each on vectors src[s + i*ss ..] -> dst[d + r*ds ..]; applied to columns, then rows.

    private static void inputRows(Variant v, float[] src, int s, int ss, float[] dst, int d, int ds) {
        if (v == Variant.F4X4) inputRows4(src, s, ss, dst, d, ds);
        else inputRows2(src, s, ss, dst, d, ds);
    }

    private static void outputRows(Variant v, float[] src, int s, int ss, float[] dst, int d, int ds) {
        if (v == Variant.F4X4) outputRows4(src, s, ss, dst, d, ds);
        else outputRows2(src, s, ss, dst, d, ds);
    }

    private static void filterRows(Variant v, float[] src, int s, int ss, float[] dst, int d, int ds) {
        if (v == Variant.F4X4) filterRows4(src, s, ss, dst, d, ds);
        else filterRows2(src, s, ss, dst, d, ds);
    }

    private static void gradRows(Variant v, float[] src, int s, int ss, float[] dst, int d, int ds) {
        if (v == Variant.F4X4) gradRows4(src, s, ss, dst, d, ds);
        else gradRows2(src, s, ss, dst, d, ds);
    }

    private static void weightRows(Variant v, float[] src, int s, int ss, float[] dst, int d, int ds) {
        if (v == Variant.F4X4) weightRows4(src, s, ss, dst, d, ds);
        else weightRows2(src, s, ss, dst, d, ds);
    }

    // F(2x2, 3x3): B^T = [1 0 -1 0; 0 1 1 0; 0 -1 1 0; 0 1 0 -1], G = [1 0 0; 1/2 1/2 1/2; 1/2 -1/2 1/2; 0 0 1],
    // A^T = [1 1 1 0; 0 1 -1 -1].

    static void inputRows2(float[] src, int s, int ss, float[] dst, int d, int ds) {
        FloatVector d0 = FloatVector.fromArray(S, src, s), d1 = FloatVector.fromArray(S, src, s + ss),
                d2 = FloatVector.fromArray(S, src, s + 2 * ss), d3 = FloatVector.fromArray(S, src, s + 3 * ss);
        d0.sub(d2).intoArray(dst, d);
        d1.add(d2).intoArray(dst, d + ds);
        d2.sub(d1).intoArray(dst, d + 2 * ds);
        d1.sub(d3).intoArray(dst, d + 3 * ds);
    }

    static void outputRows2(float[] src, int s, int ss, float[] dst, int d, int ds) {
        FloatVector m0 = FloatVector.fromArray(S, src, s), m1 = FloatVector.fromArray(S, src, s + ss),
                m2 = FloatVector.fromArray(S, src, s + 2 * ss), m3 = FloatVector.fromArray(S, src, s + 3 * ss);
        m0.add(m1).add(m2).intoArray(dst, d);
        m1.sub(m2).sub(m3).intoArray(dst, d + ds);
    }

    static void filterRows2(float[] src, int s, int ss, float[] dst, int d, int ds) {
        FloatVector g0 = FloatVector.fromArray(S, src, s), g1 = FloatVector.fromArray(S, src, s + ss),
                g2 = FloatVector.fromArray(S, src, s + 2 * ss);
        FloatVector g02 = g0.add(g2);
        g0.intoArray(dst, d);
        g02.add(g1).mul(0.5f).intoArray(dst, d + ds);
        g02.sub(g1).mul(0.5f).intoArray(dst, d + 2 * ds);
        g2.intoArray(dst, d + 3 * ds);
    }

    /** A (4x2), the transpose of A^T: z = A [q0, q1]. */
    static void gradRows2(float[] src, int s, int ss, float[] dst, int d, int ds) {
        FloatVector q0 = FloatVector.fromArray(S, src, s), q1 = FloatVector.fromArray(S, src, s + ss);
        q0.intoArray(dst, d);
        q0.add(q1).intoArray(dst, d + ds);
        q0.sub(q1).intoArray(dst, d + 2 * ds);
        q1.neg().intoArray(dst, d + 3 * ds);
    }

    /** G^T (3x4): g = G^T [u0 .. u3]. */
    static void weightRows2(float[] src, int s, int ss, float[] dst, int d, int ds) {
        FloatVector u0 = FloatVector.fromArray(S, src, s), u1 = FloatVector.fromArray(S, src, s + ss),
                u2 = FloatVector.fromArray(S, src, s + 2 * ss), u3 = FloatVector.fromArray(S, src, s + 3 * ss);
        FloatVector half = u1.add(u2).mul(0.5f);
        u0.add(half).intoArray(dst, d);
        u1.sub(u2).mul(0.5f).intoArray(dst, d + ds);
        half.add(u3).intoArray(dst, d + 2 * ds);
    }

    // F(4x4, 3x3), Lavin and Gray's matrices (points 0, +-1, +-2).

    /** B^T (6x6): r = B^T [d0 .. d5], B^T = [4 0 -5 0 1 0; 0 -4 -4 1 1 0; 0 4 -4 -1 1 0; 0 -2 -1 2 1 0; 0 2 -1 -2 1 0; 0 4 0 -5 0 1]. */
    static void inputRows4(float[] src, int s, int ss, float[] dst, int d, int ds) {
        FloatVector d0 = FloatVector.fromArray(S, src, s), d1 = FloatVector.fromArray(S, src, s + ss),
                d2 = FloatVector.fromArray(S, src, s + 2 * ss), d3 = FloatVector.fromArray(S, src, s + 3 * ss),
                d4 = FloatVector.fromArray(S, src, s + 4 * ss), d5 = FloatVector.fromArray(S, src, s + 5 * ss);
        FloatVector four = FloatVector.broadcast(S, 4f), minusFour = FloatVector.broadcast(S, -4f),
                minusFive = FloatVector.broadcast(S, -5f), two = FloatVector.broadcast(S, 2f);
        FloatVector d4m2 = d4.sub(d2);
        d0.fma(four, d2.fma(minusFive, d4)).intoArray(dst, d);
        d1.add(d2).fma(minusFour, d3.add(d4)).intoArray(dst, d + ds);
        d1.sub(d2).fma(four, d4.sub(d3)).intoArray(dst, d + 2 * ds);
        d3.sub(d1).fma(two, d4m2).intoArray(dst, d + 3 * ds);
        d1.sub(d3).fma(two, d4m2).intoArray(dst, d + 4 * ds);
        d1.fma(four, d3.fma(minusFive, d5)).intoArray(dst, d + 5 * ds);
    }

    /** A^T (4x6): A^T = [1 1 1 1 1 0; 0 1 -1 2 -2 0; 0 1 1 4 4 0; 0 1 -1 8 -8 1]. */
    static void outputRows4(float[] src, int s, int ss, float[] dst, int d, int ds) {
        FloatVector m0 = FloatVector.fromArray(S, src, s), m1 = FloatVector.fromArray(S, src, s + ss),
                m2 = FloatVector.fromArray(S, src, s + 2 * ss), m3 = FloatVector.fromArray(S, src, s + 3 * ss),
                m4 = FloatVector.fromArray(S, src, s + 4 * ss), m5 = FloatVector.fromArray(S, src, s + 5 * ss);
        FloatVector sum12 = m1.add(m2), dif12 = m1.sub(m2), sum34 = m3.add(m4), dif34 = m3.sub(m4);
        m0.add(sum12).add(sum34).intoArray(dst, d);
        dif34.fma(FloatVector.broadcast(S, 2f), dif12).intoArray(dst, d + ds);
        sum34.fma(FloatVector.broadcast(S, 4f), sum12).intoArray(dst, d + 2 * ds);
        dif34.fma(FloatVector.broadcast(S, 8f), dif12.add(m5)).intoArray(dst, d + 3 * ds);
    }

    /** G (6x3): G = [1/4 0 0; -1/6 -1/6 -1/6; -1/6 1/6 -1/6; 1/24 1/12 1/6; 1/24 -1/12 1/6; 0 0 1]. */
    static void filterRows4(float[] src, int s, int ss, float[] dst, int d, int ds) {
        FloatVector g0 = FloatVector.fromArray(S, src, s), g1 = FloatVector.fromArray(S, src, s + ss),
                g2 = FloatVector.fromArray(S, src, s + 2 * ss);
        FloatVector g02 = g0.add(g2);
        FloatVector a = g0.mul(1f / 24).add(g2.mul(1f / 6)), b = g1.mul(1f / 12);
        g0.mul(0.25f).intoArray(dst, d);
        g02.add(g1).mul(-1f / 6).intoArray(dst, d + ds);
        g02.sub(g1).mul(-1f / 6).intoArray(dst, d + 2 * ds);
        a.add(b).intoArray(dst, d + 3 * ds);
        a.sub(b).intoArray(dst, d + 4 * ds);
        g2.intoArray(dst, d + 5 * ds);
    }

    /** A (6x4), the transpose of A^T: z = A [q0 .. q3]. */
    static void gradRows4(float[] src, int s, int ss, float[] dst, int d, int ds) {
        FloatVector q0 = FloatVector.fromArray(S, src, s), q1 = FloatVector.fromArray(S, src, s + ss),
                q2 = FloatVector.fromArray(S, src, s + 2 * ss), q3 = FloatVector.fromArray(S, src, s + 3 * ss);
        FloatVector even = q0.add(q2), odd = q1.add(q3);
        FloatVector even4 = q2.fma(FloatVector.broadcast(S, 4f), q0), odd8 = q3.fma(FloatVector.broadcast(S, 4f), q1).mul(2f);
        q0.intoArray(dst, d);
        even.add(odd).intoArray(dst, d + ds);
        even.sub(odd).intoArray(dst, d + 2 * ds);
        even4.add(odd8).intoArray(dst, d + 3 * ds);
        even4.sub(odd8).intoArray(dst, d + 4 * ds);
        q3.intoArray(dst, d + 5 * ds);
    }

    /** G^T (3x6): g = G^T [u0 .. u5]. */
    static void weightRows4(float[] src, int s, int ss, float[] dst, int d, int ds) {
        FloatVector u0 = FloatVector.fromArray(S, src, s), u1 = FloatVector.fromArray(S, src, s + ss),
                u2 = FloatVector.fromArray(S, src, s + 2 * ss), u3 = FloatVector.fromArray(S, src, s + 3 * ss),
                u4 = FloatVector.fromArray(S, src, s + 4 * ss), u5 = FloatVector.fromArray(S, src, s + 5 * ss);
        FloatVector s12 = u1.add(u2), d12 = u1.sub(u2), s34 = u3.add(u4), d34 = u3.sub(u4);
        // g0 = u0/4 - (u1 + u2)/6 + (u3 + u4)/24; g1 = -(u1 - u2)/6 + (u3 - u4)/12; g2 = -(u1 + u2)/6 + (u3 + u4)/6 + u5
        u0.mul(0.25f).add(s34.mul(1f / 24).sub(s12.mul(1f / 6))).intoArray(dst, d);
        d34.mul(1f / 12).sub(d12.mul(1f / 6)).intoArray(dst, d + ds);
        s34.sub(s12).mul(1f / 6).add(u5).intoArray(dst, d + 2 * ds);
    }
}
