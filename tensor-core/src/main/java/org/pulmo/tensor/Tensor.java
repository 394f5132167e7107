package org.pulmo.tensor;

import java.util.Arrays;
import java.util.List;
import org.pulmo.autograd.Engine;
import org.pulmo.autograd.GradMode;
import org.pulmo.autograd.Node;
import org.pulmo.backend.Backend;
import org.pulmo.backend.Backends;
import org.pulmo.ops.Convolution;
import org.pulmo.ops.Elementwise;
import org.pulmo.ops.Indexing;
import org.pulmo.ops.LinearAlgebra;
import org.pulmo.ops.Normalization;
import org.pulmo.ops.Pooling;
import org.pulmo.ops.Reductions;
import org.pulmo.ops.Softmax;
import org.pulmo.ops.Views;

/**
 * An N-dimensional float32 array: a shape, strides and an offset over a {@link Storage} that views share.
 * Views (reshape of a contiguous tensor, permute, transpose, narrow, squeeze, unsqueeze, expand) never copy;
 * writing through a view changes its base. Every op records its backward when grad mode is on and an input
 * requires grad; {@link #backward()} then fills {@link #grad()} of the leaves.
 *
 * <p>The methods here are the public surface; each op family lives in one class of {@code org.pulmo.ops}
 * with its forward and backward side by side.
 */
public final class Tensor {
    private Storage storage; // replaced only by moveTo, which moves a leaf (a parameter) to another device
    private final int[] shape;
    private int[] strides;
    private int offset;
    private boolean requiresGrad;
    private Tensor grad;
    private Node gradFn;

    private Tensor(Storage storage, int[] shape, int[] strides, int offset) {
        this.storage = storage;
        this.shape = shape;
        this.strides = strides;
        this.offset = offset;
    }

    /** A tensor viewing {@code storage} with the given layout (no copy, no graph). */
    public static Tensor view(Storage storage, int[] shape, int[] strides, int offset) {
        if (shape.length != strides.length)
            throw new IllegalArgumentException("shape " + Shapes.str(shape) + " and strides " + Shapes.str(strides) + " differ in rank");
        for (int s : shape) if (s < 0) throw new IllegalArgumentException("negative size in shape " + Shapes.str(shape));
        // the first and the last element the view reaches must lie in the storage (else it reads what is not there)
        long lo = offset, hi = offset;
        boolean empty = false;
        for (int d = 0; d < shape.length; d++) {
            if (shape[d] == 0) empty = true;
            long reach = (long) (shape[d] - 1) * strides[d];
            if (reach < 0) lo += reach; else hi += reach;
        }
        if (offset < 0 || !empty && (lo < 0 || hi >= storage.size()))   // an empty view reads nothing, wherever it starts
            throw new IllegalArgumentException("a view of shape " + Shapes.str(shape) + ", strides " + Shapes.str(strides) + " and offset " + offset
                + " reaches elements " + lo + " to " + hi + ", outside its storage of " + storage.size());
        return new Tensor(storage, shape.clone(), strides.clone(), offset);
    }

    /** A contiguous tensor over {@code storage}. */
    public static Tensor wrap(Storage storage, int... shape) {
        if (Shapes.numel(shape) > storage.size())
            throw new IllegalArgumentException("shape " + Shapes.str(shape) + " needs " + Shapes.numel(shape) + " elements, storage has " + storage.size());
        return view(storage, shape, Shapes.contiguousStrides(shape), 0);
    }

    // ------------------------------------------------------------------ creation (on the CPU)

    public static Tensor zeros(int... shape) { return wrap(new CpuStorage(checkedSize(shape)), shape); }

    public static Tensor ones(int... shape) { return full(1f, shape); }

    public static Tensor full(float value, int... shape) {
        float[] d = new float[checkedSize(shape)];
        if (value != 0f) Arrays.fill(d, value);
        return wrap(new CpuStorage(d), shape);
    }

    public static Tensor scalar(float value) { return full(value); }

    /**
     * A tensor of {@code value} made on {@code device} itself: the device fills it, so no host buffer is copied
     * over (a host-to-device copy would make the host wait for the device's queued work).
     */
    public static Tensor full(float value, Device device, int... shape) {
        if (device.isCpu()) return full(value, shape);
        Backend b = Backends.of(device);
        if (value == 0f) return wrap(b.allocate(checkedSize(shape)), shape);   // allocate gives zeros
        Tensor t = wrap(b.allocateForOverwrite(checkedSize(shape)), shape);   // the fill writes every element: no zero fill first
        b.fill(t, value);
        return t;
    }

    /** 0, 1, ..., n-1. */
    public static Tensor arange(int n) { return arange(0, n, 1); }

    /** start, start+step, ... below end (above end for a negative step). */
    public static Tensor arange(float start, float end, float step) {
        if (step == 0) throw new IllegalArgumentException("arange: step must not be 0");
        if (!Float.isFinite(start) || !Float.isFinite(end) || !Float.isFinite(step))
            throw new IllegalArgumentException("arange: start, end and step must be finite, got " + start + ", " + end + ", " + step);
        int n = Shapes.arrayLength((long) Math.max(0, Math.ceil(((double) end - start) / step)), () -> "arange(" + start + ", " + end + ", " + step + ")");
        float[] d = new float[n];
        for (int i = 0; i < n; i++) d[i] = start + i * step;
        return wrap(new CpuStorage(d), n);
    }

    /** Copies {@code data} (row-major) into a tensor of {@code shape}. */
    public static Tensor of(float[] data, int... shape) {
        if (shape.length == 0 && data.length != 1) shape = new int[] {data.length};
        if (Shapes.numel(shape) != data.length)
            throw new IllegalArgumentException("Tensor.of: " + data.length + " values do not fill shape " + Shapes.str(shape));
        return wrap(new CpuStorage(data.clone()), shape);
    }

    public static Tensor randn(Rng rng, int... shape) {
        float[] d = new float[checkedSize(shape)];
        for (int i = 0; i < d.length; i++) d[i] = (float) rng.nextGaussian();
        return wrap(new CpuStorage(d), shape);
    }

    /** Uniform in [lo, hi). */
    public static Tensor rand(Rng rng, float lo, float hi, int... shape) {
        float[] d = new float[checkedSize(shape)];
        for (int i = 0; i < d.length; i++) d[i] = lo + (hi - lo) * rng.nextFloat();
        return wrap(new CpuStorage(d), shape);
    }

    private static int checkedSize(int[] shape) {
        for (int s : shape) if (s < 0) throw new IllegalArgumentException("negative size in shape " + Shapes.str(shape));
        return Shapes.arrayLength(shape);
    }

    // ------------------------------------------------------------------ layout

    public int[] shape() { return shape.clone(); }

    public int size(int dim) { return shape[Shapes.dim(dim, shape.length, "size")]; }

    public int[] strides() { return strides.clone(); }

    public int offset() { return offset; }

    public int dim() { return shape.length; }

    public long numel() { return Shapes.numel(shape); }

    public Storage storage() { return storage; }

    public Device device() { return storage.device(); }

    public Backend backend() { return Backends.of(storage.device()); }

    public boolean isContiguous() {
        for (int size : shape) if (size == 0) return true;   // no element to be out of place (PyTorch: an empty tensor is contiguous)
        long s = 1;
        for (int i = shape.length - 1; i >= 0; i--) {
            if (shape[i] != 1 && strides[i] != s) return false;
            s *= shape[i];
        }
        return true;
    }

    // ------------------------------------------------------------------ reading back

    /** The values in row-major order of the shape (a copy). */
    public float[] toArray() { return backend().toArray(this); }

    /** The value of a one-element tensor. */
    public float item() {
        if (numel() != 1) throw new IllegalStateException("item() needs a tensor with one element, got shape " + Shapes.str(shape));
        return toArray()[0];
    }

    /** One element by index (for tests and small reads; slow on a device). */
    public float get(int... index) { return Views.select(this, index).item(); }

    // ------------------------------------------------------------------ devices and copies

    public Tensor to(Device device) {
        if (device.equals(device())) return this;
        return Views.toDevice(this, device);
    }

    /**
     * Moves this leaf's values to {@code device} in place: the same Tensor object gets new storage there,
     * so that layers holding their parameters in fields follow a {@code Module.to(device)}. Its gradient
     * moves too. Views of the old storage keep the old values.
     */
    public Tensor moveTo(Device device) {
        if (gradFn != null)
            throw new IllegalStateException("moveTo: a computed tensor (shape " + Shapes.str(shape) + ", from '" + gradFn.op()
                + "') cannot move in place; use to(device), which records the move in the graph");
        if (device.equals(device())) return this;
        Tensor moved = Backends.of(device).fromArray(toArray(), shape);
        storage = moved.storage;
        strides = moved.strides;
        offset = moved.offset;
        if (grad != null) grad = grad.to(device);
        return this;
    }

    /** This tensor if contiguous, else a contiguous copy (differentiable). */
    public Tensor contiguous() { return isContiguous() ? this : Views.copy(this); }

    /** A contiguous copy (differentiable). */
    public Tensor copy() { return Views.copy(this); }

    /** In place: this[...] = src[...] (src broadcasts). Not recorded; the tensor must not need grad in grad mode. */
    public Tensor copyFrom(Tensor src) {
        checkDistinctElements("copyFrom");
        return inPlace("copyFrom", () -> backend().copy(unaliased(src.to(device())), this));
    }

    /**
     * Refuses to write into a view some of whose elements are one memory location (a dimension of stride 0 with more
     * than one element, as expand() makes): each of them would be written once per element, in an order the device
     * chooses (on a GPU the writes race and all but one are lost; on the CPU every addition lands), so the result
     * would be neither the broadcast's nor the same on two devices. PyTorch refuses the same writes.
     */
    private void checkDistinctElements(String op) {
        for (int d = 0; d < shape.length; d++)
            if (strides[d] == 0 && shape[d] > 1)
                throw new IllegalArgumentException(op + ": the destination (shape " + Shapes.str(shape) + ", strides " + Shapes.str(strides)
                    + ") holds dimension " + d + "'s " + shape[d] + " elements in one memory location (an expand()ed view), so a write"
                    + " into it has no single result; write into the tensor it expands, or into a contiguous() copy");
    }

    /**
     * src itself when reading it while writing this cannot go wrong (other storage, or exactly this view,
     * element for element); else a copy, so that b.copyFrom(b.transpose(0, 1)) reads the old values.
     */
    private Tensor unaliased(Tensor src) {
        if (src.storage != storage) return src;
        if (src.offset == offset && Arrays.equals(src.shape, shape) && Arrays.equals(src.strides, strides)) return src;
        try (var ignored = GradMode.noGrad()) { return src.copy(); }
    }

    /** In place: every element = value. */
    public Tensor fill(float value) { return inPlace("fill", () -> backend().fill(this, value)); }

    /** In place: this += alpha * other (other broadcasts). */
    public Tensor addInPlace(Tensor other, float alpha) {
        checkDistinctElements("addInPlace");
        return inPlace("addInPlace", () -> backend().addInPlace(this, unaliased(other.to(device())), alpha));
    }

    /** In place: every element += value (on a device one launch, with no tensor of the value made first). */
    public Tensor addInPlace(float value) {
        checkDistinctElements("addInPlace");
        return inPlace("addInPlace", () -> backend().addScalarInPlace(this, value));
    }

    /** In place: one element. */
    public Tensor set(float value, int... index) { return inPlace("set", () -> backend().fill(Views.select(this, index), value)); }

    /**
     * Every in-place change goes through here: refused on a tensor that requires grad while grad mode is on, and
     * counted on the storage ({@link Storage#markChanged}), so that a graph that read the old values refuses backward.
     */
    private Tensor inPlace(String op, Runnable write) {
        if (requiresGrad && GradMode.isEnabled())
            throw new IllegalStateException(op + ": in-place change of a tensor that requires grad (shape "
                + Shapes.str(shape) + ") would corrupt its graph; to set a parameter (initialising it, an update of your own), do it"
                + " inside GradMode.noGrad(), and not between a forward pass that read it and that pass's backward()");
        write.run();
        storage.markChanged(op);
        return this;
    }

    // ------------------------------------------------------------------ autograd

    public boolean requiresGrad() { return requiresGrad; }

    /** Marks a leaf as a variable to differentiate with respect to. Returns this. */
    public Tensor requiresGrad(boolean value) {
        if (gradFn != null && !value)
            throw new IllegalStateException("requiresGrad(false) on a computed tensor; use detach()");
        this.requiresGrad = value;
        return this;
    }

    /** The gradient backward() accumulated into this leaf (or a retained intermediate), null before any. */
    public Tensor grad() { return grad; }

    /** Replaces the gradient (an optimizer reads it; a test may set one by hand). */
    public void setGrad(Tensor g) {
        if (g != null && !Arrays.equals(g.shape, shape))   // else it fails later, in backward's accumulation or an optimiser step
            throw new IllegalArgumentException("setGrad: a gradient of shape " + Shapes.str(g.shape) + " for a tensor of shape " + Shapes.str(shape));
        this.grad = g;
    }

    /** Drops the gradient (null, as PyTorch's set_to_none): the next backward() starts it afresh instead of adding. */
    public void zeroGrad() { this.grad = null; }

    /** The op that computed this tensor, or null for a leaf and for anything computed under GradMode.noGrad(). */
    public Node gradFn() { return gradFn; }

    /** Used by {@link org.pulmo.autograd.Graph#record}. */
    public void attachGradFn(Node node) {
        node.recordOutput(this);
        this.gradFn = node;
        this.requiresGrad = true;
    }

    /**
     * Keep the gradient of this computed tensor in {@link #grad()} during backward: a dense copy, which each later
     * {@code backward()} through it adds to, as a leaf's (PyTorch's {@code retain_grad}).
     */
    public Tensor retainGrad() {
        if (gradFn != null) gradFn.retain(this);
        return this;
    }

    /**
     * Gives this tensor's memory back now rather than when the enclosing step's {@link MemoryScope} closes: for an
     * intermediate a layer made for itself that nothing reads again (no backward reads its values, no caller is handed
     * it). Nothing happens where one of {@code others} views the same storage, or where the storage is not releasable
     * (host memory outside a step). A later read of its values throws.
     */
    public void releaseUnlessShared(Tensor... others) {
        for (Tensor o : others) if (o != null && o.storage == storage) return;
        if (!storage.isReleased()) storage.release();
    }

    /**
     * The same values without the graph: a tensor that shares this one's storage, so writing into either changes both
     * (and a write before backward() makes a graph that read the values refuse to run).
     */
    public Tensor detach() { return new Tensor(storage, shape, strides, offset); }

    /**
     * Backward from a one-element tensor (a loss): adds d this / d leaf into every leaf's {@link #grad()} that requires
     * grad, then frees the graph. Refused when a tensor the graph read was changed in place since (see
     * {@link Storage#version()}). It runs with gradient recording off: the gradients have no graph of their own, so
     * there are no second derivatives. The walk itself: {@link org.pulmo.autograd.Engine}.
     */
    public void backward() { Engine.backward(this, null, false); }

    /** Backward of a tensor of any shape, {@code seed} (its shape) being d loss / d this. */
    public void backward(Tensor seed) { Engine.backward(this, seed, false); }

    /** As {@link #backward(Tensor)} (seed null: a one-element tensor); {@code retainGraph} keeps the graph for another backward. */
    public void backward(Tensor seed, boolean retainGraph) { Engine.backward(this, seed, retainGraph); }

    // ------------------------------------------------------------------ views

    public Tensor reshape(int... newShape) { return Views.reshape(this, newShape); }

    public Tensor view(int... newShape) { return Views.view(this, newShape); }

    public Tensor flatten(int startDim) { return Views.flatten(this, startDim); }

    public Tensor permute(int... dims) { return Views.permute(this, dims); }

    public Tensor transpose(int d0, int d1) { return Views.transpose(this, d0, d1); }

    public Tensor narrow(int dim, int start, int length) { return Views.narrow(this, dim, start, length); }

    /** Elements start, start+step, ... below end along dim. */
    public Tensor slice(int dim, int start, int end, int step) { return Views.slice(this, dim, start, end, step); }

    public Tensor squeeze(int dim) { return Views.squeeze(this, dim); }

    public Tensor unsqueeze(int dim) { return Views.unsqueeze(this, dim); }

    /** A view repeating size-1 dimensions (and new leading ones) to newShape without copying; -1 keeps a size. */
    public Tensor expand(int... newShape) { return Views.expand(this, newShape); }

    public static Tensor cat(List<Tensor> parts, int dim) { return Views.cat(parts, dim); }

    public static Tensor cat(int dim, Tensor... parts) { return Views.cat(List.of(parts), dim); }

    public List<Tensor> split(int dim, int... sizes) { return Views.split(this, dim, sizes); }

    // ------------------------------------------------------------------ elementwise
    // Two tensors broadcast as in NumPy: shapes are aligned from the right, and each pair of sizes must be equal or one
    // of them 1 (a missing leading dimension counts as 1); [2, 3] + [3] adds the row to both rows, [2, 1] * [1, 3] is
    // [2, 3]. A broadcast input's gradient is summed back to its own shape.

    /** this + o (broadcasting). */
    public Tensor add(Tensor o) { return Elementwise.add(this, o); }

    /** this - o (broadcasting). */
    public Tensor sub(Tensor o) { return Elementwise.sub(this, o); }

    /** this * o elementwise (broadcasting); for the matrix product see {@link #matmul}. */
    public Tensor mul(Tensor o) { return Elementwise.mul(this, o); }

    /** this / o elementwise (broadcasting). */
    public Tensor div(Tensor o) { return Elementwise.div(this, o); }

    public Tensor add(float c) { return Elementwise.addScalar(this, c); }

    public Tensor sub(float c) { return Elementwise.addScalar(this, -c); }

    public Tensor mul(float c) { return Elementwise.scale(this, c); }

    /** this times 1/c: within one float rounding of this / c (PyTorch divides; [7] / 3 may differ in the last bit). */
    public Tensor div(float c) { return Elementwise.scale(this, 1f / c); }

    public Tensor neg() { return Elementwise.neg(this); }

    public Tensor pow(float p) { return Elementwise.pow(this, p); }

    public Tensor pow(Tensor p) { return Elementwise.pow(this, p); }

    public Tensor exp() { return Elementwise.exp(this); }

    public Tensor log() { return Elementwise.log(this); }

    public Tensor sqrt() { return Elementwise.sqrt(this); }

    public Tensor abs() { return Elementwise.abs(this); }

    public Tensor square() { return Elementwise.square(this); }

    /** The larger of this and o elementwise (broadcasting); where they tie, each gets half of the gradient, as in PyTorch. minimum likewise. */
    public Tensor maximum(Tensor o) { return Elementwise.maximum(this, o); }

    public Tensor minimum(Tensor o) { return Elementwise.minimum(this, o); }

    public Tensor relu() { return Elementwise.relu(this); }

    /** max(this + o, 0) as one op (a residual sum and its ReLU); o of the same shape, else add then relu. */
    public Tensor addRelu(Tensor o) { return Elementwise.addRelu(this, o); }

    public Tensor sigmoid() { return Elementwise.sigmoid(this); }

    public Tensor tanh() { return Elementwise.tanh(this); }

    // ------------------------------------------------------------------ reductions
    // A dim may be negative (-1: the last). keepdim keeps a reduced dimension as size 1 ([N, C] summed over dim 1 is
    // [N, 1] with it, [N] without), so that the result broadcasts against the input.

    /** The sum of every element: a one-element tensor of shape []. */
    public Tensor sum() { return Reductions.sum(this, all(), false); }

    /** The sum along {@code dim}. */
    public Tensor sum(int dim, boolean keepdim) { return Reductions.sum(this, new int[] {dim}, keepdim); }

    public Tensor sum(int[] dims, boolean keepdim) { return Reductions.sum(this, dims, keepdim); }

    public Tensor mean() { return Reductions.mean(this, all(), false); }

    public Tensor mean(int dim, boolean keepdim) { return Reductions.mean(this, new int[] {dim}, keepdim); }

    public Tensor mean(int[] dims, boolean keepdim) { return Reductions.mean(this, dims, keepdim); }

    /** The largest element, as a one-element tensor; ties share the gradient evenly, as in {@link #max(int, boolean)}. */
    public Tensor max() { return Reductions.max(this, all(), false); }

    /**
     * The largest value along {@code dim}. Where several elements tie for it, they share its gradient evenly (the rule of
     * PyTorch's amax; PyTorch's max(dim) gives all of it to the index it returns). min likewise.
     */
    public Tensor max(int dim, boolean keepdim) { return Reductions.max(this, new int[] {dim}, keepdim); }

    public Tensor max(int[] dims, boolean keepdim) { return Reductions.max(this, dims, keepdim); }

    /** The smallest element; ties share the gradient evenly. */
    public Tensor min() { return Reductions.min(this, all(), false); }

    public Tensor min(int dim, boolean keepdim) { return Reductions.min(this, new int[] {dim}, keepdim); }

    public Tensor min(int[] dims, boolean keepdim) { return Reductions.min(this, dims, keepdim); }

    /**
     * The index of the largest value along {@code dim} (the first on ties), as exact floats; not differentiable. A NaN
     * is never the answer here (PyTorch's argmax picks it; {@link #max(int, boolean)} here returns it), and a row of
     * NaN alone gives NaN, no index: a diverged model's logits never read as a class.
     */
    public Tensor argmax(int dim, boolean keepdim) { return Reductions.argmax(this, dim, keepdim); }

    /** The index of the smallest value along {@code dim}, as {@link #argmax(int, boolean)} finds the largest. */
    public Tensor argmin(int dim, boolean keepdim) { return Reductions.argmin(this, dim, keepdim); }

    private int[] all() {
        int[] d = new int[shape.length];
        for (int i = 0; i < d.length; i++) d[i] = i;
        return d;
    }

    // ------------------------------------------------------------------ networks

    /**
     * The matrix product: [M, K] x [K, N] -> [M, N]; batched, [.., M, K] x [.., K, N] with equal batch dimensions (not
     * broadcast); or [.., K] rows x [K, N] (one matrix for every row of the leading dimensions, as a Linear layer).
     */
    public Tensor matmul(Tensor o) { return LinearAlgebra.matmul(this, o); }

    /** e^x / sum e^x along {@code dim}, the maximum subtracted first (no overflow); same shape. */
    public Tensor softmax(int dim) { return Softmax.softmax(this, dim); }

    /** (x - max) - log sum e^(x - max) along {@code dim}: the log of {@link #softmax} without its underflow to log(0). */
    public Tensor logSoftmax(int dim) { return Softmax.logSoftmax(this, dim); }

    /**
     * 2-D convolution (cross-correlation, as PyTorch's conv2d) of this [N, C, H, W] with weights w [Cout, C / groups, kH,
     * kW] and an optional bias [Cout] (null: none); stride, zero padding and dilation apply to both axes. Output [N, Cout,
     * outH, outW], outH = floor((H + 2 padding - dilation (kH - 1) - 1) / stride) + 1. Refused, naming the shapes: w's
     * channels times groups other than C, a Cout that groups does not divide, a bias of another length, an input too small
     * for the window.
     * The equations, the backward and the kernels: {@link Convolution}.
     */
    public Tensor conv2d(Tensor w, Tensor bias, int stride, int padding, int dilation, int groups) {
        return Convolution.conv2d(this, w, bias, org.pulmo.backend.Conv2dParams.of(stride, padding, dilation, groups));
    }

    /**
     * The maximum of each kernel x kernel window of this [N, C, H, W], padding (at most kernel / 2) never chosen; output
     * size floor((H + 2 padding - kernel) / stride) + 1. Backward gives a window's whole gradient to one element: the
     * first maximum in row-major order (PyTorch's rule; {@link #max(int, boolean)} and {@link #globalMaxPool} share ties
     * evenly instead), and a NaN in a window is its maximum.
     */
    public Tensor maxPool2d(int kernel, int stride, int padding) { return Pooling.maxPool2d(this, kernel, stride, padding); }

    /**
     * The mean of each kernel x kernel window of this [N, C, H, W]; padding (at most kernel / 2) counts as zeros in the
     * mean (PyTorch's default count_include_pad); output size as {@link #maxPool2d}'s.
     */
    public Tensor avgPool2d(int kernel, int stride, int padding) { return Pooling.avgPool2d(this, kernel, stride, padding); }

    public Tensor globalAvgPool() { return Pooling.globalAvgPool(this); }

    public Tensor globalMaxPool() { return Pooling.globalMaxPool(this); }

    /**
     * PyTorch's gather: out[i][j] = this[i][index[i][j]] for dim 1, and likewise for other dims; index (whole numbers
     * held as floats) has this tensor's shape except along dim. Its gradient is scattered back to the picked places.
     */
    public Tensor gather(int dim, Tensor index) { return Indexing.gather(this, dim, index); }

    public static Tensor oneHot(Tensor labels, int numClasses) { return Indexing.oneHot(labels, numClasses); }

    /** The mean and biased variance per channel of [N, C, *] (both differentiable). */
    public Backend.Moments batchNormStats() { return Normalization.batchNormStats(this); }

    // ------------------------------------------------------------------ printing

    @Override public String toString() {
        StringBuilder sb = new StringBuilder("Tensor").append(Shapes.str(shape)).append(" on ").append(device());
        if (requiresGrad) sb.append(gradFn != null ? ", grad_fn=" + gradFn.op() : ", requires_grad");
        if (numel() <= 16) sb.append(' ').append(Arrays.toString(toArray()));
        return sb.toString();
    }
}
