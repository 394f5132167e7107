package org.pulmo.ops;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import org.pulmo.autograd.Graph;
import org.pulmo.backend.Backends;
import org.pulmo.tensor.Device;
import org.pulmo.tensor.Shapes;
import org.pulmo.tensor.Tensor;

/**
 * Layout ops: views over the same storage (no copy) and the copies that concatenation and
 * non-viewable reshapes need. The backward of a view is the inverse view of the gradient; the backward of a
 * narrow writes the gradient into a zero tensor of the input's shape.
 */
public final class Views {
    private Views() {}

    // ---- reshape / view / flatten

    public static Tensor reshape(Tensor x, int... newShape) {
        int[] shape = resolve(x, newShape, "reshape");
        if (!x.isContiguous()) x = copy(x);
        return view(x, shape);
    }

    /** Like reshape, but only for contiguous input: never copies. */
    public static Tensor view(Tensor x, int... newShape) {
        int[] shape = resolve(x, newShape, "view");
        if (!x.isContiguous())
            throw new IllegalArgumentException("view: tensor of shape " + Shapes.str(x.shape()) + " with strides "
                + Shapes.str(x.strides()) + " is not contiguous; use reshape() (which copies) or contiguous() first");
        int[] inShape = x.shape();
        Tensor out = Tensor.view(x.storage(), shape, Shapes.contiguousStrides(shape), x.offset());
        return Graph.record("reshape", out, g -> new Tensor[] {reshape(g, inShape)}, x);
    }

    public static Tensor flatten(Tensor x, int startDim) {
        int r = x.dim(), s = Shapes.dim(startDim, r, "flatten");
        int[] shape = Arrays.copyOf(x.shape(), s + 1);
        shape[s] = -1;
        return reshape(x, shape);
    }

    private static int[] resolve(Tensor x, int[] newShape, String op) {
        int[] shape = newShape.clone();
        long known = 1;
        int infer = -1;
        for (int i = 0; i < shape.length; i++) {
            if (shape[i] == -1) {
                if (infer >= 0) throw new IllegalArgumentException(op + ": only one -1 allowed in " + Shapes.str(newShape));
                infer = i;
            } else if (shape[i] < 0) {
                throw new IllegalArgumentException(op + ": negative size in " + Shapes.str(newShape));
            } else known *= shape[i];
        }
        long n = x.numel();
        if (infer >= 0) {
            if (known == 0 || n % known != 0)
                throw new IllegalArgumentException(op + ": cannot reshape " + Shapes.str(x.shape()) + " (" + n + " elements) to " + Shapes.str(newShape));
            shape[infer] = (int) (n / known);
        }
        if (Shapes.numel(shape) != n)
            throw new IllegalArgumentException(op + ": cannot reshape " + Shapes.str(x.shape()) + " (" + n + " elements) to " + Shapes.str(newShape));
        return shape;
    }

    // ---- permute / transpose

    public static Tensor permute(Tensor x, int... dims) {
        int r = x.dim();
        if (dims.length != r) throw new IllegalArgumentException("permute: " + Shapes.str(dims) + " is not a permutation of " + r + " dims");
        int[] shape = x.shape(), strides = x.strides(), ns = new int[r], nst = new int[r], inverse = new int[r];
        boolean[] used = new boolean[r];
        for (int i = 0; i < r; i++) {
            int d = Shapes.dim(dims[i], r, "permute");
            if (used[d]) throw new IllegalArgumentException("permute: dimension " + d + " repeated in " + Shapes.str(dims));
            used[d] = true;
            ns[i] = shape[d];
            nst[i] = strides[d];
            inverse[d] = i;
        }
        Tensor out = Tensor.view(x.storage(), ns, nst, x.offset());
        return Graph.record("permute", out, g -> new Tensor[] {permute(g, inverse)}, x);
    }

    public static Tensor transpose(Tensor x, int d0, int d1) {
        int r = x.dim();
        int[] p = new int[r];
        for (int i = 0; i < r; i++) p[i] = i;
        int a = Shapes.dim(d0, r, "transpose"), b = Shapes.dim(d1, r, "transpose");
        p[a] = b;
        p[b] = a;
        return permute(x, p);
    }

    // ---- narrow / slice / select

    public static Tensor narrow(Tensor x, int dim, int start, int length) {
        if (length < 0)
            throw new IllegalArgumentException("narrow: length " + length + " is negative (start " + start + ", dimension " + dim
                + " of shape " + Shapes.str(x.shape()) + ")");
        return slice(x, dim, start, start + length, 1);
    }

    public static Tensor slice(Tensor x, int dim, int start, int end, int step) {
        int d = Shapes.dim(dim, x.dim(), "slice");
        int size = x.shape()[d];
        if (step < 1) throw new IllegalArgumentException("slice: step " + step + " must be at least 1 (dimension " + d + " of shape " + Shapes.str(x.shape()) + ")");
        if (start > end) throw new IllegalArgumentException("slice: start " + start + " is past end " + end + " (dimension " + d + " of shape " + Shapes.str(x.shape()) + ")");
        if (start < 0 || end > size)
            throw new IllegalArgumentException("slice: [" + start + ", " + end + ") step " + step + " is outside dimension "
                + d + " of size " + size + " (shape " + Shapes.str(x.shape()) + ")");
        int[] shape = x.shape(), strides = x.strides();
        int offset = x.offset() + start * strides[d];
        shape[d] = (end - start + step - 1) / step;
        strides[d] *= step;
        Tensor out = Tensor.view(x.storage(), shape, strides, offset);
        int[] inShape = x.shape();
        Device dev = x.device();
        // backward: g into a zero array of x's shape; or, where x already has a gradient pending (the other slices of a
        // tensor split in parts, DPN's paths), added into its part of that gradient, with no new array
        return Graph.recordAccumulating("slice", out, g -> {
            Tensor dx = Tensor.wrap(Backends.of(dev).allocate(Shapes.numel(inShape)), inShape);
            Backends.of(dev).copy(g, slice(dx, d, start, end, step));
            return new Tensor[] {dx};
        }, (g, dx) -> Backends.of(dev).addInPlace(slice(dx, d, start, end, step), g, 1f), x);
    }

    /** A view of one element (rank 0); no graph. */
    public static Tensor select(Tensor x, int... index) {
        int[] shape = x.shape(), strides = x.strides();
        if (index.length != shape.length)
            throw new IllegalArgumentException("index " + Shapes.str(index) + " has " + index.length + " entries for a tensor of shape " + Shapes.str(shape));
        int off = x.offset();
        for (int i = 0; i < index.length; i++) {
            if (index[i] < 0 || index[i] >= shape[i])
                throw new IndexOutOfBoundsException("index " + Shapes.str(index) + " out of bounds for shape " + Shapes.str(shape));
            off += index[i] * strides[i];
        }
        return Tensor.view(x.storage(), new int[0], new int[0], off);
    }

    // ---- squeeze / unsqueeze / expand

    public static Tensor squeeze(Tensor x, int dim) {
        int d = Shapes.dim(dim, x.dim(), "squeeze");
        if (x.shape()[d] != 1) throw new IllegalArgumentException("squeeze: dimension " + d + " of shape " + Shapes.str(x.shape()) + " is not 1");
        int[] shape = remove(x.shape(), d), strides = remove(x.strides(), d);
        int[] inShape = x.shape();
        Tensor out = Tensor.view(x.storage(), shape, strides, x.offset());
        return Graph.record("squeeze", out, g -> new Tensor[] {reshape(g, inShape)}, x);
    }

    public static Tensor unsqueeze(Tensor x, int dim) {
        int d = Shapes.dim(dim, x.dim() + 1, "unsqueeze");
        int[] shape = insert(x.shape(), d, 1), strides = x.strides();
        int st = d < x.dim() ? strides[d] * x.shape()[d] : 1;
        strides = insert(strides, d, st);
        int[] inShape = x.shape();
        Tensor out = Tensor.view(x.storage(), shape, strides, x.offset());
        return Graph.record("unsqueeze", out, g -> new Tensor[] {reshape(g, inShape)}, x);
    }

    /** Broadcasts size-1 dims (and new leading dims) to newShape with zero strides; -1 keeps a size. */
    public static Tensor expand(Tensor x, int... newShape) {
        int[] shape = x.shape(), strides = x.strides();
        if (newShape.length < shape.length)
            throw new IllegalArgumentException("expand: target " + Shapes.str(newShape) + " has fewer dims than " + Shapes.str(shape));
        int off = newShape.length - shape.length;
        int[] ns = newShape.clone(), nst = new int[ns.length];
        for (int i = 0; i < ns.length; i++) {
            if (i < off) { if (ns[i] < 0) throw new IllegalArgumentException("expand: -1 not allowed for a new dim"); nst[i] = 0; continue; }
            int s = shape[i - off];
            if (ns[i] == -1) ns[i] = s;
            if (s == ns[i]) nst[i] = strides[i - off];
            else if (s == 1) nst[i] = 0;
            else throw new IllegalArgumentException("expand: cannot expand shape " + Shapes.str(shape) + " to " + Shapes.str(newShape));
        }
        Tensor out = Tensor.view(x.storage(), ns, nst, x.offset());
        return Graph.record("expand", out, g -> new Tensor[] {Elementwise.sumTo(g, shape)}, x);
    }

    // ---- copies

    /** A contiguous copy; the gradient passes straight through. */
    public static Tensor copy(Tensor x) {
        var be = x.backend();
        Tensor out = Tensor.wrap(be.allocateForOverwrite(x.numel()), x.shape());   // the copy writes every element
        be.copy(x, out);
        return Graph.record("copy", out, g -> new Tensor[] {g}, x);
    }

    public static Tensor toDevice(Tensor x, Device device) {
        Device from = x.device();
        Tensor out = Backends.of(device).fromArray(x.toArray(), x.shape());
        return Graph.record("to(" + device + ")", out, g -> new Tensor[] {g.to(from)}, x);
    }

    // ---- concatenation and split (DPN's dense path)

    /** Concatenates along dim; every other dim must match. Backward hands each part its slice of the gradient. */
    public static Tensor cat(List<Tensor> parts, int dim) {
        if (parts.isEmpty()) throw new IllegalArgumentException("cat: no tensors given");
        Tensor first = parts.get(0);
        int r = first.dim(), d = Shapes.dim(dim, r, "cat");
        int[] outShape = first.shape();
        outShape[d] = 0;
        for (Tensor t : parts) {
            int[] s = t.shape();
            if (s.length != r || !t.device().equals(first.device()))
                throw new IllegalArgumentException("cat: " + Shapes.str(s) + " on " + t.device() + " does not match " + Shapes.str(first.shape()) + " on " + first.device());
            for (int i = 0; i < r; i++)
                if (i != d && s[i] != first.shape()[i])
                    throw new IllegalArgumentException("cat along dim " + d + ": shapes " + Shapes.str(first.shape()) + " and " + Shapes.str(s) + " differ in dim " + i);
            outShape[d] += s[d];
        }
        var be = first.backend();
        Tensor out = Tensor.wrap(be.allocateForOverwrite(Shapes.numel(outShape)), outShape); // the parts cover every element
        int[] starts = new int[parts.size()], sizes = new int[parts.size()];
        int at = 0;
        for (int i = 0; i < parts.size(); i++) {
            Tensor t = parts.get(i);
            starts[i] = at;
            sizes[i] = t.shape()[d];
            Tensor dst = Tensor.view(out.storage(), t.shape(), out.strides(), out.offset() + at * out.strides()[d]);
            be.copy(t, dst);
            at += sizes[i];
        }
        Tensor[] inputs = parts.toArray(new Tensor[0]);
        return Graph.record("cat", out, g -> {
            Tensor[] gs = new Tensor[inputs.length];
            for (int i = 0; i < inputs.length; i++) gs[i] = narrow(g, d, starts[i], sizes[i]);
            return gs;
        }, inputs);
    }

    /** Views of consecutive pieces of the given sizes along dim (they must add up to its size). */
    public static List<Tensor> split(Tensor x, int dim, int... sizes) {
        int d = Shapes.dim(dim, x.dim(), "split");
        if (sizes.length == 0) throw new IllegalArgumentException("split: no sizes given (dimension " + d + " of shape " + Shapes.str(x.shape()) + ")");
        int total = 0;
        for (int s : sizes) {
            if (s < 0) throw new IllegalArgumentException("split: size " + s + " in " + Shapes.str(sizes) + " is negative");
            total += s;
        }
        if (total != x.shape()[d])
            throw new IllegalArgumentException("split: sizes " + Shapes.str(sizes) + " add up to " + total + ", but dim " + d + " of " + Shapes.str(x.shape()) + " is " + x.shape()[d]);
        List<Tensor> out = new ArrayList<>();
        int at = 0;
        for (int s : sizes) { out.add(narrow(x, d, at, s)); at += s; }
        return out;
    }

    private static int[] remove(int[] a, int i) {
        int[] r = new int[a.length - 1];
        System.arraycopy(a, 0, r, 0, i);
        System.arraycopy(a, i + 1, r, i, a.length - i - 1);
        return r;
    }

    private static int[] insert(int[] a, int i, int v) {
        int[] r = new int[a.length + 1];
        System.arraycopy(a, 0, r, 0, i);
        r[i] = v;
        System.arraycopy(a, i, r, i + 1, a.length - i);
        return r;
    }
}
