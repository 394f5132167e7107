package org.pulmo.benchmarks;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * Pulmo beside PyTorch on one GPU: reads Pulmo's JMH results ({@code -rf json} of {@link ModelThroughputBench}
 * with {@code device=cuda} and of {@link GpuKernelsBench}) and the JSON of PyTorch's reference benchmark
 * ({@code bench_train.py}: training step, inference and MAB timings), and prints one markdown table of
 * speed ratios Pulmo / PyTorch (above 1: Pulmo faster): training and inference images/s of DPN-92-SE, MA-Net
 * and ResNet-50 per precision (tf32, fp32), and the fused MAB kernel against PyTorch eager, forward and
 * forward + backward, on MA-Net's four stage shapes, with its GB/s as a share of the GPU's measured copy
 * bandwidth. Both sides count an MA-Net pair as two images. A row either side lacks says "missing".
 *
 * <p>{@code java -cp benchmarks/target/benchmarks.jar org.pulmo.benchmarks.SideBySideTable --torch torch_ref.json
 * --pulmo e2e.json --pulmo kernels.json [--out table.md] [--json rows.json]}
 */
public final class SideBySideTable {
    private SideBySideTable() {}

    /** One JMH result: the benchmark method's simple name, its @Params and seconds per op. */
    record PulmoResult(String method, Map<String, String> params, double seconds) {}

    /**
     * One line of the table; ratio is Pulmo's speed over PyTorch's, NaN when a side is missing. For a model's row also
     * its model name, kind (train or infer) and both rates in images/s (NaN when missing); null and NaN for MAB's rows.
     */
    record Row(String what, String precision, String pulmo, String torch, double ratio, String model, String kind,
               double pulmoRate, double torchRate, String pulmoStep) {
        Row(String what, String precision, String pulmo, String torch, double ratio) {
            this(what, precision, pulmo, torch, ratio, null, null, Double.NaN, Double.NaN, null);
        }
    }

    static final String[][] MODELS = {{"dpn92-se", "dpn92se", "DPN-92-SE"}, {"manet-resnet50", "manet", "MA-Net (ResNet-50)"},
        {"resnet50", "resnet50", "ResNet-50"}};

    /** Reads JMH's result JSON (an array of results, each with its "primaryMetric"; a result without one is skipped). */
    static List<PulmoResult> readJmh(String json) {
        return readJmh((List<?>) Json.parse(json));
    }

    private static List<PulmoResult> readJmh(List<?> results) {
        List<PulmoResult> out = new ArrayList<>();
        for (Object o : results) {
            Map<?, ?> r = (Map<?, ?>) o;
            String bench = (String) r.get("benchmark");
            Map<String, String> params = new java.util.LinkedHashMap<>();
            if (r.get("params") instanceof Map<?, ?> p) for (var e : p.entrySet()) params.put((String) e.getKey(), String.valueOf(e.getValue()));
            if (!(r.get("primaryMetric") instanceof Map<?, ?> primary)) continue;
            double seconds = Rates.secondsPerOp(Json.number(primary.get("score")), (String) primary.get("scoreUnit"));
            out.add(new PulmoResult(bench.substring(bench.lastIndexOf('.') + 1), params, seconds));
        }
        return out;
    }

    /** The table rows from Pulmo's results and PyTorch's JSON object. */
    static List<Row> rows(List<PulmoResult> pulmo, Map<?, ?> torch) {
        List<Row> rows = new ArrayList<>();
        Set<String> precisions = new LinkedHashSet<>();
        for (PulmoResult r : pulmo) if (r.method.equals("trainStep") || r.method.equals("inference")) precisions.add(r.params.getOrDefault("precision", "tf32"));
        for (String section : new String[] {"train", "infer"})
            for (Object o : list(torch, section)) if (((Map<?, ?>) o).get("mode") instanceof String mode) precisions.add(mode);
        for (String section : new String[] {"train", "infer"}) {
            for (String precision : precisions) {
                for (String[] m : MODELS) {
                    rows.add(modelRow(pulmo, torch, section, m, precision, false));
                    // the recorded step or inference (CUDA graph), where the run measured one of this section
                    String method = section.equals("train") ? "trainStep" : "inference";
                    if (pulmo.stream().anyMatch(r -> r.method.equals(method) && "true".equals(r.params.get("recorded"))))
                        rows.add(modelRow(pulmo, torch, section, m, precision, true));
                }
            }
        }
        double[] copy = new double[4];
        for (int stage = 1; stage <= 4; stage++) {
            GpuKernelsBench.MabShape shape = GpuKernelsBench.MabShape.valueOf("STAGE" + stage);
            PulmoResult c = find(pulmo, "copy", Map.of("shape", shape.name(), "version", "MEMCPY"), "false");
            copy[stage - 1] = c == null ? Double.NaN : 2.0 * shape.elements() * Float.BYTES / c.seconds / 1e9;
        }
        for (String[] kind : new String[][] {{"mabForward", "fwd", "forward"}, {"mabForwardBackward", "fwd+bwd", "forward + backward"}}) {
            for (int stage = 1; stage <= 4; stage++) {
                GpuKernelsBench.MabShape shape = GpuKernelsBench.MabShape.valueOf("STAGE" + stage);
                List<Integer> dims = List.of(shape.n, shape.c, shape.hw, shape.hw);
                PulmoResult p = find(pulmo, kind[0], Map.of("shape", shape.name(), "version", "FUSED"), "false");
                Map<?, ?> t = null;
                for (Object o : list(torch, "mab")) {
                    Map<?, ?> r = (Map<?, ?>) o;
                    if ("eager".equals(r.get("impl")) && kind[1].equals(r.get("kind")) && !r.containsKey("error") && sameShape(r.get("shape"), dims))
                        t = r;
                }
                double bytes = AttentionBench.Traffic.ofBenchmark(kind[0]).bytes(shape.n, shape.c, shape.hw, shape.hw);
                String ps = "missing", ts = "missing";
                double ratio = Double.NaN;
                if (p != null) {
                    double gbs = bytes / p.seconds / 1e9;
                    ps = String.format(Locale.ROOT, "%.1f us, %.0f GB/s", p.seconds * 1e6, gbs)
                        + (Double.isNaN(copy[stage - 1]) ? "" : String.format(Locale.ROOT, " (%.0f%% of copy %.0f GB/s)", 100 * gbs / copy[stage - 1], copy[stage - 1]));
                }
                if (t != null) {
                    double ms = Json.number(t.get("median_ms"));
                    ts = String.format(Locale.ROOT, "%.1f us, %.0f GB/s", ms * 1e3, bytes / (ms * 1e-3) / 1e9);
                    if (p != null) ratio = ms * 1e-3 / p.seconds;
                }
                rows.add(new Row("MAB " + kind[2] + " " + dims + ", fused vs eager", "fp32", ps, ts, ratio));
            }
        }
        return rows;
    }

    private static Row modelRow(List<PulmoResult> pulmo, Map<?, ?> torch, String section, String[] m, String precision, boolean recorded) {
        boolean train = section.equals("train");
        ModelWorkload.Pass pass = train ? ModelWorkload.Pass.TRAIN : ModelWorkload.Pass.INFER;
        String method = train ? "trainStep" : "inference", step = Boolean.toString(recorded);
        PulmoResult p = find(pulmo, method, Map.of("model", m[0], "device", "cuda", "precision", precision), step);
        if (p == null && precision.equals("tf32")) {   // results from before the precision parameter: the default, tf32
            Map<String, String> withoutPrecision = new java.util.HashMap<>(Map.of("model", m[0], "device", "cuda"));
            withoutPrecision.put("precision", null);   // only those: another precision's result is not this row's
            p = find(pulmo, method, withoutPrecision, step);
        }
        Map<?, ?> t = null;
        for (Object o : list(torch, section)) {
            Map<?, ?> r = (Map<?, ?>) o;
            if (m[1].equals(r.get("model")) && precision.equals(r.get("mode"))) t = r;
        }
        boolean pairs = ModelWorkload.isPairModel(m[0]);
        String ps = "missing", ts = "missing";
        double pulmoRate = Double.NaN, torchRate = Double.NaN;
        if (p != null) {
            int batch = ModelWorkload.Size.of(p.params.get("size"), m[0], pass).batch();
            pulmoRate = ModelWorkload.imagesPerStep(m[0], batch) / p.seconds;
            ps = String.format(Locale.ROOT, "%.1f images/s (batch %d%s)", pulmoRate, batch, pairs ? " pairs" : "");
        }
        if (t != null) {
            torchRate = Json.number(t.get("images_per_s"));
            ts = String.format(Locale.ROOT, "%.1f images/s (batch %d%s)", torchRate, (int) Json.number(t.get("batch")), pairs ? " pairs" : "");
        }
        String what = (train ? "training step " : "inference ") + m[2] + (pairs ? (train ? ", 2 images per pair" : ", pair forward, 2 images per pair") : "")
            + (recorded ? ", Pulmo's " + (train ? "step" : "forward") + " recorded (CUDA graph)" : "");
        return new Row(what, precision, ps, ts, pulmoRate / torchRate, m[0], train ? "train" : "infer", pulmoRate, torchRate,
            recorded ? "recorded" : "eager");
    }

    private static List<?> list(Map<?, ?> torch, String key) {
        return torch.get(key) instanceof List<?> l ? l : List.of();
    }

    private static boolean sameShape(Object shape, List<Integer> dims) {
        if (!(shape instanceof List<?> l) || l.size() != dims.size()) return false;
        for (int i = 0; i < dims.size(); i++) if (Json.number(l.get(i)) != dims.get(i)) return false;
        return true;
    }

    /**
     * The last result of {@code method} whose params include {@code want} and whose {@code recorded} param is
     * {@code recorded} (absent counts as "false": results from before the parameter).
     */
    private static PulmoResult find(List<PulmoResult> pulmo, String method, Map<String, String> want, String recorded) {
        PulmoResult found = null;
        for (PulmoResult r : pulmo) {
            if (!r.method.equals(method) || !r.params.getOrDefault("recorded", "false").equals(recorded)) continue;
            boolean ok = true;
            for (var e : want.entrySet()) ok &= Objects.equals(r.params.get(e.getKey()), e.getValue());
            if (ok) found = r;
        }
        return found;
    }

    static String markdown(List<Row> rows, Map<?, ?> torch) {
        StringBuilder b = new StringBuilder();
        if (torch.get("env") instanceof Map<?, ?> env)
            b.append(String.format(Locale.ROOT, "PyTorch %s, CUDA %s, cuDNN %s on %s%n%n", env.get("torch"), env.get("cuda"),
                env.get("cudnn") instanceof Double d ? String.valueOf(d.longValue()) : env.get("cudnn"), env.get("gpu")));
        b.append("| what | precision | Pulmo | PyTorch (eager) | speed Pulmo/PyTorch |\n|---|---|---|---|---:|\n");
        for (Row r : rows)
            b.append(String.format(Locale.ROOT, "| %s | %s | %s | %s | %s |%n", r.what, r.precision, r.pulmo, r.torch,
                Double.isNaN(r.ratio) ? "-" : String.format(Locale.ROOT, "%.2f", r.ratio)));
        return b.toString();
    }

    /**
     * The models' rows as JSON, for comparing later runs with this one (benchmarks/results/gpu-side-by-side.json): a list
     * of {@code {model, kind: train|infer, mode: eager, precision: tf32|fp32, pulmo_img_s, torch_img_s, ratio, pulmo_step:
     * eager|recorded}}, a missing side as null. PyTorch's side is its eager mode (bench_train.py runs without torch.compile
     * here); {@code pulmo_step} says whether Pulmo's training step ran as ordinary code or recorded (a CUDA graph).
     */
    static String json(List<Row> rows) {
        List<String> items = new ArrayList<>();
        for (Row r : rows) {
            if (r.model() == null) continue;
            items.add(String.format(Locale.ROOT, "  {\"model\": \"%s\", \"kind\": \"%s\", \"mode\": \"eager\", \"precision\": \"%s\", "
                + "\"pulmo_img_s\": %s, \"torch_img_s\": %s, \"ratio\": %s, \"pulmo_step\": \"%s\"}", r.model(), r.kind(), r.precision(),
                number(r.pulmoRate()), number(r.torchRate()), number(r.ratio()), r.pulmoStep()));
        }
        return "[\n" + String.join(",\n", items) + "\n]\n";
    }

    /**
     * The parsed JSON of one part's results file, or null with a line saying why: absent, empty, cut short or not JSON
     * (a part stopped at its time limit leaves JMH's file empty), so that the other parts' rows are still written.
     */
    static Object readable(Path f, String side) {
        String why;
        try {
            if (!Files.exists(f)) why = "absent";
            else if (Files.size(f) == 0) why = "empty (the part stopped before writing it?)";
            else {
                Object parsed = Json.parse(Files.readString(f));
                boolean jmh = side.equals("Pulmo");
                if (jmh ? parsed instanceof List<?> : parsed instanceof Map<?, ?>) return parsed;
                why = "not " + (jmh ? "JMH's list of results" : "bench_train.py's JSON object");
            }
        } catch (IllegalArgumentException | IOException e) {
            why = "unreadable (" + e.getMessage() + ")";
        }
        System.err.println("SideBySideTable: no " + side + " results from " + f + ": " + why + "; its rows are missing");
        return null;
    }

    private static String number(double v) { return Double.isNaN(v) || Double.isInfinite(v) ? "null" : String.format(Locale.ROOT, "%.4g", v); }

    public static void main(String[] args) throws IOException {
        String usage = "usage: SideBySideTable --torch FILE --pulmo FILE [--pulmo FILE] [--out FILE] [--json FILE]";
        if (args.length == 0 || args.length % 2 == 1 || List.of(args).contains("--help") || List.of(args).contains("-h")) {
            System.err.println(usage);
            System.exit(2);
        }
        List<PulmoResult> pulmo = new ArrayList<>();
        Map<?, ?> torch = null;
        Path out = null, json = null;
        for (int i = 0; i + 1 < args.length; i += 2) {
            Path f = Path.of(args[i + 1]);
            switch (args[i]) {
                case "--pulmo" -> { if (readable(f, "Pulmo") instanceof List<?> l) pulmo.addAll(readJmh(l)); }
                case "--torch" -> torch = readable(f, "PyTorch") instanceof Map<?, ?> m ? m : null;
                case "--out" -> out = f;
                case "--json" -> json = f;
                default -> throw new IllegalArgumentException("unknown option " + args[i] + "; " + usage);
            }
        }
        if (torch == null) {
            System.err.println("SideBySideTable: no PyTorch results (--torch FILE missing or absent); Pulmo's rows only");
            torch = Map.of();
        }
        List<Row> rows = rows(pulmo, torch);
        String table = markdown(rows, torch);
        System.out.print(table);
        if (out != null) Files.writeString(out, table);
        if (json != null) Files.writeString(json, json(rows));
    }
}
