package org.pulmo.cuda;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;
import static org.junit.jupiter.api.Assumptions.assumeTrue;
import static org.pulmo.cuda.EmulatedGpu.problems;
import static org.pulmo.cuda.EmulatedGpu.results;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pulmo.backend.Backends;
import org.pulmo.testing.Children;
import org.pulmo.testing.Children.Child;
import org.pulmo.tensor.Device;

/**
 * The gpu-tagged tests on an emulated GPU: the mock CUDA driver and cuDNN of {@code ../shared/gpu/mock-driver} (which
 * check every call) with the computation added, by {@code src/test/emulator}: every hand-written kernel compiled from
 * this module's .cu files for the host and run by cuLaunchKernel (a block's threads as fibers, barriers and shuffles
 * with CUDA's semantics), and cuDNN's convolutions, batch norm and pooling as plain loops. No cuBLAS, so GEMMs take the
 * hand-written SGEMM kernel. So the CUDA backend's host code and the kernels' own code run on any machine against the
 * CPU references, in a child JVM; what only a GPU can show (speed, the hardware's float rounding) is left to the
 * gpu-tagged run on one. Races are not seen by running (blocks run one after another here, threads switch only at
 * barriers and shuffles) but by the race check, which records every device-memory access of the kernels.
 *
 * <p>Asserted: every selected test passes (none skipped; whole-model parity of ResNet-50 and DPN-92-SE included), the mock reports no violation and the emulator no error
 * (a barrier that cannot open, a shuffle with exited lanes, a write outside an allocation's guard bands); the kernel
 * parity tests pass again under another schedule (blocks and threads last first, one warp running ahead); and the lane
 * has teeth: built from sources with ReLU planted as the identity, or with the elementwise loops one element too long,
 * the elementwise parity test fails (the second at the launch, by the guard bands), and without one of bn_stats'
 * barriers the batch-norm kernel test fails under the other schedule. Built with its race check, the emulator finds no
 * race in the kernel tests, and reports max-pool backward without its atomic, and bn_stats without that barrier under
 * the lane's own schedule.
 *
 * <p>Not tagged {@code gpu}: it runs in the normal test command and skips itself, with the reason, where the mock is
 * missing or where a real GPU is usable; under {@code CI=true} a missing compiler fails it instead.
 */
class EmulatedGpuLaneTest {
    private static final long RUN_TIMEOUT_S = 600;
    /**
     * What the lane runs: every gpu-tagged test of this module but MA-Net's whole-model parity (4 pairs at 224 x 224,
     * over three minutes here) and the papers' models recorded as CUDA graphs (DPN-92-SE and MA-Net, 90 s here);
     * scripts/emulated-gpu.sh runs those. Classes, or Class#method.
     */
    static final List<String> SELECTED = List.of(GpuParityTest.class.getName(), DeviceTransferGradTest.class.getName(),
        ThreadContextTest.class.getName(), SteadyMemoryTest.class.getName(), ExactBlocksTest.class.getName(), CachingAllocatorTest.class.getName(),
        WholeModelParityTest.class.getName() + "#resnet50TrainingStepMatchesTheCpu",
        WholeModelParityTest.class.getName() + "#dpn92seTrainingStepMatchesTheCpu",
        CudaGraphTest.class.getName() + "#aRecordedStepTrainsExactlyAsOrdinaryStepsDo",
        CudaGraphTest.class.getName() + "#aChangeOfDeterminismRecordsAgainAfterOneOrdinaryStep",
        CudaGraphTest.class.getName() + "#aRecordingReadsNothingBackAndLeavesTheStreamUsable",
        CudaGraphTest.class.getName() + "#aGraphsMemoryIsItsOwnWhileItLives",
        CudaGraphTest.class.getName() + "#aStepThatCannotBeRecordedRunsAsOrdinaryCode",
        CudaGraphTest.class.getName() + "#aStepWithDropoutIsNotRecorded",
        CudaGraphTest.class.getName() + "#stateAFirstStepMakesIsRefusedWhileRecording",
        CudaGraphTest.class.getName() + "#aRecordedForwardGivesTheOrdinaryLogits",
        CudaGraphTest.class.getName() + "#hostValuesCopiedDuringARecordingAreTheRecordingsOwn",
        CudaGraphTest.class.getName() + "#aBlockFreedDuringARecordingStaysTheGraphs",
        CudaGraphTest.class.getName() + "#aBlockMadeBeforeARecordingServesNoRequestOfIt",
        CudaGraphTest.class.getName() + "#aRecordingReusesTheBlocksItFrees",
        CudaGraphTest.class.getName() + "#aClosedGraphsBlocksGoBackToTheCache",
        CudaGraphTest.class.getName() + "#nothingGoesBackToTheDriverDuringARecording");

    @TempDir static Path tmp;
    private static Path root, emulator, raceChecked;
    private static EmulatedGpu emu;
    private static String skipReason, buildFailure;

    @BeforeAll static void buildTheEmulator() throws Exception {
        root = Children.projectRoot();
        skipReason = whyNot(root);
        if (skipReason != null) {
            System.out.println("emulated-GPU lane skipped: " + skipReason);
            return;
        }
        emu = new EmulatedGpu(root, tmp);
        buildFailure = emu.build(emu.kernels(), tmp.resolve("emulator"));
        emulator = tmp.resolve("emulator/gpu");
        if (buildFailure == null) buildFailure = emu.build(emu.kernels(), tmp.resolve("race-checked"), "build-race-checked", true, true);
        raceChecked = tmp.resolve("race-checked/gpu");
    }

    /** Null when the lane can run here, else why not (under CI a missing compiler is a failure, not a reason). */
    private static String whyNot(Path root) {
        if (root == null) return "no pulmo root pom above " + System.getProperty("user.dir");
        String noMock = EmulatedGpu.noMock(root);
        if (noMock != null) return noMock;
        String tool = EmulatedGpu.missingTool();
        if (tool != null) {
            if ("true".equals(System.getenv("CI"))) fail(tool + " is not on PATH; CI machines have it (the emulated-GPU lane needs it)");
            return tool + " is not on PATH (building the emulator needs it)";
        }
        String kernels = CudaRuntime.kernelsReason();
        if (kernels != null) return kernels;
        if (Backends.unavailableReason(Device.cuda(0)) == null) return "a real GPU is usable here, so the gpu-tagged tests run on it instead";
        return null;
    }

    @BeforeEach void laneRunsHere() {
        assumeTrue(skipReason == null, () -> "emulated-GPU lane skipped: " + skipReason);
        assertNull(buildFailure, buildFailure);
    }

    @Test void theGpuTestsPassOnTheEmulatedGpu() throws Exception {
        Child c = lane(emulator, SELECTED, "lane");
        Map<String, String> results = results(c);
        System.out.println("emulated-GPU lane (" + c.millis() + " ms): " + results.size() + " tests");
        c.output().lines().filter(l -> l.startsWith("RESULT ")).forEach(l -> System.out.println("  " + l));
        List<String> problems = problems(c, results);
        if (c.code() != 0 || !problems.isEmpty()) fail("the emulated-GPU lane did not pass: " + problems + "\n" + c.tail());
        assertTrue(c.output().contains("EMULATED GPU"), () -> "the tests did not run on the emulated GPU\n" + c.tail());
        // every selected test ran (a class: each of its test methods), none was filtered out or skipped
        java.util.Set<String> expected = new java.util.TreeSet<>();
        for (String sel : SELECTED) {
            String cls = sel.contains("#") ? sel.substring(0, sel.indexOf('#')) : sel, simple = cls.substring(cls.lastIndexOf('.') + 1);
            if (sel.contains("#")) expected.add(simple + sel.substring(sel.indexOf('#')));
            else Stream.of(Class.forName(cls).getDeclaredMethods()).filter(m -> m.isAnnotationPresent(Test.class))
                .forEach(m -> expected.add(simple + "#" + m.getName()));
        }
        assertEquals(expected, new java.util.TreeSet<>(results.keySet()), () -> "the tests that ran are not those selected\n" + c.tail());
    }

    /** Built from sources whose ReLU is the identity, the lane must fail the elementwise parity test. */
    @Test void aPlantedKernelBugFailsTheLane() throws Exception {
        Child c = planted("E17", ELEMENTWISE, Map.of());
        assertEquals(Map.of(ELEMENTWISE, "FAILED"), results(c), c.tail());
        assertTrue(c.output().contains("RELU"), () -> "the failure does not name the planted op\n" + c.tail());
    }

    /**
     * Built from sources whose elementwise loops run one element too far, the lane must fail the elementwise parity test
     * at the launch, with the emulator's guard bands naming the kernel that wrote past its output (the test's exact
     * blocks put each tensor in an allocation of its own bytes; in a size class the element would land in slack).
     */
    @Test void aPlantedOutOfBoundsWriteFailsTheLaunch() throws Exception {
        Child c = planted("E18", ELEMENTWISE, Map.of());
        assertEquals(Map.of(ELEMENTWISE, "FAILED"), results(c), c.tail());
        assertTrue(c.output().lines().anyMatch(l -> l.startsWith("[emu] ERROR: kernel ew_") && l.contains("wrote past the end of a")),
            () -> "no guard-band report naming an elementwise kernel\n" + c.tail());
    }

    /**
     * The kernel parity tests again under another schedule: the blocks of a grid and the threads of a block last first,
     * and the earliest-started runnable thread always resumed, so that one warp runs ahead as far as its barriers let it
     * (src/test/emulator/emu_runtime.cpp). The lane's own run is round-robin, every warp a step at a time; a kernel whose
     * result depends on which warp or block runs first passes at most one of the two. On the emulator built with its race
     * check: no two threads of a launch touch one word of device memory, one of them writing, without a barrier between;
     * and with the kernels' {@code a * b + c} fused into one multiply-add where g++ sees fit, as nvcc does by default,
     * so that the tolerances are shown to allow for a GPU's rounding in kind (the lane's own build fuses only the
     * kernels' explicit {@code fmaf}).
     */
    @Test void theKernelTestsPassUnderAnotherScheduleWithoutRaces() throws Exception {
        Child c = lane(raceChecked, List.of(GpuParityTest.class.getName()), "schedule", EmulatedGpu.OTHER_SCHEDULE);
        Map<String, String> results = results(c);
        long tests = Stream.of(GpuParityTest.class.getDeclaredMethods()).filter(m -> m.isAnnotationPresent(Test.class)).count();
        List<String> problems = problems(c, results);
        assertTrue(problems.isEmpty() && results.size() == tests, () -> "under " + EmulatedGpu.OTHER_SCHEDULE + ": " + results.size() + " of " + tests
            + " tests ran; " + problems + "\n" + c.tail());
    }

    /**
     * Without the barrier between bn_stats' two uses of its scratch array (the warps' partial sums of the mean, then of
     * the variance), a warp that runs ahead overwrites partial sums another warp has not read yet: the batch-norm kernel
     * test must fail under the other schedule. (The round-robin one moves every warp in step and passes it.)
     */
    @Test void aPlantedMissingBarrierFailsUnderTheOtherSchedule() throws Exception {
        String test = "GpuParityTest#maxPoolAndBatchNormKernelsMatchTheCpu";
        Child c = planted("P12", test, EmulatedGpu.OTHER_SCHEDULE);
        assertEquals(Map.of(test, "FAILED"), results(c), c.tail());
    }

    /**
     * The race check, under the lane's own schedule: max-pool backward adding into dx without its atomicAdd (overlapping
     * windows send two outputs' gradients to one input of device memory; on the emulator every read-modify-write runs to
     * its end, so no update is lost and the values are right), and bn_stats without the barrier between its two uses of
     * a shared scratch array (which this schedule, moving every warp in step, lets pass) must each be reported as a race
     * in their kernel and fail the max-pool and batch-norm test.
     */
    @Test void plantedRacesAreReportedByTheRaceCheck() throws Exception {
        String test = "GpuParityTest#maxPoolAndBatchNormKernelsMatchTheCpu";
        for (String[] bug : new String[][] {{"P14", "maxpool_backward", "a device allocation"}, {"P12", "bn_stats", "the static shared memory"}}) {
            Child c = planted(bug[0], test, Map.of(), true);
            assertEquals(Map.of(test, "FAILED"), results(c), c.tail());
            assertTrue(c.output().lines().anyMatch(l -> l.startsWith("[emu] ERROR: race in kernel " + bug[1] + ":") && l.contains(" of " + bug[2] + " (")),
                () -> bug[0] + ": no race reported in " + bug[1] + "'s " + bug[2] + "\n" + c.tail());
        }
    }

    /**
     * The papers' training steps at 224 x 224 are recorded as CUDA graphs, not refused ({@link RecordedModelsTest}), on the
     * emulated GPU with {@code EMU_NO_COMPUTE=1}: every launch and cuDNN call checked and recorded, nothing computed (the
     * test asserts no values), so three models at their image size take seconds.
     */
    @Test void thePapersStepsAreRecordedAtTheirImageSize() throws Exception {
        Child c = lane(emulator, List.of(RecordedModelsTest.class.getName()), "recorded", Map.of("EMU_NO_COMPUTE", "1"));
        List<String> problems = problems(c, results(c));
        long passed = c.output().lines().filter(l -> l.startsWith("RESULT SUCCESSFUL RecordedModelsTest#")).count();   // one per model
        assertTrue(problems.isEmpty() && passed == 3 && c.code() == 0, () -> passed + " of 3 models passed; " + problems + "\n" + c.tail());
    }

    private static final String ELEMENTWISE = "GpuParityTest#elementwiseOnStridedViewsMatchesTheCpu";

    /**
     * One parity test ("Class#method") on an emulator built from the kernels with a bug of {@link KernelMutants}'s table
     * planted, with {@code env} (the emulator's schedule) added.
     */
    private static Child planted(String bug, String test, Map<String, String> env) throws Exception { return planted(bug, test, env, false); }

    /** As above, on an emulator built with its race check when {@code raceCheck}. */
    private static Child planted(String bug, String test, Map<String, String> env, boolean raceCheck) throws Exception {
        String name = bug + (raceCheck ? "-race-checked" : "");
        Path dir = tmp.resolve(name);
        String failed = emu.build(emu.plant(KernelMutants.named(bug), dir), dir, "build-" + name, raceCheck);
        assertNull(failed, failed);
        return lane(dir.resolve("gpu"), List.of(test), name, env);
    }


    /** The lane's child JVM: {@link EmulatedGpuLane} on the given tests, the emulated GPU's libraries first on the path. */
    private static Child lane(Path libs, List<String> tests, String name) throws Exception { return lane(libs, tests, name, Map.of()); }

    private static Child lane(Path libs, List<String> tests, String name, Map<String, String> env) throws Exception {
        return emu.lane(libs, tests, name, env, RUN_TIMEOUT_S);
    }
}
