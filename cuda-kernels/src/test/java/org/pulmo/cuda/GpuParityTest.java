package org.pulmo.cuda;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.pulmo.autograd.GradMode;
import org.pulmo.backend.Backend;
import org.pulmo.backend.Backends;
import org.pulmo.backend.BinaryOp;
import org.pulmo.backend.Pool2dParams;
import org.pulmo.backend.ReduceOp;
import org.pulmo.backend.UnaryOp;
import org.pulmo.ops.Convolution;
import org.pulmo.ops.FabFuse;
import org.pulmo.ops.Mab;
import org.pulmo.ops.SeScale;
import org.pulmo.ops.reference.Reference;
import org.pulmo.tensor.Device;
import org.pulmo.tensor.MemoryScope;
import org.pulmo.tensor.Rng;
import org.pulmo.tensor.Shapes;
import org.pulmo.tensor.Tensor;

/**
 * Every hand-written kernel against its plain-loop reference (the op pages' Mab, SeScale, FabFuse and Convolution,
 * and Reference for the kernels without a page) or the CPU backend on random inputs (never all zeros), strict FP32,
 * cuDNN's find-chosen convolutions against Convolution's reference, and cuDNN's batch norm and pooling against the
 * CPU backend.
 * Tolerances (|expected - actual| <= abs + rel |expected|): elementwise, copies and pooling 1e-6 abs + 1e-5 rel
 * (max pooling, fill, copy and gather exact); max and min reductions, argmax and argmin exact (inputs without
 * ties); sums, means, softmax and log-softmax, scatter-add, MAB, FAB, SE, CE, cosine, batch norm 1e-5 abs +
 * 1e-4 rel (float sums in a different order); SGEMM and convolutions 1e-4 abs + 1e-4 rel (weight gradients
 * 1e-3 abs).
 *
 * <p>Every block the caching allocator hands out during these tests is filled with NaN
 * ({@link CudaAllocator#poisonWithNaN}), so a kernel that leaves part of its output unwritten fails, and is a driver
 * allocation of exactly its tensor's bytes ({@link CudaAllocator#exactBlocks}), so a kernel that reads or writes past
 * its tensor leaves the allocation: compute-sanitizer's memcheck reports it on a GPU, the emulated GPU's guard bands
 * (src/test/emulator) fail the launch. Each
 * test collects its failing cases ({@link Mismatches}) and fails once with all of them. Strided inputs are
 * views made on the CPU tensor (checked non-contiguous) and the same views of the device copy. The kernel
 * tests above the cuDNN section need no cuDNN; those that call cuDNN also carry the tag "cudnn", so that a
 * staged run can put them in a JVM of their own. Skips with the probe's reason where no device is usable.
 */
@Tag("gpu")
class GpuParityTest {
    static CudaBackend be;
    private boolean poisoned, exact;

    // Assumed per test (not in @BeforeAll) so each test reports itself skipped with the reason.
    @BeforeEach void device() {
        String why = CudaRuntime.probe();
        Assumptions.assumeTrue(why == null, () -> "no usable GPU: " + why);
        if (be == null) {
            be = (CudaBackend) Backends.of(Device.cuda(0));
            be.setStrictFp32(true);
        }
        poisoned = be.runtime().allocator().poisoning();
        exact = be.runtime().allocator().exactBlocks();
        be.runtime().allocator().poisonWithNaN(true);
        be.runtime().allocator().exactBlocks(true);
    }

    @AfterEach void restorePoisoning() {
        if (be == null) return;
        be.runtime().allocator().poisonWithNaN(poisoned);
        be.runtime().allocator().exactBlocks(exact);
    }

    static Tensor dev(Tensor t) { return be.fromArray(t.toArray(), t.shape()); }

    /** A shuffled ramp of multiples of 1/8 (exact in float): no two values equal, so arg-reductions have no ties. */
    static Tensor distinct(Rng rng, int... shape) {
        int n = (int) Shapes.numel(shape);
        float[] v = new float[n];
        for (int i = 0; i < n; i++) v[i] = (i - n / 2) / 8f;
        for (int i = n - 1; i > 0; i--) {
            int j = rng.nextInt(i + 1);
            float t = v[i];
            v[i] = v[j];
            v[j] = t;
        }
        return Tensor.of(v, shape);
    }

    /** Random indices in [0, bound) as floats, the index form of gather and scatterAdd. */
    static Tensor indices(Rng rng, int bound, int... shape) {
        float[] v = new float[(int) Shapes.numel(shape)];
        for (int i = 0; i < v.length; i++) v[i] = rng.nextInt(bound);
        return Tensor.of(v, shape);
    }

    /**
     * Every MAB version, and the backward with the map constant (one launch path), over plane sizes that take each launch
     * path. The block per plane: 256 or 512 threads (hw >= 2048), and its shared-memory cache on or off (forward 2 hw
     * floats, backward 3 hw floats, cached up to 48 KiB): [2, 3, 7, 9] caches both; [2, 4, 56, 56] caches both with 512
     * threads; [1, 1, 64, 64] caches the forward and puts exactly 48 KiB into the backward's; [1, 1, 64, 96] exactly 48
     * KiB into the forward's and not the backward; [1, 2, 80, 80] and [1, 2, 112, 112] cache neither. The warp per plane
     * (up to 1024 values, FUSED's choice there): each register share K (2: up to 64 values, 8: up to 256, 32: up to
     * 1024) at and below its edges, MA-Net's 7x7, 14x14 and 28x28 planes, a plane of 9 (lanes with nothing to do), and
     * 9 planes of 7x7 (a last block of 4 warps with one plane).
     */
    @Test void mabVersionsMatchTheReference() {
        Mismatches m = new Mismatches("mabVersionsMatchTheReference");
        for (int[] s : List.of(new int[] {2, 3, 7, 9}, new int[] {2, 4, 56, 56}, new int[] {1, 2, 80, 80}, new int[] {1, 1, 64, 64},
                new int[] {1, 1, 64, 96}, new int[] {1, 2, 112, 112}, new int[] {3, 3, 7, 7}, new int[] {2, 8, 8, 8}, new int[] {2, 5, 14, 14},
                new int[] {1, 3, 16, 16}, new int[] {1, 6, 28, 28}, new int[] {1, 2, 32, 32}, new int[] {2, 3, 3, 3}, new int[] {1, 3, 17, 17})) {
            Rng rng = new Rng(21);
            Tensor a = Tensor.randn(rng, s), b = Tensor.randn(rng, s), g = Tensor.randn(rng, s);
            int planes = s[0] * s[1], hw = s[2] * s[3];
            String at = " " + Arrays.toString(s);
            float[][] ref = Mab.referenceForward(a.toArray(), b.toArray(), planes, hw);
            for (CudaBackend.MabVersion v : CudaBackend.MabVersion.values()) {
                if (v == CudaBackend.MabVersion.WARP && MabKernels.warpShare(hw) == 0) continue;   // planes over 1024 values
                m.run("MAB " + v + " forward" + at, () -> {
                    Backend.MabOut out = be.mabForward(dev(a), dev(b), v);
                    m.close(ref[0], out.fAm().toArray(), 1e-5, 1e-4, "MAB " + v + " forward" + at);
                    m.close(ref[1], out.lse().toArray(), 1e-5, 1e-4, "MAB " + v + " lse" + at);
                });
            }
            float[][] gr = Mab.referenceBackward(a.toArray(), b.toArray(), g.toArray(), planes, hw);
            for (CudaBackend.MabVersion v : List.of(CudaBackend.MabVersion.FUSED, CudaBackend.MabVersion.BLOCK, CudaBackend.MabVersion.WARP)) {
                if (v == CudaBackend.MabVersion.WARP && MabKernels.warpShare(hw) == 0) continue;
                m.run("MAB " + v + " backward" + at, () -> {
                    Backend.MabGrads d = be.mabBackward(dev(a), dev(b), dev(g), dev(Tensor.of(ref[1], s[0], s[1])), v);
                    m.close(gr[0], d.dFRei().toArray(), 1e-5, 1e-4, "MAB " + v + " da" + at);
                    m.close(gr[1], d.dFRem().toArray(), 1e-5, 1e-4, "MAB " + v + " db" + at);
                });
            }
            m.run("MAB constant-map backward" + at, () -> {
                float[] cr = Mab.referenceConstantMapBackward(a.toArray(), b.toArray(), g.toArray(), planes, hw);
                Tensor db = be.mabConstantMapBackward(dev(a), dev(b), dev(g), dev(Tensor.of(ref[1], s[0], s[1])));
                m.close(cr, db.toArray(), 1e-5, 1e-4, "MAB constant-map db" + at);
            });
        }
        m.assertNone();
    }

    @Test void seAndFabMatchTheReference() {
        Mismatches m = new Mismatches("seAndFabMatchTheReference");
        Rng rng = new Rng(22);
        int n = 2, c = 5, h = 6, w = 7, hw = h * w, planes = n * c;
        Tensor x = Tensor.randn(rng, n, c, h, w), x2 = Tensor.randn(rng, n, c, h, w), s = Tensor.rand(rng, 0f, 1f, n, c);
        Tensor z1 = Tensor.randn(rng, n, c), z2 = Tensor.randn(rng, n, c), g = Tensor.randn(rng, n, c, h, w);
        m.close(Reference.seSqueeze(x.toArray(), planes, hw), be.seSqueeze(dev(x)).toArray(), 1e-5, 1e-4, "SE squeeze");
        m.close(SeScale.referenceForward(x.toArray(), s.toArray(), hw), be.seScaleForward(dev(x), dev(s)).toArray(), 1e-6, 1e-5, "SE scale");
        float[][] sb = SeScale.referenceBackward(x.toArray(), s.toArray(), g.toArray(), hw);
        Backend.SeScaleGrads sbd = be.seScaleBackward(dev(x), dev(s), dev(g));
        m.close(sb[0], sbd.du().toArray(), 1e-6, 1e-5, "SE dx");
        m.close(sb[1], sbd.ds().toArray(), 1e-5, 1e-4, "SE ds");
        float[][] sq = Reference.fabSqueeze(x.toArray(), planes, hw);
        CudaBackend.FabSqueezeOut sqd = be.fabSqueeze(dev(x));
        Tensor[] sqParts = {sqd.avg(), sqd.max(), sqd.argmax()};
        for (int i = 0; i < 3; i++) m.close(sq[i], sqParts[i].toArray(), 1e-5, 1e-4, "FAB squeeze output " + i);
        m.close(Reference.fabSqueezeBackward(s.toArray(), z1.toArray(), sq[2], hw),
            be.fabSqueezeBackward(x.shape(), dev(s), dev(z1), sqd.argmax()).toArray(), 1e-6, 1e-5, "FAB squeeze backward");
        // planes of -inf and of one repeated value (3 x 3 and 9 x 9: threads with nothing to read, and several warps):
        // the max is the plane's value and its index the first
        for (int side : new int[] {3, 9}) {
            float[] flat = new float[2 * side * side];
            java.util.Arrays.fill(flat, 0, side * side, Float.NEGATIVE_INFINITY);
            java.util.Arrays.fill(flat, side * side, flat.length, 0.5f);
            float[][] fr = Reference.fabSqueeze(flat, 2, side * side);
            CudaBackend.FabSqueezeOut fd = be.fabSqueeze(dev(Tensor.of(flat, 1, 2, side, side)));
            m.close(fr[1], fd.max().toArray(), 0, 0, "FAB squeeze max of a -inf plane and a constant plane, " + side + " x " + side);
            m.close(fr[2], fd.argmax().toArray(), 0, 0, "FAB squeeze argmax of a -inf plane and a constant plane, " + side + " x " + side);
        }
        m.close(FabFuse.referenceForward(x.toArray(), x2.toArray(), z1.toArray(), z2.toArray(), hw),
            be.fabFuseForward(dev(x), dev(x2), dev(z1), dev(z2)).toArray(), 1e-6, 1e-5, "FAB fuse");
        float[][] fb = FabFuse.referenceBackward(x.toArray(), x2.toArray(), z1.toArray(), z2.toArray(), g.toArray(), hw);
        Backend.FabGrads fbd = be.fabFuseBackward(dev(x), dev(x2), dev(z1), dev(z2), dev(g));
        Tensor[] fbParts = {fbd.dFAm(), fbd.dFRem(), fbd.dM(), fbd.dN()};
        for (int i = 0; i < 4; i++) m.close(fb[i], fbParts[i].toArray(), 1e-5, 1e-4, "FAB fuse backward output " + i);
        m.assertNone();
    }

    @Test void crossEntropyAndCosineMatchTheReference() {
        Mismatches m = new Mismatches("crossEntropyAndCosineMatchTheReference");
        Rng rng = new Rng(23);
        int n = 37, c = 3;
        Tensor x = Tensor.randn(rng, n, c);
        float[] labels = new float[n];
        for (int i = 0; i < n; i++) labels[i] = i % c;
        float[] w = {0.7f, 1.3f, 2f};
        float[] ref = Reference.crossEntropy(x.toArray(), labels, w, n, c);
        Backend.CrossEntropyOut out = be.crossEntropy(dev(x), be.fromArray(labels, new int[] {n}), be.fromArray(w, new int[] {c}));
        m.close(new float[] {ref[0], ref[1]}, new float[] {out.loss().toArray()[0], out.wsum().toArray()[0]}, 1e-5, 1e-4, "CE loss, wsum");
        Tensor dx = be.crossEntropyBackward(dev(x), be.fromArray(labels, new int[] {n}), be.fromArray(w, new int[] {c}), out.wsum(),
            be.fromArray(new float[] {1f}, new int[0]));
        m.close(Reference.crossEntropyBackward(x.toArray(), labels, w, n, c, 1f), dx.toArray(), 1e-6, 1e-4, "CE dx");

        Tensor a = Tensor.randn(rng, 4, 3, 5, 5), b = Tensor.randn(rng, 4, 3, 5, 5);
        Backend.CosineOut cs = be.cosine(dev(a), dev(b), 1e-8f);
        m.close(new float[] {Reference.cosine(a.toArray(), b.toArray(), 4, 75, 1e-8f)}, cs.c().toArray(), 1e-5, 1e-4, "cosine");
        Backend.Grads cg = be.cosineBackward(dev(a), dev(b), cs.stats(), be.fromArray(new float[] {1f}, new int[0]), 1e-8f);
        float[][] cr = Reference.cosineBackward(a.toArray(), b.toArray(), 4, 75, 1e-8f, 1f);
        m.close(cr[0], cg.dA().toArray(), 1e-6, 1e-4, "cosine da");
        m.close(cr[1], cg.dB().toArray(), 1e-6, 1e-4, "cosine db");
        m.assertNone();
    }

    /**
     * Cross-entropy with random labels (not the row's index modulo the classes, so a kernel that takes a row's class from
     * its position, not its label, fails), with and without class weights, on 37 and 17 rows of 5 classes and on 300 rows (more
     * than ce_finish's block of 256) of 40 classes (more than a warp's lanes); and the cosine similarity with its eps clamp active: eps
     * 0.05 and rows of a and b of zero norm and of norm below eps (there the norm is held at eps, a constant, so the
     * backward drops the norm's derivative), beside rows well above it.
     */
    @Test void crossEntropyLabelsAndCosineClampMatchTheReference() {
        Mismatches m = new Mismatches("crossEntropyLabelsAndCosineClampMatchTheReference");
        Rng rng = new Rng(43);
        // 17 rows: the last alone in its block (8 rows a block); more rows than ce_finish's block, more classes than a warp
        for (int[] nc : new int[][] {{37, 5}, {17, 5}, {300, 40}}) {
            int n = nc[0], c = nc[1];
            Tensor x = Tensor.randn(rng, n, c).mul(2f);
            float[] labels = indices(rng, c, n).toArray(), w = Tensor.rand(rng, 0.5f, 2f, c).toArray();
            int own = 0;
            for (int i = 0; i < n; i++) if (labels[i] != i % c) own++;
            m.check(own > n / 2, "most labels differ from the row index modulo the classes (" + own + " of " + n + ")");
            for (float[] weights : java.util.Arrays.asList(w, null)) {
                String at = " [" + n + ", " + c + "]" + (weights == null ? " without weights" : " with class weights");
                float[] ref = Reference.crossEntropy(x.toArray(), labels, weights, n, c);
                Tensor wd = weights == null ? null : be.fromArray(weights, new int[] {c});
                Backend.CrossEntropyOut out = be.crossEntropy(dev(x), be.fromArray(labels, new int[] {n}), wd);
                m.close(new float[] {ref[0], ref[1]}, new float[] {out.loss().toArray()[0], out.wsum().toArray()[0]}, 1e-5, 1e-4, "CE loss, wsum" + at);
                Tensor dx = be.crossEntropyBackward(dev(x), be.fromArray(labels, new int[] {n}), wd, out.wsum(),
                    be.fromArray(new float[] {0.7f}, new int[0]));
                m.close(Reference.crossEntropyBackward(x.toArray(), labels, weights, n, c, 0.7f), dx.toArray(), 1e-6, 1e-4, "CE dx" + at);
            }
        }
        // logits near 1e5 (a saturated network's): the row's loss is (m - x_y) + log s, m - x_y exact; m + log s - x_y rounded
        // log s to the spacing of 1e5 (0.008), a loss off by 1e-3 (and MA-Net's adaptive weights with it)
        Tensor big = Tensor.randn(rng, 37, 5).mul(2f).add(1e5f);
        float[] bigLabels = indices(rng, 5, 37).toArray();
        float[] bigRef = Reference.crossEntropy(big.toArray(), bigLabels, null, 37, 5);
        m.close(new float[] {bigRef[0]}, new float[] {be.crossEntropy(dev(big), be.fromArray(bigLabels, new int[] {37}), null).loss().toArray()[0]},
            1e-5, 1e-5, "CE loss of logits near 1e5");

        int rows = 5, d = 75;
        float eps = 0.05f;
        float[] a = Tensor.randn(rng, rows, 3, 5, 5).toArray(), b = Tensor.randn(rng, rows, 3, 5, 5).toArray();
        for (int i = 0; i < d; i++) {
            a[i] = 0f;                 // row 0 of a: zero
            a[d + i] *= 1e-3f;         // row 1 of a: norm about 0.009, below eps
            b[2 * d + i] *= 2e-3f;     // row 2 of b: below eps
        }
        Tensor at = Tensor.of(a, rows, 3, 5, 5), bt = Tensor.of(b, rows, 3, 5, 5);
        Backend.CosineOut cs = be.cosine(dev(at), dev(bt), eps);
        m.close(new float[] {Reference.cosine(a, b, rows, d, eps)}, cs.c().toArray(), 1e-5, 1e-4, "cosine, eps 0.05 clamping three rows");
        Backend.Grads cg = be.cosineBackward(dev(at), dev(bt), cs.stats(), be.fromArray(new float[] {1f}, new int[0]), eps);
        float[][] cr = Reference.cosineBackward(a, b, rows, d, eps, 1f);
        m.close(cr[0], cg.dA().toArray(), 1e-6, 1e-4, "cosine da, eps 0.05 clamping three rows");
        m.close(cr[1], cg.dB().toArray(), 1e-6, 1e-4, "cosine db, eps 0.05 clamping three rows");
        m.assertNone();
    }

    @Test void fusedSgdMatchesTheReferenceOverSeveralSteps() {
        Mismatches m = new Mismatches("fusedSgdMatchesTheReferenceOverSeveralSteps");
        Rng rng = new Rng(24);
        int[][] shapes = {{70000}, {3, 5}, {130001}};
        Tensor[] p = new Tensor[shapes.length];
        float[][] host = new float[shapes.length][], buf = new float[shapes.length][];
        float[] wd = {0.1f, 0f, 5e-4f};
        for (int i = 0; i < shapes.length; i++) {
            Tensor t = Tensor.randn(rng, shapes[i]);
            host[i] = t.toArray();
            buf[i] = new float[host[i].length];
            p[i] = dev(t);
        }
        try (FusedSgd sgd = new FusedSgd(be, List.of(p), wd, 0.05f, 0.9f, 0f, true)) {
            for (int step = 0; step < 3; step++) {
                for (int i = 0; i < p.length; i++) {
                    Tensor g = Tensor.randn(rng, shapes[i]);
                    p[i].setGrad(dev(g));
                    Reference.sgdStep(host[i], g.toArray(), buf[i], 0.05f, 0.9f, 0f, true, wd[i], step == 0);
                }
                sgd.step();
            }
            for (int i = 0; i < p.length; i++) m.close(host[i], p[i].toArray(), 1e-6, 1e-5, "SGD parameter " + i);
        }
        m.assertNone();
    }

    /**
     * Outputs that skip the zero fill (allocateForOverwrite: a concatenation, a contiguous copy) are written whole:
     * with every block NaN-poisoned, a concatenation of strided parts along dims 0, 1 and 3 and the copy of a transposed
     * view equal the CPU's bit for bit.
     */
    @Test void concatenationAndCopyWriteEveryElementOfTheirUnfilledOutput() {
        Mismatches m = new Mismatches("concatenationAndCopyWriteEveryElementOfTheirUnfilledOutput");
        Rng rng = new Rng(26);
        Tensor a = Tensor.randn(rng, 2, 3, 5, 4), b0 = Tensor.randn(rng, 2, 3, 4, 5), c = Tensor.randn(rng, 2, 3, 5, 4);
        for (int dim : new int[] {0, 1, 3}) {
            Tensor want = Tensor.cat(dim, a, b0.transpose(2, 3), c);
            Tensor got = Tensor.cat(dim, dev(a), dev(b0).transpose(2, 3), dev(c));   // the middle part strided on both
            m.close(want.toArray(), got.toArray(), 0, 0, "cat along dim " + dim);
        }
        Tensor base = Tensor.randn(rng, 4, 6);
        m.close(base.transpose(0, 1).copy().toArray(), dev(base).transpose(0, 1).copy().toArray(), 0, 0, "copy of a transposed view");
        m.assertNone();
    }

    /** A device view of a one-dimensional t's values at every other element of a buffer twice its size (strided). */
    private static Tensor everyOther(Tensor t) {
        float[] v = t.toArray(), twice = new float[2 * v.length];
        for (int i = 0; i < v.length; i++) twice[2 * i] = v[i];
        Tensor d = be.fromArray(twice, new int[] {twice.length}).slice(0, 0, twice.length, 2);
        assertFalse(d.isContiguous(), "the view is strided");
        return d;
    }

    /**
     * nn's Sgd path: {@link CudaBackend#sgdUpdateAll} over parameters of which some take their first step and others
     * not (two launches), one strided parameter and one strided gradient (their own launches), dampening and weight decay, against the reference
     * rule over three steps; and without momentum. Gradients change address every step, the tables do not.
     */
    @Test void sgdUpdateAllMatchesTheReferenceWithMixedFirstSteps() {
        Mismatches m = new Mismatches("sgdUpdateAllMatchesTheReferenceWithMixedFirstSteps");
        for (float momentum : new float[] {0.9f, 0f}) {
            Rng rng = new Rng(25);
            int[][] shapes = {{70000}, {3, 5}, {130001}, {4, 6}};
            int k = shapes.length;
            float[] wd = {1e-4f, 0f, 5e-4f, 1e-3f};
            List<Tensor> p = new ArrayList<>(), bufs = new ArrayList<>();
            float[][] host = new float[k][], buf = new float[k][];
            for (int i = 0; i < k; i++) {
                Tensor t = Tensor.randn(rng, shapes[i]);
                host[i] = t.toArray();
                buf[i] = new float[host[i].length];
                p.add(i == 3 ? dev(t.transpose(0, 1).contiguous()).transpose(0, 1) : dev(t));   // [4, 6] viewed with strides
                bufs.add(momentum == 0f ? null : be.fromArray(new float[host[i].length], shapes[i]));
            }
            for (int step = 0; step < 3; step++) {
                List<Tensor> g = new ArrayList<>();
                boolean[] first = new boolean[k];
                for (int i = 0; i < k; i++) {
                    Tensor gi = Tensor.randn(rng, shapes[i]);
                    g.add(i == 0 ? everyOther(gi) : dev(gi));   // parameter 0's gradient a strided view (its own launch)
                    first[i] = step == (i == 1 ? 1 : 0);   // parameter 1 starts a step late: mixed first steps at step 1
                    if (step == 0 && i == 1) continue;      // no update of parameter 1 at step 0
                    Reference.sgdStep(host[i], gi.toArray(), buf[i], 0.05f, momentum, 0.1f, false, wd[i], first[i]);
                }
                List<Integer> live = new ArrayList<>();
                for (int i = 0; i < k; i++) if (!(step == 0 && i == 1)) live.add(i);
                be.sgdUpdateAll(live.stream().map(p::get).toList(), live.stream().map(g::get).toList(),
                    live.stream().map(i -> bufs.get(i)).collect(java.util.stream.Collectors.toList()), toBooleans(live, first),
                    0.05f, momentum, 0.1f, toFloats(live, wd), false);
            }
            for (int i = 0; i < k; i++)
                m.close(host[i], p.get(i).contiguous().toArray(), 1e-6, 1e-5, "momentum " + momentum + ", parameter " + i);
            List<Tensor> g2 = new ArrayList<>();
            for (int i = 0; i < k; i++) g2.add(dev(Tensor.randn(rng, shapes[i])));
            be.sgdUpdateAll(p, g2, bufs, new boolean[k], 0.05f, momentum, 0.1f, wd, false);   // this parameter set's table
            long uploads = be.sgdTableUploads();
            List<Tensor> g3 = new ArrayList<>();
            for (int i = 0; i < k; i++) g3.add(dev(Tensor.randn(rng, shapes[i])));   // new gradients at new addresses
            be.sgdUpdateAll(p, g3, bufs, new boolean[k], 0.05f, momentum, 0.1f, wd, false);
            long made = be.sgdTableUploads() - uploads;
            m.check(made == 0, "momentum " + momentum + ": new gradient tensors made " + made + " table uploads; tables must not depend on them");
        }
        m.assertNone();
    }

    private static boolean[] toBooleans(List<Integer> idx, boolean[] all) {
        boolean[] out = new boolean[idx.size()];
        for (int j = 0; j < out.length; j++) out[j] = all[idx.get(j)];
        return out;
    }

    private static float[] toFloats(List<Integer> idx, float[] all) {
        float[] out = new float[idx.size()];
        for (int j = 0; j < out.length; j++) out[j] = all[idx.get(j)];
        return out;
    }

    /** The fused ops through the Backend interface (what the op pages Mab, SeScale and FabFuse call) against their references. */
    @Test void backendFusedOpsMatchTheReference() {
        Mismatches m = new Mismatches("backendFusedOpsMatchTheReference");
        for (int[] s : List.of(new int[] {2, 3, 7, 9}, new int[] {2, 8, 56, 56}, new int[] {2, 16, 7, 7})) {
            Rng rng = new Rng(27);
            Tensor a = Tensor.randn(rng, s), b = Tensor.randn(rng, s), g = Tensor.randn(rng, s);
            Tensor z1 = Tensor.randn(rng, s[0], s[1]), z2 = Tensor.randn(rng, s[0], s[1]);
            float[] av = a.toArray(), bv = b.toArray(), gv = g.toArray(), z1v = z1.toArray(), z2v = z2.toArray();
            int planes = s[0] * s[1], hw = s[2] * s[3];
            String at = " " + Arrays.toString(s);
            float[][] mr = Mab.referenceForward(av, bv, planes, hw);
            Backend.MabOut mg = be.mabForward(dev(a), dev(b));
            m.close(mr[0], mg.fAm().toArray(), 1e-5, 1e-4, "mabForward" + at);
            m.close(mr[1], mg.lse().toArray(), 1e-5, 1e-4, "mabForward lse" + at);
            float[][] mbr = Mab.referenceBackward(av, bv, gv, planes, hw);
            Backend.MabGrads mbg = be.mabBackward(dev(a), dev(b), dev(g), mg.lse());
            m.close(mbr[0], mbg.dFRei().toArray(), 1e-5, 1e-4, "mabBackward dF_rei" + at);
            m.close(mbr[1], mbg.dFRem().toArray(), 1e-5, 1e-4, "mabBackward dF_rem" + at);
            m.close(SeScale.referenceForward(av, z1v, hw), be.seScaleForward(dev(a), dev(z1)).toArray(), 1e-6, 1e-5, "seScaleForward" + at);
            float[][] sr = SeScale.referenceBackward(av, z1v, gv, hw);
            Backend.SeScaleGrads sg = be.seScaleBackward(dev(a), dev(z1), dev(g));
            m.close(sr[0], sg.du().toArray(), 1e-6, 1e-5, "seScaleBackward du" + at);
            m.close(sr[1], sg.ds().toArray(), 1e-5, 1e-4, "seScaleBackward ds" + at);
            m.close(FabFuse.referenceForward(av, bv, z1v, z2v, hw), be.fabFuseForward(dev(a), dev(b), dev(z1), dev(z2)).toArray(), 1e-6, 1e-5,
                "fabFuseForward" + at);
            float[][] fr = FabFuse.referenceBackward(av, bv, z1v, z2v, gv, hw);
            Backend.FabGrads fg = be.fabFuseBackward(dev(a), dev(b), dev(z1), dev(z2), dev(g));
            Tensor[] fgParts = {fg.dFAm(), fg.dFRem(), fg.dM(), fg.dN()};
            for (int i = 0; i < 4; i++) m.close(fr[i], fgParts[i].toArray(), 1e-5, 1e-4, "fabFuseBackward output " + i + at);
        }
        m.assertNone();
    }

    /**
     * The op pages' ops on device tensors with autograd against their references: forward and gradients. F_rem and
     * seScale's u are transposed views (strided on the device, built from the same host values), so the backend's
     * dense copies and the gradients of strided leaves are exercised; the references take the views' values in
     * row-major order of their shapes.
     */
    @Test void attentionOpsWithAutogradMatchTheReference() {
        Mismatches m = new Mismatches("attentionOpsWithAutogradMatchTheReference");
        Rng rng = new Rng(28);
        Tensor a = Tensor.randn(rng, 2, 4, 6, 5), bh = Tensor.randn(rng, 2, 4, 5, 6), g = Tensor.randn(rng, 2, 4, 6, 5);
        Tensor ag = dev(a).requiresGrad(true), bg = dev(bh).transpose(2, 3).requiresGrad(true);
        assertFalse(bg.isContiguous(), "F_rem [2, 4, 6, 5] is a transposed view");
        float[] av = a.toArray(), bv = bh.transpose(2, 3).toArray(), gv = g.toArray();
        Tensor yg = Mab.mab(ag, bg);
        yg.backward(dev(g));
        float[][] ref = Mab.referenceForward(av, bv, 8, 30), grads = Mab.referenceBackward(av, bv, gv, 8, 30);
        m.close(ref[0], yg.toArray(), 1e-5, 1e-4, "Mab.mab [2, 4, 6, 5], F_rem transposed");
        m.close(grads[0], ag.grad().toArray(), 1e-5, 1e-4, "Mab.mab dF_rei");
        m.close(grads[1], bg.grad().toArray(), 1e-5, 1e-4, "Mab.mab dF_rem");
        try (var ignored = GradMode.noGrad()) {
            Tensor uh = Tensor.randn(rng, 2, 4, 5, 6), s = Tensor.randn(rng, 2, 4);
            Tensor u = dev(uh).transpose(2, 3);
            assertFalse(u.isContiguous(), "seScale's u [2, 4, 6, 5] is a transposed view");
            m.close(SeScale.referenceForward(uh.transpose(2, 3).toArray(), s.toArray(), 30), SeScale.seScale(u, dev(s)).toArray(), 1e-6, 1e-5,
                "SeScale.seScale [2, 4, 6, 5], u transposed");
        }
        m.assertNone();
    }

    /** ops.Objectives (what nn's Losses call) on device tensors: loss and gradients equal the CPU's. */
    @Test void objectivesWithAutogradMatchTheCpu() {
        Mismatches m = new Mismatches("objectivesWithAutogradMatchTheCpu");
        Rng rng = new Rng(30);
        Tensor x = Tensor.randn(rng, 37, 3), labels = Tensor.of(new float[37], 37), w = Tensor.of(new float[] {0.7f, 1.3f, 2f}, 3);
        for (int i = 0; i < 37; i++) labels.set(i % 3, i);
        Tensor xc = x.detach().requiresGrad(true), xg = dev(x).requiresGrad(true);
        Tensor lc = org.pulmo.ops.Objectives.crossEntropy(xc, labels, w), lg = org.pulmo.ops.Objectives.crossEntropy(xg, dev(labels), dev(w));
        lc.backward();
        lg.backward();
        m.close(lc.toArray(), lg.toArray(), 1e-5, 1e-4, "Objectives.crossEntropy");
        m.close(xc.grad().toArray(), xg.grad().toArray(), 1e-6, 1e-4, "Objectives.crossEntropy dx");
        Tensor a = Tensor.randn(rng, 4, 8, 7, 7), b = Tensor.randn(rng, 4, 8, 7, 7);
        Tensor ac = a.detach().requiresGrad(true), ag = dev(a).requiresGrad(true);
        Tensor cc = org.pulmo.ops.Objectives.cosineSimilarity(ac, b, 1e-8f), cg = org.pulmo.ops.Objectives.cosineSimilarity(ag, dev(b), 1e-8f);
        cc.backward();
        cg.backward();
        m.close(cc.toArray(), cg.toArray(), 1e-5, 1e-4, "Objectives.cosineSimilarity");
        m.close(ac.grad().toArray(), ag.grad().toArray(), 1e-6, 1e-4, "Objectives.cosineSimilarity da");
        m.assertNone();
    }

    @Test void sgdUpdateMatchesTheCpuBackend() {
        Mismatches m = new Mismatches("sgdUpdateMatchesTheCpuBackend");
        Rng rng = new Rng(29);
        for (boolean nesterov : new boolean[] {false, true})
            for (float momentum : new float[] {0f, 0.9f}) {
                Tensor p = Tensor.randn(rng, 3, 70001), buf = Tensor.zeros(3, 70001);
                Tensor pg = dev(p), bufg = be.fromArray(new float[3 * 70001], new int[] {3, 70001});
                for (int step = 0; step < 3; step++) {
                    Tensor g = Tensor.randn(rng, 3, 70001);
                    Backends.cpu().sgdUpdate(p, g, momentum == 0 ? null : buf, step == 0, 0.05f, momentum, 0.1f, 5e-4f, nesterov && momentum != 0);
                    be.sgdUpdate(pg, dev(g), momentum == 0 ? null : bufg, step == 0, 0.05f, momentum, 0.1f, 5e-4f, nesterov && momentum != 0);
                }
                m.close(p.toArray(), pg.toArray(), 1e-6, 1e-5, "sgdUpdate momentum " + momentum + " nesterov " + nesterov);
                if (momentum != 0) m.close(buf.toArray(), bufg.toArray(), 1e-6, 1e-5, "sgdUpdate buffer");
            }
        m.assertNone();
    }

    @Test void sgemmKernelsMatchTheCpu() {
        Mismatches mis = new Mismatches("sgemmKernelsMatchTheCpu");
        Rng rng = new Rng(25);
        for (boolean ta : new boolean[] {false, true})
            for (boolean tb : new boolean[] {false, true}) {
                int m = 67, n = 45, k = 131;
                Tensor a = Tensor.randn(rng, 2, ta ? k : m, ta ? m : k), b = Tensor.randn(rng, 2, tb ? n : k, tb ? k : n);
                float[] cpu = Backends.cpu().matmul(a, b, ta, tb).toArray();
                Tensor c = be.empty(2, m, n);
                be.gemm().sgemmNaive(ta, tb, m, n, k, 2, CudaBackend.ptr(dev(a)), CudaBackend.ptr(dev(b)), CudaBackend.ptr(c));
                mis.close(cpu, c.toArray(), 1e-4, 1e-4, "sgemm_naive " + ta + tb);
                boolean was = be.gemm().usingCublas();
                be.gemm().forceKernel(true);
                mis.close(cpu, be.matmul(dev(a), dev(b), ta, tb).toArray(), 1e-4, 1e-4, "sgemm_tiled " + ta + tb);
                be.gemm().forceKernel(false);
                if (was) mis.close(cpu, be.matmul(dev(a), dev(b), ta, tb).toArray(), 1e-4, 1e-4, "cuBLAS " + ta + tb);
            }
        // two batch dims: [2, 3] matrices of each operand, all six multiplied
        Tensor a4 = Tensor.randn(rng, 2, 3, 9, 7), b4 = Tensor.randn(rng, 2, 3, 7, 5);
        mis.close(Backends.cpu().matmul(a4, b4, false, false).toArray(), be.matmul(dev(a4), dev(b4), false, false).toArray(), 1e-5, 1e-4,
            "matmul [2, 3, 9, 7] x [2, 3, 7, 5]");
        mis.assertNone();
    }

    /**
     * An empty batch launches nothing: the kernels that take a block per plane or row would get a grid of zero blocks,
     * which the driver refuses. Each gives its empty outputs, of the shapes the CPU gives.
     */
    @Test void emptyBatchesLaunchNothing() {
        Backend cpu = Tensor.zeros(1).backend();
        Tensor x = Tensor.zeros(0, 5, 6, 7), s = Tensor.zeros(0, 5), z = Tensor.zeros(0, 5);
        assertArrayEquals(new int[] {0, 5}, be.seSqueeze(dev(x)).shape(), "SE squeeze");
        assertArrayEquals(cpu.seScaleForward(x, s).shape(), be.seScaleForward(dev(x), dev(s)).shape(), "SE scale");
        Backend.SeScaleGrads sg = be.seScaleBackward(dev(x), dev(s), dev(x));
        assertArrayEquals(new int[] {0, 5, 6, 7}, sg.du().shape(), "SE dx");
        assertArrayEquals(new int[] {0, 5}, sg.ds().shape(), "SE ds");
        CudaBackend.FabSqueezeOut f = be.fabSqueeze(dev(x));
        assertArrayEquals(new int[] {0, 5}, f.avg().shape(), "FAB squeeze");
        assertArrayEquals(cpu.fabFuseForward(x, x, z, z).shape(), be.fabFuseForward(dev(x), dev(x), dev(z), dev(z)).shape(), "FAB fuse");
        Backend.FabGrads fg = be.fabFuseBackward(dev(x), dev(x), dev(z), dev(z), dev(x));
        assertArrayEquals(new int[] {0, 5}, fg.dM().shape(), "FAB fuse backward");
        assertArrayEquals(cpu.mabForward(x, x).fAm().shape(), be.mabForward(dev(x), dev(x)).fAm().shape(), "MAB");
        // the reference SGEMM kernel's 2-D launch: an empty batch launches nothing (the driver refuses a zero extent), a
        // batch past the grid's z limit is refused naming the kernel
        Tensor c = dev(Tensor.zeros(4, 4)), a = dev(Tensor.ones(4, 4));
        long before = be.runtime().counters().launches();
        be.gemm().sgemmNaive(false, false, 4, 4, 4, 0, CudaBackend.ptr(a), CudaBackend.ptr(a), CudaBackend.ptr(c));
        org.junit.jupiter.api.Assertions.assertEquals(before, be.runtime().counters().launches(), "an empty batch launched a kernel");
        IllegalArgumentException e = org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
            () -> be.gemm().sgemmNaive(false, false, 4, 4, 4, 70000, CudaBackend.ptr(a), CudaBackend.ptr(a), CudaBackend.ptr(c)));
        org.junit.jupiter.api.Assertions.assertTrue(e.getMessage().contains("sgemm_naive") && e.getMessage().contains("65535"), e.getMessage());
    }

    /**
     * The tiled kernel's grid has at most 65535 matrices (z) and 65535 64-row tiles (y): beyond, it goes in slices. Here
     * the limit is lowered to 1, so that every matrix and every 64 rows is a slice of its own, in all transpose modes.
     */
    @Test void sgemmKernelSlicesItsGridBeyondTheLimit() {
        Mismatches mis = new Mismatches("sgemmKernelSlicesItsGridBeyondTheLimit");
        Rng rng = new Rng(26);
        int limit = Gemm.maxGridYZ;
        be.gemm().forceKernel(true);
        try {
            Gemm.maxGridYZ = 1;
            for (boolean ta : new boolean[] {false, true})
                for (boolean tb : new boolean[] {false, true}) {
                    int m = 150, n = 37, k = 29;
                    Tensor a = Tensor.randn(rng, 3, ta ? k : m, ta ? m : k), b = Tensor.randn(rng, 3, tb ? n : k, tb ? k : n);
                    mis.close(Backends.cpu().matmul(a, b, ta, tb).toArray(), be.matmul(dev(a), dev(b), ta, tb).toArray(), 1e-4, 1e-4,
                        "sgemm_tiled in slices " + ta + tb);
                }
        } finally {
            Gemm.maxGridYZ = limit;
            be.gemm().forceKernel(false);
        }
        mis.assertNone();
    }

    /**
     * A product over an inner dim of size 0 is an empty sum, all zeros (the output's poisoned block must be filled), in
     * all four transpose modes. (The CPU backend's matmul divides by the empty matrix's size there, so the expected
     * zeros are the definition's.)
     */
    @Test void matmulOverAnEmptyInnerDimIsZero() {
        Mismatches m = new Mismatches("matmulOverAnEmptyInnerDimIsZero");
        Rng rng = new Rng(47);
        for (boolean ta : new boolean[] {false, true})
            for (boolean tb : new boolean[] {false, true}) {
                Tensor a = Tensor.randn(rng, 2, ta ? 0 : 3, ta ? 3 : 0), b = Tensor.randn(rng, 2, tb ? 4 : 0, tb ? 0 : 4);
                m.close(Tensor.zeros(2, 3, 4), be.matmul(dev(a), dev(b), ta, tb), 0, 0, "matmul [2, 3, 0] x [2, 0, 4] " + ta + tb);
            }
        m.assertNone();
    }

    /**
     * ew_unary, ew_binary, ew_copy(_contiguous), ew_fill, ew_add_scalar and ew_axpy on strided views: each view is made on the
     * CPU tensor and the same view on the device copy of the same host values, so the expected values never
     * come from the device. Permuted inputs, a broadcast operand that is itself permuted, a stepped slice with
     * an offset, and strided destinations for the in-place ops.
     */
    @Test void elementwiseOnStridedViewsMatchesTheCpu() {
        Mismatches m = new Mismatches("elementwiseOnStridedViewsMatchesTheCpu");
        Backend cpu = Backends.cpu();
        Rng rng = new Rng(26);
        Tensor xh = Tensor.rand(rng, 0.1f, 2f, 3, 4, 5), bh = Tensor.randn(rng, 4, 1, 5);
        Tensor xhd = dev(xh), bhd = dev(bh);
        Tensor x = xh.permute(2, 0, 1), xd = xhd.permute(2, 0, 1);                 // [5, 3, 4], strides (1, 20, 5)
        Tensor bias = bh.permute(2, 1, 0), biasd = bhd.permute(2, 1, 0);           // [5, 1, 4], broadcast over dim 1
        Tensor sl = xh.slice(2, 1, 5, 2), sld = xhd.slice(2, 1, 5, 2);             // [3, 4, 2], offset 1, stride 2
        assertFalse(x.isContiguous() || bias.isContiguous() || sl.isContiguous(), "the views are strided");
        // and of both signs (x above is positive for LOG, SQRT and POW; on it ReLU, STEP, SIGN and ABS are trivial)
        Tensor sh = Tensor.randn(rng, 3, 4, 5), s = sh.permute(2, 0, 1), sd = dev(sh).permute(2, 0, 1);
        for (UnaryOp op : UnaryOp.values()) {
            m.close(cpu.unary(op, x, 1.5f), be.unary(op, xd, 1.5f), 1e-6, 1e-5, "unary " + op + " [5, 3, 4] permuted");
            m.close(cpu.unary(op, sl, 1.5f), be.unary(op, sld, 1.5f), 1e-6, 1e-5, "unary " + op + " [3, 4, 2] sliced");
            if (op != UnaryOp.LOG && op != UnaryOp.SQRT && op != UnaryOp.POW && op != UnaryOp.RECIPROCAL)
                m.close(cpu.unary(op, s, 1.5f), be.unary(op, sd, 1.5f), 1e-6, 1e-5, "unary " + op + " [5, 3, 4] permuted, both signs");
        }
        for (BinaryOp op : BinaryOp.values()) {
            m.close(cpu.binary(op, x, bias), be.binary(op, xd, biasd), 1e-6, 1e-5, "binary " + op + " [5, 3, 4] permuted, [5, 1, 4] permuted");
            m.close(cpu.binary(op, bias, x), be.binary(op, biasd, xd), 1e-6, 1e-5, "binary " + op + " [5, 1, 4] permuted, [5, 3, 4] permuted");
        }
        // The residual sum and its ReLU in one kernel: strided operands of one shape, and a contiguous pair of a
        // ResNet stage's size (many blocks, the grid-stride loop)
        Tensor yh = Tensor.randn(rng, 4, 5, 3), yhd = dev(yh);
        Tensor y = yh.permute(1, 2, 0), yd = yhd.permute(1, 2, 0);                 // [5, 3, 4], strides (3, 1, 15)
        m.close(cpu.addRelu(x, y), be.addRelu(xd, yd), 0, 0, "addRelu [5, 3, 4] permuted + [5, 3, 4] permuted otherwise");
        Tensor two = Tensor.randn(rng, 3, 4), three = Tensor.randn(rng, 1, 3, 4);   // shapes differ, sizes do not: it broadcasts
        Tensor sumRelu = cpu.addRelu(two, three), sumRelud = be.addRelu(dev(two), dev(three));
        m.check(Arrays.equals(sumRelu.shape(), sumRelud.shape()), "addRelu [3, 4] + [1, 3, 4] gives " + Arrays.toString(sumRelud.shape()));
        m.close(sumRelu, sumRelud, 0, 0, "addRelu [3, 4] + [1, 3, 4]");
        Tensor ra = Tensor.randn(rng, 2, 64, 56, 56), rb = Tensor.randn(rng, 2, 64, 56, 56);
        m.close(cpu.addRelu(ra, rb), be.addRelu(dev(ra), dev(rb)), 0, 0, "addRelu [2, 64, 56, 56] contiguous");
        // In place into every other column of [6, 8]: fill, axpy from a broadcast row, copy from a transposed source.
        Tensor dh = Tensor.randn(rng, 6, 8), dd = dev(dh), src = Tensor.randn(rng, 4), th = Tensor.randn(rng, 4, 6);
        Tensor dst = dh.slice(1, 0, 8, 2), dstd = dd.slice(1, 0, 8, 2);
        cpu.fill(dst, 2.5f);
        be.fill(dstd, 2.5f);
        m.close(dh, dd, 0, 0, "fill of [6, 4] every other column of [6, 8]");
        cpu.addInPlace(dst, src, -0.5f);
        be.addInPlace(dstd, dev(src), -0.5f);
        m.close(dh, dd, 1e-6, 1e-5, "addInPlace of [4] broadcast into [6, 4] every other column");
        cpu.addScalarInPlace(dst, 0.75f);
        be.addScalarInPlace(dstd, 0.75f);
        m.close(dh, dd, 0, 0, "addScalarInPlace 0.75 into [6, 4] every other column");
        Tensor counter = Tensor.full(3f, be.device());   // a rank-0 count, as batch norm's num_batches_tracked
        be.addScalarInPlace(counter, 1f);
        m.close(Tensor.scalar(4f), counter, 0, 0, "addScalarInPlace 1 into a rank-0 3");
        cpu.copy(th.transpose(0, 1), dst);
        be.copy(dev(th).transpose(0, 1), dstd);
        m.close(dh, dd, 0, 0, "copy of [4, 6] transposed into [6, 4] every other column");
        Tensor cd = be.empty(3, 4, 5);
        be.copy(xhd, cd);
        m.close(xh, cd, 0, 0, "contiguous copy [3, 4, 5]");
        // a contiguous source that broadcasts: a row into every row of a contiguous [6, 4], and [2, 1, 4] into [2, 3, 4]
        Tensor rows = Tensor.zeros(6, 4), rowsd = be.empty(6, 4);
        cpu.copy(src, rows);
        be.copy(dev(src), rowsd);
        m.close(rows, rowsd, 0, 0, "copy of [4] broadcast into contiguous [6, 4]");
        Tensor mid = Tensor.randn(rng, 2, 1, 4), midOut = Tensor.zeros(2, 3, 4), midOutd = be.empty(2, 3, 4);
        cpu.copy(mid, midOut);
        be.copy(dev(mid), midOutd);
        m.close(midOut, midOutd, 0, 0, "copy of [2, 1, 4] broadcast into contiguous [2, 3, 4]");
        m.assertNone();
    }

    // ------------------------------------------------------------------ reduce_softmax.cu and the index kernels (no cuDNN)

    /**
     * softmax_forward and softmax_backward, plain and log, along a middle, the last and the first dim: one thread
     * per (outer, inner) line, so the cases include more than 256 lines (a second, partial block) and lines of
     * 1000. The backward takes the CPU's y, so it is judged on its own. Last, an input, y and dy that are
     * transposed views.
     */
    @Test void softmaxAndLogSoftmaxMatchTheCpu() {
        Mismatches m = new Mismatches("softmaxAndLogSoftmaxMatchTheCpu");
        Backend cpu = Backends.cpu();
        Rng rng = new Rng(36);
        record Case(int[] shape, int dim) {}
        List<Case> cases = List.of(new Case(new int[] {3, 37, 5}, 1), new Case(new int[] {7, 50, 41}, 1), new Case(new int[] {600, 10}, 1),
            new Case(new int[] {4, 1000}, 1), new Case(new int[] {2, 3, 4, 300}, 3), new Case(new int[] {9, 4, 6}, 0));
        for (Case c : cases)
            for (boolean log : new boolean[] {false, true}) {
                String at = (log ? "logSoftmax " : "softmax ") + Arrays.toString(c.shape()) + " dim " + c.dim();
                Tensor x = Tensor.randn(rng, c.shape()).mul(3f), dy = Tensor.randn(rng, c.shape());
                m.run(at, () -> {
                    Tensor y = cpu.softmax(x, c.dim(), log);
                    m.close(y, be.softmax(dev(x), c.dim(), log), 1e-5, 1e-4, at + " forward");
                    m.close(cpu.softmaxBackward(y, dy, c.dim(), log), be.softmaxBackward(dev(y), dev(dy), c.dim(), log), 1e-5, 1e-4,
                        at + " backward");
                });
            }
        Tensor xh = Tensor.randn(rng, 3, 5, 37).mul(3f), dyh = Tensor.randn(rng, 3, 5, 37);
        Tensor x = xh.transpose(1, 2), dy = dyh.transpose(1, 2);
        assertFalse(x.isContiguous() || dy.isContiguous(), "x and dy [3, 37, 5] are transposed views");
        for (boolean log : new boolean[] {false, true}) {
            String at = (log ? "logSoftmax " : "softmax ") + "[3, 37, 5] dim 1 of transposed views";
            m.run(at, () -> {
                Tensor yh = cpu.softmax(xh, 2, log), y = yh.transpose(1, 2);
                m.close(cpu.softmax(x, 1, log), be.softmax(dev(xh).transpose(1, 2), 1, log), 1e-5, 1e-4, at + " forward");
                m.close(cpu.softmaxBackward(y, dy, 1, log), be.softmaxBackward(dev(yh).transpose(1, 2), dev(dyh).transpose(1, 2), 1, log),
                    1e-5, 1e-4, at + " backward");
            });
        }
        m.assertNone();
    }

    /**
     * Softmax and log-softmax of logits far beyond exp's float range (|x| up to about 200: e^89 is already infinite in
     * float), along the first, a middle and the last dim, against the CPU; the expected values are finite, so only the
     * max-subtracted form passes.
     */
    @Test void softmaxOfLargeLogitsMatchesTheCpu() {
        Mismatches m = new Mismatches("softmaxOfLargeLogitsMatchesTheCpu");
        Backend cpu = Backends.cpu();
        Rng rng = new Rng(44);
        record Case(int[] shape, int dim) {}
        for (Case c : List.of(new Case(new int[] {3, 37, 5}, 1), new Case(new int[] {3, 37, 5}, 2), new Case(new int[] {6, 40}, 0),
                new Case(new int[] {6, 40}, 1)))
            for (boolean log : new boolean[] {false, true}) {
                String at = (log ? "logSoftmax " : "softmax ") + Arrays.toString(c.shape()) + " dim " + c.dim() + ", logits about +-200";
                Tensor x = Tensor.randn(rng, c.shape()).mul(60f).add(40f);
                m.run(at, () -> {
                    Tensor y = cpu.softmax(x, c.dim(), log);
                    boolean finite = true;
                    for (float v : y.toArray()) finite &= Float.isFinite(v);
                    m.check(finite, at + ": the CPU's values are finite");
                    m.close(y, be.softmax(dev(x), c.dim(), log), 1e-5, 1e-4, at);
                });
            }
        m.assertNone();
    }

    /**
     * gather_dim and scatter_add_dim along the first, a middle and the last dim, with fewer index entries than
     * the dim and more (repeated targets: scatter-add's atomics meet), one case past the grid-stride launch's
     * first sweep (over 132 SMs x 32 blocks x 256 threads), and strided x, index and src.
     */
    @Test void gatherAndScatterAddMatchTheCpu() {
        Mismatches m = new Mismatches("gatherAndScatterAddMatchTheCpu");
        Backend cpu = Backends.cpu();
        Rng rng = new Rng(37);
        record Case(int[] shape, int dim, int di) {}
        List<Case> cases = List.of(new Case(new int[] {4, 7, 5}, 1, 3), new Case(new int[] {4, 7, 5}, 1, 9), new Case(new int[] {6, 4}, 0, 10),
            new Case(new int[] {3, 5, 8}, 2, 8), new Case(new int[] {2, 600, 1000}, 1, 700));
        for (Case c : cases) {
            int[] is = c.shape().clone();
            is[c.dim()] = c.di();
            String at = " x " + Arrays.toString(c.shape()) + " dim " + c.dim() + " index " + Arrays.toString(is);
            Tensor x = Tensor.randn(rng, c.shape()), index = indices(rng, c.shape()[c.dim()], is), src = Tensor.randn(rng, is);
            m.run("gather" + at, () -> m.close(cpu.gather(x, c.dim(), index), be.gather(dev(x), c.dim(), dev(index)), 0, 0, "gather" + at));
            m.run("scatterAdd" + at, () -> m.close(cpu.scatterAdd(c.shape(), c.dim(), index, src),
                be.scatterAdd(c.shape(), c.dim(), dev(index), dev(src)), 1e-5, 1e-4, "scatterAdd" + at));
        }
        // x [4, 7, 5] and index, src [4, 3, 5] as permuted views of [5, 7, 4] and [5, 3, 4]
        Tensor xh = Tensor.randn(rng, 5, 7, 4), ih = indices(rng, 7, 5, 3, 4), sh = Tensor.randn(rng, 5, 3, 4);
        Tensor x = xh.permute(2, 1, 0), index = ih.permute(2, 1, 0), src = sh.permute(2, 1, 0);
        assertFalse(x.isContiguous() || index.isContiguous() || src.isContiguous(), "x, index and src are permuted views");
        String at = " x [4, 7, 5] dim 1 index [4, 3, 5], all permuted views";
        m.run("gather" + at, () -> m.close(cpu.gather(x, 1, index), be.gather(dev(xh).permute(2, 1, 0), 1, dev(ih).permute(2, 1, 0)), 0, 0,
            "gather" + at));
        m.run("scatterAdd" + at, () -> m.close(cpu.scatterAdd(new int[] {4, 7, 5}, 1, index, src),
            be.scatterAdd(new int[] {4, 7, 5}, 1, dev(ih).permute(2, 1, 0), dev(sh).permute(2, 1, 0)), 1e-5, 1e-4, "scatterAdd" + at));
        m.assertNone();
    }

    /**
     * arg_reduce_rows (argmax, argmin) over a last, a middle and a first dim, rows shorter and longer than the
     * block of 256, keepdim or not, on values without ties; then one row with ties placed in the same thread
     * and across warps, where the first index must win (Backend.argReduce's contract).
     */
    @Test void argmaxAndArgminMatchTheCpu() {
        Mismatches m = new Mismatches("argmaxAndArgminMatchTheCpu");
        Backend cpu = Backends.cpu();
        Rng rng = new Rng(38);
        record Case(int[] shape, int dim) {}
        List<Case> cases = List.of(new Case(new int[] {5, 300}, 1), new Case(new int[] {3, 1000, 4}, 1), new Case(new int[] {7, 3}, 0),
            new Case(new int[] {2, 3, 5000}, 2), new Case(new int[] {4, 6, 7, 9}, 3), new Case(new int[] {40, 33}, 1));
        for (Case c : cases) {
            Tensor x = distinct(rng, c.shape());
            for (ReduceOp op : new ReduceOp[] {ReduceOp.MAX, ReduceOp.MIN})
                for (boolean keepdim : new boolean[] {false, true}) {
                    String at = (op == ReduceOp.MAX ? "argmax " : "argmin ") + Arrays.toString(c.shape()) + " dim " + c.dim() + (keepdim ? " keepdim" : "");
                    m.run(at, () -> m.close(cpu.argReduce(op, x, c.dim(), keepdim), be.argReduce(op, dev(x), c.dim(), keepdim), 0, 0, at));
                }
        }
        // Ties in a row of 1000 (thread t of 256 reads t, t + 256, ...): the max at 300, 556 (both thread 44) and
        // 700 (thread 188); the min at 557 and 801 (threads 45 and 33).
        float[] v = distinct(rng, 1, 1000).toArray();
        for (int i : new int[] {300, 556, 700}) v[i] = 1000f;
        for (int i : new int[] {557, 801}) v[i] = -1000f;
        Tensor tied = Tensor.of(v, 1, 1000);
        m.check(cpu.argReduce(ReduceOp.MAX, tied, 1, false).item() == 300 && cpu.argReduce(ReduceOp.MIN, tied, 1, false).item() == 557,
            "the CPU backend's ties go to the first index");
        for (ReduceOp op : new ReduceOp[] {ReduceOp.MAX, ReduceOp.MIN}) {
            String at = (op == ReduceOp.MAX ? "argmax " : "argmin ") + "[1, 1000] dim 1 with ties";
            m.run(at, () -> m.close(cpu.argReduce(op, tied, 1, false), be.argReduce(op, dev(tied), 1, false), 0, 0, at));
        }
        // NaN passed over, a row of NaN alone giving NaN (rows of 1000, 256 threads): row 0 NaN at every thread's first
        // element (0..255), row 1 all NaN, row 2 NaN in every other position, row 3 NaN at its first and last positions,
        // row 4 all NaN but position 999 (thread 231's fourth element).
        float[] w = distinct(rng, 5, 1000).toArray();
        for (int i = 0; i < 256; i++) w[i] = Float.NaN;
        for (int i = 1000; i < 2000; i++) w[i] = Float.NaN;
        for (int i = 2000; i < 3000; i += 2) w[i] = Float.NaN;
        w[3000] = Float.NaN; w[3999] = Float.NaN;
        for (int i = 4000; i < 4999; i++) w[i] = Float.NaN;
        Tensor withNan = Tensor.of(w, 5, 1000);
        m.check(Float.isNaN(cpu.argReduce(ReduceOp.MAX, withNan, 1, false).toArray()[1])
            && cpu.argReduce(ReduceOp.MIN, withNan, 1, false).toArray()[4] == 999, "the CPU backend passes NaN over");
        for (ReduceOp op : new ReduceOp[] {ReduceOp.MAX, ReduceOp.MIN}) {
            String at = (op == ReduceOp.MAX ? "argmax " : "argmin ") + "[5, 1000] dim 1 with NaN";
            m.run(at, () -> m.close(cpu.argReduce(op, withNan, 1, false), be.argReduce(op, dev(withNan), 1, false), 0, 0, at));
        }
        m.assertNone();
    }

    /**
     * Ties between two warps of a block (neither the first), where the first index must win: argmax and argmin over rows
     * of 1000 (256 threads, 8 warps: thread t reads t, t + 256, ...), one row per pair of warps 1 <= p < q <= 7, the
     * extreme value at a position of warp p and again at one of warp q; and fab_squeeze's max over 16 x 16 planes (256
     * threads, one value each), likewise one plane per pair.
     */
    @Test void tiesBetweenWarpsGoToTheFirstIndex() {
        Mismatches m = new Mismatches("tiesBetweenWarpsGoToTheFirstIndex");
        Backend cpu = Backends.cpu();
        Rng rng = new Rng(45);
        List<int[]> pairs = new ArrayList<>();
        for (int p = 1; p < 8; p++) for (int q = p + 1; q < 8; q++) pairs.add(new int[] {p, q});
        int rows = pairs.size();
        float[] v = distinct(rng, rows, 1000).toArray(), u = distinct(rng, rows, 16, 16).toArray();
        for (int r = 0; r < rows; r++) {
            int p = pairs.get(r)[0], q = pairs.get(r)[1];
            v[r * 1000 + 32 * p + 3] = v[r * 1000 + 32 * q + 5] = 1e6f;        // max in warps p and q
            v[r * 1000 + 32 * p + 9] = v[r * 1000 + 32 * q + 1] = -1e6f;       // min in warps p and q
            u[r * 256 + 32 * p + 7] = u[r * 256 + 32 * q + 2] = 1e6f;
        }
        Tensor tied = Tensor.of(v, rows, 1000);
        for (ReduceOp op : new ReduceOp[] {ReduceOp.MAX, ReduceOp.MIN}) {
            String at = (op == ReduceOp.MAX ? "argmax " : "argmin ") + "[" + rows + ", 1000] dim 1, ties in two warps";
            m.run(at, () -> m.close(cpu.argReduce(op, tied, 1, false), be.argReduce(op, dev(tied), 1, false), 0, 0, at));
        }
        float[][] fr = Reference.fabSqueeze(u, rows, 256);
        CudaBackend.FabSqueezeOut fd = be.fabSqueeze(dev(Tensor.of(u, 1, rows, 16, 16)));
        m.close(fr[1], fd.max().toArray(), 0, 0, "FAB squeeze max, 16 x 16 planes with ties in two warps");
        m.close(fr[2], fd.argmax().toArray(), 0, 0, "FAB squeeze argmax, 16 x 16 planes with ties in two warps");
        m.assertNone();
    }

    /**
     * The elementwise kernels where their formulas change branch: exact zeros of both signs, equal operands, the
     * smallest subnormals, infinities and NaN, which random inputs never hit. Every unary op over 16 such values, and
     * every binary op (and the residual add + ReLU) over all 256 pairs of them, so that STEP and SIGN at 0 and NaN,
     * GE and EQ on ties and ReLU's backward at an output of exactly 0 are compared with the CPU's answer. POW's
     * binary form is left out: Java's Math.pow gives NaN for pow(+-1, NaN or +-Inf) where C's powf gives 1.
     */
    @Test void elementwiseAtZerosTiesAndNonFiniteValuesMatchesTheCpu() {
        Mismatches m = new Mismatches("elementwiseAtZerosTiesAndNonFiniteValuesMatchesTheCpu");
        Backend cpu = Backends.cpu();
        float[] special = {0f, -0f, 1f, -1f, 0.5f, -2f, 3f, Float.MIN_VALUE, -Float.MIN_VALUE, 1e-30f, 40f, -40f,
            Float.POSITIVE_INFINITY, Float.NEGATIVE_INFINITY, Float.NaN, 7.25f};
        int k = special.length;
        float[] av = new float[k * k], bv = new float[k * k];
        for (int i = 0; i < k; i++)
            for (int j = 0; j < k; j++) { av[i * k + j] = special[i]; bv[i * k + j] = special[j]; }
        Tensor a = Tensor.of(av, k, k), b = Tensor.of(bv, k, k), ad = dev(a), bd = dev(b);
        Tensor one = Tensor.of(special, k), oned = dev(one);
        for (UnaryOp op : UnaryOp.values())
            for (float alpha : new float[] {1.5f, 2f, -0.5f})
                m.close(cpu.unary(op, one, alpha), be.unary(op, oned, alpha), 1e-6, 1e-5, "unary " + op + " (alpha " + alpha + ") of " + Arrays.toString(special));
        for (BinaryOp op : BinaryOp.values())
            if (op != BinaryOp.POW) m.close(cpu.binary(op, a, b), be.binary(op, ad, bd), 1e-6, 1e-5, "binary " + op + " over every pair of " + Arrays.toString(special));
        m.close(cpu.addRelu(a, b), be.addRelu(ad, bd), 0, 0, "addRelu over every pair of " + Arrays.toString(special));
        m.assertNone();
    }

    /**
     * NaN as the CPU treats it (Java's Math.max and min, max pooling's "a NaN wins"): reductions MAX and MIN over rows with
     * a NaN in one position (short and long rows), ReLU, MAX and MIN elementwise on strided operands, and the argmax
     * max-pool kernel's y and argmax. Every case's expected values hold NaN.
     */
    @Test void nanPropagatesAsOnTheCpu() {
        Mismatches m = new Mismatches("nanPropagatesAsOnTheCpu");
        Backend cpu = Backends.cpu();
        Rng rng = new Rng(46);
        for (int[] shape : List.of(new int[] {6, 50}, new int[] {3, 700})) {
            float[] v = Tensor.randn(rng, shape).toArray();
            v[shape[1] + 7] = Float.NaN;                     // row 1, early
            v[3 * shape[1] - 2] = Float.NaN;                 // row 2, near the end
            Tensor x = Tensor.of(v, shape);
            for (ReduceOp op : new ReduceOp[] {ReduceOp.MAX, ReduceOp.MIN}) {
                String at = op + " " + Arrays.toString(shape) + " dim 1 with NaN in rows 1 and 2";
                m.run(at, () -> {
                    Tensor want = cpu.reduce(op, x, new int[] {1}, false);
                    m.check(Float.isNaN(want.toArray()[1]) && Float.isNaN(want.toArray()[2]), at + ": the CPU gives NaN");
                    m.close(want, be.reduce(op, dev(x), new int[] {1}, false), 0, 0, at);
                });
            }
        }
        float[] xv = Tensor.randn(rng, 3, 4, 5).toArray(), bv = Tensor.randn(rng, 4, 1, 5).toArray();
        xv[3] = xv[31] = Float.NaN;
        bv[6] = Float.NaN;
        Tensor xh = Tensor.of(xv, 3, 4, 5), bh = Tensor.of(bv, 4, 1, 5);
        Tensor x = xh.permute(2, 0, 1), xd = dev(xh).permute(2, 0, 1), bias = bh.permute(2, 1, 0), biasd = dev(bh).permute(2, 1, 0);
        Tensor relu = cpu.unary(UnaryOp.RELU, x, 0f);
        m.check(Arrays.toString(relu.toArray()).contains("NaN"), "the CPU's ReLU keeps NaN");
        m.close(relu, be.unary(UnaryOp.RELU, xd, 0f), 0, 0, "unary RELU [5, 3, 4] permuted, with NaN");
        for (BinaryOp op : new BinaryOp[] {BinaryOp.MAX, BinaryOp.MIN}) {
            m.close(cpu.binary(op, x, bias), be.binary(op, xd, biasd), 0, 0, "binary " + op + " [5, 3, 4] permuted, [5, 1, 4] permuted, with NaN");
            m.close(cpu.binary(op, bias, x), be.binary(op, biasd, xd), 0, 0, "binary " + op + " [5, 1, 4] permuted, [5, 3, 4] permuted, with NaN");
        }
        float[] pv = Tensor.randn(rng, 2, 3, 9, 8).toArray();
        pv[10] = pv[11] = pv[100] = pv[2 * 72 + 40] = Float.NaN;
        Tensor px = Tensor.of(pv, 2, 3, 9, 8);
        for (Pool2dParams p : List.of(Pool2dParams.of(3, 2, 1), Pool2dParams.of(2, 2, 0))) {
            Backend.MaxPoolOut want = cpu.maxPool2d(px, p);
            m.check(Arrays.toString(want.y().toArray()).contains("NaN"), "the CPU's max pool keeps NaN, " + p);
            Backend.MaxPoolOut got = be.maxPool2d(dev(px), p);
            m.close(want.y(), got.y(), 0, 0, "maxpool_forward y with NaN, " + p);
            m.close(want.argmax(), got.argmax(), 0, 0, "maxpool_forward argmax with NaN, " + p);
        }
        m.assertNone();
    }

    /**
     * reduce_rows with SUM, MAX and MIN, and the mean (a sum scaled), over one dim, several non-adjacent dims and
     * all dims, keepdim or not: rows shorter and longer than the block, many short rows, a reduced dim of size
     * 1, a permuted input, a strided one-dimensional view, and rows whose sum only a double accumulator keeps.
     */
    @Test void reductionsMatchTheCpu() {
        Mismatches m = new Mismatches("reductionsMatchTheCpu");
        Backend cpu = Backends.cpu();
        Rng rng = new Rng(39);
        record Case(int[] shape, int[] dims) {}
        List<Case> cases = List.of(new Case(new int[] {6, 500}, new int[] {1}), new Case(new int[] {4, 6, 7, 9}, new int[] {0, 2}),
            new Case(new int[] {4, 6, 7, 9}, new int[] {1, 3}), new Case(new int[] {4, 6, 7, 9}, new int[] {0, 1, 2, 3}),
            new Case(new int[] {3, 100000}, new int[] {1}), new Case(new int[] {1000, 3}, new int[] {0}), new Case(new int[] {5, 1, 3}, new int[] {1}),
            new Case(new int[] {5000, 7}, new int[] {1}));
        for (Case c : cases) {
            Tensor x = Tensor.randn(rng, c.shape()).add(0.25f);
            for (boolean keepdim : new boolean[] {false, true}) {
                String at = Arrays.toString(c.shape()) + " dims " + Arrays.toString(c.dims()) + (keepdim ? " keepdim" : "");
                for (ReduceOp op : ReduceOp.values()) {
                    double tol = op == ReduceOp.SUM ? 1 : 0;
                    m.run(op + " " + at, () -> m.close(cpu.reduce(op, x, c.dims(), keepdim), be.reduce(op, dev(x), c.dims(), keepdim),
                        1e-5 * tol, 1e-4 * tol, op + " " + at));
                }
                m.run("mean " + at, () -> m.close(x.mean(c.dims(), keepdim), dev(x).mean(c.dims(), keepdim), 1e-5, 1e-4, "mean " + at));
            }
        }
        // A one-dimensional strided view (every third element from the second) is read through its strides, not as if dense.
        Tensor line = Tensor.randn(rng, 40), every3 = line.slice(0, 1, 40, 3), every3d = dev(line).slice(0, 1, 40, 3);
        assertFalse(every3.isContiguous(), "the slice is strided");
        for (ReduceOp op : ReduceOp.values())
            m.run(op + " of a strided [13]", () -> m.close(cpu.reduce(op, every3, new int[] {0}, false), be.reduce(op, every3d, new int[] {0}, false),
                1e-6, 1e-5, op + " of [40] every third element from the second"));
        m.run("argmax of a strided [13]", () -> m.close(cpu.argReduce(ReduceOp.MAX, every3, 0, false), be.argReduce(ReduceOp.MAX, every3d, 0, false),
            0, 0, "argmax of [40] every third element from the second"));
        // Sums in double, as the CPU's: each thread's share of this row starts at +1e8 and ends at -1e8 with ones between,
        // which a float running sum would lose (1e8 + 1 is 1e8 in float) and a double keeps: the sum is the count of ones.
        int cols = 256 * 64;
        float[] rv = new float[2 * cols];
        Arrays.fill(rv, 1f);
        for (int r = 0; r < 2; r++)
            for (int i = 0; i < 256; i++) { rv[r * cols + i] = 1e8f; rv[r * cols + cols - 1 - i] = -1e8f; }
        Tensor cancel = Tensor.of(rv, 2, cols);
        Tensor cancelSum = cpu.reduce(ReduceOp.SUM, cancel, new int[] {1}, false);
        m.check(cancelSum.toArray()[0] == cols - 512, "the CPU sums the cancelling row exactly: " + cancelSum.toArray()[0]);
        m.run("SUM of cancelling rows", () -> m.close(cancelSum, be.reduce(ReduceOp.SUM, dev(cancel), new int[] {1}, false), 0, 0,
            "SUM over [2, 16384] rows of +1e8, ones and -1e8"));
        Tensor xh = Tensor.randn(rng, 9, 7, 6, 4), x = xh.permute(3, 1, 2, 0);
        assertFalse(x.isContiguous(), "x [4, 7, 6, 9] is a permuted view");
        int[] dims = {0, 2};
        for (ReduceOp op : ReduceOp.values()) {
            String at = op + " [4, 7, 6, 9] dims [0, 2] of a permuted view";
            double tol = op == ReduceOp.SUM ? 1 : 0;
            m.run(at, () -> m.close(cpu.reduce(op, x, dims, false), be.reduce(op, dev(xh).permute(3, 1, 2, 0), dims, false), 1e-5 * tol, 1e-4 * tol, at));
        }
        m.assertNone();
    }

    /**
     * pool_norm_index.cu's maxpool_forward / maxpool_backward (Backend's argmax form) and bn_stats, bn_apply,
     * bn_backward_reduce, bn_backward_dx (Backend's split batch norm), without cuDNN: overlapping and
     * non-overlapping windows, one pooling input past the grid-stride launch's first sweep, 4-d and 2-d batch
     * norm with and without affine parameters. Apply and backward take the CPU's statistics, so each kernel is
     * judged on its own. Pooling also over an input full of ties (the first maximum's index is the argmax).
     */
    @Test void maxPoolAndBatchNormKernelsMatchTheCpu() {
        Mismatches m = new Mismatches("maxPoolAndBatchNormKernelsMatchTheCpu");
        Backend cpu = Backends.cpu();
        Rng rng = new Rng(40);
        for (int[] s : List.of(new int[] {2, 5, 13, 11}, new int[] {3, 32, 112, 112}))
            for (Pool2dParams p : List.of(Pool2dParams.of(3, 2, 1), Pool2dParams.of(2, 2, 0), Pool2dParams.of(3, 1, 1),
                    new Pool2dParams(3, 3, 2, 2, 1, 1, false))) {
                String at = " x " + Arrays.toString(s) + " " + p;
                Tensor x = Tensor.randn(rng, s);
                Backend.MaxPoolOut want = cpu.maxPool2d(x, p);
                Tensor dy = Tensor.randn(rng, want.y().shape());
                m.run("maxpool_forward" + at, () -> {
                    Backend.MaxPoolOut got = be.maxPool2d(dev(x), p);
                    m.close(want.y(), got.y(), 0, 0, "maxpool_forward y" + at);
                    m.close(want.argmax(), got.argmax(), 0, 0, "maxpool_forward argmax" + at);
                });
                m.run("maxpool_backward" + at, () -> m.close(cpu.maxPool2dBackward(dy, want.argmax(), s), be.maxPool2dBackward(dev(dy), dev(want.argmax()), s),
                    1e-6, 1e-5, "maxpool_backward dx" + at));
            }
        // Ties, as after a ReLU: windows of zeros and repeated values, where the argmax is the first maximum's index.
        float[] tv = Tensor.randn(rng, 2, 5, 13, 11).toArray();
        for (int i = 0; i < tv.length; i++) tv[i] = Math.max(0f, Math.round(tv[i] * 2f) / 2f);
        Tensor ties = Tensor.of(tv, 2, 5, 13, 11);
        for (Pool2dParams p : List.of(Pool2dParams.of(3, 2, 1), Pool2dParams.of(2, 2, 0))) {
            Backend.MaxPoolOut want = cpu.maxPool2d(ties, p);
            m.run("maxpool_forward with ties " + p, () -> m.close(want.argmax(), be.maxPool2d(dev(ties), p).argmax(), 0, 0,
                "maxpool_forward argmax of [2, 5, 13, 11] with ties (ReLU'd, rounded to halves) " + p));
        }
        for (int[] s : List.of(new int[] {4, 8, 7, 7}, new int[] {6, 5}, new int[] {8, 4, 64, 64}))
            for (boolean affine : new boolean[] {true, false}) {
                int c = s[1];
                String at = " " + Arrays.toString(s) + (affine ? " affine" : "");
                Tensor x = Tensor.randn(rng, s).mul(2f).add(0.5f), dy = Tensor.randn(rng, s);
                Tensor w = affine ? Tensor.rand(rng, 0.5f, 1.5f, c) : null, b = affine ? Tensor.randn(rng, c) : null;
                Backend.Moments stats = cpu.batchNormStats(x);
                Tensor mean = stats.mean(), invStd = cpu.batchNormInvStd(stats.var(), 1e-5f);
                m.run("bn_stats" + at, () -> {
                    Backend.Moments got = be.batchNormStats(dev(x));
                    m.close(stats.mean(), got.mean(), 1e-5, 1e-4, "bn_stats mean" + at);
                    m.close(stats.var(), got.var(), 1e-5, 1e-4, "bn_stats biased variance" + at);
                });
                m.run("bn_apply" + at, () -> m.close(cpu.batchNormApply(x, mean, invStd, w, b),
                    be.batchNormApply(dev(x), dev(mean), dev(invStd), affine ? dev(w) : null, affine ? dev(b) : null), 1e-5, 1e-4, "bn_apply" + at));
                m.run("bn_backward" + at, () -> {
                    Backend.BatchNormGrads want = cpu.batchNormBackward(dy, x, mean, invStd, w);
                    Backend.BatchNormGrads got = be.batchNormBackward(dev(dy), dev(x), dev(mean), dev(invStd), affine ? dev(w) : null);
                    m.close(want.dx(), got.dx(), 1e-5, 1e-4, "bn_backward_dx" + at);
                    m.close(want.dWeight(), got.dWeight(), 1e-5, 1e-4, "bn_backward_reduce dweight" + at);
                    m.close(want.dBias(), got.dBias(), 1e-5, 1e-4, "bn_backward_reduce dbias" + at);
                });
            }
        m.assertNone();
    }

    // ------------------------------------------------------------------ cuDNN: batch norm, pooling, convolutions

    /** Per-channel BN tolerances: statistics are sums over N*H*W values in a different order. */
    static void closeAll(Mismatches m, Tensor[] want, Tensor[] got, String[] names, double atol, double rtol, String what) {
        for (int i = 0; i < want.length; i++)
            if (want[i] != null) m.close(want[i].toArray(), got[i].toArray(), atol, rtol, what + " " + names[i]);
    }

    static void closeAll(Mismatches m, Backend.BatchNormOut want, Backend.BatchNormOut got, double atol, double rtol, String what) {
        closeAll(m, new Tensor[] {want.y(), want.mean(), want.invStd()}, new Tensor[] {got.y(), got.mean(), got.invStd()},
            new String[] {"y", "mean", "invStd"}, atol, rtol, what);
    }

    static void closeAll(Mismatches m, Backend.BatchNormGrads want, Backend.BatchNormGrads got, double atol, double rtol, String what) {
        closeAll(m, new Tensor[] {want.dx(), want.dWeight(), want.dBias()}, new Tensor[] {got.dx(), got.dWeight(), got.dBias()},
            new String[] {"dx", "dWeight", "dBias"}, atol, rtol, what);
    }

    /**
     * Backend.batchNormTraining / TrainingBackward / Inference on the GPU (cuDNN for eps >= 1e-5, the bn_*
     * kernels below it) against the CPU defaults, with and without affine parameters and running statistics,
     * 4-d and 2-d inputs; the running statistics are updated once, as the CPU updates them.
     */
    @Test @Tag("cudnn") void cudnnBatchNormMatchesTheCpu() {
        Mismatches m = new Mismatches("cudnnBatchNormMatchesTheCpu");
        Backend cpu = Backends.cpu();
        Rng rng = new Rng(31);
        for (int[] s : List.of(new int[] {4, 8, 7, 7}, new int[] {2, 16, 5, 3}, new int[] {6, 5}))
            for (float eps : new float[] {1e-3f, 1e-5f, 1e-6f})
                for (boolean affine : new boolean[] {true, false}) {
                    int c = s[1];
                    String at = Arrays.toString(s) + " eps " + eps + (affine ? " affine" : "");
                    Tensor x = Tensor.randn(rng, s).mul(2f).add(0.5f), dy = Tensor.randn(rng, s);
                    Tensor w = affine ? Tensor.rand(rng, 0.5f, 1.5f, c) : null, b = affine ? Tensor.randn(rng, c) : null;
                    Tensor rm = Tensor.randn(rng, c), rv = Tensor.rand(rng, 0.5f, 2f, c);
                    Tensor rmg = dev(rm), rvg = dev(rv);
                    Backend.BatchNormOut want = cpu.batchNormTraining(x, w, b, rm, rv, 0.1f, eps);
                    Backend.BatchNormOut got = be.batchNormTraining(dev(x), affine ? dev(w) : null, affine ? dev(b) : null, rmg, rvg, 0.1f, eps);
                    closeAll(m, want, got, 1e-5, 1e-4, "batchNormTraining " + at);
                    m.close(rm.toArray(), rmg.toArray(), 1e-6, 1e-5, "running mean after batchNormTraining " + at);
                    m.close(rv.toArray(), rvg.toArray(), 1e-6, 1e-5, "running var (unbiased) after batchNormTraining " + at);
                    Backend.BatchNormGrads dWant = cpu.batchNormTrainingBackward(dy, x, want.mean(), want.invStd(), w, eps);
                    Backend.BatchNormGrads dGot = be.batchNormTrainingBackward(dev(dy), dev(x), got.mean(), got.invStd(), affine ? dev(w) : null, eps);
                    closeAll(m, dWant, dGot, 1e-5, 1e-4, "batchNormTrainingBackward " + at);
                    closeAll(m, cpu.batchNormInference(x, w, b, rm, rv, eps),
                        be.batchNormInference(dev(x), affine ? dev(w) : null, affine ? dev(b) : null, rmg, rvg, eps), 1e-5, 1e-4, "batchNormInference " + at);
                    Backend.BatchNormOut noTrack = be.batchNormTraining(dev(x), null, null, null, null, 0.1f, eps);
                    m.close(cpu.batchNormTraining(x, null, null, null, null, 0.1f, eps).y().toArray(), noTrack.y().toArray(), 1e-5, 1e-4,
                        "batchNormTraining without running statistics " + at);
                }
        m.assertNone();
    }

    /**
     * The paired batch norm (MA-Net's two paths as one batch of 2N: each half with its own statistics), cuDNN writing
     * each half straight into one y and one dx, against the CPU backend's: y, both halves' statistics, the running
     * statistics (moved by the first half, and by the second when asked), dx, dWeight and dBias; with and without ReLU
     * and affine parameters, and once without running statistics. [2, 3, 5, 5] puts the second half at an odd offset
     * (75 floats).
     */
    @Test @Tag("cudnn") void pairedBatchNormMatchesTheCpu() {
        Mismatches m = new Mismatches("pairedBatchNormMatchesTheCpu");
        Backend cpu = Backends.cpu();
        Rng rng = new Rng(34);
        for (int[] s : List.of(new int[] {4, 6, 5, 5}, new int[] {2, 8, 7, 7}, new int[] {2, 3, 5, 5}))
            for (boolean relu : new boolean[] {true, false})
                for (boolean second : new boolean[] {true, false})
                    for (boolean affine : new boolean[] {true, false}) {
                        int c = s[1];
                        boolean track = !(s[1] == 3 && relu && !second && affine);   // one case without running statistics
                        String at = Arrays.toString(s) + (relu ? " relu" : "") + (second ? " second moves running" : "") + (affine ? " affine" : "")
                            + (track ? "" : " without running statistics");
                        Tensor x = Tensor.randn(rng, s).mul(2f).add(0.5f), dy = Tensor.randn(rng, s);
                        Tensor w = affine ? Tensor.rand(rng, 0.5f, 1.5f, c) : null, b = affine ? Tensor.randn(rng, c) : null;
                        Tensor rm = track ? Tensor.randn(rng, c) : null, rv = track ? Tensor.rand(rng, 0.5f, 2f, c) : null;
                        m.run("paired batch norm " + at, () -> {
                            Tensor rmg = track ? dev(rm) : null, rvg = track ? dev(rv) : null, wg = affine ? dev(w) : null, bg = affine ? dev(b) : null;
                            Backend.PairedBatchNormOut want = cpu.batchNormTrainingPaired(x, w, b, rm, rv, second, 0.1f, 1e-5f, relu);
                            Backend.PairedBatchNormOut got = be.batchNormTrainingPaired(dev(x), wg, bg, rmg, rvg, second, 0.1f, 1e-5f, relu);
                            closeAll(m, new Tensor[] {want.y(), want.first().mean(), want.first().invStd(), want.second().mean(), want.second().invStd()},
                                new Tensor[] {got.y(), got.first().mean(), got.first().invStd(), got.second().mean(), got.second().invStd()},
                                new String[] {"y", "first mean", "first invStd", "second mean", "second invStd"}, 1e-5, 1e-4, "batchNormTrainingPaired " + at);
                            if (track) {
                                m.close(rm.toArray(), rmg.toArray(), 1e-6, 1e-5, "running mean after batchNormTrainingPaired " + at);
                                m.close(rv.toArray(), rvg.toArray(), 1e-6, 1e-5, "running var after batchNormTrainingPaired " + at);
                            }
                            Backend.BatchNormGrads dWant = cpu.batchNormTrainingPairedBackward(dy, x, want.y(), want, w, b, 1e-5f, relu);
                            Backend.BatchNormGrads dGot = be.batchNormTrainingPairedBackward(dev(dy), dev(x), got.y(), got, wg, bg, 1e-5f, relu);
                            m.close(dWant.dx().toArray(), dGot.dx().toArray(), 1e-5, 1e-4, "batchNormTrainingPairedBackward dx " + at);
                            if (affine) {   // without weight and bias their gradients are not asked for (the CPU computes them anyway)
                                m.close(dWant.dWeight().toArray(), dGot.dWeight().toArray(), 1e-5, 1e-4, "batchNormTrainingPairedBackward dWeight " + at);
                                m.close(dWant.dBias().toArray(), dGot.dBias().toArray(), 1e-5, 1e-4, "batchNormTrainingPairedBackward dBias " + at);
                            }
                        });
                    }
        m.assertNone();
    }

    /** Normalization.batchNorm with autograd on the GPU (cuDNN, eps 1e-3 as DPN uses) against the CPU: y, gradients, running stats. */
    @Test @Tag("cudnn") void batchNormOpWithAutogradMatchesTheCpu() {
        Mismatches m = new Mismatches("batchNormOpWithAutogradMatchesTheCpu");
        Rng rng = new Rng(32);
        for (boolean training : new boolean[] {true, false}) {
            Tensor x = Tensor.randn(rng, 4, 6, 5, 5), w = Tensor.rand(rng, 0.5f, 1.5f, 6), b = Tensor.randn(rng, 6), g = Tensor.randn(rng, 4, 6, 5, 5);
            Tensor rm = Tensor.randn(rng, 6), rv = Tensor.rand(rng, 0.5f, 2f, 6), rmg = dev(rm), rvg = dev(rv);
            Tensor xc = x.detach().requiresGrad(true), wc = w.detach().requiresGrad(true), bc = b.detach().requiresGrad(true);
            Tensor xg = dev(x).requiresGrad(true), wg = dev(w).requiresGrad(true), bg = dev(b).requiresGrad(true);
            Tensor yc = org.pulmo.ops.Normalization.batchNorm(xc, wc, bc, rm, rv, training, 0.1f, 1e-3f);
            Tensor yg = org.pulmo.ops.Normalization.batchNorm(xg, wg, bg, rmg, rvg, training, 0.1f, 1e-3f);
            yc.backward(g);
            yg.backward(dev(g));
            String mode = training ? " train" : " eval";
            m.close(yc.toArray(), yg.toArray(), 1e-5, 1e-4, "batchNorm y" + mode);
            m.close(xc.grad().toArray(), xg.grad().toArray(), 1e-5, 1e-4, "batchNorm dx" + mode);
            m.close(wc.grad().toArray(), wg.grad().toArray(), 1e-5, 1e-4, "batchNorm dweight" + mode);
            m.close(bc.grad().toArray(), bg.grad().toArray(), 1e-5, 1e-4, "batchNorm dbias" + mode);
            m.close(rm.toArray(), rmg.toArray(), 1e-6, 1e-5, "batchNorm running mean" + mode);
            m.close(rv.toArray(), rvg.toArray(), 1e-6, 1e-5, "batchNorm running var" + mode);
        }
        m.assertNone();
    }

    /**
     * Pooling on the GPU against the CPU: cuDNN max pooling (training form, backward from x and y), the
     * argmax kernels (Backend.maxPool2d and its backward), cuDNN average pooling counting padding or not, and
     * Pooling.maxPool2d / avgPool2d with autograd. Random inputs: no ties in a max window. Windows, strides and (in the
     * last case) padding differ between height and width.
     */
    @Test @Tag("cudnn") void poolingMatchesTheCpu() {
        Mismatches m = new Mismatches("poolingMatchesTheCpu");
        Backend cpu = Backends.cpu();
        Rng rng = new Rng(33);
        List<Pool2dParams> params = List.of(Pool2dParams.of(3, 2, 1), Pool2dParams.of(2, 2, 0),
            new Pool2dParams(3, 2, 1, 2, 1, 1, true), new Pool2dParams(3, 3, 2, 2, 1, 1, false), new Pool2dParams(3, 2, 2, 1, 1, 0, true));
        for (Pool2dParams p : params) {
            Tensor x = Tensor.randn(rng, 2, 5, 13, 11);
            String at = " " + p;
            Backend.MaxPoolOut want = cpu.maxPool2d(x, p);
            Tensor dy = Tensor.randn(rng, want.y().shape());
            Tensor xg = dev(x);
            Backend.MaxPoolOut got = be.maxPool2dTraining(xg, p);
            m.close(want.y().toArray(), got.y().toArray(), 0, 0, "cuDNN max-pool y" + at);
            Tensor dxWant = cpu.maxPool2dBackward(dy, want.argmax(), x.shape());
            m.close(dxWant.toArray(), be.maxPool2dBackward(dev(dy), xg, got.y(), got.argmax(), p).toArray(), 1e-6, 1e-6, "cuDNN max-pool dx" + at);
            Backend.MaxPoolOut k = be.maxPool2d(xg, p);
            m.close(want.y().toArray(), k.y().toArray(), 0, 0, "maxpool_forward y" + at);
            m.close(want.argmax().toArray(), k.argmax().toArray(), 0, 0, "maxpool_forward argmax" + at);
            m.close(dxWant.toArray(), be.maxPool2dBackward(dev(dy), k.argmax(), x.shape()).toArray(), 1e-6, 1e-6, "maxpool_backward dx" + at);
            Tensor ya = cpu.avgPool2d(x, p);
            m.close(ya.toArray(), be.avgPool2d(xg, p).toArray(), 1e-6, 1e-5, "cuDNN avg-pool y" + at);
            Tensor dya = Tensor.randn(rng, ya.shape());
            m.close(cpu.avgPool2dBackward(dya, x.shape(), p).toArray(), be.avgPool2dBackward(dev(dya), x.shape(), p).toArray(), 1e-6, 1e-5,
                "cuDNN avg-pool dx" + at);
            for (boolean max : new boolean[] {true, false}) {
                Tensor xc = x.detach().requiresGrad(true), xd = dev(x).requiresGrad(true);
                Tensor yc = max ? org.pulmo.ops.Pooling.maxPool2d(xc, p) : org.pulmo.ops.Pooling.avgPool2d(xc, p);
                Tensor yd = max ? org.pulmo.ops.Pooling.maxPool2d(xd, p) : org.pulmo.ops.Pooling.avgPool2d(xd, p);
                Tensor gy = Tensor.randn(rng, yc.shape());
                yc.backward(gy);
                yd.backward(dev(gy));
                m.close(yc.toArray(), yd.toArray(), 1e-6, 1e-5, (max ? "Pooling.maxPool2d" : "Pooling.avgPool2d") + at);
                m.close(xc.grad().toArray(), xd.grad().toArray(), 1e-6, 1e-5, (max ? "Pooling.maxPool2d dx" : "Pooling.avgPool2d dx") + at);
            }
        }
        m.assertNone();
    }

    /**
     * Convolutions with algorithms chosen by cuDNN's find and by its heuristics, strict FP32, against the plain-loop
     * reference on conv2d's page ({@link Convolution}):
     * forward, backward data and backward filter, on the models' kinds of layer (DPN-92's grouped 3x3 with 32
     * groups of 3 channels and of 8, ResNet's 7x7 stride-2 stem, a 1x1 stride-2 projection, a dilated 3x3, and a 3x3 whose
     * stride, padding and dilation differ between height and width, so that a descriptor with H and W swapped fails). In
     * find mode every direction must report that find chose it (a silent fall-back to the heuristics fails).
     */
    @Test @Tag("cudnn") void findAndHeuristicConvolutionsMatchTheReference() {
        Mismatches m = new Mismatches("findAndHeuristicConvolutionsMatchTheReference");
        org.pulmo.backend.Conv2dParams g32 = org.pulmo.backend.Conv2dParams.of(1, 1, 1, 32);
        record Case(int c, int k, int kh, org.pulmo.backend.Conv2dParams p) {}
        List<Case> cases = List.of(new Case(96, 96, 3, g32), new Case(256, 256, 3, org.pulmo.backend.Conv2dParams.of(2, 1, 1, 32)),
            new Case(3, 16, 7, org.pulmo.backend.Conv2dParams.of(2, 3, 1, 1)), new Case(32, 64, 1, org.pulmo.backend.Conv2dParams.of(2, 0, 1, 1)),
            new Case(8, 8, 3, org.pulmo.backend.Conv2dParams.of(1, 2, 2, 1)), new Case(4, 6, 3, new org.pulmo.backend.Conv2dParams(2, 1, 2, 0, 1, 2, 1)));
        Cudnn.AlgoSearch was = be.cudnn().algoSearch();
        List<String> findKeys = new java.util.ArrayList<>();
        try {
            for (Cudnn.AlgoSearch search : Cudnn.AlgoSearch.values()) {
                be.cudnn().setAlgoSearch(search);
                int n = search == Cudnn.AlgoSearch.FIND ? 2 : 3; // a new shape per mode, so that each mode makes its own plans
                Rng rng = new Rng(34);
                for (Case cs : cases) {
                    Tensor x = Tensor.randn(rng, n, cs.c(), 15, 14), w = Tensor.randn(rng, cs.k(), cs.c() / cs.p().groups(), cs.kh(), cs.kh()).mul(0.1f);
                    String at = " " + search + " x " + Arrays.toString(x.shape()) + " w " + Arrays.toString(w.shape()) + " " + cs.p();
                    if (search == Cudnn.AlgoSearch.FIND)
                        findKeys.add("x " + Arrays.toString(x.shape()) + " w " + Arrays.toString(w.shape()) + " " + cs.p() + " strict FP32: ");
                    int[] xs = x.shape(), ws = w.shape();
                    float[] xv = x.toArray(), wv = w.toArray();
                    float[] y = Convolution.referenceForward(xv, xs[0], xs[1], xs[2], xs[3], wv, ws[0], ws[2], ws[3], cs.p());
                    Tensor dy = Tensor.randn(rng, xs[0], ws[0], cs.p().outH(xs[2], ws[2]), cs.p().outW(xs[3], ws[3]));
                    float[] dyv = dy.toArray();
                    m.run("conv2d" + at, () -> m.close(y, be.conv2d(dev(x), dev(w), cs.p()).toArray(), 1e-4, 1e-4, "conv2d" + at));
                    m.run("conv2dBackwardInput" + at, () -> m.close(
                        Convolution.referenceBackwardInput(dyv, xs[0], xs[1], xs[2], xs[3], wv, ws[0], ws[2], ws[3], cs.p()),
                        be.conv2dBackwardInput(dev(dy), dev(w), x.shape(), cs.p()).toArray(), 1e-4, 1e-4, "conv2dBackwardInput" + at));
                    m.run("conv2dBackwardWeight" + at, () -> m.close(
                        Convolution.referenceBackwardWeight(xv, dyv, xs[0], xs[1], xs[2], xs[3], ws[0], ws[2], ws[3], cs.p()),
                        be.conv2dBackwardWeight(dev(x), dev(dy), w.shape(), cs.p()).toArray(), 1e-3, 1e-4, "conv2dBackwardWeight" + at));
                }
            }
        } finally { be.cudnn().setAlgoSearch(was); }
        List<String> plans = be.convolutionAlgorithms();
        System.out.println("convolution algorithms:\n  " + String.join("\n  ", plans));
        for (String key : findKeys)
            m.check(plans.stream().filter(l -> l.startsWith(key) && l.contains("(find,")).count() == 3,
                "all three directions of " + key + "chosen by find:\n" + String.join("\n", plans));
        m.check(plans.stream().filter(l -> l.contains("strict FP32")).allMatch(l -> l.endsWith(", FMA math)")),
            "strict FP32 convolutions run with CUDNN_FMA_MATH");
        m.assertNone();
    }

    /**
     * A contiguous view that starts 4 bytes into its block (a channel slice of a one-image batch), convolved after an
     * aligned call of the same shape has chosen the plan, in TF32 mode where tensor-op algorithms may want 16-byte
     * operands: the same numbers as the aligned call, in all three directions.
     */
    @Test @Tag("cudnn") void convolutionsOfViewsInsideABlockMatchAlignedOnes() {
        Mismatches m = new Mismatches("convolutionsOfViewsInsideABlockMatchAlignedOnes");
        Rng rng = new Rng(36);
        org.pulmo.backend.Conv2dParams p = org.pulmo.backend.Conv2dParams.of(1, 1, 1, 1);
        int[] xs = {1, 64, 7, 7}, ws = {64, 64, 3, 3};
        Tensor x = Tensor.randn(rng, xs), w = Tensor.randn(rng, ws).mul(0.1f), dy = Tensor.randn(rng, xs);
        int numel = 64 * 49;
        // each operand also as a view one float into a larger block
        java.util.function.Function<Tensor, Tensor> inside = t -> {
            float[] v = t.toArray(), padded = new float[v.length + 1];
            padded[0] = Float.NaN;
            System.arraycopy(v, 0, padded, 1, v.length);
            Tensor d = be.fromArray(padded, new int[] {padded.length}).narrow(0, 1, v.length).reshape(t.shape());
            if (d.offset() != 1) throw new AssertionError("expected a view at offset 1, got " + d.offset());
            return d;
        };
        be.setStrictFp32(false);
        try {
            float[][] want = {be.conv2d(dev(x), dev(w), p).toArray(), be.conv2dBackwardInput(dev(dy), dev(w), xs, p).toArray(),
                be.conv2dBackwardWeight(dev(x), dev(dy), ws, p).toArray()};
            float[][] got = {be.conv2d(inside.apply(x), inside.apply(w), p).toArray(), be.conv2dBackwardInput(inside.apply(dy), inside.apply(w), xs, p).toArray(),
                be.conv2dBackwardWeight(inside.apply(x), inside.apply(dy), ws, p).toArray()};
            for (int i = 0; i < 3; i++) m.close(want[i], got[i], 1e-4, 1e-4, "direction " + i + " of a view at offset 1 (" + numel + " elements)");
            // what cuDNN is handed: a 16-byte aligned copy with the view's values (the aligned tensor itself when it is one)
            Tensor view = inside.apply(x), handed = be.aligned(view), whole = dev(x);
            m.check((CudaBackend.addr(handed) & 15) == 0, "cuDNN given address " + CudaBackend.addr(handed) + ", not a multiple of 16");
            m.close(x.toArray(), handed.toArray(), 0, 0, "the aligned copy's values");
            m.check(be.aligned(whole) == whole, "an aligned tensor is handed over as it is, not copied");
        } finally { be.setStrictFp32(true); }
        m.assertNone();
    }

    /**
     * TF32 mode (the training default): find may pick tensor-op algorithms, whose 10-bit mantissas put the
     * result within about 1e-3 relative L2 of the FP32 CPU; asserted at 1e-2. The plans carry the mode in their key.
     */
    @Test @Tag("cudnn") void tf32ConvolutionsStayCloseToTheCpu() {
        Mismatches m = new Mismatches("tf32ConvolutionsStayCloseToTheCpu");
        Backend cpu = Backends.cpu();
        Rng rng = new Rng(35);
        org.pulmo.backend.Conv2dParams p = org.pulmo.backend.Conv2dParams.of(1, 1, 1, 32);
        Tensor x = Tensor.randn(rng, 4, 128, 14, 14), w = Tensor.randn(rng, 128, 4, 3, 3).mul(0.1f);
        Tensor y = cpu.conv2d(x, w, p), dy = Tensor.randn(rng, y.shape());
        be.setStrictFp32(false);
        try {
            float[][] got = {be.conv2d(dev(x), dev(w), p).toArray(), be.conv2dBackwardInput(dev(dy), dev(w), x.shape(), p).toArray(),
                be.conv2dBackwardWeight(dev(x), dev(dy), w.shape(), p).toArray()};
            float[][] want = {y.toArray(), cpu.conv2dBackwardInput(dy, w, x.shape(), p).toArray(), cpu.conv2dBackwardWeight(x, dy, w.shape(), p).toArray()};
            for (int i = 0; i < 3; i++) {
                double err = TrainingStepParity.relL2(got[i], want[i]);
                m.check(err <= 1e-2, "TF32 convolution direction " + i + " x [4, 128, 14, 14] w [128, 4, 3, 3]: relL2 " + err);
            }
        } finally { be.setStrictFp32(true); }
        long tf32Plans = be.convolutionAlgorithms().stream()
            .filter(l -> l.startsWith("x [4, 128, 14, 14] w [128, 4, 3, 3]") && l.contains(" TF32: ")).count();
        m.check(tf32Plans == 3, "three TF32 plans, found " + tf32Plans);
        m.assertNone();
    }

    @Test void scopeReturnsMemoryEveryStep() {
        Mismatches m = new Mismatches("scopeReturnsMemoryEveryStep");
        long before = be.memoryStats().inUseBytes();
        for (int step = 0; step < 20; step++) {
            try (MemoryScope s = MemoryScope.open()) {
                Tensor a = be.fromArray(new float[4096], new int[] {64, 64});
                be.matmul(a, a, false, true);
            }
            long now = be.memoryStats().inUseBytes();
            m.check(now == before, "in-use bytes after step " + step + ": " + now + ", expected " + before);
        }
        m.assertNone();
    }
}
