package org.pulmo.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pulmo.testing.Children;
import org.pulmo.testing.Children.Child;
import org.pulmo.backend.Backends;
import org.pulmo.cuda.CudaRuntime;
import org.pulmo.tensor.Device;

/**
 * The CUDA backend's host code on a machine without a GPU: training steps of DPN-92-SE, MA-Net and ResNet-50
 * ({@link MockGpuSteps}) and a one-epoch CLI training, each in a child JVM whose library path holds the mock
 * CUDA driver, cuDNN 9 and cuBLAS 13 of {@code ../shared/gpu/mock-driver} (built here from this repository's
 * kernels). Kernels do not run there, so every number is garbage and nothing here reads one; the mock checks
 * every driver, cuDNN and cuBLAS call (contexts, launch shapes, pointer extents, descriptors, workspaces) and
 * reports each breach as a {@code [mock-cuda] VIOLATION} line. Asserted: both children exit with 0, no
 * violation is reported, and each model's device memory in use is the same after its second and third steps.
 *
 * <p>Not tagged {@code gpu}: it runs in the normal test command, and skips itself, with the reason, where the
 * mock, gcc, nvcc, ptxas, python3 or the built kernels are missing, or where a real GPU is usable (the gpu-tagged
 * tests run there instead).
 */
class MockGpuLaneTest {
    /** Wall-clock limits; the children take seconds, these only keep a hung one from stalling the build. */
    private static final long BUILD_TIMEOUT_S = 120, STEPS_TIMEOUT_S = 150, CLI_TIMEOUT_S = 120;
    private static final List<String> JVM_OPTIONS =
        List.of("--add-modules", "jdk.incubator.vector", "--enable-native-access=ALL-UNNAMED", "-Xss4m", "-Xmx2g");
    private static final Pattern STEP = Pattern.compile("^STEP model=(\\S+) step=(\\d+) inUse=(\\d+)\\b.*$", Pattern.MULTILINE);
    private static final Pattern WAITS = Pattern.compile("^STEP model=(\\S+) step=(\\d+) .* syncs=(\\d+) .*toHost=(\\d+) sgdTables=(\\d+)$",
        Pattern.MULTILINE);
    private static final Pattern ALLOCATED = Pattern.compile("^STEP model=(\\S+) step=(\\d+) inUse=(\\d+) .*forwardPeak=(\\d+) .*tensorMB=(\\d+) ",
        Pattern.MULTILINE);
    private static final Pattern SUMMARY = Pattern.compile("^\\[mock-cuda] summary: .*?(\\d+) violations$", Pattern.MULTILINE);
    private static final List<String> MODELS = List.of("dpn92-se", "ma-net-resnet50", "resnet50");

    @TempDir static Path tmp;
    private static Path mockLibs;
    private static String skipReason, buildFailure;

    /** Decides once whether the lane runs here, and builds the mock when it does (about 10 s). */
    @BeforeAll static void buildTheMock() throws Exception {
        Path root = Children.projectRoot();
        skipReason = whyNot(root);
        if (skipReason != null) {
            System.out.println("mock-GPU lane skipped: " + skipReason);
            return;
        }
        mockLibs = tmp.resolve("mock-gpu");
        Child build = run(List.of("bash", root.resolve("../shared/gpu/mock-driver/build.sh").normalize().toString(),
            root.resolve("cuda-kernels/src/main/cuda").toString(), mockLibs.toString()), Map.of(), BUILD_TIMEOUT_S, "build");
        if (build.code() != 0) buildFailure = "building the mock failed:\n" + build.tail();
    }

    /** Null when the lane can run here, else why not. */
    private static String whyNot(Path root) {
        if (root == null) return "no pulmo root pom above " + System.getProperty("user.dir");
        Path mock = root.resolve("../shared/gpu/mock-driver").normalize();
        if (!Files.isRegularFile(mock.resolve("build.sh"))) return "no mock driver at " + mock;
        for (String tool : List.of("gcc", "nvcc", "ptxas", "python3"))
            if (!Children.onPath(tool)) return tool + " is not on PATH (building the mock needs it)";
        String kernels = CudaRuntime.kernelsReason();
        if (kernels != null) return kernels;
        if (Backends.unavailableReason(Device.cuda(0)) == null) return "a real GPU is usable here, so the gpu-tagged tests run on it instead";
        return null;
    }

    @BeforeEach void laneRunsHere() {
        assumeTrue(skipReason == null, () -> "mock-GPU lane skipped: " + skipReason);
        assertNull(buildFailure, buildFailure);
    }

    @Test void trainingStepsOfEveryModelCallTheDriverCorrectlyAndKeepMemoryFlat() throws Exception {
        Path log = tmp.resolve("steps-mock.log");
        Child c = java(List.of(MockGpuSteps.class.getName(), "3", "64", "4"), log, STEPS_TIMEOUT_S, "steps");
        String why = cleanRun(c, log);
        if (why != null) fail(why);
        Map<String, Map<Integer, Long>> inUse = new LinkedHashMap<>();
        Matcher m = STEP.matcher(c.output());
        while (m.find()) inUse.computeIfAbsent(m.group(1), k -> new LinkedHashMap<>()).put(Integer.parseInt(m.group(2)), Long.parseLong(m.group(3)));
        for (String model : MODELS) {
            Map<Integer, Long> s = inUse.getOrDefault(model, Map.of());
            assertTrue(s.containsKey(2) && s.containsKey(3), () -> model + ": no STEP lines for steps 2 and 3\n" + c.tail());
            assertEquals(s.get(2), s.get(3), () -> model + ": device memory in use grew from step 2 to step 3 (" + s + ")\n" + c.tail());
        }
        // A step waits for the device once, at its end (MockGpuSteps' own synchronisation, to time it): no copy of a
        // batch, label check or loss weight may drain the queue in the middle of a step, and nothing is read back.
        // The optimiser's parameter table is uploaded at the first step and reused after it (Sgd's one launch per step).
        Matcher w = WAITS.matcher(c.output());
        int seen = 0;
        Map<String, Long> tables = new LinkedHashMap<>();
        while (w.find()) {
            long uploads = Long.parseLong(w.group(5));
            Long before = tables.put(w.group(1), uploads);
            String stepLine = w.group();
            if (before != null) assertEquals(before.longValue(), uploads, () -> "SGD parameter tables uploaded again at " + stepLine);
            if (Integer.parseInt(w.group(2)) < 2) continue;   // the first step also finds algorithms and uploads the table
            seen++;
            String line = w.group();
            assertEquals(1, Integer.parseInt(w.group(3)), () -> "a step synchronised with the device more than once (run with "
                + "-Dpulmo.cuda.traceSyncs=true to see where): " + line);
            assertEquals(0, Integer.parseInt(w.group(4)), () -> "a step copied from the device to the host: " + line);
        }
        assertEquals(2 * MODELS.size(), seen, () -> "no syncs/toHost counts in the STEP lines\n" + c.tail());
        // The tensor bytes a step allocates (the per-op "alloc MB" of the device profile): the same every step once warm,
        // and at least what the forward added to the memory in use (the activations kept for backward)
        Matcher a = ALLOCATED.matcher(c.output());
        Map<String, long[]> previous = new LinkedHashMap<>();   // model -> {in use after the step, MB allocated}
        int checked = 0;
        while (a.find()) {
            String model = a.group(1), line = a.group();
            long inUseAfter = Long.parseLong(a.group(3)), forwardPeak = Long.parseLong(a.group(4)), mb = Long.parseLong(a.group(5));
            long[] prev = previous.put(model, new long[] {inUseAfter, mb});
            if (prev == null || Integer.parseInt(a.group(2)) < 3) continue;
            checked++;
            assertEquals(prev[1], mb, () -> model + ": a warm step allocated a different number of bytes than the one before: " + line);
            assertTrue((mb + 1) * 1_000_000 >= forwardPeak - prev[0],
                () -> model + ": " + mb + " MB allocated, less than the forward's growth of the memory in use: " + line);
        }
        assertEquals(MODELS.size(), checked, () -> "no tensorMB counts in the STEP lines\n" + c.tail());
    }

    /**
     * {@code pulmo train} on cuda: no driver misuse, and, traced ({@code -Dpulmo.cuda.traceSyncs}), no training step waits
     * for the device through a batch's copy, a label check or the loss (the Trainer reads losses in {@code StepReadings}).
     * With {@code --cuda-graphs} on a driver without the graph entry points (the mock has none) the run says why the steps
     * are not recorded and trains as usual: JCuda is never asked for a function the driver lacks, which would end the JVM.
     */
    @Test void cliTrainingCallsTheDriverCorrectly() throws Exception {
        Path log = tmp.resolve("cli-mock.log");
        Child c = java(List.of("-Dpulmo.cuda.traceSyncs=true"), mockLibs, List.of(Main.class.getName(), "train", "-m", "resnet18",
            "--device", "cuda", "--epochs", "1", "--demo-images", "32", "--image-size", "32", "--batch-size", "8",
            "--out", tmp.resolve("run").toString(), "--no-evaluate", "--cuda-graphs", "--precision", "fp32", "--deterministic"), log, CLI_TIMEOUT_S, "cli");
        String why = cleanRun(c, log);
        if (why != null) fail(why);
        assertTrue(c.output().contains("not recorded (--cuda-graphs): the CUDA driver (libcuda.so.1) has no cuStreamBeginCapture_v2"),
            () -> "no line saying why the steps are not recorded\n" + c.tail());
        List<String> syncs = c.output().lines().filter(l -> l.startsWith("[pulmo-sync]")).toList();
        assertTrue(syncs.stream().anyMatch(l -> l.contains("StepReadings.read")), () -> "the loop reads its steps\n" + String.join("\n", syncs));
        List<String> inStep = syncs.stream().filter(l -> l.contains("Views.toDevice") || l.contains("Losses.crossEntropy")
            || l.contains("MaNet.loss") || l.contains("AdaptiveWeightedLoss")).toList();
        assertTrue(inStep.isEmpty(), () -> "synchronisations inside a training step:\n" + String.join("\n", inStep));
        CliEndToEndTest.checkDeviceMemoryRecorded(tmp.resolve("run"), c.output());
        var record = CliEndToEndTest.runRecord(tmp.resolve("run"));
        assertFalse(record.get("steps_recorded").getAsBoolean(), record::toString);
        // --precision fp32 reached the backend before the run was recorded (TF32 is the default on cuda)
        assertTrue(record.toString().contains("strict FP32"), record::toString);
        // and --deterministic too (cuDNN's convolutions chosen among the algorithms it reports as deterministic)
        assertTrue(record.toString().contains("strict FP32, deterministic"), record::toString);
        assertTrue(record.get("steps_not_recorded_because").getAsString().contains("cuStreamBeginCapture"), record::toString);
    }

    /**
     * Without cuDNN the backend is refused with the reason, unless -Dpulmo.cuda.allowWithoutCudnn=true asks to test the
     * hand-written kernels on their own: then they run, and a convolution is refused with a message naming cuDNN.
     */
    @Test void withoutCudnnTheBackendIsRefusedOrRunsItsKernelsOnly() throws Exception {
        Path libs = Files.createDirectories(tmp.resolve("mock-without-cudnn"));
        for (String lib : List.of("libcuda.so.1", "libcublas.so.13"))
            if (!Files.exists(libs.resolve(lib))) Files.createSymbolicLink(libs.resolve(lib), mockLibs.resolve(lib));
        Path log = tmp.resolve("no-cudnn-mock.log");
        Child refused = java(List.of(), libs, List.of(MockGpuWithoutCudnn.class.getName()), log, CLI_TIMEOUT_S, "no-cudnn");
        assumeTrue(!refused.output().contains("CUDNN null"), "a libcudnn.so.9 outside the mock folder was found: " + refused.output());
        assertEquals(0, refused.code(), refused.tail());
        assertTrue(refused.output().contains("PROBE cuDNN missing: "), refused.tail());

        Child kernels = java(List.of("-Dpulmo.cuda.allowWithoutCudnn=true"), libs, List.of(MockGpuWithoutCudnn.class.getName()), log,
            CLI_TIMEOUT_S, "no-cudnn-allowed");
        String why = cleanRun(kernels, log);
        if (why != null) fail(why);
        assertTrue(kernels.output().contains("PROBE null"), kernels.tail());
        assertTrue(kernels.output().contains("KERNELS RAN false"), kernels.tail());
        assertTrue(kernels.output().contains("CONV REFUSED cuDNN is not loaded"), kernels.tail());
    }

    /**
     * A mistyped cuDNN property is refused naming it, with exit 2: before, the probe read it while making a cuDNN handle,
     * took the error for a missing cuDNN, and --device auto trained on the CPU after one log line.
     */
    @Test void aMistypedCudnnPropertyIsRefusedNotTakenForAMissingCudnn() throws Exception {
        Path log = tmp.resolve("bad-property-mock.log");
        Child c = java(List.of("-Dpulmo.cudnn.deterministic=yes"), mockLibs, List.of(Main.class.getName(), "train", "-m", "resnet18",
            "--device", "auto", "--epochs", "1", "--demo-images", "8", "--image-size", "32", "--batch-size", "4",
            "--out", tmp.resolve("bad-property").toString(), "--no-evaluate"), log, CLI_TIMEOUT_S, "bad-property");
        assertEquals(2, c.code(), c.tail());
        assertTrue(c.output().contains("system property pulmo.cudnn.deterministic must be true or false, got 'yes'"), c.tail());
        assertFalse(c.output().contains("using the CPU"), c.tail());
    }

    // ------------------------------------------------------------------ children

    /** Null when the child exited with 0 on the mock and the mock saw no violation; else why not, with the evidence. */
    private static String cleanRun(Child c, Path log) throws IOException {
        String logText = Files.exists(log) ? new String(Files.readAllBytes(log), StandardCharsets.UTF_8) : "";
        List<String> violations = new ArrayList<>();
        for (String l : logText.split("\n")) if (l.contains("VIOLATION")) violations.add(l);
        // the mock writes each violation to its log and to stderr; the output counts only where the log has none
        if (violations.isEmpty()) for (String l : c.output().split("\n")) if (l.contains("VIOLATION")) violations.add(l);
        List<Long> counts = new ArrayList<>();
        Matcher m = SUMMARY.matcher(logText);
        while (m.find()) counts.add(Long.parseLong(m.group(1)));
        String problem = null;
        if (c.code() != 0) problem = c.name() + " exited with " + c.code();
        else if (!c.output().contains("MOCK GPU")) problem = c.name() + " did not run on the mock GPU";
        else if (!violations.isEmpty()) problem = c.name() + ": " + violations.size() + " mock-cuda violation(s)";
        else if (counts.isEmpty()) problem = c.name() + ": no mock-cuda summary in " + log + " (the mock was not loaded or did not exit)";
        else if (counts.stream().anyMatch(n -> n != 0)) problem = c.name() + ": mock-cuda summaries count violations " + counts;
        if (problem == null) {
            System.out.println("mock-GPU lane, " + c.name() + " (" + c.millis() + " ms):");
            for (String l : (c.output() + "\n" + logText).split("\n"))
                if (l.startsWith("STEP ") || l.startsWith("FREED ") || l.startsWith("[mock-cuda] summary")) System.out.println("  " + l);
            return null;
        }
        StringBuilder sb = new StringBuilder(problem).append('\n');
        for (String l : logText.split("\n")) if (l.contains("summary")) sb.append(l).append('\n');
        for (String v : violations.subList(0, Math.min(violations.size(), 40))) sb.append(v).append('\n');
        if (violations.size() > 40) sb.append("... ").append(violations.size() - 40).append(" more\n");
        return sb.append(c.tail()).toString();
    }

    /** A child JVM on this test's java and class path, with the mock libraries first on the library path. */
    private static Child java(List<String> mainAndArgs, Path log, long timeoutS, String name) throws Exception {
        return java(List.of(), mockLibs, mainAndArgs, log, timeoutS, name);
    }

    private static Child java(List<String> jvmOptions, Path libs, List<String> mainAndArgs, Path log, long timeoutS, String name) throws Exception {
        List<String> options = new ArrayList<>(JVM_OPTIONS);
        options.addAll(jvmOptions);
        List<String> cmd = new ArrayList<>(Children.java(options));
        cmd.addAll(mainAndArgs);
        return run(cmd, Map.of("LD_LIBRARY_PATH", libs.toString(), "MOCK_CUDA_LOG", log.toString()), timeoutS, name);
    }

    private static Child run(List<String> cmd, Map<String, String> env, long timeoutS, String name) throws Exception {
        return Children.run(cmd, env, timeoutS, tmp.resolve(name + ".out"), name);
    }
}
