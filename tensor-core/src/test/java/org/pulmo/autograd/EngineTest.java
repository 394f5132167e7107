package org.pulmo.autograd;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import org.junit.jupiter.api.Test;
import org.pulmo.tensor.Rng;
import org.pulmo.tensor.Tensor;

/** The backward walk: accumulation, shared inputs, detach, no-grad, freed graphs and error messages. */
class EngineTest {

    private static final float TOL = 1e-6f;

    @Test void gradientsAccumulateAcrossTwoBackwardCalls() {
        Tensor x = Tensor.of(new float[] {1, 2, 3}, 3).requiresGrad(true);
        x.mul(2f).sum().backward();
        assertArrayEquals(new float[] {2, 2, 2}, x.grad().toArray(), TOL);
        x.square().sum().backward(); // a fresh graph; its gradient 2x adds to the first
        assertArrayEquals(new float[] {4, 6, 8}, x.grad().toArray(), TOL);
        x.zeroGrad();
        assertNull(x.grad());
    }

    @Test void tensorUsedTwiceGetsTheSummedGradient() {
        Tensor x = Tensor.of(new float[] {1.5f, -2f, 3f}, 3).requiresGrad(true);
        x.mul(x).sum().backward(); // d(x*x)/dx = 2x: both operands contribute x
        assertArrayEquals(new float[] {3f, -4f, 6f}, x.grad().toArray(), TOL);
    }

    @Test void dualPathLikeBranchesThenCatSumTheirGradients() {
        // as in a DPN block: x feeds a residual branch and a dense branch, their outputs are concatenated
        Tensor x = Tensor.of(new float[] {1, 2, 3, 4}, 1, 4).requiresGrad(true);
        Tensor residual = x.mul(3f);                    // d/dx = 3
        Tensor dense = x.square();                      // d/dx = 2x
        Tensor out = Tensor.cat(1, residual, dense, x); // and x itself passes straight on: d/dx = 1
        Tensor w = Tensor.of(new float[] {1, 1, 1, 1, 1, 1, 1, 1, 2, 2, 2, 2}, 1, 12);
        out.mul(w).sum().backward();
        assertArrayEquals(new float[] {3 + 2 + 2, 3 + 4 + 2, 3 + 6 + 2, 3 + 8 + 2}, x.grad().toArray(), TOL);
    }

    @Test void diamondGraphReachesEveryNodeOnce() {
        // y = (a + b) * (a - b) with a = 2x, b = x^2: dy/dx = 2a*2 - 2b*2x = 8x - 4x^3
        Tensor x = Tensor.of(new float[] {0.5f, 1f, 2f}, 3).requiresGrad(true);
        Tensor a = x.mul(2f), b = x.square();
        a.add(b).mul(a.sub(b)).sum().backward();
        float[] g = x.grad().toArray(), xs = {0.5f, 1f, 2f};
        for (int i = 0; i < 3; i++) assertEquals(8 * xs[i] - 4 * xs[i] * xs[i] * xs[i], g[i], 1e-5f);
    }

    /** "times two" as a recorded op whose backward hands out a fresh 2 g and remembers it for the test. */
    static Tensor doubled(Tensor x, List<Tensor> gradsMade) {
        return Graph.record("double", x.detach().mul(2f), g -> {
            Tensor d = g.mul(2f);
            gradsMade.add(d);
            return new Tensor[] {d};
        }, x);
    }

    /**
     * The walk releases each gradient it made once consumed (so a backward holds its frontier, not every gradient
     * at once), never a retained one, and the result is unchanged; inside a scope, as training runs it.
     */
    @Test void consumedGradientsAreReleasedDuringTheWalk() {
        try (org.pulmo.tensor.MemoryScope scope = org.pulmo.tensor.MemoryScope.open()) {
            List<Tensor> made = new java.util.ArrayList<>();
            Tensor x = Tensor.of(new float[] {1, -2, 3}, 3).requiresGrad(true);
            Tensor h = x;
            for (int i = 0; i < 6; i++) h = doubled(h, made);
            Tensor kept = h.retainGrad();
            Tensor y = doubled(kept, made);
            y.backward(Tensor.of(new float[] {1, 1, 1}, 3));
            assertArrayEquals(new float[] {128, 128, 128}, x.grad().toArray(), 0f, "2^7, unchanged by the releases");
            assertEquals(7, made.size());
            // made in walk order: y's backward first (its output is h's gradient, copied into h.grad), x's last (taken as x.grad)
            for (Tensor d : made.subList(0, 6)) assertTrue(d.storage().isReleased(), "a consumed gradient is released");
            assertNotSame(made.get(0).storage(), kept.grad().storage(), "h keeps a copy");
            assertSame(made.get(6).storage(), x.grad().storage(), "x's gradient is the walk's own array, not a copy");
            assertFalse(x.grad().storage().isReleased());
            assertArrayEquals(new float[] {2, 2, 2}, kept.grad().toArray(), 0f);
        }
    }

    /**
     * A retained intermediate's gradient is a leaf's: summed over backward calls (it was replaced by the last one's) and
     * dense (it was the walk's own array, here sum's broadcast view of stride 0, which refused addInPlace).
     */
    @Test void aRetainedGradientAddsUpOverBackwardCallsAndIsDense() {
        Tensor x = Tensor.of(new float[] {1, 2}, 2).requiresGrad(true);
        Tensor h = x.mul(3f).retainGrad();
        Tensor y = h.sum();
        y.backward(null, true);
        y.backward(null, true);
        assertArrayEquals(new float[] {2, 2}, h.grad().toArray(), 0f, "1 + 1 from the two calls");
        assertArrayEquals(new float[] {6, 6}, x.grad().toArray(), 0f);
        assertArrayEquals(new int[] {1}, h.grad().strides(), "dense, not the broadcast view");
        h.grad().addInPlace(Tensor.of(new float[] {1, 1}, 2), 1f);
        assertArrayEquals(new float[] {3, 3}, h.grad().toArray(), 0f);
    }

    /**
     * One gradient array handed to two inputs (an op whose backward returns the same tensor for both) must not
     * become a leaf's .grad: the other input may be two leaves' (a second backward would add to a shared array
     * twice) or a node whose backward reuses its gradient in place (as "doubleInPlace" below does).
     */
    @Test void aGradientHandedToTwoInputsIsCopiedNotTaken() {
        Tensor a = Tensor.of(new float[] {1, 2}, 2).requiresGrad(true), b = Tensor.of(new float[] {3, 4}, 2).requiresGrad(true);
        Tensor c = Tensor.of(new float[] {5, 6}, 2).requiresGrad(true);
        for (int pass = 1; pass <= 2; pass++) {
            Tensor h = Graph.record("doubleInPlace", c.detach().mul(2f), g -> {
                g.addInPlace(g, 1f);
                return new Tensor[] {g};
            }, c);
            Tensor y = Graph.record("sum3", a.detach().add(b.detach()).add(h.detach()), g -> {
                Tensor d = g.mul(3f);
                return new Tensor[] {d, d, d};
            }, a, b, h);
            y.backward(Tensor.of(new float[] {1, 2}, 2));
            assertNotSame(a.grad().storage(), b.grad().storage());
            assertArrayEquals(new float[] {3 * pass, 6 * pass}, a.grad().toArray(), 0f, "pass " + pass);
            assertArrayEquals(new float[] {3 * pass, 6 * pass}, b.grad().toArray(), 0f, "pass " + pass);
            assertArrayEquals(new float[] {6 * pass, 12 * pass}, c.grad().toArray(), 0f, "pass " + pass);
        }
    }

    /**
     * A second gradient for a tensor is added into its pending one in place only when nothing else views that array.
     * Here M hands one array d to n and to p; N passes its gradient (that same d) on to p twice. Summing into p's
     * pending d in place would change N's gradient while N still hands it out: p's gradient must be d + d + d.
     */
    @Test void gradientsAreSummedInPlaceOnlyWhenNothingElseViewsTheArray() {
        Tensor x = Tensor.of(new float[] {1, -2}, 2).requiresGrad(true);
        Tensor p = Graph.record("P", x.detach().mul(1f), g -> new Tensor[] {g}, x);
        Tensor n = Graph.record("N", p.detach().add(p.detach()), g -> new Tensor[] {g, g}, p, p);
        Tensor y = Graph.record("M", n.detach().add(p.detach()), g -> {
            Tensor d = g.mul(1f);
            return new Tensor[] {d, d};
        }, n, p);
        y.backward(Tensor.of(new float[] {1, 2}, 2));
        assertArrayEquals(new float[] {3, 6}, x.grad().toArray(), 0f);
        // and a plain residual sum, y = f(x) + x twice over, in place or not, is exact
        Tensor z = Tensor.of(new float[] {0.5f, 1.5f}, 2).requiresGrad(true);
        Tensor h = z.mul(2f).add(z);
        h.mul(3f).add(h).sum().backward();
        assertArrayEquals(new float[] {12, 12}, z.grad().toArray(), 0f);
    }

    @Test void detachStopsTheGradient() {
        Tensor x = Tensor.of(new float[] {1, 2}, 2).requiresGrad(true);
        Tensor d = x.mul(3f).detach();
        assertFalse(d.requiresGrad());
        assertNull(d.gradFn());
        x.mul(d).sum().backward(); // d is a constant: dx = d = 3x
        assertArrayEquals(new float[] {3, 6}, x.grad().toArray(), TOL);
        // detach shares storage
        assertTrue(x.detach().storage() == x.storage());
    }

    @Test void noGradRecordsNothing() {
        Tensor x = Tensor.randn(new Rng(1), 2, 3).requiresGrad(true);
        Tensor y;
        try (var s = GradMode.noGrad()) {
            assertFalse(GradMode.isEnabled());
            try (var inner = GradMode.noGrad()) { assertFalse(GradMode.isEnabled()); }
            assertFalse(GradMode.isEnabled(), "nested scopes: closing the inner one keeps recording off");
            y = x.mul(2f).exp().sum(0, false);
        }
        assertTrue(GradMode.isEnabled());
        assertNull(y.gradFn());
        assertFalse(y.requiresGrad());
        IllegalStateException e = assertThrows(IllegalStateException.class, y::backward);
        assertTrue(e.getMessage().contains("does not require grad"), e.getMessage());
    }

    /**
     * Slices, narrows and splits (the ops whose gradient can add into a pending one) record nothing under noGrad either,
     * and a scope closed twice counts once: recording comes back only when the outer scope closes.
     */
    @Test void noGradCoversSlicesAndScopesCloseOnce() {
        Tensor x = Tensor.randn(new Rng(2), 2, 6).requiresGrad(true);
        List<Tensor> parts;
        Tensor stepped, narrowed;
        try (var outer = GradMode.noGrad()) {
            var inner = GradMode.noGrad();
            inner.close();
            inner.close();
            assertFalse(GradMode.isEnabled(), "an inner scope closed twice must not end the outer one");
            stepped = x.slice(1, 0, 6, 2);
            narrowed = x.narrow(0, 1, 1);
            parts = x.split(1, 2, 4);
        }
        assertTrue(GradMode.isEnabled());
        for (Tensor t : List.of(stepped, narrowed, parts.get(0), parts.get(1))) {
            assertNull(t.gradFn(), "a view made under noGrad has no backward");
            assertFalse(t.requiresGrad());
        }
    }

    @Test void backwardTwiceThroughAFreedGraphThrowsAndRetainGraphAllowsIt() {
        Tensor x = Tensor.of(new float[] {1, 2}, 2).requiresGrad(true);
        Tensor y = x.exp().sum();
        y.backward();
        IllegalStateException e = assertThrows(IllegalStateException.class, y::backward);
        assertTrue(e.getMessage().contains("retainGraph"), e.getMessage());

        Tensor x2 = Tensor.of(new float[] {1, 2}, 2).requiresGrad(true);
        Tensor y2 = x2.exp().sum();
        y2.backward(Tensor.scalar(1f), true);
        y2.backward(Tensor.scalar(1f), true);
        assertArrayEquals(new float[] {2 * (float) Math.E, 2 * (float) Math.exp(2)}, x2.grad().toArray(), 1e-5f);
    }

    @Test void backwardOnNonScalarWithoutSeedNamesTheShape() {
        Tensor x = Tensor.randn(new Rng(2), 2, 3).requiresGrad(true);
        Tensor y = x.mul(2f);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, y::backward);
        assertTrue(e.getMessage().contains("[2, 3]"), e.getMessage());
        // with a seed of the right shape it works
        y.backward(Tensor.ones(2, 3));
        assertArrayEquals(new float[] {2, 2, 2, 2, 2, 2}, x.grad().toArray(), TOL);
        // a seed of the wrong shape names both
        Tensor z = x.mul(2f);
        IllegalArgumentException e2 = assertThrows(IllegalArgumentException.class, () -> z.backward(Tensor.ones(3, 2)));
        assertTrue(e2.getMessage().contains("[3, 2]") && e2.getMessage().contains("[2, 3]"), e2.getMessage());
    }

    @Test void shapeMismatchNamesBothShapesAndTheOp() {
        Tensor a = Tensor.zeros(2, 3), b = Tensor.zeros(4);
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> a.add(b));
        assertTrue(e.getMessage().contains("[2, 3]") && e.getMessage().contains("[4]") && e.getMessage().contains("add"), e.getMessage());
        IllegalArgumentException m = assertThrows(IllegalArgumentException.class, () -> a.matmul(Tensor.zeros(2, 3)));
        assertTrue(m.getMessage().contains("matmul") && m.getMessage().contains("[2, 3]"), m.getMessage());
        IllegalArgumentException c = assertThrows(IllegalArgumentException.class, () -> Tensor.cat(0, a, Tensor.zeros(2, 4)));
        assertTrue(c.getMessage().contains("cat") && c.getMessage().contains("[2, 4]"), c.getMessage());
        IllegalArgumentException mu = assertThrows(IllegalArgumentException.class, () -> a.mul(Tensor.zeros(3, 3)));
        assertTrue(mu.getMessage().contains("mul") && mu.getMessage().contains("[3, 3]"), mu.getMessage());
    }

    @Test void leafBackwardAndRetainGrad() {
        Tensor x = Tensor.scalar(3f).requiresGrad(true);
        x.backward();
        assertEquals(1f, x.grad().item());
        Tensor y = Tensor.of(new float[] {1, 2}, 2).requiresGrad(true);
        Tensor h = y.mul(2f).retainGrad();
        h.square().sum().backward();
        assertArrayEquals(new float[] {4, 8}, h.grad().toArray(), TOL); // d(h^2)/dh = 2h
        assertArrayEquals(new float[] {8, 16}, y.grad().toArray(), TOL);
    }

    @Test void onlyInputsThatRequireGradGetAGradient() {
        Tensor x = Tensor.of(new float[] {1, 2}, 2).requiresGrad(true), c = Tensor.of(new float[] {5, 7}, 2);
        x.mul(c).sum().backward();
        assertNull(c.grad());
        assertArrayEquals(new float[] {5, 7}, x.grad().toArray(), TOL);
    }

    @Test void inPlaceChangeOfAVariableIsRefusedInGradMode() {
        Tensor x = Tensor.zeros(2).requiresGrad(true);
        assertThrows(IllegalStateException.class, () -> x.fill(1f));
        try (var s = GradMode.noGrad()) { x.fill(1f); }
        assertArrayEquals(new float[] {1, 1}, x.toArray());
    }

    /** A batch buffer refilled between forward and backward: the gradient would be computed from the new batch. */
    @Test void anInputChangedInPlaceAfterTheForwardIsRefusedByBackward() {
        Tensor batch = Tensor.of(new float[] {1, 2}, 2);
        Tensor w = Tensor.of(new float[] {5, 5}, 2).requiresGrad(true);
        Tensor loss = batch.mul(w).sum();
        batch.copyFrom(Tensor.of(new float[] {100, 100}, 2));
        IllegalStateException e = assertThrows(IllegalStateException.class, loss::backward);
        assertTrue(e.getMessage().contains("'mul'") && e.getMessage().contains("input 0 of shape [2]")
            && e.getMessage().contains("copyFrom"), e.getMessage());
        assertNull(w.grad(), "nothing half-computed is left behind");
        // a view of it counts as it, and so do set and addInPlace
        for (java.util.function.Consumer<Tensor> change : List.<java.util.function.Consumer<Tensor>>of(
                t -> t.narrow(0, 1, 1).fill(3f), t -> t.set(4f, 0), t -> t.addInPlace(Tensor.ones(2), 1f))) {
            Tensor b = Tensor.of(new float[] {1, 2}, 2), l = b.mul(w).sum();
            change.accept(b);
            assertThrows(IllegalStateException.class, l::backward);
        }
        // changed after backward, or before the next forward: nothing to refuse, and the gradient is the new batch's
        Tensor b = Tensor.of(new float[] {1, 2}, 2);
        b.mul(w).sum().backward();
        b.copyFrom(Tensor.of(new float[] {3, 4}, 2));
        w.zeroGrad();
        b.mul(w).sum().backward();
        assertArrayEquals(new float[] {3, 4}, w.grad().toArray(), TOL);
    }

    /** The refusal comes before any gradient is computed: no leaf is left with part of one (a later step would take half a step). */
    @Test void aRefusedBackwardLeavesNoGradientAnywhere() {
        Tensor b = Tensor.of(new float[] {1, 2}, 2);
        Tensor w1 = Tensor.of(new float[] {3}, 1).requiresGrad(true), w2 = Tensor.of(new float[] {4, 5}, 2).requiresGrad(true);
        Tensor loss = b.mul(w2).sum().mul(w1).sum();   // the node that read b is the last one the walk reaches
        try (var s = GradMode.noGrad()) { b.fill(9f); }
        assertThrows(IllegalStateException.class, loss::backward);
        assertNull(w1.grad(), "w1's gradient would have been computed before the walk reached b's node");
        assertNull(w2.grad());
    }

    /** The library's own advice for a parameter (noGrad) does not make a change between forward and backward safe. */
    @Test void aParameterChangedUnderNoGradBeforeBackwardIsRefused() {
        Tensor w = Tensor.of(new float[] {1, 2}, 2).requiresGrad(true);
        Tensor loss = w.mul(w).sum();
        try (var s = GradMode.noGrad()) { w.fill(0f); }
        IllegalStateException e = assertThrows(IllegalStateException.class, loss::backward);
        assertTrue(e.getMessage().contains("fill"), e.getMessage());
    }

    /** exp's backward reads its output: a write through detach() (same storage) is refused too. */
    @Test void anOutputChangedThroughDetachIsRefused() {
        Tensor v = Tensor.of(new float[] {1, 2}, 2).requiresGrad(true);
        Tensor h = v.exp();
        Tensor loss = h.mul(h).sum();
        h.detach().fill(0f);
        IllegalStateException e = assertThrows(IllegalStateException.class, loss::backward);
        assertTrue(e.getMessage().contains("fill"), e.getMessage());
        Tensor u = Tensor.of(new float[] {1, 2}, 2).requiresGrad(true);
        Tensor k = u.exp();
        k.mul(k).sum().backward();   // untouched: 2 exp(2u)
        assertArrayEquals(new float[] {(float) (2 * Math.exp(2)), (float) (2 * Math.exp(4))}, u.grad().toArray(), 1e-3f);
    }

    @Test void deepChainDoesNotOverflowTheStack() {
        Tensor x = Tensor.of(new float[] {1f}, 1).requiresGrad(true);
        Tensor y = x;
        for (int i = 0; i < 20_000; i++) y = y.add(0f);
        y.sum().backward();
        assertArrayEquals(new float[] {1f}, x.grad().toArray());
    }

    @Test void splitPiecesGetTheirGradientsBack() {
        Tensor x = Tensor.of(new float[] {1, 2, 3, 4, 5}, 5).requiresGrad(true);
        List<Tensor> parts = x.split(0, 2, 3);
        parts.get(0).mul(10f).sum().add(parts.get(1).mul(100f).sum()).backward();
        assertArrayEquals(new float[] {10, 10, 100, 100, 100}, x.grad().toArray(), TOL);
    }

    /**
     * Slices of one computed tensor add their gradients into its pending gradient in place (no zero-filled array per
     * slice): disjoint, overlapping and stepped slices, and a use of the whole tensor besides, each pass giving the exact
     * sum; then the same graph backpropagated twice (retainGraph), which must give it twice.
     */
    @Test void slicesAddIntoTheirInputsPendingGradient() {
        Rng rng = new Rng(41);
        Tensor leaf = Tensor.randn(rng, 2, 6).requiresGrad(true);
        Tensor w1 = Tensor.randn(rng, 2, 2), w2 = Tensor.randn(rng, 2, 3), w3 = Tensor.randn(rng, 2, 6), w4 = Tensor.randn(rng, 2, 3);
        Tensor x = leaf.mul(2f);   // computed: its gradient is pending while the slices' nodes run
        Tensor y = x.narrow(1, 0, 2).mul(w1).sum()
            .add(x.narrow(1, 1, 3).mul(w2).sum())              // overlaps the first
            .add(x.mul(w3).sum())                              // the whole tensor
            .add(x.slice(1, 0, 6, 2).mul(w4).sum());           // every other column
        float[] want = new float[12];
        float[] a = w1.toArray(), b = w2.toArray(), c = w3.toArray(), d = w4.toArray();
        for (int r = 0; r < 2; r++)
            for (int k = 0; k < 6; k++) {
                float g = c[r * 6 + k];
                if (k < 2) g += a[r * 2 + k];
                if (k >= 1 && k < 4) g += b[r * 3 + k - 1];
                if (k % 2 == 0) g += d[r * 3 + k / 2];
                want[r * 6 + k] = 2f * g;
            }
        y.backward(null, true);
        assertArrayEquals(want, leaf.grad().toArray(), 1e-5f);
        y.backward(null, false);
        float[] twice = want.clone();
        for (int k = 0; k < twice.length; k++) twice[k] *= 2f;
        assertArrayEquals(twice, leaf.grad().toArray(), 1e-5f);
    }

    /**
     * Stepped slices (every second and every third column) of one computed tensor, each reaching the walk while
     * another part's gradient is already pending: each adds into its own columns only. Both orders of the sum, so that
     * either slice is the one that finds a pending gradient; the expectation by index arithmetic.
     */
    @Test void steppedSlicesAddIntoTheirOwnColumns() {
        Rng rng = new Rng(43);
        Tensor w1 = Tensor.randn(rng, 2, 3), w2 = Tensor.randn(rng, 2, 3), w3 = Tensor.randn(rng, 2, 2);
        float[] a = w1.toArray(), b = w2.toArray(), c = w3.toArray();
        float[] want = new float[12];
        for (int r = 0; r < 2; r++)
            for (int k = 0; k < 6; k++) {
                float g = k % 2 == 0 ? a[r * 3 + k / 2] : b[r * 3 + k / 2];
                if (k % 3 == 1) g += c[r * 2 + k / 3];
                want[r * 6 + k] = 2f * g;
            }
        for (boolean reversed : new boolean[] {false, true}) {
            Tensor leaf = Tensor.randn(rng, 2, 6).requiresGrad(true);
            Tensor x = leaf.mul(2f);
            Tensor even = x.slice(1, 0, 6, 2).mul(w1).sum(), odd = x.slice(1, 1, 6, 2).mul(w2).sum(), third = x.slice(1, 1, 6, 3).mul(w3).sum();
            Tensor y = reversed ? third.add(odd).add(even) : even.add(odd).add(third);
            y.backward();
            assertArrayEquals(want, leaf.grad().toArray(), 1e-5f, reversed ? "reversed" : "in order");
        }
    }

    /**
     * Only the first slice of a tensor to reach the walk allocates an array of the tensor's shape: a tensor split into
     * three parts allocates in its backward as much as one split into one part (on the CPU, counted through the backend
     * profile's allocate calls), where each slice used to allocate its own zero-filled array.
     */
    @Test void onlyTheFirstSliceOfATensorAllocatesItsGradient() {
        java.util.function.IntToLongFunction allocationsWithParts = parts -> {
            Tensor leaf = Tensor.randn(new Rng(42), 4, 6).requiresGrad(true);
            Tensor x = leaf.mul(2f), y = null;
            for (int p = 0; p < parts; p++) {
                Tensor s = x.narrow(1, p * (6 / parts), 6 / parts).mul(1f + p).sum();
                y = y == null ? s : y.add(s);
            }
            org.pulmo.backend.ProfilingBackend profile = org.pulmo.backend.Backends.startCpuProfile(false);
            try {
                y.backward();
            } finally {
                org.pulmo.backend.Backends.stopCpuProfile();
            }
            return profile.entries().stream().filter(e -> e.method().equals("allocate")).mapToLong(org.pulmo.backend.ProfilingBackend.Entry::calls).sum();
        };
        long one = allocationsWithParts.applyAsLong(1), three = allocationsWithParts.applyAsLong(3);
        assertTrue(one >= 1, "the one slice allocates its gradient: " + one);
        assertEquals(one, three, "three slices of one tensor allocate no more than one");
    }

    /**
     * Two threads run backward through their own graphs on one shared leaf at the same time (a parameter shared by
     * two graphs): every contribution reaches its gradient. Without the leaf's lock, a read-add-write of one thread
     * lands between another's and its addition is lost (seen: 39,850 of 40,000).
     */
    @Test void backwardOnTwoThreadsIntoOneLeafLosesNoContribution() throws Exception {
        Tensor w = Tensor.of(new float[] {1, 2, 3, 4, 5, 6, 7, 8}, 8).requiresGrad(true);
        Tensor x = Tensor.of(new float[] {1, 2, 1, 2, 1, 2, 1, 2}, 8);
        int perThread = 20000;
        var pool = java.util.concurrent.Executors.newFixedThreadPool(2);
        try {
            var start = new java.util.concurrent.CountDownLatch(1);
            List<java.util.concurrent.Future<?>> done = new java.util.ArrayList<>();
            for (int t = 0; t < 2; t++)
                done.add(pool.submit(() -> {
                    start.await();
                    for (int i = 0; i < perThread; i++) w.mul(x).sum().backward();
                    return null;
                }));
            start.countDown();
            for (var f : done) f.get(120, java.util.concurrent.TimeUnit.SECONDS);
        } finally {
            pool.shutdownNow();
        }
        float[] expected = new float[8];
        for (int i = 0; i < 8; i++) expected[i] = 2 * perThread * x.toArray()[i];   // exact: integers below 2^24
        assertArrayEquals(expected, w.grad().toArray(), 0f);
    }
}
