package org.pulmo.ops;

import org.pulmo.autograd.Graph;
import org.pulmo.backend.Backend;
import org.pulmo.tensor.Tensor;

/**
 * MAB, the mutex attention block of MA-Net (Zheng et al., Applied Intelligence 2022, Sec. 3.3, Fig. 4), as one
 * differentiable op: it highlights where the feature maps of an image and of its opposite-class ("mutex") partner
 * differ. This page is the op: its equations, forward, backward, plain-loop reference and where everything else
 * about it lives.
 *
 * <h2>Equations (MA-Net, as printed in the paper)</h2>
 * For each sample n and channel c, over the H x W positions (i, j) of F_rei and F_rem [N, C, H, W]:
 * <pre>
 *   d_cij = (a^rei_cij - a^rem_cij)^2                              (3)   D, the mutex distance
 *   A_D   = reshape(softmax(reshape(D)), dim = HW)                 (4)   a softmax over the H*W positions of each plane
 *   F_am  = A_D (.) F_rem                                          (5)
 * </pre>
 *
 * <h2>Forward</h2>
 * Per (n, c) plane, with the softmax max-subtracted so that large distances cannot overflow; P is eq. 4's A_D:
 * <pre>
 *   m = max_hw D,   lse = m + log sum_hw e^(D - m),   P = A_D = e^(D - lse),   F_am = P (.) F_rem
 * </pre>
 * Kept for backward: F_rei and F_rem (the graph holds them anyway) and lse [N, C], from which backward rebuilds
 * P; the [N, C, H, W] softmax is never stored.
 *
 * <h2>Backward</h2>
 * With g = dF_am:
 * <pre>
 *   dP     = g (.) F_rem
 *   dD     = P (.) (dP - sum_hw P (.) dP)          (the softmax's Jacobian)
 *   dF_rei = 2 (F_rei - F_rem) (.) dD
 *   dF_rem = g (.) P - dF_rei                      (F_rem enters through D and through eq. 5)
 * </pre>
 * In a peaked plane, where one position k holds nearly all of P (P_k > {@link Backend#MAB_DOMINANT} = 3/4; at most
 * one position can), dP_k - sum_hw P (.) dP cancels and float32 keeps few of its bits; since sum_hw P = 1 it equals
 * dP_k sum_{j != k} P_j - sum_{j != k} P_j dP_j, which every implementation uses at k. Departure (arithmetic only):
 * the same mathematics as eq. 3-5's derivative, rearranged for float32 (docs/FIDELITY.md).
 *
 * <h2>With the attention map constant in backward</h2>
 * MA-Net's default ({@code MaNet.Options.attentionGradient} false; docs/FIDELITY.md, "MAB in backward") takes A_D = P
 * as a constant: the same forward, and the backward keeps only the product's term,
 * <pre>
 *   dF_rei = 0,   dF_rem = g (.) P,   P = e^(D - lse) rebuilt from the forward's lse
 * </pre>
 * ({@link #mabConstantMap}, {@link Backend#mabConstantMapBackward}, reference {@link #referenceConstantMapBackward}).
 *
 * <h2>Index</h2>
 * <ul>
 * <li>Op with autograd: {@link #mab(Tensor, Tensor)}; its module: {@code org.pulmo.models.MaNet.MutexAttention}.</li>
 * <li>Reference: {@link #referenceForward} and {@link #referenceBackward} below, the one ground truth of every test
 *   listed here.</li>
 * <li>Backend contract: {@link Backend#mabForward} and {@link Backend#mabBackward} (records {@link Backend.MabOut},
 *   {@link Backend.MabGrads}); their default bodies are the composed path of a backend without a fused kernel.</li>
 * <li>Fast CPU kernel: {@code org.pulmo.backend.cpu.CpuFused.mabForward}, {@code mabBackward} and
 *   {@code mabConstantMapBackward} (vectorised, one or two passes per plane), adapted by {@code CpuBackend}.</li>
 * <li>CUDA: {@code cuda-kernels/src/main/cuda/mab.cu} ({@code mab_warp_forward_K}, {@code mab_warp_backward_K}: a warp
 *   per plane of up to 1024 values, K of them per lane in registers; {@code mab_fused_forward}, {@code mab_fused_backward}:
 *   a block per plane, for larger planes; {@code mab_constant_map_backward}; and the naive {@code mab_naive_*} baseline),
 *   launched by {@code org.pulmo.cuda.MabKernels}.</li>
 * <li>Tests: {@code MabTest} (tensor-core: a hand example, gradient checks, the CPU kernel and the composed default
 *   against the reference, peaked planes, the reference against autograd of primitives and central differences,
 *   the constant-map op in {@code constantMapMatchesTheReference});
 *   {@code MabWarpTest} (the warp kernels' per-lane code compiled for the host, run lane by lane, no GPU needed);
 *   {@code GpuParityTest.mabVersionsMatchTheReference} (every version, the constant-map backward too),
 *   {@code backendFusedOpsMatchTheReference} and {@code attentionOpsWithAutogradMatchTheReference} (cuda-kernels).</li>
 * <li>Benchmarks: {@code AttentionBench.mabForward} and {@code mabBackward} (CPU, fused against composed, MA-Net's
 *   stage shapes); {@code GpuKernelsBench.mabForward}, {@code mabBackward}, {@code mabForwardBackward} (GPU, fused,
 *   naive and composed against the copy bandwidth).</li>
 * </ul>
 */
public final class Mab {
    private Mab() {}

    /** F_am [N, C, H, W] of eq. 3-5 from F_rei and F_rem [N, C, H, W] (any views, one device), with its backward. */
    public static Tensor mab(Tensor fRei, Tensor fRem) {
        // dP = g F_rem; dD = P (dP - sum_hw P dP); dF_rei = 2 (F_rei - F_rem) dD; dF_rem = g P - dF_rei
        return record("mab", fRei, fRem, (be, g, lse) -> {
            Backend.MabGrads d = be.mabBackward(fRei, fRem, g, lse);
            return new Tensor[] {fRei.requiresGrad() ? d.dFRei() : null, fRem.requiresGrad() ? d.dFRem() : null};
        });
    }

    /**
     * F_am of eq. 3-5 with A_D a constant in backward: the values of {@link #mab}, but the gradient reaches F_rem only
     * as A_D (.) dF_am and F_rei not at all (one pass over the plane instead of the softmax's Jacobian).
     */
    public static Tensor mabConstantMap(Tensor fRei, Tensor fRem) {
        return record("mabConstantMap", fRei, fRem,
            (be, g, lse) -> new Tensor[] {null, fRem.requiresGrad() ? be.mabConstantMapBackward(fRei, fRem, g, lse) : null});
    }

    /** {dF_rei, dF_rem} (null where not needed) from dF_am and the forward's lse. */
    private interface Backward { Tensor[] of(Backend be, Tensor g, Tensor lse); }

    /** The checked forward of eq. 3-5 on the inputs' backend, recorded as {@code op} with {@code backward}. */
    private static Tensor record(String op, Tensor fRei, Tensor fRem, Backward backward) {
        AttentionChecks.requireMaps("mab", fRei, fRem);
        Backend be = AttentionChecks.backend("mab", fRei, fRem);
        Backend.MabOut out = be.mabForward(fRei, fRem);
        Tensor lse = out.lse();
        return Graph.record(op, out.fAm(), g -> backward.of(be, g, lse), fRei, fRem);
    }

    // ---------------------------------------------------------------- the plain-loop reference

    /**
     * {F_am, lse} of eq. 3-5 on row-major arrays of {@code planes} planes of {@code hw} values (lse one per plane),
     * sums in double: per plane D = (fRei - fRem)^2 (3), P = softmax_hw(D) (4), F_am = P fRem (5).
     */
    public static float[][] referenceForward(float[] fRei, float[] fRem, int planes, int hw) {
        float[] fAm = new float[fRei.length], lse = new float[planes];
        for (int p = 0; p < planes; p++) {
            int o = p * hw;
            double m = Double.NEGATIVE_INFINITY;
            for (int i = 0; i < hw; i++) { double t = (double) fRei[o + i] - fRem[o + i]; m = Math.max(m, t * t); }
            double s = 0;
            for (int i = 0; i < hw; i++) { double t = (double) fRei[o + i] - fRem[o + i]; s += Math.exp(t * t - m); }
            for (int i = 0; i < hw; i++) { double t = (double) fRei[o + i] - fRem[o + i]; fAm[o + i] = (float) (Math.exp(t * t - m) / s * fRem[o + i]); }
            lse[p] = (float) (m + Math.log(s));
        }
        return new float[][] {fAm, lse};
    }

    /**
     * {dF_rei, dF_rem} from dF_am, in float64. dP_i - sum_j P_j dP_j is summed as sum_{j != i} P_j (dP_i - dP_j)
     * (equal since sum_j P_j = 1): O(hw^2), but free of the cancellation that costs even float64 its bits on a
     * position holding nearly all of P, so it is the truth the fast kernels' peaked-plane path is judged against.
     */
    public static float[][] referenceBackward(float[] fRei, float[] fRem, float[] dFAm, int planes, int hw) {
        float[] dFRei = new float[fRei.length], dFRem = new float[fRei.length];
        double[] pr = new double[hw], dp = new double[hw];
        for (int p = 0; p < planes; p++) {
            int o = p * hw;
            double m = Double.NEGATIVE_INFINITY, s = 0;
            for (int i = 0; i < hw; i++) { double t = (double) fRei[o + i] - fRem[o + i]; m = Math.max(m, t * t); }
            for (int i = 0; i < hw; i++) { double t = (double) fRei[o + i] - fRem[o + i]; pr[i] = Math.exp(t * t - m); s += pr[i]; }
            for (int i = 0; i < hw; i++) { pr[i] /= s; dp[i] = (double) dFAm[o + i] * fRem[o + i]; }
            for (int i = 0; i < hw; i++) {
                double diff = 0;
                for (int j = 0; j < hw; j++) if (j != i) diff += pr[j] * (dp[i] - dp[j]);
                double t = (double) fRei[o + i] - fRem[o + i], dd = 2 * t * pr[i] * diff;
                dFRei[o + i] = (float) dd;
                dFRem[o + i] = (float) (dFAm[o + i] * pr[i] - dd);
            }
        }
        return new float[][] {dFRei, dFRem};
    }

    /** dF_rem = dF_am (.) P of {@link #mabConstantMap} (A_D constant), in float64: P = softmax_hw((fRei - fRem)^2). */
    public static float[] referenceConstantMapBackward(float[] fRei, float[] fRem, float[] dFAm, int planes, int hw) {
        float[] dFRem = new float[fRei.length];
        for (int p = 0; p < planes; p++) {
            int o = p * hw;
            double m = Double.NEGATIVE_INFINITY, s = 0;
            for (int i = 0; i < hw; i++) { double t = (double) fRei[o + i] - fRem[o + i]; m = Math.max(m, t * t); }
            for (int i = 0; i < hw; i++) { double t = (double) fRei[o + i] - fRem[o + i]; s += Math.exp(t * t - m); }
            for (int i = 0; i < hw; i++) {
                double t = (double) fRei[o + i] - fRem[o + i];
                dFRem[o + i] = (float) (dFAm[o + i] * Math.exp(t * t - m) / s);
            }
        }
        return dFRem;
    }
}
