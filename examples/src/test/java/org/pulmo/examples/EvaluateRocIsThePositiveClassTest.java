package org.pulmo.examples;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.internal.chartpart.Chart;
import org.pulmo.metrics.Predictions;
import org.pulmo.train.PlotsForTests;

/**
 * evaluate's roc.png for two classes is one curve, the positive class's against the other, under that class's name. Two
 * covid images scored 0.9 and 0.6 for covid, two normal ones 0.7 and 0.4: thresholds 0.9, 0.7, 0.6, 0.4 give (FPR, TPR)
 * (0, 0.5), (0.5, 0.5), (0.5, 1), (1, 1), and 3 of the 4 covid-normal pairs are ordered right: AUC 0.75. DeLong: the
 * covid images' components are 1 and 0.5, the normal ones' 0.5 and 1, each of sample variance 0.125, so Var = 0.125 / 2 +
 * 0.125 / 2 = 0.125 and the interval 0.75 -+ 1.96 sqrt(0.125) = [0.057, 1.443], cut to [0.057, 1].
 */
class EvaluateRocIsThePositiveClassTest {
    private static final String LEGEND = "covid (AUC 0.750, 95 % CI 0.057-1.000)";

    @Test void theBinaryRocIsThePositiveClasssCurve(@TempDir Path dir) throws Exception {
        Map<String, Chart<?, ?>> drawn = new LinkedHashMap<>();
        PlotsForTests.keepCharts(drawn);
        try {
            Predictions p = new Predictions(List.of("covid", "normal"),
                new float[][] {{0.9f, 0.1f}, {0.6f, 0.4f}, {0.7f, 0.3f}, {0.4f, 0.6f}}, new int[] {0, 0, 1, 1}, null);
            EvaluateCommand.plots(p, 0, dir);
            XYChart roc = (XYChart) drawn.get("roc.png");
            assertEquals(List.of(LEGEND, "chance"), List.copyOf(roc.getSeriesMap().keySet()));
            assertArrayEquals(new double[] {0, 0, 0.5, 0.5, 1}, roc.getSeriesMap().get(LEGEND).getXData(), 1e-12);
            assertArrayEquals(new double[] {0, 0.5, 0.5, 1, 1}, roc.getSeriesMap().get(LEGEND).getYData(), 1e-12);
        } finally {
            PlotsForTests.reset();
        }
    }
}
