package org.pulmo.models;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.pulmo.models.MaNet.LossMode;
import org.pulmo.models.MaNet.Options;
import org.pulmo.tensor.Rng;
import org.pulmo.tensor.Tensor;

/**
 * MA-Net's documented defaults ({@link Options}): MAB and FAB on, the adaptive loss with constant weights, FAB's
 * r = 16, the mutex path leaving the running statistics alone and MAB's attention map A_D a constant in backward
 * (attentionGradient false: differentiated, L_CS swamps L_CE and the backbone stops learning to classify). The
 * registry's MA-Nets take these options, so a flipped default would silently change every training run.
 */
class MaNetDefaultOptionsTest {

    @Test void defaultsAreTheDocumentedOnes() {
        Options d = Options.DEFAULT;
        assertTrue(d.mab());
        assertTrue(d.fab());
        assertEquals(LossMode.ADAPTIVE, d.loss());
        assertEquals(16, d.reduction());
        assertFalse(d.mutexRunningStats(), "by default only the main path moves the running statistics");
        assertFalse(d.attentionGradient(), "by default A_D is a constant in backward");
    }

    /** With the defaults (FAB on), F_rei reaches F_om only through A_D, so as a constant it gets no gradient at all. */
    @Test void byDefaultNoGradientReachesTheMainMapThroughTheMutexPath() {
        Rng rng = new Rng(11);
        MaNet m = MaNetPathsTest.tiny(Options.DEFAULT);
        Tensor fRei = Tensor.randn(rng, 2, 4, 3, 3).requiresGrad(true), fRem = Tensor.randn(rng, 2, 4, 3, 3).requiresGrad(true);
        Tensor g = Tensor.randn(rng, 2, 4, 3, 3);
        m.mutexPath(1, fRei, fRem).mul(g).sum().backward();
        double reiGrad = 0, remGrad = 0;
        if (fRei.grad() != null) for (float v : fRei.grad().toArray()) reiGrad = Math.max(reiGrad, Math.abs(v));
        for (float v : fRem.grad().toArray()) remGrad = Math.max(remGrad, Math.abs(v));
        assertEquals(0.0, reiGrad, "F_rei gets no gradient through a constant attention map");
        assertTrue(remGrad > 1e-3, "F_rem still gets one: " + remGrad);
    }

    /** The shorter constructors default the later switches to false, and each wither changes its own switch only. */
    @Test void shorterConstructorsAndWithersKeepTheOtherSwitches() {
        Options four = new Options(true, false, LossMode.CE, 8);
        assertEquals(new Options(true, false, LossMode.CE, 8, false, false), four);
        assertEquals(new Options(false, true, LossMode.CE_CS, 4, true, false), new Options(false, true, LossMode.CE_CS, 4, true));
        Options all = new Options(true, true, LossMode.ADAPTIVE, 16, true, true);
        assertEquals(new Options(true, true, LossMode.CE, 16, true, true), all.withLoss(LossMode.CE));
        assertEquals(new Options(true, false, LossMode.ADAPTIVE, 16, true, true), all.withFab(false));
        assertEquals(new Options(true, true, LossMode.ADAPTIVE, 16, false, true), all.withMutexRunningStats(false));
        assertEquals(new Options(true, true, LossMode.ADAPTIVE, 16, true, false), all.withAttentionGradient(false));
    }

    /** A reduction of 0 divided by zero inside FAB's constructor; a negative one was taken as C' = 1. */
    @Test void aReductionBelowOneIsRefusedInTheOptions() {
        for (int r : new int[] {0, -4}) {
            String m = assertThrows(IllegalArgumentException.class, () -> new MaNet.Options(true, true, MaNet.LossMode.ADAPTIVE, r)).getMessage();
            assertTrue(m.contains("reduction") && m.contains("got " + r), m);
        }
    }
}
