package org.pulmo.ops;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;
import org.pulmo.tensor.Rng;
import org.pulmo.tensor.Tensor;

/**
 * SE's channel scale, FAB's fusion and MAB on inputs that are contiguous views starting inside a larger storage
 * (a narrow along the batch, as a paired batch is split), each at its own offset: values and gradients against the
 * op pages' plain-loop references on the same values. A kernel that reads one input at another's offset, or from
 * index 0, gets other numbers.
 */
class AttentionOpsOnOffsetViewsTest {

    /** Rows [first, first + 2) of a fresh [4, ...] tensor: contiguous, at offset first * (size of one row). */
    private static Tensor offsetView(Rng rng, int first, int... rowShape) {
        int[] big = new int[rowShape.length + 1];
        big[0] = 4;
        System.arraycopy(rowShape, 0, big, 1, rowShape.length);
        Tensor v = Tensor.randn(rng, big).narrow(0, first, 2);
        assertTrue(v.isContiguous() && v.offset() > 0, "a contiguous view at an offset");
        return v.detach().requiresGrad(true);
    }

    private static void close(float[] want, float[] got, float tol, String what) {
        assertEquals(want.length, got.length, what + ": length");
        for (int i = 0; i < want.length; i++) assertEquals(want[i], got[i], tol * (1 + Math.abs(want[i])), what + " at " + i);
    }

    @Test void seScaleOnOffsetViewsMatchesTheReference() {
        Rng rng = new Rng(61);
        int c = 3, h = 5, w = 4, hw = h * w;
        Tensor u = offsetView(rng, 1, c, h, w), s = offsetView(rng, 2, c);
        Tensor y = SeScale.seScale(u, s);
        float[] dy = Tensor.randn(rng, 2, c, h, w).toArray();
        y.backward(Tensor.of(dy, 2, c, h, w));
        close(SeScale.referenceForward(u.toArray(), s.toArray(), hw), y.toArray(), 1e-6f, "seScale y");
        float[][] ref = SeScale.referenceBackward(u.toArray(), s.toArray(), dy, hw);
        close(ref[0], u.grad().toArray(), 1e-5f, "seScale du");
        close(ref[1], s.grad().toArray(), 1e-5f, "seScale ds");
    }

    @Test void fabFuseOnOffsetViewsMatchesTheReference() {
        Rng rng = new Rng(62);
        int c = 3, h = 4, w = 5, hw = h * w;
        Tensor a = offsetView(rng, 2, c, h, w), b = offsetView(rng, 1, c, h, w), m = offsetView(rng, 1, c), n = offsetView(rng, 2, c);
        Tensor y = FabFuse.fabFuse(a, b, m, n);
        float[] dy = Tensor.randn(rng, 2, c, h, w).toArray();
        y.backward(Tensor.of(dy, 2, c, h, w));
        close(FabFuse.referenceForward(a.toArray(), b.toArray(), m.toArray(), n.toArray(), hw), y.toArray(), 1e-5f, "fabFuse y");
        float[][] ref = FabFuse.referenceBackward(a.toArray(), b.toArray(), m.toArray(), n.toArray(), dy, hw);
        close(ref[0], a.grad().toArray(), 1e-5f, "fabFuse dF_am");
        close(ref[1], b.grad().toArray(), 1e-5f, "fabFuse dF_rem");
        close(ref[2], m.grad().toArray(), 1e-4f, "fabFuse dM");
        close(ref[3], n.grad().toArray(), 1e-4f, "fabFuse dN");
    }

    @Test void mabOnOffsetViewsMatchesTheReference() {
        Rng rng = new Rng(63);
        int c = 2, h = 5, w = 7, hw = h * w, planes = 2 * c;
        Tensor a = offsetView(rng, 1, c, h, w), b = offsetView(rng, 2, c, h, w);
        Tensor y = Mab.mab(a, b);
        float[] dy = Tensor.randn(rng, 2, c, h, w).toArray();
        y.backward(Tensor.of(dy, 2, c, h, w));
        close(Mab.referenceForward(a.toArray(), b.toArray(), planes, hw)[0], y.toArray(), 1e-5f, "MAB y");
        float[][] ref = Mab.referenceBackward(a.toArray(), b.toArray(), dy, planes, hw);
        close(ref[0], a.grad().toArray(), 1e-4f, "MAB dF_rei");
        close(ref[1], b.grad().toArray(), 1e-4f, "MAB dF_rem");
    }
}
