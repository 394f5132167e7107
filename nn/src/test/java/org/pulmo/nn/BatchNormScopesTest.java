package org.pulmo.nn;

import static org.junit.jupiter.api.Assertions.*;

import org.junit.jupiter.api.Test;
import org.pulmo.tensor.Rng;
import org.pulmo.tensor.Tensor;

/**
 * BatchNorm's thread scopes beyond LayersTest: evaluation ignores them (running statistics normalise, nothing moves),
 * a paired batch counts as two batches unless the second is frozen, and freezeRunningStatistics(false) inside another
 * rule changes nothing.
 */
class BatchNormScopesTest {

    private static BatchNorm2d withRunningStatistics() {
        BatchNorm2d bn = new BatchNorm2d(3);
        bn.runningMean.copyFrom(Tensor.of(new float[] {0.5f, -1f, 2f}, 3));
        bn.runningVar.copyFrom(Tensor.of(new float[] {2f, 0.5f, 3f}, 3));
        bn.numBatchesTracked.fill(5f);
        return bn;
    }

    private static void assertUnmoved(BatchNorm2d bn, String where) {
        assertArrayEquals(new float[] {0.5f, -1f, 2f}, bn.runningMean.toArray(), where + ": running mean");
        assertArrayEquals(new float[] {2f, 0.5f, 3f}, bn.runningVar.toArray(), where + ": running var");
        assertEquals(5f, bn.numBatchesTracked.item(), where + ": batch count");
    }

    @Test void evaluationInsideAnyScopeUsesTheRunningStatistics() {
        Tensor x = Tensor.randn(new Rng(1), 4, 3, 3, 3).mul(3f).add(1f);
        BatchNorm2d bn = withRunningStatistics();
        bn.eval();
        float[] plain = bn.forward(x).toArray(), plainRelu = bn.forward(x).relu().toArray();
        try (var f = BatchNorm.freezeRunningStatistics()) {
            assertArrayEquals(plain, bn.forward(x).toArray(), "frozen scope");
        }
        for (boolean freezeSecond : new boolean[] {false, true})
            try (var p = BatchNorm.pairedBatches(freezeSecond)) {
                assertArrayEquals(plain, bn.forward(x).toArray(), "paired scope, freezeSecond " + freezeSecond);
                assertArrayEquals(plainRelu, bn.forwardRelu(x).toArray(), "paired forwardRelu, freezeSecond " + freezeSecond);
            }
        assertUnmoved(bn, "evaluation");
    }

    @Test void aPairedBatchIsTwoBatchesUnlessTheSecondIsFrozen() {
        Tensor x = Tensor.randn(new Rng(2), 4, 3, 3, 3);
        BatchNorm2d paired = new BatchNorm2d(3), separate = new BatchNorm2d(3), frozen = new BatchNorm2d(3);
        try (var p = BatchNorm.pairedBatches(false)) { paired.forward(x); }
        separate.forward(x.narrow(0, 0, 2).contiguous());
        separate.forward(x.narrow(0, 2, 2).contiguous());
        assertEquals(2f, paired.numBatchesTracked.item(), "two batches counted");
        assertArrayEquals(separate.runningMean.toArray(), paired.runningMean.toArray(), 1e-6f);
        assertArrayEquals(separate.runningVar.toArray(), paired.runningVar.toArray(), 1e-6f);
        try (var p = BatchNorm.pairedBatches(true)) { frozen.forward(x); }
        assertEquals(1f, frozen.numBatchesTracked.item(), "the frozen second half is not counted");
    }

    @Test void freezeRunningStatisticsFalseInsideAnotherRuleChangesNothing() {
        Tensor x = Tensor.randn(new Rng(3), 4, 3, 3, 3);
        BatchNorm2d bn = withRunningStatistics();
        try (var outer = BatchNorm.freezeRunningStatistics(); var inner = BatchNorm.freezeRunningStatistics(false)) {
            bn.forward(x);
        }
        assertUnmoved(bn, "frozen by the outer scope");
        bn.forward(x);
        assertEquals(6f, bn.numBatchesTracked.item(), "both scopes closed: counted again");
    }
}
