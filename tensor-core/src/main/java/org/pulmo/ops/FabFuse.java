package org.pulmo.ops;

import org.pulmo.autograd.Graph;
import org.pulmo.backend.Backend;
import org.pulmo.tensor.Tensor;

/**
 * The fusion step of MA-Net's fusion attention block (FAB; Zheng et al., Applied Intelligence 2022, Sec. 3.4,
 * Fig. 5, eq. 10-11): a per-channel gate a, a two-way softmax of the logits M and N, mixes the attended map F_am
 * with the mutex map F_rem. The gate's logits come from eq. 6-9, which {@code org.pulmo.models.MaNet.FusionAttention}
 * computes with ordinary layers. This page is the op: its equations, forward, backward, plain-loop reference and
 * where everything else about it lives.
 *
 * <h2>Equations (MA-Net, as printed in the paper)</h2>
 * For each sample and channel c, with F_am, F_rem [B, C, H, W] and the logits M, N [B, C] (B the batch; N is eq. 9's logit):
 * <pre>
 *   a_c    = e^(M_c) / (e^(M_c) + e^(N_c))                                  (10)
 *   F_fm^c = a_c x F_am^c + (1 - a_c) x F_rem^c                             (11)
 * </pre>
 *
 * <h2>Forward</h2>
 * a = 1 / (1 + e^(N - M)) = sigmoid(M - N), which cannot overflow to inf / inf as eq. 10 written literally can;
 * F_fm = a F_am + (1 - a) F_rem. Kept for backward: the four inputs (all graph inputs); a is recomputed.
 *
 * <h2>Backward</h2>
 * With g = dF_fm:
 * <pre>
 *   dF_am  = a g
 *   dF_rem = (1 - a) g
 *   dM     = a (1 - a) sum_hw g (.) (F_am - F_rem)      (da/dM = a (1 - a), the sigmoid's derivative)
 *   dN     = -dM
 * </pre>
 *
 * <h2>Index</h2>
 * <ul>
 * <li>Op with autograd: {@link #fabFuse(Tensor, Tensor, Tensor, Tensor)}; its module:
 *   {@code org.pulmo.models.MaNet.FusionAttention}.</li>
 * <li>Reference: {@link #referenceForward} and {@link #referenceBackward} below, the one ground truth of every test
 *   listed here.</li>
 * <li>Backend contract: {@link Backend#fabFuseForward} and {@link Backend#fabFuseBackward} (record
 *   {@link Backend.FabGrads}); their default bodies are the composed path of a backend without a fused kernel.</li>
 * <li>Fast CPU kernel: {@code org.pulmo.backend.cpu.CpuFused.fabFuseForward} and {@code fabFuseBackward} (one pass
 *   per plane), adapted by {@code CpuBackend}.</li>
 * <li>CUDA: {@code cuda-kernels/src/main/cuda/se_fab.cu} ({@code fab_fuse_forward}, {@code fab_fuse_backward};
 *   {@code fab_squeeze} for eq. 7 beside them, which no model runs: {@code MaNet.FusionAttention} squeezes with the
 *   generic {@code globalAvgPool} and {@code globalMaxPool}, which share a gradient among tied maxima where
 *   {@code fab_squeeze} gives it to the first; it is kept for its parity test and benchmark), launched by
 *   {@code org.pulmo.cuda.SeFabKernels}.</li>
 * <li>Tests: {@code FabFuseTest} (tensor-core: a hand example, gradient checks, the CPU kernel and the composed
 *   default against the reference, a backward without the sigmoid's derivative failing, the reference against
 *   autograd of primitives); {@code GpuParityTest.seAndFabMatchTheReference} and
 *   {@code backendFusedOpsMatchTheReference} (cuda-kernels).</li>
 * <li>Benchmarks: {@code AttentionBench.fabForward} and {@code fabBackward} (CPU, fused against composed, MA-Net's
 *   stage shapes).</li>
 * </ul>
 */
public final class FabFuse {
    private FabFuse() {}

    /** F_fm [B, C, H, W] of eq. 10-11 from F_am, F_rem [B, C, H, W] and M, N [B, C] (B the batch) (any views, one device), with its backward. */
    public static Tensor fabFuse(Tensor fAm, Tensor fRem, Tensor m, Tensor n) {
        AttentionChecks.requireMaps("fabFuse", fAm, fRem);
        AttentionChecks.requirePerChannel("fabFuse", fAm, m);
        AttentionChecks.requirePerChannel("fabFuse", fAm, n);
        Backend be = AttentionChecks.backend("fabFuse", fAm, fRem, m, n);
        // dF_am = a g; dF_rem = (1 - a) g; dM = a (1 - a) sum_hw g (F_am - F_rem); dN = -dM
        return Graph.record("fabFuse", be.fabFuseForward(fAm, fRem, m, n), g -> {
            Backend.FabGrads d = be.fabFuseBackward(fAm, fRem, m, n, g);
            return new Tensor[] {fAm.requiresGrad() ? d.dFAm() : null, fRem.requiresGrad() ? d.dFRem() : null,
                m.requiresGrad() ? d.dM() : null, n.requiresGrad() ? d.dN() : null};
        }, fAm, fRem, m, n);
    }

    // ---------------------------------------------------------------- the plain-loop reference

    /** eq. 10: a = e^M / (e^M + e^N), written as 1 / (1 + e^(N - M)), in double. */
    public static double referenceGate(float m, float n) { return 1.0 / (1.0 + Math.exp((double) n - m)); }

    /** eq. 11 on row-major arrays: F_fm = a F_am + (1 - a) F_rem, a of plane p = i / hw. */
    public static float[] referenceForward(float[] fAm, float[] fRem, float[] m, float[] n, int hw) {
        float[] fFm = new float[fAm.length];
        for (int i = 0; i < fFm.length; i++) {
            double a = referenceGate(m[i / hw], n[i / hw]);
            fFm[i] = (float) (a * fAm[i] + (1 - a) * fRem[i]);
        }
        return fFm;
    }

    /** {dF_am, dF_rem, dM, dN} from dF_fm, in double. */
    public static float[][] referenceBackward(float[] fAm, float[] fRem, float[] m, float[] n, float[] dFFm, int hw) {
        int planes = m.length;
        float[] dFAm = new float[fAm.length], dFRem = new float[fAm.length], dM = new float[planes], dN = new float[planes];
        for (int p = 0; p < planes; p++) {
            double a = referenceGate(m[p], n[p]), acc = 0;
            for (int i = p * hw; i < (p + 1) * hw; i++) {
                dFAm[i] = (float) (a * dFFm[i]);
                dFRem[i] = (float) ((1 - a) * dFFm[i]);
                acc += (double) dFFm[i] * (fAm[i] - fRem[i]);
            }
            dM[p] = (float) (a * (1 - a) * acc);
            dN[p] = -dM[p];
        }
        return new float[][] {dFAm, dFRem, dM, dN};
    }
}
