package org.pulmo.benchmarks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The figures of the side-by-side table beyond the ratio itself: PyTorch's MAB time and GB/s, the forward + backward
 * traffic, the copy bandwidth MAB is set against, results written before the precision parameter, the JSON's digits.
 * Every expected number is worked out here from the definitions (bytes moved / time, images / time).
 */
class SideBySideTableFiguresTest {

    private static String jmh(String method, String params, double score, String unit) {
        return "{\"benchmark\": \"org.pulmo.benchmarks." + method + "\", \"mode\": \"avgt\", \"params\": {" + params + "},"
            + " \"primaryMetric\": {\"score\": " + score + ", \"scoreError\": \"NaN\", \"scoreUnit\": \"" + unit + "\"}}";
    }

    private static List<SideBySideTable.Row> rows(String torch, String... pulmo) {
        return SideBySideTable.rows(SideBySideTable.readJmh("[" + String.join(",\n", pulmo) + "]"), (Map<?, ?>) Json.parse(torch));
    }

    private static SideBySideTable.Row row(List<SideBySideTable.Row> rows, String prefix) {
        return rows.stream().filter(r -> r.what().startsWith(prefix)).findFirst().orElseThrow(() -> new AssertionError("no row " + prefix));
    }

    // MA-Net stage 1: [16, 256, 56, 56]
    private static final long E1 = 16L * 256 * 56 * 56, P1 = 16L * 256;

    @Test void pyTorchsMabRowIsItsMedianTimeAndTheBytesOverIt() {
        String torch = """
            {"mab": [{"shape": [16, 256, 56, 56], "impl": "eager", "kind": "fwd", "median_ms": 0.25}]}
            """;
        SideBySideTable.Row mab = row(rows(torch, jmh("GpuKernelsBench.mabForward", "\"version\": \"FUSED\", \"shape\": \"STAGE1\"", 125, "us/op")),
            "MAB forward [16, 256, 56, 56]");
        double bytes = 4.0 * (3 * E1 + P1);   // reads a, b; writes F_am and one lse per plane
        assertEquals(String.format(Locale.ROOT, "250.0 us, %.0f GB/s", bytes / 250e-6 / 1e9), mab.torch());
        assertTrue(mab.pulmo().startsWith(String.format(Locale.ROOT, "125.0 us, %.0f GB/s", bytes / 125e-6 / 1e9)), mab.pulmo());
        assertEquals(2.0, mab.ratio(), 1e-12, "250 us against 125 us: Pulmo twice as fast");
    }

    @Test void forwardAndBackwardRowsCountSixMaps() {
        String torch = """
            {"mab": [{"shape": [16, 256, 56, 56], "impl": "eager", "kind": "fwd+bwd", "median_ms": 0.8}]}
            """;
        SideBySideTable.Row mab = row(rows(torch, jmh("GpuKernelsBench.mabForwardBackward", "\"version\": \"FUSED\", \"shape\": \"STAGE1\"", 400, "us/op")),
            "MAB forward + backward [16, 256, 56, 56]");
        double bytes = 4.0 * 6 * E1;   // a, b, F_am read and written: PyTorch's count of six tensors
        assertEquals(String.format(Locale.ROOT, "400.0 us, %.0f GB/s", bytes / 400e-6 / 1e9), mab.pulmo());
        assertEquals(String.format(Locale.ROOT, "800.0 us, %.0f GB/s", bytes / 800e-6 / 1e9), mab.torch());
        assertEquals(2.0, mab.ratio(), 1e-12);
    }

    /** The share of copy bandwidth is against cuMemcpyDtoDAsync (MEMCPY), not the backend's copy kernel measured beside it. */
    @Test void mabIsSetAgainstTheMemcpyBandwidth() {
        SideBySideTable.Row mab = row(rows("{}",
                jmh("GpuKernelsBench.mabForward", "\"version\": \"FUSED\", \"shape\": \"STAGE1\"", 100, "us/op"),
                jmh("GpuKernelsBench.copy", "\"version\": \"MEMCPY\", \"shape\": \"STAGE1\"", 50, "us/op"),
                jmh("GpuKernelsBench.copy", "\"version\": \"KERNEL\", \"shape\": \"STAGE1\"", 80, "us/op")),
            "MAB forward [16, 256, 56, 56]");
        double mabGbs = 4.0 * (3 * E1 + P1) / 100e-6 / 1e9, copyGbs = 2 * 4.0 * E1 / 50e-6 / 1e9;
        assertTrue(mab.pulmo().endsWith(String.format(Locale.ROOT, "(%.0f%% of copy %.0f GB/s)", 100 * mabGbs / copyGbs, copyGbs)), mab.pulmo());
        assertEquals("missing", mab.torch());
        assertTrue(Double.isNaN(mab.ratio()));
    }

    /** Results from before the precision parameter ran with the default, TF32: they fill the tf32 rows and add no other precision. */
    @Test void resultsWithoutAPrecisionCountAsTf32() {
        String torch = """
            {"train": [{"model": "resnet50", "mode": "tf32", "batch": 32, "images_per_s": 1600.0}]}
            """;
        List<SideBySideTable.Row> rows = rows(torch,
            jmh("ModelThroughputBench.trainStep", "\"model\": \"resnet50\", \"device\": \"cuda\", \"size\": \"paper\"", 25, "ms/op"));
        assertEquals(2 * 3 + 8, rows.size(), "tf32 only: train and infer rows of three models, and MAB's");
        assertTrue(rows.stream().allMatch(r -> r.precision().equals("tf32") || r.precision().equals("fp32") && r.model() == null), rows.toString());
        SideBySideTable.Row resnet = row(rows, "training step ResNet-50");
        assertEquals("tf32", resnet.precision());
        assertEquals(32 / 0.025, resnet.pulmoRate(), 1e-9);
        assertEquals(32 / 0.025 / 1600, resnet.ratio(), 1e-12);
    }

    /** An fp32 result is not a tf32 row's figure: with only fp32 measured, the tf32 row says its Pulmo side is missing. */
    @Test void anotherPrecisionsResultDoesNotFillARow() {
        String torch = """
            {"train": [{"model": "dpn92se", "mode": "tf32", "batch": 32, "images_per_s": 364.6},
                       {"model": "dpn92se", "mode": "fp32", "batch": 32, "images_per_s": 200.0}]}
            """;
        List<SideBySideTable.Row> rows = rows(torch,
            jmh("ModelThroughputBench.trainStep", "\"model\": \"dpn92-se\", \"device\": \"cuda\", \"size\": \"paper\", \"precision\": \"fp32\"", 400, "ms/op"));
        SideBySideTable.Row tf32 = rows.stream().filter(r -> r.what().startsWith("training step DPN-92-SE") && r.precision().equals("tf32"))
            .findFirst().orElseThrow();
        assertEquals("missing", tf32.pulmo(), tf32.toString());
        assertTrue(Double.isNaN(tf32.ratio()), tf32.toString());
        SideBySideTable.Row fp32 = rows.stream().filter(r -> r.what().startsWith("training step DPN-92-SE") && r.precision().equals("fp32"))
            .findFirst().orElseThrow();
        assertEquals(32 / 0.4 / 200.0, fp32.ratio(), 1e-12);
    }

    @Test void theJsonKeepsFourSignificantDigits() {
        String torch = """
            {"train": [{"model": "dpn92se", "mode": "tf32", "batch": 32, "images_per_s": 364.6}]}
            """;
        List<SideBySideTable.Row> rows = rows(torch,
            jmh("ModelThroughputBench.trainStep", "\"model\": \"dpn92-se\", \"device\": \"cuda\", \"size\": \"paper\", \"precision\": \"tf32\"", 121.9, "ms/op"));
        Map<?, ?> dpn = (Map<?, ?>) ((List<?>) Json.parse(SideBySideTable.json(rows))).get(0);
        double pulmo = 32 / 0.1219;   // 262.5 images/s
        assertEquals(pulmo, (Double) dpn.get("pulmo_img_s"), 0.05);
        assertEquals(364.6, (Double) dpn.get("torch_img_s"), 0.05);
        assertEquals(pulmo / 364.6, (Double) dpn.get("ratio"), 5e-4);
        assertNull(((Map<?, ?>) ((List<?>) Json.parse(SideBySideTable.json(rows))).get(1)).get("torch_img_s"), "MA-Net: PyTorch has none");
    }

    /** Two results for the same row (a rerun's file given after the first): the later one counts. */
    @Test void theLaterOfTwoResultsForARowCounts() {
        String torch = """
            {"train": [{"model": "resnet50", "mode": "tf32", "batch": 32, "images_per_s": 1000.0}]}
            """;
        String params = "\"model\": \"resnet50\", \"device\": \"cuda\", \"size\": \"paper\", \"precision\": \"tf32\"";
        SideBySideTable.Row resnet = row(rows(torch, jmh("ModelThroughputBench.trainStep", params, 40, "ms/op"),
            jmh("ModelThroughputBench.trainStep", params, 20, "ms/op")), "training step ResNet-50");
        assertEquals(32 / 0.020, resnet.pulmoRate(), 1e-9);
        assertEquals(32 / 0.020 / 1000, resnet.ratio(), 1e-12);
    }

    /** An infinite figure (a side's rate of 0) is written as null, as NaN is: strict JSON has no Infinity. */
    @Test void anInfiniteFigureIsWrittenAsNull() {
        SideBySideTable.Row row = new SideBySideTable.Row("training step ResNet-50", "tf32", "100.0 images/s", "0.0 images/s",
            100.0 / 0.0, "resnet50", "train", 100.0, 0.0, "eager");
        String json = SideBySideTable.json(List.of(row));
        assertTrue(json.contains("\"ratio\": null"), json);
        assertTrue(json.contains("\"torch_img_s\": 0.000"), json);
    }

    /** A file of the other side's kind (a PyTorch object given as --pulmo, a JMH list as --torch) is refused with a line. */
    @Test void aFileOfTheOtherSidesKindIsRefused(@TempDir Path dir) throws Exception {
        Path object = dir.resolve("torch_ref.json"), list = dir.resolve("pulmo.json");
        Files.writeString(object, "{\"train\": []}");
        Files.writeString(list, "[]");
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream before = System.err;
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        try {
            assertNull(SideBySideTable.readable(object, "Pulmo"));
            assertNull(SideBySideTable.readable(list, "PyTorch"));
            assertEquals(List.of(), SideBySideTable.readable(list, "Pulmo"));
            assertEquals(Map.of("train", List.of()), SideBySideTable.readable(object, "PyTorch"));
        } finally {
            System.setErr(before);
        }
        String said = err.toString(StandardCharsets.UTF_8);
        assertTrue(said.contains("no Pulmo results from " + object + ": not JMH's list of results"), said);
        assertTrue(said.contains("no PyTorch results from " + list + ": not bench_train.py's JSON object"), said);
    }
}
