package org.pulmo.benchmarks;

import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.function.ToDoubleFunction;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.CommandLineOptionException;
import jdk.incubator.vector.FloatVector;
import jdk.incubator.vector.VectorOperators;
import jdk.incubator.vector.VectorSpecies;
import org.pulmo.backend.cpu.Parallel;
import org.pulmo.backend.cpu.Sgemm;

/**
 * Square single-precision GEMM, C = A * B (beta 0), on all cores. One op = 2 * size^3 FLOPs, so
 * GFLOP/s = ops/s * 2 * size^3 / 1e9. {@link #fmaPeak} measures the attainable FMA rate alongside. Baseline: libtorch (MKL/oneDNN) on the same machine, ~205 GFLOP/s
 * at 1024.
 *
 * <p>JMH's own report (ops/s): {@code java --add-modules jdk.incubator.vector -jar benchmarks/target/benchmarks.jar SgemmBench -f 3 -wi 3 -i 5}
 * <br>GFLOP/s, median of forks: {@code java --add-modules jdk.incubator.vector -cp benchmarks/target/benchmarks.jar org.pulmo.benchmarks.SgemmBench -f 3 -wi 3 -i 5}
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.Throughput)
@OutputTimeUnit(TimeUnit.SECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 3, jvmArgsAppend = {"--add-modules", "jdk.incubator.vector"})
public class SgemmBench {

    @State(Scope.Thread)   // each thread its own C: with -t 2 they would write one array
    public static class Matrices {
        @Param({"256", "512", "1024"})
        public int size;

        float[] a, b, c;

        @Setup
        public void setup() {
            Random rng = new Random(1);
            a = new float[size * size];
            b = new float[size * size];
            c = new float[size * size];
            for (int i = 0; i < a.length; i++) {
                a[i] = rng.nextFloat() - 0.5f;
                b[i] = rng.nextFloat() - 0.5f;
            }
        }
    }

    @Benchmark
    public float[] sgemm(Matrices m) {
        int n = m.size;
        Sgemm.sgemm(false, false, n, n, n, m.a, 0, n, m.b, 0, n, 0f, m.c, 0, n);
        return m.c;
    }

    /**
     * Float lanes of FMA steps per thread and chain in {@link #fmaPeak}: 2^20 steps of 16-lane vectors, twice as many of
     * 8 lanes. The work is fixed in floats, so the GFLOP/s that the launching JVM computes from it do not depend on the
     * vector width the fork runs with (-XX:MaxVectorSize, -XX:UseAVX given to the fork alone).
     */
    static final int PEAK_LANE_STEPS = 1 << 24;

    /** Vector steps per thread and chain at {@code lanes} lanes. */
    static int peakSteps(int lanes) { return PEAK_LANE_STEPS / lanes; }

    /**
     * Control: the machine's FMA throughput right now, every thread running 12 independent chains of
     * vector FMAs (no memory traffic). A shared or throttled host shows up here first; read the GEMM and
     * conv figures against this number. FLOPs per op: threads * PEAK_LANE_STEPS * 12 * 2, whatever the fork's lanes.
     */
    @Benchmark
    public float fmaPeak() {
        float[] sums = new float[Parallel.threads()];
        Parallel.forRange(sums.length, Long.MAX_VALUE / sums.length, (s, e) -> {
            for (int t = s; t < e; t++) sums[t] = fmaChains(peakSteps(FloatVector.SPECIES_PREFERRED.length()), 1e-7f * t);
        });
        float total = 0;
        for (float v : sums) total += v;
        return total;
    }

    private static float fmaChains(int steps, float seed) {
        VectorSpecies<Float> s = FloatVector.SPECIES_PREFERRED;
        FloatVector x = FloatVector.broadcast(s, 0.999999f), y = FloatVector.broadcast(s, seed);
        FloatVector c0 = y, c1 = y, c2 = y, c3 = y, c4 = y, c5 = y, c6 = y, c7 = y, c8 = y, c9 = y, c10 = y, c11 = y;
        for (int i = 0; i < steps; i++) {
            c0 = c0.fma(x, y); c1 = c1.fma(x, y); c2 = c2.fma(x, y); c3 = c3.fma(x, y);
            c4 = c4.fma(x, y); c5 = c5.fma(x, y); c6 = c6.fma(x, y); c7 = c7.fma(x, y);
            c8 = c8.fma(x, y); c9 = c9.fma(x, y); c10 = c10.fma(x, y); c11 = c11.fma(x, y);
        }
        return c0.add(c1).add(c2).add(c3).add(c4).add(c5).add(c6).add(c7).add(c8).add(c9).add(c10).add(c11)
                .reduceLanes(VectorOperators.ADD);
    }

    /** FLOPs of one fmaPeak op on {@code threads} threads (the fork's, {@link Rates#forkThreads}: not this JVM's). */
    static double fmaPeakFlops(int threads) {
        return (double) threads * PEAK_LANE_STEPS * 12 * 2;
    }

    public static void main(String[] args) {
        Mains.run("SgemmBench", () -> printGflops(SgemmBench.class, args, SgemmBench::flopsPerOp));
    }

    /** FLOPs of one op of a result: the FMA peak's on the fork's threads, else a size^3 GEMM's 2 size^3. */
    static double flopsPerOp(RunResult r) {
        return r.getParams().getBenchmark().endsWith("fmaPeak")
            ? fmaPeakFlops(Rates.forkThreads(r)) : 2.0 * Math.pow(Integer.parseInt(r.getParams().getParam("size")), 3);
    }

    /**
     * Runs the benchmarks of {@code bench} with JMH command-line options and prints, per parameter set, the time
     * per op and GFLOP/s of each fork and their median ({@link Rates}). {@code flopsPerOp} maps a result (its
     * @Params) to FLOPs per op. Returns the results, none where the options only asked (-h, -l, ...).
     */
    static java.util.Collection<RunResult> printGflops(Class<?> bench, String[] args, ToDoubleFunction<RunResult> flopsPerOp)
            throws RunnerException, CommandLineOptionException {
        java.util.Collection<RunResult> results = Rates.run(bench, args, "GFLOP/s", r -> flopsPerOp.applyAsDouble(r) / 1e9);
        // a GFLOP/s figure means little without the machine's peak of the same moment: measured here unless the run did
        if (!results.isEmpty() && results.stream().noneMatch(r -> r.getParams().getBenchmark().endsWith("fmaPeak")))
            System.out.println(peakLine(peakHere(), Parallel.threads()));
        return results;
    }

    /**
     * The FMA peak of this JVM now, in GFLOP/s on {@link Parallel#threads()} threads: {@link #fmaPeak} called for 1.5 s
     * untimed (the JIT compiles it in the background meanwhile; ten calls were not enough, 221 against JMH's 408), then
     * for 1 s timed, the best call kept. No JMH fork.
     */
    static double peakHere() {
        SgemmBench b = new SgemmBench();
        long warm = System.nanoTime() + 1_500_000_000L;
        while (System.nanoTime() < warm) b.fmaPeak();
        double best = 0;
        for (long end = System.nanoTime() + 1_000_000_000L; System.nanoTime() < end; ) {
            long t0 = System.nanoTime();
            b.fmaPeak();
            best = Math.max(best, fmaPeakFlops(Parallel.threads()) / ((System.nanoTime() - t0) / 1e9) / 1e9);
        }
        return best;
    }

    /** The line that puts a run's GFLOP/s beside the peak measured right after it. */
    static String peakLine(double gflops, int threads) {
        return String.format(java.util.Locale.ROOT, "FMA peak of this JVM right after the run, %d thread%s: %.1f GFLOP/s (SgemmBench fmaPeak's"
            + " loop, untimed by JMH; forks given other -Dpulmo.threads or vector flags than this JVM have another peak)",
            threads, threads == 1 ? "" : "s", gflops);
    }
}
