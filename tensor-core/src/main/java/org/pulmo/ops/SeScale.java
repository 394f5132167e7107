package org.pulmo.ops;

import org.pulmo.backend.Backend;
import org.pulmo.autograd.Graph;
import org.pulmo.tensor.Shapes;
import org.pulmo.tensor.Tensor;

/**
 * SE's channel scale, F_scale of Squeeze-and-Excitation (Hu et al., "Squeeze-and-Excitation Networks", 2018,
 * eq. 4), the "reweight" step of DPN-SENet's SE blocks (Cheng et al., Sec. 3.2):
 * each channel of a map is multiplied by its gate. This page is the op: its equation, forward, backward, plain-loop
 * reference and where everything else about it lives.
 *
 * <h2>Equation</h2>
 * For a map U [N, C, H, W] and the excitation's gates s [N, C] (sigmoid outputs, in (0, 1)):
 * <pre>
 *   x~_c = F_scale(u_c, s_c) = s_c . u_c                          (Hu et al. eq. 4), per sample n
 * </pre>
 *
 * <h2>Forward</h2>
 * y[n, c, h, w] = u[n, c, h, w] s[n, c]. Kept for backward: u and s (both graph inputs).
 *
 * <h2>Backward</h2>
 * With g = dy:
 * <pre>
 *   du[n, c, h, w] = g[n, c, h, w] s[n, c]
 *   ds[n, c]       = sum_hw g[n, c, h, w] u[n, c, h, w]
 * </pre>
 *
 * <h2>Index</h2>
 * <ul>
 * <li>Op with autograd: {@link #seScale(Tensor, Tensor)}; its module: {@code org.pulmo.nn.SqueezeExcitation}.</li>
 * <li>Reference: {@link #referenceForward} and {@link #referenceBackward} below, the one ground truth of every test
 *   listed here.</li>
 * <li>Backend contract: {@link Backend#seScaleForward} and {@link Backend#seScaleBackward} (record
 *   {@link Backend.SeScaleGrads}); the defaults (the forward one broadcasting multiply) are the composed path of a
 *   backend without a fused kernel.</li>
 * <li>Fast CPU kernel: {@code org.pulmo.backend.cpu.CpuFused.seScaleForward} (each plane times its channel's scale: the
 *   broadcasting multiply's bits, without its strided row walk) and {@code CpuFused.seScaleBackward} (one pass per
 *   plane), adapted by {@code CpuBackend}.</li>
 * <li>CUDA: {@code cuda-kernels/src/main/cuda/se_fab.cu} ({@code se_scale_forward}, {@code se_scale_backward};
 *   {@code se_squeeze} beside them, which no model runs: {@code SqueezeExcitation} squeezes with the generic
 *   {@code globalAvgPool}; it is kept for its parity test and benchmark), launched by {@code org.pulmo.cuda.SeFabKernels}.</li>
 * <li>Tests: {@code SeScaleTest} (tensor-core: a hand example, gradient checks, the CPU kernel and the composed
 *   default against the reference, the reference against autograd of primitives);
 *   {@code GpuParityTest.seAndFabMatchTheReference}, {@code backendFusedOpsMatchTheReference} and
 *   {@code attentionOpsWithAutogradMatchTheReference} (cuda-kernels).</li>
 * <li>Benchmarks: {@code AttentionBench.seScaleForward} and {@code seScaleBackward} (CPU, fused against composed,
 *   DPN-92-SE's block shapes; {@code seSqueeze} for the squeeze before it).</li>
 * </ul>
 */
public final class SeScale {
    private SeScale() {}

    /** y = u (.) s[n, c] for u [N, C, H, W] and s [N, C] (any views, one device), with its backward. */
    public static Tensor seScale(Tensor u, Tensor s) {
        if (u.dim() != 4) throw new IllegalArgumentException("seScale needs u [N, C, H, W], got " + Shapes.str(u.shape()));
        AttentionChecks.requirePerChannel("seScale", u, s);
        Backend be = AttentionChecks.backend("seScale", u, s);
        // du = g s[n, c];  ds[n, c] = sum_hw g u
        return Graph.record("seScale", be.seScaleForward(u, s), g -> {
            Backend.SeScaleGrads d = be.seScaleBackward(u, s, g);
            return new Tensor[] {u.requiresGrad() ? d.du() : null, s.requiresGrad() ? d.ds() : null};
        }, u, s);
    }

    // ---------------------------------------------------------------- the plain-loop reference

    /** y = u s[p] on row-major arrays, p = i / hw the plane of element i (eq. 4). */
    public static float[] referenceForward(float[] u, float[] s, int hw) {
        float[] y = new float[u.length];
        for (int i = 0; i < u.length; i++) y[i] = u[i] * s[i / hw];
        return y;
    }

    /** {du, ds}: du = dy s[p], ds[p] = sum_hw dy u (summed in double). */
    public static float[][] referenceBackward(float[] u, float[] s, float[] dy, int hw) {
        float[] du = new float[u.length], ds = new float[s.length];
        for (int p = 0; p < s.length; p++) {
            double acc = 0;
            for (int i = p * hw; i < (p + 1) * hw; i++) { du[i] = dy[i] * s[p]; acc += (double) dy[i] * u[i]; }
            ds[p] = (float) acc;
        }
        return new float[][] {du, ds};
    }
}
