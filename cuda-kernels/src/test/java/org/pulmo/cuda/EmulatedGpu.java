package org.pulmo.cuda;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.pulmo.testing.Children;
import org.pulmo.testing.Children.Child;

/**
 * The emulated GPU of {@code src/test/emulator} as the lane test and the kernel-mutant campaign use it: built from a
 * folder of kernels (a copy with one bug planted, or the kernels as they are), and gpu-tagged tests run on it in a child
 * JVM ({@link EmulatedGpuLane}, one {@code RESULT} line per test). Everything it builds and every child's output goes
 * under one work folder.
 */
final class EmulatedGpu {
    /** The child JVM's options: those the tests need, and the thread stack the emulator's fibers run on. */
    static final List<String> JVM_OPTIONS =
        List.of("--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xss4m", "-Xmx4g");
    /**
     * The emulator's other schedule: the blocks of a grid and the threads of a block last first, and the earliest-started
     * runnable thread always resumed, so that one warp runs ahead as far as its barriers let it (emu_runtime.cpp).
     */
    static final Map<String, String> OTHER_SCHEDULE = Map.of("EMU_ORDER", "reverse", "EMU_SCHEDULE", "greedy");
    private static final long BUILD_TIMEOUT_S = 180;
    private static final Pattern RESULT = Pattern.compile("^RESULT (\\S+) (.+) (\\d+)$", Pattern.MULTILINE);

    private final Path root, work;

    /** For the project at {@code root}, building and writing under {@code work}. */
    EmulatedGpu(Path root, Path work) {
        this.root = root;
        this.work = work;
    }

    /** The kernels as they are: the module's .cu sources. */
    Path kernels() { return root.resolve("cuda-kernels/src/main/cuda"); }

    /** The mock driver's sources, beside the project. */
    static Path mockSources(Path root) { return root.resolve("../shared/gpu/mock-driver").normalize(); }

    /** Null where the mock driver's sources are beside the project, else a line saying where they were looked for. */
    static String noMock(Path root) {
        return Files.isRegularFile(mockSources(root).resolve("build.sh")) ? null : "no mock driver at " + mockSources(root);
    }

    /** The first tool that building the emulator needs and PATH lacks (the mock's build runs python3 and ptxas), or null. */
    static String missingTool() {
        for (String tool : List.of("gcc", "g++", "nvcc", "ptxas", "python3"))
            if (!Children.onPath(tool)) return tool;
        return null;
    }

    /**
     * Builds the emulator for the kernels in {@code cuda} into {@code dir}/gpu (the mock they run on is built once, into
     * the work folder's {@code mock}); null, or why it failed, with the build's last output.
     */
    String build(Path cuda, Path dir) throws Exception { return build(cuda, dir, "build-" + dir.getFileName(), false); }

    /**
     * As above, the build's output kept in the work folder as {@code log}.out; with {@code raceCheck}, every load and
     * store of the kernels in device and shared memory is checked for races (EMU_RACECHECK=1, emu_runtime.cpp): two
     * threads of a launch touching one word, one of them writing, with no barrier to order them, fail the launch.
     * Slower, and with a shadow of each allocation a kernel touches (14 times its size) while the kernel runs.
     */
    String build(Path cuda, Path dir, String log, boolean raceCheck) throws Exception { return build(cuda, dir, log, raceCheck, false); }

    /**
     * As above; with {@code contract}, g++ may fuse the kernels' {@code a * b + c} into one fused multiply-add, as nvcc
     * does by default (EMU_CONTRACT=1, build-emulator.sh), so that their sums round as on a GPU in kind, which the
     * tests' tolerances must then allow for. Without it the emulator fuses only the kernels' explicit {@code fmaf}.
     */
    String build(Path cuda, Path dir, String log, boolean raceCheck, boolean contract) throws Exception {
        Files.createDirectories(dir);
        Map<String, String> env = new HashMap<>(Map.of("MOCK_SRC", mockSources(root).toString()));
        if (raceCheck) env.put("EMU_RACECHECK", "1");
        if (contract) env.put("EMU_CONTRACT", "1");
        Child emu = run(List.of("bash", root.resolve("cuda-kernels/src/test/emulator/build-emulator.sh").toString(),
            work.resolve("mock").toString(), cuda.toString(), dir.resolve("gpu").toString()), env, BUILD_TIMEOUT_S, log);
        if (emu.code() != 0) return "building the emulator failed:\n" + emu.tail();
        if (contract && !emu.output().contains("a * b + c fused")) return "the emulator was built without fusing a * b + c:\n" + emu.tail();
        return null;
    }

    /**
     * A copy of the kernels in {@code dir}/cuda with {@code bug} planted; refused, naming the file and the text, where
     * the text it replaces is not there exactly once (the kernel has changed since the bug was written).
     */
    Path plant(KernelMutants.Bug bug, Path dir) throws IOException {
        Path src = Files.createDirectories(dir.resolve("cuda"));
        try (Stream<Path> files = Files.list(kernels())) {
            for (Path f : files.toList()) Files.copy(f, src.resolve(f.getFileName()), StandardCopyOption.REPLACE_EXISTING);
        }
        Path cu = src.resolve(bug.file());
        String text = Files.readString(cu);
        int times = KernelMutants.occurrences(text, bug.from());
        if (times != 1)
            throw new IllegalStateException(bug.file() + " has the text bug " + bug.name() + " replaces " + times + " times, not once: " + bug.from());
        Files.writeString(cu, text.replace(bug.from(), bug.to()));
        return src;
    }

    /**
     * The given tests ({@code Class} or {@code Class#method}, this package's) on the emulated GPU whose libraries are in
     * {@code libs}, in a child JVM, with {@code env} added (the emulator's schedule); its output is kept in the work
     * folder as {@code name}.out. Killed, with exit code -1, after {@code timeoutS}.
     */
    Child lane(Path libs, List<String> tests, String name, Map<String, String> env, long timeoutS) throws Exception {
        List<String> options = new ArrayList<>(JVM_OPTIONS);
        options.add("-XX:ErrorFile=" + work.resolve("hs_err_%p.log"));   // a crash report beside the output, not in the working folder
        List<String> cmd = new ArrayList<>(Children.java(options));
        cmd.add(EmulatedGpuLane.class.getName());
        for (String t : tests) cmd.add(t.startsWith(EmulatedGpu.class.getPackageName() + ".") ? t : EmulatedGpu.class.getPackageName() + "." + t);
        Map<String, String> all = new HashMap<>(env);
        all.put("LD_LIBRARY_PATH", libs.toString());
        return run(cmd, all, timeoutS, name);
    }

    /**
     * Each test's status in a lane's output ({@code SUCCESSFUL}, {@code FAILED}, ...), in the order they ended; a name
     * that ended more than once (a repeated or parameterised test) keeps its first status that is not a success.
     */
    static Map<String, String> results(Child c) {
        Map<String, String> r = new LinkedHashMap<>();
        Matcher m = RESULT.matcher(c.output());
        while (m.find()) r.merge(m.group(2), m.group(1), (before, now) -> before.equals("SUCCESSFUL") ? now : before);
        return r;
    }

    /** The mock's violations and the emulator's errors in a lane's output (the first 20). */
    static List<String> errors(Child c) {
        return c.output().lines().filter(l -> l.contains("VIOLATION") || l.startsWith("[emu] ERROR")).limit(20).toList();
    }

    /** The tests (or containers) of {@code results} that did not succeed. */
    static List<String> unsuccessful(Map<String, String> results) {
        return results.entrySet().stream().filter(e -> !e.getValue().equals("SUCCESSFUL")).map(Map.Entry::getKey).toList();
    }

    /** {@link #errors} and every test that did not succeed, with its status. */
    static List<String> problems(Child c, Map<String, String> results) {
        List<String> problems = new ArrayList<>(errors(c));
        for (String test : unsuccessful(results)) problems.add(test + " " + results.get(test));
        return problems;
    }

    /** Whether the lane's child JVM reached its end (its {@code SUMMARY} line) rather than crashed or was killed. */
    static boolean ended(Child c) { return c.output().lines().anyMatch(l -> l.startsWith("SUMMARY ")); }

    private Child run(List<String> cmd, Map<String, String> env, long timeoutS, String name) throws Exception {
        Path out = work.resolve(name + ".out");
        Files.createDirectories(out.getParent());
        return Children.run(cmd, env, timeoutS, out, name);
    }
}
