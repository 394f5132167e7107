package org.pulmo.backend;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.pulmo.ops.Normalization;
import org.pulmo.ops.Pooling;
import org.pulmo.tensor.Rng;
import org.pulmo.tensor.Tensor;

/**
 * The training-path methods of {@link Backend} (batchNormTraining / TrainingBackward / Inference,
 * maxPool2dTraining and the max-pool backward from x and y) that a device may implement in one library call:
 * their default bodies, which the CPU backend uses, give bit for bit what the composed methods give, and the
 * ops built on them (Normalization.batchNorm, Pooling.maxPool2d) give what the composition of the primitives
 * gave before, running statistics included.
 */
class TrainingPathDefaultsTest {
    private final Backend cpu = Backends.cpu();

    private static void same(Tensor expected, Tensor actual, String what) {
        assertArrayEquals(expected.shape(), actual.shape(), what + " shape");
        assertArrayEquals(expected.toArray(), actual.toArray(), what); // exact: the same float operations in the same order
    }

    /** What Normalization.batchNorm did in training before the fused method: stats, invStd, running update, apply. */
    private Backend.BatchNormOut composedTraining(Tensor x, Tensor w, Tensor b, Tensor rm, Tensor rv, float momentum, float eps) {
        Backend.Moments mv = cpu.batchNormStats(x);
        Tensor invStd = cpu.unary(UnaryOp.POW, cpu.unary(UnaryOp.ADD_SCALAR, mv.var(), eps), -0.5f);
        if (rm != null && rv != null) {
            long m = x.numel() / x.shape()[1];
            float unbias = (float) (m / (double) (m - 1));
            cpu.addInPlace(rm, rm, -momentum);
            cpu.addInPlace(rm, mv.mean(), momentum);
            cpu.addInPlace(rv, rv, -momentum);
            cpu.addInPlace(rv, mv.var(), momentum * unbias);
        }
        return new Backend.BatchNormOut(cpu.batchNormApply(x, mv.mean(), invStd, w, b), mv.mean(), invStd);
    }

    /** {y, mean, invStd}, for the loops below that compare all three. */
    private static Tensor[] parts(Backend.BatchNormOut o) { return new Tensor[] {o.y(), o.mean(), o.invStd()}; }

    /** {dx, dWeight, dBias}, for the loops below that compare all three. */
    private static Tensor[] parts(Backend.BatchNormGrads d) { return new Tensor[] {d.dx(), d.dWeight(), d.dBias()}; }

    @Test void batchNormTrainingEqualsStatsThenApply() {
        Rng rng = new Rng(71);
        for (int[] s : new int[][] {{3, 4, 5, 6}, {7, 3}, {2, 5, 3, 2, 2}}) {
            int c = s[1];
            Tensor x = Tensor.randn(rng, s), w = Tensor.randn(rng, c), b = Tensor.randn(rng, c);
            for (boolean affine : new boolean[] {true, false})
                for (boolean track : new boolean[] {true, false}) {
                    String at = Arrays.toString(s) + (affine ? " affine" : "") + (track ? " tracked" : "");
                    Tensor rm1 = track ? Tensor.randn(rng, c) : null, rv1 = track ? Tensor.rand(rng, 0.5f, 2f, c) : null;
                    Tensor rm2 = track ? rm1.mul(1f) : null, rv2 = track ? rv1.mul(1f) : null;
                    float[] rmBefore = track ? rm1.toArray() : null;
                    Tensor[] got = parts(cpu.batchNormTraining(x, affine ? w : null, affine ? b : null, rm1, rv1, 0.1f, 1e-3f));
                    Tensor[] want = parts(composedTraining(x, affine ? w : null, affine ? b : null, rm2, rv2, 0.1f, 1e-3f));
                    for (int i = 0; i < 3; i++) same(want[i], got[i], "batchNormTraining output " + i + " " + at);
                    if (track) {
                        same(rm2, rm1, "running mean " + at);
                        same(rv2, rv1, "running var " + at);
                        assertFalse(Arrays.equals(rmBefore, rm1.toArray()), "the running mean moved " + at);
                    }
                    Tensor dy = Tensor.randn(rng, s);
                    Tensor[] d = parts(cpu.batchNormTrainingBackward(dy, x, got[1], got[2], affine ? w : null, 1e-3f));
                    Tensor[] dWant = parts(cpu.batchNormBackward(dy, x, want[1], want[2], affine ? w : null));
                    for (int i = 0; i < 3; i++) same(dWant[i], d[i], "batchNormTrainingBackward output " + i + " " + at);
                }
        }
    }

    /**
     * The CPU backend's paired batch norm (each half normalised straight into one output, one dx) against the
     * interface's default (two calls and copies), bit for bit: y, both halves' statistics, the running statistics,
     * dx and the summed parameter gradients, with and without ReLU, affine or not, the second half moving the running
     * statistics or not.
     */
    @Test void pairedBatchNormEqualsTheDefault() throws Exception {
        java.util.Set<String> paired = java.util.Set.of("batchNormTrainingPaired", "batchNormTrainingPairedBackward");
        Backend byDefault = (Backend) java.lang.reflect.Proxy.newProxyInstance(Backend.class.getClassLoader(), new Class<?>[] {Backend.class},
            (proxy, m, args) -> paired.contains(m.getName()) ? java.lang.reflect.InvocationHandler.invokeDefault(proxy, m, args) : m.invoke(cpu, args));
        Rng rng = new Rng(74);
        for (int[] s : new int[][] {{4, 3, 5, 7}, {6, 4}})
            for (boolean relu : new boolean[] {false, true})
                for (boolean affine : new boolean[] {false, true})
                    for (boolean second : new boolean[] {false, true}) {
                        int c = s[1];
                        String at = Arrays.toString(s) + " relu=" + relu + " affine=" + affine + " second=" + second;
                        Tensor x = Tensor.randn(rng, s), dy = Tensor.randn(rng, s);
                        Tensor w = affine ? Tensor.randn(rng, c) : null, b = affine ? Tensor.randn(rng, c) : null;
                        Tensor rm1 = Tensor.randn(rng, c), rv1 = Tensor.rand(rng, 0.5f, 2f, c), rm2 = rm1.mul(1f), rv2 = rv1.mul(1f);
                        Backend.PairedBatchNormOut got = cpu.batchNormTrainingPaired(x, w, b, rm1, rv1, second, 0.1f, 1e-3f, relu);
                        Backend.PairedBatchNormOut want = byDefault.batchNormTrainingPaired(x, w, b, rm2, rv2, second, 0.1f, 1e-3f, relu);
                        same(want.y(), got.y(), "y " + at);
                        same(want.first().mean(), got.first().mean(), "first mean " + at);
                        same(want.second().invStd(), got.second().invStd(), "second invStd " + at);
                        same(rm2, rm1, "running mean " + at);
                        same(rv2, rv1, "running var " + at);
                        Tensor[] gGot = parts(cpu.batchNormTrainingPairedBackward(dy, x, got.y(), got, w, b, 1e-3f, relu));
                        Tensor[] gWant = parts(byDefault.batchNormTrainingPairedBackward(dy, x, want.y(), want, w, b, 1e-3f, relu));
                        same(gWant[0], gGot[0], "dx " + at);
                        if (affine) for (int i = 1; i < 3; i++) same(gWant[i], gGot[i], "parameter gradient " + i + " " + at);
                    }
    }

    /** The CPU's one-pass add+ReLU against the default's ADD then RELU, bit for bit: vector bodies, tails, NaN, -0, views. */
    @Test void addReluEqualsAddThenRelu() throws Exception {
        Backend byDefault = (Backend) java.lang.reflect.Proxy.newProxyInstance(Backend.class.getClassLoader(), new Class<?>[] {Backend.class},
            (proxy, m, args) -> m.getName().equals("addRelu") ? java.lang.reflect.InvocationHandler.invokeDefault(proxy, m, args) : m.invoke(cpu, args));
        Rng rng = new Rng(75);
        for (int[] s : new int[][] {{3, 4, 5, 7}, {70001}, {1}}) {
            float[] av = Tensor.randn(rng, s).toArray(), bv = Tensor.randn(rng, s).toArray();
            av[0] = Float.NaN;
            if (av.length > 2) { av[1] = -0f; bv[1] = 0f; av[2] = -bv[2]; }
            Tensor a = Tensor.of(av, s), b = Tensor.of(bv, s);
            same(byDefault.addRelu(a, b), cpu.addRelu(a, b), Arrays.toString(s));
        }
        Tensor big = Tensor.randn(rng, 4, 6), a = big.narrow(0, 1, 2), b = big.narrow(0, 2, 2); // offset views
        same(byDefault.addRelu(a, b), cpu.addRelu(a, b), "views");
    }

    /**
     * The CPU's fused batch norm + ReLU against the two ops run one after the other (batchNormTraining, ReLU,
     * ReLU's backward, batchNormTrainingBackward): the same bits forward and backward, running statistics
     * included, with planes that leave vector tails, x values exactly at the ReLU's kink and a NaN.
     */
    @Test void batchNormReluEqualsBatchNormThenRelu() {
        Rng rng = new Rng(73);
        for (int[] s : new int[][] {{3, 4, 5, 7}, {2, 3, 17, 19}, {9, 6}}) {
            int c = s[1];
            Tensor w = Tensor.randn(rng, c), b = Tensor.randn(rng, c);
            float[] xv = Tensor.randn(rng, s).toArray();
            xv[1] = 0f;
            if (s.length == 4 && s[3] == 19) xv[xv.length - 2] = Float.NaN;
            Tensor x = Tensor.of(xv, s), dy = Tensor.randn(rng, s);
            for (boolean affine : new boolean[] {true, false}) {
                String at = Arrays.toString(s) + (affine ? " affine" : "");
                Tensor rm1 = Tensor.randn(rng, c), rv1 = Tensor.rand(rng, 0.5f, 2f, c), rm2 = rm1.mul(1f), rv2 = rv1.mul(1f);
                Tensor wa = affine ? w : null, ba = affine ? b : null;
                Tensor[] got = parts(cpu.batchNormReluTraining(x, wa, ba, rm1, rv1, 0.1f, 1e-3f));
                Tensor[] bn = parts(cpu.batchNormTraining(x, wa, ba, rm2, rv2, 0.1f, 1e-3f));
                Tensor y = cpu.unary(UnaryOp.RELU, bn[0], 0f);
                same(y, got[0], "y " + at);
                for (int i = 1; i < 3; i++) same(bn[i], got[i], "statistics " + i + " " + at);
                same(rm2, rm1, "running mean " + at);
                same(rv2, rv1, "running var " + at);
                Tensor[] d = parts(cpu.batchNormReluTrainingBackward(dy, x, got[0], got[1], got[2], wa, ba, 1e-3f));
                Tensor[] dWant = parts(cpu.batchNormTrainingBackward(cpu.binary(BinaryOp.RELU_BACKWARD, dy, y), x, bn[1], bn[2], wa, 1e-3f));
                for (int i = 0; i < 3; i++) same(dWant[i], d[i], "backward output " + i + " " + at);
            }
        }
    }

    /**
     * The interface's own batchNormReluTraining and its backward, which a device backend without a fused kernel runs
     * (CUDA: cuDNN's batch norm, then a ReLU kernel): the values of the CPU's fused pass, and the intermediate each makes
     * (the values before the ReLU; the masked gradient) given back as soon as it has been read, where before it stayed
     * allocated to the end of the step (measured on cuda under the mock driver: DPN-92-SE's step peak at batch 32 x 224
     * 15.8 -> 10.6 GB). Run through a backend whose default methods are the interface's and whose primitives are the CPU's.
     */
    @Test void theDefaultBatchNormReluGivesItsIntermediatesBack() {
        java.util.List<Tensor> reluInputs = new java.util.ArrayList<>(), masked = new java.util.ArrayList<>();
        Backend defaults = (Backend) java.lang.reflect.Proxy.newProxyInstance(Backend.class.getClassLoader(), new Class<?>[] {Backend.class},
            (p, m, args) -> {
                try {
                    if (m.isDefault()) return java.lang.reflect.InvocationHandler.invokeDefault(p, m, args);
                    Object r = m.invoke(cpu, args);
                    if (m.getName().equals("unary") && args[0] == UnaryOp.RELU) reluInputs.add((Tensor) args[1]);
                    if (m.getName().equals("binary") && args[0] == BinaryOp.RELU_BACKWARD) masked.add((Tensor) r);
                    return r;
                } catch (java.lang.reflect.InvocationTargetException e) {
                    throw e.getCause();
                }
            });
        Rng rng = new Rng(74);
        Tensor x = Tensor.randn(rng, 3, 4, 5, 6), w = Tensor.randn(rng, 4), b = Tensor.randn(rng, 4), dy = Tensor.randn(rng, 3, 4, 5, 6);
        Tensor[] want = parts(cpu.batchNormReluTraining(x, w, b, null, null, 0.1f, 1e-3f));
        Tensor[] got = parts(defaults.batchNormReluTraining(x, w, b, null, null, 0.1f, 1e-3f));
        for (int i = 0; i < 3; i++) same(want[i], got[i], "forward output " + i);
        assertEquals(1, reluInputs.size(), "one ReLU");
        assertTrue(reluInputs.get(0).storage().isReleased(), "the values before the ReLU are given back");
        assertFalse(got[0].storage().isReleased() || x.storage().isReleased(), "the output and the input are kept");
        Tensor[] dWant = parts(cpu.batchNormReluTrainingBackward(dy, x, want[0], want[1], want[2], w, b, 1e-3f));
        Tensor[] dGot = parts(defaults.batchNormReluTrainingBackward(dy, x, got[0], got[1], got[2], w, b, 1e-3f));
        for (int i = 0; i < 3; i++) same(dWant[i], dGot[i], "backward output " + i);
        assertEquals(1, masked.size(), "one ReLU backward");
        assertTrue(masked.get(0).storage().isReleased(), "the masked gradient is given back");
        for (Tensor t : new Tensor[] {dy, x, got[0], dGot[0], dGot[1], dGot[2]}) assertFalse(t.storage().isReleased(), "inputs and outputs are kept");
    }

    @Test void batchNormInferenceEqualsInvStdThenApply() {
        Rng rng = new Rng(72);
        Tensor x = Tensor.randn(rng, 2, 3, 4, 5), w = Tensor.randn(rng, 3), b = Tensor.randn(rng, 3);
        Tensor rm = Tensor.randn(rng, 3), rv = Tensor.rand(rng, 0.5f, 2f, 3);
        Backend.BatchNormOut got = cpu.batchNormInference(x, w, b, rm, rv, 1e-5f);
        Tensor invStd = cpu.unary(UnaryOp.POW, cpu.unary(UnaryOp.ADD_SCALAR, rv, 1e-5f), -0.5f);
        same(cpu.batchNormApply(x, rm, invStd, w, b), got.y(), "batchNormInference y");
        same(invStd, got.invStd(), "batchNormInference invStd");
        same(rm, got.mean(), "batchNormInference mean (the running one)");
    }

    @Test void maxPoolTrainingFormEqualsTheArgmaxForm() {
        Rng rng = new Rng(73);
        Tensor x = Tensor.randn(rng, 2, 3, 9, 8);
        Pool2dParams p = new Pool2dParams(3, 3, 2, 2, 1, 1, true);
        Backend.MaxPoolOut ya = cpu.maxPool2d(x, p), yt = cpu.maxPool2dTraining(x, p);
        same(ya.y(), yt.y(), "maxPool2dTraining y");
        assertNotNull(yt.argmax(), "the CPU backend keeps the argmax");
        same(ya.argmax(), yt.argmax(), "maxPool2dTraining argmax");
        Tensor dy = Tensor.randn(rng, ya.y().shape());
        same(cpu.maxPool2dBackward(dy, ya.argmax(), x.shape()), cpu.maxPool2dBackward(dy, x, yt.y(), yt.argmax(), p), "maxPool2dBackward from x and y");
    }

    /** The ops on the fused methods: forward, gradients and running statistics as the primitives composed give them. */
    @Test void opsGiveWhatThePrimitivesGave() {
        Rng rng = new Rng(74);
        Tensor x = Tensor.randn(rng, 4, 3, 5, 5), w = Tensor.randn(rng, 3), b = Tensor.randn(rng, 3), g = Tensor.randn(rng, 4, 3, 5, 5);
        Tensor rm = Tensor.randn(rng, 3), rv = Tensor.rand(rng, 0.5f, 2f, 3), rm2 = rm.mul(1f), rv2 = rv.mul(1f);
        Tensor xg = x.detach().requiresGrad(true), wg = w.detach().requiresGrad(true), bg = b.detach().requiresGrad(true);
        Tensor y = Normalization.batchNorm(xg, wg, bg, rm, rv, true, 0.1f, 1e-3f);
        y.backward(g);
        Tensor[] want = parts(composedTraining(x, w, b, rm2, rv2, 0.1f, 1e-3f));
        same(want[0], y, "batchNorm train y");
        same(rm2, rm, "batchNorm running mean");
        same(rv2, rv, "batchNorm running var");
        Tensor[] d = parts(cpu.batchNormBackward(g, x, want[1], want[2], w));
        same(d[0], xg.grad(), "batchNorm dx");
        same(d[1], wg.grad(), "batchNorm dweight");
        same(d[2], bg.grad(), "batchNorm dbias");

        Tensor ye = Normalization.batchNorm(x, w, b, rm, rv, false, 0.1f, 1e-3f);
        same(cpu.batchNormApply(x, rm, cpu.unary(UnaryOp.POW, cpu.unary(UnaryOp.ADD_SCALAR, rv, 1e-3f), -0.5f), w, b), ye, "batchNorm eval y");

        Pool2dParams p = new Pool2dParams(3, 3, 2, 2, 1, 1, true);
        Tensor xp = x.detach().requiresGrad(true);
        Tensor yp = Pooling.maxPool2d(xp, p);
        Tensor gp = Tensor.randn(rng, yp.shape());
        yp.backward(gp);
        Backend.MaxPoolOut ya = cpu.maxPool2d(x, p);
        same(ya.y(), yp, "maxPool2d y");
        same(cpu.maxPool2dBackward(gp, ya.argmax(), x.shape()), xp.grad(), "maxPool2d dx");
    }
}
