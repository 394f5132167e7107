package org.pulmo.examples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.pulmo.examples.CliEndToEndTest.pulmo;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pulmo.examples.CliEndToEndTest.Run;

/**
 * MA-Net past its first epoch: every epoch's mutex batches must be in step with that epoch's main batches (TrainCommandTest
 * trains MA-Net for one epoch only, where the shuffled orders of epoch 0 agree whatever epoch the mutex loader is given).
 */
class MaNetSecondEpochTest {

    @Test void maNetTrainsEveryBatchOfItsSecondEpoch(@TempDir Path dir) throws IOException {
        Path out = dir.resolve("manet");
        Run r = pulmo(TrainCommandTest.train(out, "--model", "manet-resnet50", "--epochs", "2", "--demo-images", "8", "--batch-size", "4", "--no-evaluate"));
        assertEquals(0, r.code(), r.out() + r.err());
        List<String> csv = Files.readAllLines(out.resolve("metrics.csv"));
        assertEquals(3, csv.size(), "header and two epochs: " + csv);
        assertTrue(r.out().contains("epoch 2/2"), r.out());
    }
}
