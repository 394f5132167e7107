package org.pulmo.cuda;

import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.pulmo.models.Dpn;
import org.pulmo.models.MaNet;
import org.pulmo.nn.Module;
import org.pulmo.tensor.Device;
import org.pulmo.tensor.Rng;
import org.pulmo.tensor.Tensor;

/**
 * No GPU needed: the whole-model parity harness ({@link TrainingStepParity}) run CPU against CPU on the two
 * papers' models at small sizes (DPN-92-SE 2 images at 32 x 32, MA-Net 4 pairs at 64 x 64). Two builds from one seed give the same step (up to the rounding of
 * multi-threaded sums, ~1e-8), so the comparison passes; a gradient changed by 1 % in one parameter before the SGD step must fail it, on that
 * gradient (and at most its updated parameter), and nothing else. This is what makes a passing CPU/GPU run
 * ({@link WholeModelParityTest}) mean something.
 */
class TrainingStepParityTest {
    static final TrainingStepParity.Tolerances TIGHT = new TrainingStepParity.Tolerances(1e-4, 1e-3, 1e-4, 1e-3); // updates: as close as the gradients they come from

    /** Scales one parameter's gradient by 1.01 (a 1e-2 relative error: ten times the gradient tolerance). */
    static Consumer<Module> perturb(String name) {
        return m -> {
            Tensor g = m.namedParameters().get(name).grad();
            g.backend().addInPlace(g, g, 0.01f);
        };
    }

    static void check(String model, java.util.function.Supplier<Module> build, List<Tensor> batch, TrainingStepParity.Forward fwd,
                      String victim) {
        Device cpu = Device.CPU;
        for (boolean train : new boolean[] {false, true}) {
            String mode = train ? "train" : "eval";
            TrainingStepParity.StepResult a = TrainingStepParity.step(model + " a", build.get(), cpu, train, batch, fwd, null);
            TrainingStepParity.StepResult b = TrainingStepParity.step(model + " b", build.get(), cpu, train, batch, fwd, null);
            TrainingStepParity.Comparison same = TrainingStepParity.compare(a, b, TIGHT);
            assertTrue(same.passed(), same.report(model + " " + mode + ": CPU against CPU"));
            // the multi-threaded CPU backend may split sums differently from run to run: 1e-8 .. a few 1e-6 on the
            // smallest gradients of MA-Net, still a hundred times below the gradient tolerance
            assertTrue(same.worstGrad() <= 1e-5, model + " " + mode + ": two CPU steps agree to rounding, worst gradient relL2 " + same.worstGrad());
            assertTrue(a.grads().containsKey(victim), model + " has a parameter " + victim);
            assertFalse(a.stats().isEmpty(), model + " has batch norms");

            TrainingStepParity.StepResult bad = TrainingStepParity.step(model + " perturbed", build.get(), cpu, train, batch, fwd, perturb(victim));
            TrainingStepParity.Comparison c = TrainingStepParity.compare(a, bad, TIGHT);
            System.out.println(c.report(model + " " + mode + ": CPU against CPU with " + victim + "'s gradient off by 1 %").lines()
                .filter(l -> l.contains("FAIL") || l.contains("worst")).reduce("", (x, y) -> x + y + "\n"));
            assertFalse(c.passed(), model + " " + mode + ": a 1 % gradient error must fail the comparison");
            List<String> failed = c.failures().stream().map(f -> f.substring(0, f.indexOf(':'))).toList();
            assertTrue(failed.contains("grad " + victim), model + " " + mode + ": the perturbed gradient fails, got " + failed);
            assertTrue(failed.stream().allMatch(f -> f.equals("grad " + victim) || f.equals("SGD step " + victim)),
                model + " " + mode + ": nothing but the perturbed gradient and its parameter's update fails, got " + failed);
        }
    }

    /** A bias gradient that is zero in exact arithmetic compares by its weight's scale: noise passes, a real error fails. */
    @Test void zeroBiasGradientsCompareAgainstTheirWeightsScale() {
        float[] w = {0.5f, -0.25f, 0.125f, 1f};
        java.util.function.Function<float[], TrainingStepParity.StepResult> result = bias -> new TrainingStepParity.StepResult("x",
            java.util.Map.of(), new java.util.LinkedHashMap<>(java.util.Map.of("fc1.weight", w, "fc1.bias", bias)), java.util.Map.of(), java.util.Map.of());
        TrainingStepParity.StepResult cpu = result.apply(new float[] {3e-9f, -1e-9f});
        assertTrue(TrainingStepParity.compare(cpu, result.apply(new float[] {-2e-9f, 4e-9f}), TIGHT).passed(), "rounding noise of a zero gradient");
        assertFalse(TrainingStepParity.compare(cpu, result.apply(new float[] {3e-3f, -1e-9f}), TIGHT).passed(), "a bias gradient of 1e-3 x its weight's is an error");
    }

    @Test void dpn92seHarnessCatchesAWrongGradient() {
        Rng rng = new Rng(81);
        List<Tensor> batch = List.of(Tensor.randn(rng, 2, 3, 32, 32), Tensor.of(new float[] {0, 3}, 2));
        check("DPN-92-SE", () -> Dpn.dpn92se(4, new Rng(7)), batch, TrainingStepParity.CLASSIFIER, "features.conv3_1.c1x1_a.conv.weight");
    }

    @Test void manetHarnessCatchesAWrongGradient() {
        Rng rng = new Rng(82);
        // 4 pairs at 64 x 64, not 2 at 32 x 32: there layer4 is 1 x 1, so every training-mode batch norm there (and
        // FAB's BatchNorm1d) normalises 2 values to +-1 and turns rounding differences into sign flips
        List<Tensor> batch = List.of(Tensor.randn(rng, 4, 3, 64, 64), Tensor.randn(rng, 4, 3, 64, 64),
            Tensor.of(new float[] {1, 0, 1, 0}, 4), Tensor.of(new float[] {0, 1, 0, 1}, 4));
        check("MA-Net", () -> MaNet.resnet50(2, MaNet.Options.DEFAULT, new Rng(8)), batch, TrainingStepParity.MANET_PAIR,
            "backbone.layer2.0.conv2.weight");
    }
}
