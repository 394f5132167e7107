package org.pulmo.benchmarks;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertDoesNotThrow;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

/**
 * A -p that JMH would ignore (a misspelt name: the defaults then run) or fail on inside each fork (a bad value: a stack
 * trace per fork, exit code 1) is refused before anything forks, one line naming the parameter and the value.
 */
class ParamsTest {

    private static String refused(Class<?> bench, Params.Open open, String... args) {
        Mains.Refused r = assertThrows(Mains.Refused.class, () -> Params.check(bench, args, open), String.join(" ", args));
        assertEquals(2, r.exitCode);
        return r.getMessage();
    }

    @Test void theNamesOfEveryStateClassAreFound() {
        assertEquals(Set.of("size"), Params.fields(SgemmBench.class).keySet());
        assertEquals(Set.of("layer", "pass"), Params.fields(Conv2dBench.class).keySet());
        assertEquals(Set.of("model", "device", "size", "precision", "recorded"), Params.fields(ModelThroughputBench.class).keySet());
        assertEquals(Set.of("shape", "batch", "impl"), Params.fields(AttentionBench.class).keySet());
        assertEquals(List.of("size", "layer"), List.copyOf(Params.namesGiven(new String[] {"sgemm", "-p", "size=1", "-prof", "gc", "-player=X"})));
    }

    @Test void aNameTheClassDoesNotHaveIsRefusedNotIgnored() {
        String m = refused(SgemmBench.class, Params.Open.NONE, "-p", "sizes=128");
        assertEquals("-p sizes: SgemmBench has no such parameter (its parameters: size); JMH would have run the defaults", m);
    }

    @Test void valuesAreCheckedByTheirFieldsType() {
        assertEquals("-p size=abc: must be a whole number", refused(SgemmBench.class, Params.Open.NONE, "-p", "size=abc"));
        assertEquals("-p size=0: must be a whole number from 1", refused(SgemmBench.class, Params.Open.NONE, "-p", "size=256,0"));
        assertTrue(refused(Conv2dBench.class, Params.Open.NONE, "-p", "layer=FOO").startsWith("-p layer=FOO: not one of Conv2dBench's layers: RESNET50_LAYER1_3X3,"));
        assertEquals("-p pass=fwd: not one of forward, backwardInput, backwardWeight", refused(Conv2dBench.class, Params.Open.NONE, "-p", "pass=fwd"));
        assertDoesNotThrow(() -> Params.check(Conv2dBench.class, new String[] {"-p", "layer=DENSE_128_56", "-p", "pass=forward,backwardWeight"}, Params.Open.NONE));
    }

    @Test void aClassesOwnCheckTakesItsOpenParameters() {
        Params.Open mt = ModelThroughputBench.OPEN;
        assertDoesNotThrow(() -> Params.check(ModelThroughputBench.class,
            new String[] {"-p", "model=resnet18", "-p", "size=8x224", "-p", "precision=fp32", "-p", "device=cuda:1", "-p", "recorded=true"}, mt));
        assertTrue(refused(ModelThroughputBench.class, mt, "-p", "model=foo").startsWith("-p model=foo: unknown model 'foo'; known:"));
        assertTrue(refused(ModelThroughputBench.class, mt, "-p", "size=2xab").startsWith("-p size=2xab: size must be small, paper or BATCHxSIDE"));
        assertEquals("-p precision=fp16: not tf32 or fp32", refused(ModelThroughputBench.class, mt, "-p", "precision=fp16"));
        assertTrue(refused(ModelThroughputBench.class, mt, "-p", "device=gpu").startsWith("-p device=gpu: unknown device 'gpu'"));
        assertEquals("-p device=CPU: write it cpu", refused(ModelThroughputBench.class, mt, "-p", "device=CPU"));
        assertEquals("-p batch=tiny: batch must be paper, small or a whole number of at least 1",
            refused(AttentionBench.class, AttentionBench::checkBatch, "-p", "batch=tiny"));
        assertEquals("-p impl=fused: not one of FUSED, COMPOSED", refused(AttentionBench.class, AttentionBench::checkBatch, "-p", "impl=fused"));
        assertDoesNotThrow(() -> Params.check(AttentionBench.class, new String[] {"-p", "batch=3"}, AttentionBench::checkBatch));
        // GpuKernelsBench's states share "shape" (two enums) and "version" (three lists): a value any of them takes is fine
        assertDoesNotThrow(() -> Params.check(GpuKernelsBench.class,
            new String[] {"-p", "shape=STAGE1,DPN_CONV2", "-p", "version=BLOCK,MEMCPY,CUBLAS"}, Params.Open.NONE));
        assertTrue(refused(GpuKernelsBench.class, Params.Open.NONE, "-p", "shape=STAGE9").startsWith("-p shape=STAGE9: not one of GpuKernelsBench's shapes:"));
    }

    /** MA-Net's shapes go to the MAB and FAB benchmarks alone, DPN-92-SE's to SE's; both in one run are refused. */
    @Test void attentionShapesPickTheirModelsBenchmarks() throws Exception {
        String[] manet = AttentionBench.forShapes(new String[] {"-p", "shape=MANET_STAGE4"});
        assertEquals(3, manet.length);
        assertTrue("org.pulmo.benchmarks.AttentionBench.mabForward".matches(".*" + manet[2] + ".*"), manet[2]);
        assertTrue("org.pulmo.benchmarks.AttentionBench.fabBackward".matches(".*" + manet[2] + ".*"), manet[2]);
        assertTrue(!"org.pulmo.benchmarks.AttentionBench.seScaleForward".matches(".*" + manet[2] + ".*"), manet[2]);
        String[] dpn = AttentionBench.forShapes(new String[] {"-p", "shape=DPN92SE_CONV2,DPN92SE_CONV5"});
        assertTrue("org.pulmo.benchmarks.AttentionBench.seSqueeze".matches(".*" + dpn[2] + ".*"), dpn[2]);
        String[] named = {"mabForward", "-p", "shape=MANET_STAGE1"};
        assertArrayEquals(named, AttentionBench.forShapes(named), "benchmarks named on the command line are left as they are");
        assertTrue(assertThrows(Mains.Refused.class, () -> AttentionBench.forShapes(new String[] {"-p", "shape=MANET_STAGE1,DPN92SE_CONV2"}))
            .getMessage().contains("run them apart"));
    }
}
