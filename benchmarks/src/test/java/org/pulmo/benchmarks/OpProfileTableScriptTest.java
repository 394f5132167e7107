package org.pulmo.benchmarks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * benchmarks/op_profile_table.py on a small TrainingStepProfile log and torch_op_profile.py JSON: each kind's row, its
 * ratio PyTorch / Pulmo (time) and Pulmo / PyTorch (bytes), and the totals, worked out here by hand. Skipped without python3, except under CI=true, where that fails.
 */
class OpProfileTableScriptTest {

    private static String run(Path dir, String log, String torchJson) throws Exception {
        Ran r = script(dir, log, torchJson);
        assertEquals(0, r.code(), r.text());
        return r.text();
    }

    /** What the script printed (stdout and stderr) and its exit code. */
    private record Ran(int code, String text) {}

    /** op_profile_table.py on {@code log} (Pulmo's) and {@code torchJson} (PyTorch's), written into {@code dir}. */
    private static Ran script(Path dir, String log, String torchJson) throws Exception {
        Path script = Path.of("op_profile_table.py").toAbsolutePath();
        assertTrue(Files.exists(script), "op_profile_table.py is not in the module folder, the tests' working directory");
        Path pulmo = dir.resolve("pulmo.log"), torch = dir.resolve("torch.json"), out = dir.resolve("out.txt");
        Files.writeString(pulmo, log);
        Files.writeString(torch, torchJson);
        Process p;
        try {
            p = new ProcessBuilder("python3", script.toString(), pulmo.toString(), torch.toString())
                .redirectErrorStream(true).redirectOutput(out.toFile()).start();
        } catch (java.io.IOException e) {
            // python3 is on every CI machine: there a missing one is a failure, elsewhere a skip that says why
            if ("true".equals(System.getenv("CI"))) throw new AssertionError("no python3 under CI=true: " + e.getMessage(), e);
            Assumptions.abort("no python3: " + e.getMessage());
            throw e;
        }
        if (!p.waitFor(60, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("op_profile_table.py did not finish in 60 s");
        }
        return new Ran(p.exitValue(), Files.readString(out));
    }

    private static final String TORCH = """
        {"by_kind": {"batch norm": {"ms_per_step": 2.0, "kernels_per_step": 5},
                     "convolution": {"ms_per_step": 3.0, "kernels_per_step": 30}},
         "alloc_by_kind": {"batch norm": {"mb_per_step": 50.0}, "convolution": {"mb_per_step": 50.0}}}
        """;

    @Test void timesAndBytesPerKindSideBySide(@TempDir Path dir) throws Exception {
        String log = """
            resnet50, 1 steps after 1 warm-up: 0.100 s/step
            KIND batch_norm 4.000 10.0 100.0
            KIND convolution 2.000 20.0 50.0
            """;
        List<String> lines = run(dir, log, TORCH).lines().toList();
        // time: PyTorch / Pulmo, 2 / 4 and 3 / 2; all 5 / 6
        assertTrue(lines.contains("| batch norm | 4.00 (10) | 2.00 (5) | 0.50 |"), String.join("\n", lines));
        assertTrue(lines.contains("| convolution | 2.00 (20) | 3.00 (30) | 1.50 |"), String.join("\n", lines));
        assertTrue(lines.contains("| all | 6.00 | 5.00 | 0.83 |"), String.join("\n", lines));
        // bytes: Pulmo / PyTorch, 100 / 50 and 50 / 50; all 150 / 100
        assertTrue(lines.contains("| batch norm | 100.0 | 50.0 | 2.00 |"), String.join("\n", lines));
        assertTrue(lines.contains("| convolution | 50.0 | 50.0 | 1.00 |"), String.join("\n", lines));
        assertTrue(lines.contains("| all | 150.0 | 100.0 | 1.50 |"), String.join("\n", lines));
    }

    /** A CPU profile's KIND lines carry no bytes: the time table alone, every kind still read. */
    @Test void kindLinesWithoutBytesGiveTheTimeTableOnly(@TempDir Path dir) throws Exception {
        String log = "KIND batch_norm 4.000 10.0\nKIND convolution 2.000 20.0\n";
        String text = run(dir, log, TORCH);
        assertTrue(text.contains("| batch norm | 4.00 (10) | 2.00 (5) | 0.50 |"), text);
        assertTrue(text.contains("| all | 6.00 | 5.00 | 0.83 |"), text);
        assertFalse(text.contains("MB allocated"), text);
    }

    /**
     * A kind only one side has (PyTorch's copies, Pulmo's softmax) gets its row with the other side blank and no ratio; the
     * totals count every kind of each side; rows go from the kind with the longest time (or most bytes) on either side down;
     * a kind that allocated nothing on Pulmo's side has a ratio of 0.
     */
    @Test void kindsOfOneSideOnlyAndTheOrderOfTheRows(@TempDir Path dir) throws Exception {
        String log = """
            KIND batch_norm 4.000 10.0 100.0
            KIND convolution 2.000 20.0 0.0
            KIND softmax 1.000 2.0 10.0
            """;
        String torch = """
            {"by_kind": {"batch norm": {"ms_per_step": 2.0, "kernels_per_step": 5},
                         "convolution": {"ms_per_step": 3.0, "kernels_per_step": 30},
                         "copy": {"ms_per_step": 6.0, "kernels_per_step": 3}},
             "alloc_by_kind": {"batch norm": {"mb_per_step": 50.0}, "convolution": {"mb_per_step": 50.0}, "copy": {"mb_per_step": 200.0}}}
            """;
        List<String> lines = run(dir, log, torch).lines().toList();
        String all = String.join("\n", lines);
        // time: longest first (copy 6, batch norm 4, convolution 3, softmax 1); all: 4 + 2 + 1 = 7 against 2 + 3 + 6 = 11
        List<String> time = List.of("| copy |  | 6.00 (3) |  |", "| batch norm | 4.00 (10) | 2.00 (5) | 0.50 |",
            "| convolution | 2.00 (20) | 3.00 (30) | 1.50 |", "| softmax | 1.00 (2) |  |  |", "| all | 7.00 | 11.00 | 1.57 |");
        // bytes: most first (copy 200, batch norm 100, convolution 50, softmax 10); all: 110 against 300
        List<String> bytes = List.of("| copy |  | 200.0 |  |", "| batch norm | 100.0 | 50.0 | 2.00 |", "| convolution | 0.0 | 50.0 | 0.00 |",
            "| softmax | 10.0 |  |  |", "| all | 110.0 | 300.0 | 0.37 |");
        for (List<String> table : List.of(time, bytes)) {
            int at = lines.indexOf(table.get(0));
            assertTrue(at >= 0, table.get(0) + " in\n" + all);
            assertEquals(table, lines.subList(at, at + table.size()), all);
        }
    }

    /** A log without KIND lines (a profile that failed, or a CPU log of another format) is exit code 1, not an empty table. */
    @Test void aLogWithoutKindLinesIsAnError(@TempDir Path dir) throws Exception {
        Ran r = script(dir, "resnet50, 1 steps after 1 warm-up: 0.100 s/step\n", TORCH);
        assertEquals(1, r.code(), r.text());
        assertTrue(r.text().contains("no KIND lines in " + dir.resolve("pulmo.log")), r.text());
    }
}
