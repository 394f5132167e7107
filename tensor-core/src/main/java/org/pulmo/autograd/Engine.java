package org.pulmo.autograd;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.pulmo.tensor.MemoryScope;
import org.pulmo.tensor.Storage;
import org.pulmo.tensor.Tensor;

/**
 * Reverse-mode walk: orders the graph behind a tensor topologically (iteratively: DPN-92's graph is
 * thousands of nodes deep), then hands each node the sum of the gradients of its output, in reverse order.
 * Leaves (tensors that require grad and were not computed) accumulate into {@code .grad}.
 *
 * <p>The algorithm, step by step ({@link #backward}):
 * <ol>
 * <li>The order is a depth-first post-order from the root's node, reversed ({@link #topologicalOrder}): every node comes
 *   after all the nodes that consumed its output, so its output's gradient is complete when its turn comes.</li>
 * <li>Every node's inputs and output are checked for in-place changes ({@link Node#checkUnchanged}) before any gradient
 *   is computed, so a refused backward changes nothing.</li>
 * <li>Gradients wait in {@code pending}, one per node: a tensor used twice (z + z, a residual branch) gets the second
 *   gradient added to the first before its node runs.</li>
 * <li>A node's backward gives one gradient per input; those for computed tensors go to pending, those for leaves are
 *   added into the leaf's {@code .grad} (kept across backward calls until {@code zeroGrad}), those for inputs that do
 *   not require grad are dropped.</li>
 * <li>Without {@code retainGraph} each node frees what it saved as soon as it has run; a second backward through it is
 *   refused with a message saying so.</li>
 * <li>The walk runs under {@link GradMode#noGrad()}: the gradients build no graph of their own, so there are no
 *   second derivatives (no {@code create_graph}).</li>
 * </ol>
 *
 * <p>Memory: a gradient the walk made (a node's output gradient, a sum of two of them) is released as soon as it
 * has been consumed and nothing pending views its storage, instead of when the enclosing {@link MemoryScope} closes;
 * so the backward holds the frontier of gradients, not all of them (peak device memory of a training step at
 * 224 x 224, counted by the allocator under the mock driver: DPN-92-SE batch 32 29.2 -> 16.0 GB, MA-Net 16 pairs
 * 13.4 -> 7.3 GB, ResNet-50 batch 32 10.8 -> 6.4 GB). Storages that existed before the walk (activations, parameters,
 * the seed), retained gradients and leaves' {@code .grad} are never released here. A leaf's first gradient is the
 * walk's own array when nothing else views it (conv2d's dW, say), else a copy; and a tensor's second gradient is
 * added into its first in place under the same condition (a residual sum), else into a new array. A slice's gradient
 * goes straight into its part of that pending array ({@link Node.Accumulate}) instead of into a zero-filled array of
 * the whole tensor's shape first: DPN-92's blocks split each output into its two paths, and only the first part to
 * reach the walk allocates (DPN-92-SE, batch 32 at 224 on cuda, counted under the mock driver: 2.5 -> 1.3 GB
 * zero-filled and 23.9 -> 22.6 GB allocated per step).
 */
public final class Engine {
    private Engine() {}

    public static void backward(Tensor root, Tensor seed, boolean retainGraph) {
        if (!root.requiresGrad())
            throw new IllegalStateException("backward() on a tensor that does not require grad (shape "
                + Arrays.toString(root.shape()) + "): no input of it had requiresGrad(true), or it was computed under noGrad()");
        if (seed == null) {
            if (root.numel() != 1)
                throw new IllegalArgumentException("backward() without a seed needs a scalar, but the tensor has shape "
                    + Arrays.toString(root.shape()) + "; pass a gradient of that shape");
            seed = Tensor.full(1f, root.device(), root.shape());
        } else if (!Arrays.equals(seed.shape(), root.shape())) {
            throw new IllegalArgumentException("backward(): seed shape " + Arrays.toString(seed.shape())
                + " differs from the tensor's shape " + Arrays.toString(root.shape()));
        }
        Set<Storage> made = Collections.newSetFromMap(new IdentityHashMap<>());
        try (var ignored = GradMode.noGrad(); var recording = MemoryScope.recordAllocations(made)) {
            if (root.gradFn() == null) { accumulateLeaf(root, seed); return; }
            List<Node> order = topologicalOrder(root.gradFn());
            for (Node node : order) node.checkUnchanged();   // before any gradient is computed: refused whole, never half-done
            Map<Node, Tensor> pending = new IdentityHashMap<>();
            Set<Storage> retained = Collections.newSetFromMap(new IdentityHashMap<>());
            pending.put(root.gradFn(), seed);
            for (Node node : order) {
                Tensor g = pending.remove(node);
                if (g == null) continue;
                // a retained intermediate's gradient as a leaf's: a dense copy (g may be a broadcast view, or an array the
                // walk goes on to add into), added to by each later backward() until zeroed, as PyTorch's retain_grad
                if (node.retainedBy != null) accumulateLeaf(node.retainedBy, g);
                Tensor[] inputs = node.inputs();
                if (node.accumulates() && addedIntoPending(node, g, made, retained, pending)) {
                    if (!retainGraph) node.release();
                    freeIfDone(g, made, retained, pending);
                    continue;
                }
                Tensor[] grads = node.apply(g);
                if (!retainGraph) node.release();
                // candidates for release once this node's gradients are all dispatched (one tensor may go to several inputs)
                List<Tensor> consumed = new ArrayList<>();
                consumed.add(g);
                for (int i = 0; i < inputs.length; i++) {
                    Tensor in = inputs[i];
                    if (grads[i] != null) consumed.add(grads[i]);
                    if (in == null || !in.requiresGrad() || grads[i] == null) continue;
                    Tensor gi = grads[i];
                    if (!Arrays.equals(gi.shape(), in.shape()))
                        throw new IllegalStateException("backward of '" + node.op() + "' produced a gradient of shape "
                            + Arrays.toString(gi.shape()) + " for input " + i + " of shape " + Arrays.toString(in.shape()));
                    if (in.gradFn() == null) {
                        // a leaf (a parameter) may be shared with graphs that other threads run backward on at the same
                        // time: its gradient is read, set and added to under the leaf's lock (as PyTorch's AccumulateGrad)
                        synchronized (in) {
                            if (in.grad() == null && ownedByWalk(gi, i, grads, made, retained, pending)) {
                                in.setGrad(gi); // the walk's own array, viewed by nothing else: kept, not copied
                                retained.add(gi.storage());
                            } else accumulateLeaf(in, gi);
                        }
                    } else {
                        Tensor before = pending.get(in.gradFn());
                        if (before == null) pending.put(in.gradFn(), gi);
                        else if (summableInPlace(before, in.gradFn(), g, grads, made, retained, pending)) before.addInPlace(gi, 1f);
                        else {
                            pending.put(in.gradFn(), before.add(gi));
                            consumed.add(before);
                        }
                    }
                }
                for (Tensor t : consumed) freeIfDone(t, made, retained, pending);
            }
        }
    }

    /** A slice hands out no gradients of its own when it adds into its input's: nothing for summableInPlace to check. */
    private static final Tensor[] NO_GRADS = {};

    /**
     * A slice's gradient added straight into its input's pending gradient, when there is one the walk may add into
     * in place ({@link #summableInPlace}): what the slice's backward followed by the sum of two gradients would give,
     * without the zero-filled array of the input's shape. Returns whether it did.
     */
    private static boolean addedIntoPending(Node node, Tensor g, Set<Storage> made, Set<Storage> retained, Map<Node, Tensor> pending) {
        Tensor in = node.inputs()[0];
        if (in == null || !in.requiresGrad() || in.gradFn() == null) return false;
        Tensor before = pending.get(in.gradFn());
        if (before == null || !summableInPlace(before, in.gradFn(), g, NO_GRADS, made, retained, pending)) return false;
        node.accumulateInto(g, before);
        return true;
    }

    /**
     * Releases t's storage when the walk made it and neither a pending gradient nor a retained one (a leaf's
     * {@code .grad} among them) views it.
     */
    private static void freeIfDone(Tensor t, Set<Storage> made, Set<Storage> retained, Map<Node, Tensor> pending) {
        Storage s = t.storage();
        if (!made.contains(s) || retained.contains(s) || s.isReleased() || pendingViews(s, pending, null)) return;
        s.release();
        made.remove(s);
    }

    /**
     * Whether grads[i] can become a leaf's {@code .grad} as it is: the walk made its storage, it covers all of it
     * (contiguous from offset 0), and no pending gradient, retained gradient or other gradient of the same node views
     * it. A parameter's gradient is usually such an array (conv2d's dW); taking it saves a copy and an allocation of
     * every parameter per step.
     */
    private static boolean ownedByWalk(Tensor gi, int i, Tensor[] grads, Set<Storage> made, Set<Storage> retained,
                                       Map<Node, Tensor> pending) {
        Storage s = gi.storage();
        return wholeArrayOfTheWalk(gi, made, retained) && !gradsView(s, grads, i) && !pendingViews(s, pending, null);
    }

    /**
     * Whether a second gradient for {@code owner} can be added into its pending one, {@code before}, in place
     * instead of into a new array: before is a whole array of the walk that no other pending gradient, retained
     * gradient, the node's own gradient g or any gradient it handed out views. A residual connection, or DPN-92's
     * split of a block's output into its two paths, sums two gradients of one tensor: in place, the sum takes no
     * new array and the walk holds one fewer.
     */
    private static boolean summableInPlace(Tensor before, Node owner, Tensor g, Tensor[] grads, Set<Storage> made,
                                           Set<Storage> retained, Map<Node, Tensor> pending) {
        Storage s = before.storage();
        return wholeArrayOfTheWalk(before, made, retained) && g.storage() != s && !gradsView(s, grads, -1)
            && !pendingViews(s, pending, owner);
    }

    /** Whether a gradient of the node other than grads[except] views s. */
    private static boolean gradsView(Storage s, Tensor[] grads, int except) {
        for (int j = 0; j < grads.length; j++) if (j != except && grads[j] != null && grads[j].storage() == s) return true;
        return false;
    }

    /** Whether a pending gradient, other than {@code except}'s (null: none excepted), views s. */
    private static boolean pendingViews(Storage s, Map<Node, Tensor> pending, Node except) {
        for (var e : pending.entrySet()) if (e.getKey() != except && e.getValue().storage() == s) return true;
        return false;
    }

    /** t covers all of a storage the walk made (contiguous from offset 0) that is live and not retained. */
    private static boolean wholeArrayOfTheWalk(Tensor t, Set<Storage> made, Set<Storage> retained) {
        Storage s = t.storage();
        return made.contains(s) && !retained.contains(s) && !s.isReleased()
            && t.isContiguous() && t.offset() == 0 && s.size() == t.numel();
    }

    private static void accumulateLeaf(Tensor leaf, Tensor g) {
        synchronized (leaf) {
            if (leaf.grad() == null) leaf.setGrad(g.copy());
            else leaf.grad().addInPlace(g, 1f);
        }
    }

    /** Nodes in an order where every node comes before the nodes of its inputs. */
    static List<Node> topologicalOrder(Node root) {
        List<Node> post = new ArrayList<>();
        Map<Node, Boolean> seen = new IdentityHashMap<>();
        ArrayDeque<Object[]> stack = new ArrayDeque<>(); // {node, next input index}
        stack.push(new Object[] {root, 0});
        seen.put(root, Boolean.TRUE);
        while (!stack.isEmpty()) {
            Object[] top = stack.peek();
            Node n = (Node) top[0];
            int i = (Integer) top[1];
            Tensor[] ins = n.inputs();
            if (i < ins.length) {
                top[1] = i + 1;
                Tensor in = ins[i];
                if (in != null && in.requiresGrad() && in.gradFn() != null && seen.put(in.gradFn(), Boolean.TRUE) == null)
                    stack.push(new Object[] {in.gradFn(), 0});
            } else {
                stack.pop();
                post.add(n);
            }
        }
        Collections.reverse(post);
        return post;
    }
}
