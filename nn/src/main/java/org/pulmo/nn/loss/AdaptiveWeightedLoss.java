package org.pulmo.nn.loss;

import org.pulmo.tensor.Tensor;

/**
 * MA-Net's adaptive weight multi-loss: L = a1 * L_CE + a2 * L_CS (eq. 16) with
 * a1 = e^(1/L_CE) / (e^(1/L_CE) + e^(1/L_CS)) and a2 = 1 - a1 (eq. 15), so the smaller loss (larger 1/L) gets the
 * larger weight. The weights are recomputed from the current values every step. By default
 * ({@code MaNet.LossMode.ADAPTIVE}) they are constants in backward (computed from detached values), so
 * dL/dθ = a1 dL_CE/dθ + a2 dL_CS/dθ; {@code ADAPTIVE_GRAD} differentiates them, through the tensor forms
 * {@link #weightOfFirst(Tensor, Tensor)} and {@link #combine}.
 * Departure: the paper does not say whether a1 and a2 are differentiated; by default we treat them as constants.
 *
 * <p>Numerics. Dividing numerator and denominator by e^(1/L_CE) gives a1 = 1 / (1 + e^(1/L_CS - 1/L_CE))
 * = sigmoid(1/L_CE - 1/L_CS), which never overflows (e^(1/L) alone overflows float for L < ~0.011 and
 * double for L < ~0.0014). Computed in double:
 * <ul>
 *   <li>Both 1/L finite: a1 = sigmoid(d), d = 1/L_CE - 1/L_CS; sigmoid is evaluated as 1/(1+e^-d) for d >= 0
 *       and e^d/(1+e^d) otherwise, so it saturates to exactly 0 or 1 instead of producing inf/inf.</li>
 *   <li>A loss of exactly 0 (1/L = +inf): its weight is the limit, 1 (if both are 0, a1 = a2 = 0.5, the
 *       symmetric limit). The total is then 0 from that term, the loss that is solved. A zero with its sign bit set
 *       counts as 0 too: a float32 cross-entropy of a batch whose every logit margin is past ~37 is exactly -0.0, and
 *       1/-0.0 = -inf would give that solved loss the weight 0.</li>
 *   <li>A negative loss (a cosine-similarity term can be negative): the formula still applies as written
 *       (1/L negative pushes that weight towards 0); the same stable sigmoid keeps it finite.</li>
 *   <li>NaN in either loss: a1 is NaN, which surfaces the upstream problem rather than hiding it.</li>
 * </ul>
 */
public final class AdaptiveWeightedLoss {
    private AdaptiveWeightedLoss() {}

    /** a1 of eq. 15 from the two loss values (a2 = 1 - a1). */
    public static double weightOfFirst(double lossCe, double lossCs) {
        if (Double.isNaN(lossCe) || Double.isNaN(lossCs)) return Double.NaN;
        double inv1 = 1.0 / (lossCe + 0.0), inv2 = 1.0 / (lossCs + 0.0); // +inf at a loss of exactly 0 (-0.0 + 0.0 = +0.0)
        if (Double.isInfinite(inv1) && Double.isInfinite(inv2)) {
            if (inv1 == inv2) return 0.5;              // both losses 0: symmetric limit
            return inv1 > inv2 ? 1.0 : 0.0;
        }
        double d = inv1 - inv2;                        // +-inf when exactly one is infinite: sigmoid -> 1 or 0
        if (d >= 0) return 1.0 / (1.0 + Math.exp(-d));
        double e = Math.exp(d);
        return e / (1.0 + e);
    }

    /** {a1, a2} as floats. */
    public static float[] weights(Tensor lossCe, Tensor lossCs) {
        double a1 = weightOfFirst(lossCe.item(), lossCs.item());
        return new float[] {(float) a1, (float) (1.0 - a1)};
    }

    /** L = a1 * lossCe + a2 * lossCs (eq. 16), a1 and a2 (eq. 15) constants for backward. Both inputs are scalars. */
    public static Tensor combine(Tensor lossCe, Tensor lossCs) {
        float[] a = weights(lossCe, lossCs);
        return combine(lossCe, lossCs, a[0], a[1]);
    }

    /**
     * a1 of eq. 15 as a scalar tensor on the losses' device: sigmoid(1/L_CE - 1/L_CS), the overflow-free form above.
     * Of live losses it is differentiable, so gradients flow through the weights too; of detached ones it is the
     * constant weight of {@link #weightOfFirst(double, double)}, computed in float without reading the losses back
     * to the host. It agrees with the double version to float rounding, and in the limits of one loss at exactly 0
     * (1/L held at 1e30: sigmoid gives exactly 1 or 0), and with both at 0 (the symmetric 0.5). It departs from the
     * double version only where both losses are below 1e-30 and differ (0.5 against 0 or 1).
     *
     * <p>Its derivatives, da1/dL_CE = -a1 a2 / L_CE^2 and da1/dL_CS = a1 a2 / L_CS^2, are given as constants k times
     * (L - L detached), which is 0 in value: autograd's own chain through 1/L would multiply a1 a2 = 0 (the sigmoid
     * saturated) by 1/L^2 = inf, NaN, at a loss of 0 or below ~5e-20, where the limit is 0. 1/L^2 is bounded by 1e36
     * there (a loss below 1e-18): past it a1 a2 is 0 in float anyway unless both losses are that small, so k is exact
     * in every other case.
     */
    public static Tensor weightOfFirst(Tensor lossCe, Tensor lossCs) {
        checkScalars(lossCe, lossCs);
        // + 0: a loss of exactly 0 is the solved one whatever its sign bit (see weightOfFirst(double, double)); 1/L held
        // within +-1e30, so that two losses of 0 (or under ~3e-39, where 1/L overflows float) give d = 0, the symmetric 0.5,
        // not inf - inf: a converged MA-Net would otherwise stop as "diverged" on a NaN weight
        Tensor big = Tensor.full(1e30f, lossCe.device()), negBig = Tensor.full(-1e30f, lossCe.device());
        Tensor inv1 = lossCe.detach().add(0f).pow(-1f).minimum(big).maximum(negBig), inv2 = lossCs.detach().add(0f).pow(-1f).minimum(big).maximum(negBig);
        Tensor a1 = inv1.sub(inv2).sigmoid();
        if (!lossCe.requiresGrad() && !lossCs.requiresGrad()) return a1;
        Tensor a1a2 = a1.mul(a1.neg().add(1f)), bound = Tensor.full(1e36f, a1.device());
        Tensor k1 = a1a2.mul(inv1.square().minimum(bound)).neg(), k2 = a1a2.mul(inv2.square().minimum(bound));
        return a1.add(k1.mul(lossCe.sub(lossCe.detach()))).add(k2.mul(lossCs.sub(lossCs.detach())));
    }

    /** L = a1 * lossCe + (1 - a1) * lossCs (eq. 16) with a1 a tensor (differentiated, from {@link #weightOfFirst(Tensor, Tensor)}). */
    public static Tensor combine(Tensor lossCe, Tensor lossCs, Tensor a1) {
        checkScalars(lossCe, lossCs);
        return a1.mul(lossCe).add(a1.neg().add(1f).mul(lossCs));
    }

    private static void checkScalars(Tensor lossCe, Tensor lossCs) {
        if (lossCe.numel() != 1 || lossCs.numel() != 1)
            throw new IllegalArgumentException("AdaptiveWeightedLoss combines two scalar losses, got shapes "
                + java.util.Arrays.toString(lossCe.shape()) + " and " + java.util.Arrays.toString(lossCs.shape()));
    }

    /** L = a1 * lossCe + a2 * lossCs with given constant weights. */
    public static Tensor combine(Tensor lossCe, Tensor lossCs, float a1, float a2) {
        checkScalars(lossCe, lossCs);
        return lossCe.mul(a1).add(lossCs.mul(a2));
    }
}
