package org.pulmo.ops;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.pulmo.autograd.GradCheck;
import org.pulmo.backend.Conv2dParams;
import org.pulmo.tensor.Rng;
import org.pulmo.tensor.Tensor;

/**
 * Every op on a non-contiguous view (transposed, permuted, narrowed, stepped, offset, expanded) gives the
 * same values as on a contiguous copy of it. Kernels that assume stride 1 or offset 0 fail here.
 */
class NonContiguousTest {

    /** Views of shape [2, 3, 4] (or [N, C, H, W] = [2, 3, 4, 4] for the 4-D ops) that are not plain arrays. */
    private static Map<String, Tensor> views3(long seed) {
        Rng rng = new Rng(seed);
        Map<String, Tensor> m = new LinkedHashMap<>();
        m.put("transposed", GradCheck.spaced(rng, 4, 3, 2).permute(2, 1, 0));
        m.put("narrowed", GradCheck.spaced(rng, 3, 5, 6).narrow(0, 1, 2).narrow(1, 2, 3).narrow(2, 1, 4));
        m.put("stepped", GradCheck.spaced(rng, 4, 3, 8).slice(0, 1, 4, 2).slice(2, 0, 8, 2));
        m.put("offset", GradCheck.spaced(rng, 30).narrow(0, 5, 24).view(2, 3, 4));
        m.put("expanded", GradCheck.spaced(rng, 2, 1, 4).expand(2, 3, 4));
        return m;
    }

    private static Map<String, Tensor> views4(long seed) {
        Rng rng = new Rng(seed);
        Map<String, Tensor> m = new LinkedHashMap<>();
        m.put("transposedHW", GradCheck.spaced(rng, 2, 3, 5, 4).transpose(2, 3).narrow(2, 0, 4));
        m.put("permutedNC", GradCheck.spaced(rng, 3, 2, 4, 4).permute(1, 0, 2, 3));
        m.put("channelsLast", GradCheck.spaced(rng, 2, 4, 4, 3).permute(0, 3, 1, 2));
        m.put("narrowed", GradCheck.spaced(rng, 2, 5, 6, 4).narrow(1, 1, 3).narrow(2, 2, 4));
        return m;
    }

    private static void same(String what, Function<Tensor, Tensor> op, Map<String, Tensor> views) {
        for (var e : views.entrySet()) {
            Tensor v = e.getValue();
            assertFalse(v.isContiguous() && v.offset() == 0, e.getKey() + " should be a strided view");
            Tensor c = gathered(v);
            assertTrue(c.isContiguous());
            float[] expected = op.apply(c).toArray(), actual = op.apply(v).toArray();
            assertArrayEquals(expected, actual, 1e-6f * (1 + maxAbs(expected)), what + " on a " + e.getKey() + " view");
        }
    }

    /**
     * A contiguous tensor with v's values, read from v's storage by its offset and strides with plain index
     * arithmetic, so that copy, contiguous and toArray on the view are checked against something they did not compute.
     */
    static Tensor gathered(Tensor v) {
        float[] base = ((org.pulmo.tensor.CpuStorage) v.storage()).data();
        int[] shape = v.shape(), strides = v.strides();
        int n = 1;
        for (int d : shape) n *= d;
        float[] out = new float[n];
        int[] idx = new int[shape.length];
        for (int i = 0; i < n; i++) {
            int at = v.offset();
            for (int d = 0; d < shape.length; d++) at += idx[d] * strides[d];
            out[i] = base[at];
            for (int d = shape.length - 1; d >= 0 && ++idx[d] == shape[d]; d--) idx[d] = 0;
        }
        return Tensor.of(out, shape);
    }

    private static float maxAbs(float[] a) {
        float m = 0;
        for (float v : a) m = Math.max(m, Math.abs(v));
        return m;
    }

    @Test void unary() {
        Map<String, Tensor> v = views3(1);
        same("neg", Tensor::neg, v);
        same("exp", Tensor::exp, v);
        same("log|x|", x -> x.abs().log(), v);
        same("sqrt|x|", x -> x.abs().sqrt(), v);
        same("abs", Tensor::abs, v);
        same("square", Tensor::square, v);
        same("relu", Tensor::relu, v);
        same("sigmoid", Tensor::sigmoid, v);
        same("tanh", Tensor::tanh, v);
        same("pow", x -> x.pow(3f), v);
        same("addScalar", x -> x.add(1.5f), v);
        same("scale", x -> x.mul(-2f), v);
        same("copy", Tensor::copy, v);
        same("contiguous", Tensor::contiguous, v);
        same("toArray", x -> x, v);
    }

    @Test void binary() {
        Map<String, Tensor> v = views3(2);
        Tensor other = Tensor.randn(new Rng(3), 2, 3, 4), row = Tensor.randn(new Rng(4), 3, 1);
        Tensor otherT = Tensor.randn(new Rng(5), 4, 3, 2).permute(2, 1, 0);
        for (Tensor o : new Tensor[] {other, row, otherT}) {
            same("add", x -> x.add(o), v);
            same("sub", x -> o.sub(x), v);
            same("mul", x -> x.mul(o), v);
            same("div", x -> o.div(x), v);
            same("maximum", x -> x.maximum(o), v);
            same("minimum", x -> o.minimum(x), v);
            same("pow", x -> x.abs().pow(o), v);
        }
        same("x op x", x -> x.mul(x).add(x), v);
    }

    @Test void reductions() {
        Map<String, Tensor> v = views3(6);
        for (int[] d : new int[][] {{0}, {1}, {2}, {0, 2}, {0, 1, 2}}) {
            same("sum", x -> x.sum(d, true), v);
            same("mean", x -> x.mean(d, false), v);
            same("max", x -> x.max(d, false), v);
            same("min", x -> x.min(d, true), v);
        }
        for (int d = 0; d < 3; d++) {
            int dd = d;
            same("argmax", x -> x.argmax(dd, false), v);
            same("argmin", x -> x.argmin(dd, true), v);
        }
    }

    @Test void softmaxMatmulGather() {
        Map<String, Tensor> v = views3(7);
        for (int d = 0; d < 3; d++) {
            int dd = d;
            same("softmax", x -> x.softmax(dd), v);
            same("logSoftmax", x -> x.logSoftmax(dd), v);
        }
        Tensor w = Tensor.randn(new Rng(8), 4, 5), wt = Tensor.randn(new Rng(9), 5, 4).transpose(0, 1);
        same("matmul N-D x 2-D", x -> x.matmul(w), v);
        same("matmul by strided", x -> x.matmul(wt), v);
        Tensor b = Tensor.randn(new Rng(10), 2, 4, 2);
        same("batched matmul", x -> x.matmul(b), v);
        same("matmul of strided weight", x -> b.transpose(1, 2).matmul(x.transpose(1, 2)), v);
        Tensor idx = Tensor.of(new float[] {3, 0, 1, 1, 2, 2, 0, 3, 1, 0, 0, 2, 3, 3, 1, 2, 0, 1}, 2, 3, 3);
        same("gather", x -> x.gather(2, idx), v);
    }

    @Test void viewsOfViews() {
        Map<String, Tensor> v = views3(11);
        same("reshape", x -> x.reshape(4, 6), v);
        same("flatten", x -> x.flatten(0), v);
        same("permute", x -> x.permute(1, 2, 0), v);
        same("narrow", x -> x.narrow(2, 1, 2), v);
        same("slice", x -> x.slice(2, 0, 4, 3), v);
        same("unsqueeze", x -> x.unsqueeze(1).squeeze(1), v);
        same("cat", x -> Tensor.cat(1, x, x), v);
        same("split", x -> x.split(2, 1, 3).get(1), v);
        same("expand", x -> x.unsqueeze(0).expand(2, 2, 3, 4), v);
    }

    @Test void imageOps() {
        Map<String, Tensor> v = views4(12);
        Rng rng = new Rng(13);
        Tensor w = Tensor.randn(rng, 4, 3, 3, 3), wDepth = Tensor.randn(rng, 3, 1, 3, 3), bias = Tensor.randn(rng, 4);
        Tensor wt = Tensor.randn(rng, 3, 4, 3, 3).transpose(0, 1);
        same("conv2d", x -> x.conv2d(w, bias, 1, 1, 1, 1), v);
        same("conv2d stride 2", x -> x.conv2d(w, null, 2, 1, 1, 1), v);
        same("conv2d depthwise", x -> x.conv2d(wDepth, null, 1, 1, 1, 3), v);
        same("conv2d strided weight", x -> Convolution.conv2d(x, wt, null, Conv2dParams.of(1, 2, 2, 1)), v);
        same("maxPool2d", x -> x.maxPool2d(3, 2, 1), v);
        same("avgPool2d", x -> x.avgPool2d(2, 2, 1), v);
        same("globalAvgPool", Tensor::globalAvgPool, v);
        same("globalMaxPool", Tensor::globalMaxPool, v);
        Tensor g = Tensor.randn(rng, 3), b = Tensor.randn(rng, 3);
        same("batchNorm train", x -> Normalization.batchNorm(x, g, b, null, null, true, 0.1f, 1e-5f), v);
        same("batchNorm eval", x -> Normalization.batchNorm(x, g, b, b, g.abs(), false, 0.1f, 1e-5f), v);
        same("batchNormStats mean", x -> x.batchNormStats().mean(), v);
        same("batchNormStats var", x -> x.batchNormStats().var(), v);
    }

    @Test void backwardOfStridedGradients() {
        // the gradient reaching a kernel's backward may itself be strided (a transpose after the op)
        Rng rng = new Rng(14);
        Tensor x = Tensor.randn(rng, 2, 3, 4, 4).requiresGrad(true), w = Tensor.randn(rng, 3, 3, 3, 3).requiresGrad(true);
        GradCheck.assertGradients(in -> in.get(0).conv2d(in.get(1), null, 1, 1, 1, 1).permute(3, 2, 0, 1), x, w);
        GradCheck.assertGradients(in -> in.get(0).maxPool2d(2, 2, 0).transpose(0, 3),
            GradCheck.spaced(rng, 2, 3, 4, 4).requiresGrad(true));
        GradCheck.assertGradients(in -> in.get(0).avgPool2d(2, 1, 1).transpose(1, 2), x);
        GradCheck.assertGradients(in -> in.get(0).softmax(1).transpose(0, 2), x);
        GradCheck.assertGradients(in -> Normalization.batchNorm(in.get(0), null, null, null, null, true, 0.1f, 1e-5f).permute(2, 3, 1, 0), x);
    }
}
