package org.pulmo.benchmarks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SideBySideTableTest {

    private static String jmh(String method, String params, double score, String unit) {
        return "{\"benchmark\": \"org.pulmo.benchmarks." + method + "\", \"mode\": \"avgt\", \"params\": {" + params + "},"
            + " \"primaryMetric\": {\"score\": " + score + ", \"scoreError\": \"NaN\", \"scoreUnit\": \"" + unit + "\"}}";
    }

    private static final String PULMO = "[" + String.join(",\n",
        jmh("ModelThroughputBench.trainStep", "\"model\": \"dpn92-se\", \"device\": \"cuda\", \"size\": \"paper\", \"precision\": \"tf32\"", 200, "ms/op"),
        jmh("ModelThroughputBench.trainStep", "\"model\": \"manet-resnet50\", \"device\": \"cuda\", \"size\": \"paper\", \"precision\": \"tf32\"", 100, "ms/op"),
        jmh("ModelThroughputBench.trainStep", "\"model\": \"resnet50\", \"device\": \"cpu\", \"size\": \"small\", \"precision\": \"tf32\"", 900, "ms/op"),
        jmh("ModelThroughputBench.inference", "\"model\": \"dpn92-se\", \"device\": \"cuda\", \"size\": \"paper\", \"precision\": \"tf32\"", 128, "ms/op"),
        jmh("GpuKernelsBench.mabForward", "\"version\": \"FUSED\", \"shape\": \"STAGE1\"", 100, "us/op"),
        jmh("GpuKernelsBench.mabForward", "\"version\": \"NAIVE\", \"shape\": \"STAGE1\"", 50, "us/op"),
        jmh("GpuKernelsBench.copy", "\"version\": \"MEMCPY\", \"shape\": \"STAGE1\"", 40, "us/op")) + "]";

    private static final String TORCH = """
        {"env": {"torch": "2.11.0", "cuda": "13.0", "cudnn": 91000, "gpu": "NVIDIA H100"},
         "train": [{"model": "dpn92se", "mode": "tf32", "batch": 32, "images_per_step": 32, "images_per_s": 320.0, "median_ms": 100.0},
                   {"model": "manet", "mode": "tf32", "batch": 16, "images_per_step": 32, "images_per_s": 640.0, "pairs_per_s": 320.0},
                   {"model": "dpn92se", "mode": "fp32", "batch": 32, "images_per_s": 100.0}],
         "infer": [{"model": "dpn92se", "mode": "tf32", "batch": 64, "images_per_s": 1000.0}],
         "mab": [{"shape": [16, 256, 56, 56], "impl": "eager", "kind": "fwd", "median_ms": 0.2, "gb_per_s": NaN},
                 {"shape": [16, 256, 56, 56], "impl": "compile", "kind": "fwd", "median_ms": 0.05},
                 {"shape": [16, 512, 28, 28], "impl": "eager", "kind": "fwd", "error": "RuntimeError()"}]}
        """;

    /** One result exactly as JMH 1.37 wrote it on the GPU machine (ResNet-50 training step, H200): its key names. */
    @Test void readsTheJsonJmhWrites() {
        String real = """
            [{"jmhVersion": "1.37", "benchmark": "org.pulmo.benchmarks.ModelThroughputBench.trainStep", "mode": "avgt", "threads": 1,
              "forks": 1, "warmupIterations": 1, "warmupTime": "3 s", "measurementIterations": 2, "measurementTime": "3 s",
              "params": {"device": "cuda", "model": "resnet50", "precision": "tf32", "size": "paper"},
              "primaryMetric": {"score": 26.491997091717124, "scoreError": "NaN", "scoreConfidence": ["NaN", "NaN"],
                                "scoreUnit": "ms/op", "rawData": [[26.590648911504424, 26.393345271929824]]},
              "secondaryMetrics": {}},
             {"benchmark": "org.pulmo.benchmarks.ModelThroughputBench.inference", "mode": "avgt", "params": {"model": "dpn92-se"}}]
            """;
        List<SideBySideTable.PulmoResult> r = SideBySideTable.readJmh(real);
        assertEquals(1, r.size(), "the result cut short (no primaryMetric) is skipped");
        assertEquals("trainStep", r.get(0).method());
        assertEquals(0.026491997091717124, r.get(0).seconds(), 1e-12);
        assertEquals("resnet50", r.get(0).params().get("model"));
    }

    @Test void ratiosArePulmoSpeedOverPyTorchs() {
        List<SideBySideTable.Row> rows = SideBySideTable.rows(SideBySideTable.readJmh(PULMO), (Map<?, ?>) Json.parse(TORCH));
        // training and inference for tf32 (both sides) and fp32 (PyTorch only), three models each; MAB 2 x 4 shapes
        assertEquals(2 * 2 * 3 + 8, rows.size());
        // DPN-92-SE training: 32 images / 0.2 s = 160 images/s against 320
        assertEquals(0.5, rows.get(0).ratio(), 1e-12);
        assertTrue(rows.get(0).pulmo().startsWith("160.0 images/s (batch 32)"), rows.get(0).pulmo());
        // MA-Net: 16 pairs = 32 images / 0.1 s = 320 images/s against the reference's 640 (also 2 images per pair)
        assertEquals(0.5, rows.get(1).ratio(), 1e-12);
        assertTrue(rows.get(1).pulmo().contains("320.0 images/s (batch 16 pairs)"), rows.get(1).pulmo());
        // ResNet-50: the CPU result does not count, PyTorch has none: missing on both sides
        assertTrue(Double.isNaN(rows.get(2).ratio()));
        assertEquals("missing", rows.get(2).pulmo());
        // fp32 training: PyTorch only
        assertEquals("fp32", rows.get(3).precision());
        assertEquals("missing", rows.get(3).pulmo());
        assertTrue(rows.get(3).torch().startsWith("100.0 images/s"), rows.get(3).torch());
        assertTrue(Double.isNaN(rows.get(3).ratio()));
        // DPN-92-SE inference: 64 / 0.128 s = 500 images/s against 1000
        assertEquals(0.5, rows.get(6).ratio(), 1e-12);
        // MAB forward stage 1: fused 100 us against eager 200 us (not the compiled 50 us, not NAIVE's 50 us)
        SideBySideTable.Row mab = rows.get(12);
        assertTrue(mab.what().contains("[16, 256, 56, 56]"), mab.what());
        assertEquals(2.0, mab.ratio(), 1e-12);
        // 4 (3 E + N C) bytes in 100 us = 1542 GB/s; copy 2 * 4 E bytes in 40 us = 2569 GB/s: 60 %
        assertTrue(mab.pulmo().contains("1542 GB/s (60% of copy 2569 GB/s)"), mab.pulmo());
        // stage 2: PyTorch's row is an error, Pulmo has none
        assertTrue(Double.isNaN(rows.get(13).ratio()));
        assertEquals("missing", rows.get(13).torch());
    }

    /**
     * A run that also timed recorded steps (ModelThroughputBench -p recorded=false,true): each model's row is followed by
     * its recorded row, the recorded result never taken for the ordinary one, whichever came last.
     */
    @Test void recordedStepsGetRowsOfTheirOwn(@TempDir Path dir) throws Exception {
        String withRecorded = PULMO.substring(0, PULMO.length() - 1) + ",\n"
            + jmh("ModelThroughputBench.trainStep", "\"model\": \"dpn92-se\", \"device\": \"cuda\", \"size\": \"paper\", \"precision\": \"tf32\", "
                + "\"recorded\": \"true\"", 100, "ms/op") + "]";
        List<SideBySideTable.Row> rows = SideBySideTable.rows(SideBySideTable.readJmh(withRecorded), (Map<?, ?>) Json.parse(TORCH));
        assertEquals(2 * 2 * 3 + 2 * 3 + 8, rows.size(), "a recorded row beside each model's training rows, tf32 and fp32 (no"
            + " recorded inference was measured: no recorded inference rows)");
        assertEquals(0.5, rows.get(0).ratio(), 1e-12, "the ordinary step: 200 ms, not the recorded one's 100 ms");
        assertEquals("eager", rows.get(0).pulmoStep());
        assertEquals(1.0, rows.get(1).ratio(), 1e-12, "the recorded step: 32 images / 0.1 s = 320 images/s against 320");
        assertEquals("recorded", rows.get(1).pulmoStep());
        assertTrue(rows.get(1).what().contains("recorded"), rows.get(1).what());
        assertEquals("missing", rows.get(3).pulmo(), "MA-Net was not recorded in this run");
        assertTrue(rows.stream().noneMatch(r -> r.what().contains("forward recorded")), "no recorded inference rows");
        Path pulmo = dir.resolve("pulmo.json"), torch = dir.resolve("torch_ref.json"), json = dir.resolve("rows.json");
        Files.writeString(pulmo, withRecorded);
        Files.writeString(torch, TORCH);
        SideBySideTable.main(new String[] {"--torch", torch.toString(), "--pulmo", pulmo.toString(), "--out", dir.resolve("t.md").toString(),
            "--json", json.toString()});
        Map<?, ?> recorded = (Map<?, ?>) ((List<?>) Json.parse(Files.readString(json))).get(1);
        assertEquals("recorded", recorded.get("pulmo_step"));
        assertEquals(320.0, (Double) recorded.get("pulmo_img_s"), 1e-9);
    }

    @Test void mainWritesTheMarkdownTable(@TempDir Path dir) throws Exception {
        Path pulmo = dir.resolve("pulmo.json"), torch = dir.resolve("torch_ref.json"), out = dir.resolve("table.md");
        Files.writeString(pulmo, PULMO);
        Files.writeString(torch, TORCH);
        Path json = dir.resolve("rows.json");
        SideBySideTable.main(new String[] {"--torch", torch.toString(), "--pulmo", pulmo.toString(), "--pulmo", dir.resolve("absent.json").toString(),
            "--out", out.toString(), "--json", json.toString()});
        List<?> items = (List<?>) Json.parse(Files.readString(json));
        assertEquals(2 * 2 * 3, items.size(), "one item per model row, none for MAB");
        Map<?, ?> dpn = (Map<?, ?>) items.get(0);
        assertEquals("dpn92-se", dpn.get("model"));
        assertEquals("train", dpn.get("kind"));
        assertEquals("eager", dpn.get("mode"));
        assertEquals("tf32", dpn.get("precision"));
        assertEquals(160.0, (Double) dpn.get("pulmo_img_s"), 1e-9);
        assertEquals(320.0, (Double) dpn.get("torch_img_s"), 1e-9);
        assertEquals(0.5, (Double) dpn.get("ratio"), 1e-9);
        assertEquals("eager", dpn.get("pulmo_step"));
        Map<?, ?> resnet = (Map<?, ?>) items.get(2);
        assertEquals("resnet50", resnet.get("model"));
        assertEquals(null, resnet.get("pulmo_img_s"), "a missing side is null");
        assertEquals("infer", ((Map<?, ?>) items.get(6)).get("kind"));
        String md = Files.readString(out);
        assertTrue(md.startsWith("PyTorch 2.11.0, CUDA 13.0, cuDNN 91000 on NVIDIA H100"), md);
        assertTrue(md.contains("| training step DPN-92-SE | tf32 | 160.0 images/s (batch 32) | 320.0 images/s (batch 32) | 0.50 |"), md);
        assertTrue(md.contains("| training step ResNet-50 | tf32 | missing | missing | - |"), md);
        assertEquals(2 + 20, md.lines().filter(l -> l.startsWith("|")).count());
    }

    /** A part stopped at its time limit leaves an empty or cut-short file: the other parts' rows are still written. */
    @Test void aPartsEmptyOrCutShortFileLosesOnlyItsOwnRows(@TempDir Path dir) throws Exception {
        Path pulmo = dir.resolve("pulmo_e2e.json"), kernels = dir.resolve("pulmo_kernels.json"), torch = dir.resolve("torch_ref.json");
        Files.writeString(pulmo, PULMO);
        Files.writeString(kernels, "");
        Files.writeString(torch, TORCH.substring(0, TORCH.length() / 2));
        Path out = dir.resolve("table.md"), json = dir.resolve("rows.json");
        var err = new java.io.ByteArrayOutputStream();
        var before = System.err;
        System.setErr(new java.io.PrintStream(err, true, java.nio.charset.StandardCharsets.UTF_8));
        try {
            SideBySideTable.main(new String[] {"--pulmo", pulmo.toString(), "--pulmo", kernels.toString(), "--torch", torch.toString(),
                "--out", out.toString(), "--json", json.toString()});
        } finally {
            System.setErr(before);
        }
        String said = err.toString(java.nio.charset.StandardCharsets.UTF_8);
        assertTrue(said.contains("no Pulmo results from " + kernels + ": empty"), said);
        assertTrue(said.contains("no PyTorch results from " + torch + ": unreadable"), said);
        assertTrue(Files.readString(out).contains("| training step DPN-92-SE | tf32 | 160.0 images/s (batch 32) | missing | - |"),
            Files.readString(out));
        assertEquals(2 * 3, ((List<?>) Json.parse(Files.readString(json))).size(), "the models' rows of the readable file");
    }
}
