package org.pulmo.benchmarks;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Random;
import org.pulmo.backend.Conv2dParams;
import org.pulmo.backend.cpu.CpuConv;
import org.pulmo.backend.cpu.Sgemm;
import org.pulmo.models.ModelRegistry;
import org.pulmo.nn.Module;
import org.pulmo.nn.loss.Losses;
import org.pulmo.optim.Sgd;
import org.pulmo.tensor.Rng;
import org.pulmo.tensor.Tensor;

/**
 * Every distinct convolution of ResNet-50 (He et al. 2016, Table 1; stride on the 3x3 as in torchvision)
 * at a given batch and input size, each pass timed on its own: shows which layer shapes (small planes,
 * 1x1, stride-2 downsample) lose GFLOP/s in a training step. Not JMH: best of {@code reps} wall-clock
 * calls after as many warm-up calls, so read it against {@code SgemmBench.fmaPeak} taken at the same time.
 *
 * <p>{@code java --add-modules jdk.incubator.vector -cp benchmarks/target/benchmarks.jar
 * org.pulmo.benchmarks.ResNetConvProfile [batch] [size] [reps] [layer-name filter]} (default 4 112 5,
 * all layers; {@code -Dpulmo.conv.batchPlane=P} moves CpuConv's batched-GEMM threshold).
 * {@code -Dprofile.ab=T} (T = 2 or 4) times every stride-1 3x3 call twice, interleaved in the same JVM:
 * first with CpuConv's Winograd path off (A), then with output tile T (B), and prints both and B/A per pass.
 * {@code -Dprofile.step=T} does the same for whole ResNet-50 training steps (as TrainingStepProfile: forward,
 * cross-entropy, backward, SGD), alternating A and B steps in one JVM after {@code reps} warm-up steps of each,
 * for {@code reps} rounds; it prints every round and the median s/step and images/s per variant.
 */
public final class ResNetConvProfile {
    private ResNetConvProfile() {}

    /** One conv shape: input [n, c, h, h], cOut filters k x k, stride, padding k/2; count = uses per step. */
    record Conv(String name, int c, int h, int cOut, int k, int stride, int count) {
        Conv2dParams params() { return Conv2dParams.of(stride, k / 2, 1, 1); }
        int outH() { return params().outH(h, k); }
        double flops(int n) { return 2.0 * n * cOut * outH() * outH() * c * k * k; }
    }

    /** The 53 convs of ResNet-50 as distinct shapes with their multiplicity, for input size s. */
    static List<Conv> resnet50(int s) {
        List<Conv> list = new ArrayList<>();
        list.add(new Conv("stem 7x7/2", 3, s, 64, 7, 2, 1));
        int[] blocks = {3, 4, 6, 3};
        int in = 64, h = s / 4;
        for (int st = 0; st < 4; st++) {
            int width = 64 << st, out = width * 4, stride = st == 0 ? 1 : 2;
            String l = "layer" + (st + 1) + " ";
            int ho = (h + 2 - 3) / stride + 1;   // the 3x3's output, pad 1
            list.add(new Conv(l + "b0 1x1 reduce", in, h, width, 1, 1, 1));
            list.add(new Conv(l + "b0 3x3/" + stride, width, h, width, 3, stride, 1));
            list.add(new Conv(l + "1x1 expand", width, ho, out, 1, 1, blocks[st]));
            list.add(new Conv(l + "downsample 1x1/" + stride, in, h, out, 1, stride, 1));
            if (blocks[st] > 1) {
                list.add(new Conv(l + "1x1 reduce", out, ho, width, 1, 1, blocks[st] - 1));
                list.add(new Conv(l + "3x3", width, ho, width, 3, 1, blocks[st] - 1));
            }
            in = out;
            h = ho;
        }
        return list;
    }

    static final String USAGE = "usage: ResNetConvProfile [BATCH [SIZE [REPS [LAYER-NAME-FILTER]]]] (default 4 112 5, all layers)";

    public static void main(String[] args) {
        if (Mains.asksHelp(args)) {
            System.out.println(USAGE);
            return;
        }
        Mains.run("ResNetConvProfile", () -> profile(args));
    }

    private static void profile(String[] args) {
        if (args.length > 4) throw Mains.refuse("at most 4 arguments, got " + args.length + "; " + USAGE);
        int n = args.length > 0 ? Mains.wholeNumber("BATCH", args[0], 1) : 4;
        int size = args.length > 1 ? Mains.wholeNumber("SIZE", args[1], 32) : 112;   // layer4 needs at least 1 x 1 after five halvings
        int reps = args.length > 2 ? Mains.wholeNumber("REPS", args[2], 1) : 5;
        String only = args.length > 3 ? args[3] : "";   // e.g. "layer2": only layers whose name contains it
        if (resnet50(size).stream().noneMatch(c -> c.name.contains(only)))
            throw Mains.refuse("no layer's name contains '" + only + "' (names: stem 7x7/2, layer1 .. layer4, b0, 1x1 reduce, 3x3, 1x1 expand, downsample)");
        Random rng = new Random(1);
        if (System.getProperty("profile.step") != null) {
            abStep(tile("profile.step"), n, size, reps);
            return;
        }
        if (System.getProperty("profile.pack") != null) {
            String what = System.getProperty("profile.pack");
            if (!what.equals("step") && !what.equals("gemm") && !what.equals("conv"))
                throw Mains.refuse("-Dprofile.pack must be step, gemm or conv, got '" + what + "'");
            abPack(what, n, size, reps, only, rng);
            return;
        }
        if (System.getProperty("profile.ab") != null) {
            abWinograd(tile("profile.ab"), n, size, reps, only, rng);
            return;
        }
        double[] total = new double[3];
        double totalFlops = 0, skippedFlops = 0;
        System.out.printf(Locale.ROOT, "ResNet-50 convs, batch %d, %dx%d, best of %d calls (ms and GFLOP/s per call)%n", n, size, size, reps);
        for (int round = 0; round < 2; round++) {
        boolean print = round == 1;   // round 0 warms the JIT on every shape
        if (print) System.out.printf(Locale.ROOT, "%-28s %5s %4s %5s %3s | %8s %6s | %8s %6s | %8s %6s%n",
                "layer", "C", "HxW", "Cout", "x", "fwd ms", "GF/s", "bwdIn ms", "GF/s", "bwdW ms", "GF/s");
        Arrays.fill(total, 0);
        totalFlops = 0;
        skippedFlops = 0;
        for (Conv cv : resnet50(size)) {
            if (!cv.name.contains(only)) continue;
            Conv2dParams p = cv.params();
            float[] x = random(rng, n * cv.c * cv.h * cv.h);
            float[] w = random(rng, cv.cOut * cv.c * cv.k * cv.k);
            float[] dy = random(rng, n * cv.cOut * cv.outH() * cv.outH());
            double[] ms = new double[3];
            for (int pass = 0; pass < 3; pass++) {
                long best = Long.MAX_VALUE;
                for (int r = 0; r < 2 * reps; r++) {
                    if (FLUSH != null) evictCaches();
                    long t0 = System.nanoTime();
                    float[] out = switch (pass) {
                        case 0 -> CpuConv.forward(x, n, cv.c, cv.h, cv.h, w, cv.cOut, cv.k, cv.k, p);
                        case 1 -> CpuConv.backwardInput(dy, n, cv.c, cv.h, cv.h, w, cv.cOut, cv.k, cv.k, p);
                        default -> CpuConv.backwardWeight(x, dy, n, cv.c, cv.h, cv.h, cv.cOut, cv.k, cv.k, p);
                    };
                    long t = System.nanoTime() - t0;
                    Recycled.array(out);   // the next call reuses it, as a training step's next conv does (Conv2dBench alike)
                    if (r >= reps) best = Math.min(best, t);
                }
                ms[pass] = best / 1e6;
                // a training step never takes the stem's input gradient (the images need none): its row shows it, the total not
                if (!(pass == 1 && cv.name.startsWith("stem"))) total[pass] += ms[pass] * cv.count;
            }
            double f = cv.flops(n);
            totalFlops += f * cv.count;
            if (cv.name.startsWith("stem")) skippedFlops += f * cv.count;
            if (print) System.out.printf(Locale.ROOT, "%-28s %5d %4d %5d %3d | %8.3f %6.1f | %8.3f %6.1f | %8.3f %6.1f%n",
                    cv.name, cv.c, cv.h, cv.cOut, cv.count, ms[0], f / ms[0] / 1e6, ms[1], f / ms[1] / 1e6, ms[2], f / ms[2] / 1e6);
        }
        }
        System.out.printf(Locale.ROOT, "total per step (x count) ms: fwd %.1f (%.1f GF/s), bwdIn %.1f, bwdW %.1f; all %.1f ms, %.1f GFLOP/s"
                + " (bwdIn without the stem's, which training skips)%n",
                total[0], totalFlops / total[0] / 1e6, total[1], total[2], Arrays.stream(total).sum(),
                (3 * totalFlops - skippedFlops) / Arrays.stream(total).sum() / 1e6);
        System.out.println("GF/s count a direct convolution's multiply-adds; where Winograd runs (stride-1 3x3) it does fewer, so those"
            + " rows can exceed SgemmBench fmaPeak, which is the figure to read them beside.");
    }

    /** The Winograd output tile a {@code -D} property names: 2 or 4, else refused naming the property and its value. */
    private static int tile(String property) {
        String v = System.getProperty(property);
        if (!"2".equals(v.trim()) && !"4".equals(v.trim())) throw Mains.refuse("-D" + property + " must be 2 or 4 (the Winograd output tile), got '" + v + "'");
        return Integer.parseInt(v.trim());
    }

    /** {@code -Dprofile.flush=true}: a 128 MB array written between calls, so that every call starts from memory, as in a training step. */
    private static final float[] FLUSH = Boolean.getBoolean("profile.flush") ? new float[32 << 20] : null;
    private static float flushSum;

    private static void evictCaches() {
        for (int i = 0; i < FLUSH.length; i += 16) { FLUSH[i] += 1f; flushSum += FLUSH[i]; }
    }

    private static void call(int pass, Conv cv, int n, float[] x, float[] w, float[] dy) {
        Conv2dParams p = cv.params();
        switch (pass) {
            case 0 -> CpuConv.forward(x, n, cv.c, cv.h, cv.h, w, cv.cOut, cv.k, cv.k, p);
            case 1 -> CpuConv.backwardInput(dy, n, cv.c, cv.h, cv.h, w, cv.cOut, cv.k, cv.k, p);
            default -> CpuConv.backwardWeight(x, dy, n, cv.c, cv.h, cv.h, cv.cOut, cv.k, cv.k, p);
        }
    }

    /** A/B of the Winograd path on the stride-1 3x3 convs: best of reps per variant, calls alternating A, B. */
    private static void abWinograd(int tile, int n, int size, int reps, String only, Random rng) {
        System.out.printf(Locale.ROOT, "ResNet-50 3x3 stride-1 convs, batch %d, %dx%d: A = Winograd off, B = F(%dx%d, 3x3); best of %d alternating calls%n",
                n, size, size, tile, tile, reps);
        System.out.printf(Locale.ROOT, "%-16s %4s %4s %3s | %-26s | %-26s | %-26s%n", "layer", "C", "HxW", "x",
                "fwd A / B ms (B/A)", "bwdIn A / B ms (B/A)", "bwdW A / B ms (B/A)");
        double[][] total = new double[2][3];
        double flops = 0;
        for (int round = 0; round < 2; round++) {
            boolean print = round == 1;
            for (double[] t : total) Arrays.fill(t, 0);
            flops = 0;
            for (Conv cv : resnet50(size)) {
                if (cv.k != 3 || cv.stride != 1 || !cv.name.contains(only)) continue;
                float[] x = random(rng, n * cv.c * cv.h * cv.h), w = random(rng, cv.cOut * cv.c * 9), dy = random(rng, n * cv.cOut * cv.outH() * cv.outH());
                StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "%-16s %4d %4d %3d", cv.name.replace(" 3x3", ""), cv.c, cv.h, cv.count));
                for (int pass = 0; pass < 3; pass++) {
                    int p = pass;
                    long[] best = bestOfAlternating(reps, v -> CpuConv.setWinograd(v == 1 ? tile : 0), () -> call(p, cv, n, x, w, dy));
                    for (int v = 0; v < 2; v++) total[v][pass] += best[v] / 1e6 * cv.count;
                    line.append(String.format(Locale.ROOT, " | %7.3f / %7.3f (%.2f)   ", best[0] / 1e6, best[1] / 1e6, (double) best[1] / best[0]));
                }
                flops += cv.flops(n) * cv.count;
                if (print) System.out.println(line);
            }
        }
        CpuConv.setWinograd(Integer.getInteger("pulmo.conv.winograd", 2));
        for (int v = 0; v < 2; v++) {
            double all = Arrays.stream(total[v]).sum();
            System.out.printf(Locale.ROOT, "%s total per step (x count) ms: fwd %.1f, bwdIn %.1f, bwdW %.1f; all %.1f ms, %.1f GFLOP/s at the direct-conv FLOP count%n",
                    v == 0 ? "A (off)" : "B (on) ", total[v][0], total[v][1], total[v][2], all, 3 * flops / all / 1e6);
        }
    }

    /**
     * Interleaved A/B of Sgemm's packing of a transposed B: A = scalar copies, B = vector gathers
     * ({@code Sgemm.setGatherPack}). {@code what}: "gemm" (serial GEMMs of conv shapes), "conv" (every
     * conv of ResNet-50, all three passes), "step" (whole training steps).
     */
    private static void abPack(String what, int n, int size, int reps, String only, Random rng) {
        java.util.function.IntConsumer set = v -> Sgemm.setGatherPack(v == 1);
        if (what.equals("step")) {
            abStep(n, size, reps, set, "A (scalar pack)", "B (gather pack)");
        } else if (what.equals("gemm")) {
            // m, n, k, transA, transB: conv backward-weight (Winograd and im2col), forward and backward-input shapes
            int[][] shapes = {{64, 64, 6272, 0, 1}, {64, 64, 3136, 0, 1}, {128, 128, 1568, 0, 1}, {64, 576, 3136, 0, 1},
                {256, 64, 3136, 0, 1}, {512, 512, 128, 0, 1}, {64, 6272, 64, 0, 0}, {256, 3136, 64, 0, 0}, {64, 3136, 256, 1, 0},
                {64, 147, 25088, 0, 1}, {1024, 512, 1568, 0, 1}, {256, 2304, 1568, 0, 1}, {256, 1568, 1024, 0, 0}, {512, 6272, 256, 0, 0}};
            System.out.printf(Locale.ROOT, "Sgemm serial, best of %d alternating calls: A = scalar pack, B = gather pack%n", reps);
            for (int round = 0; round < 2; round++)
                for (int[] sh : shapes) {
                    int m = sh[0], nn = sh[1], k = sh[2];
                    boolean ta = sh[3] == 1, tb = sh[4] == 1;
                    float[] a = random(rng, m * k), b = random(rng, k * nn), c = new float[m * nn];
                    long[] best = bestOfAlternating(reps, set,
                        () -> Sgemm.sgemmSerial(ta, tb, m, nn, k, a, 0, ta ? m : k, b, 0, tb ? k : nn, 0f, c, 0, nn));
                    double f = 2.0 * m * nn * k;
                    if (round == 1) System.out.printf(Locale.ROOT, "%4d x %4d x %5d transA=%-5b transB=%-5b  %7.3f / %7.3f ms (%.2f)  %6.1f -> %6.1f GFLOP/s%n",
                            m, nn, k, ta, tb, best[0] / 1e6, best[1] / 1e6, (double) best[1] / best[0], f / best[0], f / best[1]);
                }
        } else {
            System.out.printf(Locale.ROOT, "ResNet-50 convs, batch %d, %dx%d: A = scalar pack, B = gather pack; best of %d alternating calls%n", n, size, size, reps);
            double[][] total = new double[2][3];
            for (int round = 0; round < 2; round++) {
                for (double[] t : total) Arrays.fill(t, 0);
                for (Conv cv : resnet50(size)) {
                    if (!cv.name.contains(only)) continue;
                    float[] x = random(rng, n * cv.c * cv.h * cv.h), w = random(rng, cv.cOut * cv.c * cv.k * cv.k), dy = random(rng, n * cv.cOut * cv.outH() * cv.outH());
                    StringBuilder line = new StringBuilder(String.format(Locale.ROOT, "%-28s %4d %4d %4d %3d", cv.name, cv.c, cv.h, cv.cOut, cv.count));
                    for (int pass = 0; pass < 3; pass++) {
                        int p = pass;
                        long[] best = bestOfAlternating(reps, set, () -> call(p, cv, n, x, w, dy));
                        for (int v = 0; v < 2; v++) total[v][pass] += best[v] / 1e6 * cv.count;
                        line.append(String.format(Locale.ROOT, " | %7.3f / %7.3f (%.2f)", best[0] / 1e6, best[1] / 1e6, (double) best[1] / best[0]));
                    }
                    if (round == 1) System.out.println(line);
                }
            }
            for (int v = 0; v < 2; v++)
                System.out.printf(Locale.ROOT, "%s total per step (x count) ms: fwd %.1f, bwdIn %.1f, bwdW %.1f; all %.1f ms%n",
                        v == 0 ? "A (scalar)" : "B (gather)", total[v][0], total[v][1], total[v][2], Arrays.stream(total[v]).sum());
        }
        Sgemm.setGatherPack(!"false".equals(System.getProperty("pulmo.sgemm.gatherPack")));
    }

    /** Interleaved A/B of whole training steps: A = Winograd off, B = output tile {@code tile}. */
    private static void abStep(int tile, int batch, int size, int rounds) {
        abStep(batch, size, rounds, v -> CpuConv.setWinograd(v == 1 ? tile : 0), "A (off)", "B (F" + tile + ")");
        CpuConv.setWinograd(Integer.getInteger("pulmo.conv.winograd", 2));
    }

    /** Interleaved A/B of whole training steps; {@code variant} switches the code under test to A (0) or B (1). */
    private static void abStep(int batch, int size, int rounds, java.util.function.IntConsumer variant, String nameA, String nameB) {
        int classes = 4;
        Module model = ModelRegistry.create("resnet50", classes, size, 1L);
        model.train();
        Sgd sgd = Sgd.forModule(model, 0.01f, 0.9f, 1e-4f, false, false);
        Tensor x = Tensor.randn(new Rng(3), batch, 3, size, size);
        float[] y = new float[batch];
        for (int i = 0; i < batch; i++) y[i] = i % classes;
        Tensor labels = Tensor.of(y, batch);
        double[][] secs = new double[2][rounds];
        for (int r = -rounds; r < rounds; r++)   // the first rounds warm up both variants
            for (int v = 0; v < 2; v++) {
                variant.accept(v);
                long t0 = System.nanoTime();
                Tensor loss = Losses.crossEntropy(model.forward(x), labels);
                sgd.zeroGrad();
                loss.backward();
                sgd.step();
                double s = (System.nanoTime() - t0) / 1e9;
                if (r >= 0) secs[v][r] = s;
                System.out.printf(Locale.ROOT, "%s round %d %s: %.3f s%n", r < 0 ? "warm-up" : "", r, v == 0 ? nameA : nameB, s);
            }
        for (int v = 0; v < 2; v++) {
            double[] t = secs[v].clone();
            Arrays.sort(t);
            double med = t[t.length / 2];
            System.out.printf(Locale.ROOT, "%s: median %.3f s/step, %.2f images/s (batch %d, %dx%d, %d rounds)%n",
                    v == 0 ? nameA : nameB, med, batch / med, batch, size, size, rounds);
        }
    }

    /**
     * Best nanoseconds of {@code reps} calls of {@code work} for variant 0 (A) and 1 (B), {@code select} switching
     * between them before every call so both see the same host load; the first {@code reps} rounds only warm up.
     */
    private static long[] bestOfAlternating(int reps, java.util.function.IntConsumer select, Runnable work) {
        long[] best = {Long.MAX_VALUE, Long.MAX_VALUE};
        for (int r = 0; r < 2 * reps; r++)
            for (int v = 0; v < 2; v++) {
                select.accept(v);
                long t0 = System.nanoTime();
                work.run();
                long t = System.nanoTime() - t0;
                if (r >= reps) best[v] = Math.min(best[v], t);
            }
        return best;
    }

    static float[] random(Random rng, int len) {
        float[] a = new float[len];
        for (int i = 0; i < len; i++) a[i] = (float) rng.nextGaussian();
        return a;
    }
}
