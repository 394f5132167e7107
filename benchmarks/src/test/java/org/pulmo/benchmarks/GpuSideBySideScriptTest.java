package org.pulmo.benchmarks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * benchmarks/gpu-side-by-side.sh, read as text (it needs a GPU to run): the table is made from the files the parts write,
 * so that a renamed result file cannot turn every row of one side into "missing" on the GPU machine.
 */
class GpuSideBySideScriptTest {

    private static List<String> files(String script, String option) {
        List<String> names = new ArrayList<>();
        Matcher m = Pattern.compile(Pattern.quote(option) + " \"\\$out/([^\"]+)\"").matcher(script);
        while (m.find()) names.add(m.group(1));
        return names;
    }

    @Test void theTableReadsTheFilesThePartsWrite() throws Exception {
        Path path = Path.of("gpu-side-by-side.sh");
        assertTrue(Files.exists(path), "gpu-side-by-side.sh is not in the module folder, the tests' working directory");
        String script = Files.readString(path);
        List<String> written = new ArrayList<>(files(script, "-rff"));   // JMH's result files: the end-to-end and the kernels part
        written.addAll(files(script, "--json"));                           // bench_train.py's, and the table's own rows
        written.remove("gpu-side-by-side.json");                           // the table's output is none of its inputs
        assertEquals(3, written.size(), "two JMH parts and PyTorch's write results: " + written);
        List<String> pulmo = files(script, "--pulmo"), torch = files(script, "--torch");
        assertEquals(List.of("pulmo_e2e.json", "pulmo_kernels.json"), files(script, "-rff"));
        assertEquals(2, pulmo.size(), "the table reads both of Pulmo's parts");
        assertEquals(1, torch.size(), "and PyTorch's");
        for (String f : pulmo) assertTrue(written.contains(f), f + " is read by the table but no part writes it: " + written);
        for (String f : torch) assertTrue(written.contains(f), f + " is read by the table but no part writes it: " + written);
    }
}
