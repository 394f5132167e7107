package org.pulmo.ops;

import static org.pulmo.autograd.GradCheck.assertGradients;

import java.util.List;
import java.util.function.BinaryOperator;
import java.util.function.UnaryOperator;
import org.junit.jupiter.api.Test;
import org.pulmo.autograd.GradCheck;
import org.pulmo.tensor.Rng;
import org.pulmo.tensor.Tensor;

/** Gradient checks of every elementwise op, with broadcasting on either side and strided inputs. */
class ElementwiseGradTest {

    /** Shape pairs that broadcast: one side, the other side, both sides, a [1] and a rank-0 scalar. */
    private static final int[][][] SHAPES = {
        {{2, 3, 4}, {3, 1}},
        {{3, 1}, {2, 3, 4}},
        {{2, 1, 4}, {3, 1}},
        {{2, 3, 4}, {1}},
        {{}, {2, 3}},
        {{3, 4}, {3, 4}},
    };

    private static void checkBinary(BinaryOperator<Tensor> op, long seed, float lo, float hi, boolean signedB) {
        for (int[][] s : SHAPES) {
            Rng rng = new Rng(seed);
            Tensor a = GradCheck.randnAwayFromZero(rng, 0.2f, s[0]).requiresGrad(true);
            Tensor b = GradCheck.uniform(rng, lo, hi, s[1]);
            if (signedB) b = b.mul(signs(rng, s[1]));
            b = b.detach().requiresGrad(true);
            assertGradients(in -> op.apply(in.get(0), in.get(1)), a, b);
        }
    }

    private static Tensor signs(Rng rng, int[] shape) {
        float[] d = new float[(int) org.pulmo.tensor.Shapes.numel(shape)];
        for (int i = 0; i < d.length; i++) d[i] = rng.nextFloat() < 0.5f ? -1f : 1f;
        return Tensor.of(d, shape);
    }

    @Test void add() { checkBinary(Tensor::add, 1, -2f, 2f, false); }

    @Test void sub() { checkBinary(Tensor::sub, 2, -2f, 2f, false); }

    @Test void mul() { checkBinary(Tensor::mul, 3, -2f, 2f, false); }

    @Test void div() { checkBinary(Tensor::div, 4, 0.5f, 2f, true); } // |b| in [0.5, 2): away from the pole

    @Test void powTensor() {
        // a^b needs a > 0 (ln a in db); exponents of both signs
        for (int[][] s : SHAPES) {
            Rng rng = new Rng(5);
            Tensor a = GradCheck.uniform(rng, 0.5f, 2f, s[0]).requiresGrad(true);
            Tensor b = GradCheck.uniform(rng, -2f, 2f, s[1]).requiresGrad(true);
            assertGradients(in -> in.get(0).pow(in.get(1)), a, b);
        }
    }

    @Test void secondOperandConstant() {
        // only one side requires grad: the other gets nothing and the first is still right
        Rng rng = new Rng(6);
        Tensor a = Tensor.randn(rng, 2, 3).requiresGrad(true), c = GradCheck.uniform(rng, 0.5f, 2f, 3);
        assertGradients(in -> in.get(0).div(c).mul(c.add(1f)).sub(c), a);
        assertGradients(in -> c.div(in.get(0).square().add(1f)), a);
    }

    private static void checkUnary(UnaryOperator<Tensor> op, Tensor x) {
        assertGradients(in -> op.apply(in.get(0)), x.requiresGrad(true));
    }

    private static Tensor signed(long seed, int... shape) { return GradCheck.randnAwayFromZero(new Rng(seed), 0.1f, shape); }

    private static Tensor positive(long seed, int... shape) { return GradCheck.uniform(new Rng(seed), 0.3f, 2.5f, shape); }

    @Test void scalarOps() {
        checkUnary(x -> x.add(2.5f), signed(10, 2, 3));
        checkUnary(x -> x.sub(1.5f), signed(11, 2, 3));
        checkUnary(x -> x.mul(-3f), signed(12, 2, 3));
        checkUnary(x -> x.div(4f), signed(13, 2, 3));
        checkUnary(Tensor::neg, signed(14, 2, 3));
    }

    @Test void powScalar() {
        checkUnary(x -> x.pow(3f), signed(20, 2, 3));
        checkUnary(x -> x.pow(2f), signed(21, 2, 3));
        checkUnary(x -> x.pow(0.5f), positive(22, 2, 3));
        checkUnary(x -> x.pow(-1.5f), positive(23, 2, 3));
    }

    @Test void transcendental() {
        checkUnary(Tensor::exp, signed(30, 3, 4));
        checkUnary(Tensor::log, positive(31, 3, 4));
        checkUnary(Tensor::sqrt, positive(32, 3, 4));
        checkUnary(Tensor::sigmoid, signed(33, 3, 4).mul(2f));
        checkUnary(Tensor::tanh, signed(34, 3, 4));
    }

    @Test void polynomialAndKinks() {
        checkUnary(Tensor::square, signed(40, 3, 4));
        checkUnary(Tensor::abs, GradCheck.spaced(new Rng(41), 3, 4));  // away from the kink at 0
        checkUnary(Tensor::relu, GradCheck.spaced(new Rng(42), 3, 4));
    }

    /**
     * max(a + b, 0) as one op: by finite differences with the sums kept off the kink (a spaced set split into a and b
     * with b small), on equal shapes (the fused path) and broadcasting ones (add then relu), and the same tensor on both
     * sides (its gradient is the sum of the two). Values equal relu(add) exactly.
     */
    @Test void addRelu() {
        Rng rng = new Rng(44);
        Tensor a = GradCheck.spaced(rng, 3, 4).requiresGrad(true);
        Tensor b = GradCheck.uniform(rng, -0.01f, 0.01f, 3, 4).requiresGrad(true);
        assertGradients(in -> in.get(0).addRelu(in.get(1)), a, b);
        assertGradients(in -> in.get(0).addRelu(in.get(0)), a);
        assertGradients(in -> in.get(0).addRelu(in.get(1)), a, GradCheck.uniform(rng, -0.01f, 0.01f, 4).requiresGrad(true));
        Tensor x = Tensor.randn(rng, 2, 3, 5, 7), y = Tensor.randn(rng, 2, 3, 5, 7);
        org.junit.jupiter.api.Assertions.assertArrayEquals(x.add(y).relu().toArray(), x.addRelu(y).toArray());
    }

    @Test void maximumAndMinimum() {
        for (int[][] s : SHAPES) {
            // a and b drawn from one spaced set: no element of a is within the gap of any element of b
            int na = (int) org.pulmo.tensor.Shapes.numel(s[0]), nb = (int) org.pulmo.tensor.Shapes.numel(s[1]);
            float[] v = GradCheck.spaced(new Rng(50), na + nb).toArray();
            Tensor a = Tensor.of(java.util.Arrays.copyOfRange(v, 0, na), s[0]).requiresGrad(true);
            Tensor b = Tensor.of(java.util.Arrays.copyOfRange(v, na, na + nb), s[1]).requiresGrad(true);
            assertGradients(in -> in.get(0).maximum(in.get(1)), a, b);
            assertGradients(in -> in.get(0).minimum(in.get(1)), a, b);
        }
    }

    /** Where a and b tie, each gets half of the gradient (PyTorch's rule); elsewhere the larger (smaller) one all of it. */
    @Test void maximumAndMinimumSplitATieInHalves() {
        Tensor a = Tensor.of(new float[] {1, 2, 0}, 3).requiresGrad(true), b = Tensor.of(new float[] {1, 1, 5}, 3).requiresGrad(true);
        a.maximum(b).sum().backward();
        org.junit.jupiter.api.Assertions.assertArrayEquals(new float[] {0.5f, 1, 0}, a.grad().toArray());
        org.junit.jupiter.api.Assertions.assertArrayEquals(new float[] {0.5f, 0, 1}, b.grad().toArray());
        a.zeroGrad();
        b.zeroGrad();
        a.minimum(b).sum().backward();
        org.junit.jupiter.api.Assertions.assertArrayEquals(new float[] {0.5f, 0, 1}, a.grad().toArray());
        org.junit.jupiter.api.Assertions.assertArrayEquals(new float[] {0.5f, 1, 0}, b.grad().toArray());
    }

    /** At a base of 0 the formulas' 0 * inf would be NaN and poison every earlier gradient; the limits (PyTorch's) are 0. */
    @Test void powAtAZeroBaseHasFiniteGradients() {
        Tensor x = Tensor.of(new float[] {0, 2}, 2).requiresGrad(true);
        x.pow(0f).sum().backward();
        org.junit.jupiter.api.Assertions.assertArrayEquals(new float[] {0, 0}, x.grad().toArray(), "x^0 is constant");
        Tensor a = Tensor.of(new float[] {0, 0, 0, 2}, 4).requiresGrad(true), b = Tensor.of(new float[] {2, 0.5f, 0, 3}, 4).requiresGrad(true);
        a.pow(b).sum().backward();
        // da = b a^(b-1): 0, inf (0.5 * 0^-0.5, as PyTorch), 0 (b = 0), 3 * 4; db = a^b ln a: 0, 0, 0 (0^0 ln 0 taken as 0), 8 ln 2
        org.junit.jupiter.api.Assertions.assertArrayEquals(new float[] {0, Float.POSITIVE_INFINITY, 0, 12}, a.grad().toArray(), 1e-5f);
        org.junit.jupiter.api.Assertions.assertArrayEquals(new float[] {0, 0, 0, (float) (8 * Math.log(2))}, b.grad().toArray(), 1e-5f);
        // a negative exponent keeps its limit: 0^-1 ln 0 = inf * -inf = -inf (PyTorch too), not NaN
        Tensor z = Tensor.of(new float[] {0}, 1), e = Tensor.of(new float[] {-1}, 1).requiresGrad(true);
        z.pow(e).sum().backward();
        org.junit.jupiter.api.Assertions.assertEquals(Float.NEGATIVE_INFINITY, e.grad().toArray()[0]);
    }

    @Test void stridedInputs() {
        // inputs that are transposed and narrowed views: backward must map gradients through the strides
        Rng rng = new Rng(60);
        Tensor a = GradCheck.randnAwayFromZero(rng, 0.2f, 4, 3).transpose(0, 1).requiresGrad(true);      // [3, 4]
        Tensor b = GradCheck.uniform(rng, 0.5f, 2f, 3, 6).narrow(1, 1, 4).requiresGrad(true);          // [3, 4]
        assertGradients(in -> in.get(0).mul(in.get(1)).add(in.get(0).div(in.get(1))), a, b);
        assertGradients(in -> in.get(1).log().mul(in.get(0).tanh()), a, b);
        assertGradients(in -> in.get(0).pow(2f).sub(in.get(1).sqrt()), a, b);
    }

    @Test void composition() {
        // a small expression with shared subterms: sigmoid(a*b + c) * exp(-a)
        Rng rng = new Rng(70);
        Tensor a = Tensor.randn(rng, 2, 3).requiresGrad(true), b = Tensor.randn(rng, 3).requiresGrad(true);
        Tensor c = Tensor.randn(rng, 2, 1).requiresGrad(true);
        assertGradients(in -> in.get(0).mul(in.get(1)).add(in.get(2)).sigmoid().mul(in.get(0).neg().exp()), a, b, c);
    }

    @Test void listHelperMarksLeaves() {
        Tensor[] l = GradCheck.leaves(Tensor.randn(new Rng(80), 3), Tensor.randn(new Rng(81), 3));
        assertGradients(in -> in.get(0).mul(in.get(1)), l);
        assertGradients(in -> Tensor.cat(List.of(in.get(0), in.get(1)), 0).tanh(), l);
    }
}
