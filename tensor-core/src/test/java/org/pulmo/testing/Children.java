package org.pulmo.testing;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/** Child processes of the test lanes that run tools or JVMs (the mock- and emulated-GPU lanes), and where they find things. */
public final class Children {
    private Children() {}

    /** What a child printed (stdout and stderr together), its exit code (-1: killed at the time limit) and wall time. */
    public record Child(String name, int code, String output, long millis) {
        public String tail() {
            String t = output.length() > 8000 ? "..." + output.substring(output.length() - 8000) : output;
            return "---- " + name + " (exit " + code + ", " + millis + " ms), last output ----\n" + t;
        }
    }

    /** Runs a command to its end or its time limit (then kills it and its children), output to {@code out}, not a pipe. */
    public static Child run(List<String> cmd, Map<String, String> env, long timeoutS, Path out, String name) throws Exception {
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(out.toFile());
        pb.environment().putAll(env);
        long t0 = System.nanoTime();
        Process p = pb.start();
        int code;
        if (p.waitFor(timeoutS, TimeUnit.SECONDS)) code = p.exitValue();
        else {
            p.descendants().forEach(ProcessHandle::destroyForcibly);
            p.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            code = -1;
        }
        long ms = (System.nanoTime() - t0) / 1_000_000;
        String text = new String(Files.readAllBytes(out), StandardCharsets.UTF_8); // lenient: a crash may print any bytes
        if (code == -1) text += "\n[killed after " + timeoutS + " s]";
        return new Child(name, code, text, ms);
    }

    /**
     * The start of a child JVM's command: this test's java, this JVM's vector-width options, {@code options}, and the test
     * class path. The child computes with the same vector width as its parent (a run of the tests with
     * {@code -XX:MaxVectorSize=32} stands for an AVX2 machine), so that the two can be compared bit for bit.
     */
    public static List<String> java(List<String> options) {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        for (String a : java.lang.management.ManagementFactory.getRuntimeMXBean().getInputArguments())
            if (a.startsWith("-XX:MaxVectorSize=") || a.startsWith("-XX:UseAVX=")) cmd.add(a);
        cmd.addAll(options);
        // surefire's own class path property lists the test class path even when java.class.path is its booter jar
        cmd.addAll(List.of("-cp", System.getProperty("surefire.test.class.path", System.getProperty("java.class.path"))));
        return cmd;
    }

    /** The folder of pulmo's root pom: maven.multiModuleProjectDirectory, else the first one above user.dir; null if none. */
    public static Path projectRoot() throws IOException {
        String mm = System.getProperty("maven.multiModuleProjectDirectory");
        if (mm != null && isRoot(Path.of(mm))) return Path.of(mm).toAbsolutePath();
        for (Path d = Path.of(System.getProperty("user.dir")).toAbsolutePath(); d != null; d = d.getParent())
            if (isRoot(d)) return d;
        return null;
    }

    private static boolean isRoot(Path d) throws IOException {
        Path pom = d.resolve("pom.xml");
        return Files.isRegularFile(pom) && Files.readString(pom).contains("<module>cuda-kernels</module>");
    }

    /** Whether an executable named {@code tool} is on PATH. */
    public static boolean onPath(String tool) {
        for (String dir : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator))
            if (!dir.isEmpty() && Files.isExecutable(Path.of(dir, tool))) return true;
        return false;
    }
}
