package org.pulmo.backend.cpu;

import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.IntVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;

/**
 * The papers' fused ops on the CPU, one loop per (sample, channel) plane of hw = H*W values, planes spread over
 * the cores. Each replaces five to ten passes of the composed {@link org.pulmo.backend.Backend} defaults (and
 * their temporaries) by one or two passes over the inputs. Kernels on arrays: a map is {@code planes * hw}
 * row-major floats from an offset ([N, C, H, W], planes = N*C), a per-channel input {@code planes} floats from an
 * offset ([N, C]); outputs are written from index 0 of the arrays given. {@link CpuBackend} is the adapter from
 * tensors (dense copies of strided views, new outputs). The equations, formulas and references are on the op
 * pages {@link org.pulmo.ops.Mab}, {@link org.pulmo.ops.SeScale} and {@link org.pulmo.ops.FabFuse}; mab.cu and
 * se_fab.cu in cuda-kernels compute the same.
 */
final class CpuFused {
    private CpuFused() {}

    /** 16 floats per vector on AVX-512; {@code exp} of a vector is one vectorised call instead of 16 Math.exp. */
    private static final VectorSpecies<Float> V = FloatVector.SPECIES_PREFERRED;
    /** Vectors summed in float lanes before the partial sum moves to a double (bounds float rounding of long sums). */
    private static final int BLOCK = 64;

    /**
     * e^x on a vector from add, multiply and fma only (Cephes' expf: x = n ln2 + r with |r| <= ln2 / 2, a degree-5
     * polynomial for e^r, 2^n put into the exponent bits; about 1 ulp). Not {@code lanewise(EXP)}: the Vector API
     * computes that with one library before the JIT compiles the loop and another after, so the same step could
     * give different last bits within one run. Arguments below -87.3 give e^-87.3 (~1e-38) instead of 0.
     */
    static FloatVector exp(FloatVector x) {
        x = x.max(-87.3f).min(88.3f);
        FloatVector t = x.mul(1.44269504088896341f).add(0.5f);                  // x log2(e) + 1/2
        FloatVector n = (FloatVector) ((IntVector) t.convert(VectorOperators.F2I, 0)).convert(VectorOperators.I2F, 0);
        n = n.sub(1f, n.compare(VectorOperators.GT, t));                         // truncation -> floor
        FloatVector r = n.fma(FloatVector.broadcast(V, -0.693359375f), x).add(n.mul(2.12194440e-4f));     // x - n ln2, ln2 split in two
        FloatVector p = r.fma(1.9875691500e-4f, 1.3981999507e-3f);
        p = p.fma(r, FloatVector.broadcast(V, 8.3334519073e-3f));
        p = p.fma(r, FloatVector.broadcast(V, 4.1665795894e-2f));
        p = p.fma(r, FloatVector.broadcast(V, 1.6666665459e-1f));
        p = p.fma(r, FloatVector.broadcast(V, 5.0000001201e-1f));
        FloatVector y = p.mul(r.mul(r)).add(r).add(1f);                         // e^r
        IntVector bits = ((IntVector) n.convert(VectorOperators.F2I, 0)).add(127).lanewise(VectorOperators.LSHL, 23);
        return y.mul(bits.reinterpretAsFloats());                                // * 2^n
    }

    // ------------------------------------------------------------------ MAB (MA-Net eq. 3-5)

    /**
     * F_am into Y and lse into L from A = F_rei (from offset ao) and B = F_rem (from bo). Pass 1: D = (a-b)^2 and
     * its max; pass 2: e^(D - max) into Y and its sum; pass 3: Y = Y / sum * b.
     */
    static void mabForward(float[] A, int ao, float[] B, int bo, int planes, int hw, float[] Y, float[] L) {
        int lanesPerVector = V.length(), vec = V.loopBound(hw);
        Parallel.forRange(planes, 12L * hw, (p0, p1) -> {
            float[] lanes = new float[lanesPerVector];
            for (int p = p0; p < p1; p++) {
                int o = p * hw;
                FloatVector vm = FloatVector.broadcast(V, Float.NEGATIVE_INFINITY);
                int i = 0;
                for (; i < vec; i += lanesPerVector) {                       // eq. 3: D = (a - b)^2
                    FloatVector t = FloatVector.fromArray(V, A, ao + o + i).sub(FloatVector.fromArray(V, B, bo + o + i));
                    FloatVector d = t.mul(t);
                    d.intoArray(Y, o + i);
                    vm = vm.max(d);
                }
                float m = vm.reduceLanes(VectorOperators.MAX);
                for (; i < hw; i++) {
                    float t = A[ao + o + i] - B[bo + o + i], d = t * t;
                    Y[o + i] = d;
                    if (d > m) m = d;
                }
                double sum = 0;                                              // eq. 4, max-subtracted
                FloatVector vs = FloatVector.zero(V);
                i = 0;
                for (int k = 0; i < vec; i += lanesPerVector) {
                    FloatVector e = exp(FloatVector.fromArray(V, Y, o + i).sub(m));
                    e.intoArray(Y, o + i);
                    vs = vs.add(e);
                    if (++k == BLOCK) { vs.intoArray(lanes, 0); sum += Lanes.sumInLaneOrder(lanes); vs = FloatVector.zero(V); k = 0; }
                }
                vs.intoArray(lanes, 0);
                sum += Lanes.sumInLaneOrder(lanes);
                for (; i < hw; i++) {
                    float e = (float) Math.exp(Y[o + i] - m);
                    Y[o + i] = e;
                    sum += e;
                }
                float inv = (float) (1 / sum);
                i = 0;
                for (; i < vec; i += lanesPerVector)                         // eq. 5: F_am = softmax(D) (.) b
                    FloatVector.fromArray(V, Y, o + i).mul(inv).mul(FloatVector.fromArray(V, B, bo + o + i)).intoArray(Y, o + i);
                for (; i < hw; i++) Y[o + i] = Y[o + i] * inv * B[bo + o + i];
                L[p] = m + (float) Math.log(sum);
            }
        });
    }

    /**
     * dF_rem = G (.) P into DB for MAB with its map constant in backward (Mab.mabConstantMap): one pass per plane,
     * P = e^((a - b)^2 - lse) rebuilt from L (each input from its offset).
     */
    static void mabConstantMapBackward(float[] A, int ao, float[] B, int bo, float[] G, int go, float[] L, int lo, int planes,
                                       int hw, float[] DB) {
        int lanesPerVector = V.length(), vec = V.loopBound(hw);
        Parallel.forRange(planes, 8L * hw, (p0, p1) -> {
            for (int p = p0; p < p1; p++) {
                int o = p * hw;
                float lsep = L[lo + p];
                int i = 0;
                for (; i < vec; i += lanesPerVector) {
                    FloatVector t = FloatVector.fromArray(V, A, ao + o + i).sub(FloatVector.fromArray(V, B, bo + o + i));
                    exp(t.mul(t).sub(lsep)).mul(FloatVector.fromArray(V, G, go + o + i)).intoArray(DB, o + i);
                }
                for (; i < hw; i++) {
                    float t = A[ao + o + i] - B[bo + o + i];
                    DB[o + i] = (float) Math.exp(t * t - lsep) * G[go + o + i];
                }
            }
        });
    }

    /** Above this softmax weight a position is its plane's one dominant position (two cannot both exceed 1/2). */
    static final float DOMINANT = org.pulmo.backend.Backend.MAB_DOMINANT;

    /**
     * dF_rei into DA and dF_rem into DB from A = F_rei, B = F_rem, G = dF_am and L = the forward's lse (each from
     * its offset). Pass 1: P = e^(D - lse) into DA, dot = sum P dy b and the largest P; pass 2: dD, da and db.
     * In a peaked plane (one P_k > 3/4; the last stage's 2 x 2 or 7 x 7 maps often are) dy_k b_k - dot cancels
     * and float32 keeps few of its bits, so position k is redone from the sums over the other positions:
     * dy_k b_k - dot = dy_k b_k sum_{j != k} P_j - sum_{j != k} P_j dy_j b_j (as sum_j P_j = 1), no cancellation.
     */
    static void mabBackward(float[] A, int ao, float[] B, int bo, float[] G, int go, float[] L, int lo, int planes, int hw,
                            float[] DA, float[] DB) {
        int lanesPerVector = V.length(), vec = V.loopBound(hw);
        Parallel.forRange(planes, 20L * hw, (p0, p1) -> {
            float[] lanes = new float[lanesPerVector];
            for (int p = p0; p < p1; p++) {
                int o = p * hw;
                float lsep = L[lo + p];
                double dot = 0;                                              // sum_i P_i dy_i b_i
                FloatVector vd = FloatVector.zero(V), vmax = FloatVector.zero(V);
                int i = 0;
                for (int k = 0; i < vec; i += lanesPerVector) {
                    FloatVector bv = FloatVector.fromArray(V, B, bo + o + i);
                    FloatVector t = FloatVector.fromArray(V, A, ao + o + i).sub(bv);
                    FloatVector pr = exp(t.mul(t).sub(lsep));                     // P = softmax(D), from lse
                    pr.intoArray(DA, o + i);
                    vmax = vmax.max(pr);
                    vd = pr.mul(FloatVector.fromArray(V, G, go + o + i)).fma(bv, vd);
                    if (++k == BLOCK) { vd.intoArray(lanes, 0); dot += Lanes.sumInLaneOrder(lanes); vd = FloatVector.zero(V); k = 0; }
                }
                vd.intoArray(lanes, 0);
                dot += Lanes.sumInLaneOrder(lanes);
                float maxP = vmax.reduceLanes(VectorOperators.MAX);
                for (; i < hw; i++) {
                    float t = A[ao + o + i] - B[bo + o + i];
                    float pr = (float) Math.exp(t * t - lsep);
                    DA[o + i] = pr;
                    maxP = Math.max(maxP, pr);
                    dot += pr * G[go + o + i] * B[bo + o + i];
                }
                int dominant = -1;
                float pk = 0;
                double rest = 0, restDot = 0;                                // sums over j != dominant
                if (maxP > DOMINANT) {
                    for (int j = 0; j < hw; j++) {
                        float pj = DA[o + j];
                        if (pj > DOMINANT) { dominant = j; pk = pj; continue; }
                        rest += pj;
                        restDot += (double) pj * G[go + o + j] * B[bo + o + j];
                    }
                }
                float dt = (float) dot;
                i = 0;
                for (; i < vec; i += lanesPerVector) {                       // dD = P (dy b - dot); da = 2 t dD; db = dy P - da
                    FloatVector bv = FloatVector.fromArray(V, B, bo + o + i), gv = FloatVector.fromArray(V, G, go + o + i);
                    FloatVector t = FloatVector.fromArray(V, A, ao + o + i).sub(bv), pr = FloatVector.fromArray(V, DA, o + i);
                    FloatVector dd = t.mul(2f).mul(pr).mul(gv.mul(bv).sub(dt));
                    dd.intoArray(DA, o + i);
                    gv.mul(pr).sub(dd).intoArray(DB, o + i);
                }
                for (; i < hw; i++) {
                    float bv = B[bo + o + i], gv = G[go + o + i], t = A[ao + o + i] - bv, pr = DA[o + i];
                    float dd = 2f * t * pr * (gv * bv - dt);
                    DA[o + i] = dd;
                    DB[o + i] = gv * pr - dd;
                }
                if (dominant >= 0) {                                          // the peaked plane's dominant position
                    int j = dominant;
                    float bv = B[bo + o + j], gv = G[go + o + j], t = A[ao + o + j] - bv;
                    float dd = 2f * t * pk * (float) (gv * bv * rest - restDot);
                    DA[o + j] = dd;
                    DB[o + j] = gv * pk - dd;
                }
            }
        });
    }

    // ------------------------------------------------------------------ SE scale (Hu et al. eq. 4)

    /**
     * y = u s into Y from X = u and S = s: each plane times its channel's scale, planes over the threads. The same
     * single multiply as the broadcasting {@code binary(MUL)} it replaces, so the same bits; but that walks one row per
     * plane through the strided row loop, which costs more than the multiplies on small planes (DPN-92-SE's
     * [16, 1048, 2, 2] at the demo's 32 x 32: 216 us a call on 2 threads).
     */
    static void seScaleForward(float[] X, int xo, float[] S, int so, int planes, int hw, float[] Y) {
        int lanes = V.length();
        Parallel.forRange(planes, hw, (p0, p1) -> {
            for (int p = p0; p < p1; p++) {
                int o = p * hw, i = 0;
                float sc = S[so + p];
                for (int vEnd = V.loopBound(hw); i < vEnd; i += lanes)
                    FloatVector.fromArray(V, X, xo + o + i).mul(sc).intoArray(Y, o + i);
                for (; i < hw; i++) Y[o + i] = X[xo + o + i] * sc;
            }
        });
    }

    /**
     * du = dy s into DX and ds = sum_hw dy u into DS, in one pass, from X = u, S = s and G = dy (each from its offset).
     * ds sums a plane as CpuReduce sums a row: the products' float partials over blocks of 256, one vector at a time
     * (lanes added in {@link Lanes#sum}'s fixed order), the blocks added in double. One running sum over the plane waited
     * on each add, and ran at a quarter of memory speed (DPN-92-SE's [8, 1048, 14, 14] in a training step: 0.9-1.3 ms a
     * call before, 0.4 ms after, on 2 threads).
     */
    static void seScaleBackward(float[] X, int xo, float[] S, int so, float[] G, int go, int planes, int hw, float[] DX, float[] DS) {
        int lanes = V.length();
        Parallel.forRange(planes, 3L * hw, (p0, p1) -> {
            float[] stored = new float[lanes];
            for (int p = p0; p < p1; p++) {
                int o = p * hw;
                float sc = S[so + p];
                double acc = 0;
                for (int i0 = 0; i0 < hw; i0 += 256) {
                    int e1 = Math.min(hw, i0 + 256), i = i0;
                    float part = 0f;
                    if (e1 - i0 >= 2 * lanes) {
                        FloatVector sum = FloatVector.zero(V);
                        for (int vEnd = i0 + V.loopBound(e1 - i0); i < vEnd; i += lanes) {
                            FloatVector g = FloatVector.fromArray(V, G, go + o + i);
                            g.mul(sc).intoArray(DX, o + i);
                            sum = sum.add(g.mul(FloatVector.fromArray(V, X, xo + o + i)));
                        }
                        sum.intoArray(stored, 0);
                        part = Lanes.sum(stored, 0, lanes);
                    }
                    for (; i < e1; i++) {
                        float g = G[go + o + i];
                        DX[o + i] = g * sc;
                        part += g * X[xo + o + i];
                    }
                    acc += part;
                }
                DS[p] = (float) acc;
            }
        });
    }

    // ------------------------------------------------------------------ FAB fusion (MA-Net eq. 10-11)

    /** alpha = 1 / (1 + e^(z2 - z1)), as sigmoid(z1 - z2): never overflows to inf / inf. */
    private static float alpha(float z1, float z2) { return (float) (1 / (1 + Math.exp((double) z2 - z1))); }

    /** F_fm = a F_am + (1 - a) F_rem into Y from A = F_am, B = F_rem, Z1 = M and Z2 = N (each from its offset). */
    static void fabFuseForward(float[] A, int ao, float[] B, int bo, float[] Z1, int o1, float[] Z2, int o2, int planes, int hw, float[] Y) {
        Parallel.forRange(planes, 3L * hw, (p0, p1) -> {
            for (int p = p0; p < p1; p++) {
                int o = p * hw;
                float al = alpha(Z1[o1 + p], Z2[o2 + p]), rest = 1f - al;
                for (int i = 0; i < hw; i++) Y[o + i] = al * A[ao + o + i] + rest * B[bo + o + i];
            }
        });
    }

    /**
     * dF_am into D1, dF_rem into D2, dM into DZ1 and dN into DZ2, in one pass, from A = F_am, B = F_rem, Z1 = M,
     * Z2 = N and G = dF_fm (each from its offset): dAlpha = sum_hw dy (x1 - x2), dM = alpha (1 - alpha) dAlpha, dN = -dM.
     */
    static void fabFuseBackward(float[] A, int ao, float[] B, int bo, float[] Z1, int o1, float[] Z2, int o2, float[] G, int go,
                                int planes, int hw, float[] D1, float[] D2, float[] DZ1, float[] DZ2) {
        Parallel.forRange(planes, 6L * hw, (p0, p1) -> {
            for (int p = p0; p < p1; p++) {
                int o = p * hw;
                float al = alpha(Z1[o1 + p], Z2[o2 + p]), rest = 1f - al;
                double acc = 0;
                for (int i = 0; i < hw; i++) {
                    float g = G[go + o + i];
                    D1[o + i] = al * g;
                    D2[o + i] = rest * g;
                    acc += g * (A[ao + o + i] - B[bo + o + i]);
                }
                float dz = al * rest * (float) acc;
                DZ1[p] = dz;
                DZ2[p] = -dz;
            }
        });
    }
}
