package org.pulmo.benchmarks;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Method;
import org.junit.jupiter.api.Test;
import org.openjdk.jmh.annotations.Benchmark;

/** Every layer-op benchmark has its minimum traffic, so that its GB/s line can be printed; and the numbers are bytesPerOp's. */
class LayerOpsBenchTest {
    @Test void everyBenchmarkHasItsTraffic() {
        int n = 0;
        for (Method m : LayerOpsBench.class.getMethods())
            if (m.isAnnotationPresent(Benchmark.class)) {
                double t = LayerOpsBench.tensorsMoved(m.getName());
                assertTrue(t > 0, m.getName());
                String listed = m.getName() + " " + (t == Math.rint(t) ? Integer.toString((int) t) : Double.toString(t)) + "B";
                assertTrue(LayerOpsBench.bytesPerOp().contains(listed), listed + " in " + LayerOpsBench.bytesPerOp());
                n++;
            }
        assertEquals(9, n);
    }
}
