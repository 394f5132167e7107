package org.pulmo.models;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Deque;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.pulmo.autograd.Node;
import org.pulmo.nn.Module;
import org.pulmo.tensor.Rng;
import org.pulmo.tensor.Tensor;

/**
 * Layer-by-layer table of a model: for each module that owns parameters (conv, BN, linear, ...), its output
 * shape, its parameter count and its multiply-accumulate count for one image, with totals; the first thing to
 * open when learning a network.
 *
 * <p>How: one forward of a single image [1, 3, S, S] in evaluation mode with the autograd graph recorded; the
 * graph is then walked from the output, and every conv2d / matmul / batch-norm node is attributed to the module
 * whose weight it reads (through transposes and reshapes). MACs: conv Cout * outH * outW * (Cin / groups) *
 * kH * kW, linear in * out; other ops (BN, ReLU, pools, additions) count 0, as in torchvision's published
 * "GFLOPS". A module used twice (MA-Net's backbone on the pair of images) reports the MACs of every use;
 * MA-Net is summarised on a training pair of one image each; MACs count every image the call saw. Its backbone runs
 * the two images as one batch of two where MaNet's paired execution is on ({@link MaNet#setPairedExecution}; by
 * default, on the CPU where the summary runs, while a path has at most {@link MaNet#PAIRED_MAX_PIXELS} pixels, i.e.
 * up to 256 x 256), and the backbone's output shapes then show batch 2; otherwise the two images run as two calls
 * and the shapes show batch 1. Modules that a forward does not reach (Inception's auxiliary head in evaluation)
 * show no shape and 0 MACs, but their parameters count.
 */
public final class ModelSummary {
    private ModelSummary() {}

    public record Row(String name, String type, int[] outputShape, long params, long macs) {}

    public record Summary(String model, int[] inputShape, List<Row> rows, long totalParams, long trainableParams, long totalMacs) {

        /** The table, then "Total parameters: N" (digits only), trainable parameters and total MACs. */
        public String format() {
            int w = Math.max(24, rows.stream().mapToInt(r -> r.name().length()).max().orElse(0) + 2);
            StringBuilder sb = new StringBuilder();
            sb.append(model).append("  input ").append(Arrays.toString(inputShape)).append('\n');
            String head = String.format(java.util.Locale.ROOT, "%-" + w + "s %-20s %-22s %14s %18s%n", "Layer", "Type", "Output shape", "Params", "MACs");
            sb.append(head).append("-".repeat(head.length() - 1)).append('\n');
            for (Row r : rows)
                sb.append(String.format(java.util.Locale.ROOT, "%-" + w + "s %-20s %-22s %,14d %,18d%n", r.name(), r.type(),
                    r.outputShape() == null ? "-" : Arrays.toString(r.outputShape()), r.params(), r.macs()));
            sb.append("-".repeat(head.length() - 1)).append('\n');
            sb.append("Total parameters: ").append(totalParams).append('\n');
            sb.append(String.format(java.util.Locale.ROOT, "Trainable parameters: %d (%.2f M)%n", trainableParams, trainableParams / 1e6));
            sb.append(String.format(java.util.Locale.ROOT, "Total MACs: %d (%.3f G per image)%n", totalMacs, totalMacs / 1e9));
            return sb.toString();
        }
    }

    /** A registered model by name. */
    public static Summary of(String name, int numClasses, int inputSize) {
        Module m = ModelRegistry.create(name, numClasses, inputSize, 0L);
        return of(name + " (" + numClasses + " classes)", m, inputSize);
    }

    /** Any model; its training/evaluation mode is restored afterwards. */
    public static Summary of(String title, Module model, int inputSize) {
        boolean wasTraining = model.isTraining();
        model.eval();
        int[] inShape = {1, 3, inputSize, inputSize};
        List<Tensor> outputs = new ArrayList<>();
        try {
            Tensor x = Tensor.randn(new Rng(1), inShape);
            if (model instanceof MaNet ma) {
                var out = ma.forwardPair(x, Tensor.randn(new Rng(2), inShape));
                outputs.addAll(List.of(out.logitsX(), out.logitsM()));
            } else if (model instanceof InceptionV3 inc) {
                outputs.add(inc.forwardWithAux(x).logits());
            } else {
                outputs.add(model.forward(x));
            }
        } finally {
            model.train(wasTraining);
        }

        // parameter -> owning module name
        Map<String, Module> modules = model.namedModules();
        IdentityHashMap<Tensor, String> owner = new IdentityHashMap<>();
        for (var e : modules.entrySet())
            for (var p : e.getValue().namedParameters().entrySet())
                if (!p.getKey().contains(".")) owner.putIfAbsent(p.getValue(), e.getKey());

        Map<String, int[]> shapes = new LinkedHashMap<>();
        Map<String, Long> macs = new LinkedHashMap<>();
        Set<Node> seen = java.util.Collections.newSetFromMap(new IdentityHashMap<>());
        Deque<Tensor> todo = new ArrayDeque<>(outputs);
        while (!todo.isEmpty()) {
            Tensor t = todo.pop();
            Node node = t.gradFn();
            if (node == null || !seen.add(node)) continue;
            Tensor[] in = node.inputs();
            String op = node.op();
            switch (op) {
                case "conv2d" -> {
                    String m = owner.get(parameterBehind(in[1], owner));
                    if (m != null) {
                        int[] ws = in[1].shape();
                        long perImage = t.numel() / inShape[0] * ((long) ws[1] * ws[2] * ws[3]);
                        shapes.put(m, t.shape());
                        macs.merge(m, perImage, Long::sum);
                    }
                }
                case "matmul", "matmulTransposed" -> { // inner size K: b [.., K, N], or b [N, K] for matmulTransposed (Linear)
                    String m = owner.get(parameterBehind(in[1], owner));
                    if (m != null) {
                        int[] bs = in[1].shape();
                        long perImage = t.numel() / inShape[0] * (op.equals("matmul") ? bs[bs.length - 2] : bs[1]);
                        shapes.put(m, t.shape());
                        macs.merge(m, perImage, Long::sum);
                    }
                }
                case "batchNorm", "batchNormEval" -> {
                    String m = in.length > 1 && in[1] != null ? owner.get(in[1]) : null;
                    if (m != null) { shapes.put(m, t.shape()); macs.merge(m, 0L, Long::sum); }
                }
                default -> { }
            }
            for (Tensor i : in) if (i != null && i.gradFn() != null) todo.push(i);
        }

        List<Row> rows = new ArrayList<>();
        long totalMacs = 0;
        for (var e : modules.entrySet()) {
            long own = 0;
            for (var p : e.getValue().namedParameters().entrySet()) if (!p.getKey().contains(".")) own += p.getValue().numel();
            if (own == 0) continue;
            long mac = macs.getOrDefault(e.getKey(), 0L);
            totalMacs += mac;
            rows.add(new Row(e.getKey(), e.getValue().getClass().getSimpleName(), shapes.get(e.getKey()), own, mac));
        }
        long total = model.parameterCount();
        long trainable = 0;
        for (Tensor p : model.parameters()) if (p.requiresGrad()) trainable += p.numel();
        return new Summary(title, inShape, rows, total, trainable, totalMacs);
    }

    /** Follows views (transpose, reshape, ...) back to a parameter, or returns the tensor itself. */
    private static Tensor parameterBehind(Tensor t, IdentityHashMap<Tensor, String> owner) {
        while (t != null && !owner.containsKey(t) && t.gradFn() != null && t.gradFn().inputs().length == 1
               && switch (t.gradFn().op()) { case "permute", "reshape", "copy", "squeeze", "unsqueeze", "expand", "slice" -> true; default -> false; })
            t = t.gradFn().inputs()[0];
        return t;
    }

    /** {@code <model> [--classes N] [--size S]}: prints the summary (the CLI's {@code summary} command). */
    public static void main(String[] args) {
        if (args.length < 1 || args[0].startsWith("-")) {
            System.err.println("usage: summary <model> [--classes N] [--size S]\nmodels: " + String.join(", ", ModelRegistry.names()));
            System.exit(2);
        }
        String name = args[0];
        var entry = ModelRegistry.entry(name);
        int classes = entry.defaultClasses(), size = entry.defaultSize();
        for (int i = 1; i < args.length; i++) {
            switch (args[i]) {
                case "--classes" -> classes = Integer.parseInt(args[++i]);
                case "--size" -> size = Integer.parseInt(args[++i]);
                default -> throw new IllegalArgumentException("unknown option " + args[i]);
            }
        }
        System.out.print(of(name, classes, size).format());
    }
}
