package org.pulmo.benchmarks;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.infra.BenchmarkParams;
import org.openjdk.jmh.infra.IterationParams;
import org.openjdk.jmh.results.AverageTimeResult;
import org.openjdk.jmh.results.BenchmarkResult;
import org.openjdk.jmh.results.IterationResult;
import org.openjdk.jmh.results.IterationResultMetaData;
import org.openjdk.jmh.results.ResultRole;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.IterationType;
import org.openjdk.jmh.runner.WorkloadParams;
import org.openjdk.jmh.runner.options.TimeValue;

/** JMH run results built in memory: one benchmark, its @Params, one average-time iteration per fork. */
final class JmhRuns {
    private JmhRuns() {}

    /** {@code benchmark} with {@code params}; fork k took {@code microsPerOp[k]} microseconds per op (scored in us/op). */
    static RunResult averageTime(String benchmark, Map<String, String> params, List<String> jvmArgs, long... microsPerOp) {
        WorkloadParams wp = new WorkloadParams();
        int order = 0;
        for (var e : params.entrySet()) wp.put(e.getKey(), e.getValue(), order++);
        IterationParams warmup = new IterationParams(IterationType.WARMUP, 0, TimeValue.seconds(1), 1);
        IterationParams measurement = new IterationParams(IterationType.MEASUREMENT, 1, TimeValue.seconds(1), 1);
        BenchmarkParams bp = new BenchmarkParams(benchmark, benchmark + "_generated", false, 1, new int[] {1}, List.of(),
            microsPerOp.length, 0, warmup, measurement, Mode.AverageTime, wp, TimeUnit.MICROSECONDS, 1, "java", jvmArgs,
            "25", "vm", "25", "1.37", TimeValue.minutes(10));
        List<BenchmarkResult> forks = new ArrayList<>();
        for (long us : microsPerOp) {
            IterationResult it = new IterationResult(bp, measurement, new IterationResultMetaData(1, 1));
            it.addResult(new AverageTimeResult(ResultRole.PRIMARY, benchmark, 1, us * 1000, TimeUnit.MICROSECONDS));
            forks.add(new BenchmarkResult(bp, List.of(it)));
        }
        return new RunResult(bp, forks);
    }

    static RunResult averageTime(String benchmark, Map<String, String> params, long... microsPerOp) {
        return averageTime(benchmark, params, List.of(), microsPerOp);
    }
}
