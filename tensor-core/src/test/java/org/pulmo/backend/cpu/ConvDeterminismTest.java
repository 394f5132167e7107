package org.pulmo.backend.cpu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.pulmo.testing.Children;

/**
 * A training run's numbers must not depend on the machine's thread count nor on the order in which threads finish:
 * the im2col weight gradient, the one CPU kernel whose sum over the batch is split across threads, gives the same
 * bits on 1, 2, 3, 4 and 16 threads, every time (before, with three or more threads the partial sums were added in the
 * order the threads arrived, and their number followed the thread count: the same command gave other weights each run).
 */
class ConvDeterminismTest {

    @Test void howTheBatchIsCutDependsOnTheShapeAlone() {
        assertEquals(1, GemmConv.weightParts(1, 100));
        assertEquals(5, GemmConv.weightParts(5, 100));
        assertEquals(GemmConv.MAX_WEIGHT_PARTS, GemmConv.weightParts(64, 100));
        assertEquals(2, GemmConv.weightParts(64, 3 << 20), "a large weight gradient takes fewer partial copies");
        assertEquals(1, GemmConv.weightParts(64, 1 << 24));
    }

    @Test void theWeightGradientHasTheSameBitsOnAnyNumberOfThreads(@TempDir Path dir) throws Exception {
        List<String> here = WeightGradientBits.lines(3);
        for (String line : here) assertTrue(!line.substring(line.indexOf("]: ")).contains(","), "one result per shape in this JVM: " + line);
        for (int threads : new int[] {1, 3, 4, 16}) {
            List<String> cmd = new ArrayList<>(Children.java(List.of("--add-modules", "jdk.incubator.vector", "-Xmx512m",
                "-Dpulmo.threads=" + threads)));
            cmd.addAll(List.of(WeightGradientBits.class.getName(), "40"));
            Children.Child c = Children.run(cmd, Map.of(), 120, dir.resolve(threads + ".log"), threads + " threads");
            assertEquals(0, c.code(), c.tail());
            List<String> got = c.output().lines().filter(l -> l.startsWith("[")).toList();
            assertEquals(here, got, "on " + threads + " threads (40 runs of each shape), as on " + Parallel.threads() + " here");
        }
    }
}
