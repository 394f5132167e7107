package org.pulmo.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Assertions;

/**
 * Builds host programs from the kernels' own source with nvcc, so that tests without a GPU run the parts of the
 * kernels that are {@code __host__ __device__} (index arithmetic, per-lane work) against the Java references. Skips
 * without nvcc, except under {@code CI=true}, where every machine has it and its absence is a failure.
 */
final class HostNvcc {
    private HostNvcc() {}

    /** nvcc as the build finds it (build-fatbin.sh: $NVCC, PATH, /usr/local/cuda/bin, /usr/local/bin), or null. */
    static Path find() {
        List<String> candidates = new ArrayList<>();
        if (System.getenv("NVCC") != null) candidates.add(System.getenv("NVCC"));
        for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) candidates.add(dir + "/nvcc");
        candidates.add("/usr/local/cuda/bin/nvcc");
        candidates.add("/usr/local/bin/nvcc");
        return candidates.stream().filter(c -> !c.isEmpty()).map(Path::of).filter(Files::isExecutable).findFirst().orElse(null);
    }

    /** Compiles {@code source} (which may include the kernels' headers and .cu files) into dir/name; returns the program. */
    static Path compile(Path dir, String name, String source) throws IOException, InterruptedException {
        Path nvcc = find();
        if ("true".equals(System.getenv("CI")) && nvcc == null) Assertions.fail("CI machines have nvcc; none found");
        Assumptions.assumeTrue(nvcc != null, "skipped: no nvcc to compile the kernels' code for the host");
        Path src = Path.of("src/main/cuda").toAbsolutePath(), file = dir.resolve(name + ".cu"), exe = dir.resolve(name);
        Files.writeString(file, source);
        Process cc = new ProcessBuilder(nvcc.toString(), "-O2", "-std=c++17", "-arch=sm_90", "-I", src.toString(), "-o", exe.toString(),
            file.toString()).redirectErrorStream(true).start();
        String out = new String(cc.getInputStream().readAllBytes());
        assertEquals(0, cc.waitFor(), () -> "nvcc could not build the host program " + name + ":\n" + out);
        return exe;
    }

    /** Runs a built program with {@code input} on stdin (from a file: no pipe to fill both ways); returns its stdout's lines (it must exit 0). */
    static List<String> run(Path exe, String input) throws IOException, InterruptedException {
        Path in = Files.writeString(exe.resolveSibling(exe.getFileName() + ".in"), input);
        Process p = new ProcessBuilder(exe.toString()).redirectInput(in.toFile()).redirectErrorStream(true).start();
        List<String> lines = new String(p.getInputStream().readAllBytes()).lines().toList();
        assertEquals(0, p.waitFor(), () -> exe.getFileName() + " failed: " + String.join("\n", lines));
        return lines;
    }
}
