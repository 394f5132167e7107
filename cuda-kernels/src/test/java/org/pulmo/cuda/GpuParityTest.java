package org.pulmo.cuda;

import static org.pulmo.cuda.ReferenceTest.close;

import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.pulmo.backend.Backends;
import org.pulmo.backend.BinaryOp;
import org.pulmo.backend.UnaryOp;
import org.pulmo.cuda.reference.Reference;
import org.pulmo.autograd.GradMode;
import org.pulmo.backend.Backend;
import org.pulmo.ops.Attention;
import org.pulmo.tensor.Device;
import org.pulmo.tensor.MemoryScope;
import org.pulmo.tensor.Rng;
import org.pulmo.tensor.Tensor;

/**
 * Every hand-written kernel against its CPU reference on random inputs, strict FP32, and cuDNN's batch norm,
 * pooling and find-chosen convolutions against the CPU backend. Tolerances: elementwise and pooling 1e-6 abs +
 * 1e-5 rel (max pooling exact); reductions, softmax, MAB, FAB, SE, CE, cosine, batch norm 1e-5 abs + 1e-4 rel
 * (float sums in a different order); SGEMM and convolutions 1e-4 abs + 1e-4 rel (weight gradients 1e-3 abs). Skips with the probe's reason where no device is usable.
 * Tests that call cuDNN carry the tag "cudnn" as well, so that the hand-written kernels can be run in a JVM of their own.
 */
@Tag("gpu")
class GpuParityTest {
    static CudaBackend be;

    // Assumed per test (not in @BeforeAll) so each test reports itself skipped with the reason.
    @BeforeEach void device() {
        String why = CudaRuntime.probe();
        Assumptions.assumeTrue(why == null, () -> "no usable GPU: " + why);
        if (be == null) {
            be = (CudaBackend) Backends.of(Device.cuda(0));
            be.setStrictFp32(true);
        }
    }

    static Tensor dev(Tensor t) { return be.fromArray(t.toArray(), t.shape()); }

    @Test void mabVersionsMatchTheReference() {
        for (int[] s : List.of(new int[] {2, 3, 7, 9}, new int[] {2, 4, 56, 56}, new int[] {1, 2, 80, 80})) {
            Rng rng = new Rng(21);
            Tensor a = Tensor.randn(rng, s), b = Tensor.randn(rng, s), g = Tensor.randn(rng, s);
            int planes = s[0] * s[1], hw = s[2] * s[3];
            float[][] ref = Reference.mabForward(a.toArray(), b.toArray(), planes, hw);
            for (CudaBackend.MabVersion v : CudaBackend.MabVersion.values()) {
                Tensor[] out = be.mabForward(dev(a), dev(b), v);
                close(ref[0], out[0].toArray(), 1e-5, 1e-4, "MAB " + v + " forward " + java.util.Arrays.toString(s));
                close(ref[1], out[1].toArray(), 1e-5, 1e-4, "MAB " + v + " lse");
            }
            Tensor[] fwd = be.mabForward(dev(a), dev(b), CudaBackend.MabVersion.FUSED);
            float[][] gr = Reference.mabBackward(a.toArray(), b.toArray(), g.toArray(), planes, hw);
            Tensor[] d = be.mabBackward(dev(a), dev(b), dev(g), fwd[1]);
            close(gr[0], d[0].toArray(), 1e-5, 1e-4, "MAB da");
            close(gr[1], d[1].toArray(), 1e-5, 1e-4, "MAB db");
        }
    }

    @Test void seAndFabMatchTheReference() {
        Rng rng = new Rng(22);
        int n = 2, c = 5, h = 6, w = 7, hw = h * w, planes = n * c;
        Tensor x = Tensor.randn(rng, n, c, h, w), x2 = Tensor.randn(rng, n, c, h, w), s = Tensor.rand(rng, 0f, 1f, n, c);
        Tensor z1 = Tensor.randn(rng, n, c), z2 = Tensor.randn(rng, n, c), g = Tensor.randn(rng, n, c, h, w);
        close(Reference.seSqueeze(x.toArray(), planes, hw), be.seSqueeze(dev(x)).toArray(), 1e-5, 1e-4, "SE squeeze");
        close(Reference.seScale(x.toArray(), s.toArray(), hw), be.seScale(dev(x), dev(s)).toArray(), 1e-6, 1e-5, "SE scale");
        float[][] sb = Reference.seScaleBackward(x.toArray(), s.toArray(), g.toArray(), hw);
        Tensor[] sbd = be.seScaleBackward(dev(x), dev(s), dev(g));
        close(sb[0], sbd[0].toArray(), 1e-6, 1e-5, "SE dx");
        close(sb[1], sbd[1].toArray(), 1e-5, 1e-4, "SE ds");
        float[][] sq = Reference.fabSqueeze(x.toArray(), planes, hw);
        Tensor[] sqd = be.fabSqueeze(dev(x));
        for (int i = 0; i < 3; i++) close(sq[i], sqd[i].toArray(), 1e-5, 1e-4, "FAB squeeze output " + i);
        close(Reference.fabSqueezeBackward(s.toArray(), z1.toArray(), sq[2], hw),
            be.fabSqueezeBackward(x.shape(), dev(s), dev(z1), sqd[2]).toArray(), 1e-6, 1e-5, "FAB squeeze backward");
        close(Reference.fabFuse(x.toArray(), x2.toArray(), z1.toArray(), z2.toArray(), hw),
            be.fabFuse(dev(x), dev(x2), dev(z1), dev(z2)).toArray(), 1e-6, 1e-5, "FAB fuse");
        float[][] fb = Reference.fabFuseBackward(x.toArray(), x2.toArray(), z1.toArray(), z2.toArray(), g.toArray(), hw);
        Tensor[] fbd = be.fabFuseBackward(dev(x), dev(x2), dev(z1), dev(z2), dev(g));
        for (int i = 0; i < 4; i++) close(fb[i], fbd[i].toArray(), 1e-5, 1e-4, "FAB fuse backward output " + i);
    }

    @Test void crossEntropyAndCosineMatchTheReference() {
        Rng rng = new Rng(23);
        int n = 37, c = 3;
        Tensor x = Tensor.randn(rng, n, c);
        float[] labels = new float[n];
        for (int i = 0; i < n; i++) labels[i] = i % c;
        float[] w = {0.7f, 1.3f, 2f};
        float[] ref = Reference.crossEntropy(x.toArray(), labels, w, n, c);
        Tensor[] out = be.crossEntropy(dev(x), be.fromArray(labels, new int[] {n}), be.fromArray(w, new int[] {c}));
        close(new float[] {ref[0], ref[1]}, new float[] {out[0].toArray()[0], out[1].toArray()[0]}, 1e-5, 1e-4, "CE loss, wsum");
        Tensor dx = be.crossEntropyBackward(dev(x), be.fromArray(labels, new int[] {n}), be.fromArray(w, new int[] {c}), out[1],
            be.fromArray(new float[] {1f}, new int[0]));
        close(Reference.crossEntropyBackward(x.toArray(), labels, w, n, c, 1f), dx.toArray(), 1e-6, 1e-4, "CE dx");

        Tensor a = Tensor.randn(rng, 4, 3, 5, 5), b = Tensor.randn(rng, 4, 3, 5, 5);
        Tensor[] cs = be.cosine(dev(a), dev(b), 1e-8f);
        close(new float[] {Reference.cosine(a.toArray(), b.toArray(), 4, 75, 1e-8f)}, cs[0].toArray(), 1e-5, 1e-4, "cosine");
        Tensor[] cg = be.cosineBackward(dev(a), dev(b), cs[1], be.fromArray(new float[] {1f}, new int[0]), 1e-8f);
        float[][] cr = Reference.cosineBackward(a.toArray(), b.toArray(), 4, 75, 1e-8f, 1f);
        close(cr[0], cg[0].toArray(), 1e-6, 1e-4, "cosine da");
        close(cr[1], cg[1].toArray(), 1e-6, 1e-4, "cosine db");
    }

    @Test void fusedSgdMatchesTheReferenceOverSeveralSteps() {
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
            for (int i = 0; i < p.length; i++) close(host[i], p[i].toArray(), 1e-6, 1e-5, "SGD parameter " + i);
        }
    }

    /** The fused ops through the Backend interface (what ops.Attention calls) against the CPU backend's fused loops. */
    @Test void backendFusedOpsMatchTheCpu() {
        Backend cpu = Backends.cpu();
        for (int[] s : List.of(new int[] {2, 3, 7, 9}, new int[] {2, 8, 56, 56}, new int[] {2, 16, 7, 7})) {
            Rng rng = new Rng(27);
            Tensor a = Tensor.randn(rng, s), b = Tensor.randn(rng, s), g = Tensor.randn(rng, s);
            Tensor z1 = Tensor.randn(rng, s[0], s[1]), z2 = Tensor.randn(rng, s[0], s[1]);
            String at = " " + java.util.Arrays.toString(s);
            Tensor[] mc = cpu.mutexAttention(a, b), mg = be.mutexAttention(dev(a), dev(b));
            close(mc[0].toArray(), mg[0].toArray(), 1e-5, 1e-4, "mutexAttention" + at);
            close(mc[1].toArray(), mg[1].toArray(), 1e-5, 1e-4, "mutexAttention lse" + at);
            Tensor[] mbc = cpu.mutexAttentionBackward(a, b, mc[1], g), mbg = be.mutexAttentionBackward(dev(a), dev(b), mg[1], dev(g));
            close(mbc[0].toArray(), mbg[0].toArray(), 1e-5, 1e-4, "mutexAttention da" + at);
            close(mbc[1].toArray(), mbg[1].toArray(), 1e-5, 1e-4, "mutexAttention db" + at);
            close(cpu.channelScale(a, z1).toArray(), be.channelScale(dev(a), dev(z1)).toArray(), 1e-6, 1e-5, "channelScale" + at);
            Tensor[] sc = cpu.channelScaleBackward(a, z1, g), sg = be.channelScaleBackward(dev(a), dev(z1), dev(g));
            close(sc[0].toArray(), sg[0].toArray(), 1e-6, 1e-5, "channelScale dx" + at);
            close(sc[1].toArray(), sg[1].toArray(), 1e-5, 1e-4, "channelScale ds" + at);
            close(cpu.fabFuse(a, b, z1, z2).toArray(), be.fabFuse(dev(a), dev(b), dev(z1), dev(z2)).toArray(), 1e-6, 1e-5, "fabFuse" + at);
            Tensor[] fc = cpu.fabFuseBackward(a, b, z1, z2, g), fg = be.fabFuseBackward(dev(a), dev(b), dev(z1), dev(z2), dev(g));
            for (int i = 0; i < 4; i++) close(fc[i].toArray(), fg[i].toArray(), 1e-5, 1e-4, "fabFuse backward output " + i + at);
        }
    }

    /** ops.Attention on device tensors: forward and autograd gradients equal the CPU's; strided inputs too. */
    @Test void attentionOpsWithAutogradMatchTheCpu() {
        Rng rng = new Rng(28);
        Tensor a = Tensor.randn(rng, 2, 4, 6, 5), b = Tensor.randn(rng, 2, 4, 5, 6).transpose(2, 3), g = Tensor.randn(rng, 2, 4, 6, 5);
        Tensor ac = a.detach().requiresGrad(true), bc = b.contiguous().requiresGrad(true);
        Tensor ag = dev(a).requiresGrad(true), bg = dev(b.contiguous()).requiresGrad(true);
        Tensor yc = Attention.mutexAttention(ac, bc), yg = Attention.mutexAttention(ag, bg);
        yc.backward(g);
        yg.backward(dev(g));
        close(yc.toArray(), yg.toArray(), 1e-5, 1e-4, "Attention.mutexAttention");
        close(ac.grad().toArray(), ag.grad().toArray(), 1e-5, 1e-4, "Attention.mutexAttention dF_rei");
        close(bc.grad().toArray(), bg.grad().toArray(), 1e-5, 1e-4, "Attention.mutexAttention dF_rem");
        try (var ignored = GradMode.noGrad()) {
            Tensor s = Tensor.randn(rng, 2, 4);
            close(Attention.channelScale(a, s).toArray(), Attention.channelScale(dev(a).transpose(2, 3).transpose(2, 3), dev(s)).toArray(),
                1e-6, 1e-5, "Attention.channelScale");
        }
    }

    /** ops.Objectives (what nn's Losses call) on device tensors: loss and gradients equal the CPU's. */
    @Test void objectivesWithAutogradMatchTheCpu() {
        Rng rng = new Rng(30);
        Tensor x = Tensor.randn(rng, 37, 3), labels = Tensor.of(new float[37], 37), w = Tensor.of(new float[] {0.7f, 1.3f, 2f}, 3);
        for (int i = 0; i < 37; i++) labels.set(i % 3, i);
        Tensor xc = x.detach().requiresGrad(true), xg = dev(x).requiresGrad(true);
        Tensor lc = org.pulmo.ops.Objectives.crossEntropy(xc, labels, w), lg = org.pulmo.ops.Objectives.crossEntropy(xg, dev(labels), dev(w));
        lc.backward();
        lg.backward();
        close(lc.toArray(), lg.toArray(), 1e-5, 1e-4, "Objectives.crossEntropy");
        close(xc.grad().toArray(), xg.grad().toArray(), 1e-6, 1e-4, "Objectives.crossEntropy dx");
        Tensor a = Tensor.randn(rng, 4, 8, 7, 7), b = Tensor.randn(rng, 4, 8, 7, 7);
        Tensor ac = a.detach().requiresGrad(true), ag = dev(a).requiresGrad(true);
        Tensor cc = org.pulmo.ops.Objectives.cosineSimilarity(ac, b, 1e-8f), cg = org.pulmo.ops.Objectives.cosineSimilarity(ag, dev(b), 1e-8f);
        cc.backward();
        cg.backward();
        close(cc.toArray(), cg.toArray(), 1e-5, 1e-4, "Objectives.cosineSimilarity");
        close(ac.grad().toArray(), ag.grad().toArray(), 1e-6, 1e-4, "Objectives.cosineSimilarity da");
    }

    @Test void sgdUpdateMatchesTheCpuBackend() {
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
                close(p.toArray(), pg.toArray(), 1e-6, 1e-5, "sgdUpdate momentum " + momentum + " nesterov " + nesterov);
                if (momentum != 0) close(buf.toArray(), bufg.toArray(), 1e-6, 1e-5, "sgdUpdate buffer");
            }
    }

    @Test void sgemmKernelsMatchTheCpu() {
        Rng rng = new Rng(25);
        for (boolean ta : new boolean[] {false, true})
            for (boolean tb : new boolean[] {false, true}) {
                int m = 67, n = 45, k = 131;
                Tensor a = Tensor.randn(rng, 2, ta ? k : m, ta ? m : k), b = Tensor.randn(rng, 2, tb ? n : k, tb ? k : n);
                float[] cpu = Backends.cpu().matmul(a, b, ta, tb).toArray();
                Tensor c = be.empty(2, m, n);
                be.gemm().sgemmNaive(ta, tb, m, n, k, 2, CudaBackend.ptr(dev(a)), CudaBackend.ptr(dev(b)), CudaBackend.ptr(c));
                close(cpu, c.toArray(), 1e-4, 1e-4, "sgemm_naive " + ta + tb);
                boolean was = be.gemm().usingCublas();
                be.gemm().forceKernel(true);
                close(cpu, be.matmul(dev(a), dev(b), ta, tb).toArray(), 1e-4, 1e-4, "sgemm_tiled " + ta + tb);
                be.gemm().forceKernel(false);
                if (was) close(cpu, be.matmul(dev(a), dev(b), ta, tb).toArray(), 1e-4, 1e-4, "cuBLAS " + ta + tb);
            }
    }

    @Test void elementwiseOnStridedViewsMatchesTheCpu() {
        Rng rng = new Rng(26);
        Tensor x = Tensor.rand(rng, 0.1f, 2f, 3, 4, 5).permute(2, 0, 1), bias = Tensor.randn(rng, 5, 1, 4);
        Tensor xd = dev(Tensor.rand(rng, 0.1f, 2f, 3, 4, 5)).permute(2, 0, 1);
        for (UnaryOp op : UnaryOp.values())
            close(Backends.cpu().unary(op, Tensor.of(xd.toArray(), 5, 3, 4), 1.5f).toArray(), be.unary(op, xd, 1.5f).toArray(), 1e-6, 1e-5, "unary " + op);
        for (BinaryOp op : BinaryOp.values())
            close(Backends.cpu().binary(op, x, bias).toArray(), be.binary(op, dev(x.contiguous()).permute(0, 1, 2), dev(bias)).toArray(),
                1e-6, 1e-5, "binary " + op);
    }

    // ------------------------------------------------------------------ cuDNN: batch norm, pooling, convolutions

    /** Per-channel BN tolerances: statistics are sums over N*H*W values in a different order. */
    static void closeAll(Tensor[] want, Tensor[] got, double atol, double rtol, String what) {
        for (int i = 0; i < want.length; i++)
            if (want[i] != null) close(want[i].toArray(), got[i].toArray(), atol, rtol, what + " output " + i);
    }

    /**
     * Backend.batchNormTraining / TrainingBackward / Inference on the GPU (cuDNN for eps >= 1e-5, the bn_*
     * kernels below it) against the CPU defaults, with and without affine parameters and running statistics,
     * 4-d and 2-d inputs; the running statistics are updated once, as the CPU updates them.
     */
    @Test @Tag("cudnn") void cudnnBatchNormMatchesTheCpu() {
        Backend cpu = Backends.cpu();
        Rng rng = new Rng(31);
        for (int[] s : List.of(new int[] {4, 8, 7, 7}, new int[] {2, 16, 5, 3}, new int[] {6, 5}))
            for (float eps : new float[] {1e-3f, 1e-5f, 1e-6f})
                for (boolean affine : new boolean[] {true, false}) {
                    int c = s[1];
                    String at = java.util.Arrays.toString(s) + " eps " + eps + (affine ? " affine" : "");
                    Tensor x = Tensor.randn(rng, s).mul(2f).add(0.5f), dy = Tensor.randn(rng, s);
                    Tensor w = affine ? Tensor.rand(rng, 0.5f, 1.5f, c) : null, b = affine ? Tensor.randn(rng, c) : null;
                    Tensor rm = Tensor.randn(rng, c), rv = Tensor.rand(rng, 0.5f, 2f, c);
                    Tensor rmg = dev(rm), rvg = dev(rv);
                    Tensor[] want = cpu.batchNormTraining(x, w, b, rm, rv, 0.1f, eps);
                    Tensor[] got = be.batchNormTraining(dev(x), affine ? dev(w) : null, affine ? dev(b) : null, rmg, rvg, 0.1f, eps);
                    closeAll(want, got, 1e-5, 1e-4, "batchNormTraining " + at);
                    close(rm.toArray(), rmg.toArray(), 1e-6, 1e-5, "running mean after batchNormTraining " + at);
                    close(rv.toArray(), rvg.toArray(), 1e-6, 1e-5, "running var (unbiased) after batchNormTraining " + at);
                    Tensor[] dWant = cpu.batchNormTrainingBackward(dy, x, want[1], want[2], w, eps);
                    Tensor[] dGot = be.batchNormTrainingBackward(dev(dy), dev(x), got[1], got[2], affine ? dev(w) : null, eps);
                    closeAll(dWant, dGot, 1e-5, 1e-4, "batchNormTrainingBackward " + at);
                    closeAll(cpu.batchNormInference(x, w, b, rm, rv, eps),
                        be.batchNormInference(dev(x), affine ? dev(w) : null, affine ? dev(b) : null, rmg, rvg, eps), 1e-5, 1e-4, "batchNormInference " + at);
                    Tensor[] noTrack = be.batchNormTraining(dev(x), null, null, null, null, 0.1f, eps);
                    close(cpu.batchNormTraining(x, null, null, null, null, 0.1f, eps)[0].toArray(), noTrack[0].toArray(), 1e-5, 1e-4,
                        "batchNormTraining without running statistics " + at);
                }
    }

    /** Normalization.batchNorm with autograd on the GPU (cuDNN, eps 1e-3 as DPN uses) against the CPU: y, gradients, running stats. */
    @Test @Tag("cudnn") void batchNormOpWithAutogradMatchesTheCpu() {
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
            String m = training ? " train" : " eval";
            close(yc.toArray(), yg.toArray(), 1e-5, 1e-4, "batchNorm y" + m);
            close(xc.grad().toArray(), xg.grad().toArray(), 1e-5, 1e-4, "batchNorm dx" + m);
            close(wc.grad().toArray(), wg.grad().toArray(), 1e-5, 1e-4, "batchNorm dweight" + m);
            close(bc.grad().toArray(), bg.grad().toArray(), 1e-5, 1e-4, "batchNorm dbias" + m);
            close(rm.toArray(), rmg.toArray(), 1e-6, 1e-5, "batchNorm running mean" + m);
            close(rv.toArray(), rvg.toArray(), 1e-6, 1e-5, "batchNorm running var" + m);
        }
    }

    /**
     * Pooling on the GPU against the CPU: cuDNN max pooling (training form, backward from x and y), the
     * argmax kernels (Backend.maxPool2d and its backward), cuDNN average pooling counting padding or not, and
     * Pooling.maxPool2d / avgPool2d with autograd. Random inputs: no ties in a max window.
     */
    @Test @Tag("cudnn") void poolingMatchesTheCpu() {
        Backend cpu = Backends.cpu();
        Rng rng = new Rng(33);
        List<org.pulmo.backend.Pool2dParams> params = List.of(org.pulmo.backend.Pool2dParams.of(3, 2, 1), org.pulmo.backend.Pool2dParams.of(2, 2, 0),
            new org.pulmo.backend.Pool2dParams(3, 2, 1, 2, 1, 1, true), new org.pulmo.backend.Pool2dParams(3, 3, 2, 2, 1, 1, false));
        for (org.pulmo.backend.Pool2dParams p : params) {
            Tensor x = Tensor.randn(rng, 2, 5, 13, 11);
            String at = " " + p;
            Tensor[] want = cpu.maxPool2d(x, p);
            Tensor dy = Tensor.randn(rng, want[0].shape());
            Tensor xg = dev(x);
            Tensor[] got = be.maxPool2dTraining(xg, p);
            close(want[0].toArray(), got[0].toArray(), 0, 0, "cuDNN max-pool y" + at);
            Tensor dxWant = cpu.maxPool2dBackward(dy, want[1], x.shape());
            close(dxWant.toArray(), be.maxPool2dBackward(dev(dy), xg, got[0], got[1], p).toArray(), 1e-6, 1e-6, "cuDNN max-pool dx" + at);
            Tensor[] k = be.maxPool2d(xg, p);
            close(want[0].toArray(), k[0].toArray(), 0, 0, "maxpool_forward y" + at);
            close(want[1].toArray(), k[1].toArray(), 0, 0, "maxpool_forward argmax" + at);
            close(dxWant.toArray(), be.maxPool2dBackward(dev(dy), k[1], x.shape()).toArray(), 1e-6, 1e-6, "maxpool_backward dx" + at);
            Tensor ya = cpu.avgPool2d(x, p);
            close(ya.toArray(), be.avgPool2d(xg, p).toArray(), 1e-6, 1e-5, "cuDNN avg-pool y" + at);
            Tensor dya = Tensor.randn(rng, ya.shape());
            close(cpu.avgPool2dBackward(dya, x.shape(), p).toArray(), be.avgPool2dBackward(dev(dya), x.shape(), p).toArray(), 1e-6, 1e-5,
                "cuDNN avg-pool dx" + at);
            for (boolean max : new boolean[] {true, false}) {
                Tensor xc = x.detach().requiresGrad(true), xd = dev(x).requiresGrad(true);
                Tensor yc = max ? org.pulmo.ops.Pooling.maxPool2d(xc, p) : org.pulmo.ops.Pooling.avgPool2d(xc, p);
                Tensor yd = max ? org.pulmo.ops.Pooling.maxPool2d(xd, p) : org.pulmo.ops.Pooling.avgPool2d(xd, p);
                Tensor gy = Tensor.randn(rng, yc.shape());
                yc.backward(gy);
                yd.backward(dev(gy));
                close(yc.toArray(), yd.toArray(), 1e-6, 1e-5, (max ? "Pooling.maxPool2d" : "Pooling.avgPool2d") + at);
                close(xc.grad().toArray(), xd.grad().toArray(), 1e-6, 1e-5, (max ? "Pooling.maxPool2d dx" : "Pooling.avgPool2d dx") + at);
            }
        }
    }

    /**
     * Convolutions with algorithms chosen by cuDNN's find and by its heuristics, strict FP32, against the CPU:
     * forward, backward data and backward filter, on the models' kinds of layer (DPN-92's grouped 3x3 with 32
     * groups of 3 channels and of 8, ResNet's 7x7 stride-2 stem, a 1x1 stride-2 projection, a dilated 3x3). In
     * find mode every direction must report that find chose it (a silent fall-back to the heuristics fails).
     */
    @Test @Tag("cudnn") void findAndHeuristicConvolutionsMatchTheCpu() {
        Backend cpu = Backends.cpu();
        org.pulmo.backend.Conv2dParams g32 = org.pulmo.backend.Conv2dParams.of(1, 1, 1, 32);
        record Case(int c, int k, int kh, org.pulmo.backend.Conv2dParams p) {}
        List<Case> cases = List.of(new Case(96, 96, 3, g32), new Case(256, 256, 3, org.pulmo.backend.Conv2dParams.of(2, 1, 1, 32)),
            new Case(3, 16, 7, org.pulmo.backend.Conv2dParams.of(2, 3, 1, 1)), new Case(32, 64, 1, org.pulmo.backend.Conv2dParams.of(2, 0, 1, 1)),
            new Case(8, 8, 3, org.pulmo.backend.Conv2dParams.of(1, 2, 2, 1)));
        Cudnn.AlgoSearch was = be.cudnn().algoSearch();
        List<String> findKeys = new java.util.ArrayList<>();
        try {
            for (Cudnn.AlgoSearch search : Cudnn.AlgoSearch.values()) {
                be.cudnn().setAlgoSearch(search);
                int n = search == Cudnn.AlgoSearch.FIND ? 2 : 3; // a new shape per mode, so that each mode makes its own plans
                Rng rng = new Rng(34);
                for (Case cs : cases) {
                    Tensor x = Tensor.randn(rng, n, cs.c(), 15, 14), w = Tensor.randn(rng, cs.k(), cs.c() / cs.p().groups(), cs.kh(), cs.kh()).mul(0.1f);
                    String at = " " + search + " x " + java.util.Arrays.toString(x.shape()) + " w " + java.util.Arrays.toString(w.shape()) + " " + cs.p();
                    if (search == Cudnn.AlgoSearch.FIND)
                        findKeys.add("x " + java.util.Arrays.toString(x.shape()) + " w " + java.util.Arrays.toString(w.shape()) + " " + cs.p() + " strict FP32: ");
                    Tensor y = cpu.conv2d(x, w, cs.p());
                    Tensor dy = Tensor.randn(rng, y.shape());
                    close(y.toArray(), be.conv2d(dev(x), dev(w), cs.p()).toArray(), 1e-4, 1e-4, "conv2d" + at);
                    close(cpu.conv2dBackwardInput(dy, w, x.shape(), cs.p()).toArray(),
                        be.conv2dBackwardInput(dev(dy), dev(w), x.shape(), cs.p()).toArray(), 1e-4, 1e-4, "conv2dBackwardInput" + at);
                    close(cpu.conv2dBackwardWeight(x, dy, w.shape(), cs.p()).toArray(),
                        be.conv2dBackwardWeight(dev(x), dev(dy), w.shape(), cs.p()).toArray(), 1e-3, 1e-4, "conv2dBackwardWeight" + at);
                }
            }
        } finally { be.cudnn().setAlgoSearch(was); }
        List<String> plans = be.convolutionAlgorithms();
        System.out.println("convolution algorithms:\n  " + String.join("\n  ", plans));
        for (String key : findKeys)
            org.junit.jupiter.api.Assertions.assertEquals(3L, plans.stream().filter(l -> l.startsWith(key) && l.contains("(find,")).count(),
                "all three directions of " + key + "chosen by find:\n" + String.join("\n", plans));
        org.junit.jupiter.api.Assertions.assertTrue(plans.stream().filter(l -> l.contains("strict FP32")).allMatch(l -> l.endsWith(", FMA math)")),
            "strict FP32 convolutions run with CUDNN_FMA_MATH");
    }

    /**
     * TF32 mode (the training default): find may pick tensor-op algorithms, whose 10-bit mantissas put the
     * result within about 1e-3 relative L2 of the FP32 CPU; asserted at 1e-2. The plans carry the mode in their key.
     */
    @Test @Tag("cudnn") void tf32ConvolutionsStayCloseToTheCpu() {
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
                org.junit.jupiter.api.Assertions.assertTrue(err <= 1e-2, "TF32 convolution direction " + i + ": relL2 " + err);
            }
        } finally { be.setStrictFp32(true); }
        org.junit.jupiter.api.Assertions.assertEquals(3L, be.convolutionAlgorithms().stream()
            .filter(l -> l.startsWith("x [4, 128, 14, 14] w [128, 4, 3, 3]") && l.contains(" TF32: ")).count(), "three TF32 plans");
    }

    @Test void scopeReturnsMemoryEveryStep() {
        long before = be.memoryStats().inUseBytes();
        for (int step = 0; step < 20; step++) {
            try (MemoryScope s = MemoryScope.open()) {
                Tensor a = be.fromArray(new float[4096], new int[] {64, 64});
                be.matmul(a, a, false, true);
            }
            org.junit.jupiter.api.Assertions.assertEquals(before, be.memoryStats().inUseBytes(), "in-use bytes after step " + step);
        }
    }
}
