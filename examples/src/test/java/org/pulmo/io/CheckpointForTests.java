package org.pulmo.io;

/** For tests of other packages: work run on the checkpoint writer's thread between an epoch's last and best files, and back. */
public final class CheckpointForTests {
    private CheckpointForTests() {}

    public static void betweenLastAndBest(Runnable r) { Checkpoint.betweenLastAndBest = r; }

    public static void reset() { Checkpoint.betweenLastAndBest = () -> {}; }
}
