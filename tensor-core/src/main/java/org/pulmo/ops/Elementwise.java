package org.pulmo.ops;

import java.util.Arrays;
import org.pulmo.autograd.Graph;
import org.pulmo.backend.Backend;
import org.pulmo.backend.BinaryOp;
import org.pulmo.backend.UnaryOp;
import org.pulmo.tensor.Shapes;
import org.pulmo.tensor.Tensor;

/**
 * Elementwise ops with NumPy broadcasting. A broadcast input's gradient is summed back to its shape
 * ({@link #sumTo}). Backward formulas are written with the same ops, under no-grad.
 */
public final class Elementwise {
    private Elementwise() {}

    static Backend backend(String op, Tensor a, Tensor b) {
        if (!a.device().equals(b.device()))
            throw new IllegalArgumentException(op + ": tensors on different devices: " + Shapes.str(a.shape()) + " on "
                + a.device() + " and " + Shapes.str(b.shape()) + " on " + b.device());
        return a.backend();
    }

    /** Sums g over the dims that broadcasting added or stretched, giving a tensor of {@code shape}. */
    public static Tensor sumTo(Tensor g, int[] shape) {
        int[] gs = g.shape();
        if (Arrays.equals(gs, shape)) return g;
        int lead = gs.length - shape.length;
        int n = 0;
        int[] dims = new int[gs.length];
        for (int i = 0; i < gs.length; i++)
            if (i < lead || (shape[i - lead] == 1 && gs[i] != 1)) dims[n++] = i;
        Tensor s = n == 0 ? g : Reductions.sum(g, Arrays.copyOf(dims, n), true);
        return Views.reshape(s, shape);
    }

    private static Tensor bin(BinaryOp op, Tensor a, Tensor b) { return backend(op.name().toLowerCase(), a, b).binary(op, a, b); }

    private static Tensor un(UnaryOp op, Tensor x, float alpha) { return x.backend().unary(op, x, alpha); }

    // y = a + b;  da = g, db = g
    public static Tensor add(Tensor a, Tensor b) {
        int[] as = a.shape(), bs = b.shape();
        return Graph.record("add", bin(BinaryOp.ADD, a, b), g -> new Tensor[] {sumTo(g, as), sumTo(g, bs)}, a, b);
    }

    // y = a - b;  da = g, db = -g
    public static Tensor sub(Tensor a, Tensor b) {
        int[] as = a.shape(), bs = b.shape();
        return Graph.record("sub", bin(BinaryOp.SUB, a, b), g -> new Tensor[] {sumTo(g, as), sumTo(neg(g), bs)}, a, b);
    }

    // y = a * b;  da = g * b, db = g * a
    public static Tensor mul(Tensor a, Tensor b) {
        return Graph.record("mul", bin(BinaryOp.MUL, a, b),
            g -> new Tensor[] {a.requiresGrad() ? sumTo(mul(g, b), a.shape()) : null,
                               b.requiresGrad() ? sumTo(mul(g, a), b.shape()) : null}, a, b);
    }

    // y = a / b;  da = g / b, db = -g * a / b^2 = -g * y / b
    public static Tensor div(Tensor a, Tensor b) {
        Tensor y = bin(BinaryOp.DIV, a, b);
        Tensor yv = y.detach();
        return Graph.record("div", y,
            g -> new Tensor[] {a.requiresGrad() ? sumTo(div(g, b), a.shape()) : null,
                               b.requiresGrad() ? sumTo(neg(div(mul(g, yv), b)), b.shape()) : null}, a, b);
    }

    // y = x + c
    public static Tensor addScalar(Tensor x, float c) {
        return Graph.record("add_scalar", un(UnaryOp.ADD_SCALAR, x, c), g -> new Tensor[] {g}, x);
    }

    // y = c * x;  dx = c * g
    public static Tensor scale(Tensor x, float c) {
        return Graph.record("scale", un(UnaryOp.SCALE, x, c), g -> new Tensor[] {scale(g, c)}, x);
    }

    public static Tensor neg(Tensor x) {
        return Graph.record("neg", un(UnaryOp.NEG, x, 0), g -> new Tensor[] {neg(g)}, x);
    }

    // y = x^p;  dx = g * p * x^(p-1), and 0 for p = 0 (x^0 is constant; 0 * 0^-1 would be NaN at x = 0), as PyTorch
    public static Tensor pow(Tensor x, float p) {
        return Graph.record("pow", un(UnaryOp.POW, x, p), g -> new Tensor[] {
            p == 0f ? Tensor.full(0f, g.device(), x.shape()) : mul(g, scale(pow(x, p - 1), p))}, x);
    }

    // y = a^b;  da = g * b * a^(b-1),  db = g * y * ln(a). Where the limits are 0 the formulas give NaN, and PyTorch's
    // gradients are 0: da where b = 0 (0 * 0^-1 at a = 0), db where a = 0 and b >= 0 (0^b * ln 0). So the exponent of da
    // is taken as 0 where b = 0 (b * a^0 = 0) and ln(a) as ln(1) = 0 where a = 0 and b >= 0 (for b < 0, inf * -inf = -inf
    // stands, as in PyTorch).
    public static Tensor pow(Tensor a, Tensor b) {
        Tensor y = bin(BinaryOp.POW, a, b);
        Tensor yv = y.detach();
        return Graph.record("pow", y, g -> {
            Tensor zero = Tensor.full(0f, g.device());
            return new Tensor[] {
                a.requiresGrad() ? sumTo(mul(g, mul(b, pow(a, add(addScalar(b, -1), bin(BinaryOp.EQ, b, zero))))), a.shape()) : null,
                b.requiresGrad() ? sumTo(mul(g, mul(yv, log(add(a, mul(bin(BinaryOp.EQ, a, zero), bin(BinaryOp.GE, b, zero)))))), b.shape()) : null};
        }, a, b);
    }

    // y = e^x;  dx = g * y  (y saved: cheaper than recomputing exp)
    public static Tensor exp(Tensor x) {
        Tensor y = un(UnaryOp.EXP, x, 0);
        Tensor yv = y.detach();
        return Graph.record("exp", y, g -> new Tensor[] {mul(g, yv)}, x);
    }

    // y = ln x;  dx = g / x
    public static Tensor log(Tensor x) {
        return Graph.record("log", un(UnaryOp.LOG, x, 0), g -> new Tensor[] {div(g, x)}, x);
    }

    // y = sqrt x;  dx = g / (2 y)
    public static Tensor sqrt(Tensor x) {
        Tensor y = un(UnaryOp.SQRT, x, 0);
        Tensor yv = y.detach();
        return Graph.record("sqrt", y, g -> new Tensor[] {div(g, scale(yv, 2f))}, x);
    }

    // y = |x|;  dx = g * sign(x)
    public static Tensor abs(Tensor x) {
        return Graph.record("abs", un(UnaryOp.ABS, x, 0), g -> new Tensor[] {mul(g, un(UnaryOp.SIGN, x, 0))}, x);
    }

    // y = x^2;  dx = 2 x g
    public static Tensor square(Tensor x) {
        return Graph.record("square", un(UnaryOp.SQUARE, x, 0), g -> new Tensor[] {mul(g, scale(x, 2f))}, x);
    }

    // y = max(a, b);  the gradient goes to a where a > b, to b where b > a, and half to each where they tie (as PyTorch)
    public static Tensor maximum(Tensor a, Tensor b) {
        Tensor y = bin(BinaryOp.MAX, a, b);
        return Graph.record("maximum", y, g -> tieSplit(g, bin(BinaryOp.GT, a, b), bin(BinaryOp.EQ, a, b), a, b), a, b);
    }

    // y = min(a, b);  the gradient goes to a where a < b, to b where b < a, and half to each where they tie
    public static Tensor minimum(Tensor a, Tensor b) {
        Tensor y = bin(BinaryOp.MIN, a, b);
        return Graph.record("minimum", y, g -> tieSplit(g, bin(BinaryOp.GT, b, a), bin(BinaryOp.EQ, a, b), a, b), a, b);
    }

    /** g to a where {@code wins} (a chosen alone), to b where neither wins nor ties, half of it to each where {@code ties}. */
    private static Tensor[] tieSplit(Tensor g, Tensor wins, Tensor ties, Tensor a, Tensor b) {
        Tensor maskA = add(wins, scale(ties, 0.5f));
        return new Tensor[] {sumTo(mul(g, maskA), a.shape()), sumTo(mul(g, addScalar(neg(maskA), 1f)), b.shape())};
    }

    // y = max(x, 0);  dx = g * [y > 0]  (y saved; one fused pass instead of a mask and a product)
    public static Tensor relu(Tensor x) {
        Tensor y = un(UnaryOp.RELU, x, 0);
        Tensor yv = y.detach();
        return Graph.record("relu", y, g -> new Tensor[] {backend("relu", g, yv).binary(BinaryOp.RELU_BACKWARD, g, yv)}, x);
    }

    // y = max(a + b, 0);  da = db = g where y > 0, else 0. The values of relu(add(a, b)) as one op, which keeps only y
    // for backward (not the sum as well): a residual block's sum and its ReLU.
    public static Tensor addRelu(Tensor a, Tensor b) {
        if (!java.util.Arrays.equals(a.shape(), b.shape())) return relu(add(a, b)); // broadcasting: the two ops
        Tensor y = backend("addRelu", a, b).addRelu(a, b);
        Tensor yv = y.detach();
        return Graph.record("addRelu", y, g -> {
            Tensor gm = backend("addRelu", g, yv).binary(BinaryOp.RELU_BACKWARD, g, yv);
            return new Tensor[] {gm, gm};
        }, a, b);
    }

    // y = 1 / (1 + e^-x);  dx = g * y * (1 - y)
    public static Tensor sigmoid(Tensor x) {
        Tensor y = un(UnaryOp.SIGMOID, x, 0);
        Tensor yv = y.detach();
        return Graph.record("sigmoid", y, g -> new Tensor[] {mul(g, mul(yv, addScalar(neg(yv), 1f)))}, x);
    }

    // y = tanh x;  dx = g * (1 - y^2)
    public static Tensor tanh(Tensor x) {
        Tensor y = un(UnaryOp.TANH, x, 0);
        Tensor yv = y.detach();
        return Graph.record("tanh", y, g -> new Tensor[] {mul(g, addScalar(neg(square(yv)), 1f))}, x);
    }
}
